"""The execution endpoints: trigger, show with steps, list and filter, cancel, re-run.

Executions really run: the app's embedded worker starts with the first request (StubBroker),
and the tests poll the API until each execution is final.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, Workflow
from app.services.executions import lifecycle
from tests.api_client import Api, error_of, issue_token

TWO_STEPS = {
    "name": "Order pipeline",
    "run_key_template": "{{ trigger.customer }}",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "config": {"fields": {"total": "{{ trigger.amount * 2 }}"}},
        },
        {"key": "say", "type": "log", "config": {"message": "{{ trigger.customer.upper() }}"}},
    ],
}

# The second step reads a field the trigger data may lack: a step error, not retried.
FRAGILE = {
    "name": "Fragile",
    "steps": [
        {"key": "shape", "type": "transform", "config": {"fields": {"n": "{{ trigger.n }}"}}},
        {"key": "say", "type": "log", "config": {"message": "{{ trigger.customer.name }}"}},
    ],
}

# Waits an hour at its first step: stays live until cancelled.
SLOW = {
    "name": "Slow",
    "steps": [
        {"key": "wait", "type": "delay", "config": {"amount": 1, "unit": "hours"}},
        {"key": "say", "type": "log", "config": {"message": "late"}},
    ],
}


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


@pytest.fixture
def mallory(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app, "mallory@example.com"))


def test_a_trigger_answers_202_and_the_execution_runs_to_completion(alice: Api) -> None:
    # Given an enabled two-step workflow
    workflow = alice.create(TWO_STEPS, enable=True)

    # When it is triggered with data
    response = alice.post(f"/workflows/{workflow['id']}/trigger", {"amount": 21, "customer": "ann"})

    # Then the answer is 202 with the stored execution, and a link to follow it
    assert response.status_code == 202
    accepted = response.get_json()
    assert accepted["status"] in ("pending", "running", "completed")
    assert accepted["workflow_id"] == workflow["id"]
    assert accepted["trigger_type"] == "api"
    assert accepted["run_key"] == "ann"
    location = response.headers["Location"]
    assert location == f"/api/v1/executions/{accepted['id']}"

    # And polling it shows every step's outcome
    done = alice.wait(accepted["id"])
    assert done["status"] == "completed"
    assert done["trigger_data"] == {"amount": 21, "customer": "ann"}
    shape, say = done["steps"]
    assert (shape["key"], shape["type"], shape["status"]) == ("shape", "transform", "completed")
    assert shape["output"] == {"total": 42}
    assert shape["input"] == {"fields": {"total": 42}}
    assert say["output"]["message"] == "ANN"
    assert [s["attempts"] for s in done["steps"]] == [1, 1]
    assert all(s["duration_ms"] is not None and s["duration_ms"] >= 0 for s in done["steps"])
    assert done["started_at"] and done["finished_at"]


def test_a_trigger_without_a_body_runs_with_empty_data(client: FlaskClient, alice: Api) -> None:
    workflow = alice.create({"name": "no data", "steps": []}, enable=True)

    response = client.post(f"/api/v1/workflows/{workflow['id']}/trigger", headers=alice.headers())

    assert response.status_code == 202
    assert alice.wait(response.get_json()["id"])["trigger_data"] == {}


def test_a_disabled_workflow_cannot_be_triggered(alice: Api) -> None:
    workflow = alice.create(TWO_STEPS)

    response = alice.post(f"/workflows/{workflow['id']}/trigger", {"amount": 1})

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert alice.get("/workflows/executions/history").get_json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([1, 2], 422, "validation_error"),
        ("text", 422, "validation_error"),
        ({"bad": "\u0000"}, 400, "invalid_json"),
    ],
)
def test_trigger_data_must_be_a_storable_json_object(
    alice: Api, body: Any, status: int, code: str
) -> None:
    workflow = alice.create(TWO_STEPS, enable=True)

    response = alice.post(f"/workflows/{workflow['id']}/trigger", body)

    assert response.status_code == status
    assert error_of(response)["code"] == code


@pytest.fixture
def small_payloads(app_config: dict[str, object]) -> None:
    app_config["MAX_PAYLOAD_BYTES"] = 100


@pytest.mark.usefixtures("small_payloads")
def test_trigger_data_over_the_cap_is_413(alice: Api) -> None:
    workflow = alice.create(TWO_STEPS, enable=True)

    response = alice.post(f"/workflows/{workflow['id']}/trigger", {"blob": "x" * 200})

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_broker_outage_after_the_commit_still_answers_202(
    app: Flask, alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a broker that cannot be reached
    workflow = alice.create(TWO_STEPS, enable=True)

    def broker_down(*args: object) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(container(app).doorbell, "send", broker_down)

    # When the workflow is triggered
    response = alice.post(f"/workflows/{workflow['id']}/trigger", {"customer": "ann"})

    # Then the execution is stored and answered (recovery sends it once the broker is back)
    assert response.status_code == 202
    stored = alice.get(f"/workflows/executions/{response.get_json()['id']}")
    assert stored.get_json()["status"] == "pending"


@pytest.fixture
def full_queue(app_config: dict[str, object]) -> None:
    """Back-pressure: any queue depth is over the limit."""
    app_config["MAX_QUEUE_DEPTH"] = 0


@pytest.mark.usefixtures("full_queue")
def test_a_trigger_is_refused_with_429_while_the_queue_is_full(alice: Api) -> None:
    workflow = alice.create(TWO_STEPS, enable=True)

    response = alice.post(f"/workflows/{workflow['id']}/trigger", {"customer": "ann"})

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert alice.get("/workflows/executions/history").get_json()["items"] == []


def test_a_failed_execution_reruns_from_the_failed_step_with_new_data(alice: Api) -> None:
    # Given an execution that failed at its second step for want of trigger data
    workflow = alice.create(FRAGILE, enable=True)
    failed = alice.wait(alice.trigger(workflow["id"], {"n": 1}))
    assert failed["status"] == "failed"
    assert [s["status"] for s in failed["steps"]] == ["completed", "failed"]
    assert "config.message" in failed["steps"][1]["error"]

    # When it is re-run from the failed step with corrected data
    response = alice.post(
        f"/workflows/executions/{failed['id']}/rerun",
        {"from_failed": True, "trigger_data": {"n": 2, "customer": {"name": "Ann"}}},
    )

    # Then a new execution completes, reusing the first step's earlier output
    assert response.status_code == 202
    again = alice.wait(response.get_json()["id"])
    assert again["status"] == "completed"
    assert again["rerun_of_id"] == failed["id"]
    assert again["steps"][0]["output"] == {"n": 1}
    assert again["steps"][0]["attempts"] == 0
    assert again["steps"][1]["output"]["message"] == "Ann"


def test_a_rerun_from_the_start_runs_every_step_with_the_same_data(
    client: FlaskClient, alice: Api
) -> None:
    workflow = alice.create(TWO_STEPS, enable=True)
    first = alice.wait(alice.trigger(workflow["id"], {"amount": 1, "customer": "bo"}))

    response = client.post(
        f"/api/v1/workflows/executions/{first['id']}/rerun", headers=alice.headers()
    )

    assert response.status_code == 202
    again = alice.wait(response.get_json()["id"])
    assert again["trigger_data"] == first["trigger_data"]
    assert [s["attempts"] for s in again["steps"]] == [1, 1]


def test_a_rerun_from_the_failed_step_of_a_completed_run_is_409(alice: Api) -> None:
    workflow = alice.create(TWO_STEPS, enable=True)
    done = alice.wait(alice.trigger(workflow["id"], {"amount": 1, "customer": "bo"}))

    response = alice.post(f"/workflows/executions/{done['id']}/rerun", {"from_failed": True})

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_a_live_execution_is_cancelled_once(alice: Api) -> None:
    # Given an execution waiting at a one-hour delay
    workflow = alice.create(SLOW, enable=True)
    execution_id = alice.trigger(workflow["id"])

    # When it is cancelled
    cancelled = alice.post(f"/workflows/executions/{execution_id}/cancel")

    # Then it is final, its remaining steps skipped, and it cannot be cancelled nor
    # re-run from a failed step again
    assert cancelled.status_code == 200
    body = cancelled.get_json()
    assert body["status"] == "cancelled"
    assert body["steps"][1]["status"] == "skipped"
    again = alice.post(f"/workflows/executions/{execution_id}/cancel")
    assert again.status_code == 409
    assert error_of(again)["code"] == "conflict"


def test_a_live_execution_cannot_be_rerun(alice: Api) -> None:
    workflow = alice.create(SLOW, enable=True)
    execution_id = alice.trigger(workflow["id"])

    response = alice.post(f"/workflows/executions/{execution_id}/rerun")

    assert response.status_code == 409


def start_quietly(app: Flask, workflow_id: int, data: dict[str, Any]) -> int:
    """An execution stored as a trigger stores it, without ringing the doorbell: no worker
    runs it, so the list tests control every row's state."""
    with app.app_context():
        session = db.session()
        workflow = session.get(Workflow, workflow_id)
        assert workflow is not None
        execution = lifecycle.start(
            session, workflow, data, send=lambda *args: None, settings=settings_of(app)
        )
        return execution.id


