"""Request bodies of the API: JSON only, strictly parsed, validated with the field named.

The body helper is exercised through a probe route (a POST under /api/v1 that only parses its
body and, like the API, takes no CSRF token), so every failure travels the real app: routing,
error handlers, response headers.
"""

from __future__ import annotations

import json
import random

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from pydantic import BaseModel, ConfigDict, Field

from app.api.bodies import MAX_DEPTH, parse_body
from app.api.schemas import respond
from app.extensions import csrf

PROBE = "/api/v1/_probe"


class ProbeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")


class ProbeStep(BaseModel):
    type: str
    config: ProbeConfig


class ProbeWorkflow(BaseModel):
    name: str = Field(min_length=1)
    actions: list[ProbeStep] = []


def _probe() -> Response:
    return respond(parse_body(ProbeWorkflow), status=201)


@pytest.fixture
def small_bodies(app_config: dict[str, object]) -> None:
    app_config["MAX_CONTENT_LENGTH"] = 64 * 1024


@pytest.fixture
def probe(small_bodies: None, app: Flask) -> FlaskClient:
    """A client of an app with the probe route (added before its first request)."""
    app.add_url_rule(PROBE, "probe", csrf.exempt(_probe), methods=["POST"])
    return app.test_client()


def post_raw(client: FlaskClient, data: bytes | str, content_type: str | None) -> Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post(PROBE, data=data, headers=headers)


def error_of(response: Response) -> dict[str, str]:
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) <= {"code", "message", "field"}
    return dict(body["error"])


def test_a_valid_body_is_parsed_into_the_model(probe: FlaskClient) -> None:
    response = probe.post(
        PROBE, json={"name": "n", "actions": [{"type": "http", "config": {"url": "https://x"}}]}
    )

    assert response.status_code == 201
    assert response.get_json()["actions"][0]["config"]["url"] == "https://x"


def test_structured_json_media_types_are_accepted(probe: FlaskClient) -> None:
    response = post_raw(probe, '{"name": "n"}', "application/merge-patch+json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_declared_json_is_415(
    probe: FlaskClient, content_type: str | None
) -> None:
    response = post_raw(probe, '{"name": "n"}', content_type)

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
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    ],
    ids=lambda b: repr(b[:12]),
)
def test_malformed_or_deeply_nested_json_is_400(probe: FlaskClient, body: bytes) -> None:
    response = post_raw(probe, body, "application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_nesting_up_to_the_limit_is_fine(probe: FlaskClient) -> None:
    nested: object = "x"
    for _ in range(MAX_DEPTH - 2):
        nested = [nested]
    response = probe.post(PROBE, json={"name": "n", "extra": nested})

    assert response.status_code == 201


def test_an_oversized_body_is_413(probe: FlaskClient) -> None:
    response = probe.post(PROBE, json={"name": "n" * (65 * 1024)})

    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_validation_error_is_422_naming_the_field_as_a_dotted_path(probe: FlaskClient) -> None:
    # Given a workflow whose second step has a config without its url
    body = {
        "name": "n",
        "actions": [
            {"type": "http", "config": {"url": "https://ok"}},
            {"type": "http", "config": {}},
        ],
    }

    # When it is posted
    response = probe.post(PROBE, json=body)

    # Then the answer names the step index and the field
    assert response.status_code == 422
    error = error_of(response)
    assert error == {
        "code": "validation_error",
        "message": "Field required",
        "field": "actions.1.config.url",
    }


def test_several_problems_are_counted_in_the_message(probe: FlaskClient) -> None:
    response = probe.post(PROBE, json={"name": "", "actions": [{"config": {"bad": 1}}]})

    error = error_of(response)
    assert response.status_code == 422
    assert error["field"] == "name"
    assert "(and 3 more problems)" in error["message"]


def test_json_of_the_wrong_shape_is_422_without_a_field(probe: FlaskClient) -> None:
    for document in ([], "text", 3, None):
        response = probe.post(PROBE, data=json.dumps(document), content_type="application/json")
        assert response.status_code == 422
        assert "field" not in error_of(response)


def test_no_input_makes_a_500(probe: FlaskClient) -> None:
    # Given random bytes and random mutations of a valid document
    rng = random.Random(6)
    valid = json.dumps({"name": "n", "actions": [{"type": "t", "config": {"url": "http://x"}}]})
    bodies: list[bytes] = []
    for _ in range(150):
        bodies.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
        chars = list(valid)
        for _ in range(rng.randrange(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0aé\\\x00')
        bodies.append("".join(chars).encode())

    # When each is posted as JSON
    statuses = {post_raw(probe, body, "application/json").status_code for body in bodies}

    # Then every answer is a client error or a success, never a server error
    assert statuses <= {201, 400, 422}
