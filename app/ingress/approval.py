"""The public approval page of a waiting approval step: GET /resume/<token> shows the request,
POST /resume/<token>/decision approves or rejects it. (POST /resume/<token> itself, a call to a
`wait_for_call` step, is the resume view's.)

No login: the URL is the credential (an HMAC of the step run, app.engine.waits; a forged or
unknown one is 404). There is no session either (app.sessions: no cookie is read or written
under /resume/) and so no CSRF token: a cross-site forgery works by riding credentials the
browser adds on its own, and here there are none; the secret is the URL, which whoever can
post the form has already. A GET never decides (mail scanners open links), the decision is
single use (the resume is a conditional UPDATE; a second one is 409 with what happened), and
decisions are rate limited a little (approval_limits).

The page shows the workflow's name, when the run started, and what the step chose to show
(title, message, fields), never the trigger data. Its answers are never framed (the app's CSP
and X-Frame-Options), never cached, and send no Referer (the URL must not leak to a link in the
message).
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request, url_for

from app.engine.resume_urls import WaitRef, read_token
from app.extensions import container, db
from app.ingress import approval_limits
from app.ingress.resume import resumer
from app.ingress.resume_blueprint import resume_bp
from app.services.errors import InvalidInputError, NotFoundError
from app.services.executions import approvals

PAGE = "approval/show.html"
MISSING = "approval/missing.html"
DECISIONS = {"approve": True, "reject": False}


def _private(response: Response) -> Response:
    """The page's answers are never cached or indexed, and send no Referer."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _missing(status: int = 404) -> Response:
    response = make_response(render_template(MISSING, status=status), status)
    if status == 405:
        response.headers["Allow"] = "POST"
    return _private(response)


def _ref(token: str) -> WaitRef | None:
    return read_token(container().settings.secret_key_value, token)


def _page(
    token: str, found: approvals.ApprovalRequest, status: int = 200, **context: Any
) -> Response:
    action = url_for("resume.approval_decide", token=token)
    page = render_template(PAGE, approval=found, action=action, **context)
    return _private(make_response(page, status))


@resume_bp.get("/<token>")
def approval_show(token: str) -> Response:
    """The request and, while it waits, the Approve / Reject form."""
    ref = _ref(token)
    if ref is None:
        return _missing()
    found = approvals.find(db.session(), ref)
    if found is None:  # a step of another kind (a wait for a call takes a POST) or none
        return _missing(405 if approvals.step_exists(db.session(), ref) else 404)
    return _page(token, found)


@resume_bp.post("/<token>/decision")
def approval_decide(token: str) -> Response:
    """Approve or reject (form: `decision`, and the optional `name` and `comment`)."""
    ref = _ref(token)
    if ref is None:
        return _missing()
    where = f"request:{ref.execution_id}:{ref.position}:{ref.frame}"  # never the secret
    wait = approval_limits.wait_seconds(request.remote_addr or "", where)
    if wait is not None:
        found = approvals.get(db.session(), ref)
        message = f"Too many attempts. Wait {wait} seconds and try again."
        response = _page(token, found, 429, notice=message, values=request.form)
        response.headers["Retry-After"] = str(wait)
        return response
    choice = request.form.get("decision", "")
    values = {"name": request.form.get("name", ""), "comment": request.form.get("comment", "")}
    try:
        if choice not in DECISIONS:
            raise InvalidInputError("Choose Approve or Reject.", "decision")
        found = approvals.decide(
            db.session(), resumer(container()), ref, approved=DECISIONS[choice], **values
        )
    except NotFoundError:
        return _missing()
    except approvals.DecidedError as exc:
        return _page(token, exc.request, 409, notice=exc.message)
    except InvalidInputError as exc:
        found = approvals.get(db.session(), ref)
        errors = {exc.field or "decision": exc.message}
        return _page(token, found, 422, errors=errors, values=values)
    return _page(token, found, recorded=True)
