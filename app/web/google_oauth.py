"""The Flask side of "Connect Google": Authlib's client, created per app in create_app.

Authorization code flow with PKCE (S256), `access_type=offline` and `prompt=consent` (so that
Google sends a refresh token) and `include_granted_scopes=true` (incremental authorization).
Every request Authlib makes (discovery, JWKS, token) goes through the outbound address guard.
The authorization request's data (PKCE verifier, nonce, redirect URI) is kept in the database
and consumed by the callback: a missing, foreign or replayed `state` finds nothing and is refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app
from sqlalchemy import delete, select

from app.config import settings_of
from app.extensions import container, db
from app.models import OAuthState
from app.models.base import rowcount, utcnow
from app.net import OutboundError, OutboundPolicy, guard_session
from app.response_headers import CONTENT_SECURITY_POLICY

EXTENSION = "stepline.oauth"
AUTHORIZE_PARAMS = {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}


class GuardedGoogleApp(FlaskOAuth2App):
    """Authlib's Flask OAuth 2 client whose requests sessions are under the address guard."""

    OAUTH_APP_CONFIG = None

    def _guarded(self, session: requests.Session) -> requests.Session:
        policy = OutboundPolicy.parse(container().settings.outbound_allowlist)
        return guard_session(session, policy)

    def _get_session(self) -> Any:
        return self._guarded(super()._get_session())

    def _get_oauth_client(self, **metadata: Any) -> Any:
        return self._guarded(super()._get_oauth_client(**metadata))


class StateStore:
    """Authlib's cache interface over the `oauth_states` table; `get` consumes the row, so
    each state is good for one callback even if the callback is replayed with an old cookie."""

    def get(self, key: str) -> str | None:
        session = db.session()
        row = session.scalar(select(OAuthState).where(OAuthState.key == key))
        if row is None:
            return None
        data, alive = row.data, row.expires_at > utcnow()
        taken = rowcount(session.execute(delete(OAuthState).where(OAuthState.key == key)))
        session.commit()
        return data if taken == 1 and alive else None

    def set(self, key: str, value: str, expires_in: int) -> None:
        session = db.session()
        now = utcnow()
        session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
        session.add(OAuthState(key=key, data=value, expires_at=now + timedelta(seconds=expires_in)))
        session.commit()

    def delete(self, key: str) -> None:
        session = db.session()
        session.execute(delete(OAuthState).where(OAuthState.key == key))
        session.commit()


def init_app(app: Flask) -> OAuth:
    """Create this app's OAuth registry (one per app: a module-level one would keep the first
    app's client) with the Google client, configured from the app's settings only."""
    settings = settings_of(app)
    secret = settings.google_client_secret
    oauth = OAuth(app, cache=StateStore())
    oauth.register(
        "google",
        client_cls=GuardedGoogleApp,
        client_id=settings.google_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=settings.google_server_metadata_url,
        authorize_params=dict(AUTHORIZE_PARAMS),
        client_kwargs={
            "scope": "openid email",
            "code_challenge_method": "S256",
            "default_timeout": settings.outbound_timeout_seconds,
        },
    )
    app.extensions[EXTENSION] = oauth
    return oauth


def google() -> GuardedGoogleApp:
    """The current app's Google OAuth client."""
    oauth = cast(OAuth, current_app.extensions[EXTENSION])
    return cast(GuardedGoogleApp, oauth.create_client("google"))


def authorization_origin() -> str | None:
    """The origin of Google's authorization endpoint (from the discovery document, which
    Authlib caches), or None when it cannot be read."""
    try:
        metadata = google().load_server_metadata()
    except (OutboundError, requests.RequestException, ValueError):
        return None
    parts = urlsplit(str(metadata.get("authorization_endpoint") or ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy() -> str:
    """The app's CSP, with Google's consent page added to `form-action`: the Connect form's
    answer redirects there, and browsers apply `form-action` to that redirect."""
    origin = authorization_origin()
    if origin is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


def configured() -> bool:
    """Whether this server has a Google OAuth client id and secret."""
    settings = container().settings
    return bool(settings.google_client_id) and bool(settings.google_client_secret)
