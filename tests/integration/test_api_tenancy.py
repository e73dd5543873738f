"""Tenancy across the whole API: the test walks the app's route table, so a new API route that
takes an id without checking its owner fails here without anyone listing it."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Connection
from app.services.accounts import users
from tests.api_client import Api, error_of, issue_token

SLOW = {
    "name": "Slow",
    "steps": [
        {"key": "wait", "type": "delay", "config": {"amount": 1, "unit": "hours"}},
        {"key": "say", "type": "log", "config": {"message": "late"}},
    ],
}


@pytest.fixture
def no_worker(app_config: dict[str, object]) -> None:
    app_config["EMBEDDED_WORKER"] = False


@pytest.mark.usefixtures("no_worker")
def test_every_api_route_with_an_id_hides_other_users_objects(
    app: Flask, client: FlaskClient
) -> None:
    # Given alice's enabled workflow with a live execution, and mallory with a token
    alice = Api(client, issue_token(app))
    mallory = Api(client, issue_token(app, "mallory@example.com"))
    workflow = alice.create(SLOW, enable=True)
    execution_id = alice.trigger(workflow["id"])
    connection_id = google_connection(app, "alice@example.com")
    token_id = alice.get("/tokens").get_json()["items"][0]["id"]
    credential = {"kind": "http_bearer", "name": "Alice's API", "fields": {"token": "tok-alice"}}
    credential_id = alice.post("/connections/credentials", credential).get_json()["id"]
    theirs = {
        "workflow_id": workflow["id"],
        "execution_id": execution_id,
        "connection_id": connection_id,
        "version": 1,
        "key": "wait",
        "token_id": token_id,
        "credential_id": credential_id,
    }
    missing = {
        **theirs,
        "workflow_id": workflow["id"] + 1000,
        "execution_id": execution_id + 1000,
        "connection_id": connection_id + 1000,
        "token_id": token_id + 1000,
        "credential_id": credential_id + 1000,
    }

    # When mallory calls every API route that takes an id, with alice's ids and missing ones
    routes = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.arguments
    ]
    assert len(routes) >= 11
    calls = 0
    for rule in routes:
        assert rule.arguments <= set(theirs), f"{rule}: teach this test its arguments"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answers = []
            for ids in (theirs, missing):
                built = rule.build(ids)
                assert built is not None
                path = built[1]
                answers.append(client.open(path, method=method, json={}, headers=mallory.headers()))
            calls += 1

            # Then each answers 404 with the same body as for an id that does not exist
            mine, absent = answers
            assert mine.status_code == absent.status_code == 404, f"{method} {rule}"
            body, other = error_of(mine), error_of(absent)
            for name in rule.arguments & {
                "workflow_id",
                "execution_id",
                "connection_id",
                "credential_id",
            }:
                body["message"] = body["message"].replace(str(theirs[name]), "N")
                other["message"] = other["message"].replace(str(missing[name]), "N")
            assert body == other, f"{method} {rule}"

    # And alice's objects are untouched
    assert calls >= 11
    assert alice.get(f"/workflows/{workflow['id']}").get_json()["enabled"] is True
    assert [token["id"] for token in alice.get("/tokens").get_json()["items"]] == [token_id]
    status = alice.get(f"/executions/{execution_id}").get_json()["status"]
    assert status in ("pending", "running")
    assert alice.get("/connections").get_json()["items"][0]["status"] == "active"
    assert len(alice.get("/workflows/executions/history").get_json()["items"]) == 1
    assert alice.get(f"/connections/credentials/{credential_id}").get_json()["name"] == (
        "Alice's API"
    )


def google_connection(app: Flask, email: str) -> int:
    """A stored (active) Google connection of the user's; its id."""
    with app.app_context():
        session = db.session()
        owner = users.find_by_email(session, email)
        assert owner is not None
        row = Connection(
            user_id=owner.id, provider="google", account_email=email, scopes=["openid"]
        )
        session.add(row)
        session.commit()
        return row.id
