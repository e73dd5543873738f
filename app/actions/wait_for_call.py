"""Wait for a call: suspend the run until its resume URL is called (or a timeout).

The step's resume URL (`{{ steps.<key>.resume_url }}`, readable by the steps before it) is
secret and single use; a POST to it resumes the run with the request (method, query, headers,
body) as this step's output. Waiting holds no worker and no message (app.engine.waits).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.actions import wait_timeouts
from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import ActionError, Wait


class WaitForCallConfig(ActionConfig):
    timeout_amount: float = Field(
        1, gt=0, description="How long to wait for the call (at most 30 days in all)."
    )
    timeout_unit: Literal["minutes", "hours", "days"] = "days"
    on_timeout: Literal["fail", "continue"] = Field(
        "fail",
        description="When no call came in time: fail the step, or go on with the default output.",
    )
    default_output: dict[str, Any] = Field(
        default_factory=dict,
        description="The step's output when it times out and the run goes on.",
        json_schema_extra={"shown_when": {"on_timeout": "continue"}},
    )


class WaitForCallAction(BaseActionHandler):
    """Pause the run until its resume URL is called, then go on with the call's data."""

    type = "wait_for_call"
    category = "Flow"
    name = "Wait for a call"
    description = (
        "Pause the run until its resume URL is called (send it with an earlier step as "
        "{{ steps.<key>.resume_url }}); the call's body becomes this step's output."
    )
    Config = WaitForCallConfig

    def execute(self, context: StepContext, config: WaitForCallConfig) -> dict[str, Any]:
        resume = context.resume
        if resume is None:
            if wait_timeouts.too_long(config.timeout_amount, config.timeout_unit):
                raise ActionError("A step can wait at most 30 days.", retryable=False)
            until = wait_timeouts.deadline(config.timeout_amount, config.timeout_unit)
            raise Wait("call", until, {"resume_url": context.resume_url})
        if resume.get("timed_out"):
            if config.on_timeout == "fail":
                waited = wait_timeouts.words(config.timeout_amount, config.timeout_unit)
                raise ActionError(f"No call came within {waited}.", retryable=False)
            return {"timed_out": True, **config.default_output}
        output = dict(resume.get("request") or {})
        if resume.get("by_owner"):
            output["resumed_by"] = resume["by_owner"]
        return output