def _age(app: Flask, ages: dict[int, timedelta], statuses: dict[int, str]) -> datetime:
    """Set executions' created_at to now - age and their status; return that now."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        for execution_id, age in ages.items():
            db.session.execute(
                update(Execution)
                .where(Execution.id == execution_id)
                .values(created_at=now - age, status=statuses.get(execution_id, "pending"))
            )
        db.session.commit()
    return now


def test_history_pages_newest_first_and_filters(app: Flask, alice: Api, mallory: Api) -> None:
    # Given five of alice's executions over two workflows, of various ages and states,
    # and one of mallory's
    first = alice.create(TWO_STEPS)["id"]
    second = alice.create({**TWO_STEPS, "name": "other"})["id"]
    ids = [start_quietly(app, first, {"customer": f"c{i}"}) for i in range(3)]
    ids += [start_quietly(app, second, {"customer": "c0"}) for _ in range(2)]
    start_quietly(app, mallory.create(TWO_STEPS)["id"], {"customer": "c0"})
    hours = {execution_id: timedelta(hours=i) for i, execution_id in enumerate(ids)}
    now = _age(app, hours, {ids[1]: "failed", ids[3]: "failed", ids[4]: "completed"})

    def history(**query: Any) -> list[int]:
        response = alice.get("/workflows/executions/history", **query)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    # When alice pages through all of them two at a time
    seen: list[int] = []
    cursor = None
    while True:
        page = alice.get(
            "/workflows/executions/history", limit=2, **({"cursor": cursor} if cursor else {})
        ).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then she sees her five, newest first, and none of mallory's
    assert seen == ids
    # And each filter narrows the list
    assert history(workflow_id=second) == ids[3:]
    assert history(status="failed") == [ids[1], ids[3]]
    assert history(status=["failed", "completed"]) == [ids[1], ids[3], ids[4]]
    after = (now - timedelta(hours=2)).isoformat()
    before = (now - timedelta(minutes=30)).isoformat()
    assert history(created_after=after) == ids[:3]
    assert history(created_after=after, created_before=before) == ids[1:3]
    assert history(run_key="c0") == [ids[0], ids[3], ids[4]]
    assert history(run_key="c0", workflow_id=first) == [ids[0]]
    # And a filter combines with paging
    page = alice.get("/workflows/executions/history", limit=1, status="failed").get_json()
    following = alice.get(
        "/workflows/executions/history", limit=1, status="failed", cursor=page["next_cursor"]
    ).get_json()
    assert [i["id"] for i in page["items"] + following["items"]] == [ids[1], ids[3]]
    assert following["next_cursor"] is None


def test_a_workflows_list_holds_only_its_executions(app: Flask, alice: Api) -> None:
    first = alice.create(TWO_STEPS)["id"]
    second = alice.create(TWO_STEPS)["id"]
    ours = [start_quietly(app, first, {"customer": "a"}) for _ in range(3)]
    start_quietly(app, second, {"customer": "a"})
    _age(app, {e: timedelta(minutes=i) for i, e in enumerate(ours)}, {ours[0]: "failed"})

    response = alice.get(f"/workflows/{first}/executions")
    failed = alice.get(f"/workflows/{first}/executions", status="failed")

    assert [i["id"] for i in response.get_json()["items"]] == ours
    assert [i["id"] for i in failed.get_json()["items"]] == [ours[0]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"workflow_id": "x"}, "workflow_id"),
        ({"workflow_id": "0"}, "workflow_id"),
        ({"workflow_id": str(2**31)}, "workflow_id"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2024-05-01T12:00:00"}, "created_after"),
        ({"created_before": "0001-01-01T00:00:00+05:00"}, "created_before"),
        ({"run_key": "a\u0000b"}, "run_key"),
        ({"run_key": "k" * 256}, "run_key"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "not-ours"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(
    alice: Api, query: dict[str, str], field: str
) -> None:
    response = alice.get("/workflows/executions/history", **query)

    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["field"]) == ("invalid_parameter", field)


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "/cancel"), ("post", "/rerun")]
)
def test_another_users_execution_is_the_same_404_as_a_missing_one(
    alice: Api, mallory: Api, method: str, suffix: str
) -> None:
    # Given a live execution of alice's
    execution_id = alice.trigger(alice.create(SLOW, enable=True)["id"])

    # When mallory calls the endpoint on it, and on an id that does not exist
    theirs = getattr(mallory, method)(f"/workflows/executions/{execution_id}{suffix}")
    missing = getattr(mallory, method)(f"/workflows/executions/{execution_id + 99}{suffix}")

    # Then both are 404, and alice's execution is untouched
    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs)["code"] == error_of(missing)["code"] == "not_found"
    assert alice.get(f"/workflows/executions/{execution_id}").get_json()["status"] != "cancelled"
    assert mallory.get("/workflows/executions/history").get_json()["items"] == []


@pytest.mark.parametrize("suffix", ["", "/cancel", "/rerun"])
@pytest.mark.parametrize("execution_id", ["0", str(2**63), "1" * 30, "-5"])
def test_execution_ids_out_of_range_are_404(
    client: FlaskClient, alice: Api, execution_id: str, suffix: str
) -> None:
    path = f"/api/v1/workflows/executions/{execution_id}{suffix}"
    response = (client.post if suffix else client.get)(path, headers=alice.headers())

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
