"""Workflows: list, create, show, replace, delete, enable, disable, export and import, and
rotate a webhook's URL.

Every answer that carries a workflow carries its version as a strong `ETag` (`"3"`); PUT and
DELETE honour `If-Match`: a stale version answers 412 `precondition_failed` naming the current
one, so two scripts (or a script and the editor) never silently overwrite each other."""

from __future__ import annotations

from flask import Response, request, url_for
from sqlalchemy.exc import IntegrityError

from app.api import auth, filters, round_trip
from app.api.blueprint import bp
from app.api.bodies import parse_body
from app.api.definition_schemas import StepOut, TriggerOut
from app.api.errors import ApiError
from app.api.idempotency import idempotent
from app.api.pagination import keyset_page, page_request
from app.api.schemas import (
    WorkflowExport,
    WorkflowImport,
    WorkflowList,
    WorkflowOut,
    WorkflowSummary,
    no_content,
    respond,
)
from app.container import Handlers
from app.extensions import container, db
from app.models import Workflow
from app.models.base import utcnow
from app.proxy import external_url
from app.services.errors import ConflictError, InvalidInputError
from app.services.webhooks import receiver
from app.services.workflows import concurrency, crud
from app.services.workflows.specs import WorkflowSpec

# A plain int: werkzeug's `max=` would answer 405, not 404, for a huge id on a path that other
# methods share; find_workflow answers 404 for ids past the column's range instead.
WORKFLOW_ID = "<int:workflow_id>"
IF_MATCH_MAX_LENGTH = 1000


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
    """The URL senders post to; null unless the saved trigger is a webhook."""
    trigger = workflow.trigger
    if trigger is None or trigger.type != "webhook" or not trigger.webhook_token:
        return None
    return external_url("hooks.hook_receive", token=trigger.webhook_token)


def workflow_out(workflow: Workflow) -> WorkflowOut:
    spec = crud.masked_spec(workflow, container().handlers)
    return WorkflowOut(
        **summary_of(workflow).model_dump(),
        trigger=TriggerOut.model_validate(spec.trigger.model_dump()),
        steps=[StepOut.model_validate(step.model_dump()) for step in spec.steps],
        run_key_template=spec.run_key_template,
        settings=spec.settings,
        webhook_url=_webhook_url(workflow),
    )


def etag(workflow: Workflow) -> str:
    return f'"{workflow.version}"'


def answer(workflow: Workflow, status: int = 200) -> Response:
    """The workflow as JSON, with its version as the ETag."""
    response = respond(workflow_out(workflow), status)
    response.headers["ETag"] = etag(workflow)
    return response


def expected_version(workflow: Workflow) -> int | None:
    """The version the request's If-Match names: None without one (or with `*`), the
    current version when one of its (strong) tags matches, else the first one it names."""
    if len(request.headers.get("If-Match", "")) > IF_MATCH_MAX_LENGTH:
        raise ApiError(400, "invalid_parameter", "The If-Match header is too long.", "If-Match")
    tags = request.if_match
    if not tags or tags.star_tag:
        return None
    if tags.contains(str(workflow.version)):
        return workflow.version
    named = next((tag for tag in tags if tag.isdigit()), "0")
    return int(named[:12])


def _created(workflow: Workflow) -> Response:
    response = answer(workflow, 201)
    response.headers["Location"] = url_for("api.workflow_show", workflow_id=workflow.id)
    return response


def find_workflow(workflow_id: int) -> Workflow:
    """The caller's workflow (NotFoundError for another user's or one no row can have)."""
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
    return answer(find_workflow(workflow_id))


@bp.put(f"/workflows/{WORKFLOW_ID}")
def workflow_update(workflow_id: int) -> Response:
    """Replace the definition (the body may be what GET answered, read-only fields included);
    If-Match, or the `version` sent back, saves only over that version (else 412)."""
    workflow = find_workflow(workflow_id)
    body = parse_body(round_trip.WorkflowPut)
    # A GET body sent back names the version it was read at: a stale one is a lost update (412),
    # not an attempt to change a read-only field.
    expected = expected_version(workflow)
    if expected is None:
        expected = body.version
    concurrency.check_version(workflow, expected)
    spec = round_trip.definition(body, workflow_out(workflow))
    stepline = container()
    token = auth.current_token()
    assert token is not None  # the blueprint let the request in with one
    try:
        workflow = crud.update_workflow(
            db.session(),
            workflow,
            spec,
            stepline.secrets,
            stepline.handlers,
            expected_version=expected,
            saved_by=concurrency.api_source(token.name),
        )
    except IntegrityError:  # another save of this version landed at the same moment
        db.session.rollback()
        if expected is not None:
            concurrency.check_version(find_workflow(workflow_id), expected)
        raise ConflictError("Someone saved this workflow at the same moment; retry.") from None
    return answer(workflow)


@bp.delete(f"/workflows/{WORKFLOW_ID}")
def workflow_delete(workflow_id: int) -> Response:
    """Delete the workflow and its executions (If-Match: only while still at that version)."""
    workflow = find_workflow(workflow_id)
    crud.delete_workflow(db.session(), workflow, container().handlers, expected_version(workflow))
    return no_content()


@bp.post(f"/workflows/{WORKFLOW_ID}/enable")
def workflow_enable(workflow_id: int) -> Response:
    """Turn the trigger on."""
    workflow = crud.set_enabled(
        db.session(), find_workflow(workflow_id), True, container().handlers
    )
    return answer(workflow)


@bp.post(f"/workflows/{WORKFLOW_ID}/disable")
def workflow_disable(workflow_id: int) -> Response:
    """Turn the trigger off."""
    workflow = crud.set_enabled(
        db.session(), find_workflow(workflow_id), False, container().handlers
    )
    return answer(workflow)


@bp.post(f"/workflows/{WORKFLOW_ID}/webhook/rotate")
def workflow_webhook_rotate(workflow_id: int) -> Response:
    """Issue a new webhook URL; the old one answers 404 from now on."""
    workflow = find_workflow(workflow_id)
    receiver.rotate_token(db.session(), workflow)
    return answer(workflow)


def export_document(workflow: Workflow, handlers: Handlers) -> WorkflowExport:
    """The export document of a workflow (the API's and `flask workflows export`'s)."""
    return WorkflowExport(exported_at=utcnow(), workflow=crud.to_spec(workflow, handlers))


@bp.get(f"/workflows/{WORKFLOW_ID}/export")
def workflow_export(workflow_id: int) -> Response:
    """The definition as an export document, without secrets."""
    workflow = find_workflow(workflow_id)
    response = respond(export_document(workflow, container().handlers))
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
