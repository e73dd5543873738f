"""send_email against a fake SMTP server (aiosmtpd), in real executions on both backends: the
message the form describes arrives (templates in every field, Bcc only in the envelope), the
password is kept out of every stored row, a refused login or a CR/LF header fails at once, a
temporary refusal is retried, and a dry run records the message without connecting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.extensions import db
from app.models import Credential
from app.services.errors import InvalidInputError
from tests.conftest import register
from tests.google_support import make_workflow, run, steps_of, user_id, wait_final
from tests.service_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    Services,
    add_credential,
    one_step,
    run_step,
    start_services,
    stored,
)

ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    yield from start_services()


@pytest.fixture(autouse=True)
def _fresh(services: Services) -> None:
    services.reset()


@pytest.fixture
def app_config(app_config: dict[str, object], services: Services) -> dict[str, object]:
    return {**app_config, **services.settings()}


def smtp_credential(app: Flask, services: Services, **overrides: Any) -> int:
    return add_credential(app, ALICE, "smtp", services.smtp.fields(**overrides))


def email(credential_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "to": "Ann Smith <{{ trigger.email }}>",
        "cc": "ops@example.org",
        "bcc": "audit@example.org",
        "reply_to": "support@example.com",
        "from_name": "Shop {{ trigger.shop }}",
        "subject": "Order {{ trigger.order }} for {{ trigger.name }}",
        "body_text": "Hello {{ trigger.name }}, order {{ trigger.order }} shipped.",
        "body_html": "<p>Hello {{ trigger.name | e }}</p>",
        **overrides,
    }


DATA = {"name": "Ann <b>", "email": "ann@example.org", "order": 42, "shop": "Acme"}


def test_the_message_the_form_describes_arrives(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    smtp = services.smtp
    credential = smtp_credential(app, services)

    execution, step = run_step(app, "send_email", email(credential), DATA)

    assert execution.status == "completed", execution.error
    (message,) = smtp.mailbox
    assert message["From"] == "Shop Acme <robot@example.com>"
    assert message["To"] == "Ann Smith <ann@example.org>" and message["Cc"] == "ops@example.org"
    assert message["Reply-To"] == "support@example.com"
    assert message["Subject"] == "Order 42 for Ann <b>"
    assert message["Bcc"] is None  # only in the envelope
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Hello Ann <b>, order 42 shipped."
    assert html.get_content().strip() == "<p>Hello Ann &lt;b&gt;</p>"
    (envelope,) = smtp.envelopes
    assert envelope["rcpt_tos"] == ["ann@example.org", "ops@example.org", "audit@example.org"]
    assert envelope["mail_from"] == "robot@example.com" and envelope["login"] == SMTP_USER
    assert step.output is not None
    assert step.output["message_id"] == message["Message-ID"]
    assert step.output["accepted"] == envelope["rcpt_tos"] and step.output["refused"] == {}
    assert SMTP_PASSWORD not in stored(step)


def test_a_line_break_in_a_rendered_header_fails_at_once(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = smtp_credential(app, services)
    data = {**DATA, "order": "42\r\nBcc: victim@example.org"}

    execution, step = run_step(app, "send_email", email(credential), data, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert "line breaks are not allowed in email headers" in (step.error or "")
    assert services.smtp.mailbox == []


def test_a_refused_login_fails_at_once_with_the_servers_reply(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = smtp_credential(app, services, password="not-the-password-42")

    execution, step = run_step(app, "send_email", email(credential), DATA, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == (
        "SMTP: '127.0.0.1' refused the login: 535 5.7.8 Authentication credentials invalid"
    )
    assert "not-the-password-42" not in stored(step)


def test_a_temporary_refusal_is_retried(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = smtp_credential(app, services)
    services.smtp.fail_next_data("451 4.3.0 Mailbox temporarily unavailable")

    execution, step = run_step(app, "send_email", email(credential), DATA, attempts=2)

    assert execution.status == "completed", execution.error
    assert step.attempts == 2 and len(services.smtp.mailbox) == 1
    assert "451 4.3.0" in (step.attempt_log[0].get("error") or "")


def test_a_permanent_refusal_fails_at_once(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = smtp_credential(app, services)
    services.smtp.fail_next_data("554 5.7.1 Message rejected as spam")

    execution, step = run_step(app, "send_email", email(credential), DATA, attempts=3)

    assert execution.status == "failed" and step.attempts == 1
    assert step.error == "SMTP: '127.0.0.1' answered 554 5.7.1 Message rejected as spam"


def test_a_dry_run_records_the_message_and_sends_nothing(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    credential = smtp_credential(app, services)

    execution, step = run_step(app, "send_email", email(credential), DATA, dry_run=True)

    assert execution.status == "completed", execution.error
    assert services.smtp.mailbox == [] and services.smtp.logins == []
    output = step.output
    assert output is not None and output["dry_run"] == "recorded"
    request = output["request"]
    assert request["method"] == "SMTP"
    assert request["url"] == f"smtp://127.0.0.1:{services.smtp.port}"
    assert request["headers"]["Subject"] == "Order 42 for Ann <b>"
    assert request["headers"]["Bcc"] == "audit@example.org"
    assert "order 42 shipped" in request["body"]
    assert SMTP_PASSWORD not in stored(step)


def test_another_users_credential_fails_the_step_without_a_retry(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    # Given a step whose credential has become another user's since the workflow was saved
    # (the save check refuses another user's credential; the run checks again)
    register(app.test_client(), "bob@example.com")
    credential = smtp_credential(app, services)
    workflow_id = make_workflow(
        app, user_id(app, ALICE), one_step("send_email", email(credential), 3), enable=False
    )
    with app.app_context():
        db.session.execute(
            update(Credential)
            .where(Credential.id == credential)
            .values(user_id=user_id(app, "bob@example.com"))
        )
        db.session.commit()

    # When it runs, the step fails at once and nothing is sent
    execution = wait_final(app, run(app, workflow_id, DATA), timeout=30)
    (step,) = steps_of(app, execution.id)
    assert execution.status == "failed" and step.attempts == 1
    assert "does not exist" in (step.error or "")
    assert services.smtp.mailbox == []


def test_saving_a_step_with_another_users_credential_is_refused(
    app: Flask, user_client: FlaskClient, services: Services
) -> None:
    register(app.test_client(), "bob@example.com")
    bobs = add_credential(app, "bob@example.com", "smtp", services.smtp.fields())

    with pytest.raises(InvalidInputError) as caught:
        make_workflow(app, user_id(app, ALICE), one_step("send_email", email(bobs)), enable=False)
    assert caught.value.field == "steps.0.config.credential_id"
