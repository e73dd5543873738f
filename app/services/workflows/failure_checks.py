"""The save check of `settings.on_failure`: the error workflow, the credentials and the Gmail
connection it names must be the owner's (and credentials of the kind each place takes).

It runs with the other reference checks (services/workflows/references.py) on Save, import
and the API. Import into another account refuses a definition whose error workflow or
senders are not the importer's, naming the field: ids mean nothing across accounts, and
dropping them silently would leave a workflow that fails without telling anyone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Connection, Credential, Workflow
from app.services.errors import InvalidInputError
from app.services.workflows.failure_spec import OnFailure
from app.services.workflows.specs import WorkflowSpec

PREFIX = "settings.on_failure"


def check_on_failure(session: Session, owner_id: int, spec: WorkflowSpec) -> None:
    """InvalidInputError naming the first field of `settings.on_failure` that names something
    the owner may not use."""
    on_failure = spec.settings.on_failure
    if on_failure is not None:
        check(session, owner_id, on_failure)


def check(session: Session, owner_id: int, on_failure: OnFailure) -> None:
    if on_failure.workflow_id is not None:
        found = session.scalar(
            select(Workflow.id).where(
                Workflow.id == on_failure.workflow_id, Workflow.user_id == owner_id
            )
        )
        if found is None:
            raise InvalidInputError(
                f"Workflow {on_failure.workflow_id} does not exist or is not yours: the error "
                "workflow must be one of your workflows.",
                field=f"{PREFIX}.workflow_id",
            )
    email = on_failure.email
    if email is not None and email.credential_id is not None:
        _credential(session, owner_id, email.credential_id, "smtp", f"{PREFIX}.email.credential_id")
    if email is not None and email.connection_id is not None:
        found = session.scalar(
            select(Connection.id).where(
                Connection.id == email.connection_id, Connection.user_id == owner_id
            )
        )
        if found is None:
            raise InvalidInputError(
                f"Connection {email.connection_id} does not exist or is not yours.",
                field=f"{PREFIX}.email.connection_id",
            )
    if on_failure.slack is not None:
        field = f"{PREFIX}.slack.credential_id"
        _credential(session, owner_id, on_failure.slack.credential_id, "slack", field)


def _credential(session: Session, owner_id: int, credential_id: int, kind: str, field: str) -> None:
    found = session.scalar(
        select(Credential.kind).where(
            Credential.id == credential_id, Credential.user_id == owner_id
        )
    )
    if found is None:
        raise InvalidInputError(
            f"Credential {credential_id} does not exist or is not yours.", field=field
        )
    if found != kind:
        raise InvalidInputError(
            f"Credential {credential_id} is a {found} credential; this field takes {kind}.",
            field=field,
        )
