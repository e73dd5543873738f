"""Operations endpoints: /healthz, /readyz and the token-protected /metrics."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app import create_app
from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, User
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import TEST_PASSWORD_HASH

TOKEN = "metrics-" + "x" * 24
FINAL = ("completed", "failed", "cancelled")


def _app_with(**settings: Any) -> Flask:
    """An app whose services are wherever `settings` say (nothing is contacted at start)."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "ops",
            "SECRET_KEYS": Fernet.generate_key().decode(),
            "QUEUE_PREFIX": f"stepline-test-{uuid.uuid4().hex[:8]}",
            "EMBEDDED_WORKER": False,
            **settings,
        }
    )


def test_healthz_answers_without_login_or_database() -> None:
    # Given an app whose database cannot be reached
    app = _app_with(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")

    # When a probe asks whether the process is up
    response = app.test_client().get("/healthz")

    # Then it is, without a session cookie or a database round trip
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ok_when_database_and_broker_answer(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "failed": [],
        "checks": {"database": "ok", "broker": "ok"},
    }


def test_readyz_names_the_unreachable_database() -> None:
    # Given an app whose PostgreSQL refuses connections
    app = _app_with(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")

    # When the readiness probe runs
    response = app.test_client().get("/readyz")

    # Then it answers 503 naming the database, and no detail about the host
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["database"]
    assert body["checks"] == {"database": "unreachable", "broker": "ok"}
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_names_the_unreachable_broker(database_url: str) -> None:
    # Given an app whose Redis is down
    app = _app_with(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL="redis://127.0.0.1:1/0")

    # When the readiness probe runs
    response = app.test_client().get("/readyz")

    # Then it answers 503 naming the broker
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["broker"]
    with app.app_context():
        db.engine.dispose()


def test_metrics_are_off_without_a_configured_token(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})

    assert response.status_code == 404


@pytest.fixture
def metrics_on(app_config: dict[str, object]) -> None:
    app_config["METRICS_TOKEN"] = TOKEN


@pytest.mark.usefixtures("metrics_on")
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuse_a_missing_or_wrong_token(
    client: FlaskClient, authorization: str | None
) -> None:
    # Given metrics protected by a token
    headers = {"Authorization": authorization} if authorization else {}

    # When a scraper calls without the right bearer token
    response = client.get("/metrics", headers=headers)

    # Then it is refused with a bearer challenge and no figures
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "stepline_" not in response.get_data(as_text=True)


def _run(app: Flask, steps: list[dict[str, Any]], count: int) -> list[int]:
    """Start `count` executions of a new workflow through the services."""
    with app.app_context():
        user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", name="")
        user.set_password("x" * 12, TEST_PASSWORD_HASH)
        db.session.add(user)
        db.session.commit()
        secrets = container(app).secrets
        spec = WorkflowSpec.model_validate({"name": "measured", "steps": steps})
        workflow = crud.create_workflow(db.session(), user.id, spec, secrets, container().handlers)
        return [
            lifecycle.start(
                db.session(),
                workflow,
                {},
                send=container(app).doorbell.send,
                settings=settings_of(app),
            ).id
            for _ in range(count)
        ]


def _wait_final(app: Flask, ids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            statuses = db.session.scalars(select(Execution.status).where(Execution.id.in_(ids)))
            if all(status in FINAL for status in statuses):
                return
        assert time.monotonic() < deadline, "executions did not finish"
        time.sleep(0.05)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.usefixtures("metrics_on")
def test_metrics_report_recent_executions_step_durations_and_queue_depth(
    app: Flask, client: FlaskClient
) -> None:
    # Given three completed executions of a two-step workflow and one failed execution
    client.get("/healthz")  # the first request starts the embedded worker
    completed = _run(
        app,
        [
            {"key": "shape", "type": "transform", "config": {"fields": {"a": "1"}}},
            {"key": "say", "type": "log", "config": {"message": "hi"}},
        ],
        3,
    )
    failing = {"succeed_on_attempt": 5, "retryable": False}
    failed = _run(app, [{"key": "boom", "type": "test_flaky", "config": failing}], 1)
    _wait_final(app, completed + failed)

    # When Prometheus scrapes with the token
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    # Then the text format carries the window's counts, a histogram per action type and the
    # queue depth
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples = _samples(response.get_data(as_text=True))
    assert samples[("stepline_executions_started", ())] == 4
    assert samples[("stepline_executions_finished", (("status", "completed"),))] == 3
    assert samples[("stepline_executions_finished", (("status", "failed"),))] == 1
    assert samples[("stepline_executions_finished", (("status", "cancelled"),))] == 0
    assert samples[("stepline_executions_live", (("status", "running"),))] == 0
    assert samples[("stepline_executions_overdue", ())] == 0
    for action_type, count in (("transform", 3), ("log", 3), ("test_flaky", 1)):
        labels = (("le", "+Inf"), ("type", action_type))
        assert samples[("stepline_step_duration_seconds_bucket", labels)] == count
        assert samples[("stepline_step_duration_seconds_count", (("type", action_type),))] == count
        fastest = samples[("stepline_step_duration_seconds_bucket", (("le", "0.01"), labels[1]))]
        assert 0 <= fastest <= count
    assert samples[("stepline_queue_depth", ())] == 0


@pytest.fixture
def tiny_window(app_config: dict[str, object]) -> None:
    app_config["METRICS_WINDOW_SECONDS"] = 0.000001


@pytest.mark.usefixtures("metrics_on", "tiny_window")
def test_metrics_leave_out_what_ended_before_the_window(app: Flask, client: FlaskClient) -> None:
    # Given an execution that finished, and a window (a microsecond) that has since moved past it
    client.get("/healthz")
    ids = _run(app, [{"key": "say", "type": "log", "config": {"message": "old"}}], 1)
    _wait_final(app, ids)

    # When Prometheus scrapes
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )

    # Then the windowed figures are empty
    samples = _samples(text)
    assert samples[("stepline_executions_started", ())] == 0
    assert samples[("stepline_executions_finished", (("status", "completed"),))] == 0
    assert not any(name.startswith("stepline_step_duration") for name, _ in samples)
