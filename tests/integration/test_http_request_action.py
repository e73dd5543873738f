"""The http_request action against a local fake server (allow-listed by the app's settings)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from flask import Flask
from pydantic import ValidationError

from app.actions.http_request import HttpRequestAction, HttpRequestConfig
from app.config import settings_of
from app.engine.errors import ActionError
from tests.fakes.context import make_step_context
from tests.fakes.http import FakeServer, Reply

ACTION = HttpRequestAction()
NASTY = 'He said "hi" & left #early\nline2 \\ </script> ünï %20'


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "OUTBOUND_ALLOWLIST": ["127.0.0.1/32"]}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def run(app: Flask, **config: Any) -> dict[str, Any]:
    """Validate `config` as the engine would, then execute step "call" of execution 7."""
    checked = cast(HttpRequestConfig, ACTION.validate_config(config))
    return ACTION.execute(make_step_context(settings_of(app)), checked)


def test_get_returns_status_headers_and_parsed_json(app: Flask, server: FakeServer) -> None:
    # Given an endpoint answering JSON
    server.on("GET", "/items", Reply.json({"items": [1, 2]}, headers={"X-Total": "2"}))
    # When the step calls it with a query and a header
    output = run(
        app,
        url=server.url("/items"),
        query={"page": 2, "all": True},
        headers={"Accept": "application/json"},
    )
    # Then the output has status, lower-cased headers and the parsed body
    assert output["status"] == 200
    assert output["headers"]["x-total"] == "2"
    assert output["body"] == {"items": [1, 2]}
    request = server.requests[0]
    assert request.query == {"page": ["2"], "all": ["true"]}
    assert request.headers["accept"] == "application/json"
    assert request.headers["idempotency-key"] == "7:call"


def test_template_values_stay_intact_in_a_json_body_and_the_query(
    app: Flask, server: FakeServer
) -> None:
    # Given rendered values holding quotes, &, #, newlines, backslashes and markup
    server.on("POST", "/hook", Reply.json({"ok": True}, status=201))
    body = {"text": NASTY, "nested": [{"note": NASTY, "n": 3}], "flag": None}
    # When they are sent as a JSON body and as a query value
    output = run(
        app,
        method="POST",
        url=server.url("/hook"),
        body_type="json",
        body=body,
        query={"q": NASTY, "tags": ["a&b", "c#d"]},
    )
    # Then the body is valid JSON equal to the structure, and the query decodes to the values
    request = server.requests[0]
    assert output["status"] == 201
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == body
    assert request.query == {"q": [NASTY], "tags": ["a&b", "c#d"]}


def test_a_form_body_is_url_encoded(app: Flask, server: FakeServer) -> None:
    server.on("POST", "/form", Reply.text("thanks"))

    output = run(
        app,
        method="POST",
        url=server.url("/form"),
        body_type="form",
        body={"name": NASTY, "n": 1, "many": ["x", "y&z"]},
    )

    request = server.requests[0]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"name": [NASTY], "n": ["1"], "many": ["x", "y&z"]}
    assert output["body"] == "thanks"


def test_a_text_body_is_sent_raw_with_its_content_type(app: Flask, server: FakeServer) -> None:
    server.on("PUT", "/doc", Reply(status=204))

    output = run(
        app,
        method="PUT",
        url=server.url("/doc"),
        body_type="text",
        body="<xml a='1'/>",
        content_type="application/xml",
    )

    assert server.requests[0].body == b"<xml a='1'/>"
    assert server.requests[0].headers["content-type"] == "application/xml"
    assert output == {"status": 204, "headers": output["headers"], "body": ""}


@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        ({"auth_type": "bearer", "auth_token": "tok-123"}, "authorization", "Bearer tok-123"),
        (
            {"auth_type": "basic", "auth_username": "ann", "auth_password": "p@ss:wörd"},
            "authorization",
            "Basic " + base64.b64encode("ann:p@ss:wörd".encode()).decode(),
        ),
        (
            {"auth_type": "header", "auth_header_name": "X-Api-Key", "auth_token": "key-456"},
            "x-api-key",
            "key-456",
        ),
    ],
    ids=["bearer", "basic", "header"],
)
def test_each_auth_kind_sends_its_credentials(
    app: Flask, server: FakeServer, auth: dict[str, str], header: str, expected: str
) -> None:
    server.on("GET", "/me", Reply.json({"me": "ann"}))

    output = run(app, url=server.url("/me"), **auth)

    assert server.requests[0].headers[header] == expected
    secrets = [v for k, v in auth.items() if k in ACTION.secret_fields()]
    assert all(secret not in json.dumps(output) for secret in secrets)


def test_credentials_are_secret_fields() -> None:
    assert ACTION.secret_fields() == {"auth_token", "auth_password"}
    schema = ACTION.config_schema()["properties"]
    assert schema["auth_token"]["writeOnly"] and schema["auth_password"]["writeOnly"]


def test_the_idempotency_key_can_be_disabled_or_given(app: Flask, server: FakeServer) -> None:
    server.on("POST", "/pay", Reply.json({}))

    run(app, method="POST", url=server.url("/pay"), send_idempotency_key=False)
    run(app, method="POST", url=server.url("/pay"), headers={"Idempotency-Key": "mine"})

    first, second = server.requests
    assert "idempotency-key" not in first.headers
    assert second.headers["idempotency-key"] == "mine"


def test_redirects_are_followed(app: Flask, server: FakeServer) -> None:
    server.on("GET", "/old", Reply.redirect("/new", status=301))
    server.on("GET", "/new", Reply.json({"moved": True}))

    assert run(app, url=server.url("/old"))["body"] == {"moved": True}


def test_429_is_retried_after_retry_after_then_succeeds(app: Flask, server: FakeServer) -> None:
    # Given an endpoint that rate-limits the first call, then answers
    server.on(
        "POST",
        "/send",
        Reply.text("slow down", 429, {"Retry-After": "7"}),
        Reply.json({"sent": True}),
    )
    config = {"method": "POST", "url": server.url("/send"), "body_type": "json", "body": {}}
    # When the step runs: a retryable error that asks the engine to wait 7 s
    with pytest.raises(ActionError) as caught:
        run(app, **config)
    assert (caught.value.retryable, caught.value.retry_after) == (True, 7.0)
    assert "HTTP 429" in str(caught.value)
    # And when the engine retries it, it succeeds with the same idempotency key
    assert run(app, **config)["body"] == {"sent": True}
    assert {r.headers["idempotency-key"] for r in server.requests} == {"7:call"}


def test_500_is_retryable_and_404_is_not(app: Flask, server: FakeServer) -> None:
    server.on("GET", "/boom", Reply.text("oops", 500))
    server.on("GET", "/gone", Reply.text("no such thing", 404))

    with pytest.raises(ActionError) as server_error:
        run(app, url=server.url("/boom"))
    with pytest.raises(ActionError) as client_error:
        run(app, url=server.url("/gone"))

    assert server_error.value.retryable
    assert not client_error.value.retryable
    assert str(client_error.value) == "HTTP 404 Not Found from 127.0.0.1: no such thing"


def test_a_4xx_is_retried_when_configured_and_returned_when_not_failing(
    app: Flask, server: FakeServer
) -> None:
    server.on("GET", "/busy", Reply.text("conflict", 409))

    with pytest.raises(ActionError) as caught:
        run(app, url=server.url("/busy"), retry_on_statuses=[409])
    output = run(app, url=server.url("/busy"), fail_on_status=False)

    assert caught.value.retryable
    assert (output["status"], output["body"]) == (409, "conflict")


def test_a_timeout_is_a_retryable_error(app: Flask, server: FakeServer) -> None:
    server.on("GET", "/slow", Reply(hold=True))
    started = time.monotonic()

    with pytest.raises(ActionError, match="did not answer") as caught:
        run(app, url=server.url("/slow"), timeout_seconds=0.5)

    assert caught.value.retryable
    assert time.monotonic() - started < 3


def test_an_oversize_response_is_refused(app: Flask, server: FakeServer) -> None:
    settings = settings_of(app).model_copy(update={"outbound_max_response_bytes": 1000})
    server.on("GET", "/big", Reply.json({"data": "x" * 5000}))

    with pytest.raises(ActionError, match="larger than 1000 bytes") as caught:
        checked = cast(HttpRequestConfig, ACTION.validate_config({"url": server.url("/big")}))
        ACTION.execute(make_step_context(settings), checked)

    assert not caught.value.retryable


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://localhost/", "http://[::1]/"]
)
def test_a_private_destination_is_a_permanent_error(app: Flask, url: str) -> None:
    with pytest.raises(ActionError, match="refused") as caught:
        run(app, url=url)
    assert not caught.value.retryable


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "/relative"])
def test_only_http_urls_pass_validation(url: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https:// URL") as caught:
        ACTION.validate_config({"url": url})
    assert url not in str(caught.value)


def test_header_values_cannot_smuggle_lines() -> None:
    with pytest.raises(ValidationError, match="line breaks"):
        ACTION.validate_config({"url": "https://example.com/", "headers": {"X-A": "1\r\nX-B: 2"}})


def test_a_secret_echoed_by_the_server_is_redacted_from_the_error(
    app: Flask, server: FakeServer
) -> None:
    server.on(
        "GET", "/auth", lambda req: Reply.text(f"bad token {req.headers['authorization']}", 401)
    )

    with pytest.raises(ActionError) as caught:
        run(app, url=server.url("/auth"), auth_type="bearer", auth_token="tok-secret-789")

    assert "tok-secret-789" not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@pytest.mark.parametrize("name", ["Host", "content-length", "Transfer-Encoding"])
def test_framing_headers_are_left_to_the_client(name: str) -> None:
    with pytest.raises(ValidationError, match="is set by Stepline"):
        ACTION.validate_config({"url": "https://example.com/", "headers": {name: "1"}})
