"""Request bodies of the API, on its real endpoint POST /api/v1/workflows: JSON only, strictly
parsed, validated with the field named; a token and no CSRF token; never a 500."""

from __future__ import annotations

import json
import random

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.api.bodies import MAX_DEPTH
from tests.api_client import Api, error_of, issue_token

PATH = "/api/v1/workflows"
VALID = {
    "name": "n",
    "steps": [{"type": "http_request", "config": {"url": "https://example.com/x"}}],
}


@pytest.fixture
def small_bodies(app_config: dict[str, object]) -> None:
    app_config["MAX_CONTENT_LENGTH"] = 64 * 1024


@pytest.fixture
def api(small_bodies: None, app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def post_raw(api: Api, data: bytes | str, content_type: str | None) -> TestResponse:
    headers = api.headers({"Content-Type": content_type} if content_type else {})
    return api.client.post(PATH, data=data, headers=headers)


def test_a_valid_body_creates_the_workflow_without_a_csrf_token(api: Api) -> None:
    # Given a token and no CSRF token (the API takes no cookies, so it needs none)
    # When a workflow is posted
    response = api.post("/workflows", VALID)

    # Then it is created
    assert response.status_code == 201
    assert response.get_json()["steps"][0]["config"]["url"] == "https://example.com/x"


def test_a_session_cookie_alone_cannot_post(user_client: FlaskClient) -> None:
    # Given a browser session logged in as alice
    assert user_client.get("/workflows").status_code == 200

    # When it posts to the API without a token
    response = user_client.post(PATH, json=VALID)

    # Then it is refused as unauthenticated (not as a CSRF failure)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_structured_json_media_types_are_accepted(api: Api) -> None:
    response = post_raw(api, json.dumps(VALID), "application/merge-patch+json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_declared_json_is_415(api: Api, content_type: str | None) -> None:
    response = post_raw(api, json.dumps(VALID), content_type)

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b'{"name": "n",}',
        b"{'name': 'n'}",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b"\xff\xfe\xfa",
        b'{"name": "\xc3"}',
        b'{"name": "a\\u0000b"}',
        b'{"name": "\\ud800"}',
        b'{"name": "n", "description": "", "trigger": {"config": {"\\u0000": 1}}}',
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    ],
    ids=lambda b: repr(b[:16]),
)
def test_malformed_deeply_nested_or_unstorable_json_is_400(api: Api, body: bytes) -> None:
    response = post_raw(api, body, "application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_nesting_up_to_the_limit_is_fine(api: Api) -> None:
    nested: object = "x"
    for _ in range(MAX_DEPTH - 4):  # the document, trigger and sample_data hold it
        nested = [nested]
    response = api.post("/workflows", {**VALID, "trigger": {"sample_data": {"deep": nested}}})

    assert response.status_code == 201


def test_an_oversized_body_is_413(api: Api) -> None:
    response = api.post("/workflows", {**VALID, "description": "n" * (65 * 1024)})

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_validation_error_is_422_naming_the_field_as_a_dotted_path(api: Api) -> None:
    # Given a workflow whose second step has a config without its url
    body = {**VALID, "steps": [VALID["steps"][0], {"type": "http_request", "config": {}}]}

    # When it is posted
    response = api.post("/workflows", body)

    # Then the answer names the step index and the field
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "validation_error",
        "message": "Field required",
        "field": "steps.1.config.url",
    }


def test_several_problems_are_counted_in_the_message(api: Api) -> None:
    response = api.post("/workflows", {"name": "", "steps": [{"config": {"bad": 1}}], "x": 1})

    error = error_of(response)
    assert response.status_code == 422
    assert error["field"] == "name"
    assert "(and 2 more problems)" in error["message"]


def test_json_of_the_wrong_shape_is_422_without_a_field(api: Api) -> None:
    documents: list[object] = [[], "text", 3, None]
    for document in documents:
        response = post_raw(api, json.dumps(document), "application/json")
        assert response.status_code == 422
        assert "field" not in error_of(response)


def test_no_input_makes_a_500(api: Api) -> None:
    # Given random bytes and random mutations of a valid document
    rng = random.Random(6)
    valid = json.dumps(VALID)
    bodies: list[bytes] = []
    for _ in range(150):
        bodies.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
        chars = list(valid)
        for _ in range(rng.randrange(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0aé\\\x00')
        bodies.append("".join(chars).encode())

    # When each is posted as JSON
    statuses = {post_raw(api, body, "application/json").status_code for body in bodies}

    # Then every answer is a client error or a success, never a server error
    assert statuses <= {201, 400, 422}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/workflows"),
        ("PUT", "/workflows/{workflow}"),
        ("POST", "/workflows/import"),
        ("POST", "/workflows/{workflow}/trigger"),
        ("POST", "/workflows/executions/{execution}/rerun"),
    ],
)
@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"n": 1}', "text/plain", 415, "unsupported_media_type"),
        ('{"n": ', "application/json", 400, "invalid_json"),
        ('{"n": "\\u0000"}', "application/json", 400, "invalid_json"),
        ("[1, 2]", "application/json", 422, "validation_error"),
    ],
)
def test_every_endpoint_with_a_body_refuses_bad_ones_alike(
    api: Api, method: str, path: str, body: str, content_type: str, status: int, code: str
) -> None:
    # Given an enabled workflow with a finished execution
    workflow = api.create({"name": "n", "steps": []}, enable=True)
    execution = api.trigger(workflow["id"])
    url = "/api/v1" + path.format(workflow=workflow["id"], execution=execution)

    # When a bad body is sent
    response = api.client.open(
        url, method=method, data=body, headers=api.headers({"Content-Type": content_type})
    )

    # Then each endpoint answers the same status and code
    assert response.status_code == status
    assert error_of(response)["code"] == code
