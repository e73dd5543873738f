"""Connections: connect a Google account (OAuth), list connections with their status, revoke;
the Credentials section beside them (app/web/credentials.py)."""

from __future__ import annotations

from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import Response, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

from app.crypto import SecretBox
from app.extensions import container, db
from app.google import scopes
from app.models import Connection, Workflow
from app.net import OutboundError
from app.proxy import external_url
from app.services.connections import store
from app.services.errors import InvalidInputError
from app.web import google_oauth as oauth
from app.web.blueprint import bp
from app.web.credentials import credential_views
from app.web.rendering import is_fragment_request, render


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"connections_needing_attention": _needing_attention}


def _needing_attention(workflow: Workflow) -> list[Connection]:
    """For a workflow's pages: its connections that fail until the user reconnects them."""
    return store.needing_attention(db.session(), workflow)


def _secrets() -> SecretBox:
    """This app's secret box (its container's: tests run many apps in one process)."""
    return container().secrets


def _render(status: int = 200, error: str | None = None, notice: str | None = None) -> Response:
    response = render(
        "connections/list.html",
        "connections/_list.html",
        status=status,
        connections=store.list_connections(db.session(), current_user.id),
        services=scopes.SERVICES,
        services_of=scopes.services_of,
        configured=oauth.configured(),
        error=error,
        notice=notice,
        credentials=credential_views(current_user.id),
    )
    if oauth.configured():
        response.headers["Content-Security-Policy"] = oauth.content_security_policy()
    return response


@bp.get("/connections")
@login_required
def connection_list() -> Response:
    """Connected accounts, with their status."""
    return _render()


@bp.post("/connections/google")
@login_required
def connection_connect() -> Response | BaseResponse:
    """Send the user to Google's consent page for the chosen services (new or more access)."""
    if not oauth.configured():
        return _render(422, "Google is not configured on this server.")
    chosen = request.form.getlist("services")
    if not any(key in scopes.BY_KEY for key in chosen):
        return _render(422, "Choose at least one Google service to connect.")
    extra = {}
    account = request.form.get("account", "").strip()
    if account:
        extra["login_hint"] = account
    callback = external_url("web.connection_callback")
    return oauth.google().authorize_redirect(
        callback, scope=" ".join(scopes.requested(chosen)), **extra
    )


@bp.get("/connections/google/callback")
@login_required
def connection_callback() -> Response | BaseResponse:
    """Google sent the user back: check the state, fetch the tokens, store the connection."""
    try:
        token = oauth.google().authorize_access_token()
        email = (token.get("userinfo") or {}).get("email")
        if not email:
            raise InvalidInputError("Google did not say which account was connected.")
        connection = store.save_authorized(
            db.session(),
            _secrets(),
            current_user.id,
            str(email),
            token,
            str(token.get("scope") or "").split(),
        )
    except OAuthError as exc:
        db.session.rollback()
        message = (
            "Google access was not granted."
            if exc.error == "access_denied"
            else "This sign-in to Google was refused: it was not started here, was already "
            "used, or has expired. Connect again."
        )
        return _render(400, message)
    except (InvalidInputError, JoseError, OutboundError, requests.RequestException) as exc:
        db.session.rollback()
        current_app.logger.warning("Google connect failed: %s", type(exc).__name__)
        return _render(400, "Connecting Google failed; try again.")
    flash(f"Google account {connection.account_email} connected.", "success")
    return redirect(url_for("web.connection_list"))


@bp.post("/connections/<int:connection_id>/revoke")
@login_required
def connection_revoke(connection_id: int) -> Response | BaseResponse:
    """Revoke a connection at Google and delete its tokens."""
    connection = store.get_connection(db.session(), connection_id, current_user.id)
    revoked = store.revoke(db.session(), container().settings, _secrets(), connection)
    message = f"Connection {connection.account_email} revoked; its tokens are deleted."
    if not revoked.confirmed:
        message += " Google could not confirm: remove Stepline in your Google account too."
    if is_fragment_request():
        return _render(notice=message)
    flash(message, "success")
    return redirect(url_for("web.connection_list"))
