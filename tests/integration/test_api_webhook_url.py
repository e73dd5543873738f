"""`webhook_url` tells the truth: issued when the trigger becomes a webhook, live once enabled,
null for any other trigger (whose old URL never answers again), and rotatable through the API."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token

STEPS = [{"key": "say", "type": "log", "config": {"message": "got {{ trigger.n }}"}}]
HOOK: dict[str, Any] = {"name": "Inbound", "trigger": {"type": "webhook"}, "steps": STEPS}
MANUAL: dict[str, Any] = {"name": "Inbound", "trigger": {"type": "manual"}, "steps": STEPS}


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def _path(url: str) -> str:
    assert url.startswith("http://localhost/hooks/"), url
    return url.removeprefix("http://localhost")


def test_a_webhook_has_its_url_from_creation_and_it_answers_once_enabled(
    alice: Api, client: FlaskClient
) -> None:
    # When a webhook workflow is created
    created = alice.create(HOOK)

    # Then its URL is there at once, so a sender can be registered in the same step
    path = _path(created["webhook_url"])
    # And it answers 404 while the workflow is off, 202 once it is on
    assert client.post(path, json={"n": 1}).status_code == 404
    assert (
        alice.post(f"/workflows/{created['id']}/enable").get_json()["webhook_url"]
        == (created["webhook_url"])
    )
    assert client.post(path, json={"n": 1}).status_code == 202


def test_the_url_is_null_and_dead_once_the_trigger_is_not_a_webhook(
    alice: Api, client: FlaskClient
) -> None:
    # Given an enabled webhook workflow whose URL answers
    created = alice.create(HOOK, enable=True)
    old = _path(created["webhook_url"])
    assert client.post(old, json={"n": 1}).status_code == 202

    # When its trigger becomes manual
    changed = alice.put(f"/workflows/{created['id']}", MANUAL)

    # Then webhook_url is null and the old URL is 404
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["webhook_url"] is None
    assert alice.get(f"/workflows/{created['id']}").get_json()["webhook_url"] is None
    assert client.post(old, json={"n": 2}).status_code == 404

    # And when it becomes a webhook again, it gets a new URL; the old one stays dead
    back = alice.put(f"/workflows/{created['id']}", HOOK).get_json()
    new = _path(back["webhook_url"])
    assert new != old
    assert client.post(new, json={"n": 3}).status_code == 202
    assert client.post(old, json={"n": 3}).status_code == 404


def test_a_schedule_trigger_has_no_url(alice: Api) -> None:
    schedule = {
        **MANUAL,
        "trigger": {"type": "schedule", "config": {"cron": "0 9 * * *", "timezone": "UTC"}},
    }
    created = alice.post("/workflows", schedule)

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["webhook_url"] is None


def test_rotating_the_url_retires_the_old_one(alice: Api, client: FlaskClient) -> None:
    # Given an enabled webhook workflow
    created = alice.create(HOOK, enable=True)
    old = _path(created["webhook_url"])

    # When its URL is rotated through the API
    rotated = alice.post(f"/workflows/{created['id']}/webhook/rotate")

    # Then the answer holds the new URL, which answers, while the old one is 404
    assert rotated.status_code == 200, rotated.get_json()
    assert rotated.headers["ETag"] == '"1"'
    new = _path(rotated.get_json()["webhook_url"])
    assert new != old
    assert client.post(new, json={"n": 1}).status_code == 202
    gone = client.post(old, json={"n": 1})
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "not_found"
    assert alice.get(f"/workflows/{created['id']}").get_json()["webhook_url"].endswith(new)


def test_rotating_needs_a_webhook_and_ones_own_workflow(app: Flask, alice: Api) -> None:
    manual = alice.create(MANUAL)
    refused = alice.post(f"/workflows/{manual['id']}/webhook/rotate")
    assert refused.status_code == 409
    assert "not a webhook" in error_of(refused)["message"]

    hook = alice.create(HOOK)
    mallory = Api(alice.client, issue_token(app, "mallory@example.com"))
    theirs = mallory.post(f"/workflows/{hook['id']}/webhook/rotate")
    absent = mallory.post(f"/workflows/{hook['id'] + 1000}/webhook/rotate")
    assert theirs.status_code == absent.status_code == 404
    assert alice.get(f"/workflows/{hook['id']}").get_json()["webhook_url"] == hook["webhook_url"]
