"""Signed webhooks: each sender's preset accepts a delivery signed as that sender documents it,
and refuses (401, no execution) an unsigned, forged, altered or stale one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models.base import utcnow
from tests import webhook_senders as senders
from tests.hooks_support import executions_of, make_hook, trigger_row, wait_final

SECRET = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
BODY = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"amount": 4200}}).encode()

Signer = Callable[[str, bytes, int], dict[str, str]]

PRESETS: dict[str, tuple[dict[str, object], Signer]] = {
    "github": ({"auth": "github"}, lambda s, b, t: senders.github(s, b)),
    "stripe": ({"auth": "stripe"}, senders.stripe),
    "slack": ({"auth": "slack"}, senders.slack),
    "shopify": ({"auth": "shopify"}, lambda s, b, t: senders.shopify(s, b)),
    "hmac-hex": (
        {"auth": "hmac", "header": "X-Signature"},
        lambda s, b, t: senders.generic(s, b, "X-Signature"),
    ),
    "hmac-base64-timestamped": (
        {
            "auth": "hmac",
            "header": "X-Signature",
            "encoding": "base64",
            "timestamp_header": "X-Timestamp",
        },
        lambda s, b, t: senders.generic(s, b, "X-Signature", timestamp=t, encoding="base64"),
    ),
    "static-header": (
        {"auth": "header", "header": "X-Webhook-Secret"},
        lambda s, b, t: {"X-Webhook-Secret": s},
    ),
}
TIMESTAMPED = ("stripe", "slack", "hmac-base64-timestamped")


def _post(client: FlaskClient, url: str, headers: dict[str, str], body: bytes = BODY) -> int:
    response = client.post(url, data=body, content_type="application/json", headers=headers)
    return response.status_code


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_delivery_signed_as_the_sender_documents_is_accepted(
    app: Flask, client: FlaskClient, preset: str
) -> None:
    # Given a webhook with the preset and a secret
    config, sign = PRESETS[preset]
    hook = make_hook(app, {**config, "secret": SECRET})

    # When the sender signs the raw body as it documents and delivers it
    status = _post(client, hook.url, sign(SECRET, BODY, int(time.time())))

    # Then it is accepted, and the secret is in neither the stored config nor the trigger data
    assert status == 202
    (execution,) = wait_final(app, hook.workflow_id)
    assert execution.trigger_data["body"]["id"] == "evt_1"
    assert SECRET not in json.dumps(execution.trigger_data)
    assert SECRET not in json.dumps(trigger_row(app, hook.workflow_id).config)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_unsigned_forged_or_altered_deliveries_are_401(
    app: Flask, client: FlaskClient, preset: str
) -> None:
    config, sign = PRESETS[preset]
    hook = make_hook(app, {**config, "secret": SECRET})
    now = int(time.time())
    altered = BODY.replace(b"4200", b"9999")

    statuses = [
        _post(client, hook.url, {}),  # unsigned
        _post(client, hook.url, sign("whsec_not_the_secret", BODY, now)),  # forged
    ]
    if preset != "static-header":  # a static secret proves the sender, not the body
        statuses.append(_post(client, hook.url, sign(SECRET, BODY, now), altered))

    assert statuses == [401] * len(statuses)
    assert executions_of(app, hook.workflow_id) == []


@pytest.mark.parametrize("preset", TIMESTAMPED)
def test_stale_signatures_are_401(app: Flask, client: FlaskClient, preset: str) -> None:
    # Given a correctly signed delivery whose timestamp is 310 s old (or 310 s ahead)
    config, sign = PRESETS[preset]
    hook = make_hook(app, {**config, "secret": SECRET})
    now = int(time.time())

    stale = _post(client, hook.url, sign(SECRET, BODY, now - 310))
    future = _post(client, hook.url, sign(SECRET, BODY, now + 310))
    recent = _post(client, hook.url, sign(SECRET, BODY, now - 240))

    # Then the stale ones are refused as replays; one within five minutes is accepted
    assert (stale, future, recent) == (401, 401, 202)
    assert len(wait_final(app, hook.workflow_id)) == 1


def test_a_refusal_says_why_without_revealing_the_expected_signature(
    app: Flask, client: FlaskClient
) -> None:
    hook = make_hook(app, {"auth": "github", "secret": SECRET})
    expected = senders.github(SECRET, BODY)["X-Hub-Signature-256"]

    response = client.post(
        hook.url, data=BODY, content_type="application/json", headers=senders.github("x", BODY)
    )

    assert response.status_code == 401
    message = response.get_json()["error"]["message"]
    assert "X-Hub-Signature-256" in message and expected not in response.get_data(as_text=True)


def test_slack_form_bodies_are_verified_over_the_raw_bytes(app: Flask, client: FlaskClient) -> None:
    # Slack slash commands post application/x-www-form-urlencoded; the signature covers the
    # bytes as sent, before any form parsing.
    hook = make_hook(app, {"auth": "slack", "secret": SECRET})
    body = b"token=abc&team_id=T1&text=hello%20world&command=%2Fdeploy"
    headers = senders.slack(SECRET, body, int(utcnow().timestamp()))

    response = client.post(
        hook.url, data=body, content_type="application/x-www-form-urlencoded", headers=headers
    )

    assert response.status_code == 202
    (execution,) = wait_final(app, hook.workflow_id)
    assert execution.trigger_data["body"]["text"] == "hello world"
    assert execution.trigger_data["body"]["command"] == "/deploy"


def test_the_static_header_secret_is_not_stored_as_trigger_data(
    app: Flask, client: FlaskClient
) -> None:
    hook = make_hook(app, {"auth": "header", "header": "X-Webhook-Secret", "secret": SECRET})

    assert _post(client, hook.url, {"X-Webhook-Secret": SECRET}) == 202

    (execution,) = wait_final(app, hook.workflow_id)
    assert "x-webhook-secret" not in execution.trigger_data["headers"]
