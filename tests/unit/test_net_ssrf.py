"""SSRF: every spelling of a non-public destination is refused before any connection."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from app.net import (
    BlockedDestinationError,
    GuardedClient,
    OutboundConnectionError,
    OutboundPolicy,
    guard_session,
)
from tests.fakes.http import FakeServer, Reply
from tests.fakes.listener import ConnectionSpy, CountingListener

# Hosts that reach a listener on 127.0.0.1 / ::1 when nothing stands in the way.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0x0.0x0.0x1",
    "0177.0.0.1",  # octal
    "017700000001",
    "127.000.000.001",
    "0.0.0.0",
    "0",
    "localhost",
    "LOCALHOST",
    "api.localhost",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[64:ff9b::127.0.0.1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4
    "public.example@127.0.0.1",  # user-info confusion
]
# Non-public destinations that are not local: refused without a socket being opened.
OTHER_NON_PUBLIC = [
    "169.254.169.254",  # AWS, GCP, Azure metadata
    "[fd00:ec2::254]",  # AWS metadata over IPv6
    "100.100.100.200",  # Alibaba metadata
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",
    "100.64.0.1",  # CGNAT
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "[fe80::1]",
    "[fc00::1]",
    "[fec0::1]",
    "224.0.0.1",
    "255.255.255.255",
]


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    with CountingListener() as listener:
        yield listener


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ConnectionSpy:
    return ConnectionSpy().install(monkeypatch)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "2130706433", "::1", "::ffff:127.0.0.1"])
def test_the_listener_sees_an_unguarded_connection(listener: CountingListener, host: str) -> None:
    """Control: the spellings below really do reach the listener when nothing guards them."""
    with socket.create_connection((host, listener.port), timeout=5):
        pass
    assert listener.connections() == 1


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_refused_and_nothing_connects(
    listener: CountingListener, spy: ConnectionSpy, host: str
) -> None:
    # Given the default guard, and a listener on the loopback port in the URL
    client = GuardedClient()
    # When a request names the loopback in this spelling
    with pytest.raises(BlockedDestinationError, match="refused"):
        client.request("GET", f"http://{host}:{listener.port}/admin")
    # Then no socket was opened and the listener received no connection
    assert spy.attempts == []
    assert listener.connections() == 0


@pytest.mark.parametrize("host", OTHER_NON_PUBLIC)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_other_non_public_addresses_are_refused_before_connecting(
    spy: ConnectionSpy, host: str, scheme: str
) -> None:
    with pytest.raises(BlockedDestinationError, match="refused"):
        GuardedClient().request("GET", f"{scheme}://{host}/latest/meta-data/")
    assert spy.attempts == []


def test_a_name_resolving_to_a_private_address_is_refused(spy: ConnectionSpy) -> None:
    # Given a DNS name whose answer is private
    client = GuardedClient(resolver=lambda _host, _port: [ipaddress.ip_address("10.1.2.3")])
    # When / Then
    with pytest.raises(BlockedDestinationError, match=r"10\.1\.2\.3 is a private address"):
        client.request("GET", "http://intranet.example/")
    assert spy.attempts == []


def test_an_answer_mixing_public_and_loopback_is_refused_whole(
    monkeypatch: pytest.MonkeyPatch, listener: CountingListener, spy: ConnectionSpy
) -> None:
    # Given a name whose single DNS answer holds a public and a loopback address
    real = socket.getaddrinfo

    def mixed(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example":
            return real("93.184.216.34", port, *args, **kwargs) + real(
                "127.0.0.1", port, *args, **kwargs
            )
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    # When / Then
    with pytest.raises(BlockedDestinationError, match="loopback"):
        GuardedClient().request("GET", f"http://mixed.example:{listener.port}/")
    assert spy.attempts == []
    assert listener.connections() == 0


def test_a_rebinding_name_cannot_move_the_connection_to_loopback(
    monkeypatch: pytest.MonkeyPatch, listener: CountingListener, spy: ConnectionSpy
) -> None:
    # Given a resolver that answers a public address first and loopback afterwards
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            lookups.append(host)
            address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    # When a request is made to that name (the public address is unreachable in tests)
    with pytest.raises(OutboundConnectionError):
        GuardedClient().request("GET", f"http://rebind.example:{listener.port}/")
    # Then the name was resolved once, the socket went to the checked address, never loopback
    assert lookups == ["rebind.example"]
    assert spy.attempts == [("93.184.216.34", listener.port)]
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://2852039166/",  # 169.254.169.254 in decimal
    ],
)
def test_a_redirect_to_a_metadata_address_is_refused(spy: ConnectionSpy, target: str) -> None:
    # Given an allow-listed server that redirects to the metadata service
    with FakeServer() as server:
        server.on("GET", "/go", Reply.redirect(target))
        client = GuardedClient(OutboundPolicy.parse(["127.0.0.1/32"]))
        # When / Then
        with pytest.raises(BlockedDestinationError, match="refused"):
            client.request("GET", server.url("/go"))
    assert [host for host, _ in spy.attempts] == ["127.0.0.1"]


def test_a_redirect_from_an_allowed_name_to_loopback_is_refused(
    listener: CountingListener,
) -> None:
    # Given a server reachable only through its allow-listed name, redirecting to loopback
    with FakeServer() as server:
        server.on("GET", "/go", Reply.redirect(f"http://127.0.0.1:{listener.port}/"))
        client = GuardedClient(
            OutboundPolicy.parse(["fake.test"]),
            resolver=lambda _host, _port: [ipaddress.ip_address("127.0.0.1")],
        )
        # When / Then
        with pytest.raises(BlockedDestinationError, match="loopback"):
            client.request("GET", server.url("/go", host="fake.test"))
        assert len(server.requests) == 1
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1:70/", "dict://x/"]
)
def test_only_http_and_https_are_allowed(spy: ConnectionSpy, url: str) -> None:
    with pytest.raises(BlockedDestinationError, match="only http and https"):
        GuardedClient().request("GET", url)
    assert spy.attempts == []


def test_a_redirect_to_another_scheme_is_refused(spy: ConnectionSpy) -> None:
    with FakeServer() as server:
        server.on("GET", "/go", Reply.redirect("file:///etc/passwd"))
        with pytest.raises(BlockedDestinationError, match="only http and https"):
            GuardedClient(OutboundPolicy.parse(["127.0.0.1"])).request("GET", server.url("/go"))


def test_a_library_session_under_the_guard_refuses_loopback_and_its_redirects(
    listener: CountingListener,
) -> None:
    # Given a plain requests.Session (as Authlib uses) put under the guard
    with FakeServer() as server, requests.Session() as session:
        guard_session(session, OutboundPolicy.parse(["127.0.0.1/32"]))
        server.on("GET", "/token", Reply.redirect(f"http://[::1]:{listener.port}/"))
        # When it follows a redirect to loopback, or names loopback directly
        with pytest.raises(BlockedDestinationError):
            session.get(server.url("/token"), timeout=5)
        with pytest.raises(BlockedDestinationError):
            session.get(f"http://localhost:{listener.port}/", timeout=5)
        # Then the allow-listed server was reached, and the listener never was
        assert len(server.requests) == 1
    assert listener.connections() == 0
