"""Dry runs with the real worker (SQLite + in-process worker; PostgreSQL + Redis with a
`dramatiq app.tasks` process): steps that send record the request they would send and send
nothing; the other steps run for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.redaction import REDACTED
from tests.engine_harness import Engine, engine_fixture
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack

API_TOKEN = "sk-live-0123456789abcdef"


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    # The fake servers are reachable: a step that really sent would reach them.
    yield from engine_fixture(
        backend,
        database_url,
        tmp_path_factory.mktemp("dry-run"),
        OUTBOUND_ALLOWLIST=["127.0.0.1/32"],
    )


@pytest.fixture
def shop() -> Iterator[FakeServer]:
    with FakeServer() as server:
        server.on("POST", "/orders", Reply.json({"id": "ord_1"}, 201))
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeServer() as server:
        yield FakeSlack(server)


def order_workflow(shop: FakeServer, slack: FakeSlack, journal: Path) -> dict[str, Any]:
    return {
        "name": "New order",
        "steps": [
            {
                "key": "shape",
                "type": "transform",
                "config": {
                    "fields": {"email": "{{ trigger.email }}", "total": "{{ trigger.amount * 2 }}"}
                },
            },
            {
                "key": "call",
                "type": "http_request",
                "config": {
                    "method": "POST",
                    "url": shop.url("/orders"),
                    "query": {"ref": "{{ trigger.ref }}"},
                    "headers": {"X-Trace": "t-1"},
                    "body_type": "json",
                    "body": {
                        "email": "{{ steps.shape.email }}",
                        "total": "{{ steps.shape.total }}",
                    },
                    "auth_type": "bearer",
                    "auth_token": API_TOKEN,
                },
            },
            {
                "key": "notify",
                "type": "slack_message",
                "config": {
                    "webhook_url": slack.webhook_url,
                    "text": "New order from {{ steps.shape.email }}",
                },
            },
            # A plugin that sends but cannot describe its request (tests/plugins).
            {"key": "effect", "type": "test_effect", "config": {"journal": str(journal)}},
            {"key": "wait", "type": "delay", "config": {"amount": 2, "unit": "hours"}},
            {
                "key": "after",
                "type": "transform",
                "config": {
                    "fields": {"summary": "{{ steps.shape.email }} / {{ steps.call.dry_run }}"}
                },
            },
        ],
    }


TRIGGER = {"email": "ann@example.com", "amount": 21, "ref": "R-1"}


def test_a_dry_run_records_what_would_be_sent_and_sends_nothing(
    engine: Engine, shop: FakeServer, slack: FakeSlack, tmp_path: Path
) -> None:
    # Given a workflow: transform → HTTP request → Slack → a sending plugin → delay → transform
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(order_workflow(shop, slack, journal))

    # When it is dry run on the real worker
    execution_id = engine.trigger(workflow_id, TRIGGER, dry_run=True)
    (execution,) = engine.wait(execution_id)

    # Then it completed as a dry run, without waiting for its two-hour delay
    assert (execution.status, execution.dry_run) == ("completed", True)
    shape, call, notify, effect, wait, after = engine.steps(execution_id)
    # The pure steps ran for real, the later one reading the earlier records
    assert shape.output == {"email": "ann@example.com", "total": 42}
    assert after.output == {"summary": "ann@example.com / recorded"}
    # The HTTP step recorded its request: method, URL with its query, headers, JSON body
    assert call.status == "completed"
    assert call.output is not None and call.output["dry_run"] == "recorded"
    request = call.output["request"]
    assert request["method"] == "POST"
    assert request["url"] == shop.url("/orders") + "?ref=R-1"
    assert request["host"] == "127.0.0.1"
    assert request["body"] == {"email": "ann@example.com", "total": 42}
    headers = request["headers"]
    assert headers["X-Trace"] == "t-1"
    assert headers["Idempotency-Key"] == f"{execution_id}:call"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Authorization"] == REDACTED  # the credential is masked
    # The Slack step recorded its post; the webhook URL is a credential, so it is masked too
    assert notify.output is not None and notify.output["dry_run"] == "recorded"
    assert notify.output["request"]["method"] == "POST"
    assert notify.output["request"]["url"] == REDACTED
    assert notify.output["request"]["host"] == "127.0.0.1"
    assert notify.output["request"]["body"] == {"text": "New order from ann@example.com"}
    # The plugin that cannot describe its request was not run at all
    assert effect.output is not None and effect.output["dry_run"] == "skipped"
    assert not journal.exists()
    assert wait.output is not None and wait.output["dry_run"] == "did not wait"
    # No secret anywhere in what was stored
    stored = json.dumps([[s.input, s.output] for s in (call, notify)])
    assert API_TOKEN not in stored
    assert slack.webhook_path not in stored
    # And the fake servers received nothing: not a request, not even a connection
    assert (shop.requests, shop.connections) == ([], 0)
    assert (slack.server.requests, slack.server.connections, slack.messages) == ([], 0, [])

    # Whereas the same workflow run for real does reach them (so the dry run was the difference)
    real_id = engine.trigger(workflow_id, TRIGGER)
    # (it then waits two hours in its delay step)
    engine.wait_for(lambda: engine.steps(real_id)[3].status == "completed", timeout=30)
    assert engine.execution(real_id).dry_run is False
    assert [r.json() for r in shop.requests_to("/orders")] == [
        {"email": "ann@example.com", "total": 42}
    ]
    assert slack.messages == [{"via": "webhook", "text": "New order from ann@example.com"}]
    assert journal.read_text().count(f"{real_id}:effect") == 1
