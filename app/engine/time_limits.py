"""Time limits: how long a run and one attempt of a step may take, read from the snapshot.

A run's limit is its workflow's `settings.time_limit_seconds` (waits included): the execution
stores `deadline_at` when it is created, and the scheduler fails it past that
(app.engine.run_deadlines). An attempt's limit is the step's own `retry.timeout_seconds`, else
its workflow's `settings.step_time_limit_seconds`, else the engine's STEPLINE_STEP_TIME_LIMIT.
It is enforced three ways, each a fallback for the one before:

1. the action's own I/O: the guarded clients end every exchange by the step's deadline
   (app.net.deadline.step_limit, entered by the executor);
2. recovery: an attempt still `running` past its limit plus `grace` is recorded as a failed
   attempt and retried under the step's rules (app.engine.step_timeouts);
3. Dramatiq's TimeLimit: the worker thread is interrupted at the same moment (app.broker's
   StepTimeLimit, reset when each step starts), so a stuck action does not hold it forever.

Nothing here touches the database: the executor reads the limit from the run it loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

MAX_GRACE_SECONDS = 60.0
MIN_GRACE_SECONDS = 2.0
DEFAULT_STEP_LIMIT_SECONDS = 900.0


def workflow_settings(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    """The workflow settings frozen in a run's snapshot (empty for older snapshots)."""
    return (snapshot.get("workflow") or {}).get("settings") or {}


def step_limit(action: Mapping[str, Any], settings: Mapping[str, Any], default: float) -> float:
    """Seconds one attempt of `action` may run: its own `retry.timeout_seconds`, else the
    workflow's `step_time_limit_seconds` (`settings`), else `default` (the engine's)."""
    own = (action.get("retry") or {}).get("timeout_seconds")
    if own:
        return float(own)
    return float(settings.get("step_time_limit_seconds") or default)


def grace(limit: float) -> float:
    """How long past its limit an attempt may still be seen running before recovery and
    Dramatiq end it: a tenth of the limit, between 2 s and a minute (the action's own
    deadline normally ends it first, and recording takes a moment)."""
    return min(max(limit / 10, MIN_GRACE_SECONDS), MAX_GRACE_SECONDS)


def run_limit(snapshot: Mapping[str, Any]) -> int | None:
    """The run's time limit in seconds (None: no limit)."""
    limit = workflow_settings(snapshot).get("time_limit_seconds")
    return int(limit) if limit else None


def run_deadline(snapshot: Mapping[str, Any], created_at: datetime) -> datetime | None:
    """When a run created at `created_at` fails for its time limit (None: it never does)."""
    limit = run_limit(snapshot)
    return created_at + timedelta(seconds=limit) if limit else None


_UNITS = (("day", 86400), ("h", 3600), ("min", 60), ("s", 1))


def duration_text(seconds: float) -> str:
    """A limit in words: "30 s", "15 min", "2 h", "1 h 30 min", "3 days" (two units at most)."""
    rest = round(seconds)
    if rest < 1:
        return f"{seconds:g} s"
    parts = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            plural = "s" if unit == "day" and count > 1 else ""
            parts.append(f"{count} {unit}{plural}")
    return " ".join(parts[:2])
