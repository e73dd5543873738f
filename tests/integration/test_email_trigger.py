"""The email_received trigger against a fake IMAP server on 127.0.0.1, polled by the
scheduler's job on both backends: each new message fires one execution, messages already
there never fire, the cursor (UIDVALIDITY and UID) survives a restart without duplicates, and
TLS, STARTTLS, the address guard, a refused login and a renumbered mailbox behave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.engine.runner import Send
from app.extensions import container, db
from app.models import Trigger
from app.models.base import utcnow
from app.services.scheduling import polls
from app.services.workflows import crud, trigger_health
from app.triggers.polling import STALL_AFTER
from tests.fakes.imap import FakeIMAP, make_message
from tests.fakes.tls import make_pki
from tests.google_support import dump_database, executions_of, make_workflow, user_id
from tests.hooks_support import close_app

PASSWORD = "imap-secret-pw"


@pytest.fixture
def pki(tmp_path: Path) -> Any:
    return make_pki(tmp_path, ["imap.test"], ips=("127.0.0.1",))


@pytest.fixture
def imap(pki: Any) -> Iterator[FakeIMAP]:
    with FakeIMAP(pki.server_context, password=PASSWORD) as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, object], pki: Any) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ("127.0.0.1/32",),
        "OUTBOUND_CA_BUNDLE": str(pki.ca_file),
    }


def poll_now(app: Flask, send: Send | None = None) -> int:
    """One scheduler pass over the due polling triggers, a poll interval from now."""
    current = container(app)
    later = utcnow() + timedelta(seconds=current.settings.poll_interval + 1)
    return polls.poll_due(
        current.session_factory,
        triggers=current.handlers.triggers,
        send=send or (lambda *message: None),
        settings=current.settings,
        secrets=current.secrets,
        now=later,
    )


@contextmanager
def another_app(config: dict[str, object]) -> Iterator[Flask]:
    """A second app (a restarted or differently configured process) on the same database."""
    other = create_app({**config, "EMBEDDED_WORKER": False})
    try:
        yield other
    finally:
        close_app(other)


def watch(app: Flask, port: int, **config: Any) -> int:
    spec = {
        "name": "Mail",
        "trigger": {
            "type": "email_received",
            "config": {
                "host": "127.0.0.1",
                "port": port,
                "username": "alice@example.com",
                "password": PASSWORD,
                **config,
            },
        },
        "steps": [{"key": "note", "type": "log", "config": {"message": "{{ trigger.subject }}"}}],
    }
    return make_workflow(app, user_id(app, "alice@example.com"), spec)


def subjects(app: Flask, workflow_id: int) -> list[str]:
    return [e.trigger_data["subject"] for e in executions_of(app, workflow_id)]


def health(app: Flask, workflow_id: int) -> dict[str, Any]:
    with app.app_context():
        trigger = db.session.query(Trigger).filter_by(workflow_id=workflow_id).one()
        return dict(trigger.state.get("health") or {})


def test_each_new_message_fires_once_and_earlier_ones_never(
    app: Flask, user_client: FlaskClient, imap: FakeIMAP
) -> None:
    # Given a message already in the mailbox when the workflow is enabled
    imap.deliver(make_message("old@example.com", "old"))
    workflow_id = watch(app, imap.port)

    # When the scheduler polls (the first poll takes the baseline), then two messages arrive
    assert poll_now(app) == 0
    imap.deliver(make_message("shop@example.com", "first", html="<p>Hi</p>", attachment=b"%PDF"))
    imap.deliver(make_message("shop@example.com", "second"))
    assert poll_now(app) == 2
    assert poll_now(app) == 0
    imap.deliver(make_message("shop@example.com", "third"))
    assert poll_now(app) == 1

    # Then each new message started exactly one execution, in order; the old one none
    assert subjects(app, workflow_id) == ["first", "second", "third"]
    first = executions_of(app, workflow_id)[0].trigger_data
    assert first["from"] == "shop@example.com"
    assert first["body_text"].strip() == "first (text)"
    assert first["body_html"].strip() == "<p>Hi</p>"
    assert first["attachments"] == [
        {"filename": "invoice.pdf", "content_type": "application/pdf", "size": 4}
    ]
    assert (first["mailbox"], first["truncated"]) == ("INBOX", False)
    # And the mailbox was only examined (read-only: nothing marked read), over TLS
    assert not any(c.startswith("SELECT") for c in imap.commands)
    # And the password is stored encrypted: no row holds it in clear
    assert PASSWORD not in dump_database(app)


def test_the_cursor_survives_a_restart_without_duplicates(
    app: Flask, app_config: dict[str, object], user_client: FlaskClient, imap: FakeIMAP
) -> None:
    # Given a trigger that fired two messages
    workflow_id = watch(app, imap.port)
    poll_now(app)
    imap.deliver(make_message("a@example.com", "one"))
    imap.deliver(make_message("a@example.com", "two"))
    assert poll_now(app) == 2

    # When the process restarts (a new app and container on the same database) and a
    # message arrives
    with another_app(app_config) as restarted:
        assert poll_now(restarted) == 0
        imap.deliver(make_message("a@example.com", "three"))
        assert poll_now(restarted) == 1

        # Then every message fired exactly once
        assert subjects(app, workflow_id) == ["one", "two", "three"]


class SchedulerKilled(BaseException):
    """The scheduler process dies (not an error anything may catch)."""


def test_a_scheduler_killed_mid_poll_loses_and_repeats_nothing(
    app: Flask, user_client: FlaskClient, imap: FakeIMAP
) -> None:
    workflow_id = watch(app, imap.port)
    poll_now(app)
    for n in range(4):
        imap.deliver(make_message("b@example.com", f"message {n}"))

    # When the scheduler dies right after committing the second execution of its poll
    sent: list[int] = []

    def die_on_second(execution_id: int, *_: Any) -> None:
        sent.append(execution_id)
        if len(sent) == 2:
            raise SchedulerKilled

    with pytest.raises(SchedulerKilled):
        poll_now(app, send=die_on_second)

    # Then the next scheduler fires the other two, and nothing twice
    assert poll_now(app) == 2
    assert subjects(app, workflow_id) == [f"message {n}" for n in range(4)]


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_starttls_and_plain_connections(
    app: Flask, user_client: FlaskClient, pki: Any, security: str
) -> None:
    tls = pki.server_context if security == "starttls" else None
    with FakeIMAP(tls, implicit_tls=False, password=PASSWORD) as server:
        workflow_id = watch(app, server.port, security=security)
        poll_now(app)
        server.deliver(make_message("c@example.com", f"over {security}"))
        assert poll_now(app) == 1
        assert subjects(app, workflow_id) == [f"over {security}"]
        assert ("STARTTLS " in server.commands) is (security == "starttls")


def test_a_renumbered_mailbox_takes_a_new_baseline_instead_of_firing_it_all_again(
    app: Flask, user_client: FlaskClient, imap: FakeIMAP
) -> None:
    workflow_id = watch(app, imap.port)
    poll_now(app)
    imap.deliver(make_message("d@example.com", "before"))
    assert poll_now(app) == 1

    # When the server gives the mailbox a new UIDVALIDITY
    imap.renumber()
    assert poll_now(app) == 0
    imap.deliver(make_message("d@example.com", "after"))
    assert poll_now(app) == 1

    assert subjects(app, workflow_id) == ["before", "after"]


def test_a_refused_login_shows_in_trigger_health_without_the_password(
    app: Flask, user_client: FlaskClient, imap: FakeIMAP
) -> None:
    workflow_id = watch(app, imap.port)
    imap.refuse_logins = True
    for _ in range(STALL_AFTER):
        assert poll_now(app) == 0

    recorded = health(app, workflow_id)
    assert recorded["failures"] == STALL_AFTER
    assert "refused the login" in recorded["error"]
    assert "AUTHENTICATIONFAILED" in recorded["error"]
    owner = user_id(app, "alice@example.com")
    with app.app_context():
        workflow = crud.get_workflow(db.session(), workflow_id, owner)
        found = trigger_health.health(db.session(), workflow, container().handlers.triggers)
    assert found.overdue
    assert "Polling the mail server failed 3 times in a row" in found.message
    assert PASSWORD not in json.dumps(recorded) + found.message


def test_a_mail_server_on_a_private_address_is_refused_without_the_allow_list(
    app_config: dict[str, object], user_client: FlaskClient, imap: FakeIMAP
) -> None:
    # Given an installation whose allow-list does not open 127.0.0.1
    with another_app({**app_config, "OUTBOUND_ALLOWLIST": ()}) as guarded:
        workflow_id = watch(guarded, imap.port)

        # When it polls, nothing connects, and health names the refusal
        poll_now(guarded)
        assert imap.commands == []
        assert "127.0.0.1 is a loopback address" in health(guarded, workflow_id)["error"]


def test_a_message_over_the_size_cap_fires_with_its_headers_only(
    app_config: dict[str, object], user_client: FlaskClient, imap: FakeIMAP
) -> None:
    with another_app({**app_config, "OUTBOUND_MAX_RESPONSE_BYTES": 2000}) as small:
        workflow_id = watch(small, imap.port)
        poll_now(small)
        imap.deliver(make_message("e@example.com", "huge", text="x" * 5000))
        assert poll_now(small) == 1
        (data,) = [e.trigger_data for e in executions_of(small, workflow_id)]
        assert (data["subject"], data["truncated"], data["body_text"]) == ("huge", True, "")
