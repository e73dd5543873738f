"""The Credentials section of the Connections page: create from a kind's form, mask, test,
rotate, delete with the in-use confirmation naming the workflows; 4xx naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.credentials.store import unseal_fields
from app.extensions import container, db
from app.models import Credential
from tests.conftest import csrf_token
from tests.fakes.http import FakeServer, RecordedRequest, Reply
from tests.integration.credentials_support import add_workflow

BOT_TOKEN = "123456:AAbbCCddEEffGGhhIIjj-secret"
NEW_TOKEN = "654321:ZZyyXXwwVVuuTTss-rotated"


@pytest.fixture
def telegram() -> Iterator[FakeServer]:
    with FakeServer() as server:

        def get_me(request: RecordedRequest) -> Reply:
            if request.path.startswith(f"/bot{BOT_TOKEN}/"):
                return Reply.json({"ok": True, "result": {"id": 1, "username": "stepline_bot"}})
            return Reply.json({"ok": False, "description": "Unauthorized"}, 401)

        server.on_prefix("GET", "/bot", get_me)
        yield server


@pytest.fixture
def app_config(app_config: dict[str, object], telegram: FakeServer) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
        "TELEGRAM_API_BASE_URL": telegram.url(""),
    }


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, "/connections"), **data})


def create(client: FlaskClient, **data: Any) -> Any:
    return post(client, "/connections/credentials", **data)


def only(app: Flask) -> Credential:
    with app.app_context():
        row = db.session.scalars(select(Credential)).one()
        db.session.expunge(row)
        return row


def stored_fields(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return unseal_fields(container(app).secrets, only(app).data_encrypted)


def test_kinds_are_offered_and_a_kind_s_form_comes_from_its_model(
    user_client: FlaskClient,
) -> None:
    kinds = user_client.get("/connections/credentials/new").get_data(as_text=True)
    for kind in ("http_header", "http_bearer", "smtp", "notion", "telegram", "openai", "test_pin"):
        assert f"kind={kind}" in kinds

    form = user_client.get("/connections/credentials/new?kind=smtp").get_data(as_text=True)
    assert 'name="field-host" type="text"' in form
    assert 'name="field-port" type="number" value="587"' in form
    assert re.search(r'<select id="field-security" name="field-security"', form)
    assert 'name="field-password" type="password" value=""' in form


def test_create_masks_the_secret_and_test_connection_reports_the_service(
    app: Flask, user_client: FlaskClient, telegram: FakeServer
) -> None:
    response = create(
        user_client, kind="telegram", name="Shop bot", **{"field-bot_token": BOT_TOKEN}
    )
    assert response.status_code == 302
    assert stored_fields(app) == {"bot_token": BOT_TOKEN}
    assert BOT_TOKEN not in only(app).data_encrypted

    page = user_client.get("/connections").get_data(as_text=True)
    assert "Shop bot" in page and "Telegram bot" in page
    assert BOT_TOKEN not in page and "••••••" in page
    edit = user_client.get(f"/connections/credentials/{only(app).id}").get_data(as_text=True)
    assert BOT_TOKEN not in edit

    tested = post(user_client, f"/connections/credentials/{only(app).id}/test")
    assert tested.status_code == 302
    page = user_client.get("/connections").get_data(as_text=True)
    assert "the test works. Signed in as @stepline_bot." in page
    assert only(app).last_test_ok is True
    assert BOT_TOKEN not in page


def test_a_failed_test_is_shown_without_the_secret(app: Flask, user_client: FlaskClient) -> None:
    create(user_client, kind="telegram", name="Old bot", **{"field-bot_token": "999:wrong-token"})
    post(user_client, f"/connections/credentials/{only(app).id}/test")

    page = user_client.get("/connections").get_data(as_text=True)
    assert "Telegram refused the credential (HTTP 401): Unauthorized" in page
    assert "999:wrong-token" not in page
    assert only(app).last_test_ok is False


def test_rotation_replaces_the_secret_and_a_blank_secret_keeps_it(
    app: Flask, user_client: FlaskClient
) -> None:
    create(
        user_client,
        kind="http_header",
        name="Mailgun",
        **{"field-header_name": "X-Api-Key", "field-value": BOT_TOKEN},
    )
    path = f"/connections/credentials/{only(app).id}"

    post(
        user_client,
        path,
        name="Mailgun (prod)",
        **{"field-header_name": "X-Key", "field-value": ""},
    )
    assert stored_fields(app) == {"header_name": "X-Key", "value": BOT_TOKEN}
    assert only(app).name == "Mailgun (prod)"

    post(
        user_client,
        path,
        name="Mailgun (prod)",
        **{"field-header_name": "X-Key", "field-value": NEW_TOKEN},
    )
    assert stored_fields(app) == {"header_name": "X-Key", "value": NEW_TOKEN}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "field-token": "abc"}, "Give the credential a name."),
        ({"name": "T", "field-token": ""}, "Required."),
    ],
)
def test_bad_input_is_422_beside_the_field(
    user_client: FlaskClient, data: dict[str, str], message: str
) -> None:
    response = create(user_client, kind="http_bearer", **data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html


def test_a_duplicate_name_is_refused_naming_the_field(user_client: FlaskClient) -> None:
    create(user_client, kind="http_bearer", name="API", **{"field-token": "one-token"})
    response = create(user_client, kind="http_bearer", name="API", **{"field-token": "two-token"})

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "You already have a http_bearer credential named &#39;API&#39;." in html
    assert "two-token" not in html


def test_deleting_one_in_use_names_the_workflows_and_asks(
    app: Flask, user_client: FlaskClient
) -> None:
    create(user_client, kind="http_bearer", name="API", **{"field-token": "one-token"})
    credential_id = only(app).id
    api_workflow = {
        "name": "Nightly sync",
        "trigger": {"type": "manual", "config": {}},
        "steps": [
            {"key": "call", "type": "test_credential", "config": {"credential_id": credential_id}}
        ],
    }
    add_workflow(app, "alice@example.com", api_workflow)

    asked = post(user_client, f"/connections/credentials/{credential_id}/delete")
    assert asked.status_code == 409
    assert "Nightly sync" in asked.get_data(as_text=True)
    assert only(app).id == credential_id

    done = post(user_client, f"/connections/credentials/{credential_id}/delete", confirm="yes")
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Credential)).all() == []


def test_another_user_s_credential_is_404_on_every_route(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    create(user_client, kind="http_bearer", name="API", **{"field-token": "one-token"})
    path = f"/connections/credentials/{only(app).id}"

    assert other_client.get(path).status_code == 404
    for suffix in ("", "/test", "/delete"):
        assert post(other_client, path + suffix, name="x").status_code == 404
    assert "one-token" == stored_fields(app)["token"]
