"""Approval requests: what the approval page shows of a run waiting at an approval step, and
the decisions that resume it (the public page's, and the owner's from the execution page).

A request is found by its step run (`WaitRef`: execution, position, frame), which the page's
URL carries signed (app.engine.waits tokens). The page shows the workflow's name, when the run
started, and the request the step rendered (title, message, the fields its author chose): never
the trigger data or other steps' outputs. A decision is single use: the resume is one
conditional UPDATE from `waiting`, so a second decision, or one after the timeout or a cancel,
changes nothing and is answered with what happened instead (ConflictError, 409).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.approval import ANONYMOUS, KIND
from app.engine.resume_urls import WaitRef
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from app.services.errors import ConflictError, InvalidInputError, NotFoundError
from app.services.executions import waits

NAME_MAX = 120
COMMENT_MAX = 2000
State = Literal["waiting", "decided", "timed_out", "closed"]


@dataclass(frozen=True)
class Decision:
    approved: bool
    by: str
    at: datetime | None
    comment: str
    by_owner: bool = False

    @property
    def word(self) -> str:
        return "approved" if self.approved else "rejected"


@dataclass(frozen=True)
class ApprovalRequest:
    """One approval step run as its page shows it."""

    execution_id: int
    step_id: int
    workflow_name: str
    started_at: datetime | None
    title: str
    message: str
    fields: tuple[tuple[str, str], ...]
    state: State
    until: datetime | None = None  # waiting: the timeout
    decision: Decision | None = None  # decided
    ended_at: datetime | None = None  # timed out: when
    cancelled: bool = False  # closed: the run was cancelled
    reject_ends_run: bool = True  # the step's `on_reject`: a rejection fails the run

    @property
    def consequence(self) -> str:
        """What each answer does to the run, for the approver."""
        if self.reject_ends_run:
            return "Approve lets the run go on; Reject ends it."
        return "Either way the run goes on, with your decision."

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"

    @property
    def outcome(self) -> str:
        """What became of a request that no longer waits, in one sentence."""
        if self.decision is not None:
            who = f"{self.decision.word} by {self.decision.by}"
            return f"This request was already decided ({who}{_at(self.decision.at)})."
        if self.state == "timed_out":
            return f"This request is no longer waiting: it timed out{_at(self.ended_at)}."
        if self.cancelled:
            return "This request is no longer waiting: its run was cancelled."
        return "This request is no longer waiting."


def _at(moment: datetime | None) -> str:
    return f" at {moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if moment else ""


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _rows(fields: Any) -> tuple[tuple[str, str], ...]:
    """The chosen fields as (label, value) rows: a list of {label, value} (the waiting step's
    output) or a mapping (the rendered config, the step's input)."""
    if isinstance(fields, Mapping):
        return tuple((str(k), text_of(v)) for k, v in fields.items())
    if isinstance(fields, list):
        return tuple(
            (str(f.get("label", "")), text_of(f.get("value")))
            for f in fields
            if isinstance(f, Mapping)
        )
    return ()


def text_of(value: Any) -> str:
    """A value as the page shows it: text as it is, other JSON values as JSON."""
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, ensure_ascii=False)


def _decision(resume: Mapping[str, Any] | None, output: Any) -> Decision | None:
    """The decision that resumed the step (its resume data), or its output's once it ran."""
    found: Mapping[str, Any] | None = None
    by_owner = False
    if isinstance(resume, Mapping) and resume.get("kind") == KIND:
        decision = resume.get("decision")
        found = decision if isinstance(decision, Mapping) else None
        by_owner = bool(resume.get("by_owner"))
    elif isinstance(output, Mapping) and "decision" in output and not output.get("timed_out"):
        found, by_owner = output, bool(output.get("by_owner"))
    if found is None:
        return None
    return Decision(
        approved=found.get("approved") is True,
        by=str(found.get("by") or ANONYMOUS),
        at=_time(found.get("at")),
        comment=str(found.get("comment") or ""),
        by_owner=by_owner,
    )


