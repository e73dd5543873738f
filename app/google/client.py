"""Calls to Google's APIs as one connection, through the guarded outbound client.

The bearer token comes from the connection (refreshed when needed); a 401 gets one retry with
a token refreshed on purpose; 429 and quota errors put the whole connection in back-off for
Google's Retry-After; 5xx and transport failures are retryable; other 4xx are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from app.engine.budgets import RateBudget
from app.engine.context import StepContext
from app.google import endpoints, scopes
from app.google.errors import ConnectionUnusableError, GoogleAPIError, RateLimitedError
from app.google.tokens import Credentials, Tokens
from app.net import GuardedClient, GuardedResponse, OutboundError

# Google's reasons for a 403 that mean "slow down", not "forbidden".
RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
DEFAULT_BACKOFF_SECONDS = 30.0
MAX_MESSAGE_CHARS = 300

Params = Mapping[str, Any] | Sequence[tuple[str, str]] | None


class GoogleClient:
    """One connection's view of the Google APIs; `needs` are the scopes every call requires;
    `pace`, when given, is called before each request (a step's rate budget: app.engine.budgets)."""

    def __init__(
        self,
        tokens: Tokens,
        connection_id: int,
        owner_id: int,
        *,
        needs: Iterable[str] = (),
        pace: Callable[[], None] | None = None,
    ) -> None:
        self.pace = pace
        self.tokens = tokens
        self.connection_id = connection_id
        self.owner_id = owner_id
        self.needs = tuple(needs)
        self._http = GuardedClient.from_settings(tokens.settings)
        self._credentials: Credentials | None = None

    @property
    def credentials(self) -> Credentials:
        """The connection's credentials, checked for the scopes this client needs."""
        if self._credentials is None:
            found = self.tokens.credentials(self.connection_id, self.owner_id)
            for needed in self.needs:
                if not scopes.has_scope(found.scopes, needed):
                    raise ConnectionUnusableError(
                        f"The Google connection {found.account_email} lacks the permission "
                        f"“{scopes.label(needed)}”; add it on the Connections page."
                    )
            self._credentials = found
        return self._credentials

    def call(
        self,
        method: str,
        api: str,
        path: str,
        *,
        params: Params = None,
        body: Any = None,
    ) -> Any:
        """Send one request to `api` (gmail, sheets, drive, calendar); its JSON answer."""
        url = endpoints.api_url(self.tokens.settings, api, path)
        content = None if body is None else json.dumps(body).encode("utf-8")
        response = self._send(method, url, params, content, self.credentials.access_token)
        if response.status == 401:
            stale = self.credentials.access_token
            self._credentials = self.tokens.credentials(
                self.connection_id, self.owner_id, stale=stale
            )
            response = self._send(method, url, params, content, self._credentials.access_token)
            if response.status == 401:
                raise ConnectionUnusableError(
                    f"Google refused the token of {self._credentials.account_email}; reconnect "
                    "it on the Connections page."
                )
        return self._result(response, api)

    def _send(
        self, method: str, url: str, params: Params, content: bytes | None, token: str
    ) -> GuardedResponse:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.pace is not None:
            self.pace()
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            return self._http.request(method, url, params=params, headers=headers, content=content)
        except OutboundError as exc:
            message = f"Google {method} failed: {exc}"
            raise GoogleAPIError(message, retryable=exc.retryable) from None

    def _result(self, response: GuardedResponse, api: str) -> Any:
        if 200 <= response.status < 300:
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                message = f"Google {api} answered with something other than JSON."
                raise GoogleAPIError(message) from None
        message, reason = _problem(response)
        if response.status == 429 or (response.status == 403 and reason in RATE_LIMIT_REASONS):
            wait = response.retry_after
            wait = DEFAULT_BACKOFF_SECONDS if wait is None else max(wait, 1.0)
            self.tokens.back_off(self.connection_id, wait)
            raise RateLimitedError(
                f"Google {api} rate limit on {self.credentials.account_email} ({message}); "
                f"retrying in {wait:.0f} s.",
                retry_after=wait,
            )
        retryable = response.status >= 500
        raise GoogleAPIError(
            f"Google {api} answered {response.status}: {message}",
            retryable=retryable,
            retry_after=response.retry_after if retryable else None,
        )


def google_pace(context: StepContext, connection_id: int) -> Callable[[], None]:
    """A step's pace on a Google connection: a slot of Google's default budget per request,
    shared by every step using the connection."""
    budget = RateBudget.for_service("google")
    return lambda: context.rate_slot(f"connection:{connection_id}", budget, "Google")


def _problem(response: GuardedResponse) -> tuple[str, str]:
    """Google's error message and first reason, from its JSON error body when there is one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or response.reason)
        details = error.get("errors")
        reason = ""
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason") or "")
        if not reason and isinstance(error.get("status"), str):
            reason = "quotaExceeded" if error["status"] == "RESOURCE_EXHAUSTED" else ""
        return message[:MAX_MESSAGE_CHARS], reason
    text = " ".join(response.text.split())[:MAX_MESSAGE_CHARS]
    return text or response.reason or f"HTTP {response.status}", ""
