"""The app's top-level pages."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.web.blueprint import bp


@bp.get("/")
def index() -> BaseResponse:
    """Send visitors to their workflows, or to the login page."""
    target = "web.workflow_list" if current_user.is_authenticated else "web.auth_login"
    return redirect(url_for(target))
