"""The editor's "Preview the approval page" of an approval step: the public page as its link
would open it, rendered with the sample data (no run needed), its buttons inert. Owner only."""

from __future__ import annotations

from flask import Response, make_response, render_template, url_for
from flask_login import login_required

from app.extensions import db
from app.services.workflows import approval_preview
from app.web.blueprint import bp
from app.web.editor.support import owned_workflow


@bp.get("/workflows/<int:workflow_id>/steps/<key>/approval-preview")
@login_required
def step_approval_preview(workflow_id: int, key: str) -> Response:
    """The approval page of step `key` of the draft, with sample values."""
    workflow = owned_workflow(workflow_id)
    found = approval_preview.preview(db.session(), workflow, key)
    back = url_for("web.workflow_show", workflow_id=workflow.id, step=key)
    page = render_template(
        "approval/show.html", approval=found, action=None, preview=True, back_url=back
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response
