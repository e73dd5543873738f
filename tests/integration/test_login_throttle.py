"""Login that resists guessing: failures are throttled per address and per email (429 with
Retry-After), unknown emails answer like wrong passwords, and easy passwords are refused with
the reason beside the field (issue 18)."""

from __future__ import annotations

import re

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from tests.conftest import PASSWORD, csrf_token, empty_database, register, without_csrf
from tests.engine_harness import REDIS_URL


@pytest.fixture
def five_a_minute(app_config: dict[str, object]) -> None:
    app_config["LOGIN_RATE_LIMIT"] = "5 per minute"


def attempt(client: FlaskClient, email: str, password: str, address: str = "") -> TestResponse:
    environ = {"REMOTE_ADDR": address} if address else {}
    return client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "email": email, "password": password},
        environ_base=environ,
    )


@pytest.fixture
def bob(client: FlaskClient) -> str:
    register(client, "bob@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})
    return "bob@example.com"


@pytest.mark.usefixtures("five_a_minute")
def test_the_sixth_wrong_password_within_a_minute_answers_429(
    client: FlaskClient, bob: str
) -> None:
    # When five wrong passwords are tried, then a sixth
    statuses = [attempt(client, bob, f"wrong guess {n}").status_code for n in range(5)]
    sixth = attempt(client, bob, "wrong guess 6")

    # Then the sixth answers 429 with Retry-After and a message on the page, the email kept
    assert statuses == [422] * 5
    assert sixth.status_code == 429
    assert 1 <= int(sixth.headers["Retry-After"]) <= 60
    html = sixth.get_data(as_text=True)
    assert re.search(r"Too many failed attempts\. Wait \d+ seconds? and try again\.", html)
    assert 'value="bob@example.com"' in html
    # And the right password waits too, until the minute is over
    assert attempt(client, bob, PASSWORD).status_code == 429


@pytest.mark.usefixtures("five_a_minute")
def test_failures_count_per_email_across_addresses(client: FlaskClient, bob: str) -> None:
    statuses = [
        attempt(client, bob, "wrong guess", address=f"198.51.100.{n}").status_code for n in range(6)
    ]

    assert statuses == [422] * 5 + [429]
    # Another account from a fresh address is not held back by bob's budget
    assert attempt(client, "carol@example.com", "guess", "198.51.100.99").status_code == 422


@pytest.mark.usefixtures("five_a_minute")
def test_failures_count_per_address_across_emails(client: FlaskClient) -> None:
    statuses = [
        attempt(client, f"user{n}@example.com", "wrong guess", "203.0.113.7").status_code
        for n in range(6)
    ]

    assert statuses == [422] * 5 + [429]
    assert attempt(client, "user9@example.com", "guess", "203.0.113.8").status_code == 422


def test_successful_logins_are_not_counted(
    app_config: dict[str, object], client: FlaskClient, bob: str
) -> None:
    for _ in range(3):
        assert attempt(client, bob, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})


@pytest.fixture
def two_a_minute(app_config: dict[str, object]) -> None:
    app_config["LOGIN_RATE_LIMIT"] = "2 per minute"


@pytest.mark.usefixtures("two_a_minute")
def test_refused_registrations_are_throttled_too(client: FlaskClient) -> None:
    def refused() -> TestResponse:
        return client.post(
            "/register",
            data={
                "csrf_token": csrf_token(client, "/register"),
                "email": "new@example.com",
                "password": "aaaaaaaaaa",
                "confirm": "aaaaaaaaaa",
            },
        )

    statuses = [refused().status_code for _ in range(3)]

    assert statuses == [422, 422, 429]
    assert "Too many failed attempts" in refused().get_data(as_text=True)


def test_an_unknown_email_answers_like_a_wrong_password(client: FlaskClient, bob: str) -> None:
    known = attempt(client, bob, "wrong guess")
    unknown = attempt(client, "nobody@example.com", "wrong guess")

    assert known.status_code == unknown.status_code == 422
    assert without_csrf(known).replace(bob, "EMAIL") == without_csrf(unknown).replace(
        "nobody@example.com", "EMAIL"
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "Repeats like &#34;aaa&#34; are easy to guess."),
        ("password123!", "This is similar to a commonly used password."),
        ("qwertyuiop", "This is a top-100 common password."),
        ("short", "Use a password of at least 10 characters."),
    ],
)
def test_easy_passwords_are_refused_with_the_reason_beside_the_field(
    client: FlaskClient, password: str, reason: str
) -> None:
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(client, "/register"),
            "email": "new@example.com",
            "password": password,
            "confirm": password,
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="password-error" role="alert">([^<]*)</p>', html)
    assert error and reason in error.group(1), html
    assert client.get("/workflows").status_code == 302  # no account, no session


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password123!"])
def test_a_password_change_refuses_easy_passwords(user_client: FlaskClient, password: str) -> None:
    response = user_client.post(
        "/settings/password",
        data={
            "csrf_token": csrf_token(user_client, "/settings/password"),
            "current": PASSWORD,
            "new": password,
            "confirm": password,
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="new-error"' in html
    assert "easy to guess" in html or "commonly used password" in html


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password123!"])
def test_create_user_refuses_easy_passwords(app: Flask, password: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "admin@example.com", "--password", password]
    )

    assert result.exit_code != 0
    assert "easy to guess" in result.output or "commonly used password" in result.output


@pytest.mark.usefixtures("two_a_minute")
def test_failures_count_in_redis_when_configured(app_config: dict[str, object]) -> None:
    # Given two web processes counting in one Redis
    app_config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    app_config["EMBEDDED_WORKER"] = False
    first, second = create_app(app_config), create_app(app_config)
    prefix = str(app_config["QUEUE_PREFIX"])
    try:
        # When wrong passwords alternate between them
        statuses = [
            attempt(each.test_client(), "eve@example.com", "wrong guess").status_code
            for each in (first, second, first)
        ]

        # Then they share one budget, under this app's key prefix
        assert statuses == [422, 422, 429]
        with redis.Redis.from_url(REDIS_URL) as connection:
            keys = list(connection.scan_iter(f"*{prefix}:login-limit*"))
            assert keys
            connection.delete(*keys)
    finally:
        empty_database(first)
        empty_database(second)
