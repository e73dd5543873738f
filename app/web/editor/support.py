"""Helpers the workflow pages share: the owner-checked lookup, service errors as HTTP answers,
the htmx headers that refresh other regions, and links to pages other modules serve."""

from __future__ import annotations

import json
from typing import Any, ParamSpec, TypeVar

from flask import abort, current_app, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.crypto import SecretBox
from app.extensions import container, db
from app.models import Workflow
from app.services.workflows import drafts
from app.services.workflows.crud import get_workflow
from app.web.editor import view as editor_view
from app.web.rendering import htmx_response

P = ParamSpec("P")
R = TypeVar("R")

# Events on <body> that make other regions of the editor fetch themselves again (STYLE E3).
CHANGED = "stepline:changed"  # the draft changed: toolbar (saved / unsaved)
FLOW_STALE = "stepline:flow-stale"  # a card's look changed: the flow
SAVED = "stepline:saved"  # a new version was saved: the Run now form
ANNOUNCE = "stepline:announce"  # a message for screen readers (the live region)


def owned_workflow(workflow_id: int) -> Workflow:
    """The current user's workflow; another user's looks missing (NotFoundError: app.errors
    answers 404, as for every service error)."""
    return get_workflow(db.session(), workflow_id, current_user.id)


def pretty(value: Any) -> str:
    """JSON for people: indented, non-ASCII kept (the template escapes it for HTML)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def json_object(text: str, what: str = "Sample data") -> tuple[dict[str, Any] | None, str]:
    """A posted JSON object (None when blank), or the message that says what is wrong."""
    if not text.strip():
        return None, ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    if not isinstance(data, dict):
        return None, f'{what} is a JSON object, e.g. {{"customer": "Ada"}}.'
    return data, ""


def secrets() -> SecretBox:
    return container().secrets


def editor_for(workflow: Workflow, selected: str | None = None) -> editor_view.Editor:
    """The editor's view of the workflow's draft (or of the saved definition)."""
    draft = drafts.load(db.session(), workflow)
    return editor_view.build(workflow, draft, secrets(), selected)


def form_int(name: str, default: int = 0) -> int:
    try:
        return int(request.form.get(name, default))
    except ValueError:
        abort(400, f"{name} must be a whole number")


def with_events(
    response: BaseResponse,
    *events: str,
    announce: str = "",
    details: dict[str, Any] | None = None,
) -> BaseResponse:
    """Add HX-Trigger events (and a message for the live region) to an htmx answer;
    `details` adds events that carry a value."""
    payload: dict[str, Any] = {event: True for event in events}
    payload.update(details or {})
    if announce:
        payload[ANNOUNCE] = announce
    if payload:
        response = htmx_response(response, trigger=payload)
    return response


def execution_url(execution_id: int) -> str:
    """The execution's page (served by the executions module, linked by path until it is)."""
    if "web.execution_show" in current_app.view_functions:
        return url_for("web.execution_show", execution_id=execution_id)
    return f"/executions/{execution_id}"


def executions_url(workflow_id: int) -> str:
    """The workflow's executions list (served by the executions module)."""
    return f"/workflows/{workflow_id}/executions"
