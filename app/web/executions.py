"""Executions: the live list (all, or one workflow's) and the execution page with its timeline.

Live rows and a live execution's page poll their fragment every second; once the execution
is final the fragment is answered with HTTP 286, which stops htmx polling.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask_htmx.constants import HTMX_STOP_POLLING
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.executions import queries, stats
from app.services.executions.queries import DashboardFilter
from app.services.workflows.crud import get_workflow
from app.web.blueprint import bp
from app.web.execution_display import hourly_chart
from app.web.rendering import render


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if queries.is_id(raw) else None


def _final(response: Response, live: bool) -> Response:
    """Tell htmx to stop polling once the execution is final."""
    if not live:
        response.status_code = HTMX_STOP_POLLING
    return response


def _list_context(workflow: Workflow | None) -> dict[str, Any]:
    session, owner = db.session(), current_user.id
    workflow_id = workflow.id if workflow else None
    try:
        filter = DashboardFilter.parse(request.args, workflow_id)
        error = None
    except InvalidInputError as exc:
        filter, error = DashboardFilter(workflow_id=workflow_id), exc
    before = _int_arg("before")
    if error is None:
        listing = queries.list_executions(session, owner, filter, before=before)
    else:
        listing = queries.ExecutionPage([], None, filter)
    return {
        "workflow": workflow,
        "filter": filter,
        "listing": listing,
        "error": error,
        "first_page": before is None,
        "workflows": queries.workflow_choices(session, owner) if workflow is None else [],
        "list_url": url_for("web.execution_list", workflow_id=workflow_id),
    }


def _workflow(workflow_id: int | None) -> Workflow | None:
    if workflow_id is None:
        return None
    return get_workflow(db.session(), workflow_id, current_user.id)


@bp.get("/executions", defaults={"workflow_id": None})
@bp.get("/workflows/<int:workflow_id>/executions")
@login_required
def execution_list(workflow_id: int | None) -> Response:
    """The user's executions (or one workflow's), newest first, filtered, a page at a time."""
    context = _list_context(_workflow(workflow_id))
    status = 422 if context["error"] is not None else 200
    return render("executions/list.html", "executions/_list.html", status=status, **context)


@bp.get("/executions/stats", defaults={"workflow_id": None})
@bp.get("/workflows/<int:workflow_id>/executions/stats")
@login_required
def execution_stats(workflow_id: int | None) -> Response:
    """Counts by status (24 hours, 7 days) and the hourly chart. The list page loads them after
    its first paint, so the list never waits for the counting."""
    workflow = _workflow(workflow_id)
    activity = stats.activity(db.session(), current_user.id, workflow_id=workflow_id)
    return render(
        "executions/stats.html",
        "executions/_stats.html",
        workflow=workflow,
        activity=activity,
        chart=hourly_chart(activity),
    )


@bp.get("/executions/newer")
@login_required
def execution_newer() -> Response:
    """Rows newer than `after` that match the filter: the list's top, polled while open."""
    after = _int_arg("after")
    try:
        filter = DashboardFilter.parse(request.args)
    except InvalidInputError:
        return render("executions/_newer.html", status=422, rows=[], filter=None, after=None)
    limit = queries.NEWER_LIMIT
    if after is None:
        page = queries.list_executions(db.session(), current_user.id, filter, limit=limit + 1)
        rows = page.rows
    else:
        rows = queries.newer_executions(db.session(), current_user.id, filter, after, limit + 1)
    return render(
        "executions/_newer.html",
        rows=rows[:limit],
        more=len(rows) > limit,
        filter=filter,
        after=after,
    )


@bp.get("/executions/<int:execution_id>/row")
@login_required
def execution_row(execution_id: int) -> Response:
    """One row of the list (polled every second while its execution is live)."""
    row = queries.get_row(db.session(), execution_id, current_user.id)
    return _final(render("executions/_row.html", row=row), row.is_live)


def _detail(execution_id: int) -> queries.ExecutionDetail:
    return queries.get_detail(db.session(), execution_id, current_user.id)


@bp.get("/executions/<int:execution_id>")
@login_required
def execution_show(execution_id: int) -> Response:
    """The execution page: summary, actions, the timeline of steps, the trigger data."""
    detail = _detail(execution_id)
    return render("executions/show.html", "executions/_detail.html", detail=detail)


@bp.get("/executions/<int:execution_id>/status")
@login_required
def execution_status(execution_id: int) -> Response:
    """The live part of the execution page (polled every second while it is live)."""
    detail = _detail(execution_id)
    return _final(render("executions/_detail.html", detail=detail), detail.is_live)
