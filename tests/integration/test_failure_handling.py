"""When a run fails (settings.on_failure), end to end on both backends: runs fail in the real
engine (SQLite + in-process worker and scheduler; PostgreSQL + Redis with `dramatiq` worker
and `flask scheduler` processes), the scheduler's pass starts the error workflow with the
failed run's details and sends the notices (fake SMTP server, fake Slack), at most one per
interval with the count since; no loops; dry runs and the editor's test runs are left alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.config import settings_of
from app.extensions import db
from app.models import Workflow
from app.models.base import utcnow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.engine_harness import Engine, engine_fixture
from tests.failure_support import (
    ERROR_WORKFLOW,
    add_credential,
    deliver,
    failing,
    handled,
    notices_of,
    runs_of,
)
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSMTP


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeSMTP, FakeSlack]]:
    with FakeServer() as server, FakeSMTP(security="none") as smtp:
        yield smtp, FakeSlack(server)


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend,
        database_url,
        tmp_path_factory.mktemp("failures"),
        OUTBOUND_ALLOWLIST=["127.0.0.1/32"],
    )


@pytest.fixture
def smtp(fakes: tuple[FakeSMTP, FakeSlack]) -> FakeSMTP:
    fakes[0].reset()
    return fakes[0]


@pytest.fixture
def slack(fakes: tuple[FakeSMTP, FakeSlack]) -> FakeSlack:
    fakes[1].messages.clear()
    return fakes[1]


def slack_webhook(engine: Engine, user: int, slack: FakeSlack) -> dict[str, Any]:
    credential = add_credential(engine.app, user, "slack", {"webhook_url": slack.webhook_url})
    return {"credential_id": credential}


def fail_once(engine: Engine, workflow_id: int, data: dict[str, Any] | None = None) -> int:
    """Run the workflow to its failure and until its failure is handled; the run's id."""
    execution_id = engine.trigger(workflow_id, data or {})
    (done,) = engine.wait(execution_id)
    assert done.status == "failed", done.error
    engine.wait_for(lambda: handled(engine.app, execution_id))
    return execution_id


def sent(engine: Engine, workflow_id: int, channel: str) -> bool:
    """Whether the channel's last notice is recorded as sent (after the fake received it)."""
    notice = notices_of(engine.app, workflow_id).get(channel)
    return notice is not None and notice.last_sent_at is not None


def point_at(engine: Engine, workflow_id: int, on_failure: dict[str, Any]) -> None:
    """Save the workflow again with `on_failure` in its settings (e.g. naming itself)."""
    with engine.app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        spec = crud.to_spec(workflow, engine.container.handlers).model_dump(mode="json")
        spec["settings"] = {"on_failure": on_failure}
        crud.update_workflow(
            db.session(),
            workflow,
            WorkflowSpec.model_validate(spec),
            engine.container.secrets,
            engine.container.handlers,
        )


def test_the_error_workflow_starts_with_the_failed_runs_details(engine: Engine) -> None:
    # Given an error workflow and a workflow that fails at its second step and names it
    user = engine.user()
    error_workflow = engine.workflow(ERROR_WORKFLOW, user)
    workflow_id = engine.workflow(failing("Charge orders", {"workflow_id": error_workflow}), user)
    # When a run fails
    failed = fail_once(engine, workflow_id, {"order": 7, "customer": {"email": "a@x.org"}})
    # Then the error workflow ran once, with the failed run's details as its trigger data
    engine.wait_for(lambda: len(runs_of(engine.app, error_workflow)) == 1)
    (error_run,) = runs_of(engine.app, error_workflow)
    assert error_run.trigger_type == "failure"
    data = error_run.trigger_data
    assert data["workflow"] == {"id": workflow_id, "name": "Charge orders"}
    assert data["execution"]["id"] == failed
    assert data["execution"]["url"] == f"http://localhost:5000/executions/{failed}"
    assert data["failed_step"] == {
        "key": "charge",
        "name": "Charge the card",
        "type": "test_flaky",
        "address": "2",
    }
    assert "planned failure on attempt 1" in data["error"]
    assert data["trigger_data"] == {"order": 7, "customer": {"email": "a@x.org"}}
    # And it ran to its end, reading them
    (done,) = engine.wait(error_run.id)
    assert done.status == "completed", done.error
    (note,) = engine.steps(error_run.id)
    assert (note.output or {})["message"].startswith("Charge orders failed: ")
    # And a run that succeeds is never handled as a failure
    assert not handled(engine.app, error_run.id)


def test_a_notice_goes_by_email_and_slack_with_a_link(
    engine: Engine, smtp: FakeSMTP, slack: FakeSlack
) -> None:
    # Given a failing workflow that emails ops (SMTP credential) and posts to Slack (webhook)
    user = engine.user()
    mail = add_credential(engine.app, user, "smtp", smtp.fields())
    on_failure = {
        "email": {"to": "ops@example.com", "credential_id": mail},
        "slack": slack_webhook(engine, user, slack),
    }
    workflow_id = engine.workflow(failing("Nightly export", on_failure), user)
    # When a run fails
    failed = fail_once(engine, workflow_id)
    # Then one email and one Slack message tell of it, with a link to the run
    url = f"http://localhost:5000/executions/{failed}"
    engine.wait_for(lambda: len(smtp.mailbox) == 1 and len(slack.messages) == 1)
    (message,) = smtp.mailbox
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "[Stepline] “Nightly export” failed"
    body = message.get_content()
    assert f"See the run: {url}" in body
    assert "step 2 “Charge the card” (test_flaky)" in body
    assert "planned failure on attempt 1" in body
    (posted,) = slack.messages
    assert f"<{url}|See run #{failed}>" in posted["text"]
    # And both channels now wait out the interval
    engine.wait_for(
        lambda: sent(engine, workflow_id, "email") and sent(engine, workflow_id, "slack")
    )
    notices = notices_of(engine.app, workflow_id)
    assert {n.pending for n in notices.values()} == {0}
    assert all(n.last_sent_at is not None for n in notices.values())


