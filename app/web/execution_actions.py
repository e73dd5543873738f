"""What a user does to executions: cancel, re-run (from the start, from the failed step, with
edited trigger data), and bulk re-run of the failures a filter matches (counted, confirmed).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import Execution
from app.services.errors import ConflictError, InvalidInputError, PayloadTooLargeError
from app.services.executions import bulk_rerun, queries
from app.services.executions import lifecycle as execution_service
from app.services.executions.queries import DashboardFilter
from app.services.workflows.crud import get_workflow
from app.web.blueprint import bp
from app.web.rendering import is_fragment_request, redirect_htmx, render

SEE_OTHER = 303


def _execution(execution_id: int) -> Execution:
    return execution_service.get_execution(db.session(), execution_id, current_user.id)


def _show(execution_id: int) -> BaseResponse:
    return redirect(url_for("web.execution_show", execution_id=execution_id), SEE_OTHER)


def parse_trigger_data(text: str) -> dict[str, Any]:
    """The edited trigger data: a JSON object, or InvalidInputError naming `trigger_data`."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"This is not valid JSON: {exc}", "trigger_data") from None
    if not isinstance(data, dict):
        raise InvalidInputError("Trigger data must be a JSON object ({…}).", "trigger_data")
    return data


@bp.post("/executions/<int:execution_id>/cancel")
@login_required
def execution_cancel(execution_id: int) -> Response | BaseResponse:
    """Cancel a live execution; htmx gets the execution's live fragment back."""
    execution = _execution(execution_id)
    notice = None
    try:
        stepline = container()
        execution_service.cancel(
            db.session(), execution, send=stepline.doorbell.send, settings=stepline.settings
        )
    except ConflictError as exc:
        notice = str(exc)
    if is_fragment_request():
        detail = queries.get_detail(db.session(), execution_id, current_user.id)
        return render("executions/_detail.html", detail=detail, notice=notice)
    flash(notice or "Execution cancelled.", "error" if notice else "success")
    return _show(execution_id)


def _rerun_form(
    execution: Execution,
    text: str,
    from_failed: bool,
    error: str | None,
    status: int,
    dry_run: bool | None = None,
) -> Response:
    return render(
        "executions/rerun.html",
        "executions/_rerun_form.html",
        status=status,
        execution=execution,
        text=text,
        from_failed=from_failed,
        error=error,
        dry_run=execution.dry_run if dry_run is None else dry_run,
    )


@bp.get("/executions/<int:execution_id>/rerun")
@login_required
def execution_rerun_edit(execution_id: int) -> Response:
    """Edit the trigger data, then re-run."""
    execution = _execution(execution_id)
    text = json.dumps(execution.trigger_data, indent=2, ensure_ascii=False, sort_keys=True)
    return _rerun_form(execution, text, execution.status == "failed", None, 200)


@bp.post("/executions/<int:execution_id>/rerun")
@login_required
def execution_rerun(execution_id: int) -> Response | BaseResponse:
    """Re-run from the start or from the failed step, with the same or edited trigger data;
    `dry_run` 1 or 0 (the last value sent) makes it a dry run or a real one, absent: like the
    execution."""
    execution = _execution(execution_id)
    from_failed = request.form.get("mode") == "failed"
    dry_values = request.form.getlist("dry_run")
    dry_run = dry_values[-1] == "1" if dry_values else None
    text = request.form.get("trigger_data")
    try:
        data = parse_trigger_data(text) if text is not None else None
        workflow = get_workflow(db.session(), execution.workflow_id, current_user.id)
        new = execution_service.rerun(
            db.session(),
            execution,
            workflow,
            send=container().doorbell.send,
            settings=container().settings,
            from_failed=from_failed,
            trigger_data=data,
            dry_run=dry_run,
        )
    except (InvalidInputError, PayloadTooLargeError, ConflictError) as exc:
        if text is None:
            flash(str(exc), "error")
            return _show(execution_id)
        return _rerun_form(execution, text, from_failed, str(exc), 422, dry_run)
    if is_fragment_request():
        return redirect_htmx(url_for("web.execution_show", execution_id=new.id), 204)
    kind = "Dry run" if new.dry_run else "Re-run"
    flash(f"{kind} started as execution #{new.id}.", "success")
    return _show(new.id)


def _bulk_filter(args: Any) -> DashboardFilter:
    try:
        return DashboardFilter.parse(args)
    except InvalidInputError:
        abort(400)


@bp.get("/executions/rerun-failed")
@login_required
def execution_bulk_rerun_confirm() -> Response:
    """How many failures the current filter would re-run, and a form to confirm."""
    filter = _bulk_filter(request.args)
    plan = bulk_rerun.plan(db.session(), current_user.id, filter)
    names = dict(queries.workflow_choices(db.session(), current_user.id))
    return render("executions/bulk_rerun.html", plan=plan, filter=filter, names=names)


@bp.post("/executions/rerun-failed")
@login_required
def execution_bulk_rerun() -> BaseResponse:
    """Re-run the confirmed failures, then show the list where the re-runs appear."""
    filter = _bulk_filter(request.form)
    up_to = request.form.get("up_to", "")
    if not queries.is_id(up_to):
        abort(400)
    started = bulk_rerun.rerun_failed(
        db.session(),
        current_user.id,
        filter,
        up_to=int(up_to),
        from_failed=request.form.get("mode") != "start",
        send=container().doorbell.send,
        settings=container().settings,
    )
    flash(f"Re-running {len(started)} failed execution{'s' * (len(started) != 1)}.", "success")
    return redirect(url_for("web.execution_list", workflow_id=filter.workflow_id), SEE_OTHER)
