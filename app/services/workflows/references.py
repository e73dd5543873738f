"""The objects a workflow names that must be its owner's: connections (OAuth), credentials
(of the kinds each field accepts), the workflows `run_workflow` steps call, and what
`settings.on_failure` names. Save, import and the editor's Apply check them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.engine.registry import ActionRegistry, TriggerRegistry
from app.services.connections import store
from app.services.credentials.references import check_credentials
from app.services.workflows.failure_checks import check_on_failure
from app.services.workflows.specs import WorkflowSpec
from app.services.workflows.workflow_refs import check_workflows


def check_references(
    session: Session,
    owner_id: int,
    spec: WorkflowSpec,
    actions: ActionRegistry | None = None,
    triggers: TriggerRegistry | None = None,
) -> None:
    """InvalidInputError naming the first field that names a connection, credential or
    workflow the owner may not use (another user's, a missing one, a credential of another
    kind)."""
    store.check_references(session, owner_id, spec)
    check_credentials(session, owner_id, spec, actions, triggers)
    check_workflows(session, owner_id, spec, actions)
    check_on_failure(session, owner_id, spec)
