"""Settings: the password (change it) and where the user is logged in (sessions, signed out
one by one or everywhere).

The Settings page includes `settings/_sessions.html`, which lists the sessions through
`login_sessions_list()` (a context helper, so that the page's own view need not know of it).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import UserSession
from app.services.accounts import sessions, users
from app.web import login_sessions
from app.web.blueprint import bp
from app.web.forms import PasswordChangeForm
from app.web.rendering import is_fragment_request, redirect_htmx, render


def _listed() -> list[tuple[UserSession, bool]]:
    """The user's live sessions, each with whether it is the one making this request."""
    here = login_sessions.current_session_id()
    return [(row, row.id == here) for row in sessions.list_active(db.session(), current_user)]


@bp.app_context_processor
def _session_helpers() -> dict[str, Any]:
    return {"login_sessions_list": _listed}


def _to_login(message: str) -> Response | BaseResponse:
    """This browser was signed out: say so on the login page (a full page for htmx too)."""
    login_sessions.finish()
    flash(message, "info")
    target = url_for("web.auth_login")
    return redirect_htmx(target) if is_fragment_request() else redirect(target)


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password_change() -> Response | BaseResponse:
    """Change the password (current one first); every other session ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ended = users.change_password(
                db.session(),
                current_user,
                current=form.current.data or "",
                new=form.new.data or "",
                keep_session=login_sessions.current_session_id(),
                hash_method=container().settings.password_hash_method,
            )
        except users.AccountError as exc:
            getattr(form, exc.field or "new").errors.append(str(exc))
        else:
            plural = "s" if ended != 1 else ""
            signed_out = f" {ended} other session{plural} signed out." if ended else ""
            flash(f"Password changed.{signed_out}", "success")
            return redirect(url_for("web.settings_show") + "#login-sessions")
    status = 422 if form.errors else 200
    response = render("settings/password.html", form=form, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/settings/sessions/<int:session_id>/end")
@login_required
def session_end(session_id: int) -> Response | BaseResponse:
    """Sign one session out; signing out this one is logging out."""
    row = sessions.end_owned(db.session(), current_user, session_id)
    if row.id == login_sessions.current_session_id():
        return _to_login("You are logged out.")
    if is_fragment_request():
        return render("settings/_sessions.html", "settings/_sessions.html")
    flash(f"Signed out {row.device or 'that session'}.", "success")
    return redirect(url_for("web.settings_show") + "#login-sessions")


@bp.post("/settings/sessions/end-all")
@login_required
def session_end_all() -> Response | BaseResponse:
    """Sign out every session of the user, this one included."""
    sessions.end_all(db.session(), current_user)
    return _to_login("You are signed out everywhere, on this device too. Log in again to continue.")
