"""A credential's secrets are never shown or stored in clear: a table over every place one
could leak to (pages, the API, an export, stored rows, logs), after a credential was created,
used by steps that quote it carelessly (in their output, a log line, an error), tested in the
editor's "test this step", rotated and used again."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Action,
    Credential,
    Execution,
    ExecutionStep,
    WorkflowDraft,
    WorkflowVersion,
)
from tests.api_client import Api, issue_token

SECRET = "sk-live-7d1c0ffee5ecre7-first"
ROTATED = "sk-live-99aa88bb77cc-rotated"


def spec(credential_id: int, fail: bool) -> dict[str, Any]:
    return {
        "name": "Careless " + ("failing" if fail else "echo"),
        "steps": [
            {
                "key": "call",
                "type": "test_credential",
                "config": {"credential_id": credential_id, "fail": fail},
            },
            {"key": "after", "type": "log", "config": {"message": "{{ steps.call.said }}"}},
        ],
    }


def _rows(app: Flask) -> str:
    """Every stored row a secret could land in, as text."""
    with app.app_context():
        session = db.session()
        rows: list[Any] = []
        for model in (Credential, Action, WorkflowVersion, WorkflowDraft, Execution):
            for row in session.scalars(select(model)):
                rows.append({a.key: getattr(row, a.key) for a in model.__mapper__.column_attrs})
        for step in session.scalars(select(ExecutionStep)):
            rows.append([step.input, step.output, step.error, step.attempt_log])
        return json.dumps(rows, default=str)


class Recorder(logging.Handler):
    """Every record logged anywhere while it is installed on the root logger (added after
    the app exists: building the first app runs Alembic's fileConfig, which resets the root
    logger's handlers, pytest's capture included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        """Each record's message and every attribute (extras such as a traceback)."""
        assert self.records, "nothing was logged"
        return "\n".join(
            f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in self.records
        )


@pytest.fixture
def logs(app: Flask) -> Iterator[Recorder]:
    recorder, root = Recorder(), logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    yield recorder
    root.removeHandler(recorder)
    root.setLevel(level)


@pytest.fixture
def scenario(app: Flask, user_client: FlaskClient, logs: Recorder) -> dict[str, Any]:
    """Alice's credential, used by two workflows, tested, rotated and used again."""
    api = Api(app.test_client(), issue_token(app))
    body = {"kind": "http_bearer", "name": "Billing", "fields": {"token": SECRET}}
    created = api.post("/connections/credentials", body)
    assert created.status_code == 201
    credential_id = created.get_json()["id"]
    answers = {"create": created.get_data(as_text=True)}
    echo = api.create(spec(credential_id, fail=False), enable=True)["id"]
    failing = api.create(spec(credential_id, fail=True), enable=True)["id"]
    runs = [api.wait(api.trigger(echo)), api.wait(api.trigger(failing))]
    trial = api.post(f"/workflows/{echo}/steps/call/test", {"trigger": {}})
    answers["step test"] = trial.get_data(as_text=True)
    rotated = api.client.patch(
        f"/api/v1/connections/credentials/{credential_id}",
        json={"fields": {"token": ROTATED}},
        headers=api.headers(),
    )
    answers["rotate"] = rotated.get_data(as_text=True)
    runs.append(api.wait(api.trigger(echo)))
    assert [r["status"] for r in runs] == ["completed", "failed", "completed"]
    return {
        "api": api,
        "browser": user_client,
        "credential_id": credential_id,
        "workflows": (echo, failing),
        "executions": [r["id"] for r in runs],
        "answers": answers,
        "trial": trial.get_json(),
    }


def _text(text: str) -> Callable[[], str]:
    return lambda: text


def test_no_secret_anywhere(app: Flask, scenario: dict[str, Any], logs: Recorder) -> None:
    api: Api = scenario["api"]
    browser: FlaskClient = scenario["browser"]
    credential_id = scenario["credential_id"]
    echo, failing = scenario["workflows"]

    def page(path: str) -> Callable[[], str]:
        return lambda: browser.get(path).get_data(as_text=True)

    def endpoint(path: str) -> Callable[[], str]:
        return lambda: api.get(path).get_data(as_text=True)

    surfaces: dict[str, Callable[[], str]] = {
        "page: connections": page("/connections"),
        "page: edit credential": page(f"/connections/credentials/{credential_id}"),
        "page: editor": page(f"/workflows/{echo}"),
        "page: step panel": lambda: browser.get(
            f"/workflows/{echo}?step=call", headers={"HX-Request": "true"}
        ).get_data(as_text=True),
        "page: executions": page("/executions"),
        "api: connections": endpoint("/connections"),
        "api: credentials": endpoint("/connections/credentials"),
        "api: credential": endpoint(f"/connections/credentials/{credential_id}"),
        "api: export": endpoint(f"/workflows/{echo}/export"),
        "api: workflow": endpoint(f"/workflows/{failing}"),
        "stored rows": lambda: _rows(app),
        "logs": logs.text,
        **{f"answer: {name}": _text(text) for name, text in scenario["answers"].items()},
    }
    for execution_id in scenario["executions"]:
        surfaces[f"page: execution {execution_id}"] = page(f"/executions/{execution_id}")
        surfaces[f"api: execution {execution_id}"] = endpoint(f"/executions/{execution_id}")

    leaks = [name for name, read in surfaces.items() if SECRET in read() or ROTATED in read()]

    assert leaks == []


def test_the_steps_used_the_secret_and_show_where_it_was_redacted(
    scenario: dict[str, Any], logs: Recorder
) -> None:
    api: Api = scenario["api"]
    first, failed, after_rotation = (
        api.get(f"/executions/{i}").get_json() for i in scenario["executions"]
    )
    call = {s["key"]: s for s in first["steps"]}["call"]
    assert call["output"]["said"] == "Bearer ••••••"
    assert call["output"]["length"] == len(SECRET)
    rotated_call = {s["key"]: s for s in after_rotation["steps"]}["call"]
    assert rotated_call["output"]["length"] == len(ROTATED)  # the next run read the new value
    failed_call = {s["key"]: s for s in failed["steps"]}["call"]
    assert failed_call["error"] == "the service refused token ••••••"
    assert scenario["trial"]["output"]["said"] == "Bearer ••••••"
    assert "using token •••••• for call" in logs.text()
