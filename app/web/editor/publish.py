"""The editor header's Active switch: turn the saved workflow on or off where it is built.

Switching on is refused, with the reason beside the switch, while a step has errors ("Step 3
has errors") or when the trigger cannot register; switching off always works."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db, htmx
from app.services.errors import InvalidInputError
from app.services.workflows.crud import set_enabled
from app.web.blueprint import bp
from app.web.editor import panels
from app.web.editor.cards import icon_for
from app.web.editor.page import page
from app.web.editor.support import editor_for, owned_workflow, with_events


@bp.app_template_global("kind_icon")
def kind_icon(type_: str) -> str:
    """The icon (and colour class suffix) of a step or trigger kind, for any page that shows one:
    the palette, the cards and the execution page use the same."""
    return icon_for(type_)


@bp.post("/workflows/<int:workflow_id>/active")
@login_required
def workflow_activate(workflow_id: int) -> Response | BaseResponse:
    """Switch the workflow on (`active=1`) or off; answers the header."""
    workflow = owned_workflow(workflow_id)
    wanted = request.form.get("active") == "1"
    editor_ = editor_for(workflow)
    error = editor_.activation_block if wanted else ""
    if not error:
        try:
            set_enabled(db.session(), workflow, wanted, container().handlers)
        except InvalidInputError as exc:
            db.session.rollback()
            error = exc.message
    if error:
        message = f"Cannot switch on: {error}."
    elif workflow.enabled:
        message = "The workflow is active: its trigger starts runs of the saved version."
    else:
        message = "The workflow is off: nothing starts it until you switch it on again."
    if not htmx:
        flash(message, "error" if error else "success")
        return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)
    editor_ = editor_for(workflow)
    response = page(
        "workflows/_toolbar.html",
        editor_,
        panels.intro(editor_),
        status=422 if error else 200,
        toolbar_status="" if error else message,
        active_error=message if error else "",
    )
    return with_events(response, announce=message)
