"""Tenancy across every route (SECURITY.md "Tenancy and sessions"): the test walks the app's
route table, so a route added without an owner check fails here without anyone listing it.

Mallory requests every route with Alice's ids (pages, htmx fragments, the JSON API with her own
token): each route that takes an id answers 404 (or 403) exactly as it does for an id that does
not exist, and nothing of Alice's changes. Routes without an id must not show Alice's rows.
Routes that are public, or that only create things for the caller, are listed below, each with
the reason; any other route without an id must be one of them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.config import settings_of
from app.credentials.store import seal
from app.extensions import container, db
from app.models import (
    ApiToken,
    Connection,
    Credential,
    Execution,
    User,
    UserSession,
    Workflow,
    WorkflowDraft,
    WorkflowVersion,
)
from app.services.accounts import api_tokens
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.api_client import issue_token
from tests.conftest import csrf_token

MARK = f"alice-private-{uuid.uuid4().hex[:8]}"  # in every name of Alice's: must never show

# Routes anyone may call: they carry no user data, or authenticate by something else.
PUBLIC = {
    "static": "CSS and scripts",
    "web.index": "redirects to the login page or the caller's own list",
    "web.auth_login": "signs in",
    "web.auth_register": "creates an account",
    "web.auth_logout": "ends the caller's own session",
    "web.session_end_all": "ends the caller's own sessions (logout everywhere)",
    "web.connection_callback": "OAuth redirect: its single-use state names the user who started",
    "ops.health_live": "process probe",
    "ops.health_ready": "readiness probe",
    "ops.metrics_show": "operators' figures behind STEPLINE_METRICS_TOKEN, no user data",
    "hooks.hook_receive": "webhook URL: its 256-bit token is the credential",
    "hooks.hook_test": "webhook test URL: its 256-bit token is the credential",
    "resume.resume_call": "a waiting step's resume URL: its HMAC token is the credential",
    "resume.approval_show": "the approval page: its resume URL's HMAC token is the credential",
    "resume.approval_decide": "the approval page's decision: the same URL is the credential",
    "api.openapi_show": "public API description",
    "api.docs_show": "public API documentation",
}
# POST routes without an id: they act for the caller only (Alice's ids sent along must not
# reach her rows, which the snapshot at the end checks).
CREATES = {
    "web.workflow_create",
    "web.workflow_import",
    "web.token_create",
    "web.password_change",
    "web.connection_connect",
    "web.credential_create",
    "web.execution_bulk_rerun",
    "api.workflow_create",
    "api.workflow_import",
    "api.executions_rerun_failed",
    "api.token_create",
    "api.credential_create",
}
ID_ARGUMENTS = {
    "workflow_id",
    "execution_id",
    "step_id",
    "connection_id",
    "credential_id",
    "token_id",
    "session_id",
    "key",
    "branch",
    "version",
}
CSRF_VALUE = re.compile(
    r'(csrf_token" type="hidden" value="|name="csrf_token" value="|"X-CSRFToken": ")[^"]+'
)


def _noop_send(
    execution_id: int, position: int, attempt: int, delay: float, frame: str = ""
) -> None:
    """No worker in this test: Alice's executions stay exactly as created."""


def _alice(app: Flask) -> dict[str, Any]:
    """Alice's objects of every kind, and ids that do not exist."""
    with app.app_context():
        session = db.session()
        alice = session.scalars(select(User).where(User.email == "alice@example.com")).one()
        secrets = container(app).secrets
        spec = {
            "name": f"{MARK} workflow",
            "steps": [
                {"key": "say", "type": "log", "config": {"message": MARK}},
                {"key": "shape", "type": "transform", "config": {"fields": {"a": "1"}}},
            ],
        }
        workflow = crud.create_workflow(
            session, alice.id, WorkflowSpec.model_validate(spec), secrets, container().handlers
        )
        spec["description"] = f"{MARK} second version"
        crud.update_workflow(
            session, workflow, WorkflowSpec.model_validate(spec), secrets, container().handlers
        )
        crud.set_enabled(session, workflow, True, container().handlers)
        live = lifecycle.start(
            session, workflow, {"m": MARK}, send=_noop_send, settings=settings_of(app)
        )
        failed = lifecycle.start(session, workflow, {}, send=_noop_send, settings=settings_of(app))
        failed.status = "failed"
        connection = Connection(
            user_id=alice.id, provider="google", account_email=f"{MARK}@example.com"
        )
        session.add(connection)
        session.commit()
        token = api_tokens.create_token(session, alice, f"{MARK} token").token
        credential = Credential(
            user_id=alice.id,
            kind="http_bearer",
            name=f"{MARK} credential",
            data_encrypted=seal(secrets, {"token": MARK}),
        )
        session.add(credential)
        session.commit()
        ids = {
            "workflow_id": workflow.id,
            "execution_id": live.id,
            "step_id": live.steps[0].id,
            "connection_id": connection.id,
            "credential_id": credential.id,
            "token_id": token.id,
            "session_id": session.scalars(
                select(UserSession.id).where(UserSession.user_id == alice.id)
            ).one(),
            "key": "say",
            "branch": "a",
            "version": 1,
        }
        missing = {
            **{name: value + 1000 for name, value in ids.items() if isinstance(value, int)},
            "key": "say",
            "branch": "a",
            "version": 1,
        }
        return {"user_id": alice.id, "ids": ids, "missing": missing, "failed_id": failed.id}


