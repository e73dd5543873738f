"""Guarded TCP connections for protocols other than HTTP (IMAP; mail servers in general).

The same address rules as the guarded HTTP client: the host is resolved once, every address of
the answer is checked against the policy (the allow-list opens chosen private destinations,
cloud metadata stays refused), and the socket connects to the checked address, so a DNS answer
that changes afterwards cannot move it. TLS verifies the certificate against the host's name
(and `STEPLINE_OUTBOUND_CA_BUNDLE` when set).
"""

from __future__ import annotations

import socket
import ssl

from app.net.adapter import Resolver, system_resolver
from app.net.client import OutboundSettings
from app.net.errors import OutboundConnectionError, OutboundTimeoutError
from app.net.policy import OutboundPolicy


def guarded_connect(
    host: str,
    port: int,
    settings: OutboundSettings,
    *,
    timeout: float | None = None,
    resolver: Resolver = system_resolver,
) -> socket.socket:
    """A TCP socket to `host`:`port` through the address guard (BlockedDestinationError when
    refused, OutboundConnectionError/OutboundTimeoutError when the connection fails)."""
    policy = OutboundPolicy.parse(settings.outbound_allowlist)
    limit = timeout or settings.outbound_connect_timeout_seconds
    return connect_checked(policy, host, port, limit, resolver)


def connect_checked(
    policy: OutboundPolicy,
    host: str,
    port: int,
    timeout: float,
    resolver: Resolver = system_resolver,
) -> socket.socket:
    """`guarded_connect` with a policy of the caller's (the SMTP client's, say)."""
    policy.check_name(host)
    addresses = resolver(host, port)
    if not addresses:
        raise OutboundConnectionError(f"host {host!r} has no address")
    for address in addresses:
        policy.check(host, address)
    try:
        return socket.create_connection((str(addresses[0]), port), timeout=timeout)
    except TimeoutError:
        raise OutboundTimeoutError(f"{host!r} did not answer within {timeout:g}s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutboundConnectionError(f"could not connect to {host!r}: {reason}") from None


def tls_context(settings: OutboundSettings) -> ssl.SSLContext:
    """A verifying TLS client context (the operator's CA bundle when set)."""
    return ssl.create_default_context(cafile=settings.outbound_ca_bundle or None)
