"""The owner resumes a waiting run: "Resume now" on its page and POST /api/v1/executions/{id}/
resume, on a real `wait_for_call` step run by the embedded worker; single use (409 the second
time), others' runs 404, bad input named."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token
from tests.conftest import csrf_token
from tests.dashboard_support import HTMX, make_workflow, start, steps, user_id, wait_final
from tests.waiting_support import CALL_THEN_LOG, TWO_STEPS, force_waiting, wait_status


def _waiting_run(app: Flask, email: str = "alice@example.com") -> int:
    workflow = make_workflow(app, user_id(app, email), CALL_THEN_LOG)
    execution = start(app, workflow)
    wait_status(app, execution, "waiting")
    return execution


def _hold(app: Flask, execution_id: int) -> object:
    return next(s for s in steps(app, execution_id) if s.action_key == "hold")


def test_the_owner_resumes_a_call_from_the_run_page_once(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given alice's run waiting for a call
    execution = _waiting_run(app)
    page = unescape(user_client.get(f"/executions/{execution}").get_data(as_text=True))

    # Then its page offers her "Resume now", with a JSON body to send
    assert "Resume now…" in page
    form = page.split('id="resume-now"')[1].split("</details>")[0]
    assert f'action="/executions/{execution}/resume"' in form
    assert 'name="step" value="hold"' in form and '<textarea id="resume-body" name="body"' in form
    token = csrf_token(user_client, f"/executions/{execution}")

    # When the body typed is not JSON, the form says so and the run still waits
    refused = user_client.post(
        f"/executions/{execution}/resume",
        data={"csrf_token": token, "step": "hold", "body": "{answer: 42"},
        headers=HTMX,
    )
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and html.lstrip().startswith('<details class="resume-now"')
    assert "This is not valid JSON" in html and "{answer: 42" in html
    assert "hx-preserve" not in html.split(">")[0]  # the message shows despite the poll

    # When another user posts to it, or she posts without the CSRF token
    mallory = other_client.post(
        f"/executions/{execution}/resume",
        data={"csrf_token": csrf_token(other_client, "/executions"), "step": "hold", "body": ""},
    )
    assert mallory.status_code == 404
    no_csrf = user_client.post(f"/executions/{execution}/resume", data={"step": "hold"})
    assert no_csrf.status_code == 400

    # When she resumes it with a body
    resumed = user_client.post(
        f"/executions/{execution}/resume",
        data={"csrf_token": token, "step": "hold", "body": '{"answer": 42}'},
        headers=HTMX,
    )

    # Then the page's live part comes back, saying so, and the run completes with her call as
    # the step's output
    assert resumed.status_code == 200
    assert resumed.headers["HX-Retarget"] == "#execution-detail"
    assert "Resumed: the run goes on." in resumed.get_data(as_text=True)
    assert wait_final(app, [execution]) == ["completed"]
    output = _hold(app, execution).output  # type: ignore[attr-defined]
    assert output["body"] == {"answer": 42} and output["method"] == "POST"
    assert output["resumed_by"] == "alice@example.com"
    after = next(s for s in steps(app, execution) if s.action_key == "after")
    assert after.status == "completed" and "42" in str(after.output)

    # And a second resume is refused in words: the step waits no more
    again = user_client.post(
        f"/executions/{execution}/resume",
        data={"csrf_token": token, "step": "hold", "body": ""},
        follow_redirects=True,
    )
    assert again.status_code == 200
    assert "Step “hold” of this run is not waiting." in unescape(again.get_data(as_text=True))


def test_cancel_works_while_a_run_waits(app: Flask, user_client: FlaskClient) -> None:
    # Given a run waiting for a call
    execution = _waiting_run(app)

    # When alice cancels it from its page
    cancelled = user_client.post(
        f"/executions/{execution}/cancel",
        data={"csrf_token": csrf_token(user_client, f"/executions/{execution}")},
        headers=HTMX,
    )

    # Then it is cancelled, its waiting step skipped, and "Resume now" is gone
    assert cancelled.status_code == 200
    assert wait_final(app, [execution]) == ["cancelled"]
    assert _hold(app, execution).status == "skipped"  # type: ignore[attr-defined]
    page = user_client.get(f"/executions/{execution}").get_data(as_text=True)
    assert "Resume now" not in page and "Cancel execution" not in page


def test_the_api_resumes_a_waiting_step_once_for_its_owner(app: Flask, client: FlaskClient) -> None:
    # Given alice's run waiting for a call, and her script's token
    client.get("/healthz")  # the first request starts the embedded worker
    alice = Api(client, issue_token(app))
    execution = _waiting_run(app)
    path = f"/executions/{execution}/resume"

    # When her script names a step that is not waiting, or sends a decision to a call step,
    # or leaves out the step
    wrong_step = alice.post(path, {"step": "after", "data": {}})
    decision = alice.post(path, {"step": "hold", "decision": {"approved": True}})
    no_step = alice.post(path, {"data": {}})

    # Then each is refused, naming the field, and the run still waits
    assert wrong_step.status_code == 409 and error_of(wrong_step)["field"] == "step"
    assert decision.status_code == 422 and error_of(decision)["field"] == "decision"
    assert no_step.status_code == 422 and error_of(no_step)["field"] == "step"
    assert alice.get(f"/executions/{execution}").get_json()["status"] == "waiting"

    # When another user's script, or her read-only token, tries to resume it
    mallory = Api(client, issue_token(app, "mallory@example.com"))
    assert mallory.post(path, {"step": "hold", "data": {}}).status_code == 404
    with app.app_context():
        from app.extensions import db
        from app.services.accounts import api_tokens, users

        user = users.find_by_email(db.session(), "alice@example.com")
        assert user is not None
        reader = api_tokens.create_token(db.session(), user, "reader", scope="read").secret
    assert Api(client, reader).post(path, {"step": "hold", "data": {}}).status_code == 403

    # When her script resumes it with data
    resumed = alice.post(path, {"step": "hold", "data": {"answer": "yes"}})

    # Then it answers the execution, no longer waiting, which completes with the data as the
    # call's body
    assert resumed.status_code == 200, resumed.get_json()
    body = resumed.get_json()
    assert body["id"] == execution and body["status"] != "waiting" and body["waiting"] is None
    done = alice.wait(execution)
    assert done["status"] == "completed"
    hold = next(s for s in done["steps"] if s["key"] == "hold")
    assert hold["output"]["body"] == {"answer": "yes"}
    assert hold["output"]["resumed_by"] == "alice@example.com"

    # And a second resume is a 409
    again = alice.post(path, {"step": "hold", "data": {"answer": "no"}})
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"


def test_the_api_refuses_to_resume_a_wait_for_a_child_run(
    app: Flask, user_client: FlaskClient, client: FlaskClient
) -> None:
    # Given a run whose step waits for a child run
    workflow = make_workflow(app, user_id(app, "alice@example.com"), TWO_STEPS)
    execution = start(app, workflow, run=False)
    force_waiting(app, execution, kind="child", extra={"child": {"execution_id": 9}})
    alice = Api(client, issue_token(app))

    # When her script tries to resume it, with data or with a decision
    with_data = alice.post(f"/executions/{execution}/resume", {"step": "reply", "data": {}})

    # Then it is a 409 that says why
    assert with_data.status_code == 409
    assert re.search(r"waits for a child run to end", error_of(with_data)["message"])


def test_the_api_decides_an_approval_step_with_the_contracts_shape(
    app: Flask, client: FlaskClient
) -> None:
    # Given a run waiting on an approval step (put in the state the approval step leaves it in)
    client.get("/healthz")  # the first request starts the embedded worker
    alice = Api(client, issue_token(app))
    workflow = make_workflow(app, user_id(app, "alice@example.com"), TWO_STEPS)
    execution = start(app, workflow, run=False)
    force_waiting(app, execution, kind="approval")
    path = f"/executions/{execution}/resume"

    # When her script sends data instead of a decision, or a decision that is not one
    with_data = alice.post(path, {"step": "reply", "data": {"ok": True}})
    not_a_decision = alice.post(path, {"step": "reply", "decision": {"approved": "yes"}})

    # Then both are refused, naming the field
    assert with_data.status_code == 422 and error_of(with_data)["field"] == "data"
    assert not_a_decision.status_code == 422
    assert error_of(not_a_decision)["field"] == "decision.approved"

    # When it approves with a comment
    decided = alice.post(path, {"step": "reply", "decision": {"approved": True, "comment": "ok"}})

    # Then the step is resumed with the decision, by her, as the contract shapes it
    assert decided.status_code == 200, decided.get_json()
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import ExecutionStep

        data = db.session.scalar(
            select(ExecutionStep.resume_data).where(
                ExecutionStep.execution_id == execution, ExecutionStep.action_key == "reply"
            )
        )
    assert data is not None
    assert data["kind"] == "approval" and data["by_owner"] == "alice@example.com"
    decision = data["decision"]
    assert decision["approved"] is True and decision["comment"] == "ok"
    assert decision["by"] == "alice@example.com" and decision["at"]
    # and a second decision is a 409
    again = alice.post(path, {"step": "reply", "decision": {"approved": False}})
    assert again.status_code == 409
