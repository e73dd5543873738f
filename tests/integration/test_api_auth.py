"""API authentication, the JSON error shape and rate limiting, through the test client."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.api import openapi
from app.extensions import db
from app.models import ApiToken, Base, User
from app.services.accounts import api_tokens, users
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH, csrf_token, empty_database, register

REDIS_URL = "redis://127.0.0.1:6379/0"


def issue_token(app: Flask, email: str = "alice@example.com", name: str = "script") -> str:
    """Register `email` (once) and return the secret of a new token of theirs."""
    with app.app_context():
        session = db.session()
        user = users.find_by_email(session, email) or users.register(
            session, email=email, password=PASSWORD, hash_method=TEST_PASSWORD_HASH
        )
        return api_tokens.create_token(session, user, name).secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_error(body: object, code: str) -> None:
    """The one error shape: {"error": {"code", "message", "field"?}}."""
    assert isinstance(body, dict) and set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_a_token_authenticates_and_me_describes_its_user(app: Flask, client: FlaskClient) -> None:
    # Given a token of alice's
    secret = issue_token(app)

    # When a script calls /me with it
    response = client.get("/api/v1/me", headers=bearer(secret))

    # Then it learns who it acts as, and which token it used (by prefix, never the secret)
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == "alice@example.com"
    assert body["token"]["name"] == "script"
    assert body["token"]["prefix"] == secret[:12]
    assert body["token"]["last_used_at"] is not None
    assert secret not in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic YWxpY2U6cGFzc3dvcmQ=", "Token abc"],
)
def test_no_bearer_token_is_401_with_a_challenge(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert_error(response.get_json(), "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="stepline"'


@pytest.mark.parametrize("value", ["stp_not-a-real-token", "garbage", "stp_" + "A" * 5000])
def test_an_unknown_token_is_401(client: FlaskClient, value: str) -> None:
    response = client.get("/api/v1/me", headers=bearer(value))

    assert response.status_code == 401
    assert_error(response.get_json(), "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_scheme_is_case_insensitive(app: Flask, client: FlaskClient) -> None:
    secret = issue_token(app)

    response = client.get("/api/v1/me", headers={"Authorization": f"bearer {secret}"})

    assert response.status_code == 200


def test_a_revoked_token_fails_at_once(app: Flask, client: FlaskClient) -> None:
    # Given a token that works
    secret = issue_token(app)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    # When its owner revokes it
    with app.app_context():
        session = db.session()
        token = session.scalars(select(ApiToken)).one()
        api_tokens.revoke_token(session, token)

    # Then the very next request is refused
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401
    assert_error(response.get_json(), "invalid_token")


def test_a_session_cookie_alone_does_not_authenticate_the_api(user_client: FlaskClient) -> None:
    # Given a browser session logged in as alice (the pages work)
    assert user_client.get("/workflows").status_code == 200

    # When the same client calls the API without a token
    response = user_client.get("/api/v1/me")

    # Then it is refused
    assert response.status_code == 401
    assert_error(response.get_json(), "unauthorized")


def test_a_token_revoked_on_the_settings_page_fails_in_the_api(
    app: Flask, user_client: FlaskClient, client: FlaskClient
) -> None:
    # Given a token created on the settings page
    created = user_client.post(
        "/settings/tokens",
        data={"name": "ci", "csrf_token": csrf_token(user_client, "/settings")},
    )
    secret = created.get_data(as_text=True).split('value="stp_', 1)[1].split('"', 1)[0]
    secret = "stp_" + secret
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    # When it is revoked there
    with app.app_context():
        token_id = db.session.scalars(select(ApiToken.id)).one()
    user_client.post(
        f"/settings/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(user_client, "/settings")},
    )

    # Then the API refuses it
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_tokens_are_stored_only_as_hashes(app: Flask, client: FlaskClient) -> None:
    # Given tokens that have been issued and used
    secrets = [issue_token(app, name=f"t{i}") for i in range(3)]
    for secret in secrets:
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    # When every row of every table is read
    with app.app_context():
        stored = "\n".join(
            str(value)
            for table in Base.metadata.sorted_tables
            for row in db.session.execute(select(table))
            for value in row
        )

    # Then no secret, nor its hidden part, is there
    for secret in secrets:
        assert secret not in stored
        assert secret[12:] not in stored


def test_unknown_routes_under_api_answer_json_404(app: Flask, client: FlaskClient) -> None:
    secret = issue_token(app)

    for headers in ({}, bearer(secret)):
        response = client.get("/api/v1/no-such-thing", headers=headers)
        assert response.status_code == 404
        assert response.mimetype == "application/json"
        assert_error(response.get_json(), "not_found")
    assert client.get("/api/v2/me").status_code == 404
    assert_error(client.get("/api/v2/me").get_json(), "not_found")


def test_a_wrong_method_answers_json_405(app: Flask, client: FlaskClient) -> None:
    secret = issue_token(app)

    response = client.delete("/api/v1/me", headers=bearer(secret))

    assert response.status_code == 405
    assert_error(response.get_json(), "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.fixture
def three_an_hour(app_config: dict[str, object]) -> None:
    """The test's app allows 3 API requests an hour per user (a window long enough that a
    test's requests never straddle two of them: counting is fixed-window)."""
    app_config["API_RATE_LIMIT"] = "3/hour"


