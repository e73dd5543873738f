"""Every workflow page and fragment: another user's workflow is the same 404 as a missing one,
an unsafe request without a CSRF token is refused, and what users typed is escaped."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Execution, WorkflowDraft
from tests.integration.editor_support import DATA_FIELD, Editor

TOKEN = re.compile(r'"X-CSRFToken": "[^"]+"|name="csrf_token" (?:type="hidden" )?value="[^"]+"')
EDITOR_MODULES = (
    "app.web.workflows",
    "app.web.editor.autosave",
    "app.web.editor.page",
    "app.web.editor.publish",
    "app.web.editor.run",
    "app.web.editor.steps",
    "app.web.editor.structure",
    "app.web.editor.webhook",
)


def editor_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every route the workflow pages serve with an id in it."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if view.__module__ not in EDITOR_MODULES or "workflow_id" not in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, rule.rule))
    return routes


def without_token(response: TestResponse) -> str:
    """The body with the CSRF token masked (it carries a timestamp, so two pages differ)."""
    return TOKEN.sub("token", response.get_data(as_text=True))


def url(rule: str, workflow_id: int) -> str:
    return (
        rule.replace("<int:workflow_id>", str(workflow_id))
        .replace("<key>", "transform")
        .replace("<branch>", "a")
        .replace("<int:version>", "1")
    )


def test_the_editor_serves_every_region_and_change(app: Flask) -> None:
    # The route table this file walks: a new route here must pass the checks below.
    endpoints = {endpoint for endpoint, _, _ in editor_routes(app)}
    assert {
        "web.workflow_show",
        "web.workflow_flow",
        "web.workflow_toolbar",
        "web.workflow_enable",
        "web.workflow_export",
        "web.workflow_delete",
        "web.workflow_history",
        "web.workflow_update",
        "web.workflow_save",
        "web.workflow_discard",
        "web.workflow_run",
        "web.trigger_update",
        "web.version_restore",
        "web.version_restore_confirm",
        "web.workflow_activate",
        "web.step_create",
        "web.step_update",
        "web.step_test",
        "web.step_move",
        "web.step_duplicate",
        "web.step_delete",
        "web.step_enable",
        "web.branch_create",
        "web.branch_show",
        "web.branch_update",
        "web.branch_delete",
        "web.workflow_run_form",
        "web.webhook_show",
        "web.webhook_url_create",
        "web.webhook_url_rotate",
        "web.webhook_listen",
        "web.webhook_sample_use",
    } <= endpoints


def test_another_users_workflow_is_the_same_404_as_a_missing_one(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given mallory's saved workflow (with version history) and alice logged in
    mallory = Editor(other_client)
    theirs = mallory.build("Mallory's")
    mallory.apply(theirs, "transform", {"fields": '{"a": 1}'})
    mallory.save(theirs)
    alice = Editor(user_client)
    missing = theirs + 1000

    for endpoint, method, rule in editor_routes(app):
        # When alice requests it, as a page and as htmx, for mallory's id and a missing id
        for htmx in (False, True):
            if method == "GET":
                foreign = alice.get(url(rule, theirs), htmx=htmx)
                absent = alice.get(url(rule, missing), htmx=htmx)
            else:
                data = {
                    "type": "log",
                    "at": "0",
                    "direction": "up",
                    "enabled": "1",
                    "confirm": "yes",
                }
                foreign = alice.post(url(rule, theirs), data, htmx=htmx)
                absent = alice.post(url(rule, missing), data, htmx=htmx)

            # Then both are the same 404
            assert foreign.status_code == absent.status_code == 404, (endpoint, method, htmx)
            assert without_token(foreign) == without_token(absent), (endpoint, method)

    # And mallory's workflow is untouched: no draft, no run, still there
    with app.app_context():
        assert db.session.get(WorkflowDraft, theirs) is None
        assert db.session.scalar(select(func.count(Execution.id))) == 0
    assert mallory.get(f"/workflows/{theirs}").status_code == 200


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_unsafe_requests_without_csrf_are_refused(
    app: Flask, user_client: FlaskClient, htmx: bool
) -> None:
    # Given alice's saved workflow
    alice = Editor(user_client)
    workflow_id = alice.build()

    for endpoint, method, rule in editor_routes(app):
        if method != "POST":
            continue
        # When a change is posted without the token
        data = {"type": "log", "at": "0", "direction": "up", "enabled": "1", "confirm": "yes"}
        response = alice.post(url(rule, workflow_id), data, htmx=htmx, csrf=False)

        # Then it is refused and nothing changed
        assert response.status_code == 400, endpoint

    for path in ("/workflows", "/workflows/import"):
        assert (
            alice.post(path, {"name": "x", "json": "{}"}, htmx=htmx, csrf=False).status_code == 400
        )
    with app.app_context():
        assert db.session.get(WorkflowDraft, workflow_id) is None
        assert db.session.scalar(select(func.count(Execution.id))) == 0
    assert alice.get(f"/workflows/{workflow_id}").status_code == 200


def test_pages_need_a_login(client: FlaskClient) -> None:
    for path in ("/workflows", "/workflows/new", "/workflows/1", "/workflows/1/history"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_names_outputs_and_payloads_are_escaped(user_client: FlaskClient) -> None:
    # Given a workflow, a step and sample data full of markup and htmx attributes
    editor = Editor(user_client)
    evil = '<img src=x onerror=alert(1)> hx-get="/logout"'
    workflow_id = editor.create(evil)
    editor.sample(workflow_id, '{"html": "<script>alert(1)</script>"}')
    editor.add(workflow_id, "transform")
    editor.post(
        f"/workflows/{workflow_id}/steps/transform/test",
        {"name": evil, "key": "transform", "config.fields": '{"x": "{{ trigger.html }}"}'},
    )

    # When the pages and fragments are shown
    pages = [
        editor.get("/workflows").get_data(as_text=True),
        editor.get(f"/workflows/{workflow_id}").get_data(as_text=True),
        editor.get(f"/workflows/{workflow_id}?step=transform").get_data(as_text=True),
        editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True),
    ]

    # Then nothing typed became markup
    for html in pages:
        assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]


def test_pages_carry_a_content_security_policy(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    response = editor.get(f"/workflows/{workflow_id}")

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.get_data(as_text=True)
    assert " style=" not in response.get_data(as_text=True)


def test_refused_input_is_a_422_naming_the_field_on_every_change_that_takes_input(
    user_client: FlaskClient,
) -> None:
    # Given a saved workflow (transform, filter, log) and a new one with an empty log step
    editor = Editor(user_client)
    saved = editor.build()
    empty = editor.create("Empty")
    editor.add(empty, "log")
    steps = f"/workflows/{saved}/steps"
    cases = [
        ("/workflows", {"name": ""}, "name"),
        (
            "/workflows/import",
            {"json": '{"name": "x", "trigger": {"type": "nope"}}'},
            "trigger.type",
        ),
        (steps, {"type": "teleport", "at": "0"}, "type"),
        (f"{steps}/log", {"key": "log", "config.message": "{{ oops"}, "steps.2.config.message"),
        (f"{steps}/log/test", {"key": "log", "config.level": "loud"}, "steps.2.config.level"),
        (
            f"{steps}/transform",
            {"key": "transform", "config.fields": "[1"},
            "steps.0.config.fields",
        ),
        (
            f"/workflows/{saved}/trigger",
            {"type": "manual", "sample_data": "7"},
            "trigger.sample_data",
        ),
        (f"/workflows/{saved}/settings", {"name": " "}, "name"),
        (
            f"/workflows/{saved}/settings",
            {"name": "x", "run_key_template": "{% if"},
            "run_key_template",
        ),
        (f"/workflows/{empty}/save", {}, "steps.0.config.message"),
        (f"/workflows/{saved}/run", {"payload": "{"}, "payload"),
        (f"/workflows/{saved}/delete", {}, "confirm"),
    ]

    for path, data, field in cases:
        # When the input is refused (the two pages without htmx, as a plain form)
        htmx = path not in ("/workflows", "/workflows/import")
        response = editor.post(path, data, htmx=htmx)

        # Then the answer is 422 and names the field
        assert response.status_code == 422, (path, response.status_code)
        assert field in DATA_FIELD.findall(response.get_data(as_text=True)), (path, field)
