"""Register, log in, log out (login_sessions: the session each login starts; login_limits:
the throttling of failures on the first two)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db, login
from app.services.accounts import users
from app.web import login_sessions
from app.web.blueprint import bp
from app.web.forms import LoginForm, RegisterForm
from app.web.rendering import render

login.login_view = "web.auth_login"
login.login_message = "Log in to continue."
login.login_message_category = "info"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        if not urlsplit(target).netloc:
            return target
    return url_for("web.workflow_list")


@bp.route("/register", methods=["GET", "POST"])
def auth_register() -> Response | BaseResponse:
    """Create an account and log in."""
    if current_user.is_authenticated:
        return redirect(url_for("web.workflow_list"))
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users.register(
                db.session(),
                email=form.email.data or "",
                password=form.password.data or "",
                name=form.name.data or "",
                hash_method=container().settings.password_hash_method,
            )
        except users.AccountError as exc:
            getattr(form, exc.field or "email").errors.append(str(exc))
        else:
            login_sessions.begin(user)
            flash("Welcome to Stepline.", "success")
            return redirect(url_for("web.workflow_list"))
    if form.errors:
        status = 422
    return render("auth/register.html", form=form, status=status)


@bp.route("/login", methods=["GET", "POST"])
def auth_login() -> Response | BaseResponse:
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("web.workflow_list"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users.authenticate(
                db.session(),
                email=form.email.data or "",
                password=form.password.data or "",
                hash_method=container().settings.password_hash_method,
            )
        except users.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            target = _safe_next(request.args.get("next"))
            login_sessions.begin(user)
            return redirect(target)
    if form.errors:
        status = 422
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
@login_required
def auth_logout() -> BaseResponse:
    """Log out and end the session: a copy of its cookie no longer logs anyone in."""
    login_sessions.finish()
    flash("You are logged out.", "info")
    return redirect(url_for("web.auth_login"))
