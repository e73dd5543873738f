"""Dry runs of the Google actions against the fake Google: Gmail send and Sheets append record
the API call they would make (through GoogleClient and the guarded client) and Google receives
none; an expired token is still refreshed, and no credential reaches the record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import settings_of
from app.engine.redaction import REDACTED
from app.extensions import container, db
from app.models.base import utcnow
from app.services.executions import lifecycle
from app.services.workflows import crud
from tests.fakes.google import FakeGoogle
from tests.fakes.http import FakeServer
from tests.google_support import (
    connect,
    connections_of,
    make_workflow,
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


def dry_run(app: Flask, workflow_id: int) -> int:
    with app.app_context():
        owner = user_id(app, "alice@example.com")
        workflow = crud.get_workflow(db.session(), workflow_id, owner)
        execution = lifecycle.start(
            db.session(),
            workflow,
            {"name": "Ann", "amount": 42},
            send=container(app).doorbell.send,
            settings=settings_of(app),
            dry_run=True,
        )
        return execution.id


def test_gmail_and_sheets_record_their_api_calls_and_google_receives_none(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection whose access token has expired, and a workflow that emails and appends
    connect(user_client)
    connection = connections_of(app, "alice@example.com")[0]
    set_connection(app, connection.id, expires_at=utcnow() - timedelta(minutes=1))
    google.sheets.add_sheet("sheet123", "Orders", [["Name", "Amount"]])
    spec = {
        "name": "Mail and log",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "key": "mail",
                "type": "gmail_send",
                "config": {
                    "connection_id": connection.id,
                    "to": "ann@example.org",
                    "subject": "Order for {{ trigger.name }}",
                    "body_text": "Hello {{ trigger.name }}",
                },
            },
            {
                "key": "row",
                "type": "sheets_append_row",
                "config": {
                    "connection_id": connection.id,
                    "spreadsheet_id": "sheet123",
                    "sheet": "Orders",
                    "values": ["{{ trigger.name }}", "{{ trigger.amount }}"],
                },
            },
        ],
    }
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), spec, enable=False)
    refreshes_before = google.refresh_calls

    # When it is dry run
    execution = wait_final(app, dry_run(app, workflow_id))

    # Then both steps recorded the Google API call they would make
    assert execution.status == "completed", execution.error
    mail, row = steps_of(app, execution.id)
    assert mail.output is not None and mail.output["dry_run"] == "recorded"
    sent = mail.output["request"]
    assert sent["method"] == "POST" and sent["url"].endswith("/gmail/v1/users/me/messages/send")
    assert sent["headers"]["Authorization"] == REDACTED
    assert set(sent["body"]) == {"raw"}
    assert row.output is not None and row.output["dry_run"] == "recorded"
    append = row.output["request"]
    assert append["url"].startswith(google.server.url("/v4/spreadsheets/sheet123/values/"))
    assert "valueInputOption=RAW" in append["url"]
    assert append["body"] == {"majorDimension": "ROWS", "values": [["Ann", 42]]}
    # And Google received no API call: no message, no row
    assert google.gmail.calls == [] and google.gmail.sent == []
    assert google.sheets.calls == []
    assert google.sheets.spreadsheets["sheet123"]["Orders"] == [["Name", "Amount"]]
    # But the expired token was refreshed (a credential exchange), and no token was recorded
    assert google.refresh_calls == refreshes_before + 1
    recorded = json.dumps([mail.output, row.output])
    assert all(token not in recorded for token in google.issued_tokens())
