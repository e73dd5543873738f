"""gmail_send's config and MIME message: header injection refused, bodies as given."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.actions.gmail_send import GmailSendConfig, build_message


def config(**changes: object) -> GmailSendConfig:
    data: dict[str, object] = {
        "connection_id": 1,
        "to": "Ann <ann@example.org>, bob@example.org",
        "subject": "Hello",
        "body_text": "Hi",
    }
    return GmailSendConfig.model_validate({**data, **changes})


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to", "subject"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_a_line_break_in_any_header_is_refused(field: str, newline: str) -> None:
    value = f"ann@example.org{newline}Bcc: all@example.net"
    with pytest.raises(ValidationError, match="line breaks are not allowed"):
        config(**{field: value})


def test_addresses_must_be_addresses_and_a_body_is_needed() -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        config(to="ann at example.org")
    with pytest.raises(ValidationError, match="at least one recipient"):
        config(to=" , ")
    with pytest.raises(ValidationError, match="a text body, an HTML body, or both"):
        config(body_text="")


def test_text_and_html_become_alternatives() -> None:
    message = build_message(config(cc="ops@example.org", body_html="<p>Hi</p>"), "<x@example.org>")

    assert message["To"] == "Ann <ann@example.org>, bob@example.org"
    assert message["Cc"] == "ops@example.org"
    assert message["Message-ID"] == "<x@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and text.get_content().strip() == "Hi"
    assert html is not None and html.get_content().strip() == "<p>Hi</p>"


def test_a_non_ascii_subject_is_encoded_not_broken() -> None:
    raw = build_message(config(subject="Grüße — ✓"), "<x@example.org>").as_bytes()
    assert b"Subject: =?utf-8?" in raw
