"""A step's attempts as pages and the API show them: one line per attempt counted.

The engine writes a line when an attempt starts (its claim) and replaces it when the attempt
ends (by the worker, by recovery after a lost worker, or by a cancel), so `attempts` and the
log agree. Steps stored before attempts had start lines may lack the line of the attempt that
was running; it is shown as such, without a start, rather than left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.engine.attempts import LOST_WORKER
from app.models import ExecutionStep

# Who ended an attempt (app.engine.attempts.ENDED_BY), in words.
ENDED_BY_TEXT = {
    "worker": "ended by its worker",
    "recovery": "taken over by recovery: its worker was lost",
    "cancel": "ended by a cancel",
    "time_limit": "ended by a time limit",
    "unknown": "its end was not recorded",
}


@dataclass(frozen=True)
class AttemptLine:
    """One attempt: its own start and end (None while it runs), error, and who ended it."""

    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    ended_by: str | None  # "worker", "recovery", "cancel" ("unknown": not recorded); None: runs
    # A wait for a rate limit (app.engine.budgets), not counted against the step's attempts:
    # the service waited for and until when.
    waiting_for: str | None = None
    waiting_until: datetime | None = None

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)

    @property
    def ended_by_text(self) -> str:
        if self.waiting_for is not None:
            return f"waited for {self.waiting_for}'s rate limit (not counted as an attempt)"
        if self.ended_by is None:
            return "running"
        return ENDED_BY_TEXT.get(self.ended_by, self.ended_by)


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _line(entry: dict[str, Any]) -> AttemptLine:
    finished_at = _time(entry.get("finished_at"))
    error = entry.get("error")
    ended_by = entry.get("ended_by")
    if ended_by is None and finished_at is not None:  # a line written before `ended_by`
        ended_by = "recovery" if error and LOST_WORKER in str(error) else "worker"
    waiting = entry.get("waiting")
    waiting = waiting if isinstance(waiting, dict) else {}
    return AttemptLine(
        int(entry.get("attempt") or 0),
        _time(entry.get("started_at")),
        finished_at,
        str(error) if error is not None else None,
        ended_by,
        str(waiting["service"]) if waiting.get("service") else None,
        _time(waiting.get("until")),
    )


def attempt_lines(step: ExecutionStep) -> list[AttemptLine]:
    """The step's attempts in order: as many lines as `step.attempts` counts."""
    lines = {line.attempt: line for line in map(_line, step.attempt_log or [])}
    unended = None if step.status == "running" else "unknown"
    for missing in range(1, step.attempts + 1):
        lines.setdefault(missing, AttemptLine(missing, None, None, None, unended))
    return [lines[number] for number in sorted(lines)]


def rate_limit_wait(step: ExecutionStep) -> AttemptLine | None:
    """The wait a pending step is in for a rate limit (its last attempt line), if any."""
    if step.status != "pending" or not step.attempt_log:
        return None
    last = _line(step.attempt_log[-1])
    return last if last.waiting_for is not None and last.waiting_until is not None else None
