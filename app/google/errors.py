"""Errors of Google calls. They are step errors (ActionError): an action lets them propagate
and the engine applies their `retryable` / `retry_after`; a polling trigger records them."""

from __future__ import annotations

from app.engine.errors import ActionError


class GoogleAPIError(ActionError):
    """Google refused or failed a call; retryable for 5xx and transport failures."""


class ConnectionUnusableError(GoogleAPIError):
    """The connection cannot be used (missing, another user's, revoked, lacking a scope):
    retrying cannot help until the user fixes it."""

    retryable = False


class ReconnectNeededError(ConnectionUnusableError):
    """Google refused the refresh token (invalid_grant): the user must reconnect."""


class RateLimitedError(GoogleAPIError):
    """Google asked this connection to slow down (429 or a quota error); `retry_after` says
    when the connection may call again. A step waits for it without using up an attempt."""

    rate_limited = True
    service = "Google"
