"""Steps pick a credential in a select of the user's credentials of the field's kinds; Apply,
Save, the API and an import refuse another user's credential or one of another kind (422
naming the field)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token
from tests.integration.credentials_support import add_credential
from tests.integration.editor_support import Editor

ALICE, MALLORY = "alice@example.com", "mallory@example.com"


def echo_spec(credential_id: object) -> dict[str, object]:
    return {
        "name": "Echo",
        "steps": [
            {"key": "call", "type": "test_credential", "config": {"credential_id": credential_id}}
        ],
    }


def test_the_step_panel_offers_the_user_s_credentials_of_the_field_s_kinds(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    bearer = add_credential(app, ALICE, "http_bearer", "Billing API", {"token": "tok-aaaa"})
    header = add_credential(
        app, ALICE, "http_header", "Mailgun", {"header_name": "X-Key", "value": "tok-bbbb"}
    )
    add_credential(app, ALICE, "telegram", "Shop bot", {"bot_token": "1:tok-cccc"})
    add_credential(app, MALLORY, "http_bearer", "Mallory's API", {"token": "tok-dddd"})
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "test_credential")

    panel = editor.get(f"/workflows/{workflow_id}?step=test_credential", htmx=True)
    html = panel.get_data(as_text=True)

    select = re.search(r'<select[^>]*name="config\.credential_id".*?</select>', html, re.S)
    assert select, html
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select.group(0))
    assert options == [
        ("", "Choose a credential"),
        (str(bearer), "Billing API (http bearer)"),
        (str(header), "Mailgun (http header)"),
    ]
    assert "tok-" not in html

    applied = editor.apply(workflow_id, "test_credential", {"credential_id": str(header)})
    assert applied.status_code == 200
    assert editor.save(workflow_id).status_code == 200


def test_apply_refuses_another_user_s_credential_and_a_wrong_kind(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    theirs = add_credential(app, MALLORY, "http_bearer", "M", {"token": "tok-m"})
    bot = add_credential(app, ALICE, "telegram", "Shop bot", {"bot_token": "1:tok-cccc"})
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "test_credential")

    for chosen, message in (
        (theirs, f"Credential {theirs} does not exist or is not yours."),
        (bot, f"Credential {bot} is a telegram credential; this field takes http_bearer or "),
    ):
        response = editor.apply(workflow_id, "test_credential", {"credential_id": str(chosen)})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_the_api_and_an_import_refuse_them_naming_the_field(
    app: Flask, client: FlaskClient
) -> None:
    alice = Api(client, issue_token(app))
    issue_token(app, MALLORY)
    theirs = add_credential(app, MALLORY, "http_bearer", "M", {"token": "tok-m"})
    bot = add_credential(app, ALICE, "telegram", "Shop bot", {"bot_token": "1:tok-cccc"})
    mine = add_credential(app, ALICE, "http_bearer", "Mine", {"token": "tok-a"})
    refused = (
        (theirs, "is not yours"),
        (bot, "is a telegram credential"),
        ("{{ trigger.id }}", "Choose one of your credentials"),
    )

    created = alice.post("/workflows", echo_spec(mine))
    assert created.status_code == 201
    exported = alice.get(f"/workflows/{created.get_json()['id']}/export")
    assert "tok-a" not in exported.get_data(as_text=True)
    document = exported.get_json()
    assert document["workflow"]["steps"][0]["config"]["credential_id"] == mine

    for chosen, words in refused:
        document["workflow"]["steps"][0]["config"]["credential_id"] = chosen
        for path, body in (("/workflows", echo_spec(chosen)), ("/workflows/import", document)):
            response = alice.post(path, body)
            assert response.status_code == 422, (path, response.get_json())
            error = error_of(response)
            assert error["field"].endswith("steps.0.config.credential_id"), error
            assert words in error["message"]
