"""A step that sends, in a dry run: record the request it would send, or skip it.

The executor calls `execute_dry` instead of `handler.execute` for a step whose action
declares `sends` when the execution is a dry run. An action declared `dry_run = "record"`
runs its real code with the guarded HTTP client recording (app/net/dry.py): its output is the
first request it would have sent, with credentials masked. Any other sending action is not run
at all. Pure steps and steps that send nothing run for real, outside this module.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from app.actions.base import BaseActionHandler
from app.engine.context import StepContext
from app.engine.redaction import REDACTED
from app.net import dry

RECORDED = "recorded"  # the `dry_run` field of a step's output: its request was recorded
SKIPPED = "skipped"  # the step was not run: its action cannot describe its request
MARKERS = (RECORDED, SKIPPED)
# Headers that carry credentials whatever the step's config says.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MAX_BODY_CHARS = 64 * 1024


def execute_dry(handler: BaseActionHandler, context: StepContext, config: Any) -> dict[str, Any]:
    """The dry-run output of a step that sends (the executor redacts its secrets, as for any
    output)."""
    if handler.dry_run != "record":
        return {
            "dry_run": SKIPPED,
            "note": f"Not run in a dry run: {handler.name} sends, and cannot show what it "
            "would send.",
        }
    try:
        with dry.recording():
            output = handler.execute(context, config)
    except dry.RequestNotSent as signal:
        return recorded(signal.request)
    # Nothing to send this time (an earlier attempt's effect was found, say): a real output.
    return output


def recorded(request: dry.WouldSend) -> dict[str, Any]:
    """A step's output for a request it would have sent: method, URL, host, headers (those
    that carry credentials masked) and body (JSON decoded; text cut at MAX_BODY_CHARS)."""
    masked = CREDENTIAL_HEADERS | set(request.sensitive_headers)
    headers = {
        name: REDACTED if name.lower() in masked else value
        for name, value in request.headers.items()
    }
    return {
        "dry_run": RECORDED,
        "request": {
            "method": request.method,
            "url": request.url,
            "host": urlsplit(request.url).hostname or "",
            "headers": headers,
            "body": _body(request.body, headers),
        },
    }


def _body(body: bytes | None, headers: dict[str, str]) -> Any:
    if not body:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(body)} bytes of binary data)"
    if len(text) > MAX_BODY_CHARS:
        return text[:MAX_BODY_CHARS] + f"… ({len(body)} bytes in all)"
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
