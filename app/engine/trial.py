"""One step outside any execution: the editor's "test this step"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.attempts import Claim, Run
from app.engine.context import ExecutionContext
from app.engine.executor import StepExecutor
from app.models.base import utcnow


@dataclass(frozen=True)
class Trial:
    """What a trial did with one step: its rendered input (secrets redacted) and its output or
    error. `stopped`: a filter would end the run here; `suspend_seconds`: a delay would wait
    this long before the next step."""

    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: str | None
    stopped: bool = False
    suspend_seconds: float = 0.0


def run_once(executor: StepExecutor, action: Mapping[str, Any], context: ExecutionContext) -> Trial:
    """Run one step now through the path every execution takes (render in the sandbox,
    validate, execute, redact, check the output) and record nothing: one attempt, no retry,
    and a delay is reported, not waited for."""
    run = Run(context.execution_id, {"actions": [dict(action)]}, context, dict(context.steps))
    outcome = executor.execute(Claim(run, 0, 1, 0, utcnow(), []))
    if outcome.error is not None:
        return Trial(outcome.input, None, str(outcome.error))
    return Trial(outcome.input, outcome.output, None, outcome.stop, outcome.suspend_seconds)
