"""Notion, Telegram, Discord and LLM chat steps against their fakes, in real executions on both
backends: each sends what its form says with the credential's secret (which no stored row
keeps); a 429 is waited out (Retry-After) and the step completes within its one attempt; a
4xx fails the step at once with the service's message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, issue_token
from tests.fakes.http import Reply
from tests.fakes.notion import DATABASE_ID, PAGE_ID, notion_error
from tests.fakes.openai_api import openai_error
from tests.fakes.telegram_bot import telegram_error
from tests.service_support import (
    Services,
    add_credential,
    one_step,
    run_step,
    start_services,
    stored,
)

ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    yield from start_services()


@pytest.fixture(autouse=True)
def _fresh(services: Services) -> None:
    services.reset()


@pytest.fixture
def app_config(app_config: dict[str, object], services: Services) -> dict[str, object]:
    return {**app_config, **services.settings()}


def attempts_of(step: Any) -> int:
    return len([line for line in step.attempt_log if not line.get("waiting")])


# -- Notion ------------------------------------------------------------------------------


def notion_page(credential_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "database_id": f"https://www.notion.so/acme/{DATABASE_ID.replace('-', '')}?v=1",
        "properties": [
            {"property": "Name", "type": "title", "value": "Order {{ trigger.order }}"},
            {"property": "Notes", "type": "rich_text", "value": "{{ trigger.note }}"},
            {"property": "Amount", "type": "number", "value": "{{ trigger.amount }}"},
            {"property": "Status", "type": "select", "value": "New"},
            {"property": "Paid", "type": "checkbox", "value": "{{ trigger.paid }}"},
            {"property": "Due", "type": "date", "value": "2026-12-24"},
            {"property": "Link", "type": "url", "value": "https://example.com/o/42"},
            {"property": "Contact", "type": "email", "value": "{{ trigger.email }}"},
        ],
        "content": "First line\n\nSecond {{ trigger.order }}",
        **overrides,
    }


ORDER = {
    "order": 42,
    "note": 'Fragile & "urgent" {{ 7*7 }}',
    "amount": 19.5,
    "paid": True,
    "email": "ann@example.org",
}


def test_notion_create_page_sends_each_property_in_its_type(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    notion = services.notion
    credential = add_credential(app, ALICE, "notion", {"token": notion.token})

    execution, step = run_step(app, "notion_create_page", notion_page(credential), ORDER)

    assert execution.status == "completed", execution.error
    (page,) = notion.pages
    assert page["parent"] == {"database_id": DATABASE_ID}
    text = {"type": "text", "text": {"content": 'Fragile & "urgent" {{ 7*7 }}'}}
    assert page["properties"] == {
        "Name": {"title": [{"type": "text", "text": {"content": "Order 42"}}]},
        "Notes": {"rich_text": [text]},
        "Amount": {"number": 19.5},
        "Status": {"select": {"name": "New"}},
        "Paid": {"checkbox": True},
        "Due": {"date": {"start": "2026-12-24"}},
        "Link": {"url": "https://example.com/o/42"},
        "Contact": {"email": "ann@example.org"},
    }
    assert [c["paragraph"]["rich_text"][0]["text"]["content"] for c in page["children"]] == [
        "First line",
        "Second 42",
    ]
    request = services.server.requests_to("/v1/pages")[0]
    assert request.headers["notion-version"] == "2022-06-28"
    assert step.output is not None and step.output["id"] == page["id"]
    assert notion.token not in stored(step)


def test_notion_append_block_adds_one_block_per_line(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "notion", {"token": services.notion.token})
    config = {
        "credential_id": credential,
        "block_id": PAGE_ID,
        "block_type": "bulleted_list_item",
        "text": "{% for item in trigger['items'] %}{{ item }}\n{% endfor %}",
    }

    execution, step = run_step(app, "notion_append_block", config, {"items": ["milk", "eggs"]})

    assert execution.status == "completed", execution.error
    ((block_id, children),) = services.notion.appended
    assert block_id == PAGE_ID
    assert [c["type"] for c in children] == ["bulleted_list_item"] * 2
    assert [c["bulleted_list_item"]["rich_text"][0]["text"]["content"] for c in children] == [
        "milk",
        "eggs",
    ]
    assert step.output is not None and step.output["added"] == 2


def test_notion_refusal_fails_at_once_with_notions_message(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "notion", {"token": services.notion.token})
    config = notion_page(
        credential,
        properties=[
            {"property": "Name", "type": "title", "value": "x"},
            {"property": "Colour", "type": "select", "value": "red"},
        ],
    )

    execution, step = run_step(app, "notion_create_page", config, ORDER, attempts=3)

    assert execution.status == "failed"
    assert step.error == (
        "Notion answered HTTP 400: validation_error: Colour is not a property that exists."
    )
    assert step.attempts == 1 and services.notion.pages == []


def test_a_notion_token_that_is_refused_is_not_retried(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "notion", {"token": "ntn_wrong_token_0123456789"})

    execution, step = run_step(
        app, "notion_create_page", notion_page(credential), ORDER, attempts=3
    )

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "Notion answered HTTP 401: unauthorized: API token is invalid."


# -- Telegram ----------------------------------------------------------------------------


def test_telegram_sends_the_rendered_message_to_the_chat(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    telegram = services.telegram
    credential = add_credential(app, ALICE, "telegram", {"bot_token": telegram.token})
    config = {
        "credential_id": credential,
        "chat_id": "{{ trigger.chat }}",
        "text": "<b>Order {{ trigger.order }}</b> for {{ trigger.name | e }}",
        "parse_mode": "HTML",
        "disable_notification": True,
    }

    execution, step = run_step(
        app, "telegram_send_message", config, {"chat": "42", "order": 7, "name": "<Ann>"}
    )

    assert execution.status == "completed", execution.error
    assert telegram.messages == [
        {
            "chat_id": "42",
            "text": "<b>Order 7</b> for &lt;Ann&gt;",
            "parse_mode": "HTML",
            "disable_notification": True,
        }
    ]
    assert step.output == {"message_id": 1, "chat_id": 42, "date": 1796605200}
    assert telegram.token not in stored(step)


def test_telegram_unknown_chat_fails_at_once_with_telegrams_message(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "telegram", {"bot_token": services.telegram.token})
    config = {"credential_id": credential, "chat_id": "99", "text": "hi"}

    execution, step = run_step(app, "telegram_send_message", config, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "Telegram answered HTTP 400: Bad Request: chat not found"
    assert services.telegram.token not in stored(step)


# -- Discord -----------------------------------------------------------------------------


def test_discord_posts_content_and_username_without_mentions(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    discord = services.discord
    credential = add_credential(app, ALICE, "discord", {"webhook_url": discord.webhook_url})
    config = {
        "credential_id": credential,
        "content": "@everyone order {{ trigger.order }} shipped",
        "username": "Stepline {{ trigger.shop }}",
    }

    execution, step = run_step(app, "discord_send_message", config, {"order": 42, "shop": "Acme"})

    assert execution.status == "completed", execution.error
    assert discord.messages == [
        {
            "content": "@everyone order 42 shipped",
            "tts": False,
            "username": "Stepline Acme",
            "allowed_mentions": {"parse": []},
        }
    ]
    assert discord.queries == [{"wait": ["true"]}]
    assert step.output is not None and step.output["id"] == "1180000000000000101"
    webhook_token = discord.webhook_path.rsplit("/", 1)[1]
    assert webhook_token not in stored(step)


def test_discord_unknown_webhook_fails_at_once_with_discords_message(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    url = services.discord.webhook_url.rsplit("/", 1)[0] + "/not-the-token-0123456789"
    credential = add_credential(app, ALICE, "discord", {"webhook_url": url})
    config = {"credential_id": credential, "content": "hi"}

    execution, step = run_step(app, "discord_send_message", config, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "Discord answered HTTP 404: Unknown Webhook (code 10015)"
    assert "not-the-token-0123456789" not in stored(step)


# -- LLM chat ----------------------------------------------------------------------------


def test_llm_chat_sends_the_messages_and_returns_text_json_and_usage(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    openai = services.openai
    credential = add_credential(app, ALICE, "openai", openai.fields())
    openai.answer = '```json\n{"sentiment": "positive", "score": 0.9}\n```'
    config = {
        "credential_id": credential,
        "system": "You classify reviews. Answer in JSON.",
        "prompt": "Review: {{ trigger.review }}",
        "model": "json-model",
        "temperature": "{{ trigger.temperature }}",
        "max_tokens": 50,
        "json_mode": True,
    }

    execution, step = run_step(
        app, "llm_chat", config, {"review": "Great & fast {{ 1+1 }}", "temperature": 0.2}
    )

    assert execution.status == "completed", execution.error
    assert openai.requests == [
        {
            "model": "json-model",
            "messages": [
                {"role": "system", "content": "You classify reviews. Answer in JSON."},
                {"role": "user", "content": "Review: Great & fast {{ 1+1 }}"},
            ],
            "temperature": 0.2,
            "max_tokens": 50,
            "response_format": {"type": "json_object"},
        }
    ]
    output = step.output
    assert output is not None
    assert output["json"] == {"sentiment": "positive", "score": 0.9}
    assert output["text"] == openai.answer and output["model"] == "json-model"
    assert output["usage"] == {"prompt_tokens": 13, "completion_tokens": 6, "total_tokens": 19}
    assert openai.api_key not in stored(step)


def test_llm_chat_uses_the_credentials_default_model(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "openai", services.openai.fields())

    execution, step = run_step(app, "llm_chat", {"credential_id": credential, "prompt": "Hi"})

    assert execution.status == "completed", execution.error
    assert services.openai.requests[0]["model"] == "tiny-model"
    assert services.openai.requests[0]["messages"] == [{"role": "user", "content": "Hi"}]
    assert step.output is not None and "json" not in step.output


def test_llm_chat_answer_that_is_not_json_is_a_clear_step_error(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "openai", services.openai.fields())
    services.openai.answer = "Sure! Here is the JSON you asked for."

    execution, step = run_step(
        app,
        "llm_chat",
        {"credential_id": credential, "prompt": "Hi", "json_mode": True},
        attempts=3,
    )

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == (
        "The model's answer is not JSON (json_mode is on): 'Sure! Here is the JSON you asked for.'"
    )


def test_llm_chat_unknown_model_fails_at_once_with_the_servers_message(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = add_credential(app, ALICE, "openai", services.openai.fields())

    execution, step = run_step(
        app, "llm_chat", {"credential_id": credential, "prompt": "Hi", "model": "gpt-9"}, attempts=3
    )

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "The model server answered HTTP 404: The model `gpt-9` does not exist."


# -- 429 and 5xx from every service ------------------------------------------------------


CASES: dict[str, tuple[str, Any, Any]] = {
    # service: (credential kind, the 429 its fake answers, how many messages arrived)
    "notion": (
        "notion",
        notion_error(429, "rate_limited", "You have been rate limited."),
        lambda s: len(s.notion.pages),
    ),
    "telegram": (
        "telegram",
        telegram_error(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}),
        lambda s: len(s.telegram.messages),
    ),
    "discord": (
        "discord",
        Reply.json({"message": "You are being rate limited.", "retry_after": 1.0}, 429),
        lambda s: len(s.discord.messages),
    ),
    "openai": (
        "openai",
        openai_error(429, "Rate limit reached for requests", "rate_limit_exceeded", "requests"),
        lambda s: len(s.openai.requests),
    ),
}


def _step_of(service: str, services: Services, credential: int) -> tuple[str, dict[str, Any]]:
    if service == "notion":
        return "notion_create_page", notion_page(credential)
    if service == "telegram":
        return "telegram_send_message", {"credential_id": credential, "chat_id": "42", "text": "hi"}
    if service == "discord":
        return "discord_send_message", {"credential_id": credential, "content": "hi"}
    return "llm_chat", {"credential_id": credential, "prompt": "hi"}


def _fields(service: str, services: Services) -> dict[str, Any]:
    return {
        "notion": {"token": services.notion.token},
        "telegram": {"bot_token": services.telegram.token},
        "discord": {"webhook_url": services.discord.webhook_url},
        "openai": services.openai.fields(),
    }[service]


def _fake(service: str, services: Services) -> Any:
    return {
        "notion": services.notion,
        "telegram": services.telegram,
        "discord": services.discord,
        "openai": services.openai,
    }[service]


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_429_is_waited_out_without_using_an_attempt(
    app: Flask, user_client: FlaskClient, services: Services, service: str
) -> None:
    # Given the service answers the next call with 429 (Retry-After 1 s, in the header or, for
    # Telegram and Discord, in the body as they do)
    kind, reply, delivered = CASES[service]
    credential = add_credential(app, ALICE, kind, _fields(service, services))
    with_header = Reply(reply.status, reply.body, {**reply.headers, "Retry-After": "1"})
    _fake(service, services).fail_next(with_header if service in ("notion", "openai") else reply)
    step_type, config = _step_of(service, services, credential)

    # When a step with a single attempt runs
    execution, step = run_step(app, step_type, config, ORDER, attempts=1)

    # Then it waited for the rate limit and then completed: the wait used no attempt
    assert execution.status == "completed", execution.error
    assert delivered(services) == 1
    assert attempts_of(step) == 1
    (waited,) = [line for line in step.attempt_log if line.get("waiting")]
    assert waited["waiting"]["service"] in ("Notion", "Telegram", "Discord", "The model server")


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_5xx_is_retried(
    app: Flask, user_client: FlaskClient, services: Services, service: str
) -> None:
    kind, _reply, delivered = CASES[service]
    credential = add_credential(app, ALICE, kind, _fields(service, services))
    _fake(service, services).fail_next(Reply.json({"message": "Bad gateway"}, 502))
    step_type, config = _step_of(service, services, credential)

    execution, step = run_step(app, step_type, config, ORDER, attempts=2)

    assert execution.status == "completed", execution.error
    assert step.attempts == 2 and delivered(services) == 1


# -- "Test this step" and dry runs ----------------------------------------------------------


def test_test_this_step_sends_with_the_credential_and_shows_no_secret(
    app: Flask, client: FlaskClient, services: Services
) -> None:
    # Given a saved workflow with a Telegram step (through the API, as a script would)
    alice = Api(client, issue_token(app, ALICE))
    credential = add_credential(app, ALICE, "telegram", {"bot_token": services.telegram.token})
    config = {"credential_id": credential, "chat_id": "42", "text": "Hi {{ trigger.name }}"}
    workflow = alice.create(one_step("telegram_send_message", config))

    # When the step is tested with given trigger data
    ran = alice.post(f"/workflows/{workflow['id']}/steps/send/test", {"trigger": {"name": "Ann"}})

    # Then the message went out and the answer shows its result, not the token
    assert ran.status_code == 200, ran.get_json()
    assert ran.get_json()["status"] == "completed", ran.get_json()
    assert ran.get_json()["output"]["message_id"] == 1
    assert services.telegram.messages == [{"chat_id": "42", "text": "Hi Ann"}]
    assert services.telegram.token not in ran.get_data(as_text=True)


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_dry_run_records_the_request_with_the_secret_hidden(
    app: Flask, user_client: FlaskClient, services: Services, service: str
) -> None:
    kind, _reply, delivered = CASES[service]
    fields = _fields(service, services)
    credential = add_credential(app, ALICE, kind, fields)
    step_type, config = _step_of(service, services, credential)

    execution, step = run_step(app, step_type, config, ORDER, dry_run=True)

    assert execution.status == "completed", execution.error
    assert delivered(services) == 0 and services.server.requests == []
    assert step.output is not None and step.output["dry_run"] == "recorded"
    assert step.output["request"]["method"] == "POST"
    secret = {"notion": "token", "telegram": "bot_token", "discord": "webhook_url"}.get(
        kind, "api_key"
    )
    assert str(fields[secret]).rsplit("/", 1)[-1] not in stored(step)


def test_the_api_lists_the_new_actions_with_schema_category_and_credential_kinds(
    app: Flask, client: FlaskClient
) -> None:
    alice = Api(client, issue_token(app, ALICE))

    items = {a["type"]: a for a in alice.get("/actions").get_json()["items"]}

    assert len(items) >= 15
    expected = {
        "send_email": ("Email", ["smtp"]),
        "notion_create_page": ("Data", ["notion"]),
        "notion_append_block": ("Data", ["notion"]),
        "telegram_send_message": ("Messaging", ["telegram"]),
        "discord_send_message": ("Messaging", ["discord"]),
        "llm_chat": ("AI", ["openai"]),
    }
    for type_, (category, kinds) in expected.items():
        listed = items[type_]
        assert listed["sends"] is True and listed.get("category") == category, listed
        credential = listed["config_schema"]["properties"]["credential_id"]
        assert credential["credential_kinds"] == kinds
