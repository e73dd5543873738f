"""The guarded client against local fake servers (allow-listed): redirects, limits, TLS, logs."""

from __future__ import annotations

import gzip
import ipaddress
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from app.net import (
    GuardedClient,
    OutboundConnectionError,
    OutboundPolicy,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TLSError,
    TooManyRedirectsError,
)
from tests.fakes.http import FakeServer, Reply
from tests.fakes.listener import ConnectionSpy
from tests.fakes.tls import make_pki

LOCAL = OutboundPolicy.parse(["127.0.0.1/32", "fake.test"])


def to_loopback(_host: str, _port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """A resolver that answers 127.0.0.1 for every name (fake.test among them)."""
    return [ipaddress.ip_address("127.0.0.1")]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def client() -> GuardedClient:
    return GuardedClient(LOCAL, resolver=to_loopback, timeout=5)


def test_a_response_is_returned_with_status_headers_and_body(
    server: FakeServer, client: GuardedClient
) -> None:
    server.on("GET", "/items", Reply.json({"items": [1, 2]}, headers={"X-Total": "2"}))

    response = client.request("GET", server.url("/items"))

    assert response.status == 200
    assert response.headers["x-total"] == "2"
    assert response.parsed_body() == {"items": [1, 2]}


def test_a_head_request_reads_no_body(server: FakeServer, client: GuardedClient) -> None:
    server.on("HEAD", "/file", Reply(body=b"x" * 50, headers={"ETag": '"v1"'}))

    response = client.request("HEAD", server.url("/file"))

    assert (response.status, response.headers["etag"], response.content) == (200, '"v1"', b"")


def test_query_values_are_percent_encoded_and_arrive_intact(
    server: FakeServer, client: GuardedClient
) -> None:
    server.on("GET", "/search", Reply.text("ok"))
    value = 'He said "hi" & left #early\nline2 ünï/?=%'

    client.request("GET", server.url("/search"), params=[("q", value), ("tag", "a&b=c")])

    assert server.requests[0].query == {"q": [value], "tag": ["a&b=c"]}


def test_the_host_header_names_the_host_in_the_url_whatever_the_caller_sends(
    server: FakeServer, client: GuardedClient
) -> None:
    server.on("GET", "/", Reply.text("ok"))

    client.request("GET", server.url("/", host="fake.test"), headers={"Host": "evil.example"})

    assert server.requests[0].headers["host"] == f"fake.test:{server.port}"


def test_redirects_are_followed_up_to_five_hops(server: FakeServer, client: GuardedClient) -> None:
    # Given a chain of 5 redirects, then a page
    for hop in range(5):
        server.on("GET", f"/r{hop}", Reply.redirect(f"/r{hop + 1}"))
    server.on("GET", "/r5", Reply.text("arrived"))
    # When / Then
    response = client.request("GET", server.url("/r0"))
    assert (response.text, response.redirects) == ("arrived", 5)
    assert response.url == server.url("/r5")


def test_a_sixth_redirect_is_refused(server: FakeServer, client: GuardedClient) -> None:
    server.on("GET", "/loop", Reply.redirect("/loop"))

    with pytest.raises(TooManyRedirectsError):
        client.request("GET", server.url("/loop"))
    assert len(server.requests) == 6


def test_a_303_turns_a_post_into_a_get_without_its_body(
    server: FakeServer, client: GuardedClient
) -> None:
    server.on("POST", "/submit", Reply.redirect("/done", status=303))
    server.on("GET", "/done", Reply.text("done"))

    client.request(
        "POST", server.url("/submit"), headers={"Content-Type": "text/plain"}, content=b"x"
    )

    done = server.requests_to("/done")[0]
    assert (done.method, done.body, done.headers.get("content-type")) == ("GET", b"", None)


def test_a_307_repeats_the_method_and_body(server: FakeServer, client: GuardedClient) -> None:
    server.on("PUT", "/old", Reply.redirect("/new", status=307))
    server.on("PUT", "/new", Reply.text("stored"))

    client.request("PUT", server.url("/old"), content=b'{"a": 1}')

    assert server.requests_to("/new")[0].body == b'{"a": 1}'


def test_credentials_are_dropped_on_a_cross_host_redirect_and_kept_on_the_same_host(
    server: FakeServer, client: GuardedClient
) -> None:
    # Given a redirect within the host, then one to another host name
    server.on("GET", "/a", Reply.redirect("/b"))
    server.on("GET", "/b", Reply.redirect(server.url("/c", host="fake.test")))
    server.on("GET", "/c", Reply.text("ok"))
    secret_headers = {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "X-Trace": "t"}
    # When
    client.request("GET", server.url("/a"), headers=secret_headers, sensitive_headers=["X-Api-Key"])
    # Then the same-host hop kept them, the cross-host hop dropped the credentials only
    same_host, other_host = server.requests_to("/b")[0], server.requests_to("/c")[0]
    assert same_host.headers["authorization"] == "Bearer s3cret"
    assert same_host.headers["x-api-key"] == "k3y"
    assert "authorization" not in other_host.headers
    assert "x-api-key" not in other_host.headers
    assert other_host.headers["x-trace"] == "t"


def test_redirects_can_be_left_unfollowed(server: FakeServer, client: GuardedClient) -> None:
    server.on("GET", "/a", Reply.redirect("/b"))

    response = client.request("GET", server.url("/a"), follow_redirects=False)

    assert (response.status, response.headers["location"]) == (302, "/b")


def test_a_server_that_never_answers_times_out(server: FakeServer) -> None:
    # Given a server holding the request, and a 0.5 s total timeout
    server.on("GET", "/slow", Reply(hold=True))
    client = GuardedClient(LOCAL, timeout=0.5)
    started = time.monotonic()
    # When / Then
    with pytest.raises(OutboundTimeoutError) as caught:
        client.request("GET", server.url("/slow"))
    assert caught.value.retryable
    assert time.monotonic() - started < 3


def test_a_body_that_trickles_is_cut_at_the_total_timeout(server: FakeServer) -> None:
    # Given a server sending one byte every 50 ms for 10 s
    server.on("GET", "/drip", Reply(chunks=(b"x",) * 200, pause=0.05))
    client = GuardedClient(LOCAL, timeout=0.5)
    started = time.monotonic()
    # When / Then: the total timeout holds although every single read is quick
    with pytest.raises(OutboundTimeoutError):
        client.request("GET", server.url("/drip"))
    assert time.monotonic() - started < 3


def test_headers_that_trickle_are_cut_at_the_total_timeout(server: FakeServer) -> None:
    # Given a server sending its status line and headers one byte every 50 ms (30 s in all)
    headers = {"X-Padding": "p" * 600}
    server.on("GET", "/tarpit", Reply(headers=headers, pause=0.05, trickle_headers=True))
    client = GuardedClient(LOCAL, timeout=0.5)
    started = time.monotonic()
    # When / Then: the socket is cut at the deadline, although no single read ever waits long
    with pytest.raises(OutboundTimeoutError, match=r"did not answer within 0\.5s"):
        client.request("GET", server.url("/tarpit"))
    assert time.monotonic() - started < 2


def test_a_connect_timeout_is_reported_as_a_retryable_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class BlackHole(ConnectionSpy):
        def __call__(self, address: tuple[str, int], *args: object, **kwargs: object) -> NoReturn:
            raise TimeoutError("timed out")

    BlackHole().install(monkeypatch)
    with pytest.raises(OutboundTimeoutError, match=r"connecting to '93\.184\.216\.34' timed out"):
        GuardedClient().request("GET", "http://93.184.216.34/")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"x" * 2000),  # declared by Content-Length
        Reply(chunks=(b"x" * 600,) * 4),  # streamed, no length
        Reply(body=gzip.compress(b"x" * 100_000), headers={"Content-Encoding": "gzip"}),
    ],
    ids=["content-length", "chunked", "gzip-bomb"],
)
def test_a_response_over_the_size_cap_is_refused(server: FakeServer, reply: Reply) -> None:
    server.on("GET", "/big", reply)
    client = GuardedClient(LOCAL, max_response_bytes=1000)

    with pytest.raises(ResponseTooLargeError, match="larger than 1000 bytes") as caught:
        client.request("GET", server.url("/big"))
    assert not caught.value.retryable


