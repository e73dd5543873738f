"""Helpers of the service-action tests: the fake services on one server for a test module,
credentials stored as the Connections page stores them, one-step workflows run by the app's
embedded worker, and what they stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask

from app.config import settings_of
from app.credentials.store import seal
from app.extensions import container, db
from app.models import Credential, Execution, ExecutionStep, Workflow
from app.services.executions import lifecycle
from tests.fakes.discord import FakeDiscord
from tests.fakes.http import FakeServer
from tests.fakes.notion import FakeNotion
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.smtp import FakeSMTP
from tests.fakes.telegram_bot import FakeTelegram
from tests.google_support import make_workflow, run, steps_of, user_id, wait_final

SMTP_USER, SMTP_PASSWORD = "robot", "smtp-pass-7c1d9e"


@dataclass
class Services:
    """Every fake service of issue 22's actions, on 127.0.0.1."""

    server: FakeServer
    notion: FakeNotion
    telegram: FakeTelegram
    discord: FakeDiscord
    openai: FakeOpenAI
    smtp: FakeSMTP

    def settings(self) -> dict[str, object]:
        return {
            "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
            **self.notion.settings(),
            **self.telegram.settings(),
        }

    def reset(self) -> None:
        for fake in (self.notion, self.telegram, self.discord, self.openai, self.smtp):
            fake.reset()


def start_services() -> Iterator[Services]:
    """The fakes for a module's tests (reset between tests by the caller)."""
    with (
        FakeServer() as server,
        FakeSMTP(security="none", username=SMTP_USER, password=SMTP_PASSWORD) as smtp,
    ):
        yield Services(
            server=server,
            notion=FakeNotion(server),
            telegram=FakeTelegram(server),
            discord=FakeDiscord(server),
            openai=FakeOpenAI(server),
            smtp=smtp,
        )


def add_credential(app: Flask, owner_email: str, kind: str, fields: dict[str, Any]) -> int:
    """A credential of `kind` stored (encrypted) for the user; its id."""
    owner = user_id(app, owner_email)
    with app.app_context():
        row = Credential(
            user_id=owner,
            kind=kind,
            name=f"{kind} of {owner_email}",
            data_encrypted=seal(container(app).secrets, fields),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def one_step(step_type: str, config: dict[str, Any], attempts: int = 1) -> dict[str, Any]:
    return {
        "name": f"{step_type} test",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "key": "send",
                "type": step_type,
                "config": config,
                "retry": {"attempts": attempts, "backoff": {"type": "fixed", "delay": 0.1}},
            }
        ],
    }


def run_step(
    app: Flask,
    step_type: str,
    config: dict[str, Any],
    data: dict[str, Any] | None = None,
    *,
    attempts: int = 1,
    owner_email: str = "alice@example.com",
    dry_run: bool = False,
) -> tuple[Execution, ExecutionStep]:
    """Run a one-step workflow of alice's to its end: the execution and its step's row."""
    workflow_id = make_workflow(
        app, user_id(app, owner_email), one_step(step_type, config, attempts), enable=False
    )
    started = (
        dry_run_of(app, workflow_id, data or {}) if dry_run else run(app, workflow_id, data or {})
    )
    execution = wait_final(app, started, timeout=30)
    (step,) = steps_of(app, execution.id)
    return execution, step


def dry_run_of(app: Flask, workflow_id: int, data: dict[str, Any]) -> int:
    """Start a dry run of the workflow (as "Dry run" does); its id."""
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        execution = lifecycle.start(
            db.session(),
            workflow,
            data,
            send=container(app).doorbell.send,
            settings=settings_of(app),
            dry_run=True,
        )
        return execution.id


def stored(step: ExecutionStep) -> str:
    """Everything the step's row keeps, as text (to look for a secret in)."""
    return json.dumps([step.input, step.output, step.error, step.attempt_log], default=str)
