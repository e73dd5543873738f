"""Google's OAuth endpoints that Stepline calls itself (outside Authlib's connect flow): the
token endpoint to refresh an access token, and the revocation endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from app.google import endpoints
from app.google.errors import GoogleAPIError, ReconnectNeededError
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.settings import Settings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post_form(settings: Settings, url: str, form: Mapping[str, str]) -> GuardedResponse:
    # Sent even inside a dry run (app/net/dry.py): exchanging a token changes nothing a user
    # sees, and a recorded request would hold the refresh token and the client secret.
    client = GuardedClient.from_settings(settings, sends_in_dry_runs=True)
    return client.request("POST", url, headers=FORM, content=urlencode(form).encode("ascii"))


def refresh(settings: Settings, refresh_token: str, account: str) -> dict[str, Any]:
    """A new access token for `refresh_token` (Google's token response). invalid_grant raises
    ReconnectNeededError; 429 and 5xx are retryable; other refusals are not."""
    client_id, client_secret = endpoints.client_credentials(settings)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        response = _post_form(settings, endpoints.discovery(settings).token_endpoint, form)
    except OutboundError as exc:
        raise GoogleAPIError(
            f"Google's token endpoint failed: {exc}", retryable=exc.retryable
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if response.status == 200 and body.get("access_token"):
        return body
    code = str(body.get("error") or f"HTTP {response.status}")[:100]
    if code == "invalid_grant":
        raise ReconnectNeededError(
            f"Google refused the connection {account} (invalid_grant: access was revoked or "
            "expired); reconnect it on the Connections page."
        )
    if response.status == 429 or response.status >= 500:
        raise GoogleAPIError(
            f"Google's token endpoint answered {code}.", retry_after=response.retry_after
        )
    raise GoogleAPIError(f"Google refused to refresh the token: {code}.", retryable=False)


def revoke(settings: Settings, token: str) -> bool:
    """Ask Google to revoke a grant; True when Google confirmed (or the grant was gone)."""
    try:
        url = endpoints.discovery(settings).revocation_endpoint
        if not url:
            return False
        response = _post_form(settings, url, {"token": token})
    except (GoogleAPIError, OutboundError):
        return False
    # 400 invalid_token: the grant was already gone, which is what we wanted.
    return response.status in (200, 400)