def test_a_refused_connection_names_the_host_but_never_the_path() -> None:
    # Given a closed port, and a URL whose path and query are credentials
    with FakeServer() as gone:
        url = gone.url("/services/T0/B0/secret-path-123?token=abc")
    # When
    with pytest.raises(OutboundConnectionError) as caught:
        GuardedClient(LOCAL).request("GET", url)
    # Then the error is retryable, names the host, and carries no URL (nor chained errors)
    error = caught.value
    assert error.retryable
    assert "127.0.0.1" in str(error) and "refused" in str(error).lower()
    assert "secret-path-123" not in str(error) and "token" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_request_paths_are_redacted_from_debug_logs(
    server: FakeServer, client: GuardedClient, caplog: pytest.LogCaptureFixture
) -> None:
    server.on("GET", "/hooks/secret-path-123", Reply.text("ok"))
    caplog.set_level(logging.DEBUG)

    client.request("GET", server.url("/hooks/secret-path-123"), params={"token": "abc"})

    assert "secret-path-123" not in caplog.text
    assert "token=abc" not in caplog.text
    assert "[path redacted]" in caplog.text


def test_https_keeps_sni_and_certificate_checks_on_the_name(tmp_path: Path) -> None:
    # Given an HTTPS server whose certificate is for fake.test, reached at its pinned address
    pki = make_pki(tmp_path, ["fake.test"])
    with FakeServer(tls=pki.server_context) as server:
        server.on("GET", "/secure", Reply.text("secret"))
        client = GuardedClient(LOCAL, resolver=to_loopback, verify=str(pki.ca_file))
        # When
        response = client.request("GET", server.url("/secure", host="fake.test"))
        # Then the name was sent as SNI and Host, and the certificate checked against it
        assert response.text == "secret"
        assert server.sni_names == ["fake.test"]
        assert server.requests[0].headers["host"] == f"fake.test:{server.port}"


def test_https_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, ["other.test"])
    with FakeServer(tls=pki.server_context) as server:
        client = GuardedClient(LOCAL, resolver=to_loopback, verify=str(pki.ca_file))
        with pytest.raises(TLSError) as caught:
            client.request("GET", server.url("/", host="fake.test"))
    assert not caught.value.retryable
