"""The trigger panel's webhook section: the webhook's URL and its test URL, a new URL, and
"listen for a test request", whose captured request becomes the trigger's sample data.

The URL belongs to the saved trigger (services.webhooks.receiver issues and rotates it); while
listening the section polls itself every second, and the poll that finds the request arrived (or the
time up) answers the refreshed trigger panel with 286, which stops the polling."""

from __future__ import annotations

from flask import Response, request
from flask_htmx.constants import HTMX_STOP_POLLING
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import Workflow
from app.services.webhooks import receiver
from app.services.workflows import draft_edits
from app.web.blueprint import bp
from app.web.editor import panels
from app.web.editor.page import page
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    editor_for,
    owned_workflow,
    secrets,
    with_events,
)
from app.web.editor.view import webhook_of
from app.web.rendering import htmx_response, is_fragment_request

STOP_POLLING = HTMX_STOP_POLLING  # 286: htmx stops an `every 1s` trigger on this status


def _section(workflow: Workflow, status: str = "") -> Response:
    editor_ = editor_for(workflow, "trigger")
    return page("workflows/_webhook.html", editor_, panels.intro(editor_), webhook_status=status)


@bp.get("/workflows/<int:workflow_id>/webhook")
@login_required
def webhook_show(workflow_id: int) -> BaseResponse:
    """The webhook section, polled while listening for a test request. The poll that finds the
    listening over answers the whole trigger panel (its sample data may have changed), with 286
    so that polling stops."""
    workflow = owned_workflow(workflow_id)
    hook = webhook_of(workflow)
    after_save = request.args.get("after") == "save"  # the box refreshes itself on Save
    if after_save or not (is_fragment_request() and hook.saved and hook.listening_until is None):
        return _section(workflow)
    state = workflow.trigger.state if workflow.trigger else {}
    arrived = "listen_until" not in (state or {})  # a capture clears it; expiry leaves it
    message = "A test request arrived." if arrived else "Listening ended: no request arrived."
    editor_ = editor_for(workflow, "trigger")
    panel = panels.trigger_panel(db.session(), editor_, status=message)
    response = page("workflows/_panel.html", editor_, panel, status=STOP_POLLING)
    response = htmx_response(response, retarget="#panel", reswap="outerHTML")
    return with_events(response, CHANGED, FLOW_STALE, announce=message)


@bp.post("/workflows/<int:workflow_id>/webhook/url")
@login_required
def webhook_url_create(workflow_id: int) -> Response:
    """Issue the webhook's URL now (enabling the workflow would too)."""
    workflow = owned_workflow(workflow_id)
    receiver.ensure_token(db.session(), workflow)
    return _section(workflow, "The URL is ready.")


@bp.post("/workflows/<int:workflow_id>/webhook/rotate")
@login_required
def webhook_url_rotate(workflow_id: int) -> Response:
    """Replace the URL: the old one answers 404 from now on."""
    workflow = owned_workflow(workflow_id)
    receiver.rotate_token(db.session(), workflow)
    return _section(workflow, "New URL issued; the old one no longer works.")


@bp.post("/workflows/<int:workflow_id>/webhook/listen")
@login_required
def webhook_listen(workflow_id: int) -> Response:
    """Capture the next request sent to the test URL (for the next two minutes)."""
    workflow = owned_workflow(workflow_id)
    receiver.listen(db.session(), workflow)
    return _section(workflow)


@bp.post("/workflows/<int:workflow_id>/webhook/sample")
@login_required
def webhook_sample_use(workflow_id: int) -> BaseResponse:
    """Make the captured request the trigger's sample data in the editor."""
    workflow = owned_workflow(workflow_id)
    trigger = editor_for(workflow).draft.trigger
    captured = workflow.trigger.sample_data if workflow.trigger else None
    draft_edits.update_trigger(
        db.session(),
        workflow,
        str(trigger.get("type") or "webhook"),
        dict(trigger.get("config") or {}),
        captured if isinstance(captured, dict) else None,
        secrets(),
        container().handlers.triggers,
    )
    message = "The captured request is now the sample data."
    editor_ = editor_for(workflow, "trigger")
    response = page(
        "workflows/_panel.html",
        editor_,
        panels.trigger_panel(db.session(), editor_, status=message),
    )
    return with_events(response, CHANGED, FLOW_STALE, announce=message)
