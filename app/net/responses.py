"""What the guarded client returns: a fully read, size-capped response, and header helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

# A server asking for a longer wait than this is clamped: the step retries after a day.
MAX_RETRY_AFTER_SECONDS = 86_400.0


def content_type_parts(content_type: str | None) -> tuple[str, str | None]:
    """The media type (lower-case) and charset of a Content-Type header value."""
    message = Message()
    message["content-type"] = content_type or "application/octet-stream"
    return message.get_content_type(), message.get_content_charset()


def is_json_media_type(media_type: str) -> bool:
    """`application/json` and the `+json` family (`application/problem+json`, ...)."""
    return media_type == "application/json" or media_type.endswith("+json")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent
    or unreadable. The result is clamped to [0, MAX_RETRY_AFTER_SECONDS]."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class GuardedResponse:
    """A response whose body was read within the size cap and the total timeout."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    url: str
    redirects: int = 0

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-case."""
        return content_type_parts(self.headers.get("content-type"))[0]

    @property
    def is_json(self) -> bool:
        """Whether the response declares a JSON media type."""
        return is_json_media_type(self.media_type)

    @property
    def text(self) -> str:
        """The body decoded with the declared charset, UTF-8 when none is declared."""
        charset = content_type_parts(self.headers.get("content-type"))[1] or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.text)

    def parsed_body(self) -> Any:
        """JSON when the response says it is JSON and parses; otherwise the text."""
        if self.is_json and self.content:
            try:
                return self.json()
            except ValueError:
                pass
        return self.text

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait (Retry-After), or None."""
        return retry_after_seconds(self.headers.get("retry-after"))
