"""Google actions against the fake Google: gmail_send delivers the rendered message, header
injection is refused, sheets_append_row appends the rendered row, and a step can only use its
owner's connection (checked on save and again when it runs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.services.errors import InvalidInputError
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.fakes.google import FakeGoogle
from tests.fakes.google_apis import google_error
from tests.fakes.http import FakeServer
from tests.google_support import (
    connect,
    connections_of,
    make_workflow,
    run,
    set_connection,
    steps_of,
    user_id,
    wait_final,
)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {**app_config, **google.settings()}


def one_step(step_type: str, config: dict[str, Any], attempts: int = 1) -> dict[str, Any]:
    return {
        "name": f"{step_type} test",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "key": "google",
                "type": step_type,
                "config": config,
                "retry": {"attempts": attempts, "backoff": {"type": "fixed", "delay": 0.1}},
            }
        ],
    }


def alices_connection(app: Flask, client: FlaskClient) -> int:
    connect(client)
    return connections_of(app, "alice@example.com")[0].id


def test_gmail_send_delivers_the_rendered_message(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a workflow whose step sends an email built from the trigger's data
    connection_id = alices_connection(app, user_client)
    step = {
        "connection_id": connection_id,
        "to": "{{ trigger.email }}",
        "cc": "Ops <ops@example.com>",
        "subject": "Order {{ trigger.order }} for {{ trigger.name }}",
        "body_text": "Hello {{ trigger.name }}, your order {{ trigger.order }} shipped.",
        "body_html": "<p>Hello {{ trigger.name | e }}</p>",
    }
    workflow_id = make_workflow(
        app, user_id(app, "alice@example.com"), one_step("gmail_send", step), enable=False
    )

    # When it runs with data that holds markup and template syntax
    data = {"email": "ann@example.org", "order": 42, "name": "<Ann> {{ 7*7 }}"}
    execution = wait_final(app, run(app, workflow_id, data))

    # Then Gmail received the message with the rendered subject and bodies
    assert execution.status == "completed", execution.error
    (sent,) = google.gmail.sent
    assert sent["To"] == "ann@example.org" and sent["Cc"] == "Ops <ops@example.com>"
    assert sent["Subject"] == "Order 42 for <Ann> {{ 7*7 }}"
    text = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Hello <Ann> {{ 7*7 }}, your order 42 shipped."
    assert html.get_content().strip() == "<p>Hello &lt;Ann&gt; {{ 7*7 }}</p>"
    # And the step's output names the sent message
    (step_row,) = steps_of(app, execution.id)
    assert step_row.output is not None and step_row.output["id"]
    assert step_row.output["label_ids"] == ["SENT"]


def test_a_retry_after_a_lost_answer_does_not_send_twice(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a send step with retries, and Gmail that accepts the message but whose answer
    # is lost (a 503 on the way back)
    connection_id = alices_connection(app, user_client)
    step = {
        "connection_id": connection_id,
        "to": "ann@example.org",
        "subject": "Once",
        "body_text": "hi",
    }
    workflow_id = make_workflow(
        app, user_id(app, "alice@example.com"), one_step("gmail_send", step, 3), enable=False
    )
    google.gmail.lose_next_answer = google_error(503, "Backend Error", "backendError")

    # When the step runs, fails, and is retried
    execution = wait_final(app, run(app, workflow_id, {}))

    # Then the retry found the message the first attempt sent: one message, step completed
    assert execution.status == "completed", execution.error
    assert len(google.gmail.sent) == 1
    (step_row,) = steps_of(app, execution.id)
    assert step_row.attempts == 2 and step_row.output is not None
    assert step_row.output["sent_by_this_attempt"] is False
    assert any("rfc822msgid:" in q for q in google.gmail.queries)


def test_line_breaks_in_headers_are_refused_and_nothing_is_sent(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a step whose subject comes from the trigger
    connection_id = alices_connection(app, user_client)
    step = {
        "connection_id": connection_id,
        "to": "ann@example.org",
        "subject": "{{ trigger.subject }}",
        "body_text": "hi",
    }
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, one_step("gmail_send", step, 3), enable=False)

    # When the data tries to add a header through a line break
    injected = {"subject": "Hello\r\nBcc: everyone@example.net"}
    execution = wait_final(app, run(app, workflow_id, injected))

    # Then the step fails at once (no retry) and nothing reaches Gmail
    assert execution.status == "failed"
    (step_row,) = steps_of(app, execution.id)
    assert step_row.attempts == 1 and "line breaks" in (step_row.error or "")
    assert google.gmail.sent == []
    # And a literal line break is refused when the workflow is saved
    with app.app_context(), pytest.raises(InvalidInputError) as refused:
        crud.create_workflow(
            db.session(),
            owner,
            WorkflowSpec.model_validate(one_step("gmail_send", {**step, "subject": "a\nb"})),
            container(app).secrets,
            container().handlers,
        )
    assert refused.value.field == "steps.0.config.subject"


def test_sheets_append_row_appends_the_rendered_values(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a sheet and a step that appends a row built from the trigger's data
    connection_id = alices_connection(app, user_client)
    google.sheets.add_sheet("sheet123", "Orders", [["Name", "Amount", "Note"]])
    step = {
        "connection_id": connection_id,
        "spreadsheet_id": "sheet123",
        "sheet": "Orders",
        "values": ["{{ trigger.name }}", "{{ trigger.amount }}", "{{ trigger.note }}"],
    }
    workflow_id = make_workflow(
        app, user_id(app, "alice@example.com"), one_step("sheets_append_row", step), enable=False
    )

    # When it runs, with a value that looks like a formula
    data = {"name": "Ann", "amount": 42, "note": '=HYPERLINK("http://evil")'}
    execution = wait_final(app, run(app, workflow_id, data))

    # Then the row is appended with the values' types kept, stored RAW (no formula runs)
    assert execution.status == "completed", execution.error
    assert google.sheets.rows("sheet123", "Orders")[-1] == ["Ann", 42, '=HYPERLINK("http://evil")']
    assert google.sheets.appends[-1]["value_input"] == "RAW"
    (step_row,) = steps_of(app, execution.id)
    assert step_row.output == {
        "spreadsheet_id": "sheet123",
        "updated_range": "'Orders'!A2:C2",
        "updated_rows": 1,
    }


@pytest.mark.parametrize(
    ("where", "spec"),
    [
        (
            "steps.0.config.connection_id",
            lambda cid: one_step(
                "gmail_send",
                {"connection_id": cid, "to": "a@b.c", "subject": "s", "body_text": "t"},
            ),
        ),
        (
            "steps.0.config.body.auth.connection_id",
            lambda cid: one_step(
                "http_request",
                {
                    "url": "https://example.com",
                    "method": "POST",
                    "body_type": "json",
                    "body": {"auth": {"connection_id": cid}},
                },
            ),
        ),
    ],
)
def test_naming_another_users_connection_is_refused_on_save(
    app: Flask,
    user_client: FlaskClient,
    other_client: FlaskClient,
    google: FakeGoogle,
    where: str,
    spec: Any,
) -> None:
    # Given alice's connection
    connection_id = alices_connection(app, user_client)
    mallory = user_id(app, "mallory@example.com")

    # When mallory saves a workflow that names it (in a field, or in nested JSON)
    with app.app_context(), pytest.raises(InvalidInputError) as refused:
        crud.create_workflow(
            db.session(),
            mallory,
            WorkflowSpec.model_validate(spec(connection_id)),
            container(app).secrets,
            container().handlers,
        )

    # Then it is refused, naming the field, as for an id that does not exist
    assert refused.value.field == where
    assert str(refused.value) == f"Connection {connection_id} does not exist or is not yours."


def test_a_connection_that_changed_hands_is_refused_when_the_step_runs(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given alice's workflow that sends with her connection
    connection_id = alices_connection(app, user_client)
    step = {"connection_id": connection_id, "to": "a@example.org", "subject": "s", "body_text": "t"}
    workflow_id = make_workflow(
        app, user_id(app, "alice@example.com"), one_step("gmail_send", step, 3), enable=False
    )

    # When the connection no longer belongs to alice by the time the step runs
    set_connection(app, connection_id, user_id=user_id(app, "mallory@example.com"))
    execution = wait_final(app, run(app, workflow_id, {}))

    # Then the step fails without retry, and nothing is sent
    assert execution.status == "failed"
    (step_row,) = steps_of(app, execution.id)
    assert step_row.attempts == 1
    assert f"connection {connection_id} does not exist or is not yours" in (step_row.error or "")
    assert google.gmail.sent == []
