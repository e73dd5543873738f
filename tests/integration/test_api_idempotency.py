"""Idempotency-Key on the POSTs that create: same key within 24 h → the same answer, done once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.extensions import container, db
from app.models import Execution, IdempotencyKey, Workflow
from app.models.base import utcnow
from app.scheduler import Scheduler
from app.services import idempotency
from tests.api_client import Api, error_of, issue_token

FLOW = {"name": "Echo", "steps": [{"key": "say", "type": "log", "config": {"message": "hi"}}]}


@pytest.fixture(autouse=True)
def no_worker(app_config: dict[str, object]) -> None:
    """No worker runs these executions (autouse: set before any test's `app` is built; as a
    dependency of `alice` it came after `app` in tests asking for both, too late)."""
    app_config["EMBEDDED_WORKER"] = False


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_retried_trigger_starts_one_execution_and_answers_the_same(
    app: Flask, alice: Api
) -> None:
    # Given an enabled workflow
    workflow = alice.create(FLOW, enable=True)
    path = f"/workflows/{workflow['id']}/trigger"

    # When a script sends the same trigger twice with one key (say, after a timeout)
    first = alice.post(path, {"order": 7}, headers=key("order-7"))
    second = alice.post(path, {"order": 7}, headers=key("order-7"))

    # Then one execution exists, and the retry got the first answer, marked as a replay
    assert first.status_code == second.status_code == 202
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(app, Execution) == 1

    # And another key starts another execution
    third = alice.post(path, {"order": 7}, headers=key("order-7-again"))
    assert third.get_json()["id"] != first.get_json()["id"]
    assert count(app, Execution) == 2


def test_a_retried_create_makes_one_workflow(app: Flask, alice: Api) -> None:
    first = alice.post("/workflows", FLOW, headers=key("create-1"))
    second = alice.post("/workflows", FLOW, headers=key("create-1"))

    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    assert count(app, Workflow) == 1


def test_imports_and_reruns_honour_the_key_too(app: Flask, alice: Api) -> None:
    workflow = alice.create(FLOW, enable=True)
    document = alice.get(f"/workflows/{workflow['id']}/export").get_json()
    imports = [alice.post("/workflows/import", document, headers=key("imp")) for _ in range(2)]
    execution_id = alice.trigger(workflow["id"])
    with app.app_context():  # the run is over (no worker here: mark it so)
        db.session.execute(update(Execution).values(status="completed"))
        db.session.commit()
    rerun = f"/workflows/executions/{execution_id}/rerun"
    reruns = [alice.post(rerun, {}, headers=key("again")) for _ in range(2)]

    assert imports[0].get_json()["id"] == imports[1].get_json()["id"]
    assert [r.status_code for r in reruns] == [202, 202], [r.get_json() for r in reruns]
    assert reruns[0].get_json()["id"] == reruns[1].get_json()["id"]
    assert count(app, Workflow) == 2
    assert count(app, Execution) == 2


def test_the_same_key_for_another_request_is_422(app: Flask, alice: Api) -> None:
    workflow = alice.create(FLOW, enable=True)
    path = f"/workflows/{workflow['id']}/trigger"
    alice.post(path, {"order": 7}, headers=key("k1"))

    other_body = alice.post(path, {"order": 8}, headers=key("k1"))
    other_path = alice.post("/workflows", FLOW, headers=key("k1"))

    for response in (other_body, other_path):
        assert response.status_code == 422
        assert error_of(response) == {
            "code": "validation_error",
            "message": "This Idempotency-Key was already used for a different request; "
            "use a new key.",
            "field": "Idempotency-Key",
        }
    assert count(app, Execution) == 1


def test_keys_belong_to_their_user(app: Flask, client: FlaskClient, alice: Api) -> None:
    mallory = Api(client, issue_token(app, "mallory@example.com"))

    mine = alice.post("/workflows", FLOW, headers=key("shared-name"))
    theirs = mallory.post("/workflows", FLOW, headers=key("shared-name"))

    assert theirs.status_code == 201
    assert theirs.get_json()["id"] != mine.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_failed_request_releases_its_key(app: Flask, alice: Api) -> None:
    # Given a trigger refused because the workflow is disabled
    workflow = alice.create(FLOW)
    path = f"/workflows/{workflow['id']}/trigger"
    refused = alice.post(path, {}, headers=key("retry-me"))
    assert refused.status_code == 409

    # When the script fixes the cause and retries with the same key
    alice.post(f"/workflows/{workflow['id']}/enable")
    retried = alice.post(path, {}, headers=key("retry-me"))

    # Then the retry does the work
    assert retried.status_code == 202
    assert "Idempotent-Replayed" not in retried.headers
    assert count(app, Execution) == 1


def test_a_request_in_flight_holds_its_key(app: Flask, alice: Api) -> None:
    # Given a key reserved by a request that has not finished
    workflow = alice.create(FLOW, enable=True)
    path = f"/api/v1/workflows/{workflow['id']}/trigger"
    with app.app_context():
        user_id = db.session.scalar(select(Workflow.user_id))
        assert user_id is not None
        idempotency.reserve(
            db.session(), user_id, "busy", idempotency.fingerprint("POST", path, b"{}")
        )

    # When a duplicate arrives
    response = alice.post(f"/workflows/{workflow['id']}/trigger", {}, headers=key("busy"))

    # Then it is told to retry, and nothing runs twice
    assert response.status_code == 409
    assert "still being processed" in error_of(response)["message"]
    assert count(app, Execution) == 0


def test_a_key_expires_after_24_hours(app: Flask, alice: Api) -> None:
    workflow = alice.create(FLOW, enable=True)
    path = f"/workflows/{workflow['id']}/trigger"
    first = alice.post(path, {}, headers=key("daily"))
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(1)))
        db.session.commit()

    later = alice.post(path, {}, headers=key("daily"))

    assert later.status_code == 202
    assert later.get_json()["id"] != first.get_json()["id"]
    assert count(app, Execution) == 2
    with app.app_context():
        assert idempotency.prune(db.session()) == 0  # the expired row went on reuse


def test_the_scheduler_prunes_expired_keys(app: Flask, alice: Api) -> None:
    # Given one live key and one a day past its expiry
    workflow = alice.create(FLOW, enable=True)
    for name in ("old", "new"):
        alice.post(f"/workflows/{workflow['id']}/trigger", {}, headers=key(name))
    with app.app_context():
        db.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "old")
            .values(expires_at=utcnow() - timedelta(days=1))
        )
        db.session.commit()

    # When the scheduler's hourly clean-up runs
    scheduler = Scheduler(container(app), lambda *args: None)
    scheduler.prune_trigger_log()

    # Then only the live key is left
    with app.app_context():
        assert db.session.scalars(select(IdempotencyKey.key)).all() == ["new"]


@pytest.mark.parametrize("value", ["", "a" * 256, "naïve", "with space", "tab\there"])
def test_a_malformed_key_is_400(app: Flask, alice: Api, value: str) -> None:
    workflow = alice.create(FLOW, enable=True)

    response = alice.client.post(
        f"/api/v1/workflows/{workflow['id']}/trigger",
        json={},
        headers=alice.headers({"Idempotency-Key": value}),
    )

    assert response.status_code == 400
    assert error_of(response)["field"] == "Idempotency-Key"
    assert count(app, Execution) == 0


def test_concurrent_duplicates_start_one_execution(app: Flask, alice: Api) -> None:
    # Given an enabled workflow and eight clients sending one request with one key at once
    workflow = alice.create(FLOW, enable=True)
    path = f"/api/v1/workflows/{workflow['id']}/trigger"
    start = threading.Barrier(8)
    statuses: list[int] = []

    def send() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(path, json={"n": 1}, headers=alice.headers(key("race")))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one execution exists; every answer is the result or "retry shortly"
    assert count(app, Execution) == 1
    assert set(statuses) <= {202, 409}
    assert 202 in statuses


def test_a_failure_after_the_commit_keeps_the_key_answered(
    app: Flask, alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a doorbell that fails unexpectedly once the execution is committed
    workflow = alice.create(FLOW, enable=True)
    path = f"/workflows/{workflow['id']}/trigger"

    def doorbell_bug(*args: object) -> None:
        raise RuntimeError("unexpected failure after the commit")

    monkeypatch.setattr(container(app).doorbell, "send", doorbell_bug)

    # When the trigger fails with a 500 and the script retries with the same key
    failed = alice.post(path, {"n": 1}, headers=key("after-commit"))
    monkeypatch.undo()
    retried = alice.post(path, {"n": 1}, headers=key("after-commit"))

    # Then the retry gets the stored execution, and no second one is started
    # (recovery re-sends the first one's doorbell: the database is the source of truth)
    assert failed.status_code == 500
    assert "unexpected failure" not in failed.get_data(as_text=True)
    assert retried.status_code == 202
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert count(app, Execution) == 1
    with app.app_context():
        assert db.session.scalar(select(Execution.id)) == retried.get_json()["id"]
