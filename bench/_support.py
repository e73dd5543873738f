"""Shared pieces of the benchmarks: a throwaway PostgreSQL database and Redis namespace, and
real worker processes. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("STEPLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STEPLINE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
SPEED_STEPS = 5_000_000


@dataclass
class Stack:
    database_url: str
    redis_url: str
    namespace: str
    secret_keys: str

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")}
        return {
            **base,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench",
            "STEPLINE_SECRET_KEYS": self.secret_keys,
            "STEPLINE_QUEUE_PREFIX": self.namespace,
            "STEPLINE_EMBEDDED_WORKER": "false",
            "dramatiq_worker_timeout": "100",
            "PYTHONPATH": str(ROOT),
            "FLASK_APP": "app",
            **extra,
        }

    def config(self) -> dict[str, object]:
        return {
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench",
            "SECRET_KEYS": self.secret_keys,
            "QUEUE_PREFIX": self.namespace,
            "EMBEDDED_WORKER": False,
        }


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    """A fresh PostgreSQL database (migrated) and Redis namespace, removed afterwards."""
    name = f"stepline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    bench = Stack(
        url, REDIS_URL, f"stepline-bench-{uuid.uuid4().hex[:8]}", Fernet.generate_key().decode()
    )
    migrated = subprocess.run(
        [str(BIN / "flask"), "db", "upgrade"],
        cwd=ROOT,
        env=bench.env(),
        capture_output=True,
        text=True,
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{migrated.stderr[-3000:]}")
    try:
        yield bench
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{bench.namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def spawn(
    args: list[str], env: dict[str, str], ready: str, timeout: float = 60
) -> subprocess.Popen[str]:
    """Start a process in its own group and wait until its stderr shows `ready`."""
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    seen = threading.Event()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if ready in line:
                seen.set()

    threading.Thread(target=pump, daemon=True).start()
    if not seen.wait(timeout):
        stop(process)
        raise RuntimeError(f"{args} never printed {ready!r}")
    return process


def stop(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)  # the main process: it stops its children
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _processes() -> Iterator[tuple[str, int, float]]:
    """(command name, process group, CPU seconds) of every process: its own user + system
    time, and that of its children that ended (PostgreSQL's backends that exit count in the
    postmaster's, so a sum over `postgres` processes does not drop as connections close)."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        # after the name: state, ppid, pgrp, ...; utime, stime, cutime, cstime: 12th to 15th
        fields = stat.rsplit(")", 1)[1].split()
        yield name, int(fields[2]), sum(int(value) for value in fields[11:15]) / tick


def named_cpu_seconds(name: str) -> float:
    """CPU of every process whose command name is `name` (e.g. postgres)."""
    return sum(cpu for command, _, cpu in _processes() if command == name)


def group_cpu_seconds(pid: int) -> float:
    """CPU of a process group (dramatiq's main process and the workers it forks)."""
    return sum(cpu for _, group, cpu in _processes() if group == pid)


def machine_speed() -> float:
    """Milliseconds of CPU a fixed piece of pure-Python work takes: the CPU figures scale with
    it. Machines differ (one session's figures were 2.5 times another's), and a shared one
    drifts within minutes; compare runs only beside this figure (`speed_line`)."""
    started = time.process_time()
    total = 0
    for step in range(SPEED_STEPS):
        total += step
    return (time.process_time() - started) * 1000


def speed_line(start_ms: float, end_ms: float) -> str:
    return (
        f"machine speed: {SPEED_STEPS:,} steps of a Python loop took {start_ms:.0f} ms of CPU "
        f"at the start, {end_ms:.0f} ms at the end"
    )