def _request(execution: Execution, step: ExecutionStep) -> ApprovalRequest:
    output = step.output if isinstance(step.output, Mapping) else {}
    waiting = step.status == "waiting" and output.get("waiting_for") == KIND
    # While waiting the output holds the request; after, the rendered config (the input) does.
    shown: Mapping[str, Any] = output if waiting else (step.input or {})
    request = ApprovalRequest(
        execution_id=execution.id,
        step_id=step.id,
        workflow_name=str(execution.snapshot.get("workflow", {}).get("name") or "A workflow"),
        started_at=execution.started_at or execution.created_at,
        title=text_of(shown.get("title")) or "Approval",
        message=text_of(shown.get("message")),
        fields=_rows(shown.get("fields")),
        state="waiting",
        reject_ends_run=shown.get("on_reject", "fail") == "fail",
    )
    if waiting and execution.status == "waiting":
        return replace(request, until=step.next_retry_at)
    decision = _decision(step.resume_data, output)
    if decision is not None:
        return replace(request, state="decided", decision=decision)
    resume = step.resume_data if isinstance(step.resume_data, Mapping) else {}
    if resume.get("kind") == "timeout" or output.get("timed_out"):
        ended = _time(resume.get("at")) or step.finished_at
        return replace(request, state="timed_out", ended_at=ended)
    return replace(request, state="closed", cancelled=execution.status == "cancelled")


def find(session: Session, ref: WaitRef) -> ApprovalRequest | None:
    """The approval request of a step run, in whatever state; None when there is no such step
    run or it is not an approval step."""
    try:
        execution, step = waits.find_step(session, ref)
    except NotFoundError:
        return None
    return _request(execution, step) if step.action_type == KIND else None


def step_exists(session: Session, ref: WaitRef) -> bool:
    """Whether the step run exists (of any kind)."""
    try:
        waits.find_step(session, ref)
    except NotFoundError:
        return False
    return True


def get(session: Session, ref: WaitRef) -> ApprovalRequest:
    """The approval request of a step run, or NotFoundError."""
    found = find(session, ref)
    if found is None:
        raise NotFoundError("approval request")
    return found


def owned_ref(session: Session, execution_id: int, step_id: int, owner_id: int) -> WaitRef:
    """The step run `step_id` of the user's execution as a WaitRef, when it is an approval
    step; NotFoundError otherwise (another user's included)."""
    step = session.scalar(
        select(ExecutionStep)
        .join(Execution, ExecutionStep.execution_id == Execution.id)
        .where(
            ExecutionStep.id == step_id,
            Execution.id == execution_id,
            Execution.user_id == owner_id,
            ExecutionStep.action_type == KIND,
        )
    )
    if step is None:
        raise NotFoundError(f"approval step {step_id} of execution {execution_id}")
    return WaitRef(step.execution_id, step.position, step.frame)


class DecidedError(ConflictError):
    """The request no longer waits: decided before, timed out, or its run ended."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request.outcome)
        self.request = request


def clean_input(name: str, comment: str) -> tuple[str, str]:
    """The approver's name and comment, trimmed and checked (InvalidInputError naming the
    field): one line of at most NAME_MAX characters; COMMENT_MAX characters."""
    name, comment = " ".join(name.split()), comment.strip().replace("\r\n", "\n")
    if len(name) > NAME_MAX:
        raise InvalidInputError(f"Keep the name to {NAME_MAX} characters.", "name")
    if len(comment) > COMMENT_MAX:
        raise InvalidInputError(f"Keep the comment to {COMMENT_MAX} characters.", "comment")
    if any(ord(c) < 32 and c not in "\n\t" for c in comment):
        raise InvalidInputError("The comment holds control characters.", "comment")
    return name, comment


def decide(
    session: Session,
    resumer: waits.Resumer,
    ref: WaitRef,
    *,
    approved: bool,
    name: str = "",
    comment: str = "",
    by_owner: str | None = None,
) -> ApprovalRequest:
    """Resume the waiting approval step with a decision; the request as it now stands.

    `by_owner`: the owner decided from the execution page (their email). NotFoundError when
    there is no such approval step; DecidedError (409) when it no longer waits."""
    name, comment = clean_input(name, comment)
    request = get(session, ref)
    session.rollback()  # no transaction stays open across the resume's own
    if not request.waiting:
        raise DecidedError(request)
    decision = {
        "approved": approved,
        "by": name or by_owner or ANONYMOUS,
        "at": utcnow().isoformat(),
        "comment": comment,
    }
    data: dict[str, Any] = {"kind": KIND, "decision": decision}
    if by_owner:
        data["by_owner"] = by_owner
    try:
        waits.resume(resumer, ref, data)
    except ConflictError:  # decided (or timed out, cancelled) meanwhile
        raise DecidedError(_fresh(session, ref)) from None
    return _fresh(session, ref)


def _fresh(session: Session, ref: WaitRef) -> ApprovalRequest:
    """The request as stored now, read in a transaction of its own."""
    found = get(session, ref)
    session.rollback()
    return found
