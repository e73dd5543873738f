"""Every structured widget round-trips: for every built-in action and trigger, a definition
applied through "Edit as JSON", shown in the panel's widgets and posted back exactly as a
browser posts that form (rows as indexed fields, checked boxes, selected options), is the same
definition. Fields left at their model's default may be written or left out (a select always
posts its choice); everything else must be equal, value for value and type for type."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.actions import BUILTIN_ACTIONS
from app.extensions import container, db
from app.models import Connection, User, Workflow, WorkflowDraft
from app.triggers import BUILTIN_TRIGGERS
from app.web.editor import forms
from tests.integration.credentials_support import add_credential
from tests.integration.editor_support import Editor

CONNECTION = "<connection>"  # replaced by the id of the user's Google connection
CALLED = "<workflow>"  # replaced by the id of another of the user's workflows
# Replaced by the id of the user's credential of that kind.
CREDENTIALS = {f"<credential:{kind}>": kind for kind in ("smtp", "notion", "telegram", "discord")}
CREDENTIALS["<credential:openai>"] = "openai"

ACTIONS: dict[str, list[dict[str, Any]]] = {
    "transform": [
        {
            "fields": {
                "who": "{{ trigger.customer }}",
                "total": 42,
                "ratio": 0.5,
                "text_that_reads_as_a_number": "42",
                "empty": "",
                "nothing": None,
                "flag": True,
                "tags": ["a", "b"],
                "nested": {"x": 1, "y": ["z"]},
            }
        }
    ],
    "filter": [
        {
            "conditions": [
                {"left": "{{ trigger.total }}", "operator": "greater_than", "right": 10},
                {"left": "{{ trigger.email }}", "operator": "is_not_empty", "right": None},
                {"left": "{{ trigger.name }}", "operator": "equals", "right": ""},
                {"left": "{{ trigger.tags }}", "operator": "contains", "right": "vip"},
            ],
            "match": "any",
        },
        {  # (total > 10 AND email is not empty) OR (name equals "" OR tags contain vip) OR flag
            "conditions": [
                {
                    "match": "all",
                    "conditions": [
                        {"left": "{{ trigger.total }}", "operator": "greater_than", "right": 10},
                        {"left": "{{ trigger.email }}", "operator": "is_not_empty", "right": None},
                    ],
                },
                {
                    "match": "any",
                    "conditions": [
                        {"left": "{{ trigger.name }}", "operator": "equals", "right": ""},
                        {"left": "{{ trigger.tags }}", "operator": "contains", "right": "vip"},
                    ],
                },
                {"left": "{{ trigger.flag }}", "operator": "is_true", "right": None},
                {"match": "any", "conditions": [{"left": 1, "operator": "less_than", "right": 2}]},
            ],
            "match": "any",
        },
    ],
    "example": [
        {"text": "Hello {{ trigger.name }}", "excerpt_words": 5, "case": "upper", "require": "He"}
    ],
    "delay": [
        {"amount": 5, "unit": "minutes"},
        {"amount": 1.5, "unit": "seconds"},
        {"mode": "until", "until": "2026-12-24 09:00"},
        {"mode": "until", "until": "{{ trigger.due_at }}"},
    ],
    "wait_for_call": [
        {
            "timeout_amount": 2,
            "timeout_unit": "hours",
            "on_timeout": "continue",
            "default_output": {"answer": "none", "count": 0},
        },
    ],
    "approval": [
        {
            "title": "Refund order {{ trigger.id }}?",
            "message": "Asked twice.\nSecond line",
            "fields": {"Amount": "{{ trigger.amount }}", "Note": ""},
            "timeout_amount": 36,
            "timeout_unit": "hours",
            "on_timeout": "continue",
            "timeout_decision": "approved",
            "on_reject": "continue",
        },
        {"title": "OK?", "timeout_amount": 2, "timeout_unit": "days"},
    ],
    "log": [{"message": "Order {{ trigger.id }}\nsecond line", "level": "warning"}],
    "http_request": [
        {
            "method": "POST",
            "url": "https://example.com/orders?x=1",
            "query": {"page": 2, "q": "a b", "ids": [1, 2], "on": True, "code": "007"},
            "headers": {"X-Token": "abc", "X-Empty": ""},
            "body_type": "json",
            "body": {"order": "{{ trigger.id }}", "items": [1, 2], "note": None},
            "auth_type": "bearer",
            "auth_token": "s3cret",
            "timeout_seconds": 10,
            "fail_on_status": False,
            "retry_on_statuses": [409, 423],
            "send_idempotency_key": True,
            "follow_redirects": False,
        },
        {
            "method": "PUT",
            "url": "https://example.com/form",
            "body_type": "form",
            "body": {"name": "{{ trigger.name }}", "count": 3, "tags": ["a", "b"]},
            "auth_type": "basic",
            "auth_username": "ada",
            "auth_password": "pw",
            "timeout_seconds": 2.5,
        },
        {
            "method": "POST",
            "url": "https://example.com/text",
            "body_type": "text",
            "body": "Hello {{ trigger.name }}\n",
            "content_type": "text/csv",
            "auth_type": "header",
            "auth_header_name": "X-Api-Key",
            "auth_token": "k",
        },
        {"method": "POST", "url": "https://example.com/string", "body_type": "json", "body": "x"},
    ],
    "gmail_send": [
        {
            "connection_id": CONNECTION,
            "to": "a@example.com, b@example.com",
            "cc": "c@example.com",
            "subject": "Order {{ trigger.id }}",
            "body_text": "Hello",
            "body_html": "<p>Hello</p>",
        }
    ],
    "sheets_append_row": [
        {
            "connection_id": CONNECTION,
            "spreadsheet_id": "abc_123-X",
            "sheet": "Orders",
            "values": ["{{ trigger.id }}", 42, 1.5, True, None, "", "7", "text"],
            "value_input": "USER_ENTERED",
        }
    ],
    "slack_message": [
        {
            "via": "bot",
            "bot_token": "xoxb-1",
            "channel": "#orders",
            "text": "New {{ trigger.id }}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
            "thread_ts": "123.456",
        },
        {"via": "webhook", "webhook_url": "https://hooks.slack.com/services/T/B/x", "text": "hi"},
    ],
    "loop": [{"items": "{{ trigger.items }}", "max_items": 50}],
    "run_workflow": [
        {
            "workflow_id": CALLED,
            "data": {"order": "{{ trigger.id }}", "count": 3, "tags": ["a"], "text": "42"},
            "wait": True,
            "timeout": 2.5,
            "timeout_unit": "hours",
        },
        {"workflow_id": CALLED, "data": {}, "wait": False},
    ],
    "paths": [{"mode": "all"}, {"mode": "first"}],
    "send_email": [
        {
            "credential_id": "<credential:smtp>",
            "to": "{{ trigger.email }}, ops@example.com",
            "cc": "boss@example.com",
            "subject": "Order {{ trigger.id }}",
            "body_text": "Thanks\nsecond line",
            "body_html": "<p>Thanks</p>",
            "reply_to": "help@example.com",
        }
    ],
    "notion_create_page": [
        {
            "credential_id": "<credential:notion>",
            "database_id": "0123456789abcdef0123456789abcdef",
            "properties": [
                {"property": "Name", "type": "title", "value": "{{ trigger.name }}"},
                {"property": "Total", "type": "number", "value": 12},
            ],
            "content": "A note",
        }
    ],
    "notion_append_block": [
        {
            "credential_id": "<credential:notion>",
            "block_id": "0123456789abcdef0123456789abcdef",
            "block_type": "heading_2",
            "text": "Order {{ trigger.id }}",
            "split_lines": False,
        }
    ],
    "telegram_send_message": [
        {
            "credential_id": "<credential:telegram>",
            "chat_id": "-1001234",
            "text": "New order {{ trigger.id }}",
            "parse_mode": "HTML",
            "disable_notification": True,
        }
    ],
    "discord_send_message": [
        {
            "credential_id": "<credential:discord>",
            "content": "New order {{ trigger.id }}",
            "username": "Stepline",
            "tts": True,
        }
    ],
    "llm_chat": [
        {
            "credential_id": "<credential:openai>",
            "system": "You sort orders.",
            "prompt": "Classify {{ trigger.id }}",
            "model": "small",
            "temperature": 0.2,
            "max_tokens": 200,
            "json_mode": True,
        }
    ],
}

TRIGGERS: dict[str, list[dict[str, Any]]] = {
    "manual": [{}],
    "webhook": [
        {
            "methods": ["GET", "POST", "DELETE"],
            "auth": "hmac",
            "secret": "topsecret",
            "header": "X-Signature",
            "encoding": "base64",
            "signature_prefix": "sha256=",
            "timestamp_header": "X-Timestamp",
            "response_mode": "wait",
            "wait_timeout_seconds": 20,
            "idempotency_key": "X-Delivery",
            "idempotency_window_seconds": 3600,
            "expect_every_minutes": 60,
        },
        {"methods": ["POST"], "auth": "github", "secret": "gh"},
    ],
    "schedule": [
        {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "overlap": "queue", "catch_up": "skip"}
    ],
    "google.gmail_new_message": [{"connection_id": CONNECTION, "query": "from:x has:attachment"}],
    "google.sheets_new_row": [
        {
            "connection_id": CONNECTION,
            "spreadsheet_id": "abc",
            "sheet": "Leads",
            "header_row": False,
        }
    ],
    "google.drive_new_file": [{"connection_id": CONNECTION, "folder_id": "folder_1"}],
    "google.calendar_new_event": [{"connection_id": CONNECTION, "calendar_id": "team@x.com"}],
    "email_received": [
        {
            "host": "imap.example.com",
            "security": "starttls",
            "port": 143,
            "username": "orders@example.com",
            "password": "app-password",
            "mailbox": "Orders",
        }
    ],
    "telegram_message": [{"credential_id": "<credential:telegram>", "chat_id": "-1001234"}],
}


class PanelForm(HTMLParser):
    """The fields a browser posts for the panel's form: inputs (checked ones for boxes and
    radios), selected options, textareas; rows' <template>s and buttons are not posted."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._in_form = False
        self._template = 0
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""
        self._option: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and "panel-form" in (a.get("class") or ""):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "template":
            self._template += 1
        if self._template:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type") or "text"
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((name, a.get("value") or "on"))
            elif kind not in ("submit", "button"):
                self.pairs.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "template" and self._template:
            self._template -= 1
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self.pairs.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data


