"""The editor's step changes: each is an htmx request answered by the fragment it changed,
kept in the draft until Save; refused input comes back as 422 naming the field."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import container, db
from app.models import Connection, User, Workflow, WorkflowDraft
from tests.integration.editor_support import Editor, fields


def order(html: str) -> list[str]:
    return re.findall(r'<li id="step-([a-z0-9_]+)" class="flow-step"', html)


def draft_steps(app: Flask, workflow_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return list(draft.spec["steps"])


def test_adding_steps_answers_the_new_steps_panel_and_refreshes_the_flow(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a new workflow
    editor = Editor(user_client)
    workflow_id = editor.create()

    # When the user adds a transform at the end, then a log before it
    first = editor.post(f"/workflows/{workflow_id}/steps", {"type": "transform", "at": 0})
    second = editor.post(f"/workflows/{workflow_id}/steps", {"type": "log", "at": 0})

    # Then each answer is the panel of the new step (one root, stable id) with 201, and the
    # other regions are told to refresh themselves
    html = first.get_data(as_text=True).strip()
    assert first.status_code == 201
    assert html.startswith('<section id="panel"') and html.endswith("</section>")
    assert 'data-step-key="transform"' in html
    events = json.loads(first.headers["HX-Trigger"])
    assert events["stepline:changed"] and events["stepline:flow-stale"]
    assert events["stepline:announce"] == "Added Transform as step 1."
    assert first.headers["HX-Push-Url"] == f"/workflows/{workflow_id}?step=transform"
    assert second.status_code == 201
    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    assert flow.strip().startswith('<section id="flow"')
    assert order(flow) == ["log", "transform"]
    # And the saved definition is untouched until Save
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).actions == []  # type: ignore[union-attr]


def test_step_keys_are_unique_slugs(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    keys = [editor.add(workflow_id, "log") for _ in range(3)]

    assert keys == ["log", "log_2", "log_3"]


def test_moving_by_keyboard_buttons_and_by_drop_position(user_client: FlaskClient) -> None:
    # Given transform, filter, log
    editor = Editor(user_client)
    workflow_id = editor.create()
    for type_ in ("transform", "filter", "log"):
        editor.add(workflow_id, type_)

    # When log moves up (button), then transform is dropped at the end (drag and drop)
    up = editor.post(f"/workflows/{workflow_id}/steps/log/move", {"direction": "up"})
    dropped = editor.post(f"/workflows/{workflow_id}/steps/transform/move", {"to": 2})

    # Then each answer is the flow in the new order, the moved button keeps its id (htmx puts
    # the focus back on it), and the move is announced
    assert up.status_code == 200
    assert order(up.get_data(as_text=True)) == ["transform", "log", "filter"]
    assert 'id="move-up-log"' in up.get_data(as_text=True)
    assert json.loads(up.headers["HX-Trigger"])["stepline:announce"] == (
        "Moved “Log” to position 2 of 3."
    )
    assert order(dropped.get_data(as_text=True)) == ["log", "filter", "transform"]


def test_moving_past_either_end_changes_nothing(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "transform")
    editor.add(workflow_id, "log")

    top = editor.post(f"/workflows/{workflow_id}/steps/transform/move", {"direction": "up"})
    bottom = editor.post(f"/workflows/{workflow_id}/steps/log/move", {"to": 99})

    assert order(top.get_data(as_text=True)) == ["transform", "log"]
    assert order(bottom.get_data(as_text=True)) == ["transform", "log"]
    assert 'id="move-up-transform" class="menu-item" title="Move up" aria-disabled="true"' in (
        top.get_data(as_text=True)
    )


def test_duplicate_delete_and_disable(app: Flask, user_client: FlaskClient) -> None:
    # Given a configured log step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    editor.apply(workflow_id, "log", {"message": "hello", "level": "warning"}, name="Say hi")

    # When it is duplicated, the original disabled, then deleted
    copied = editor.post(f"/workflows/{workflow_id}/steps/log/duplicate")
    disabled = editor.post(f"/workflows/{workflow_id}/steps/log/enabled", {"enabled": "0"})
    deleted = editor.post(f"/workflows/{workflow_id}/steps/log/delete")

    # Then the copy sits right after it with the same config under a new key
    assert copied.status_code == 201
    assert order(copied.get_data(as_text=True)) == ["log", "log_2"]
    # And disabling answers only that card, marked disabled
    card = disabled.get_data(as_text=True).strip()
    assert card.startswith('<li id="step-log"') and card.endswith("</li>")
    assert "Disabled" in card and 'name="enabled" value="1"' in card
    # And deleting answers the flow without it, telling the panel which step went away
    assert order(deleted.get_data(as_text=True)) == ["log_2"]
    assert json.loads(deleted.headers["HX-Trigger"])["stepline:step-removed"] == "log"
    steps = draft_steps(app, workflow_id)
    assert [(s["key"], s["name"], s["config"]) for s in steps] == [
        ("log_2", "Say hi (copy)", {"message": "hello", "level": "warning"})
    ]


def test_invalid_config_is_refused_with_422_naming_the_field(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given an HTTP request step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")

    # When the panel posts a URL that is not http(s), a timeout that is not a number, and
    # headers that are not JSON
    response = editor.apply(
        workflow_id,
        "http_request",
        {
            "method": "GET",
            "url": "ftp://example.com/file",
            "timeout_seconds": "soon",
            "headers": "{not json",
        },
    )

    # Then the panel comes back with 422, each message beside its field, the typed values kept
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.strip().startswith('<section id="panel"')
    assert sorted(fields(response)) == ["steps.0.config.headers", "steps.0.config.timeout_seconds"]
    assert 'id="field-config-timeout-seconds" name="config.timeout_seconds"' in html
    assert "Enter a number" in html and "This is not valid JSON" in html
    assert 'value="ftp://example.com/file"' in html
    # And the draft keeps what was typed, as typed, so that nothing is lost
    assert draft_steps(app, workflow_id)[0]["config"] == {
        "method": "GET",
        "url": "ftp://example.com/file",
        "timeout_seconds": "soon",
        "headers": "{not json",
        "body_type": "none",
        "fail_on_status": False,
        "send_idempotency_key": False,
        "follow_redirects": False,
    }


def test_a_model_error_names_the_config_field(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")

    response = editor.apply(workflow_id, "http_request", {"method": "GET", "url": "ftp://x/y"})

    assert response.status_code == 422
    assert fields(response) == ["steps.0.config.url"]
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_a_template_syntax_error_names_the_field(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    response = editor.apply(workflow_id, "log", {"message": "Hi {{ trigger.name ", "level": "info"})

    assert response.status_code == 422
    assert fields(response) == ["steps.0.config.message"]
    assert "Template syntax error" in response.get_data(as_text=True)


def test_a_key_must_be_a_slug_and_unique(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    editor.add(workflow_id, "log")

    bad = editor.apply(workflow_id, "log_2", {"message": "x"}, key="Not A Slug")
    taken = editor.apply(workflow_id, "log_2", {"message": "x"}, key="log")

    assert bad.status_code == taken.status_code == 422
    assert fields(bad) == fields(taken) == ["steps.1.key"]
    assert "Another step uses the key" in taken.get_data(as_text=True)


def test_renaming_a_key_updates_the_templates_that_use_it(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a log step that reads the transform step's output
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "transform")
    editor.add(workflow_id, "log")
    editor.apply(workflow_id, "transform", {"fields": '{"who": "Ada"}'})
    editor.apply(workflow_id, "log", {"message": "Hi {{ steps.transform.who }}"})

    # When the transform's key becomes "shape"
    response = editor.apply(workflow_id, "transform", {"fields": '{"who": "Ada"}'}, key="shape")

    # Then the panel follows the new key and the log's template points at it
    assert response.status_code == 200
    assert 'data-step-key="shape"' in response.get_data(as_text=True)
    assert response.headers["HX-Replace-Url"] == f"/workflows/{workflow_id}?step=shape"
    steps = draft_steps(app, workflow_id)
    assert steps[1]["config"] == {"message": "Hi {{ steps.shape.who }}"}


def test_a_step_reading_a_later_step_is_flagged_on_its_card(user_client: FlaskClient) -> None:
    # Given log reads transform's output
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "transform")
    editor.add(workflow_id, "log")
    editor.apply(workflow_id, "transform", {"fields": '{"who": "Ada"}'})
    editor.apply(workflow_id, "log", {"message": "Hi {{ steps.transform.who }}"})

    # When log is moved above transform
    flow = editor.post(f"/workflows/{workflow_id}/steps/log/move", {"direction": "up"})

    # Then its card says it has errors, and why
    html = flow.get_data(as_text=True)
    card = html[html.index('<li id="step-log"') : html.index('<li id="step-transform"')]
    assert "Has errors" in card
    assert "Uses step “transform”, which runs after this one." in card


def test_retry_settings_and_continue_on_error(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    ok = editor.apply(
        workflow_id,
        "log",
        {"message": "x"},
        **{
            "retry.attempts": "5",
            "retry.backoff.type": "fixed",
            "retry.backoff.delay": "2.5",
            "continue_on_error": "1",
        },
    )
    assert ok.status_code == 200
    step = draft_steps(app, workflow_id)[0]
    assert step["retry"] == {"attempts": 5, "backoff": {"type": "fixed", "delay": 2.5}}
    assert step["continue_on_error"] is True

    bad = editor.apply(workflow_id, "log", {"message": "x"}, **{"retry.attempts": "50"})

    assert bad.status_code == 422
    # (the refused policy is not kept: the draft keeps the last one that could be read)
    assert draft_steps(app, workflow_id)[0]["retry"] == step["retry"]
    assert fields(bad) == ["steps.0.retry.attempts"]


def test_secret_fields_are_masked_and_kept_when_unchanged(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given an HTTP step with a bearer token
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")
    config = {
        "method": "GET",
        "url": "https://example.com/",
        "auth_type": "bearer",
        "auth_token": "s3cr3t-token",
    }
    editor.apply(workflow_id, "http_request", config)

    # When the panel is shown again, and posted back with the mask
    panel = editor.get(f"/workflows/{workflow_id}?step=http_request", htmx=True)
    editor.apply(workflow_id, "http_request", {**config, "auth_token": "••••••"})
    editor.save(workflow_id)

    # Then the token never appears in a page, and the stored one is still the original
    assert "s3cr3t-token" not in panel.get_data(as_text=True)
    assert 'name="config.auth_token" type="password" value="••••••"' in panel.get_data(as_text=True)
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        stored = workflow.actions[0].config["auth_token"]
        assert stored.startswith("enc:v1:")
        assert container(app).secrets.decrypt(stored) == "s3cr3t-token"


def test_the_trigger_panel_sets_sample_data_and_refuses_bad_json(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    ok = editor.sample(workflow_id, '{"customer": {"email": "ada@example.com"}}')
    bad = editor.sample(workflow_id, "[1, 2")
    not_object = editor.sample(workflow_id, "[1, 2]")
    unknown = editor.post(f"/workflows/{workflow_id}/trigger", {"type": "carrier_pigeon"})

    assert ok.status_code == 200
    assert "Trigger applied" in ok.get_data(as_text=True)
    assert bad.status_code == not_object.status_code == unknown.status_code == 422
    assert fields(bad) == fields(not_object) == ["trigger.sample_data"]
    assert fields(unknown) == ["trigger.type"]
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        assert draft.spec["trigger"]["sample_data"] == {"customer": {"email": "ada@example.com"}}


def test_the_picker_offers_trigger_fields_and_earlier_outputs(user_client: FlaskClient) -> None:
    # Given sample data and a tested transform step before a log step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"customer": {"email": "ada@example.com"}, "first name": "Ada"}')
    editor.add(workflow_id, "transform")
    editor.add(workflow_id, "log")
    editor.post(
        f"/workflows/{workflow_id}/steps/transform/test",
        {"key": "transform", "config.fields": '{"total": 42}'},
    )

    # When the log step's panel is opened
    html = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)

    # Then its picker offers the trigger's fields and the transform's output, as templates
    inserts = re.findall(r'data-insert="([^"]+)"', html)
    assert "{{ trigger.customer.email }}" in inserts
    assert "{{ trigger[&#34;first name&#34;] }}" in inserts
    assert "{{ steps.transform.total }}" in inserts
    assert 'data-picker-for="field-config-message"' in html


def test_test_this_step_runs_it_with_the_sample_data_and_keeps_the_output(
    user_client: FlaskClient,
) -> None:
    # Given sample trigger data and a transform step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"customer": "Ada", "total": 42}')
    editor.add(workflow_id, "transform")

    # When the user tests it
    response = editor.post(
        f"/workflows/{workflow_id}/steps/transform/test",
        {
            "key": "transform",
            "config.fields": '{"who": "{{ trigger.customer }}", "n": "{{ trigger.total }}"}',
        },
    )

    # Then the panel shows the rendered input and the output as typed trees, with the time it
    # took, and the card is marked tested
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Succeeded" in html
    output = html[html.index('id="trial-output"') :]
    assert re.search(
        r'dt-key">who</span> <span class="dt-type dt-type-string">string</span>'
        r' <span class="dt-value dt-string">Ada</span>',
        output,
    )
    assert re.search(
        r'dt-key">n</span> <span class="dt-type dt-type-number">number</span>'
        r' <span class="dt-value dt-number">42</span>',
        output,
    )
    assert 'id="trial-input"' in html and "Used as sample" in html
    assert re.search(r'class="trial-time"[^>]*>.*?\d+ ms</span>', html, re.S)
    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    assert "Tested" in flow
    # and the card previews its output (PostgreSQL's JSONB keeps keys in its own order)
    assert re.search(r"<code>(who: Ada · n: 42|n: 42 · who: Ada)</code>", flow)


def test_a_failing_test_shows_the_error_inline(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    response = editor.post(
        f"/workflows/{workflow_id}/steps/log/test",
        {"key": "log", "config.message": "{{ steps.nowhere.value }}", "config.level": "info"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    trial = html[html.index('id="trial"') :]
    assert "Failed: the step would fail with this error." in trial
    assert "config.message: no field &#39;nowhere&#39; (available: none)" in trial


def test_a_filter_test_that_does_not_pass_says_the_run_would_stop(
    user_client: FlaskClient,
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"total": 5}')
    editor.add(workflow_id, "filter")

    response = editor.post(
        f"/workflows/{workflow_id}/steps/filter/test",
        {
            "key": "filter",
            "config.conditions": '[{"left": "{{ trigger.total }}", "operator": "greater_than", '
            '"right": 10}]',
            "config.match": "all",
        },
    )

    assert "the run would stop here" in response.get_data(as_text=True)


def test_steps_that_send_are_labelled_and_confirm_before_a_test(user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "slack_message")

    html = editor.get(f"/workflows/{workflow_id}?step=slack_message", htmx=True).get_data(
        as_text=True
    )

    assert "This step really sends" in html
    assert "this really sends" in html and "hx-confirm=" in html


def test_a_google_step_offers_only_the_users_connections(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given a Google connection of alice's and one of mallory's
    alice = Editor(user_client)
    with app.app_context():
        users = {u.email: u.id for u in db.session.scalars(select(User))}
        mine = Connection(
            user_id=users["alice@example.com"], provider="google", account_email="al@gmail.com"
        )
        theirs = Connection(
            user_id=users["mallory@example.com"], provider="google", account_email="ma@gmail.com"
        )
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    workflow_id = alice.create()
    alice.add(workflow_id, "gmail_send")

    # When alice opens the step, then applies it naming mallory's connection, then her own
    html = alice.get(f"/workflows/{workflow_id}?step=gmail_send", htmx=True).get_data(as_text=True)
    config = {"to": "bo@example.com", "subject": "Hi", "body_text": "Hello"}
    refused = alice.apply(workflow_id, "gmail_send", {**config, "connection_id": str(theirs_id)})
    accepted = alice.apply(workflow_id, "gmail_send", {**config, "connection_id": str(mine_id)})

    # Then only her connection is offered, and mallory's is refused naming the field
    assert f'<option value="{mine_id}">al@gmail.com (google, active)</option>' in html
    assert "ma@gmail.com" not in html
    assert refused.status_code == 422
    assert fields(refused) == ["steps.0.config.connection_id"]
    assert accepted.status_code == 200
    assert draft_steps(app, workflow_id)[0]["config"]["connection_id"] == mine_id
