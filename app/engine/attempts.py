"""What one message knows and decides about its steps, as plain values.

The runner claims a step (a `Claim` on a `Run`), executes it (an `Outcome`), and decides what
to store (a `StepRecord` per attempt) and how the execution moves on (a `Move`: retry the step,
finish the execution, or advance to the next step). A ledger (app.engine.ledger) stores the
decision; nothing here touches the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.engine.context import ExecutionContext
from app.engine.errors import ActionError, Wait
from app.engine.program import Program, frame_iterations, frame_numbers
from app.models import ExecutionStatus, StepStatus
from app.models.base import utcnow

UNCLAIMED = 0  # the step id of a claim not stored yet: a pure step run as part of a chain


@dataclass
class Run:
    """What one message has loaded about its execution (reused across its steps): the outputs
    it sees in its current `frame` (the loop iterations it is in), and the lists of the loops
    around it (`loop_items`, by the loop's position and frame)."""

    execution_id: int
    snapshot: dict[str, Any]
    context: ExecutionContext
    outputs: dict[str, Any]
    program: Program = field(init=False)
    frame: str = ""
    loop_items: dict[tuple[int, str], list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.program = Program(self.snapshot["actions"])

    @property
    def actions(self) -> list[dict[str, Any]]:
        """The steps by position (the tree in pre-order)."""
        return self.program.flat

    def missing_loops(self, frame: str) -> list[tuple[int, str]]:
        """The loops around `frame` whose lists this message has not loaded."""
        missing = []
        outer = ""
        for loop_position, index in frame_iterations(frame):
            if (loop_position, outer) not in self.loop_items:
                missing.append((loop_position, outer))
            outer = f"{outer}.{loop_position}.{index}" if outer else f"{loop_position}.{index}"
        return missing

    def enter(self, frame: str) -> None:
        """Move the run's view to `frame`: outputs of steps in iterations it is not in are
        forgotten, and `loop` reads the innermost iteration's item."""
        if frame != self.frame:
            common = _common_iterations(self.frame, frame)
            nodes, by_key = self.program.nodes, self.program.by_key
            for key in [k for k in self.outputs if k in by_key]:
                if nodes[by_key[key]].loops > common:
                    del self.outputs[key]
            self.frame = frame
        loop = self.loop_variables(frame)
        if loop != self.context.loop:
            self.context = dataclasses.replace(self.context, loop=loop)

    def loop_variables(self, frame: str) -> dict[str, Any] | None:
        """`loop.item`, `.index`, `.first`, `.last`, `.count` of the innermost iteration of
        `frame`, and `.parent`: the same for the loop around it (None outside loops)."""
        variables: dict[str, Any] | None = None
        outer = ""
        for loop_position, index in frame_iterations(frame):
            items = self.loop_items.get((loop_position, outer), [])
            count = len(items)
            variables = {
                "item": items[index] if index < count else None,
                "index": index,
                "first": index == 0,
                "last": index == count - 1,
                "count": count,
                "parent": variables,
            }
            outer = f"{outer}.{loop_position}.{index}" if outer else f"{loop_position}.{index}"
        return variables


def _common_iterations(a: str, b: str) -> int:
    """How many loop iterations, outermost first, two frames share."""
    pairs_a, pairs_b = frame_numbers(a), frame_numbers(b)
    common = 0
    for k in range(0, min(len(pairs_a), len(pairs_b)) - 1, 2):
        if pairs_a[k : k + 2] != pairs_b[k : k + 2]:
            break
        common += 1
    return common


def build_run(execution_id: int, row: Any, outputs: dict[str, Any]) -> Run:
    """The message's view of its execution, from a row with `snapshot`, `trigger_data`,
    `workflow_id`, `user_id`, `dry_run` and `parent_execution_id`, and the outputs of its
    completed steps by key."""
    snapshot = row.snapshot
    context = ExecutionContext(
        execution_id=execution_id,
        workflow_id=row.workflow_id,
        workflow_name=snapshot["workflow"]["name"],
        user_id=row.user_id,
        trigger=row.trigger_data,
        steps=outputs,
        dry_run=bool(row.dry_run),
        timezone=((snapshot["workflow"].get("settings") or {}).get("timezone") or "UTC"),
        parent_execution_id=row.parent_execution_id,
    )
    return Run(execution_id, snapshot, context, outputs)


@dataclass
class Claim:
    """One attempt of the step at `position`, owned by this message (`step_id` is the stored
    step, or UNCLAIMED for a pure step of a chain that has no claim of its own)."""

    run: Run
    position: int
    attempt: int
    step_id: int
    started_at: datetime
    attempt_log: list[dict[str, Any]]
    frame: str = ""  # the loop iterations around this run of the step (app.engine.program)
    # What resumed the step after it waited (app.engine.waits); None on its first run.
    resume: dict[str, Any] | None = None


@dataclass
class Outcome:
    """What executing one attempt produced."""

    output: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    error: ActionError | None = None
    stop: bool = False
    suspend_seconds: float = 0.0
    skipped: bool = False  # its "Run only if" did not hold: the action did not run
    wait: Wait | None = None  # the action suspends the run until resumed (app.engine.waits)
    finished_at: datetime = field(default_factory=utcnow)
    ended_by: str = "worker"  # who ended the attempt: see ENDED_BY


@dataclass(frozen=True)
class StepRecord:
    """The stored result of one attempt: `completed`, `skipped` (its "Run only if" did not
    hold), `failed`, `pending` again (a retry is due at `next_retry_at`), or `waiting` (until
    resumed, or `next_retry_at`, its deadline)."""

    claim: Claim
    status: StepStatus
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: str | None
    ended_at: datetime  # when the attempt ended (the execution's changes are stamped so)
    next_retry_at: datetime | None
    attempt_log: list[dict[str, Any]]

    @property
    def completed(self) -> bool:
        return self.status == StepStatus.COMPLETED

    @property
    def finished_at(self) -> datetime | None:
        """The step's finish time: none while a retry is due or while it waits."""
        if self.status in (StepStatus.PENDING, StepStatus.WAITING):
            return None
        return self.ended_at


# Who ended an attempt: the worker that ran it, recovery (the worker was lost: the step stayed
# `running` past its lease), a user's cancel while it ran, a wait (the step suspended the
# run; its next attempt runs when resumed: not counted against its retries), or a time limit
# (the step's own: it stayed `running` past it; or the run's: app.engine.time_limits).
ENDED_BY = ("worker", "recovery", "cancel", "wait", "time_limit")
# The error of an attempt recovery ended (also how attempt lines from before `ended_by` tell it).
LOST_WORKER = "The worker running this step stopped before it finished."


def open_entry(attempt: int, started_at: datetime) -> dict[str, Any]:
    """The line a claim adds to its step's attempt log: the attempt has started, nothing has
    ended it yet. Whoever ends the attempt replaces it with its `attempt_entry`, so the log
    holds one line per attempt counted in `attempts`, each with its own start."""
    return {"attempt": attempt, "started_at": started_at.isoformat()}


def earlier_attempts(
    attempt_log: list[dict[str, Any]] | None, attempt: int
) -> list[dict[str, Any]]:
    """The log's lines of the attempts before `attempt` (without the open line of `attempt`)."""
    return [entry for entry in attempt_log or [] if entry.get("attempt", 0) < attempt]


def attempt_started_at(
    attempt_log: list[dict[str, Any]] | None, attempt: int, step_started_at: datetime | None
) -> datetime:
    """When attempt `attempt` started: its open line in the log (written by its claim). A step
    claimed before attempts had open lines falls back to the step's start (the first attempt's)."""
    for entry in reversed(attempt_log or []):
        if entry.get("attempt") == attempt and entry.get("started_at"):
            return datetime.fromisoformat(entry["started_at"])
    return step_started_at or utcnow()


def ended_entry(
    attempt: int,
    started_at: datetime,
    finished_at: datetime,
    ended_by: str,
    error: str | None = None,
) -> dict[str, Any]:
    """The line of an ended attempt in its step's attempt log."""
    entry = {
        "attempt": attempt,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "ended_by": ended_by,
    }
    return entry if error is None else {**entry, "error": error}


def attempt_entry(claim: Claim, finished_at: datetime, ended_by: str = "worker") -> dict[str, Any]:
    """The line of the claimed attempt, ended at `finished_at`."""
    return ended_entry(claim.attempt, claim.started_at, finished_at, ended_by)


def completed(claim: Claim, outcome: Outcome) -> StepRecord:
    """The record of a successful attempt (`skipped` when its "Run only if" did not hold)."""
    return StepRecord(
        claim,
        StepStatus.SKIPPED if outcome.skipped else StepStatus.COMPLETED,
        outcome.input,
        outcome.output,
        None,
        outcome.finished_at,
        None,
        [*claim.attempt_log, attempt_entry(claim, outcome.finished_at, outcome.ended_by)],
    )


# -- how the execution moves on once the attempt is recorded -------------------------------


@dataclass(frozen=True)
class Retry:
    """Run the same step again, attempt + 1, after `delay` seconds."""

    delay: float


@dataclass(frozen=True)
class Flow:
    """What a move changes in the tree besides the cursor (app.engine.program.Route): step rows
    to create (position, frame, status), loops whose last iteration ended (position, frame:
    their output becomes the list of each iteration's last output) and rows to skip."""

    create: tuple[tuple[int, str, str], ...] = ()
    closes: tuple[tuple[int, str], ...] = ()
    skips: tuple[tuple[int, str], ...] = ()

    @property
    def plain(self) -> bool:
        return not (self.create or self.closes or self.skips)


NO_FLOW = Flow()


@dataclass(frozen=True)
class Finish:
    """End the execution with `status` at `position`; when `skip_after` is set, every step
    still pending is skipped."""

    status: ExecutionStatus
    error: str | None
    position: int
    skip_after: int | None
    flow: Flow = NO_FLOW


@dataclass(frozen=True)
class Advance:
    """Move the execution to the step at (`position`, `frame`), due after `delay` seconds;
    `claim`: this message claims it at once and runs it."""

    position: int
    delay: float
    claim: bool
    frame: str = ""
    flow: Flow = NO_FLOW


@dataclass(frozen=True)
class Park:
    """The step waits (app.engine.waits): the run holds no message until it is resumed or
    `until`, its deadline."""

    until: datetime


Move = Retry | Finish | Advance | Park


@dataclass(frozen=True)
class Next:
    """The step a message leads to: run it now (`claimed_step_id` set: claimed in the same
    commit) or send a doorbell for it after `delay`. `closed`: the outputs of the loops the
    record ended, by position."""

    position: int
    attempt: int
    delay: float
    claimed_step_id: int | None = None
    frame: str = ""
    closed: Mapping[int, Any] = field(default_factory=dict)
