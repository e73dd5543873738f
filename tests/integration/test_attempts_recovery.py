"""Truthful attempts with real processes on both backends: a `dramatiq app.tasks` worker killed
mid-attempt, the `flask scheduler`'s recovery taking the step over. Each attempt keeps its own
start, end, error and who ended it, and the step's count equals its attempt list on the page
and in the API, while the attempt runs and after."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from app.models import Base
from tests.api_client import Api, issue_token
from tests.conftest import BACKENDS, PASSWORD, create_database, csrf_token, drop_database
from tests.engine_harness import Engine, engine_fixture

LEASE = 3  # seconds: recovery takes over a lost worker's step after this long
EMAIL = "ops@example.com"


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    backend = str(request.param)
    url = create_database(backend, tmp_path)
    schema = create_engine(url)
    Base.metadata.create_all(schema)
    schema.dispose()
    yield from engine_fixture(backend, url, tmp_path, mode="redis", lease=LEASE)
    drop_database(url)


def _wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _logged_in(engine: Engine) -> FlaskClient:
    client = engine.app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _header_count(html: str) -> int:
    found = re.search(
        r'<span class="step-meta muted">(?:<span class="visually-hidden">[^<]*</span>)?'
        r"(\d+) attempts? ·",
        html,
    )
    assert found, html
    return int(found.group(1))


def _listed(html: str) -> list[str]:
    """The attempts list of the page: each line's `data-ended-by`."""
    summary = re.search(r"<summary>Attempts \((\d+)\)</summary>", html)
    assert summary, html
    lines = re.findall(r'<li class="attempt" data-ended-by="([a-z]+)">', html)
    assert int(summary.group(1)) == len(lines)
    return lines


def test_an_attempt_taken_over_by_recovery_has_its_own_start_and_the_count_matches(
    engine: Engine, tmp_path: Path
) -> None:
    # Given a step whose first attempt fails at once and whose second one runs for a minute
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))  # registers the owner
    journal = tmp_path / "effects.log"
    created = api.create(
        {
            "name": "slow second attempt",
            "steps": [
                {
                    "key": "work",
                    "type": "test_effect",
                    "config": {
                        "journal": str(journal),
                        "fail_before_attempt": 2,
                        "slow_attempt": 2,
                        "sleep_first_attempt": 60,
                    },
                    "retry": {"attempts": 4, "backoff": {"type": "fixed", "delay": 0.2}},
                }
            ],
        },
        enable=True,
    )
    triggered = api.post(f"/workflows/{created['id']}/trigger", {})
    assert triggered.status_code == 202, triggered.get_json()
    execution_id = triggered.get_json()["id"]
    _wait_for_file(Path(str(journal) + ".started"))

    # Then, while attempt 2 runs, the header counts 2 and the list shows 2 (the second running)
    client = _logged_in(engine)
    page = client.get(f"/executions/{execution_id}").get_data(as_text=True)
    assert _header_count(page) == 2
    assert _listed(page) == ["worker", "running"]

    # When its worker is killed with SIGKILL and a new one starts
    engine.kill_worker(engine.workers[0])
    engine.start_worker()

    # Then recovery counts the lost attempt as failed and attempt 3 completes the run
    (execution,) = engine.wait(execution_id, timeout=LEASE + 30)
    assert execution.status == "completed"
    (step,) = engine.steps(execution_id)
    assert step.attempts == len(step.attempt_log) == 3
    first, lost, last = step.attempt_log
    assert [e["ended_by"] for e in step.attempt_log] == ["worker", "recovery", "worker"]
    assert "planned failure on attempt 1" in first["error"]
    assert "worker running this step stopped" in lost["error"]
    assert "error" not in last

    # And each attempt has its own start: the lost one started after the first had ended (not
    # at the first's start), and ended after its lease ran out
    times = [
        (datetime.fromisoformat(e["started_at"]), datetime.fromisoformat(e["finished_at"]))
        for e in step.attempt_log
    ]
    assert times[0][0] <= times[0][1] <= times[1][0] < times[1][1] <= times[2][0] <= times[2][1]
    assert (times[1][1] - times[1][0]).total_seconds() >= LEASE - 0.5
    assert step.started_at is not None and abs(step.started_at - times[0][0]).total_seconds() < 0.01

    # And the page's header count equals its attempt list, which names who ended each one
    page = client.get(f"/executions/{execution_id}").get_data(as_text=True)
    assert _header_count(page) == 3
    assert _listed(page) == ["worker", "recovery", "worker"]
    assert "taken over by recovery: its worker was lost" in page
    for started, _ in times:
        assert f'<time datetime="{started.isoformat()}">' in page

    # And the API's step carries the same attempts
    (shown,) = api.get(f"/workflows/executions/{execution_id}").get_json()["steps"]
    assert shown["attempts"] == len(shown["attempt_log"]) == 3
    assert [a["ended_by"] for a in shown["attempt_log"]] == ["worker", "recovery", "worker"]
    starts = [datetime.fromisoformat(a["started_at"]) for a in shown["attempt_log"]]
    assert starts == [started for started, _ in times]
    assert all(a["duration_ms"] is not None for a in shown["attempt_log"])


def test_a_cancel_ends_the_running_attempt_and_the_late_worker_records_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    # Given a step whose first attempt runs for two seconds
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))
    journal = tmp_path / "effects.log"
    created = api.create(
        {
            "name": "cancelled mid-step",
            "steps": [
                {
                    "key": "work",
                    "type": "test_effect",
                    "config": {"journal": str(journal), "sleep_first_attempt": 2},
                },
                {"key": "after", "type": "log", "config": {"message": "not reached"}},
            ],
        },
        enable=True,
    )
    execution_id = api.post(f"/workflows/{created['id']}/trigger", {}).get_json()["id"]
    _wait_for_file(Path(str(journal) + ".started"))

    # When the user cancels the execution while the attempt runs
    cancelled = api.post(f"/workflows/executions/{execution_id}/cancel").get_json()

    # Then the attempt is ended by the cancel: one attempt counted, one listed
    work, after = cancelled["steps"]
    assert (cancelled["status"], cancelled["has_errors"]) == ("cancelled", True)
    assert (work["status"], after["status"]) == ("failed", "skipped")
    assert work["attempts"] == len(work["attempt_log"]) == 1
    (attempt,) = work["attempt_log"]
    assert attempt["ended_by"] == "cancel" and "Cancelled by a user" in attempt["error"]
    assert attempt["started_at"] < attempt["finished_at"]
    page = _logged_in(engine).get(f"/executions/{execution_id}").get_data(as_text=True)
    assert _header_count(page) == 1 and _listed(page) == ["cancel"]
    assert "ended by a cancel" in page

    # And when the worker finishes the action afterwards (then stops), its claim is gone: the
    # step stays as the cancel left it
    _wait_for_file(journal)
    engine.stop_worker(engine.workers[0])
    (step, _) = engine.steps(execution_id)
    assert (step.status, step.attempts, len(step.attempt_log)) == ("failed", 1, 1)
    assert step.attempt_log[0]["ended_by"] == "cancel"
