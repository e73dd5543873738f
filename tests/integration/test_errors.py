"""Service errors answer in one place (`app.errors`): the JSON error shape under /api/ and
/hooks/ (and for clients that ask for JSON), a readable page elsewhere; never a stack trace."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.errors import NOT_FOUND_PAGE
from app.services import errors

MISSING_ID = 2_000_000_000

CASES = [
    (errors.BadRequestError("The body is not valid JSON."), 400, "bad_request", {}),
    (errors.InvalidInputError("Too long.", "steps.1.name"), 422, "validation_error", {}),
    (errors.UnauthorizedError("The signature is wrong."), 401, "unauthorized", {}),
    (errors.NotFoundError("workflow 7"), 404, "not_found", {}),
    (
        errors.MethodNotAllowedError("Use POST.", ["POST"]),
        405,
        "method_not_allowed",
        {"Allow": "POST"},
    ),
    (errors.ConflictError("Cancel it first."), 409, "conflict", {}),
    (errors.PayloadTooLargeError("Over the cap."), 413, "payload_too_large", {}),
    (errors.TooManyRequestsError("Slow down.", 7), 429, "rate_limited", {"Retry-After": "7"}),
]


def _case(error: errors.ServiceError) -> int:
    return [case[0] for case in CASES].index(error)


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # Settings of their own: the app built for these tests, with its extra routes, is theirs.
    return {**app_config, "TEST_ERROR_ROUTES": True}


@pytest.fixture
def app(app: Flask) -> Flask:
    """The app, with routes that raise each case (added before it serves any request)."""
    if "boom" not in app.view_functions:

        def boom(case: int) -> str:
            raise CASES[case][0]

        app.add_url_rule("/boom/<int:case>", "boom", boom)
        app.add_url_rule("/api/v1/boom/<int:case>", "api_boom", boom)
    return app


@pytest.mark.parametrize(("error", "status", "code", "headers"), CASES)
def test_a_service_error_answers_its_status_and_code_as_json_under_the_api(
    app: Flask, error: errors.ServiceError, status: int, code: str, headers: dict[str, str]
) -> None:
    # Given a route under /api/ that raises a service error, when it is requested
    response = app.test_client().get(f"/api/v1/boom/{_case(error)}")

    # Then the answer is the API's error shape with the error's status, code and headers
    assert response.status_code == status
    body = {"code": code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    assert response.get_json() == {"error": body}
    assert {name: response.headers.get(name) for name in headers} == headers


@pytest.mark.parametrize(("error", "status", "code", "headers"), CASES)
def test_a_service_error_is_a_readable_page_elsewhere(
    app: Flask, error: errors.ServiceError, status: int, code: str, headers: dict[str, str]
) -> None:
    # Given a page route that raises a service error, when a browser requests it
    response = app.test_client().get(f"/boom/{_case(error)}", headers={"Accept": "text/html"})

    # Then it gets an HTML page with the status and a message, never a trace
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    expected = NOT_FOUND_PAGE if status == 404 else error.message
    assert expected.replace("'", "&#39;") in page
    assert "Traceback" not in page and "workflow 7" not in page
    assert {name: response.headers.get(name) for name in headers} == headers


def test_another_users_or_a_missing_execution_page_says_so_plainly(
    user_client: FlaskClient,
) -> None:
    # When a signed-in user opens an execution that does not exist, as a page and as JSON
    page = user_client.get(f"/executions/{MISSING_ID}")
    wanted = user_client.get(f"/executions/{MISSING_ID}", headers={"Accept": "application/json"})

    # Then the page says it plainly and the JSON names the object, both 404
    assert page.status_code == wanted.status_code == 404
    assert NOT_FOUND_PAGE.replace("'", "&#39;") in page.get_data(as_text=True)
    assert wanted.get_json() == {
        "error": {"code": "not_found", "message": f"execution {MISSING_ID}"}
    }
