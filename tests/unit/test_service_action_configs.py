"""The new actions' config models: what each form accepts and refuses (with the field named),
and the pure pieces of their requests (Notion ids and property values, an LLM's JSON)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.actions import BUILTIN_ACTIONS
from app.actions.discord import DiscordSendMessageConfig
from app.actions.llm_chat import LlmChatConfig, parse_json_answer
from app.actions.notion import (
    NotionAppendBlockConfig,
    NotionCreatePageConfig,
    notion_id,
    property_value,
    rich_text,
)
from app.actions.send_email import SendEmailConfig
from app.actions.telegram import TelegramSendMessageConfig
from app.credentials.fields import credential_fields
from app.engine.errors import ActionError

ID = "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"
DASHED = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
NEW_TYPES = {
    "send_email": ("smtp",),
    "notion_create_page": ("notion",),
    "notion_append_block": ("notion",),
    "telegram_send_message": ("telegram",),
    "discord_send_message": ("discord",),
    "llm_chat": ("openai",),
    "slack_message": ("slack",),
    "http_request": ("http_header", "http_bearer", "http_basic", "http_query"),
}


def errors_of(model: Any, data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def test_each_new_action_is_built_in_sends_records_dry_runs_and_takes_its_credential() -> None:
    by_type = {handler.type: handler for handler in BUILTIN_ACTIONS}
    for type_, kinds in NEW_TYPES.items():
        handler = by_type[type_]
        assert handler.sends and handler.dry_run == "record", type_
        assert credential_fields(handler.Config) == {"credential_id": kinds}, type_
        schema = handler.config_schema()
        assert schema["properties"]["credential_id"]["credential_kinds"] == list(kinds)


@pytest.mark.parametrize(
    "value",
    [ID, DASHED, f"https://www.notion.so/acme/Orders-{ID}?v=abc", f"https://notion.so/{DASHED}"],
)
def test_a_notion_id_is_read_from_an_id_or_a_url(value: str) -> None:
    assert notion_id(value) == DASHED


def test_a_notion_url_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="Notion id"):
        notion_id("https://www.notion.so/acme/Orders")


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("number", "42", {"number": 42}),
        ("number", "19.50", {"number": 19.5}),
        ("number", 7, {"number": 7}),
        ("number", "", {"number": None}),
        ("checkbox", "yes", {"checkbox": True}),
        ("checkbox", "False", {"checkbox": False}),
        ("checkbox", True, {"checkbox": True}),
        ("select", "New", {"select": {"name": "New"}}),
        ("select", "", {"select": None}),
        ("date", "2026-12-24", {"date": {"start": "2026-12-24"}}),
        ("date", "2026-12-24T10:00:00+00:00", {"date": {"start": "2026-12-24T10:00:00+00:00"}}),
        ("url", "https://example.com", {"url": "https://example.com"}),
        ("email", "", {"email": None}),
        ("rich_text", "", {"rich_text": []}),
    ],
)
def test_property_values_take_their_types_shape(kind: str, value: Any, expected: Any) -> None:
    config = NotionCreatePageConfig.model_validate(
        {
            "credential_id": 1,
            "database_id": ID,
            "properties": [
                {"property": "Name", "type": "title", "value": "x"},
                {"property": "P", "type": kind, "value": value},
            ],
        }
    )
    prop = config.properties[1]
    assert property_value(prop.type, prop.value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("number", "forty", "a number property needs a number"),
        ("checkbox", "maybe", "a checkbox property needs true or false"),
        ("date", "24/12/2026", "a date property needs an ISO date"),
    ],
)
def test_a_value_that_does_not_fit_its_type_names_its_field(
    kind: str, value: str, message: str
) -> None:
    data = {
        "credential_id": 1,
        "database_id": ID,
        "properties": [
            {"property": "Name", "type": "title", "value": "x"},
            {"property": "P", "type": kind, "value": value},
        ],
    }
    ((where, text),) = errors_of(NotionCreatePageConfig, data)
    assert where == "properties.1.value" and message in text


def test_a_page_needs_exactly_one_title_and_each_property_once() -> None:
    base = {"credential_id": 1, "database_id": ID}
    text = {"property": "Notes", "type": "rich_text", "value": "x"}
    title = {"property": "Name", "type": "title", "value": "x"}
    assert (
        "exactly one property of type title"
        in errors_of(NotionCreatePageConfig, {**base, "properties": [text]})[0][1]
    )
    assert (
        "each property may be set once"
        in errors_of(NotionCreatePageConfig, {**base, "properties": [title, text, text]})[0][1]
    )


def test_long_text_is_cut_into_notions_2000_character_pieces() -> None:
    pieces = rich_text("a" * 4500)
    assert [len(p["text"]["content"]) for p in pieces] == [2000, 2000, 500]


def test_appending_too_many_blocks_at_once_is_refused() -> None:
    data = {"credential_id": 1, "block_id": ID, "text": "\n".join(["line"] * 101)}
    assert "at most 100 blocks" in errors_of(NotionAppendBlockConfig, data)[0][1]
    one = NotionAppendBlockConfig.model_validate({**data, "split_lines": False})
    assert one.block_id == DASHED


def test_telegram_chat_ids_are_numbers_or_channel_names() -> None:
    for chat in ("42", "-1001234567890", "@stepline_news"):
        TelegramSendMessageConfig.model_validate({"credential_id": 1, "chat_id": chat, "text": "x"})
    ((where, _),) = errors_of(
        TelegramSendMessageConfig, {"credential_id": 1, "chat_id": "not a chat", "text": "x"}
    )
    assert where == "chat_id"


def test_discord_content_is_capped_at_2000_characters() -> None:
    ((where, _),) = errors_of(DiscordSendMessageConfig, {"credential_id": 1, "content": "x" * 2001})
    assert where == "content"


def test_an_email_refuses_header_injection_and_needs_a_body() -> None:
    base = {"credential_id": 1, "to": "ann@example.org", "subject": "Hi", "body_text": "x"}
    SendEmailConfig.model_validate(base)
    assert errors_of(SendEmailConfig, {**base, "subject": "Hi\r\nBcc: x@evil.example"})[0][0] == (
        "subject"
    )
    assert errors_of(SendEmailConfig, {**base, "from_name": "A\nB"})[0][0] == "from_name"
    assert errors_of(SendEmailConfig, {**base, "cc": "not an address"})[0][0] == "cc"
    assert (
        "a text body, an HTML body" in errors_of(SendEmailConfig, {**base, "body_text": ""})[0][1]
    )


def test_llm_settings_are_bounded() -> None:
    base = {"credential_id": 1, "prompt": "hi"}
    assert errors_of(LlmChatConfig, {**base, "temperature": 3})[0][0] == "temperature"
    assert errors_of(LlmChatConfig, {**base, "max_tokens": 0})[0][0] == "max_tokens"
    assert errors_of(LlmChatConfig, {"credential_id": 1, "prompt": ""})[0][0] == "prompt"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [('{"a": 1}', {"a": 1}), ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}), ("[1]", [1])],
)
def test_a_json_answer_is_parsed(text: str, parsed: Any) -> None:
    assert parse_json_answer(text) == parsed


def test_an_answer_that_is_not_json_is_a_permanent_error_quoting_it() -> None:
    with pytest.raises(ActionError, match="not JSON") as caught:
        parse_json_answer("I cannot do that.")
    assert not caught.value.retryable and "I cannot do that." in str(caught.value)
