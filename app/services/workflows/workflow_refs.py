"""The workflows `run_workflow` steps call (fields declared with `workflow_field`) must be
their owner's: the save check (save, import, the editor's Apply; services.workflows.references).
A template there is checked when the step runs (services.executions.children)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.credentials.fields import workflow_fields
from app.engine.registry import ActionRegistry
from app.engine.templating import has_template
from app.models import Workflow
from app.services.credentials.references import as_id
from app.services.errors import InvalidInputError
from app.services.workflows import tree
from app.services.workflows.specs import WorkflowSpec


def check_workflows(
    session: Session, owner_id: int, spec: WorkflowSpec, actions: ActionRegistry | None
) -> None:
    """Every workflow a step's workflow field names (`workflow_field`, e.g. run_workflow's
    `workflow_id`) is one of the owner's. A template is checked when the step runs."""
    if actions is None:
        return
    found = []
    steps = spec.model_dump(mode="json", include={"steps"})["steps"]
    for place in tree.walk(steps):  # at any depth of loops and paths
        type_ = place.step["type"]
        if type_ not in actions:
            continue
        config = place.step.get("config") or {}
        for name in workflow_fields(actions.get(type_).Config):
            value = config.get(name)
            if value in (None, "") or (isinstance(value, str) and has_template(value)):
                continue
            found.append((f"{tree.dotted(place.path)}.config.{name}", value))
    if not found:
        return
    owned = set(session.scalars(select(Workflow.id).where(Workflow.user_id == owner_id)))
    for field, value in found:
        workflow_id = as_id(value)
        if workflow_id is None:
            raise InvalidInputError("Choose one of your workflows.", field=field)
        if workflow_id not in owned:
            raise InvalidInputError(
                f"Workflow {workflow_id} does not exist or is not yours.", field=field
            )
