"""Bearer-token authentication for the API; a session cookie never authenticates it.

A `read` token may only GET (and HEAD); any other method answers 403 `insufficient_scope`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from app.api.blueprint import bp
from app.api.errors import ApiError
from app.extensions import db
from app.models import ApiToken, User
from app.services.accounts import api_tokens

F = TypeVar("F", bound=Callable[..., object])

REALM = 'Bearer realm="stepline"'
_UNRESOLVED = object()
_public_views: set[object] = set()


def public(view: F) -> F:
    """Mark a view as reachable without a token (the API's own documentation)."""
    _public_views.add(view)
    return view


def is_public(view: object) -> bool:
    return view in _public_views


def bearer_value() -> str | None:
    """The token of an `Authorization: Bearer …` header, if the request has one."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_token() -> ApiToken | None:
    """The live token this request presents, looked up once per request."""
    cached = g.get("api_token", _UNRESOLVED)
    if cached is _UNRESOLVED:
        value = bearer_value()
        cached = api_tokens.authenticate(db.session(), value) if value else None
        g.api_token = cached
    return cached if isinstance(cached, ApiToken) else None


def current_user() -> User:
    """The user the request's token belongs to; only for views behind the token check."""
    user = g.get("api_user")
    if user is None:
        token = current_token()
        if token is None:
            raise ApiError(401, "unauthorized", "Authentication required.")
        user = db.session.get(User, token.user_id)
        if user is None:  # the user was deleted between the two queries
            raise ApiError(401, "invalid_token", "The API token is not valid.")
        g.api_user = user
    return user


def rate_limit_key() -> str:
    """Count requests per user once authenticated, per client address before that."""
    token = current_token()
    if token is not None:
        return f"user:{token.user_id}"
    return f"addr:{request.remote_addr or 'unknown'}"


@bp.before_request
def _require_token() -> None:
    if is_public(current_app.view_functions.get(request.endpoint or "")):
        return
    if bearer_value() is None:
        raise ApiError(
            401,
            "unauthorized",
            "Send an API token in the header `Authorization: Bearer <token>`; "
            "create one on the Settings page. Session cookies do not authenticate the API.",
            headers={"WWW-Authenticate": REALM},
        )
    if current_token() is None:
        raise ApiError(
            401,
            "invalid_token",
            "The API token is not valid, has expired or has been revoked.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    token = current_token()
    assert token is not None
    if not api_tokens.allows(token, request.method):
        raise ApiError(
            403,
            "insufficient_scope",
            f"The token “{token.name}” is read-only: it may only GET. "
            "Use a token with the `write` scope to change anything.",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="write"'},
        )
    current_user()
