"""Approval steps end to end with the real worker on both backends: the run waits at the step;
its link opens a page that works with no login and no cookie and shows only what the author
chose; Approve goes on with the decision as the step's output, Reject fails the run (or goes on,
and a paths step branches on it); a decision is single use (409, and the page says what
happened), so is the link after a timeout or a cancel; a forged link is 404."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.engine import waits
from app.extensions import db
from app.models import Execution
from app.models.base import utcnow
from app.services.executions import lifecycle
from tests.engine_harness import Engine, engine_fixture

SECRET_CARD = "4242 4242 4242 4242"  # in the trigger data, never chosen for the page
ORDER = {"order": 1042, "customer": "<b>Ada</b>", "amount": 40, "card": SECRET_CARD}


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def step(key: str, type_: str, config: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "name": key, "config": config, **more}


def ask(**config: Any) -> dict[str, Any]:
    return step(
        "ask",
        "approval",
        {
            "title": "Refund order {{ trigger.order }}?",
            "message": "The customer {{ trigger.customer }} asked twice.",
            "fields": {"Amount": "{{ trigger.amount }}", "Customer": "{{ trigger.customer }}"},
            "timeout_amount": 2,
            "timeout_unit": "hours",
            **config,
        },
    )


AFTER = step("after", "log", {"message": "{{ steps.ask.decision }} by {{ steps.ask.by }}"})


def waiting(engine: Engine, actions: list[dict[str, Any]], data: Any = None) -> tuple[int, str]:
    """Start the tree and wait until it waits; its id and the approval page's path."""
    execution_id = engine.start_tree(actions, data or ORDER)
    engine.wait_for(lambda: engine.execution(execution_id).status == "waiting")
    url = output(engine, execution_id, "ask")["resume_url"]
    return execution_id, url[url.index("/resume/") :]


def output(engine: Engine, execution_id: int, key: str) -> Any:
    return next(s for s in engine.steps(execution_id) if s.action_key == key).output


def status_of(engine: Engine, execution_id: int, key: str) -> str:
    return next(s for s in engine.steps(execution_id) if s.action_key == key).status


def decide(client: FlaskClient, path: str, decision: str, **form: str) -> Any:
    return client.post(path + "/decision", data={"decision": decision, **form})


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def time_out(engine: Engine, after: timedelta) -> int:
    stepline = engine.container
    return waits.time_out_due(
        stepline.engine, stepline.doorbell.send, lease=stepline.runner.lease, now=utcnow() + after
    )


def test_approve_on_the_page_without_login_and_the_run_goes_on_with_the_decision(
    engine: Engine,
) -> None:
    # Given a run waiting at an approval step
    execution_id, path = waiting(engine, [ask(), AFTER])
    assert status_of(engine, execution_id, "ask") == "waiting"
    client = engine.app.test_client()  # no account, no cookie

    # When someone with the link opens it
    page = client.get(path)

    # Then it shows the workflow, the title, the message and the chosen fields, escaped, and
    # nothing else of the run
    assert page.status_code == 200
    body = text(page)
    assert "tree" in body  # the workflow's name
    assert "Refund order 1042?" in body
    assert "&lt;b&gt;Ada&lt;/b&gt;" in body and "<b>Ada</b>" not in body
    assert "<dt>Amount</dt><dd>40</dd>" in body
    assert SECRET_CARD not in body
    assert 'value="approve"' in body and 'value="reject"' in body
    assert "csrf" not in body.lower()
    # (never framed, never cached, no Referer, no session)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers

    # When they approve, with their name and a comment
    answer = decide(client, path, "approve", name="  Ada   Lovelace ", comment="Fine by me.")

    # Then the page thanks them, and the run completes with the decision as the step's output
    assert answer.status_code == 200, text(answer)
    assert "Thank you: you approved this request" in text(answer)
    assert "Set-Cookie" not in answer.headers
    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    decision = output(engine, execution_id, "ask")
    assert decision["approved"] is True
    assert decision["decision"] == "approved"
    assert decision["by"] == "Ada Lovelace"
    assert decision["comment"] == "Fine by me."
    assert decision["at"]
    assert output(engine, execution_id, "after")["message"] == "approved by Ada Lovelace"

    # And a second decision is refused, and the page says who decided
    again = decide(client, path, "reject")
    assert again.status_code == 409
    assert "This request was already decided (approved by Ada Lovelace at" in text(again)
    later = client.get(path)
    assert later.status_code == 200
    assert "already decided (approved by Ada Lovelace" in text(later)
    assert 'value="approve"' not in text(later)
    assert engine.execution(execution_id).status == "completed"


def test_reject_fails_the_run_with_who_and_why(engine: Engine) -> None:
    execution_id, path = waiting(engine, [ask(), AFTER])
    client = engine.app.test_client()

    answer = decide(client, path, "reject", name="Bo", comment="Too much.")

    assert answer.status_code == 200
    assert "you rejected this request" in text(answer)
    (done,) = engine.wait(execution_id)
    assert done.status == "failed"
    assert "Rejected by Bo: Too much." in (done.error or "")
    assert status_of(engine, execution_id, "after") == "skipped"
    assert decide(client, path, "approve").status_code == 409
    assert "already decided (rejected by Bo" in text(client.get(path))


