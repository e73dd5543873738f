"""The `approval` action alone: its first run waits with the request the page shows; resumed,
it outputs the decision, or fails as its author chose (a rejection, a timeout); a dry run
does not wait. Its config caps the timeout at 30 days, beside the amount in the editor."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.actions import BUILTIN_ACTIONS
from app.actions.approval import ApprovalAction, ApprovalConfig
from app.config import build
from app.engine.errors import ActionError, Wait
from app.engine.registry import ActionRegistry
from app.services.workflows import validation_messages
from app.web.editor.summaries import summary
from app.web.editor.widgets import form_fields
from tests.fakes.context import make_step_context

SETTINGS = build({"SECRET_KEYS": Fernet.generate_key().decode()})
CONFIG = {
    "title": "Refund order 1042?",
    "message": "The customer asked twice.",
    "fields": {"Amount": 40, "Customer": "ada@example.com"},
    "timeout_amount": 2,
    "timeout_unit": "days",
}
DECISION = {"approved": True, "by": "Ada", "at": "2026-12-07T10:00:00+00:00", "comment": "ok"}


def run(resume: dict[str, Any] | None = None, dry_run: bool = False, **config: Any) -> Any:
    context = make_step_context(SETTINGS, step_key="ask")
    if dry_run:
        context = dataclasses.replace(
            context, execution=dataclasses.replace(context.execution, dry_run=True)
        )
    context = dataclasses.replace(context, resume=resume)
    return ApprovalAction().execute(context, ApprovalConfig.model_validate({**CONFIG, **config}))


def test_the_first_run_waits_until_the_timeout_with_the_request_to_show() -> None:
    before = datetime.now(UTC)
    with pytest.raises(Wait) as waited:
        run()
    assert waited.value.kind == "approval"
    assert before + timedelta(days=2) <= waited.value.until <= datetime.now(UTC) + timedelta(2)
    output = waited.value.output
    assert output["title"] == "Refund order 1042?"
    assert output["message"] == "The customer asked twice."
    assert output["fields"] == [
        {"label": "Amount", "value": 40},
        {"label": "Customer", "value": "ada@example.com"},
    ]
    assert "/resume/" in output["resume_url"]


def test_an_approval_outputs_the_decision() -> None:
    output = run({"kind": "approval", "decision": DECISION})
    assert output == {
        "approved": True,
        "decision": "approved",
        "by": "Ada",
        "at": "2026-12-07T10:00:00+00:00",
        "comment": "ok",
    }
    by_owner = run({"kind": "approval", "decision": DECISION, "by_owner": "ada@example.com"})
    assert by_owner["by_owner"] == "ada@example.com"


def test_a_rejection_fails_the_step_without_retry_or_continues_as_chosen() -> None:
    rejected = {**DECISION, "approved": False, "comment": "too much"}
    with pytest.raises(ActionError) as failed:
        run({"kind": "approval", "decision": rejected})
    assert str(failed.value) == "Rejected by Ada: too much"
    assert failed.value.retryable is False
    nameless = {**rejected, "by": "", "comment": ""}
    with pytest.raises(ActionError, match=r"^Rejected by someone with the link\.$"):
        run({"kind": "approval", "decision": nameless})

    output = run({"kind": "approval", "decision": rejected}, on_reject="continue")
    assert output["approved"] is False
    assert output["decision"] == "rejected"
    assert output["comment"] == "too much"


def test_a_timeout_fails_or_goes_on_with_the_default_decision() -> None:
    timeout = {"kind": "timeout", "timed_out": True, "at": "2026-12-09T10:00:00+00:00"}
    with pytest.raises(ActionError, match="No decision within 2 days") as failed:
        run(timeout)
    assert failed.value.retryable is False

    output = run(timeout, on_timeout="continue", timeout_decision="approved")
    assert output["approved"] is True
    assert output["timed_out"] is True
    assert output["at"] == "2026-12-09T10:00:00+00:00"
    assert run(timeout, on_timeout="continue")["decision"] == "rejected"


def test_anything_else_that_resumes_it_fails_it() -> None:
    with pytest.raises(ActionError, match="resumed by call instead of a decision"):
        run({"kind": "call", "request": {}})


def test_a_dry_run_does_not_wait_and_goes_on_as_approved() -> None:
    output = run(dry_run=True)
    assert output["dry_run"] == "would wait for approval"
    assert output["approved"] is True
    assert output["title"] == "Refund order 1042?"


def test_the_timeout_is_at_most_30_days_and_the_editor_says_so_beside_the_amount() -> None:
    ApprovalConfig.model_validate({**CONFIG, "timeout_amount": 720, "timeout_unit": "hours"})
    with pytest.raises(ValidationError) as refused:
        ApprovalConfig.model_validate({**CONFIG, "timeout_amount": 31, "timeout_unit": "days"})
    message = refused.value.errors()[0]["msg"]
    assert validation_messages.locate(message, ["title", "timeout_amount"]) == "timeout_amount"
    assert validation_messages.plain(message) == "Wait at most 30 days (720 hours)."
    with pytest.raises(ValidationError):
        ApprovalConfig.model_validate({**CONFIG, "title": ""})
    with pytest.raises(ValidationError):
        ApprovalConfig.model_validate({**CONFIG, "timeout_amount": 0})


def test_its_form_has_rows_for_the_fields_and_choices_in_words() -> None:
    widgets = {f.name: f for f in form_fields(ApprovalConfig)}
    assert widgets["fields"].widget == "keyvalue"
    assert widgets["message"].widget == "textarea"
    assert widgets["on_reject"].widget == "select"
    assert widgets["on_reject"].label == "When rejected"
    assert summary("approval", CONFIG) == "Ask “Refund order 1042?” · waits up to 2 days"


def test_it_is_a_built_in_flow_step() -> None:
    handler = ActionRegistry(BUILTIN_ACTIONS).get("approval")
    assert handler.category == "Flow"
    assert not handler.sends
