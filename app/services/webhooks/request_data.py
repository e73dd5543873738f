"""A webhook request as trigger data: method, path, query, headers (credentials left out), body
(JSON, form fields or raw text) and the time it was received.

A JSON body holding a value no database stores (NaN, ±Infinity, a number beyond a float's range
such as 1e400, text with U+0000 or an unpaired surrogate) is refused with 400 naming its path
(`body.items.0.price`), as the JSON API refuses it (app.models.storable): the sender is told, and
never retries a delivery that could not ever be stored. Text that is not JSON (the path, query,
headers, form fields, a text body) has its NUL characters replaced by U+FFFD, as bytes that are
not UTF-8 are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from app.models import storable
from app.models.base import utcnow
from app.services.errors import BadRequestError

MAX_JSON_DEPTH = 64
# Headers that carry credentials of the sender; never stored as trigger data.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class WebhookRequest:
    """What the ingress read from one HTTP request; no Flask objects, so services stay plain."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    content_type: str = ""  # the media type, lower case, without parameters
    query: Iterable[tuple[str, str]] = ()
    form: Mapping[str, Any] | None = None  # multipart bodies, already parsed by the web layer
    received_at: datetime = field(default_factory=utcnow)


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Pairs to a mapping: a name given once maps to its value, a repeated one to a list."""
    grouped: dict[str, Any] = {}
    for name, value in pairs:
        if name in grouped:
            previous = grouped[name]
            grouped[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            grouped[name] = value
    return grouped


def _without_nul(value: Any) -> Any:
    """Form fields and text as they can be stored: NUL and unpaired surrogates replaced."""
    if isinstance(value, str):
        return storable.clean_text(value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json(body: bytes) -> Any:
    try:
        value = storable.loads(body, "body")
    except storable.UnstorableError as exc:
        raise BadRequestError(exc.found.sentence(), exc.found.path) from None
    except (ValueError, RecursionError):
        raise BadRequestError("The body is not valid JSON.") from None
    # Counting brackets is cheap; only a body with many of them is walked.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _too_deep(value, MAX_JSON_DEPTH):
        raise BadRequestError(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
    return value


def parse_body(request: WebhookRequest) -> Any:
    """The body as data: parsed JSON, form fields, or text (None when there is no body)."""
    kind = request.content_type
    if request.form is not None:
        return _without_nul(dict(request.form))
    if not request.body:
        return None
    if kind == "application/json" or kind.endswith("+json"):
        return _json(request.body)
    text = request.body.decode("utf-8", "replace")
    if kind == "application/x-www-form-urlencoded":
        return _without_nul(_grouped(parse_qsl(text, keep_blank_values=True)))
    return _without_nul(text)


def trigger_data(request: WebhookRequest, hidden_headers: Iterable[str] = ()) -> dict[str, Any]:
    """The execution's trigger data; `hidden_headers` (lower case) are left out with the
    credential headers."""
    hidden = CREDENTIAL_HEADERS | {name.lower() for name in hidden_headers}
    return {
        "method": request.method,
        "path": _without_nul(request.path),
        "query": _without_nul(_grouped(request.query)),
        "headers": {k: _without_nul(v) for k, v in request.headers.items() if k not in hidden},
        "body": parse_body(request),
        "received_at": request.received_at.isoformat(),
    }
