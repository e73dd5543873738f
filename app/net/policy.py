"""Which addresses outbound requests may reach: public ones, plus an explicit allow-list.

Addresses are judged after resolution, as `ipaddress` objects, so every spelling of a host
(decimal, hex or octal IPv4, IPv4-mapped or NAT64 IPv6, `localhost`, a name whose DNS answer
is private) meets the same check. Python's own `is_global` is not trusted alone: on 3.11 it
calls site-local `fec0::/10` and IPv4-compatible `::a.b.c.d` global, so the check combines the
flags with an explicit list of special-purpose ranges.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.net.errors import BlockedDestinationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Special-purpose ranges (IANA registries) that the `ipaddress` flags miss on some versions.
SPECIAL_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches local listeners on Linux
        "100.64.0.0/10",  # CGNAT shared space: routes to internal workloads
        "192.0.0.0/24",  # IETF protocol assignments (Oracle Cloud metadata lives here)
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # IPv4-compatible IPv6 (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo among them
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing SIDs
        "fc00::/7",  # unique local
        "fec0::/10",  # site-local (deprecated, still routed by some stacks)
    )
)
HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")

# Cloud metadata endpoints: refused even when the allow-list covers them.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, Oracle, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_NETWORK or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = non_public_reason(inner)
        return f"{reason} (embedded in {address})" if reason else None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (any(address in network for network in SPECIAL_NETWORKS), "a special-purpose address"),
        (not address.is_global, "not a global address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


def normalize_host(host: str) -> str:
    """Lower-case, without brackets or a trailing dot: the form allow-list entries match."""
    return host.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class OutboundPolicy:
    """Public destinations, plus the operator's allow-list of networks and host names.

    The allow-list lets self-hosters (and tests) reach chosen private services; it never
    switches the guard off, and cloud metadata addresses stay refused whatever it says.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str] | str | None) -> OutboundPolicy:
        """Build a policy from entries: CIDRs or addresses (`10.0.0.0/8`, `::1`) or host names.

        A comma-separated string is accepted too. A malformed entry raises ValueError."""
        if entries is None:
            entries = ()
        elif isinstance(entries, str):
            entries = entries.split(",")
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = normalize_host(entry)
            # A last label of digits is a numeric IPv4 spelling (`127.1`), never a name.
            if not HOST_NAME.fullmatch(name) or name.rsplit(".", 1)[-1].isdigit():
                raise ValueError(f"outbound allow-list entry {entry!r} is not a CIDR or host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_network(self, address: IPAddress) -> bool:
        """True when an allow-listed network contains the address (or the IPv4 it embeds)."""
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(c in network for c in candidates for network in self.networks)

    def check_name(self, host: str) -> None:
        """Refuse `localhost` and `*.localhost` (RFC 6761) before any lookup is made."""
        name = normalize_host(host)
        if name in self.hosts:
            return
        if name == "localhost" or name.endswith(".localhost"):
            raise BlockedDestinationError(f"destination {host!r} refused: a loopback name")

    def check(self, host: str, address: IPAddress) -> None:
        """Raise BlockedDestinationError unless `host`, resolved to `address`, may be reached."""
        inner = embedded_ipv4(address)
        if address in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
            raise BlockedDestinationError(
                f"destination {host!r} refused: {address} is a cloud metadata address"
            )
        if normalize_host(host) in self.hosts or self.allows_network(address):
            return
        reason = non_public_reason(address)
        if reason is not None:
            raise BlockedDestinationError(f"destination {host!r} refused: {address} is {reason}")
