"""Where Google lives: the OpenID discovery document (token, revocation, userinfo endpoints)
and the API base URLs, all from settings so that tests can point them at a fake Google."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from app.google.errors import ConnectionUnusableError, GoogleAPIError
from app.net import GuardedClient, OutboundError
from app.settings import Settings

DISCOVERY_TTL_SECONDS = 3600.0
APIS = ("gmail", "sheets", "drive", "calendar")


@dataclass(frozen=True)
class Discovery:
    """The endpoints of Google's OpenID Connect discovery document that Stepline uses."""

    issuer: str
    token_endpoint: str
    revocation_endpoint: str | None
    userinfo_endpoint: str | None


_cache: dict[str, tuple[float, Discovery]] = {}
_lock = threading.Lock()


def discovery(settings: Settings, *, now: float | None = None) -> Discovery:
    """The discovery document named by STEPLINE_GOOGLE_SERVER_METADATA_URL (cached an hour)."""
    url = settings.google_server_metadata_url
    moment = time.monotonic() if now is None else now
    with _lock:
        cached = _cache.get(url)
        if cached and moment - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    try:
        # A read of public metadata, needed to refresh a token: sent even in a dry run.
        client = GuardedClient.from_settings(settings, sends_in_dry_runs=True)
        response = client.request("GET", url)
        document = response.json() if response.status == 200 else None
    except (OutboundError, ValueError) as exc:
        raise GoogleAPIError(f"Google's discovery document could not be read: {exc}") from None
    if not isinstance(document, dict) or not document.get("token_endpoint"):
        raise GoogleAPIError("Google's discovery document has no token endpoint.")
    found = Discovery(
        issuer=str(document.get("issuer") or ""),
        token_endpoint=str(document["token_endpoint"]),
        revocation_endpoint=document.get("revocation_endpoint"),
        userinfo_endpoint=document.get("userinfo_endpoint"),
    )
    with _lock:
        _cache[url] = (moment, found)
    return found


def client_credentials(settings: Settings) -> tuple[str, str]:
    """The OAuth client id and secret; a clear error when Google is not configured."""
    client_id = settings.google_client_id
    secret = settings.google_client_secret
    client_secret = secret.get_secret_value() if secret else ""
    if not client_id or not client_secret:
        raise ConnectionUnusableError(
            "Google is not configured on this server (STEPLINE_GOOGLE_CLIENT_ID and "
            "STEPLINE_GOOGLE_CLIENT_SECRET)."
        )
    return client_id, client_secret


def api_url(settings: Settings, api: str, path: str) -> str:
    """The URL of `path` (already encoded) under the base URL of `api` (gmail, sheets, ...)."""
    return settings.google_api_base_urls[api].rstrip("/") + path
