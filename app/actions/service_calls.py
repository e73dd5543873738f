"""Calling a service's JSON API from an action, with errors mapped the same way everywhere.

- a transport failure (connection, timeout) is retryable; a refused destination or TLS
  failure is not;
- 429: the step waits for `Retry-After` (a rate-limit wait: app.engine.budgets, not counted
  as one of the step's attempts), and every step using the same credential waits too;
- any other 4xx: the service refused the request (bad token, unknown database, bad input):
  the step fails at once with the service's own message;
- 5xx: retryable, after `Retry-After` when the service sent one.

Messages never hold the credential: the values in `secrets` are redacted from them, and the
guarded client's errors name the host only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.budgets import RateBudget, credential_key
from app.engine.context import StepContext
from app.engine.errors import ActionError
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.net.redaction import redact_secrets

MAX_MESSAGE_CHARS = 300


def _generic_message(body: Any) -> str | None:
    """`message`, `description` or `error` (a string or {"message": ...}) of a JSON body."""
    if not isinstance(body, dict):
        return None
    for name in ("message", "description", "error"):
        value = body.get(name)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value
    return None


@dataclass(frozen=True)
class Service:
    """A remote service as the actions call it: its name in messages, its default rate budget
    (app.engine.budgets.DEFAULT_BUDGETS), and where its error bodies keep the message."""

    name: str
    budget: str
    message_of: Callable[[Any], str | None] = _generic_message
    # Where a 429's body says how long to wait, when the Retry-After header is missing.
    retry_after_of: Callable[[Any], float | None] = lambda body: None


def budget_key(credential_id: int | None, secret: str | None, service: Service) -> str:
    """The rate budget a request counts against: the credential's, or (inline secrets) a
    hash of the secret, never the secret itself."""
    if credential_id is not None:
        return credential_key(credential_id)
    digest = hashlib.sha256((secret or "").encode()).hexdigest()[:24]
    return f"{service.budget}:{digest}"


def call_json(
    context: StepContext,
    service: Service,
    method: str,
    url: str,
    *,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    secrets: list[str | None],
    key: str,
    sensitive_headers: tuple[str, ...] = (),
) -> tuple[GuardedResponse, Any]:
    """Send one request (after a slot of `key`'s budget) and return the response and its
    parsed body; raise the mapped ActionError for anything but a 2xx answer."""
    context.rate_slot(key, RateBudget.for_service(service.budget), service.name)
    client = GuardedClient.from_settings(context.settings)
    sent_headers = dict(headers or {})
    content = None
    if payload is not None:
        sent_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        response = client.request(
            method,
            url,
            headers=sent_headers,
            content=content,
            sensitive_headers=sensitive_headers,
        )
    except OutboundError as exc:
        raise ActionError(
            redact_secrets(f"{service.name}: {exc}", secrets), retryable=exc.retryable
        ) from None
    body = response.parsed_body()
    if response.status == 429:
        detail = service.message_of(body) or ""
        wait = response.retry_after
        if wait is None:
            wait = service.retry_after_of(body)
        raise context.rate_limited(key, service.name, wait, redact_secrets(_short(detail), secrets))
    if response.status >= 400:
        raise status_error(service, response, body, secrets)
    return response, body


def status_error(
    service: Service, response: GuardedResponse, body: Any, secrets: list[str | None]
) -> ActionError:
    """The step error for a refusal: 5xx retryable (after Retry-After when given), 4xx not."""
    detail = service.message_of(body) or (body if isinstance(body, str) else "")
    message = f"{service.name} answered HTTP {response.status}"
    if detail.strip():
        message += f": {_short(detail)}"
    retryable = response.status >= 500
    return ActionError(
        redact_secrets(message, secrets),
        retryable=retryable,
        retry_after=response.retry_after if retryable else None,
    )


def _short(text: str) -> str:
    return " ".join(text.split())[:MAX_MESSAGE_CHARS]
