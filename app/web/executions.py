"""Executions: the live list (all, or one workflow's) and the execution page with its timeline.

The list polls its live region with one request (`execution_live`): the rows newer than the
page, the live rows' current state and the figures, swapped out of band; static/js/executions.js
paces it (paused in a hidden tab, slower while nothing is live). A live execution's page polls
its fragment every second, and a row's own fragment polls while live; once the execution is
final they are answered with HTTP 286, which stops htmx polling.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for
from flask_htmx.constants import HTMX_STOP_POLLING
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Workflow
from app.services.errors import InvalidInputError, NotFoundError
from app.services.executions import queries, stats
from app.services.executions.queries import DashboardFilter
from app.services.workflows.crud import get_workflow
from app.web.blueprint import bp
from app.web.execution_display import hourly_chart
from app.web.rendering import render

LIVE_ROWS = 100  # live rows one poll refreshes at most (a page shows 25, plus the newer ones)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if queries.is_id(raw) else None


def _live_ids() -> list[int]:
    """The ids of the live rows a page shows, as its poll sends them (`live=3,5,8`)."""
    parts = request.args.get("live", "").split(",")[:LIVE_ROWS]
    return [int(part) for part in parts if queries.is_id(part)]


def _figures(workflow_id: int | None) -> stats.Activity:
    """The figures above the list, through this app's cache of the hours already settled."""
    cache = current_app.extensions.get("stepline.execution_figures")
    if cache is None:  # one per app, built by its first request (a race builds two: harmless)
        cache = current_app.extensions["stepline.execution_figures"] = stats.FiguresCache()
        cache.watch(db.engine)
    return stats.activity(db.session(), current_user.id, workflow_id=workflow_id, cache=cache)


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
    # The newest page (no error, no upper bound) shows the rows that arrive above its own.
    top = before is None and error is None and filter.until is None
    live_args: dict[str, Any] = filter.query_args(with_workflow=workflow is None)
    if top:
        live_args["top"] = "1"
        if listing.newest_id is not None:
            live_args["after"] = str(listing.newest_id)
    return {
        "workflow": workflow,
        "filter": filter,
        "listing": listing,
        "error": error,
        "first_page": before is None,
        "top": top,
        "live_url": url_for("web.execution_live", workflow_id=workflow_id, **live_args),
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
    activity = _figures(workflow_id)
    return render(
        "executions/stats.html",
        "executions/_stats.html",
        workflow=workflow,
        activity=activity,
        chart=hourly_chart(activity),
    )


@bp.get("/executions/live", defaults={"workflow_id": None})
@bp.get("/workflows/<int:workflow_id>/executions/live")
@login_required
def execution_live(workflow_id: int | None) -> Response:
    """The list's live region in one answer, every part out of band: with `top`, the rows
    newer than `after` that match the filter; the current state of the `live` rows; the figures,
    unless they are still those whose digest the page sent as `figures`."""
    workflow = _workflow(workflow_id)
    try:
        filter = DashboardFilter.parse(request.args, workflow_id)
    except InvalidInputError:
        return render("executions/_live.html", status=422, activity=None, newer=None, live_rows=[])
    session, owner, newer, more = db.session(), current_user.id, None, False
    if request.args.get("top"):
        after, limit = _int_arg("after"), queries.NEWER_LIMIT
        if after is None:
            newer = queries.list_executions(session, owner, filter, limit=limit + 1).rows
        else:
            newer = queries.newer_executions(session, owner, filter, after, limit + 1)
        newer, more = newer[:limit], len(newer) > limit
    activity = _figures(workflow_id)
    shown = request.args.get("figures") == activity.digest  # the page shows them already
    return render(
        "executions/_live.html",
        workflow=workflow,
        filter=filter,
        newer=newer,
        more=more,
        live_rows=queries.get_rows(session, _live_ids(), owner),
        activity=None if shown else activity,
        chart=None if shown else hourly_chart(activity),
    )


@bp.get("/executions/<int:execution_id>/row")
@login_required
def execution_row(execution_id: int) -> Response:
    """One row of the list (polled every second while its execution is live)."""
    row = queries.get_row(db.session(), execution_id, current_user.id)
    return _final(render("executions/_row.html", row=row, row_polls=True), row.is_live)


def _detail(execution_id: int) -> queries.ExecutionDetail:
    return queries.get_detail(db.session(), execution_id, current_user.id)


@bp.get("/executions/<int:execution_id>")
@login_required
def execution_show(execution_id: int) -> Response:
    """The execution page: summary, actions, the timeline of steps, the trigger data."""
    detail = _detail(execution_id)
    return render("executions/show.html", "executions/_detail.html", detail=detail)


@bp.get("/executions/<int:execution_id>/iterations")
@login_required
def execution_iterations(execution_id: int) -> Response:
    """A page of a loop's iterations, in place of the execution page's "show more": the loop
    at position `loop` run in `frame` ("" at top level), its iterations from `start` to `stop`."""
    loop, start, stop = _int_arg("loop"), _int_arg("start") or 0, _int_arg("stop")
    if loop is None:
        raise NotFoundError("a loop")
    frame = request.args.get("frame", "")
    detail, shown, view = queries.get_iterations(
        db.session(), execution_id, current_user.id, loop, frame, start, stop or start + 1
    )
    return render(
        "executions/iterations.html",
        "executions/_iterations.html",
        detail=detail,
        shown=shown,
        loop_view=view,
    )


@bp.get("/executions/<int:execution_id>/status")
@login_required
def execution_status(execution_id: int) -> Response:
    """The live part of the execution page (polled every second while it is live)."""
    detail = _detail(execution_id)
    return _final(render("executions/_detail.html", detail=detail), detail.is_live)