def test_a_storm_sends_one_notice_then_the_count_after_the_interval(
    engine: Engine, slack: FakeSlack
) -> None:
    # Given a failing workflow that posts to Slack (the default: one notice per 10 minutes)
    user = engine.user()
    workflow_id = engine.workflow(
        failing("Sync CRM", {"slack": slack_webhook(engine, user, slack)}), user
    )
    # When a run fails, and four more fail within the interval
    fail_once(engine, workflow_id)
    engine.wait_for(lambda: sent(engine, workflow_id, "slack"))
    assert len(slack.messages) == 1
    later = [fail_once(engine, workflow_id) for _ in range(4)]
    # Then the four are counted, not sent
    engine.wait_for(lambda: notices_of(engine.app, workflow_id)["slack"].pending == 4)
    assert deliver(engine.app, utcnow()) == 0
    assert len(slack.messages) == 1
    # When the interval has passed
    assert deliver(engine.app, utcnow() + timedelta(minutes=11)) == 1
    # Then one notice says how many failed since, linking the latest
    assert len(slack.messages) == 2
    text = slack.messages[1]["text"]
    assert "4 more failures since the last notice" in text
    assert f"/executions/{later[-1]}|See run #{later[-1]}>" in text
    assert "/executions?status=failed|All failed runs>" in text
    assert notices_of(engine.app, workflow_id)["slack"].pending == 0


def test_a_notice_that_cannot_be_sent_is_tried_again_later(
    engine: Engine, slack: FakeSlack
) -> None:
    # Given a failing workflow posting to Slack, and Slack failing the next call
    user = engine.user()
    workflow_id = engine.workflow(
        failing("Flaky Slack", {"slack": slack_webhook(engine, user, slack)}), user
    )
    slack.fail_next(Reply.text("internal_error", 500))
    # When a run fails
    fail_once(engine, workflow_id)
    # Then the failed send is recorded, held back, and not lost
    engine.wait_for(lambda: notices_of(engine.app, workflow_id)["slack"].attempts == 1)
    notice = notices_of(engine.app, workflow_id)["slack"]
    assert notice.pending == 1
    assert notice.last_error == "Slack refused the message: internal_error"
    assert slack.messages == []
    # And a later pass sends it
    assert deliver(engine.app, utcnow() + timedelta(minutes=2)) == 1
    assert len(slack.messages) == 1
    assert notices_of(engine.app, workflow_id)["slack"].last_error is None


def test_an_error_workflow_never_loops(engine: Engine, slack: FakeSlack) -> None:
    # Given a failing workflow that is its own error workflow and posts to Slack
    user = engine.user()
    workflow_id = engine.workflow(failing("Self-handling"), user)
    point_at(engine, workflow_id, {"workflow_id": workflow_id})
    # When a run fails
    first = fail_once(engine, workflow_id)
    # Then one error run of it starts, fails in turn, and is handled without another run
    engine.wait_for(lambda: len(runs_of(engine.app, workflow_id)) == 2)
    error_run = runs_of(engine.app, workflow_id)[1]
    assert (error_run.trigger_type, error_run.trigger_data["execution"]["id"]) == ("failure", first)
    (done,) = engine.wait(error_run.id)
    assert done.status == "failed"
    engine.wait_for(lambda: handled(engine.app, error_run.id))
    assert len(runs_of(engine.app, workflow_id)) == 2

    # Given two failing workflows, each the other's error workflow
    a = engine.workflow(failing("A"), user)
    b = engine.workflow(failing("B", {"workflow_id": a}), user)
    point_at(engine, a, {"workflow_id": b})
    # When A fails
    fail_once(engine, a)
    # Then B runs once for it, fails, and does not start A again
    engine.wait_for(lambda: len(runs_of(engine.app, b)) == 1)
    (b_run,) = runs_of(engine.app, b)
    engine.wait(b_run.id)
    engine.wait_for(lambda: handled(engine.app, b_run.id))
    assert len(runs_of(engine.app, a)) == 1


def test_dry_runs_and_test_runs_are_left_alone(engine: Engine, slack: FakeSlack) -> None:
    # Given a failing workflow with an error workflow and a Slack notice
    user = engine.user()
    error_workflow = engine.workflow(ERROR_WORKFLOW, user)
    on_failure = {"workflow_id": error_workflow, "slack": slack_webhook(engine, user, slack)}
    workflow_id = engine.workflow(failing("Careful", on_failure), user)
    # When a dry run and an editor's test run of it fail
    dry = engine.trigger(workflow_id, {}, dry_run=True)
    with engine.app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        test = lifecycle.start(
            db.session(),
            workflow,
            {},
            send=engine.container.doorbell.send,
            settings=settings_of(engine.app),
            trigger_type="test",
        ).id
    for execution in engine.wait(dry, test):
        assert execution.status == "failed"
    # Then their failures are marked handled with nothing done
    engine.wait_for(lambda: handled(engine.app, dry) and handled(engine.app, test))
    assert runs_of(engine.app, error_workflow) == []
    assert notices_of(engine.app, workflow_id) == {}
    assert slack.messages == []
