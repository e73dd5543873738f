"""Reading responses: Retry-After, charsets, JSON detection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.net import GuardedResponse, retry_after_seconds
from app.net.responses import MAX_RETRY_AFTER_SECONDS

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("-3", 0.0),
        ("99999999", MAX_RETRY_AFTER_SECONDS),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, seconds: float) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def response(content: bytes, content_type: str | None) -> GuardedResponse:
    headers = {"content-type": content_type} if content_type else {}
    return GuardedResponse(status=200, reason="OK", headers=headers, content=content, url="u")


def test_json_is_parsed_when_the_response_says_it_is_json() -> None:
    assert response(b'{"a": [1]}', "application/json").parsed_body() == {"a": [1]}
    assert response(b'{"a": 1}', "application/problem+json").parsed_body() == {"a": 1}


def test_other_bodies_and_broken_json_stay_text() -> None:
    assert response(b'{"a": 1}', "text/plain").parsed_body() == '{"a": 1}'
    assert response(b"{not json", "application/json").parsed_body() == "{not json"
    assert response(b"", "application/json").parsed_body() == ""


def test_text_uses_the_declared_charset_and_utf8_otherwise() -> None:
    assert response("café".encode("latin-1"), "text/plain; charset=ISO-8859-1").text == "café"
    assert response("café".encode(), "text/plain").text == "café"
    assert response("café".encode(), None).text == "café"
    assert response(b"caf\xe9", "text/plain; charset=no-such-charset").text == "caf\ufffd"
