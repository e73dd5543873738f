"""Response modes, idempotency keys and the editor's test URL."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Workflow
from app.services.webhooks import receiver
from tests.hooks_support import executions_of, make_hook, trigger_row, wait_final

THREE_STEPS: list[dict[str, Any]] = [
    {"key": "a", "type": "transform", "config": {"fields": {"n": "{{ trigger.body.n }}"}}},
    {"key": "b", "type": "transform", "config": {"fields": {"n2": "{{ steps.a.n * 2 }}"}}},
    {"key": "c", "type": "transform", "config": {"fields": {"answer": "{{ steps.b.n2 + 1 }}"}}},
]


def test_immediate_mode_answers_202_with_the_stored_execution_id(
    app: Flask, client: FlaskClient
) -> None:
    hook = make_hook(app, {"response_mode": "immediate"}, THREE_STEPS)

    response = client.post(hook.url, json={"n": 20})

    assert response.status_code == 202
    body = response.get_json()
    assert body == {"execution_id": body["execution_id"], "duplicate": False}
    # the row existed when the answer left: it is found at once, whatever its status
    assert [e.id for e in executions_of(app, hook.workflow_id)] == [body["execution_id"]]


def test_wait_mode_answers_with_the_last_steps_output(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app, {"response_mode": "wait"}, THREE_STEPS)

    response = client.post(hook.url, json={"n": 20})

    assert response.status_code == 200
    assert response.get_json() == {"answer": 41}
    (execution,) = executions_of(app, hook.workflow_id)
    assert execution.status == "completed"
    assert response.headers["X-Execution-Id"] == str(execution.id)


def test_wait_mode_answers_504_with_the_id_when_the_run_is_slow(
    app: Flask, client: FlaskClient
) -> None:
    # Given a workflow that waits 30 s and a 1 s timeout
    steps = [
        {"key": "later", "type": "delay", "config": {"amount": 30}},
        {"key": "then", "type": "log", "config": {"message": "done"}},
    ]
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 1}, steps)

    response = client.post(hook.url, json={})

    # Then the answer is 504 naming the execution, which goes on
    assert response.status_code == 504
    (execution,) = executions_of(app, hook.workflow_id)
    assert response.headers["X-Execution-Id"] == str(execution.id)
    assert str(execution.id) in response.get_json()["error"]["message"]
    assert execution.status in ("pending", "running")


def test_wait_mode_answers_502_when_the_run_fails(app: Flask, client: FlaskClient) -> None:
    steps = [{"key": "boom", "type": "test_flaky", "config": {"succeed_on_attempt": 9}}]
    hook = make_hook(app, {"response_mode": "wait"}, steps)

    response = client.post(hook.url, json={})

    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "execution_failed"
    assert "planned failure" not in response.get_data(as_text=True)  # step errors stay inside


def test_an_idempotency_header_makes_three_deliveries_one_execution(
    app: Flask, client: FlaskClient
) -> None:
    # Given a webhook deduplicating on GitHub's delivery id
    hook = make_hook(app, {"idempotency_key": "X-GitHub-Delivery"})
    headers = {"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}

    # When the same delivery arrives three times (and another one once)
    answers = [client.post(hook.url, json={"n": i}, headers=headers) for i in range(3)]
    other = client.post(hook.url, json={}, headers={"X-GitHub-Delivery": "another"})

    # Then one execution ran for it; the repeats answer with its id and start nothing
    ids = {a.get_json()["execution_id"] for a in answers}
    assert len(ids) == 1 and [a.status_code for a in answers] == [202] * 3
    assert [a.get_json()["duplicate"] for a in answers] == [False, True, True]
    assert answers[2].headers["Idempotent-Replayed"] == "true"
    executions = wait_final(app, hook.workflow_id, 2)
    assert executions[0].id == ids.pop()
    assert executions[0].trigger_data["body"] == {"n": 0}
    assert other.status_code == 202 and len(executions) == 2


def test_a_template_key_deduplicates_concurrent_deliveries(app: Flask) -> None:
    # Given a key taken from the body, and eight identical deliveries sent at once
    hook = make_hook(app, {"idempotency_key": "{{ trigger.body.event_id }}"})
    statuses: list[int] = []
    ids: list[int] = []
    start = threading.Barrier(8)

    def deliver() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(hook.url, json={"event_id": "evt_42"})
        statuses.append(response.status_code)
        ids.append(response.get_json()["execution_id"])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then all were answered 2xx with one id, and one execution exists
    assert statuses == [202] * 8
    assert len(set(ids)) == 1
    assert len(wait_final(app, hook.workflow_id)) == 1


def test_a_key_is_forgotten_after_its_window(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app, {"idempotency_key": "X-Id", "idempotency_window_seconds": 1})
    first = client.post(hook.url, json={}, headers={"X-Id": "k"})
    with app.app_context():  # the window passes (moved back instead of waited for)
        from sqlalchemy import update

        from app.models import WebhookDelivery
        from app.models.base import utcnow

        db.session.execute(update(WebhookDelivery).values(expires_at=utcnow()))
        db.session.commit()

    again = client.post(hook.url, json={}, headers={"X-Id": "k"})

    assert again.get_json()["execution_id"] != first.get_json()["execution_id"]
    assert len(wait_final(app, hook.workflow_id, 2)) == 2


def test_the_test_url_captures_one_request_as_sample_data_without_running(
    app: Flask, client: FlaskClient
) -> None:
    # Given a webhook (disabled: it is being built) whose editor is listening
    hook = make_hook(app, enabled=False)
    not_yet = client.post(hook.test_url, json={"early": True})
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        receiver.listen(db.session(), workflow)

    # When a request reaches the test URL, then another one
    captured = client.post(hook.test_url + "/sub?x=1", json={"sample": 1})
    second = client.post(hook.test_url, json={"sample": 2})

    # Then the first is stored as the trigger's sample data, and nothing ran
    assert (not_yet.status_code, captured.status_code, second.status_code) == (404, 200, 404)
    sample = trigger_row(app, hook.workflow_id).sample_data
    assert sample is not None
    assert sample["body"] == {"sample": 1} and sample["path"] == "/sub"
    assert sample["query"] == {"x": "1"}
    assert executions_of(app, hook.workflow_id) == []
    assert client.post(hook.url, json={}).status_code == 404  # the live URL is off meanwhile


def test_the_test_url_checks_the_signature_too(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app, {"auth": "header", "header": "X-Key", "secret": "k3y"})
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        receiver.listen(db.session(), workflow)

    unsigned = client.post(hook.test_url, json={})
    signed = client.post(hook.test_url, json={"ok": 1}, headers={"X-Key": "k3y"})

    assert (unsigned.status_code, signed.status_code) == (401, 200)
    sample = trigger_row(app, hook.workflow_id).sample_data
    assert sample is not None and "x-key" not in sample["headers"]
