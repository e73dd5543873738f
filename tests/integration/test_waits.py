"""Waiting steps end to end (app.engine.waits) with the real worker on both backends: a
`wait_for_call` step parks its run (`waiting`, no message in flight), a POST to its resume URL
resumes it once with the request as its output, its deadline fails it or goes on with a
default, cancel works while it waits, and the URL is readable by the steps before it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.engine import waits
from app.extensions import db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from app.services.executions import lifecycle
from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def step(key: str, type_: str, config: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "name": key, "config": config, **more}


def wait_step(key: str = "hold", **config: Any) -> dict[str, Any]:
    return step(key, "wait_for_call", config)


def _waiting(engine: Engine, execution_id: int) -> Execution:
    engine.wait_for(lambda: engine.execution(execution_id).status == "waiting")
    return engine.execution(execution_id)


def _path(url: str) -> str:
    return url[url.index("/resume/") :]


def _step(engine: Engine, execution_id: int, key: str) -> Any:
    return next(s for s in engine.steps(execution_id) if s.action_key == key)


def _cancel(engine: Engine, execution_id: int) -> Execution:
    with engine.app.app_context():
        found = db.session.get(Execution, execution_id)
        assert found is not None
        return lifecycle.cancel(db.session(), found)


def _time_out(engine: Engine, after: timedelta) -> int:
    stepline = engine.container
    return waits.time_out_due(
        stepline.engine, stepline.doorbell.send, lease=stepline.runner.lease, now=utcnow() + after
    )


def test_a_call_to_the_resume_url_resumes_the_run_once(engine: Engine) -> None:
    actions = [
        step("tell", "log", {"message": "approve at {{ steps.hold.resume_url }}"}),
        wait_step(),
        step("after", "log", {"message": "answer {{ steps.hold.body.answer }}"}),
    ]
    execution_id = engine.start_tree(actions)
    _waiting(engine, execution_id)
    hold = _step(engine, execution_id, "hold")
    assert hold.status == "waiting"
    assert hold.output["waiting_for"] == "call"
    url = hold.output["resume_url"]
    # The step before it could read the URL and send it.
    told = _step(engine, execution_id, "tell").output
    assert url in str(told)
    assert _step(engine, execution_id, "after").status == "pending"

    client = engine.app.test_client()
    answer = client.post(_path(url) + "", json={"answer": 42}, headers={"X-Reason": "ok"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"resumed": True, "execution_id": execution_id}

    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    hold = _step(engine, execution_id, "hold")
    assert hold.status == "completed"
    assert hold.output["body"] == {"answer": 42}
    assert hold.output["method"] == "POST"
    assert hold.output["headers"]["x-reason"] == "ok"
    assert hold.attempts == 2  # the wait, then the resumed run: the wait counts no retry
    assert [line.get("ended_by") for line in hold.attempt_log] == ["wait", "worker"]
    assert _step(engine, execution_id, "after").output["message"] == "answer 42"

    again = client.post(_path(url), json={"answer": 43})
    assert again.status_code == 409
    assert "not waiting" in again.get_json()["error"]["message"]


def test_a_forged_or_unknown_token_is_404(engine: Engine) -> None:
    execution_id = engine.start_tree([wait_step()])
    url = _step(engine, _waiting(engine, execution_id).id, "hold").output["resume_url"]
    client = engine.app.test_client()
    forged = _path(url)[:-4] + "abcd"
    assert client.post(forged, json={}).status_code == 404
    assert client.post("/resume/nonsense", json={}).status_code == 404
    assert client.post(f"/resume/{execution_id}-0-{'0' * 32}", json={}).status_code == 404
    assert engine.execution(execution_id).status == "waiting"
    _cancel(engine, execution_id)


def test_a_wait_that_times_out_fails_the_step(engine: Engine) -> None:
    execution_id = engine.start_tree(
        [wait_step(timeout_amount=2, timeout_unit="hours"), step("after", "log", {"message": "x"})]
    )
    _waiting(engine, execution_id)
    assert _time_out(engine, timedelta(minutes=30)) == 0  # not due yet
    assert _time_out(engine, timedelta(hours=3)) >= 1
    (done,) = engine.wait(execution_id)
    assert done.status == "failed"
    assert "No call came within 2 hours." in (done.error or "")
    assert _step(engine, execution_id, "after").status == "skipped"


def test_a_wait_that_times_out_can_go_on_with_its_default(engine: Engine) -> None:
    execution_id = engine.start_tree(
        [
            wait_step(on_timeout="continue", default_output={"answer": "none"}),
            step("after", "log", {"message": "{{ steps.hold.answer }}"}),
        ]
    )
    _waiting(engine, execution_id)
    _time_out(engine, timedelta(days=2))
    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    assert _step(engine, execution_id, "hold").output == {"timed_out": True, "answer": "none"}
    assert _step(engine, execution_id, "after").output["message"] == "none"


def test_cancel_while_waiting_ends_the_run_and_the_url(engine: Engine) -> None:
    execution_id = engine.start_tree([wait_step(), step("after", "log", {"message": "x"})])
    _waiting(engine, execution_id)
    url = _step(engine, execution_id, "hold").output["resume_url"]
    assert _cancel(engine, execution_id).status == "cancelled"
    assert {s.status for s in engine.steps(execution_id)} == {"skipped"}
    assert engine.app.test_client().post(_path(url), json={}).status_code == 409
    assert engine.execution(execution_id).status == "cancelled"


def test_each_iteration_of_a_loop_waits_for_its_own_call(engine: Engine) -> None:
    actions = [
        step(
            "each",
            "loop",
            {"items": "{{ trigger.people }}"},
            steps=[
                step("ask", "transform", {"fields": {"url": "{{ steps.hold.resume_url }}"}}),
                wait_step(),
                step(
                    "got",
                    "transform",
                    {"fields": {"who": "{{ loop.item }}", "said": "{{ steps.hold.body.said }}"}},
                ),
            ],
        )
    ]
    execution_id = engine.start_tree(actions, {"people": ["ana", "bo"]})
    client = engine.app.test_client()
    urls = []
    for said in ("yes", "no"):
        engine.wait_for(
            lambda: any(
                s.action_key == "hold" and s.status == "waiting" for s in engine.steps(execution_id)
            )
        )
        hold = next(
            s
            for s in engine.steps(execution_id)
            if s.action_key == "hold" and s.status == "waiting"
        )
        ask = next(
            s for s in engine.steps(execution_id) if s.action_key == "ask" and s.frame == hold.frame
        )
        url = (hold.output or {})["resume_url"]
        assert (ask.output or {})["url"] == url  # the URL of this iteration's wait
        urls.append(url)
        assert client.post(_path(url), json={"said": said}).status_code == 200
        engine.wait_for(functools.partial(_completed, engine, hold.id))
    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    assert len(set(urls)) == 2
    each = _step(engine, execution_id, "each").output
    assert each["items"] == [{"who": "ana", "said": "yes"}, {"who": "bo", "said": "no"}]


def _completed(engine: Engine, step_id: int) -> bool:
    with engine.app.app_context():
        found = db.session.get(ExecutionStep, step_id)
        return found is not None and found.status == "completed"


def test_a_dry_run_does_not_wait(engine: Engine) -> None:
    workflow_id = engine.workflow(
        {"name": "dry", "steps": [wait_step(), step("after", "log", {"message": "on"})]}
    )
    (done,) = engine.wait(engine.trigger(workflow_id, dry_run=True))
    assert done.status == "completed", done.error
    assert _step(engine, done.id, "hold").output["dry_run"] == "did not wait"
