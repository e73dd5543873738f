"""The slack_message action against a fake Slack (webhook and chat.postMessage)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from flask import Flask
from pydantic import ValidationError

from app.actions.slack import SlackMessageAction, SlackMessageConfig
from app.config import settings_of
from app.engine.errors import ActionError
from tests.fakes.context import make_step_context
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack

ACTION = SlackMessageAction()
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Order* #42 & co"}}]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeServer() as server:
        yield FakeSlack(server)


@pytest.fixture
def app_config(app_config: dict[str, object], slack: FakeSlack) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
        "SLACK_API_BASE_URL": slack.api_base_url,
    }


def post(app: Flask, **config: Any) -> dict[str, Any]:
    """Validate `config` as the engine would, then execute the step."""
    checked = cast(SlackMessageConfig, ACTION.validate_config(config))
    return ACTION.execute(make_step_context(settings_of(app)), checked)


def test_a_webhook_message_is_posted_and_the_url_stays_out_of_logs_and_output(
    app: Flask, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given every logger recording at DEBUG (urllib3's request lines included)
    caplog.set_level(logging.DEBUG)
    # When a message with rendered text and blocks is sent through the webhook
    output = post(
        app, webhook_url=slack.webhook_url, text='Order #42: "paid" & shipped\n✓', blocks=BLOCKS
    )
    # Then Slack received exactly that text and those blocks
    assert slack.messages == [
        {"via": "webhook", "text": 'Order #42: "paid" & shipped\n✓', "blocks": BLOCKS}
    ]
    assert output == {"ok": True, "via": "webhook"}
    # And the webhook URL (a credential) appears in no log record and not in the output
    secret_part = slack.webhook_path.rsplit("/", 1)[1]
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 logged nothing"
    assert secret_part not in caplog.text
    assert secret_part not in json.dumps(output)


def test_blocks_may_be_given_as_json_text(app: Flask, slack: FakeSlack) -> None:
    post(app, webhook_url=slack.webhook_url, text="fallback", blocks=json.dumps(BLOCKS))

    assert slack.messages[0]["blocks"] == BLOCKS


def test_a_bot_posts_with_chat_post_message(
    app: Flask, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    output = post(
        app,
        via="bot",
        bot_token=slack.token,
        channel="#general",
        text="hello",
        thread_ts="1700000000.000001",
    )

    assert output == {"ok": True, "via": "bot", "channel": "C0001", "ts": "1700000000.000001"}
    request = slack.server.requests_to("/api/chat.postMessage")[0]
    assert request.json() == {
        "channel": "#general",
        "text": "hello",
        "thread_ts": "1700000000.000001",
    }
    assert slack.token not in caplog.text
    assert slack.token not in json.dumps(output)


def test_an_unknown_channel_is_a_clear_permanent_error(app: Flask, slack: FakeSlack) -> None:
    with pytest.raises(ActionError) as caught:
        post(app, via="bot", bot_token=slack.token, channel="#nope", text="hi")

    assert str(caught.value) == (
        "Slack refused the message: channel_not_found "
        "(the channel does not exist or the app cannot see it)"
    )
    assert not caught.value.retryable


def test_a_bad_token_is_a_permanent_error(app: Flask, slack: FakeSlack) -> None:
    with pytest.raises(ActionError, match="invalid_auth") as caught:
        post(app, via="bot", bot_token="xoxb-wrong", channel="C0001", text="hi")
    assert not caught.value.retryable
    assert "xoxb-wrong" not in str(caught.value)


def test_an_invalid_payload_from_the_webhook_is_a_permanent_error_without_the_url(
    app: Flask, slack: FakeSlack
) -> None:
    slack.fail_next(Reply.text("invalid_payload", 400))

    with pytest.raises(ActionError, match="invalid_payload") as caught:
        post(app, webhook_url=slack.webhook_url, text="hi")

    assert not caught.value.retryable
    assert slack.webhook_path not in str(caught.value)


@pytest.mark.parametrize("via", ["webhook", "bot"])
def test_a_rate_limit_waits_for_retry_after_without_using_an_attempt(
    app: Flask, slack: FakeSlack, via: str
) -> None:
    # Given Slack rate-limits the next call for a second
    slack.fail_next(Reply.text("rate limited", 429, {"Retry-After": "1"}))
    config: dict[str, Any] = {
        "via": via,
        "text": "hi",
        "webhook_url": slack.webhook_url,
        "bot_token": slack.token,
        "channel": "C0001",
    }
    # When the step runs, it asks the engine to run it again in 1 s, as a rate-limit wait
    with pytest.raises(ActionError, match="Slack asked to slow down") as caught:
        post(app, **config)
    assert (caught.value.retryable, caught.value.retry_after) == (True, 1.0)
    assert caught.value.rate_limited
    # And a step sent at once waits for the rest of that second in place, then goes through
    started = time.monotonic()
    assert post(app, **config)["ok"] is True
    assert time.monotonic() - started > 0.5
    assert len(slack.messages) == 1


def test_a_slack_outage_is_retryable(app: Flask, slack: FakeSlack) -> None:
    slack.fail_next(Reply.json({"ok": False, "error": "service_unavailable"}, status=503))

    with pytest.raises(ActionError, match="service_unavailable") as caught:
        post(app, via="bot", bot_token=slack.token, channel="C0001", text="hi")

    assert caught.value.retryable


def test_credentials_are_secret_fields_and_never_echoed_by_validation() -> None:
    assert ACTION.secret_fields() == {"webhook_url", "bot_token"}
    with pytest.raises(ValidationError) as caught:
        ACTION.validate_config({"webhook_url": "ftp://hooks.example/T0/B0/secret-123", "text": "x"})
    assert "secret-123" not in str(caught.value)


def test_a_bot_needs_a_token_and_a_channel() -> None:
    with pytest.raises(ValidationError, match="needs bot_token and channel"):
        ACTION.validate_config({"via": "bot", "bot_token": "xoxb-1", "text": "x"})
