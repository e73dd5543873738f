"""The workflow endpoints: create, read, list, replace, delete, enable/disable, export/import."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import container, db
from app.models import Action
from tests.api_client import Api, error_of, issue_token

ORDER: dict[str, Any] = {
    "name": "Order pipeline",
    "description": "Shapes an order, then logs it.",
    "trigger": {"type": "manual", "sample_data": {"amount": 3}},
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "config": {"fields": {"total": "{{ trigger.amount * 2 }}"}},
        },
        {"type": "log", "config": {"message": "total {{ steps.shape.total }}"}},
    ],
}

SECRET = {
    "name": "Notify",
    "steps": [
        {
            "key": "notify",
            "type": "http_request",
            "config": {
                "url": "https://api.example.com/notify",
                "auth_type": "bearer",
                "auth_token": "tok-secret-part",
            },
        }
    ],
}


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


@pytest.fixture
def mallory(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app, "mallory@example.com"))


def test_a_workflow_is_created_from_json_and_read_back(alice: Api) -> None:
    # When alice posts a definition
    response = alice.post("/workflows", ORDER)

    # Then it is stored disabled at version 1, with keys for every step
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/workflows/{created['id']}"
    assert created["enabled"] is False and created["version"] == 1
    assert created["trigger"] == {"type": "manual", "config": {}, "sample_data": {"amount": 3}}
    assert [s["key"] for s in created["steps"]] == ["shape", "log"]
    assert created["step_count"] == 2 and created["trigger_type"] == "manual"
    assert created["webhook_url"] is None
    # And reading it back gives the same document
    assert alice.get(f"/workflows/{created['id']}").get_json() == created


def test_a_put_replaces_the_definition_and_bumps_the_version(alice: Api) -> None:
    created = alice.create(ORDER)

    response = alice.put(
        f"/workflows/{created['id']}",
        {**ORDER, "name": "Renamed", "steps": ORDER["steps"][:1]},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["version"], body["step_count"]) == ("Renamed", 2, 1)
    assert alice.get(f"/workflows/{created['id']}").get_json()["name"] == "Renamed"


def test_secrets_are_masked_and_a_put_of_the_mask_keeps_them(app: Flask, alice: Api) -> None:
    # Given a workflow with a secret in a step's config
    created = alice.create(SECRET)

    # When it is read, the secret shows as the mask, never the value
    shown = alice.get(f"/workflows/{created['id']}")
    assert "secret-part" not in shown.get_data(as_text=True)
    config = shown.get_json()["steps"][0]["config"]
    assert config["auth_token"] == "••••••"

    # And a script that PUTs back what it read keeps the stored secret
    definition = {k: shown.get_json()[k] for k in ("name", "description", "trigger", "steps")}
    definition["steps"][0]["config"]["url"] = "https://api.example.com/v2"
    assert alice.put(f"/workflows/{created['id']}", definition).status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(Action)).one()
        box = container(app).secrets
        assert box.decrypt(stored.config["auth_token"]) == "tok-secret-part"
        assert stored.config["url"] == "https://api.example.com/v2"


def test_enable_and_disable_turn_the_workflow_on_and_off(alice: Api) -> None:
    created = alice.create(ORDER)

    enabled = alice.post(f"/workflows/{created['id']}/enable")
    again = alice.post(f"/workflows/{created['id']}/enable")
    disabled = alice.post(f"/workflows/{created['id']}/disable")

    assert (enabled.status_code, enabled.get_json()["enabled"]) == (200, True)
    assert (again.status_code, again.get_json()["enabled"]) == (200, True)
    assert (disabled.status_code, disabled.get_json()["enabled"]) == (200, False)


def test_delete_removes_the_workflow(alice: Api) -> None:
    created = alice.create(ORDER)

    response = alice.delete(f"/workflows/{created['id']}")

    assert response.status_code == 204
    assert response.data == b""
    missing = alice.get(f"/workflows/{created['id']}")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"


def test_the_list_pages_through_every_workflow_newest_first(alice: Api, mallory: Api) -> None:
    # Given seven workflows of alice's and one of mallory's
    ids = [alice.create({**ORDER, "name": f"w{i}"})["id"] for i in range(7)]
    mallory.create(ORDER)

    # When alice reads them three at a time
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = alice.get("/workflows", **query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break

    # Then she sees each of hers once, newest first, and none of mallory's
    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_export_leaves_secrets_out_and_import_makes_a_new_disabled_copy(alice: Api) -> None:
    # Given an enabled workflow with a secret
    created = alice.create({**SECRET, "steps": [*SECRET["steps"], *ORDER["steps"]]}, enable=True)

    # When it is exported
    exported = alice.get(f"/workflows/{created['id']}/export")

    # Then the document holds the definition without the secret
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    document = exported.get_json()
    assert document["format"] == "stepline.workflow/v1"
    assert "secret-part" not in exported.get_data(as_text=True)
    assert "auth_token" not in document["workflow"]["steps"][0]["config"]
    assert [s["key"] for s in document["workflow"]["steps"]] == ["notify", "shape", "log"]

    # And importing it (with the secret given again) creates a new, disabled workflow
    document["workflow"]["steps"][0]["config"]["auth_token"] = "another-token"
    imported = alice.post("/workflows/import", document)
    assert imported.status_code == 201
    copy = imported.get_json()
    assert copy["id"] != created["id"]
    assert copy["enabled"] is False
    assert [s["key"] for s in copy["steps"]] == ["notify", "shape", "log"]


def test_an_import_names_the_field_inside_the_document(alice: Api) -> None:
    document = {
        "format": "stepline.workflow/v1",
        "workflow": {**ORDER, "steps": [ORDER["steps"][0], {"type": "nope"}]},
    }

    response = alice.post("/workflows/import", document)

    assert response.status_code == 422
    assert error_of(response)["field"] == "workflow.steps.1.type"
    wrong_format = alice.post("/workflows/import", {**document, "format": "zapier"})
    assert wrong_format.status_code == 422
    assert error_of(wrong_format)["field"] == "format"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"steps": [{"type": "no_such_action"}]}, "steps.0.type"),
        ({"steps": [{"type": "log", "config": {}}]}, "steps.0.config.message"),
        ({"steps": [{"type": "log", "config": {"message": "{{ oops"}}]}, "steps.0.config.message"),
        ({"steps": [{"type": "log", "key": "Bad Key", "config": {"message": "m"}}]}, "steps.0.key"),
        ({"trigger": {"type": "carrier_pigeon"}}, "trigger.type"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_an_invalid_definition_is_422_naming_the_field(
    alice: Api, change: dict[str, Any], field: str
) -> None:
    response = alice.post("/workflows", {**ORDER, **change})

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)


def test_a_bad_put_is_422_and_changes_nothing(alice: Api) -> None:
    created = alice.create(ORDER)

    response = alice.put(f"/workflows/{created['id']}", {**ORDER, "steps": [{"type": "nope"}]})

    assert response.status_code == 422
    assert alice.get(f"/workflows/{created['id']}").get_json() == created


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("put", ""),
        ("delete", ""),
        ("post", "/enable"),
        ("post", "/disable"),
        ("get", "/export"),
        ("post", "/trigger"),
        ("get", "/executions"),
    ],
)
def test_another_users_workflow_is_the_same_404_as_a_missing_one(
    alice: Api, mallory: Api, method: str, suffix: str
) -> None:
    # Given alice's workflow, enabled
    created = alice.create(ORDER, enable=True)

    # When mallory calls the endpoint on it, and on an id that does not exist
    def call(workflow_id: int) -> Any:
        path = f"/workflows/{workflow_id}{suffix}"
        if method == "put":
            return mallory.put(path, ORDER)
        if method == "post":
            return mallory.post(path, {})
        return getattr(mallory, method)(path)

    theirs, missing = call(created["id"]), call(created["id"] + 1000)

    # Then both are 404 with the same code, and alice's workflow is untouched
    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs)["code"] == error_of(missing)["code"] == "not_found"
    assert error_of(theirs)["message"].replace(str(created["id"]), "N") == error_of(missing)[
        "message"
    ].replace(str(created["id"] + 1000), "N")
    assert alice.get(f"/workflows/{created['id']}").get_json() == created


@pytest.mark.parametrize("method", ["get", "put", "delete", "post"])
@pytest.mark.parametrize("workflow_id", ["0", "2147483648", "99999999999999999999999", "-1", "x"])
def test_ids_out_of_range_are_404_for_every_method(
    client: FlaskClient, alice: Api, workflow_id: str, method: str
) -> None:
    response = getattr(client, method)(
        f"/api/v1/workflows/{workflow_id}/enable"
        if method == "post"
        else f"/api/v1/workflows/{workflow_id}",
        json=ORDER,
        headers=alice.headers(),
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_webhook_workflow_shows_its_url_and_masks_its_signing_secret(
    app: Flask, client: FlaskClient, alice: Api
) -> None:
    # Given a webhook workflow whose senders prove themselves with a static header
    created = alice.create(
        {
            "name": "Inbound",
            "trigger": {
                "type": "webhook",
                "config": {"auth": "header", "header": "X-Token", "secret": "s3cret-value"},
            },
            "steps": ORDER["steps"][:1],
        },
        enable=True,
    )

    # When it is read
    shown = alice.get(f"/workflows/{created['id']}")

    # Then it names the URL to post to, and masks the secret
    trigger = shown.get_json()["trigger"]
    url = shown.get_json()["webhook_url"]
    assert url.startswith("http://localhost/hooks/")
    assert trigger["config"]["secret"] == "••••••"
    assert "s3cret-value" not in shown.get_data(as_text=True)
    # And a script that PUTs back what it read keeps the secret: the URL still admits the sender
    definition = {k: shown.get_json()[k] for k in ("name", "description", "trigger", "steps")}
    assert alice.put(f"/workflows/{created['id']}", definition).status_code == 200
    path = url.removeprefix("http://localhost")
    assert client.post(path, json={"a": 1}, headers={"X-Token": "s3cret-value"}).status_code == 202
    assert client.post(path, json={"a": 1}, headers={"X-Token": "wrong"}).status_code == 401
