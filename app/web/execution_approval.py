"""The owner's decision on a waiting approval step, from the execution page: Approve / Reject
(CSRF-protected, owner only: another user's execution or step is 404), recorded `by_owner`.
And the approval link the page shows the owner, to pass on."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.engine.resume_urls import WaitRef, resume_url
from app.extensions import container, db
from app.models import ExecutionStep
from app.services.errors import InvalidInputError
from app.services.executions import approvals, queries
from app.services.executions import waits as wait_service
from app.web.blueprint import bp
from app.web.rendering import is_fragment_request, render

DECISIONS = {"approve": True, "reject": False}


@bp.app_template_global("approval_link")
def approval_link(step: ExecutionStep) -> str:
    """The public approval page of a step run (its resume URL)."""
    ref = WaitRef(step.execution_id, step.position, step.frame)
    return resume_url(container().settings, ref)


@bp.post("/executions/<int:execution_id>/steps/<int:step_id>/decision")
@login_required
def execution_approval_decide(execution_id: int, step_id: int) -> Response | BaseResponse:
    """Approve or reject a waiting approval step as its owner; htmx gets the execution's live
    fragment back."""
    session, stepline = db.session(), container()
    ref = approvals.owned_ref(session, execution_id, step_id, current_user.id)
    choice = request.form.get("decision", "")
    error = ""
    try:
        if choice not in DECISIONS:
            raise InvalidInputError("Choose Approve or Reject.", "decision")
        decided = approvals.decide(
            session,
            wait_service.Resumer(stepline.engine, stepline.doorbell.send, stepline.runner.lease),
            ref,
            approved=DECISIONS[choice],
            name=current_user.name or "",
            comment=request.form.get("comment", ""),
            by_owner=current_user.email,
        )
        approved = decided.decision is not None and decided.decision.approved
        notice = f"You {'approved' if approved else 'rejected'} it."
    except (approvals.DecidedError, InvalidInputError) as exc:
        error = notice = exc.message
    if is_fragment_request():
        detail = queries.get_detail(session, execution_id, current_user.id)
        return render("executions/_detail.html", detail=detail, notice=notice)
    flash(notice, "error" if error else "success")
    return redirect(url_for("web.execution_show", execution_id=execution_id), 303)
