"""The palette: the API lists every action and trigger kind with its JSON Schema and category,
and the editor groups them by category (the step palette, and the trigger's kind select)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.actions import BUILTIN_ACTIONS
from app.engine.categories import CATEGORIES, OTHER
from app.extensions import container
from app.triggers import BUILTIN_TRIGGERS
from tests.integration.editor_support import Editor
from tests.integration.test_api_auth import bearer, issue_token

# What this branch ships (main's loop and paths included); issue 22's target once the
# integrations branch is merged is at least 15 actions (its send_email, notion_create_page,
# notion_append_block, telegram_send_message, discord_send_message, llm_chat) and 9 triggers.
MIN_ACTIONS = 15  # issue 22: at least 15 action types and 9 triggers
MIN_TRIGGERS = 9


def test_the_api_lists_every_kind_with_its_schema_and_category(
    app: Flask, client: FlaskClient
) -> None:
    headers = bearer(issue_token(app))

    actions = client.get("/api/v1/actions", headers=headers).get_json()["items"]
    triggers = client.get("/api/v1/triggers", headers=headers).get_json()["items"]

    # Every built-in kind is listed (plugins too), each with a JSON Schema and a category
    listed = {k["type"] for k in actions} | {k["type"] for k in triggers}
    assert {h.type for h in (*BUILTIN_ACTIONS, *BUILTIN_TRIGGERS)} <= listed
    assert len(BUILTIN_ACTIONS) >= MIN_ACTIONS and len(BUILTIN_TRIGGERS) >= MIN_TRIGGERS
    for kind in actions + triggers:
        assert kind["config_schema"]["type"] == "object", kind["type"]
        assert kind["category"], kind["type"]
    builtin = {h.type for h in (*BUILTIN_ACTIONS, *BUILTIN_TRIGGERS)}
    assert {k["category"] for k in actions + triggers if k["type"] in builtin} <= set(CATEGORIES)
    by_type = {k["type"]: k["category"] for k in actions + triggers}
    assert by_type["filter"] == "Flow"
    assert by_type["slack_message"] == "Messaging"
    assert by_type["email_received"] == "Email"
    assert by_type["telegram_message"] == "Messaging"
    assert by_type["google.gmail_new_message"] == "Google"
    assert by_type["http_request"] == "Developer"
    # The new triggers' schemas say what the form needs
    email = next(t for t in triggers if t["type"] == "email_received")["config_schema"]
    assert email["properties"]["password"]["writeOnly"] is True
    telegram = next(t for t in triggers if t["type"] == "telegram_message")["config_schema"]
    assert telegram["properties"]["credential_id"]["credential_kinds"] == ["telegram"]


def test_the_editor_palette_and_trigger_select_group_kinds_by_category(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    response = editor.post("/workflows", {"name": "Palette"}, htmx=False)
    page = editor.get(response.headers["Location"]).get_data(as_text=True)

    # The step palette: one heading per category, in the palette's order, each kind under its own
    headings = re.findall(r'<h3 class="palette-category" id="palette-\d+">([^<]+)</h3>', page)
    known = [*CATEGORIES, OTHER]
    assert headings == sorted(headings, key=lambda h: known.index(h) if h in known else 99)
    assert {"Flow", "Messaging", "Data", "Google", "Developer"} <= set(headings)
    sections = dict(
        re.findall(r'palette-category" id="palette-\d+">([^<]+)</h3>(.*?)</section>', page, re.S)
    )
    assert 'id="add-slack_message"' in sections["Messaging"]
    assert 'id="add-filter"' in sections["Flow"]
    actions = container(app).handlers.actions
    assert page.count('class="palette-item"') == len(actions.types())

    # The trigger's kind select: an optgroup per category
    workflow_id = int(re.findall(r"/workflows/(\d+)", response.headers["Location"])[0])
    panel = editor.get(f"/workflows/{workflow_id}?panel=trigger").get_data(as_text=True)
    groups = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', panel, re.S))
    assert 'value="email_received"' in groups["Email"]
    assert 'value="telegram_message"' in groups["Messaging"]
    assert 'value="webhook"' in groups["Developer"]
