"""Helpers of the fault suite: the test_effect journal, the workers holding a step, the JSON
lines the processes wrote, and waiting for a condition with a deadline."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.engine_harness import FINAL, Engine


def effect_step(journal: Path, key: str = "work", **config: Any) -> dict[str, Any]:
    """A test_effect step (one journal line per finished run) that retries quickly."""
    return {
        "key": key,
        "type": "test_effect",
        "config": {"journal": str(journal), **config},
        "retry": {"attempts": 5, "backoff": {"type": "fixed", "delay": 0.2}},
    }


def journal_lines(journal: Path) -> list[str]:
    return journal.read_text().splitlines() if journal.exists() else []


def effects(journal: Path, execution_id: int, key: str = "work") -> list[str]:
    """The finished runs of step `key` of an execution (one line each)."""
    return [line for line in journal_lines(journal) if line.startswith(f"{execution_id}:{key} ")]


def started(journal: Path) -> dict[int, int]:
    """Executions whose first attempt has started its (slow) effect → the worker's pid."""
    found = {}
    for line in journal_lines(Path(str(journal) + ".started")):
        key, _, pid = line.partition(" attempt=1 pid=")
        found[int(key.split(":", 1)[0])] = int(pid)
    return found


def holder(engine: Engine, pid: int) -> subprocess.Popen[str]:
    """The `dramatiq` process (group leader) whose worker process has this pid."""
    group = os.getpgid(pid)
    for worker in engine.workers:
        if worker.pid == group:
            return worker
    raise AssertionError(f"no worker of this engine runs pid {pid}")


def log_entries(engine: Engine) -> list[dict[str, Any]]:
    """Every JSON line the engine's processes wrote on stderr so far."""
    entries = []
    for lines in engine.logs.values():
        for line in list(lines):
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a kill -9
                    continue
    return entries


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` every 50 ms; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def statuses(engine: Engine, ids: list[int]) -> list[str]:
    return [engine.execution(execution_id).status for execution_id in ids]


def all_final(engine: Engine, ids: list[int]) -> bool:
    return all(status in FINAL for status in statuses(engine, ids))
