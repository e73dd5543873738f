"""The guarded client's dry mode (app/net/dry.py) and a dry step's output (app/engine/dry_run.py):
the request a step would send is recorded, never sent; credentials are masked; a sending action
that cannot describe its request is not run."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.http_request import HttpRequestAction, HttpRequestConfig
from app.engine.context import StepContext
from app.engine.dry_run import execute_dry, recorded
from app.engine.redaction import REDACTED
from app.net import BlockedDestinationError, GuardedClient, OutboundPolicy
from app.net import dry as net_dry
from app.settings import Settings
from tests.fakes.context import make_step_context
from tests.fakes.http import FakeServer, Reply

LOCAL = OutboundPolicy.parse(["127.0.0.1/32"])


def _settings() -> Settings:
    return Settings.model_validate(
        {"secret_keys": Fernet.generate_key().decode(), "outbound_allowlist": ["127.0.0.1/32"]}
    )


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        server.on("POST", "/hook", Reply.json({"ok": True}))
        yield server


def _no_lookup(host: str, _port: int) -> list[Any]:
    raise AssertionError(f"a dry run looked {host} up")


def test_a_recording_client_raises_the_request_it_would_send_and_connects_to_nothing(
    server: FakeServer,
) -> None:
    client = GuardedClient(LOCAL, resolver=_no_lookup)
    with net_dry.recording(), pytest.raises(net_dry.RequestNotSent) as caught:
        client.request(
            "post",
            server.url("/hook"),
            params=[("q", "a b&c")],
            headers={"X-Key": "k-1"},
            content=b'{"a": 1}',
            sensitive_headers=["X-Key"],
        )
    request = caught.value.request
    assert (request.method, request.url) == ("POST", server.url("/hook") + "?q=a+b%26c")
    assert request.headers["X-Key"] == "k-1" and request.body == b'{"a": 1}'
    assert "x-key" in request.sensitive_headers
    assert (server.requests, server.connections) == ([], 0)


def test_a_dry_run_still_refuses_what_a_real_run_would_refuse() -> None:
    client = GuardedClient(OutboundPolicy(), resolver=_no_lookup)
    with net_dry.recording():
        for url in ("http://localhost/x", "http://127.0.0.1/x", "http://169.254.169.254/"):
            with pytest.raises(BlockedDestinationError):
                client.request("GET", url)


def test_a_credential_exchange_is_sent_even_in_a_dry_run(server: FakeServer) -> None:
    client = GuardedClient(LOCAL, sends_in_dry_runs=True)
    with net_dry.recording():
        response = client.request("POST", server.url("/hook"), content=b"{}")
    assert response.status == 200 and len(server.requests) == 1


def test_the_http_action_in_a_dry_run_masks_its_credentials() -> None:
    # Given an HTTP step with basic auth (the header is base64, no secret's text appears in it)
    context = make_step_context(_settings())
    config = HttpRequestConfig(
        method="PUT",
        url="http://127.0.0.1:9/items/1",
        body_type="form",
        body={"name": "Ann & co"},
        auth_type="basic",
        auth_username="ann",
        auth_password="pa55-word",
    )

    output = execute_dry(HttpRequestAction(), context, config)

    request = output["request"]
    assert output["dry_run"] == "recorded"
    assert request["method"] == "PUT" and request["url"] == "http://127.0.0.1:9/items/1"
    assert request["headers"]["Authorization"] == REDACTED
    assert request["body"] == "name=Ann+%26+co"


def test_bodies_are_shown_as_json_text_or_a_size() -> None:
    def body(content: bytes | None, content_type: str = "") -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        return recorded(net_dry.WouldSend("POST", "https://x.test/", headers, content))["request"][
            "body"
        ]

    assert body(b'{"a": [1]}', "application/json") == {"a": [1]}
    assert body(b"plain", "text/plain") == "plain"
    assert body(b"\xff\xfe", "application/octet-stream") == "(2 bytes of binary data)"
    assert body(None) is None
    assert body(b"x" * 70_000, "text/plain").endswith("… (70000 bytes in all)")


class _SmtpConfig(ActionConfig):
    to: str = Field(description="Recipient.")


class _SmtpAction(BaseActionHandler):
    """A plugin that sends by its own means: a dry run must not run it."""

    type = "smtp_test"
    name = "SMTP (test)"
    description = "Sends mail by itself."
    Config = _SmtpConfig
    sends = True

    def execute(self, context: StepContext, config: Any) -> dict[str, Any]:
        raise AssertionError("a dry run ran a step that cannot describe its request")


def test_a_sending_plugin_without_a_dry_mode_is_skipped() -> None:
    context = make_step_context(_settings())
    output = execute_dry(_SmtpAction(), context, _SmtpConfig(to="a@b.c"))
    assert output["dry_run"] == "skipped"
    assert "SMTP (test) sends" in output["note"]


def test_ipaddress_literals_in_brackets_are_checked() -> None:
    client = GuardedClient(OutboundPolicy(), resolver=_no_lookup)
    assert ipaddress.ip_address("::1").is_loopback
    with net_dry.recording(), pytest.raises(BlockedDestinationError):
        client.request("GET", "http://[::1]:8080/")
