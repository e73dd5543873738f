"""The owner's "Resume now" on the page of a run that waits for a call: the run goes on as if
its step's resume URL had been called with the JSON body typed (services.executions.
owner_resume). htmx gets the execution's live fragment back (or the form with its message);
without JavaScript, the page (PRG)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.services.errors import ConflictError, InvalidInputError
from app.services.executions import lifecycle as execution_service
from app.services.executions import owner_resume, queries, waits
from app.web.blueprint import bp
from app.web.rendering import htmx_response, is_fragment_request, render

MAX_BODY_CHARS = 100_000


def parse_body(text: str) -> Any:
    """The typed body: any JSON value, None when blank; InvalidInputError naming `body`."""
    if not text.strip():
        return None
    if len(text) > MAX_BODY_CHARS:
        raise InvalidInputError(f"Keep the body under {MAX_BODY_CHARS:,} characters.", "body")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"This is not valid JSON: {exc}", "body") from None


def _detail(execution_id: int, **extra: Any) -> Response:
    detail = queries.get_detail(db.session(), execution_id, current_user.id)
    return render("executions/show.html", "executions/_detail.html", detail=detail, **extra)


@bp.post("/executions/<int:execution_id>/resume")
@login_required
def execution_resume(execution_id: int) -> Response | BaseResponse:
    """Resume the run's step (`step`) that waits for a call, with `body` as the call's body."""
    session = db.session()
    execution = execution_service.get_execution(session, execution_id, current_user.id)
    text = request.form.get("body", "")
    try:
        body = parse_body(text)
        stepline = container()
        resumer = waits.Resumer(stepline.engine, stepline.doorbell.send, stepline.runner.lease)
        owner_resume.resume(
            session, resumer, execution, request.form.get("step", ""), current_user.email, data=body
        )
    except InvalidInputError as exc:
        session.rollback()
        detail = queries.get_detail(session, execution_id, current_user.id)
        context = {"detail": detail, "resume_error": exc.message, "resume_body": text}
        if detail.waiting is None:  # it stopped waiting meanwhile: the page says so
            return _detail(execution_id, notice=exc.message)
        return render(
            "executions/show.html",
            "executions/_resume_form.html",
            status=422,
            w=detail.waiting,
            **context,
        )
    except ConflictError as exc:
        session.rollback()
        if is_fragment_request():
            response = _detail(execution_id, notice=exc.message)
            return htmx_response(response, retarget="#execution-detail", reswap="outerHTML")
        flash(exc.message, "error")
        return redirect(url_for("web.execution_show", execution_id=execution_id), 303)
    session.expire_all()
    if is_fragment_request():
        response = _detail(execution_id, notice="Resumed: the run goes on.")
        return htmx_response(response, retarget="#execution-detail", reswap="outerHTML")
    flash("Resumed: the run goes on.", "success")
    return redirect(url_for("web.execution_show", execution_id=execution_id), 303)