def _snapshot(app: Flask, user_id: int) -> dict[str, Any]:
    """Everything of Alice's that a request could change."""
    with app.app_context():
        session = db.session()
        flows = session.scalars(select(Workflow).where(Workflow.user_id == user_id)).all()
        flow_ids = [w.id for w in flows]
        return {
            "workflows": [
                (w.id, w.name, w.description, w.version, w.enabled, w.trigger and w.trigger.config)
                for w in flows
            ],
            "steps": [
                (a.workflow_id, a.key, a.position, a.config, a.enabled)
                for w in flows
                for a in w.actions
            ],
            "executions": session.execute(
                select(Execution.id, Execution.status, Execution.position)
                .where(Execution.user_id == user_id)
                .order_by(Execution.id)
            ).all(),
            "versions": session.execute(
                select(WorkflowVersion.workflow_id, WorkflowVersion.version).where(
                    WorkflowVersion.workflow_id.in_(flow_ids)
                )
            ).all(),
            "drafts": session.execute(
                select(WorkflowDraft.workflow_id, WorkflowDraft.spec).where(
                    WorkflowDraft.workflow_id.in_(flow_ids)
                )
            ).all(),
            "connections": session.execute(
                select(Connection.id, Connection.status).where(Connection.user_id == user_id)
            ).all(),
            "credentials": session.execute(
                select(Credential.id, Credential.name, Credential.data_encrypted).where(
                    Credential.user_id == user_id
                )
            ).all(),
            "tokens": session.execute(
                select(ApiToken.id, ApiToken.revoked_at).where(ApiToken.user_id == user_id)
            ).all(),
            "sessions": session.execute(
                select(UserSession.id, UserSession.revoked_at).where(UserSession.user_id == user_id)
            ).all(),
            "password": session.scalars(select(User.password_hash).where(User.id == user_id)).one(),
        }


def _path_arguments(rule: Rule) -> set[str]:
    return set(rule.arguments) - set(rule.defaults or {})


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _masked(response: TestResponse) -> str:
    """The body with its CSRF token and every number (the ids) blanked out."""
    text = CSRF_VALUE.sub(r"\1…", response.get_data(as_text=True))
    return re.sub(r"\d+", "N", text)


class Mallory:
    """Mallory's two ways in: her browser session (with its CSRF token) and her API token."""

    def __init__(self, app: Flask, browser: FlaskClient) -> None:
        self.browser = browser
        self.api = app.test_client()  # no cookies: the API authenticates the bearer only
        self.token = issue_token(app, "mallory@example.com")
        self.csrf = csrf_token(browser, "/workflows")

    def call(
        self, rule: Rule, method: str, values: dict[str, Any], fragment: bool = False
    ) -> TestResponse:
        built = rule.build({k: values[k] for k in _path_arguments(rule)}, append_unknown=False)
        assert built is not None
        path = built[1]
        query = {k: v for k, v in values.items() if k in ID_ARGUMENTS}
        if rule.endpoint.startswith("api."):
            return self.api.open(
                path,
                method=method,
                query_string=query,
                json={**query, "name": "x"},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        headers = {"X-CSRFToken": self.csrf}
        if fragment:
            headers["HX-Request"] = "true"
        data = {**{k: str(v) for k, v in query.items()}, "csrf_token": self.csrf}
        body: dict[str, Any] = {"data": data} if method != "GET" else {}
        return self.browser.open(path, method=method, query_string=query, headers=headers, **body)


@pytest.fixture
def no_worker(app_config: dict[str, object]) -> None:
    app_config["EMBEDDED_WORKER"] = False


@pytest.mark.usefixtures("no_worker")
def test_every_route_hides_and_protects_another_users_objects(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given Alice's workflow (with a saved earlier version), a live and a failed execution, a
    # Google connection and an API token; and Mallory, signed in and with a token of her own
    alice = _alice(app)
    before = _snapshot(app, alice["user_id"])
    mallory = Mallory(app, other_client)
    theirs, missing = alice["ids"], alice["missing"]

    # When Mallory calls every route of the app with Alice's ids (and with missing ones)
    swept, listed, created = [], [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        arguments = _path_arguments(rule)
        assert arguments <= ID_ARGUMENTS, f"{rule}: teach the tenancy sweep its arguments"
        for method in _methods(rule):
            if arguments:
                for fragment in (False, True) if method == "GET" else (False,):
                    mine = mallory.call(rule, method, theirs, fragment)
                    absent = mallory.call(rule, method, missing, fragment)

                    # Then a route with an id answers as for an id that does not exist
                    where = f"{method} {rule} (fragment={fragment})"
                    assert mine.status_code in (403, 404), where
                    assert mine.status_code == absent.status_code, where
                    assert _masked(mine) == _masked(absent), where
                    swept.append(where)
            elif method == "GET":
                # and a route without one lists none of Alice's rows, even when asked for her ids
                response = mallory.call(rule, method, theirs)
                assert MARK not in response.get_data(as_text=True), f"{method} {rule}"
                assert response.status_code < 500, f"{method} {rule}"
                listed.append(f"{method} {rule}")
            else:
                assert rule.endpoint in CREATES, (
                    f"{method} {rule} takes no id: list it in CREATES (acts for the caller only) "
                    "or in PUBLIC, with the reason"
                )
                response = mallory.call(rule, method, theirs)
                assert response.status_code < 500, f"{method} {rule}"
                created.append(f"{method} {rule}")

    # And nothing of Alice's changed, whatever the route
    assert _snapshot(app, alice["user_id"]) == before
    assert len(swept) >= 40 and len(listed) >= 8 and created
    # Alice herself still sees her workflow (the ids were right)
    page = user_client.get(f"/workflows/{theirs['workflow_id']}")
    assert page.status_code == 200 and MARK in page.get_data(as_text=True)
