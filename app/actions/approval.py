"""Approval: pause the run until someone approves or rejects it on the step's approval page.

The first run of the step raises `Wait("approval", …)`: the run waits (no worker, no message)
with the request the approver sees (title, message, the fields the author chose) as the step's
output. The step's resume URL (`{{ steps.<key>.resume_url }}`, for an earlier step to send)
opens the public approval page (app/ingress/approval.py); its decision, the owner's from the
execution page, or the timeout resumes the step, which runs again and reads `context.resume`:

- a decision `{"kind": "approval", "decision": {approved, by, at, comment}}` (plus `by_owner`
  when the owner decided): approved → the output is the decision; rejected → the step fails
  ("Rejected by …: comment"), or, with `on_reject: continue`, the decision is the output so
  that a later paths step can branch on `steps.<key>.approved`;
- a timeout `{"kind": "timeout", "at"}`: the step fails, or, with `on_timeout: continue`, the
  output is `timeout_decision` with `timed_out: true`.

A dry run does not wait: it records that it would, and goes on as if approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from app.actions import wait_timeouts
from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import ActionError, Wait

KIND = "approval"
ANONYMOUS = "someone with the link"  # `by` of a decision whose approver gave no name
DRY_RUN_NOTE = "would wait for approval"
TOO_LONG = "the timeout is over 30 days"  # validation_messages places it beside the amount


class ApprovalConfig(ActionConfig):
    title: str = Field(
        min_length=1,
        max_length=300,
        description="What to decide: the approval page's heading. May use templates.",
    )
    message: str = Field(
        "",
        max_length=10_000,
        description="Details for the approver, under the title. May use templates.",
    )
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Values the approver sees, one row each: a label and its value (a "
        "template). The page shows these, never the whole trigger data.",
    )
    timeout_amount: float = Field(
        3, gt=0, title="Wait for a decision for", description="Up to 30 days in all."
    )
    timeout_unit: Literal["minutes", "hours", "days"] = Field("days", title="Unit")
    on_timeout: Literal["fail", "continue"] = Field(
        "fail",
        title="When no one decides in time",
        description="Continue: the run goes on with the decision below.",
    )
    timeout_decision: Literal["approved", "rejected"] = Field(
        "rejected",
        title="Decision after the timeout",
        description="What the step outputs when no one decided in time and the run continues.",
        json_schema_extra={"shown_when": {"on_timeout": "continue"}},
    )
    on_reject: Literal["fail", "continue"] = Field(
        "fail",
        title="When rejected",
        description="To branch on the decision, continue, then add a Paths step on "
        "{{ steps.<key>.approved }}.",
    )

    @model_validator(mode="after")
    def _timeout_within_limit(self) -> ApprovalConfig:
        if wait_timeouts.too_long(self.timeout_amount, self.timeout_unit):
            raise ValueError(f"{TOO_LONG}: at most 30 days, or 720 hours")
        return self


def timeout_seconds(config: ApprovalConfig) -> float:
    return wait_timeouts.seconds(config.timeout_amount, config.timeout_unit)


def request_of(config: ApprovalConfig) -> dict[str, Any]:
    """What the approver sees, from the rendered config: the fields as ordered rows, and what a
    rejection does."""
    return {
        "title": config.title,
        "message": config.message,
        "fields": [{"label": label, "value": value} for label, value in config.fields.items()],
        "on_reject": config.on_reject,
    }


def decision_output(approved: bool, by: str, at: str, comment: str, **extra: Any) -> dict[str, Any]:
    """The step's output for a decision (the page's, the owner's, a timeout's)."""
    return {
        "approved": approved,
        "decision": "approved" if approved else "rejected",
        "by": by,
        "at": at,
        "comment": comment,
        **extra,
    }


def rejection_message(by: str, comment: str) -> str:
    """The step's (and the run's) error for a rejection that fails the run."""
    who = by or ANONYMOUS
    return f"Rejected by {who}: {comment}" if comment else f"Rejected by {who}."


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _decided(decision: Mapping[str, Any], by_owner: Any, config: ApprovalConfig) -> dict[str, Any]:
    approved = decision.get("approved") is True
    by, comment = str(decision.get("by") or ANONYMOUS), str(decision.get("comment") or "")
    if not approved and config.on_reject == "fail":
        raise ActionError(rejection_message(by, comment), retryable=False)
    extra = {"by_owner": str(by_owner)} if by_owner else {}
    return decision_output(approved, by, str(decision.get("at") or _now()), comment, **extra)


def _timed_out(resume: Mapping[str, Any], config: ApprovalConfig) -> dict[str, Any]:
    if config.on_timeout == "fail":
        waited = wait_timeouts.words(config.timeout_amount, config.timeout_unit)
        raise ActionError(f"No decision within {waited}: the approval timed out.", retryable=False)
    approved = config.timeout_decision == "approved"
    return decision_output(approved, "", str(resume.get("at") or _now()), "", timed_out=True)


class ApprovalAction(BaseActionHandler):
    """Wait until someone approves or rejects on the step's approval page (no account needed:
    the link is the key), or until the timeout."""

    type = KIND
    category = "Flow"
    name = "Approval"
    description = (
        "Pause the run until someone approves or rejects it on a page the step's link opens "
        "(no account needed), or until a timeout of up to 30 days."
    )
    Config = ApprovalConfig

    def execute(self, context: StepContext, config: ApprovalConfig) -> dict[str, Any]:
        resume = context.resume
        if resume is None:
            if context.execution.dry_run:  # a dry run does not wait: it goes on as approved
                output = decision_output(True, "", _now(), "")
                return {**output, **request_of(config), "dry_run": DRY_RUN_NOTE}
            until = wait_timeouts.deadline(config.timeout_amount, config.timeout_unit)
            raise Wait(KIND, until, {**request_of(config), "resume_url": context.resume_url})
        kind = resume.get("kind")
        if kind == "approval" and isinstance(resume.get("decision"), Mapping):
            return _decided(resume["decision"], resume.get("by_owner"), config)
        if kind == "timeout":
            return _timed_out(resume, config)
        raise ActionError(
            f"This approval step was resumed by {kind or 'something'} instead of a decision.",
            retryable=False,
        )
