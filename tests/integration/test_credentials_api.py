"""/api/v1/connections/credentials: create, read (masked), rotate, test against fake services,
delete (409 naming the workflows unless confirmed); bad input is a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token
from tests.fakes.http import FakeServer, RecordedRequest, Reply

NOTION_TOKEN = "secret_notion_0123456789abcdef"
OPENAI_KEY = "sk-openai-fedcba9876543210"


@pytest.fixture
def services() -> Iterator[FakeServer]:
    """A fake Notion (`/v1/users/me`) and OpenAI-compatible API (`/openai/v1/models`)."""
    with FakeServer() as server:

        def users_me(request: RecordedRequest) -> Reply:
            if request.headers.get("authorization") != f"Bearer {NOTION_TOKEN}":
                return Reply.json({"object": "error", "message": "API token is invalid."}, 401)
            return Reply.json({"object": "user", "name": "Stepline integration", "type": "bot"})

        def models(request: RecordedRequest) -> Reply:
            if request.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
                return Reply.json({"error": "invalid api key"}, 401)
            return Reply.json({"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]})

        server.on("GET", "/v1/users/me", users_me)
        server.on("GET", "/openai/v1/models", models)
        yield server


@pytest.fixture
def app_config(app_config: dict[str, object], services: FakeServer) -> dict[str, object]:
    return {
        **app_config,
        "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"],
        "NOTION_API_BASE_URL": services.url("/v1"),
    }


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def create(api: Api, **body: Any) -> Any:
    return api.post("/connections/credentials", body)


def test_create_read_and_list_never_answer_a_secret(api: Api) -> None:
    created = create(api, kind="notion", name="Docs", fields={"token": NOTION_TOKEN})
    assert created.status_code == 201
    body = created.get_json()
    assert body["fields"] == {"token": "••••••"}
    assert body["secret_fields"] == ["token"]
    assert body["budget"] == {"per_second": 3.0, "per_minute": None}  # the kind's default
    assert body["can_test"] is True and body["last_test"] is None

    listed = api.get("/connections").get_json()
    assert listed["items"] == [] and [c["id"] for c in listed["credentials"]] == [body["id"]]
    for path in (
        "/connections",
        "/connections/credentials",
        f"/connections/credentials/{body['id']}",
    ):
        assert NOTION_TOKEN not in api.get(path).get_data(as_text=True)


def test_test_connection_asks_the_service_and_keeps_the_result(
    api: Api, services: FakeServer
) -> None:
    notion = create(api, kind="notion", name="Docs", fields={"token": NOTION_TOKEN}).get_json()
    tested = api.post(f"/connections/credentials/{notion['id']}/test").get_json()
    assert tested["ok"] is True
    assert tested["message"] == "Signed in to Notion as Stepline integration."
    assert tested["credential"]["last_test"]["ok"] is True
    assert services.requests_to("/v1/users/me")[0].headers["notion-version"] == "2022-06-28"

    openai = create(
        api,
        kind="openai",
        name="Local LLM",
        fields={"base_url": services.url("/openai/v1"), "api_key": "sk-wrong-key-123"},
    ).get_json()
    refused = api.post(f"/connections/credentials/{openai['id']}/test").get_json()
    assert refused["ok"] is False
    assert refused["message"] == "The API refused the credential (HTTP 401): invalid api key"

    rotated = api.client.patch(
        f"/api/v1/connections/credentials/{openai['id']}",
        json={"fields": {"api_key": OPENAI_KEY}},
        headers=api.headers(),
    )
    assert rotated.status_code == 200
    assert rotated.get_json()["last_test"] is None  # a rotation forgets the old verdict
    assert rotated.get_json()["fields"]["default_model"] == "gpt-4o-mini"
    tested = api.post(f"/connections/credentials/{openai['id']}/test").get_json()
    assert tested == {**tested, "ok": True, "message": "The API lists 2 model(s)."}


def test_a_kind_that_cannot_test_is_a_409(api: Api) -> None:
    bearer = create(api, kind="http_bearer", name="B", fields={"token": "tok-1"}).get_json()
    response = api.post(f"/connections/credentials/{bearer['id']}/test")
    assert response.status_code == 409
    assert error_of(response)["message"] == "HTTP bearer token credentials cannot be tested."


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"kind": "nope", "name": "A", "fields": {}}, 422, "kind", "Unknown credential kind"),
        ({"kind": "http_bearer", "name": "A", "fields": {}}, 422, "fields.token", "Required."),
        (
            {"kind": "slack", "name": "A", "fields": {}},
            422,
            "fields",
            "Give a bot token or an incoming webhook URL.",
        ),
        (
            {"kind": "discord", "name": "A", "fields": {"webhook_url": "ftp://x"}},
            422,
            "fields.webhook_url",
            "Must be an https:// URL.",
        ),
        (
            {
                "kind": "smtp",
                "name": "A",
                "fields": {"host": "h", "from_address": "a@b", "port": 0},
            },
            422,
            "fields.port",
            "",
        ),
        ({"kind": "http_bearer", "name": " ", "fields": {"token": "t"}}, 422, "name", ""),
        (
            {
                "kind": "http_bearer",
                "name": "A",
                "fields": {"token": "t"},
                "budget": {"per_minute": 0},
            },
            422,
            "budget.per_minute",
            "",
        ),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    api: Api, body: dict[str, Any], status: int, field: str, message: str
) -> None:
    response = create(api, **body)

    assert response.status_code == status, response.get_json()
    error = error_of(response)
    assert error["field"] == field
    assert message in error["message"]


def test_a_duplicate_name_is_a_409_naming_the_field(api: Api) -> None:
    create(api, kind="http_bearer", name="Billing", fields={"token": "tok-1"})
    response = create(api, kind="http_bearer", name="Billing", fields={"token": "tok-2"})
    assert response.status_code == 409
    assert error_of(response)["field"] == "name"
    # the same name for another kind is fine
    assert create(api, kind="notion", name="Billing", fields={"token": "t"}).status_code == 201


def test_delete_in_use_is_a_409_naming_the_workflows_unless_confirmed(api: Api) -> None:
    credential = create(api, kind="http_bearer", name="B", fields={"token": "tok-1"}).get_json()
    spec = {
        "name": "Invoices to CRM",
        "steps": [
            {
                "key": "call",
                "type": "test_credential",
                "config": {"credential_id": credential["id"]},
            }
        ],
    }
    api.create(spec)
    path = f"/connections/credentials/{credential['id']}"

    refused = api.delete(path)
    assert refused.status_code == 409
    assert "'Invoices to CRM'" in error_of(refused)["message"]
    assert api.get(path).status_code == 200

    assert (
        api.client.delete(f"/api/v1{path}?confirm=maybe", headers=api.headers()).status_code == 400
    )
    assert (
        api.client.delete(f"/api/v1{path}?confirm=true", headers=api.headers()).status_code == 204
    )
    assert api.get(path).status_code == 404


def test_the_kinds_are_listed_with_their_schemas(api: Api) -> None:
    kinds = {k["kind"]: k for k in api.get("/connections/credential-kinds").get_json()["items"]}
    assert {
        "http_header",
        "http_bearer",
        "http_basic",
        "http_query",
        "slack",
        "smtp",
        "notion",
        "telegram",
        "discord",
        "openai",
        "test_pin",  # a plugin's (entry point stepline.credentials)
    } <= set(kinds)
    assert kinds["smtp"]["secret_fields"] == ["password"]
    assert set(kinds["smtp"]["fields_schema"]["properties"]) == {
        "host",
        "port",
        "security",
        "username",
        "password",
        "from_address",
    }
    assert kinds["telegram"]["can_test"] and not kinds["discord"]["can_test"]
