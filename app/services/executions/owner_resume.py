"""The owner resumes a waiting step of their own run, from its page ("Resume now") or the API
(`POST /api/v1/executions/<id>/resume`): a step waiting for a call as if its resume URL had been
called with a JSON body, an approval step with a decision. What resumes it says so
(`"by_owner": email`), and it goes through the same single-use resume as the URL
(services.executions.waits), so a second resume, by anyone, is a 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.program import history_key
from app.engine.resume_urls import WaitRef
from app.models import Execution, ExecutionStep, StepStatus
from app.models.base import utcnow
from app.services.errors import ConflictError, InvalidInputError
from app.services.executions import waits
from app.services.executions.waiting import KIND_WORDS

MAX_COMMENT = 2000


def waiting_step(session: Session, execution: Execution, key: str) -> ExecutionStep:
    """The run's step `key` while it waits (in a loop: the iteration that waits); a
    ConflictError naming `step` when it does not wait."""
    rows = session.scalars(
        select(ExecutionStep).where(
            ExecutionStep.execution_id == execution.id,
            ExecutionStep.action_key == key,
            ExecutionStep.status == StepStatus.WAITING,
        )
    ).all()
    if not rows:
        raise ConflictError(f"Step “{key}” of this run is not waiting.", "step")
    return min(rows, key=lambda s: history_key(s.frame, s.position))


def _kind(step: ExecutionStep) -> str:
    output = step.output if isinstance(step.output, Mapping) else {}
    return str(output.get("waiting_for") or "")


def call_data(body: Any, email: str) -> dict[str, Any]:
    """What a step waiting for a call is resumed with: a POST with `body` (any JSON value,
    None for none), made by the owner."""
    request = {
        "method": "POST",
        "headers": {},
        "query": {},
        "body": body,
        "received_at": utcnow().isoformat(),
    }
    return {"kind": "call", "request": request, "by_owner": email}


def approval_data(decision: Mapping[str, Any], email: str) -> dict[str, Any]:
    """What an approval step is resumed with: the owner's decision ({"approved": bool,
    "comment": str}); InvalidInputError naming the field when it is not one."""
    approved = decision.get("approved")
    if not isinstance(approved, bool):
        raise InvalidInputError("Say true or false.", "decision.approved")
    comment = decision.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise InvalidInputError(
            f"A comment is text of at most {MAX_COMMENT} characters.", "decision.comment"
        )
    return {
        "kind": "approval",
        "decision": {
            "approved": approved,
            "by": email,
            "at": utcnow().isoformat(),
            "comment": comment,
        },
        "by_owner": email,
    }


def resume(
    session: Session,
    resumer: waits.Resumer,
    execution: Execution,
    key: str,
    email: str,
    *,
    data: Any = None,
    decision: Mapping[str, Any] | None = None,
) -> None:
    """Resume the run's waiting step `key` as its owner (`email`): a step waiting for a call
    with `data` as the call's body, an approval step with `decision`. ConflictError when the
    step does not wait (any more) or waits for something the owner cannot give (a child run's
    end, a time); InvalidInputError when the decision is missing or malformed."""
    step = waiting_step(session, execution, key)
    kind = _kind(step)
    if kind == "call":
        if decision is not None:
            raise InvalidInputError(
                "This step waits for a call: send `data`, not a decision.", "decision"
            )
        payload = call_data(data, email)
    elif kind == "approval":
        if data is not None:
            raise InvalidInputError("An approval step takes a `decision`, not `data`.", "data")
        if decision is None:
            raise InvalidInputError(
                "This approval step needs a decision: approve or reject.", "decision"
            )
        payload = approval_data(decision, email)
    else:
        words = KIND_WORDS.get(kind, "something else")
        raise ConflictError(
            f"Step “{key}” waits for {words}; it cannot be resumed by hand.", "step"
        )
    ref = WaitRef(step.execution_id, step.position, step.frame)
    session.commit()  # no transaction stays open across the resume (its own statements)
    waits.resume(resumer, ref, payload)
