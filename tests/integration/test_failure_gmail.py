"""A failure notice sent from the user's Gmail (a Google connection), against the fake Google,
by the embedded worker and scheduler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.failure_support import failing
from tests.fakes.google import FakeGoogle
from tests.fakes.http import FakeServer
from tests.google_support import connect, connections_of, make_workflow, run, user_id, wait_final
from tests.google_support import wait_for as wait_until


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {**app_config, **google.settings()}


def test_a_notice_goes_out_through_gmail(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a workflow that emails ops from alice's Gmail when a run fails
    connect(user_client)
    connection = connections_of(app, "alice@example.com")[0].id
    email = {"to": "Ops <ops@example.com>", "connection_id": connection}
    workflow_id = make_workflow(
        app, user_id(app, "alice@example.com"), failing("Invoices", {"email": email}), enable=False
    )
    # When a run fails
    execution_id = run(app, workflow_id, {})
    assert wait_final(app, execution_id).status == "failed"
    # Then Gmail sends the notice, with the link
    (message,) = wait_until(lambda: list(google.gmail.sent), timeout=20, what="the notice")
    assert message["To"] == "Ops <ops@example.com>"
    assert message["Subject"] == "[Stepline] “Invoices” failed"
    body = message.get_body(("plain",))
    assert body is not None
    url = f"http://localhost:5000/executions/{execution_id}"
    assert f"See the run: {url}" in body.get_content()
