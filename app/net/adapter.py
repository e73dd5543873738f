"""A requests transport adapter that connects only to the address it has checked.

The adapter resolves the URL's host once, checks every address of the answer against the
policy, and hands urllib3 the checked IP literal as the host to connect to; the name stays
in the `Host` header and, for HTTPS, in SNI and certificate verification. Nothing resolves the
name a second time, so a DNS answer that changes between check and connect (DNS rebinding)
cannot move the connection. The same technique as `requests-hardened`'s IPFilterAdapter; see
app/net/__init__.py for why that library is not used directly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import requests
from requests import PreparedRequest
from requests.adapters import HTTPAdapter

from app.net.deadline import WATCHED_POOL_CLASSES
from app.net.errors import BlockedDestinationError, InvalidURLError, OutboundConnectionError
from app.net.policy import IPAddress, OutboundPolicy

if TYPE_CHECKING:  # typeshed's names for what the method returns
    from requests.adapters import _HostParams, _PoolKwargs

Resolver = Callable[[str, int], Sequence[IPAddress]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve `host` with the system resolver (getaddrinfo), keeping the answer's order."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundConnectionError(f"could not resolve host {host!r}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Drop an IPv6 zone ("fe80::1%eth0"): the policy judges the address itself.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class PinnedAdapter(HTTPAdapter):
    """Send each request to a resolved, policy-checked IP address; never retry, never proxy."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = system_resolver) -> None:
        super().__init__(max_retries=0)
        self.policy = policy
        self.resolver = resolver

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Use connection pools whose sockets the current Deadline can cut."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOL_CLASSES

    def pin(self, host: str, port: int) -> IPAddress:
        """Resolve `host` and return the address to connect to, or refuse the destination.

        Every address of the answer must pass: an answer mixing public and private addresses
        is refused whole, so the choice of address cannot be steered."""
        self.policy.check_name(host)
        addresses = self.resolver(host, port)
        if not addresses:
            raise OutboundConnectionError(f"host {host!r} has no address")
        for address in addresses:
            self.policy.check(host, address)
        return addresses[0]

    def build_connection_pool_key_attributes(
        self,
        request: PreparedRequest,
        verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[_HostParams, _PoolKwargs]:
        """Point the connection pool at the checked address; keep the name for Host and TLS."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        scheme = str(host_params["scheme"])
        hostname = host_params["host"]
        if scheme not in ALLOWED_SCHEMES:
            raise BlockedDestinationError(f"scheme {scheme!r} refused: only http and https")
        if not hostname:
            raise InvalidURLError("the URL has no host")
        explicit_port: int | None = host_params["port"]
        address = self.pin(hostname, explicit_port or DEFAULT_PORTS[scheme])

        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if explicit_port is not None:
            host_header += f":{explicit_port}"
        # The caller's own Host header (if any) is replaced: it must name what was checked.
        request.headers["Host"] = host_header
        if scheme == "https":
            # SNI and certificate checks use the name; urllib3 takes it as a pool kwarg.
            cast(dict[str, Any], pool_kwargs)["server_hostname"] = hostname
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        return host_params, pool_kwargs

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        """The pre-2.32 entry point would skip the check; refuse it."""
        raise NotImplementedError("PinnedAdapter supports get_connection_with_tls_context only")


def guard_session(
    session: requests.Session, policy: OutboundPolicy, resolver: Resolver = system_resolver
) -> requests.Session:
    """Route a library's own requests.Session (Authlib's OAuth client, say) through the guard.

    Every hop, redirects included, then goes through PinnedAdapter's address check; the
    environment's proxies and .netrc are ignored and at most 5 redirects are followed.
    Timeouts and the size cap stay the caller's business: prefer GuardedClient where the
    call is ours."""
    session.trust_env = False
    session.max_redirects = 5
    adapter = PinnedAdapter(policy, resolver)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
