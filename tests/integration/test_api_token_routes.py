"""Tokens for scripts: `flask create-token`, /api/v1/tokens (list, create, revoke), scopes and
expiry, as a headless deployment and its scripts use them."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken
from app.models.base import utcnow
from tests.api_client import Api, error_of, issue_token
from tests.conftest import PASSWORD

TOKEN = re.compile(r"^stp_[A-Za-z0-9_-]{43}$")  # the pattern documented for secret scanners
FLOW = {"name": "Nightly", "steps": [{"type": "log", "config": {"message": "hi"}}]}


def _cli_token(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["create-token", *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout.strip()


def _user(app: Flask, email: str = "ops@example.com") -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-user", email, "--password", PASSWORD])
    assert created.exit_code == 0, created.output


def test_a_headless_deployment_gets_its_first_token_from_the_cli(
    app: Flask, client: FlaskClient
) -> None:
    # Given a user made with the CLI (no browser anywhere)
    _user(app)

    # When the operator creates a token for them
    secret = _cli_token(app, "ops@example.com", "--name", "deploy")

    # Then stdout holds the token alone, in the documented form, and it calls the API at once
    assert TOKEN.match(secret), secret
    api = Api(client, secret)
    me = api.get("/me")
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["token"]["name"] == "deploy"
    assert me.get_json()["token"]["scope"] == "write"
    assert api.post("/workflows", FLOW).status_code == 201


def test_the_cli_refuses_an_unknown_user_and_a_bad_scope(app: Flask) -> None:
    runner = app.test_cli_runner()

    unknown = runner.invoke(args=["create-token", "nobody@example.com", "--name", "x"])
    assert unknown.exit_code != 0 and "No user" in unknown.output

    _user(app)
    bad = runner.invoke(args=["create-token", "ops@example.com", "--name", "x", "--scope", "all"])
    assert bad.exit_code != 0 and "read" in bad.output


def test_a_read_token_reads_but_every_other_method_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    # Given a workflow, and a read-only token from the CLI
    writer = Api(client, issue_token(app, "ops@example.com"))
    workflow = writer.create(FLOW)
    reader = Api(client, _cli_token(app, "ops@example.com", "--name", "dash", "--scope", "read"))

    # When the read token GETs, it works
    assert reader.get(f"/workflows/{workflow['id']}").status_code == 200
    assert reader.get("/tokens").status_code == 200

    # Then POST, PUT and DELETE are 403 in the API's error shape, and nothing changed
    for response in (
        reader.post("/workflows", FLOW),
        reader.post(f"/workflows/{workflow['id']}/enable"),
        reader.put(f"/workflows/{workflow['id']}", FLOW),
        reader.delete(f"/workflows/{workflow['id']}"),
        reader.post("/tokens", {"name": "escalate", "scope": "write"}),
    ):
        assert response.status_code == 403, response.get_json()
        error = error_of(response)
        assert error["code"] == "insufficient_scope"
        assert "read-only" in error["message"]
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    after = writer.get(f"/workflows/{workflow['id']}").get_json()
    assert after["version"] == 1 and after["enabled"] is False
    assert len(writer.get("/tokens").get_json()["items"]) == 2


def test_tokens_are_listed_created_and_revoked_through_the_api(
    app: Flask, client: FlaskClient
) -> None:
    # Given a write token
    alice = Api(client, issue_token(app))

    # When it creates a read token that expires in 30 days
    response = alice.post("/tokens", {"name": "grafana", "scope": "read", "expires_in_days": 30})

    # Then the answer holds the secret, once, and a list never shows it again
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    created = response.get_json()
    assert TOKEN.match(created["token"])
    assert created["scope"] == "read" and created["prefix"] == created["token"][:12]
    assert created["expires_at"] is not None
    listed = alice.get("/tokens")
    assert [t["name"] for t in listed.get_json()["items"]] == ["grafana", "script"]
    assert created["token"] not in listed.get_data(as_text=True)
    assert all("token" not in item for item in listed.get_json()["items"])
    # And the new token works, read-only
    grafana = Api(client, created["token"])
    assert grafana.get("/me").get_json()["token"]["id"] == created["id"]

    # When alice revokes it
    assert alice.delete(f"/tokens/{created['id']}").status_code == 204

    # Then it fails at once and leaves the list; revoking again changes nothing
    assert grafana.get("/me").status_code == 401
    assert [t["name"] for t in alice.get("/tokens").get_json()["items"]] == ["script"]
    assert alice.delete(f"/tokens/{created['id']}").status_code == 204


def test_token_creation_names_the_field_at_fault(app: Flask, client: FlaskClient) -> None:
    alice = Api(client, issue_token(app))

    for body, field in (
        ({"name": "   "}, "name"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "secret": "mine"}, "secret"),
    ):
        response = alice.post("/tokens", body)
        assert response.status_code == 422, body
        assert error_of(response)["field"] == field, body


def test_a_token_can_revoke_itself_and_not_anothers(app: Flask, client: FlaskClient) -> None:
    # Given alice's and mallory's tokens
    alice = Api(client, issue_token(app))
    mallory = Api(client, issue_token(app, "mallory@example.com"))
    alice_id = alice.get("/me").get_json()["token"]["id"]

    # When mallory tries to revoke alice's token, it is as missing as an unknown id
    refused = mallory.delete(f"/tokens/{alice_id}")
    absent = mallory.delete(f"/tokens/{alice_id + 1000}")
    assert refused.status_code == absent.status_code == 404
    assert error_of(refused) == error_of(absent)
    assert alice.get("/me").status_code == 200

    # And alice may revoke the very token she calls with
    assert alice.delete(f"/tokens/{alice_id}").status_code == 204
    assert alice.get("/me").status_code == 401


def test_an_expired_token_is_refused(app: Flask, client: FlaskClient) -> None:
    # Given a token whose expiry has passed
    _user(app)
    secret = _cli_token(app, "ops@example.com", "--name", "old", "--expires-in-days", "1")
    api = Api(client, secret)
    assert api.get("/me").status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    # When it is used, it is 401 like a revoked token
    response = api.get("/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"
    assert "expired" in error_of(response)["message"]
    # And it is still listed (with its expiry), so that its owner sees why and can revoke it
    with app.app_context():
        assert db.session.scalars(select(ApiToken.name)).all() == ["old"]