def test_reject_can_go_on_and_a_paths_step_branches_on_the_decision(engine: Engine) -> None:
    approved = {
        "match": "all",
        "conditions": [{"left": "{{ steps.ask.approved }}", "operator": "is_true"}],
    }
    route = step(
        "route",
        "paths",
        {"mode": "first"},
        branches=[
            {
                "key": "a",
                "name": "Approved",
                "condition": approved,
                "steps": [step("refund", "log", {"message": "refund"})],
            }
        ],
        otherwise={
            "name": "Rejected",
            "steps": [step("apologise", "log", {"message": "no: {{ steps.ask.comment }}"})],
        },
    )
    execution_id, path = waiting(engine, [ask(on_reject="continue"), route])

    assert decide(engine.app.test_client(), path, "reject", comment="not now").status_code == 200

    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    assert output(engine, execution_id, "ask")["decision"] == "rejected"
    assert output(engine, execution_id, "ask")["by"] == "someone with the link"
    assert output(engine, execution_id, "apologise")["message"] == "no: not now"
    assert "refund" not in {s.action_key for s in engine.steps(execution_id)}


def test_a_forged_or_unknown_link_is_404_and_decides_nothing(engine: Engine) -> None:
    execution_id, path = waiting(engine, [ask()])
    client = engine.app.test_client()
    forged = path[:-4] + ("0000" if not path.endswith("0000") else "1111")

    for url in (forged, "/resume/nonsense", f"/resume/{execution_id}-0-{'0' * 32}"):
        assert client.get(url).status_code == 404
        refused = decide(client, url, "approve")
        assert refused.status_code == 404
        assert "This link is not valid" in text(refused)
    # (an approval link takes no call: the call's URL answers 409)
    assert client.post(path, json={}).status_code == 409
    assert engine.execution(execution_id).status == "waiting"

    # And decisions on one link are rate limited a little
    assert decide(client, path, "maybe").status_code == 422
    answers = [decide(client, path, "maybe").status_code for _ in range(5)]
    assert answers[-1] == 429
    assert engine.execution(execution_id).status == "waiting"
    cancel(engine, execution_id)


def test_the_link_of_a_wait_for_a_call_has_no_page(engine: Engine) -> None:
    execution_id = engine.start_tree([step("hold", "wait_for_call", {})])
    engine.wait_for(lambda: engine.execution(execution_id).status == "waiting")
    url = output(engine, execution_id, "hold")["resume_url"]
    client = engine.app.test_client()

    page = client.get(url[url.index("/resume/") :])

    assert page.status_code == 405
    assert page.headers["Allow"] == "POST"
    assert "Not an approval page" in text(page)
    refused = decide(client, url[url.index("/resume/") :], "approve")
    assert refused.status_code == 404
    assert engine.execution(execution_id).status == "waiting"
    cancel(engine, execution_id)


def test_a_timeout_fails_the_run_and_the_page_says_it_no_longer_waits(engine: Engine) -> None:
    execution_id, path = waiting(engine, [ask(), AFTER])

    assert time_out(engine, timedelta(minutes=30)) == 0  # not due yet
    assert time_out(engine, timedelta(hours=3)) >= 1

    (done,) = engine.wait(execution_id)
    assert done.status == "failed"
    assert "No decision within 2 hours" in (done.error or "")
    client = engine.app.test_client()
    assert "no longer waiting: it timed out" in text(client.get(path))
    late = decide(client, path, "approve")
    assert late.status_code == 409
    assert "no longer waiting" in text(late)


def test_a_timeout_can_go_on_with_the_default_decision(engine: Engine) -> None:
    execution_id, _path = waiting(
        engine, [ask(on_timeout="continue", timeout_decision="approved"), AFTER]
    )

    time_out(engine, timedelta(days=1))

    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    decision = output(engine, execution_id, "ask")
    assert decision["approved"] is True
    assert decision["timed_out"] is True
    assert output(engine, execution_id, "after")["message"] == "approved by "


def test_cancel_while_waiting_ends_the_link(engine: Engine) -> None:
    execution_id, path = waiting(engine, [ask(), AFTER])

    cancel(engine, execution_id)

    client = engine.app.test_client()
    assert "no longer waiting: its run was cancelled" in text(client.get(path))
    late = decide(client, path, "approve")
    assert late.status_code == 409
    assert "its run was cancelled" in text(late)
    assert engine.execution(execution_id).status == "cancelled"


def test_a_dry_run_does_not_wait_for_approval(engine: Engine) -> None:
    workflow_id = engine.workflow({"name": "dry", "steps": [ask(), AFTER]})

    execution_id = engine.trigger(workflow_id, ORDER, dry_run=True)

    (done,) = engine.wait(execution_id)
    assert done.status == "completed", done.error
    assert output(engine, execution_id, "ask")["dry_run"] == "would wait for approval"
    assert output(engine, execution_id, "after")["message"] == "approved by "


def cancel(engine: Engine, execution_id: int) -> None:
    with engine.app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution is not None
        lifecycle.cancel(db.session(), execution)
