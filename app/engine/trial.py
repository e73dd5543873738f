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
    this long before the next step; `waits_for`: the step would pause the run until resumed
    (app.engine.waits: "call", "approval", "child"), and its output is then a sample of what it
    gives once resumed (a call with an empty body, an approval), when one can be made up."""

    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: str | None
    stopped: bool = False
    suspend_seconds: float = 0.0
    waits_for: str | None = None


def run_once(executor: StepExecutor, action: Mapping[str, Any], context: ExecutionContext) -> Trial:
    """Run one step now through the path every execution takes (render in the sandbox,
    validate, execute, redact, check the output) and record nothing: one attempt, no retry,
    and a delay is reported, not waited for."""
    run = Run(context.execution_id, {"actions": [dict(action)]}, context, dict(context.steps))
    outcome = executor.execute(Claim(run, 0, 1, 0, utcnow(), []))
    if outcome.error is not None:
        return Trial(outcome.input, None, str(outcome.error))
    if outcome.wait is not None:
        kind = outcome.wait.kind
        sample = _sample_resume(kind)
        if sample is not None:  # what the step gives once resumed, for later steps' picker
            resumed = executor.execute(Claim(run, 0, 2, 0, utcnow(), [], resume=sample))
            if resumed.error is None and resumed.wait is None:
                return Trial(outcome.input, resumed.output, None, waits_for=kind)
        return Trial(outcome.input, outcome.output, None, waits_for=kind)
    return Trial(outcome.input, outcome.output, None, outcome.stop, outcome.suspend_seconds)


def _sample_resume(kind: str) -> dict[str, Any] | None:
    """Made-up resume data of a wait (app.engine.waits' shapes): a call with an empty JSON body,
    an approval; None for a kind whose result cannot be made up (a child run's output)."""
    now = utcnow().isoformat()
    if kind == "call":
        request = {"method": "POST", "query": {}, "headers": {}, "body": {}, "received_at": now}
        return {"kind": "call", "request": request}
    if kind == "approval":
        decision = {"approved": True, "by": "Sample approver", "at": now, "comment": ""}
        return {"kind": "approval", "decision": decision}
    return None