@pytest.mark.usefixtures("three_an_hour")
def test_the_rate_limit_answers_429_with_retry_after(app: Flask, client: FlaskClient) -> None:
    # Given an API limited to 3 requests an hour per user
    alice, mallory = issue_token(app), issue_token(app, "mallory@example.com")

    # When alice makes a fourth request within the hour
    statuses = [client.get("/api/v1/me", headers=bearer(alice)).status_code for _ in range(4)]
    limited = client.get("/api/v1/me", headers=bearer(alice))

    # Then it is refused with the error shape and a Retry-After in seconds
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert_error(limited.get_json(), "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    # And another user is not held back by alice's budget
    assert client.get("/api/v1/me", headers=bearer(mallory)).status_code == 200


@pytest.mark.usefixtures("three_an_hour")
def test_requests_without_a_token_are_limited_per_address(client: FlaskClient) -> None:
    statuses = [client.get("/api/v1/me").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


@pytest.mark.usefixtures("three_an_hour")
def test_the_rate_limit_counts_in_redis_when_configured(app_config: dict[str, object]) -> None:
    # Given two app processes counting in one Redis (as gunicorn workers do)
    app_config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    app_config["EMBEDDED_WORKER"] = False  # no worker threads outliving the test
    first = create_app(app_config)
    second = create_app(app_config)
    prefix = str(app_config["QUEUE_PREFIX"])
    try:
        secret = issue_token(first)

        # When requests alternate between them
        statuses = [
            each.test_client().get("/api/v1/me", headers=bearer(secret)).status_code
            for each in (first, second, first, second)
        ]

        # Then they share one budget, counted under this app's key prefix
        assert statuses == [200, 200, 200, 429]
        with redis.Redis.from_url(REDIS_URL) as connection:
            keys = list(connection.scan_iter(f"*{prefix}:ratelimit*"))
            assert keys
            connection.delete(*keys)
    finally:
        empty_database(first)
        empty_database(second)


def test_the_token_of_a_deleted_user_fails(app: Flask, client: FlaskClient) -> None:
    # Given a token whose user is then deleted
    secret = issue_token(app)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        db.session.delete(user)
        db.session.commit()

    # When the token is used, it fails like any unknown token (the row went with its user)
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401


def test_every_api_route_but_the_documentation_needs_a_token(
    app: Flask, client: FlaskClient
) -> None:
    # Given a session cookie (alice is logged in on the pages), but no token
    user = app.test_client()
    register(user, "alice@example.com")
    ids = {
        "workflow_id": 1,
        "execution_id": 1,
        "connection_id": 1,
        "credential_id": 1,
        "version": 1,
        "key": "a",
        "token_id": 1,
    }

    # When every API route is called with every method it takes
    refused = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in openapi.UNDOCUMENTED:
            continue
        built = rule.build({name: ids[name] for name in rule.arguments})
        assert built is not None
        path = built[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = user.open(path, method=method, json={})

            # Then each is 401 with the challenge, before anything else is looked at
            assert response.status_code == 401, f"{method} {path}"
            assert_error(response.get_json(), "unauthorized")
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="stepline"'
            refused += 1
    assert refused >= 18
    assert client.get("/api/v1/openapi.json").status_code == 200