def browser_post(html: str) -> MultiDict[str, str]:
    parser = PanelForm()
    parser.feed(html)
    return MultiDict(parser.pairs)


def without_defaults(model: type[BaseModel], config: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }
    return {k: v for k, v in config.items() if k not in defaults or defaults[k] != v}


def typed(value: Any) -> str:
    """JSON with the types kept apart (True is not 1, 1 is not 1.0 once compared as text)."""
    return json.dumps(value, sort_keys=True)


def with_connection(config: dict[str, Any], refs: dict[str, int]) -> dict[str, Any]:
    return {k: refs.get(v, v) if isinstance(v, str) else v for k, v in config.items()}


FIELDS: dict[str, dict[str, Any]] = {
    "smtp": {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "from_address": "orders@example.com",
    },
    "notion": {"token": "secret_n"},
    "telegram": {"bot_token": "123:abc"},
    "discord": {"webhook_url": "https://discord.com/api/webhooks/1/abc"},
    "openai": {
        "base_url": "https://llm.example.com/v1",
        "api_key": "sk-1",
        "default_model": "small",
    },
}


@pytest.fixture
def connection_id(app: Flask, user_client: FlaskClient) -> dict[str, int]:
    """The ids that replace the examples' placeholders: the user's Google connection and a
    credential of each kind the examples name."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "alice@example.com")).one()
        connection = Connection(user_id=user.id, provider="google", account_email="al@gmail.com")
        db.session.add(connection)
        db.session.commit()
        called = Workflow(user_id=user.id, name="Called", enabled=False, version=1)
        db.session.add(called)
        db.session.commit()
        refs = {CONNECTION: connection.id, CALLED: called.id}
    for placeholder, kind in CREDENTIALS.items():
        refs[placeholder] = add_credential(
            app, "alice@example.com", kind, f"{kind} one", FIELDS[kind]
        )
    return refs


def draft_spec(app: Flask, workflow_id: int) -> dict[str, Any]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return dict(draft.spec)


def post(editor: Editor, path: str, form: MultiDict[str, str]) -> Any:
    return editor.client.post(path, data=form, headers=editor.headers())


def test_every_built_in_kind_has_a_round_trip_case() -> None:
    assert {handler.type for handler in BUILTIN_ACTIONS} == set(ACTIONS)
    assert {handler.type for handler in BUILTIN_TRIGGERS} == set(TRIGGERS)


@pytest.mark.parametrize(
    ("type_", "example"),
    [(t, c) for t, cases in ACTIONS.items() for c in cases],
    ids=[f"{t}-{i}" for t, cases in ACTIONS.items() for i in range(len(cases))],
)
def test_an_action_saved_through_the_widgets_equals_edit_as_json(
    app: Flask,
    user_client: FlaskClient,
    connection_id: dict[str, int],
    type_: str,
    example: dict[str, Any],
) -> None:
    # Given a step configured through "Edit as JSON"
    editor = Editor(user_client)
    workflow_id = editor.create()
    key = editor.add(workflow_id, type_)
    config = with_connection(example, connection_id)
    url = f"/workflows/{workflow_id}/steps/{key}"
    applied = post(
        editor, url, MultiDict({"name": "", "key": key, "config_json": json.dumps(config)})
    )
    assert applied.status_code == 200, applied.get_data(as_text=True)
    through_json = draft_spec(app, workflow_id)["steps"][0]["config"]

    # When its panel is opened in the widgets and posted back as the browser would
    html = editor.get(f"/workflows/{workflow_id}?step={key}", htmx=True).get_data(as_text=True)
    assert 'name="config_json"' not in html
    form = browser_post(html)
    model = container(app).handlers.actions.get(type_).Config
    if any(f.structured for f in forms.form_fields(model)):  # rows are posted, not JSON
        assert any(n.startswith("config.") and ("-0-" in n or n.endswith("-shown")) for n in form)
    again = post(editor, url, form)

    # Then the definition is the same, and it saves
    assert again.status_code == 200, again.get_data(as_text=True)
    through_widgets = draft_spec(app, workflow_id)["steps"][0]["config"]
    assert typed(without_defaults(model, through_widgets)) == typed(
        without_defaults(model, through_json)
    )
    saved = editor.save(workflow_id)
    if type_ == "paths":  # its config is whole, but a new paths step's branches have no condition
        assert saved.status_code == 422 and "condition" in saved.get_data(as_text=True)
    else:
        assert saved.status_code == 200


@pytest.mark.parametrize(
    ("type_", "example"),
    [(t, c) for t, cases in TRIGGERS.items() for c in cases],
    ids=[f"{t}-{i}" for t, cases in TRIGGERS.items() for i in range(len(cases))],
)
def test_a_trigger_saved_through_the_widgets_equals_edit_as_json(
    app: Flask,
    user_client: FlaskClient,
    connection_id: dict[str, int],
    type_: str,
    example: dict[str, Any],
) -> None:
    # Given a trigger configured through "Edit as JSON"
    editor = Editor(user_client)
    workflow_id = editor.create()
    config = with_connection(example, connection_id)
    url = f"/workflows/{workflow_id}/trigger"
    form = MultiDict({"type": type_, "config_json": json.dumps(config), "sample_data": ""})
    applied = post(editor, url, form)
    assert applied.status_code == 200, applied.get_data(as_text=True)
    through_json = draft_spec(app, workflow_id)["trigger"]["config"]

    # When its panel is opened in the widgets and posted back as the browser would
    html = editor.get(f"/workflows/{workflow_id}?panel=trigger", htmx=True).get_data(as_text=True)
    again = post(editor, url, browser_post(html))

    # Then the definition is the same, and it saves
    assert again.status_code == 200, again.get_data(as_text=True)
    through_widgets = draft_spec(app, workflow_id)["trigger"]["config"]
    model = container(app).handlers.triggers.get(type_).Config
    assert typed(without_defaults(model, through_widgets)) == typed(
        without_defaults(model, through_json)
    )
    assert editor.save(workflow_id).status_code == 200
