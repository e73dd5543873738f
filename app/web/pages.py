"""The app's top-level pages."""

from __future__ import annotations

from flask import Response, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.web import bp
from app.web.rendering import render


@bp.get("/")
def index() -> BaseResponse:
    """Send visitors to their workflows, or to the login page."""
    target = "web.workflow_list" if current_user.is_authenticated else "web.auth_login"
    return redirect(url_for(target))


@bp.get("/connections")
@login_required
def connection_list() -> Response:
    """Connected accounts."""
    return render("placeholder.html", title="Connections", section="connections")
