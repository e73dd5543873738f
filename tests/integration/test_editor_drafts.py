"""The step panel keeps every edit and speaks plainly: errors in plain words beside their field,
what is typed stored in the draft as it is typed (valid or not), "Edit as JSON" and back, and
the state another tab checks."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.integration.editor_support import Editor, fields

RAW_PYDANTIC = re.compile(r"Field required|Value error|Input should|String should")


def draft_step(app: Flask, workflow_id: int, index: int = 0) -> dict[str, object]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return dict(draft.spec["steps"][index])


def error_beside(html: str, field: str) -> str:
    """The message shown beside the input of `field` (its dotted path)."""
    match = re.search(rf'data-field="{re.escape(field)}">([^<]*)<', html)
    assert match, f"no message beside {field}"
    return match.group(1)


def test_errors_are_in_plain_words_beside_their_field(user_client: FlaskClient) -> None:
    # Given an HTTP request step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")

    # When it is applied without a URL, with an ftp URL, and with bearer auth but no token
    missing = editor.apply(workflow_id, "http_request", {"method": "GET"})
    ftp = editor.apply(workflow_id, "http_request", {"method": "GET", "url": "ftp://x.org"})
    no_token = editor.apply(
        workflow_id,
        "http_request",
        {"method": "GET", "url": "https://x.org", "auth_type": "bearer"},
    )

    # Then each message is beside its field, in plain words, and none is Pydantic's own
    answers = [missing, ftp, no_token]
    assert [a.status_code for a in answers] == [422, 422, 422]
    pages = [a.get_data(as_text=True) for a in answers]
    assert error_beside(pages[0], "steps.0.config.url") == "Required."
    assert error_beside(pages[1], "steps.0.config.url").startswith("Enter a full web address")
    assert fields(no_token) == ["steps.0.config.auth_token"]
    assert error_beside(pages[2], "steps.0.config.auth_token") == (
        "Required for bearer authentication."
    )
    assert not any(RAW_PYDANTIC.search(html) for html in pages)


def test_a_body_chooses_its_type_and_edit_as_json_explains_a_mismatch(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")
    base = {"method": "POST", "url": "https://example.com/x"}

    # When a JSON body is posted while the body type says "none"
    chosen = editor.apply(
        workflow_id, "http_request", {**base, "body_type": "none", "body": '{"a": 1}'}
    )

    # Then the body type chose itself
    assert chosen.status_code == 200
    config = draft_step(app, workflow_id)["config"]
    assert isinstance(config, dict)
    assert (config["body_type"], config["body"]) == ("json", {"a": 1})

    # When the same mismatch is written through "Edit as JSON"
    refused = editor.post(
        f"/workflows/{workflow_id}/steps/http_request",
        {"name": "", "key": "http_request", "config_json": json.dumps({**base, "body": "x"})},
    )

    # Then it is refused beside the JSON, in plain words, and the JSON is kept as typed
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "body: Choose a body type, or leave the body empty." in html
    assert "&#34;body&#34;: &#34;x&#34;" in html or "&quot;body&quot;: &quot;x&quot;" in html
    assert not RAW_PYDANTIC.search(html)


def test_the_draft_keeps_what_is_typed_even_when_it_is_not_valid(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a transform step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "transform")
    url = f"/workflows/{workflow_id}/steps/transform/draft"

    # When the panel autosaves a renamed step with a row and a half-typed retry policy
    kept = editor.post(
        url,
        {
            "name": "Shape the order",
            "key": "transform",
            "config.fields-0-key": "total",
            "config.fields-0-value": "{{ trigger.total ",
            "config.fields-1-key": "",
            "config.fields-1-value": "",
            "retry.attempts": "x",
        },
    )

    # Then nothing is swapped (204), the toolbar and cards are told, and the draft has it all
    assert kept.status_code == 204
    assert set(json.loads(kept.headers["HX-Trigger"])) == {
        "stepline:changed",
        "stepline:flow-stale",
    }
    step = draft_step(app, workflow_id)
    assert step["name"] == "Shape the order"
    assert step["config"] == {"fields": {"total": "{{ trigger.total "}}
    assert step["retry"] is None and step["key"] == "transform"

    # And the panel, opened again (another step in between, or a reload), shows it
    html = editor.get(f"/workflows/{workflow_id}?step=transform", htmx=True).get_data(as_text=True)
    assert 'value="Shape the order"' in html
    assert 'name="config.fields-0-key" value="total"' in html
    assert 'name="config.fields-0-value" value="{{ trigger.total "' in html

    # When the same values come again, nothing is written and nobody is told
    again = editor.post(
        url,
        {
            "name": "Shape the order",
            "key": "transform",
            "config.fields-0-key": "total",
            "config.fields-0-value": "{{ trigger.total ",
        },
    )
    assert again.status_code == 204 and "HX-Trigger" not in again.headers


def test_edit_as_json_and_back_keep_the_values(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    url = f"/workflows/{workflow_id}/steps/log/draft"

    # When "Edit as JSON" is pressed with a message typed
    as_json = editor.post(url, {"name": "", "key": "log", "config.message": "Hi", "view": "json"})

    # Then the panel comes back with the config as JSON, the message in it
    html = as_json.get_data(as_text=True)
    assert as_json.status_code == 200
    assert 'name="config_json"' in html and "&#34;message&#34;: &#34;Hi&#34;" in html
    assert 'name="config.message"' not in html

    # When the JSON is changed and "Edit with the form" pressed
    back = editor.post(
        url,
        {
            "name": "",
            "key": "log",
            "config_json": '{"message": "Bye", "level": "error"}',
            "view": "form",
        },
    )

    # Then the form shows what the JSON said
    html = back.get_data(as_text=True)
    assert 'name="config.message"' in html and ">Bye</textarea>" in html
    assert '<option value="error" selected>' in html
    assert draft_step(app, workflow_id)["config"] == {"message": "Bye", "level": "error"}

    # And without JavaScript the same button lands on the page in JSON mode
    plain = editor.post(url, {"name": "", "key": "log", "view": "json"}, htmx=False)
    assert plain.status_code == 303
    assert plain.headers["Location"].endswith(f"/workflows/{workflow_id}?step=log&view=json")
    page = editor.get(plain.headers["Location"]).get_data(as_text=True)
    assert 'name="config_json"' in page


def test_the_trigger_draft_keeps_its_form_but_not_a_kind_not_applied(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a webhook trigger
    editor = Editor(user_client)
    workflow_id = editor.create()
    assert editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"}).status_code == 200
    url = f"/workflows/{workflow_id}/trigger/draft"

    # When every method is unticked and the sample data is half typed
    kept = editor.post(
        url,
        {"type": "webhook", "config.methods-shown": "1", "config.auth": "none", "sample_data": "{"},
    )
    # And another kind is chosen in the select (not applied yet)
    other = editor.post(url, {"type": "schedule", "config.cron": "0 9 * * *"})

    # Then the draft keeps the webhook with no method, and not the other kind
    assert kept.status_code == other.status_code == 204
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        trigger = draft.spec["trigger"]
    assert trigger["type"] == "webhook"
    assert trigger["config"]["methods"] == []


def test_the_draft_state_says_the_version_and_whether_it_differs(
    user_client: FlaskClient, other_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    state = f"/workflows/{workflow_id}/draft/state"

    assert editor.get(state).get_json() == {"version": 1, "dirty": False}
    editor.add(workflow_id, "log")
    assert editor.get(state).get_json() == {"version": 1, "dirty": True}

    # And another user's workflow is the same 404 for every draft endpoint
    mallory = Editor(other_client)
    assert mallory.get(state).status_code == 404
    assert mallory.post(f"/workflows/{workflow_id}/steps/log/draft", {}).status_code == 404
    assert mallory.post(f"/workflows/{workflow_id}/trigger/draft", {}).status_code == 404


def test_a_condition_is_named_by_its_place_and_errors_come_back_with_the_panel(
    user_client: FlaskClient,
) -> None:
    # Given a filter whose second condition is missing its value to check (typed as JSON)
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "filter")
    conditions = '[{"left": "a", "operator": "equals", "right": "a"}, {"operator": "is_empty"}]'

    refused = editor.apply(workflow_id, "filter", {"conditions": conditions, "match": "all"})

    # Then the message says which condition, in words
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Condition 2, value to check: Required." in html

    # And opening the step again (another step in between, or a reload) shows it again
    again = editor.get(f"/workflows/{workflow_id}?step=filter", htmx=True).get_data(as_text=True)
    assert "Condition 2, value to check: Required." in again


def draft_inputs(app: Flask, workflow_id: int) -> dict[str, object]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return dict(draft.inputs or {})


def test_a_key_typed_but_not_applied_is_kept_and_checked_at_apply(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a log step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    url = f"/workflows/{workflow_id}/steps/log/draft"

    # When another key is typed (not applied) and the panel autosaves
    kept = editor.post(url, {"name": "", "key": "Bad key", "config.message": "Hi"})

    # Then the step keeps its key, and the draft holds the typed one beside it
    assert kept.status_code == 204 and "stepline:changed" in kept.headers["HX-Trigger"]
    assert draft_step(app, workflow_id)["key"] == "log"
    assert draft_inputs(app, workflow_id) == {"steps": {"log": {"key": "Bad key"}}}

    # And the panel, opened again (a reload), shows the typed key, saying it is not applied
    html = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)
    assert re.search(r'name="key" type="text" value="Bad key"', html)
    assert "Not applied yet: Apply renames the step" in html
    assert editor.get(f"/workflows/{workflow_id}/draft/state").get_json()["dirty"] is True

    # And Save refuses rather than dropping it
    refused_save = editor.save(workflow_id)
    assert refused_save.status_code == 422
    assert "is not applied yet" in refused_save.get_data(as_text=True)

    # When Apply is pressed, the key is checked: refused in words, still shown, still held
    refused = editor.apply(workflow_id, "log", {"message": "Hi"}, key="Bad key")
    assert refused.status_code == 422
    assert error_beside(refused.get_data(as_text=True), "steps.0.key").startswith(
        "Use a lowercase letter"
    )
    assert draft_inputs(app, workflow_id) == {"steps": {"log": {"key": "Bad key"}}}

    # When a good key is applied, the step is renamed and nothing is held any more
    applied = editor.apply(workflow_id, "log", {"message": "Hi"}, key="say_hi")
    assert applied.status_code == 200
    assert draft_step(app, workflow_id)["key"] == "say_hi"
    assert draft_inputs(app, workflow_id) == {}

    # And typing the step's own key back holds nothing
    draft_url = f"/workflows/{workflow_id}/steps/say_hi/draft"
    editor.post(draft_url, {"name": "", "key": "other", "config.message": "Hi"})
    editor.post(draft_url, {"name": "", "key": "say_hi", "config.message": "Hi"})
    assert draft_inputs(app, workflow_id) == {}
    assert editor.save(workflow_id).status_code == 200


def test_json_being_typed_is_kept_and_shown_again_with_its_error(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a log step with a message
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    editor.apply(workflow_id, "log", {"message": "Hi"})
    url = f"/workflows/{workflow_id}/steps/log/draft"

    # When half-typed JSON is autosaved in "Edit as JSON"
    half = '{"message": "Bye", "level": '
    kept = editor.post(url, {"name": "", "key": "log", "config_json": half})

    # Then the definition keeps the last readable config, and the text is held beside it
    assert kept.status_code == 204
    assert draft_step(app, workflow_id)["config"] == {"message": "Hi"}
    assert draft_inputs(app, workflow_id) == {"steps": {"log": {"config_json": half}}}

    # And the panel, opened again (a reload), is the JSON view with the text and its error
    html = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)
    assert 'name="config_json"' in html
    assert "{&#34;message&#34;: &#34;Bye&#34;, &#34;level&#34;: </textarea>" in html
    assert "This is not valid JSON" in error_beside(html, "config_json")

    # And "Edit with the form" stays in the JSON view rather than dropping the text
    back = editor.post(url, {"name": "", "key": "log", "config_json": half, "view": "form"})
    assert 'name="config_json"' in back.get_data(as_text=True)
    assert "Correct it to apply it" in back.get_data(as_text=True)

    # When the JSON is finished, the config takes it and nothing is held any more
    done = editor.post(url, {"name": "", "key": "log", "config_json": half + '"error"}'})
    assert done.status_code == 204
    assert draft_step(app, workflow_id)["config"] == {"message": "Bye", "level": "error"}
    assert draft_inputs(app, workflow_id) == {}


def test_the_triggers_json_being_typed_is_kept_too(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    url = f"/workflows/{workflow_id}/trigger/draft"
    kept = editor.post(url, {"type": "manual", "config_json": "{", "sample_data": ""})
    assert kept.status_code == 204
    assert draft_inputs(app, workflow_id) == {"trigger": {"config_json": "{"}}
    html = editor.get(f"/workflows/{workflow_id}?panel=trigger", htmx=True).get_data(as_text=True)
    assert 'name="config_json"' in html and ">{</textarea>" in html
    assert "This is not valid JSON" in error_beside(html, "config_json")


def test_without_javascript_the_offered_group_is_filled_and_applied(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a filter's panel as the page without JavaScript shows it (a blank group offered)
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "filter")
    html = editor.get(f"/workflows/{workflow_id}?step=filter").get_data(as_text=True)
    assert "data-blank-group" in html
    assert 'name="config.conditions-1-match"' in html
    assert 'name="config.conditions-1-conditions-0-left"' in html

    # When the blank row and the offered group are filled and the form posted
    form = {
        "name": "",
        "key": "filter",
        "config.match": "any",
        "config.conditions-0-left": "{{ trigger.vip }}",
        "config.conditions-0-operator": "is_true",
        "config.conditions-0-right": "",
        "config.conditions-1-match": "all",
        "config.conditions-1-conditions-0-left": "{{ trigger.total }}",
        "config.conditions-1-conditions-0-operator": "greater_than",
        "config.conditions-1-conditions-0-right": "10",
    }
    posted = editor.post(f"/workflows/{workflow_id}/steps/filter", form, htmx=False)

    # Then the step holds the condition and the group
    assert posted.status_code == 303
    assert draft_step(app, workflow_id)["config"] == {
        "conditions": [
            {"left": "{{ trigger.vip }}", "operator": "is_true", "right": None},
            {
                "match": "all",
                "conditions": [
                    {"left": "{{ trigger.total }}", "operator": "greater_than", "right": 10}
                ],
            },
        ],
        "match": "any",
    }
