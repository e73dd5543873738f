"""The last runs of one step, for the editor's step panel: loaded after the panel (htmx
`load`), so opening a step never waits for the executions table."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from app.extensions import db
from app.services.executions import step_runs
from app.web.blueprint import bp
from app.web.editor.support import owned_workflow
from app.web.rendering import render


@bp.get("/workflows/<int:workflow_id>/steps/<key>/runs")
@login_required
def step_runs_list(workflow_id: int, key: str) -> Response:
    """The step's latest runs (status, when, how long), each linking to the run at that step."""
    workflow = owned_workflow(workflow_id)
    runs = step_runs.last_runs(db.session(), current_user.id, workflow.id, key)
    return render(
        "workflows/step_runs.html",
        "workflows/_step_runs.html",
        workflow=workflow,
        key=key,
        runs=runs,
        looked_at=step_runs.RECENT_EXECUTIONS,
    )
