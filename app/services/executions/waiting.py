"""What a waiting run waits for, in data and in words: the step that waits, for what (a call
to its resume URL, a decision, a child run, a time), since when and until when.

While a step waits its row says so (contract of issue 21): `status = 'waiting'`, `output =
{"waiting_for": kind, "since": iso, "until": iso, ...}` and `next_retry_at` its deadline. The
list, the execution page, the API and the CLI all read it through here, so a waiting run reads
the same everywhere: "Waiting for a call to its resume URL since 10:02 UTC, until Dec 9 10:02
UTC (in 2 days)".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.program import history_key
from app.models import ExecutionStep, StepStatus
from app.models.base import utcnow

# What each kind of wait waits for, in words ("Waiting for …").
KIND_WORDS = {
    "call": "a call to its resume URL",
    "approval": "a decision on its approval page",
    "child": "a child run to end",
    "time": "its delay to pass",
}
# The step types whose wait ends with a call to a resume URL the owner can also make ("Resume
# now"): an approval is decided on its page, a child's end resumes its parent by itself.
CALLABLE_KINDS = ("call",)


def _moment(raw: Any) -> datetime | None:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def clock_text(moment: datetime, now: datetime) -> str:
    """ "10:02 UTC" today, "Dec 9 10:02 UTC" another day, "Dec 9, 2027 10:02 UTC" another
    year."""
    moment, now = moment.astimezone(UTC), now.astimezone(UTC)
    if moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    if moment.year == now.year:
        return f"{moment:%b} {moment.day} {moment:%H:%M} UTC"
    return f"{moment:%b} {moment.day}, {moment.year} {moment:%H:%M} UTC"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


def time_left(until: datetime, now: datetime) -> str:
    """ "in 2 days", "in 3 hours", "in 5 minutes", "in under a minute"; "due now" once past
    (the scheduler's next pass ends the wait)."""
    seconds = (until - now).total_seconds()
    if seconds <= 0:
        return "due now"
    if seconds < 60:
        return "in under a minute"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"in {_plural(minutes, 'minute')}"
    hours = int(seconds // 3600)
    if hours < 36:
        return f"in {_plural(hours, 'hour')}"
    return f"in {_plural(round(seconds / 86400), 'day')}"  # 47 hours: "in 2 days"


@dataclass(frozen=True)
class Waiting:
    """The step a waiting run waits on, and for what."""

    execution_id: int
    step_id: int
    key: str
    action_type: str
    position: int
    frame: str
    address: str
    kind: str  # "call", "approval", "child", "time" (an action may name another)
    since: datetime | None
    until: datetime | None
    details: Mapping[str, Any] = field(default_factory=dict)  # the rest of the step's output

    @property
    def can_be_called(self) -> bool:
        """The owner may resume it with a call of their own ("Resume now", the API)."""
        return self.kind in CALLABLE_KINDS

    @property
    def child_execution_id(self) -> int | None:
        """The child run a `child` wait waits for, when the step's output names it."""
        child = self.details.get("child")
        candidates = [
            child.get("execution_id") if isinstance(child, Mapping) else None,
            self.details.get("child_execution_id"),
            self.details.get("execution_id"),
        ]
        return next((c for c in candidates if isinstance(c, int) and c > 0), None)

    @property
    def what(self) -> str:
        """What it waits for: "a call to its resume URL", "child run #12 to end"."""
        if self.kind == "child" and self.child_execution_id is not None:
            return f"child run #{self.child_execution_id} to end"
        return KIND_WORDS.get(self.kind, self.kind.replace("_", " ") or "something")

    def sentence(self, now: datetime | None = None) -> str:
        """ "Waiting for a call to its resume URL since 10:02 UTC, until Dec 9 10:02 UTC (in 2
        days)"."""
        now = now or utcnow()
        words = f"Waiting for {self.what}"
        if self.since is not None:
            words += f" since {clock_text(self.since, now)}"
        if self.until is not None:
            words += f", until {clock_text(self.until, now)} ({time_left(self.until, now)})"
        return words

    def short(self, now: datetime | None = None) -> str:
        """For a row of the list: "for a call to its resume URL · until Dec 9 10:02 UTC"."""
        now = now or utcnow()
        words = f"for {self.what}"
        if self.until is not None:
            words += f" · until {clock_text(self.until, now)}"
        return words


def of_step(step: ExecutionStep) -> Waiting | None:
    """The wait a step is in (None unless it is waiting)."""
    if step.status != StepStatus.WAITING:
        return None
    output = step.output if isinstance(step.output, Mapping) else {}
    kind = str(output.get("waiting_for") or "")
    until = _moment(output.get("until")) or _moment(step.next_retry_at)
    details = {k: v for k, v in output.items() if k not in ("waiting_for", "since", "until")}
    return Waiting(
        execution_id=step.execution_id,
        step_id=step.id,
        key=step.action_key,
        action_type=step.action_type,
        position=step.position,
        frame=step.frame,
        address=step.address or str(step.position + 1),
        kind=kind,
        since=_moment(output.get("since")) or _moment(step.started_at),
        until=until,
        details=details,
    )


def first_of(steps: Iterable[ExecutionStep]) -> Waiting | None:
    """The first waiting step among `steps`, in history order."""
    ordered = sorted(steps, key=lambda s: history_key(s.frame, s.position))
    return next((w for w in map(of_step, ordered) if w is not None), None)


def of_executions(session: Session, execution_ids: Iterable[int]) -> dict[int, Waiting]:
    """The wait of each of these executions that has a waiting step, by execution id: one
    statement over the waiting steps (a partial index holds them)."""
    ids = sorted(set(execution_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(ExecutionStep).where(
            ExecutionStep.status == StepStatus.WAITING, ExecutionStep.execution_id.in_(ids)
        )
    ).all()
    by_execution: dict[int, list[ExecutionStep]] = {}
    for row in rows:
        by_execution.setdefault(row.execution_id, []).append(row)
    found = {}
    for execution_id, steps in by_execution.items():
        waiting = first_of(steps)
        if waiting is not None:
            found[execution_id] = waiting
    return found
