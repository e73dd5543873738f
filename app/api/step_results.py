"""The API's view of a step run (the `steps` of an execution): where it is in the workflow's
tree, the loop iterations around it, its attempts, input and output."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models import StepStatus


class _Result(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AttemptResult(_Result):
    """One attempt of a step, with its own start and end."""

    attempt: int
    started_at: datetime | None = Field(description="Null only for an attempt not recorded.")
    finished_at: datetime | None = Field(description="Null while the attempt runs.")
    duration_ms: int | None
    error: str | None
    ended_by: Literal["worker", "recovery", "cancel", "wait", "time_limit", "unknown"] | None = (
        Field(
            description="Who ended the attempt: its `worker`; `recovery`, when its worker was "
            "lost (the step stayed running past its lease); a `cancel` of the execution while "
            "it ran; a `wait`: the step waited (for a call, an approval, a child run), and the "
            "next attempt runs once it is resumed; a `time_limit`: the step's (it ran past it) "
            "or the run's. Null while it runs."
        )
    )
    waiting_for: str | None = Field(None, description="Rate limit waited for (not an attempt).")
    waiting_until: datetime | None = None


class IterationRef(_Result):
    """One loop iteration around a step run."""

    loop: str = Field(description="The loop step's key.")
    index: int = Field(description="The iteration, 0-based (`loop.index`).")


class StepResult(_Result):
    """One run of a step: a step inside a loop runs once per iteration, each run its own."""

    position: int = Field(
        description="The step's place in the workflow's tree, counted in pre-order (a loop or "
        "paths step before the steps it holds); without loops and paths, its index."
    )
    address: str = Field(
        description="Where the step is in the tree, 1-based in each list: `4` (the 4th "
        "top-level step), `3/1` (the 1st step in the body of loop step 3), `4/b/2` (the 2nd "
        "step of branch `b` of paths step 4), `4/otherwise/1`."
    )
    frame: str = Field(
        description="The loop iterations around this run: empty at top level, `L.i` in "
        "iteration `i` (0-based) of the loop at position `L`, `L.i.M.j` nested. With "
        "`position`, it names the run."
    )
    iteration: list[IterationRef] = Field(
        description="The same iterations by loop key, outermost first (empty outside loops)."
    )
    key: str
    type: str
    status: StepStatus
    attempts: int = Field(description="Attempts started: one entry each in `attempt_log`.")
    attempt_log: list[AttemptResult]
    input: dict[str, Any] | None = Field(description="The rendered config; secrets redacted.")
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(description="From the first attempt's start to its end.")
    next_retry_at: datetime | None
