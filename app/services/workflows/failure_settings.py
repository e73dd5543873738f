"""The editor's "When a run fails" section: `settings.on_failure` in the workflow's draft, and
what it offers to choose from (the owner's workflows, senders, Slack credentials) and the
notices that could not be sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import FailureNotice, Workflow
from app.services.connections.store import list_connections
from app.services.credentials.manage import list_credentials
from app.services.errors import InvalidInputError
from app.services.workflows import drafts, failure_checks
from app.services.workflows.draft_edits import ProblemsFoundError
from app.services.workflows.failure_spec import OnFailure

PREFIX = failure_checks.PREFIX


def update_on_failure(
    session: Session, workflow: Workflow, raw: dict[str, Any] | None
) -> drafts.Draft:
    """Set (or, with None, remove) the draft's `settings.on_failure`; ProblemsFoundError
    naming each refused field (`settings.on_failure.email.to`)."""
    on_failure = None
    if raw is not None:
        try:
            on_failure = OnFailure.model_validate(raw)
        except ValidationError as exc:
            raise ProblemsFoundError(
                [
                    InvalidInputError(e["msg"], ".".join([PREFIX, *map(str, e["loc"])]))
                    for e in exc.errors()
                ]
            ) from None
        try:
            failure_checks.check(session, workflow.user_id, on_failure)
        except InvalidInputError as exc:
            raise ProblemsFoundError([exc]) from None
    draft = drafts.load(session, workflow, for_update=True)
    settings = dict(draft.spec.get("settings") or {})
    if on_failure is None:
        settings.pop("on_failure", None)
    else:
        settings["on_failure"] = on_failure.model_dump(mode="json", exclude_defaults=True)
    draft.spec["settings"] = settings
    return drafts.store(session, draft)


@dataclass(frozen=True)
class Choices:
    """What the section offers: (value, label) pairs."""

    workflows: list[tuple[str, str]]
    senders: list[tuple[str, str]]  # "credential:<id>" (SMTP) or "connection:<id>" (Gmail)
    slack: list[tuple[str, str]]


def choices(session: Session, workflow: Workflow) -> Choices:
    """The owner's workflows (this one first), SMTP credentials and Google connections, and
    Slack credentials."""
    owner = workflow.user_id
    rows = session.execute(
        select(Workflow.id, Workflow.name)
        .where(Workflow.user_id == owner)
        .order_by(Workflow.name, Workflow.id)
    ).all()
    workflows = [(str(workflow.id), f"This workflow ({workflow.name})")]
    workflows += [(str(r.id), f"{r.name} (#{r.id})") for r in rows if r.id != workflow.id]
    credentials = list_credentials(session, owner)
    senders = [(f"credential:{c.id}", f"SMTP: {c.name}") for c in credentials if c.kind == "smtp"]
    senders += [
        (f"connection:{c.id}", f"Gmail: {c.account_email}")
        for c in list_connections(session, owner)
        if c.provider == "google"
    ]
    slack = [(str(c.id), c.name) for c in credentials if c.kind == "slack"]
    return Choices(workflows, senders, slack)


def send_problems(session: Session, workflow: Workflow) -> list[str]:
    """The channels whose last notice could not be sent, with the reason, in words."""
    rows = session.scalars(
        select(FailureNotice)
        .where(FailureNotice.workflow_id == workflow.id, FailureNotice.last_error.is_not(None))
        .order_by(FailureNotice.channel)
    ).all()
    names = {"email": "Email", "slack": "Slack"}
    return [
        f"{names.get(row.channel, row.channel)}: the last notice could not be sent "
        f"({row.last_error}).{' It will be tried again.' if row.pending else ''}"
        for row in rows
    ]
