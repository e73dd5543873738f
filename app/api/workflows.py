"""Workflows: list, create, show, replace, delete, enable, disable, export and import."""

from __future__ import annotations

from flask import Response, url_for

from app.api import auth, filters, round_trip
from app.api.blueprint import bp
from app.api.bodies import parse_body
from app.api.idempotency import idempotent
from app.api.pagination import keyset_page, page_request
from app.api.schemas import (
    StepOut,
    TriggerOut,
    WorkflowExport,
    WorkflowImport,
    WorkflowList,
    WorkflowOut,
    WorkflowSummary,
    no_content,
    respond,
)
from app.extensions import container, db
from app.models import Workflow
from app.models.base import utcnow
from app.proxy import external_url
from app.services.errors import InvalidInputError, NotFoundError
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec

# A plain int: werkzeug's `max=` would answer 405, not 404, for a huge id on a path that other
# methods share; find_workflow answers 404 for ids past the column's range instead.
WORKFLOW_ID = "<int:workflow_id>"


def summary_of(workflow: Workflow) -> WorkflowSummary:
    return WorkflowSummary(
        id=workflow.id,
        name=workflow.name,
        description=workflow.description,
        enabled=workflow.enabled,
        version=workflow.version,
        trigger_type=workflow.trigger.type if workflow.trigger else "manual",
        step_count=len(workflow.actions),
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )


def _webhook_url(workflow: Workflow) -> str | None:
    token = workflow.trigger.webhook_token if workflow.trigger else None
    return external_url("hooks.hook_receive", token=token) if token else None


def workflow_out(workflow: Workflow) -> WorkflowOut:
    spec = crud.masked_spec(workflow, container().handlers)
    return WorkflowOut(
        **summary_of(workflow).model_dump(),
        trigger=TriggerOut.model_validate(spec.trigger.model_dump()),
        steps=[StepOut.model_validate(step.model_dump()) for step in spec.steps],
        run_key_template=spec.run_key_template,
        webhook_url=_webhook_url(workflow),
    )


def _created(workflow: Workflow) -> Response:
    response = respond(workflow_out(workflow), 201)
    response.headers["Location"] = url_for("api.workflow_show", workflow_id=workflow.id)
    return response


def find_workflow(workflow_id: int) -> Workflow:
    """The caller's workflow: another user's, or an id no row can have (past 32 bits), is
    NotFoundError like a missing one (never a database error)."""
    if workflow_id > filters.MAX_ID:
        raise NotFoundError(f"workflow {workflow_id}")
    return crud.get_workflow(db.session(), workflow_id, auth.current_user().id)


@bp.get("/workflows")
def workflow_list() -> Response:
    """The user's workflows, newest first, filtered."""
    everyone = crud.select_workflows(auth.current_user().id)
    items, cursor = keyset_page(
        db.session(),
        filters.workflow_matching(everyone, container().handlers.triggers.types()),
        (Workflow.id,),
        page_request(),
        lambda workflow: (workflow.id,),
    )
    return respond(WorkflowList(items=[summary_of(w) for w in items], next_cursor=cursor))


@bp.post("/workflows")
@idempotent
def workflow_create() -> Response:
    """Create a (disabled) workflow from its definition."""
    spec = parse_body(WorkflowSpec)
    stepline = container()
    workflow = crud.create_workflow(
        db.session(), auth.current_user().id, spec, stepline.secrets, stepline.handlers
    )
    return _created(workflow)


@bp.get(f"/workflows/{WORKFLOW_ID}")
def workflow_show(workflow_id: int) -> Response:
    """One workflow with its definition."""
    return respond(workflow_out(find_workflow(workflow_id)))


@bp.put(f"/workflows/{WORKFLOW_ID}")
def workflow_update(workflow_id: int) -> Response:
    """Replace the definition (the body may be what GET answered, read-only fields included)."""
    workflow = find_workflow(workflow_id)
    spec = round_trip.definition(parse_body(round_trip.WorkflowPut), workflow_out(workflow))
    stepline = container()
    workflow = crud.update_workflow(
        db.session(), workflow, spec, stepline.secrets, stepline.handlers
    )
    return respond(workflow_out(workflow))


@bp.delete(f"/workflows/{WORKFLOW_ID}")
def workflow_delete(workflow_id: int) -> Response:
    """Delete the workflow and its executions."""
    crud.delete_workflow(db.session(), find_workflow(workflow_id), container().handlers)
    return no_content()


@bp.post(f"/workflows/{WORKFLOW_ID}/enable")
def workflow_enable(workflow_id: int) -> Response:
    """Turn the trigger on."""
    workflow = crud.set_enabled(
        db.session(), find_workflow(workflow_id), True, container().handlers
    )
    return respond(workflow_out(workflow))


@bp.post(f"/workflows/{WORKFLOW_ID}/disable")
def workflow_disable(workflow_id: int) -> Response:
    """Turn the trigger off."""
    workflow = crud.set_enabled(
        db.session(), find_workflow(workflow_id), False, container().handlers
    )
    return respond(workflow_out(workflow))


@bp.get(f"/workflows/{WORKFLOW_ID}/export")
def workflow_export(workflow_id: int) -> Response:
    """The definition as an export document, without secrets."""
    workflow = find_workflow(workflow_id)
    spec = crud.to_spec(workflow, container().handlers)
    document = WorkflowExport(exported_at=utcnow(), workflow=spec)
    response = respond(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="stepline-workflow-{workflow.id}.json"'
    )
    return response


@bp.post("/workflows/import")
@idempotent
def workflow_import() -> Response:
    """Create a (disabled) workflow from an export document."""
    document = parse_body(WorkflowImport)
    stepline = container()
    try:
        workflow = crud.create_workflow(
            db.session(),
            auth.current_user().id,
            document.workflow,
            stepline.secrets,
            stepline.handlers,
        )
    except InvalidInputError as exc:  # name the field where it is in the document
        field = f"workflow.{exc.field}" if exc.field else "workflow"
        raise InvalidInputError(exc.message, field) from None
    return _created(workflow)
