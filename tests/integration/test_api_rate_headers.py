"""Every API answer tells a script its budget (RateLimit-Limit, -Remaining, -Reset, -Policy, per
the IETF draft), so that it need not learn it from a 429; errors and unknown paths included."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api_client import Api, issue_token


@pytest.fixture
def five_an_hour(app_config: dict[str, object]) -> None:
    """5 API requests an hour per user (fixed window: a test never straddles two)."""
    app_config["API_RATE_LIMIT"] = "5/hour"


def _budget(response: TestResponse) -> tuple[int, int, int, str]:
    headers = response.headers
    return (
        int(headers["RateLimit-Limit"]),
        int(headers["RateLimit-Remaining"]),
        int(headers["RateLimit-Reset"]),
        headers["RateLimit-Policy"],
    )


@pytest.mark.usefixtures("five_an_hour")
def test_each_answer_counts_down_the_budget_to_the_429(app: Flask, client: FlaskClient) -> None:
    # Given a script with a token, on an API allowing 5 requests an hour
    api = Api(client, issue_token(app))

    # When it makes requests that succeed, fail and are refused
    answers = [
        api.get("/me"),  # 200
        api.get("/workflows/999999"),  # 404 from a view
        api.post("/workflows", {"name": ""}),  # 422
        api.get("/workflows"),  # 200
        api.get("/me"),  # 200, the last one allowed
        api.get("/me"),  # 429
    ]

    # Then every one carries the budget: the limit, what is left, seconds to the reset
    assert [a.status_code for a in answers] == [200, 404, 422, 200, 200, 429]
    budgets = [_budget(a) for a in answers]
    assert [b[0] for b in budgets] == [5] * 6
    assert [b[1] for b in budgets] == [4, 3, 2, 1, 0, 0]
    assert all(0 < b[2] <= 3600 for b in budgets), budgets
    assert {b[3] for b in budgets} == {"5;w=3600"}
    # And the 429 also says when to retry
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 3600


@pytest.mark.usefixtures("five_an_hour")
def test_unauthenticated_and_unrouted_answers_carry_the_budget_too(
    app: Flask, client: FlaskClient
) -> None:
    api = Api(client, issue_token(app))

    # A request without a token is counted per address
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert _budget(anonymous)[:2] == (5, 4)
    # A path or a method no route takes is not counted, but shows what is left
    for response in (
        api.get("/no-such-thing"),
        api.client.patch("/api/v1/me", headers=api.headers()),
    ):
        assert response.status_code in (404, 405)
        assert _budget(response)[:2] == (5, 5)
    # And the documentation, which needs no token, shows the caller's budget as well
    assert "RateLimit-Remaining" in client.get("/api/v1/openapi.json").headers


def test_pages_and_webhooks_carry_no_api_budget(client: FlaskClient) -> None:
    assert "RateLimit-Limit" not in client.get("/login").headers
    assert "RateLimit-Limit" not in client.post("/hooks/nope", json={}).headers
