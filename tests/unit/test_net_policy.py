"""The address policy: what counts as public, and what the allow-list can and cannot open."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from app import config
from app.net import BlockedDestinationError, OutboundPolicy
from app.net.policy import embedded_ipv4, non_public_reason

NON_PUBLIC = [
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba metadata, inside CGNAT
    "192.0.0.192",  # Oracle metadata
    "198.18.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001::1",  # Teredo
    "fe80::1",
    "fec0::1",  # site-local: Python 3.11 calls it global
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "2001:db8::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    # Given the default policy (no allow-list)
    policy = OutboundPolicy()
    # When / Then
    assert non_public_reason(ipaddress.ip_address(address)) is not None
    with pytest.raises(BlockedDestinationError, match="refused"):
        policy.check("example.com", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    OutboundPolicy().check("example.com", ipaddress.ip_address(address))


def test_embedded_ipv4_is_found_in_every_ipv6_wrapping() -> None:
    loopback = ipaddress.IPv4Address("127.0.0.1")
    for wrapped in ("::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::"):
        assert embedded_ipv4(ipaddress.IPv6Address(wrapped)) == loopback
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


def test_allow_list_opens_networks_and_host_names_only() -> None:
    # Given an allow-list of one network and one host name
    policy = OutboundPolicy.parse("10.0.0.0/8, vault.internal.")
    # When / Then: the network and the name are open, in any spelling of them
    policy.check("anything.example", ipaddress.ip_address("10.9.8.7"))
    policy.check("anything.example", ipaddress.ip_address("::ffff:10.9.8.7"))
    policy.check("Vault.Internal", ipaddress.ip_address("192.168.5.5"))
    # and nothing else is
    with pytest.raises(BlockedDestinationError):
        policy.check("anything.example", ipaddress.ip_address("192.168.5.5"))
    with pytest.raises(BlockedDestinationError):
        policy.check("anything.example", ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("entry", ["0.0.0.0/0", "169.254.0.0/16", "::/0", "metadata.internal"])
def test_no_allow_list_entry_opens_cloud_metadata(entry: str) -> None:
    # Given an allow-list that covers the metadata addresses
    policy = OutboundPolicy.parse([entry])
    # When / Then
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:a9fe:a9fe"):
        with pytest.raises(BlockedDestinationError, match="metadata"):
            policy.check("metadata.internal", ipaddress.ip_address(address))


def test_loopback_names_are_refused_before_any_lookup() -> None:
    policy = OutboundPolicy()
    for name in ("localhost", "LOCALHOST.", "api.localhost"):
        with pytest.raises(BlockedDestinationError, match="loopback name"):
            policy.check_name(name)
    policy.check_name("localhost.example.com")
    OutboundPolicy.parse(["localhost"]).check_name("localhost")


@pytest.mark.parametrize("entry", ["127.1", "not a host", "under_score.example", "-x.example"])
def test_a_malformed_allow_list_entry_is_an_error_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        OutboundPolicy.parse([entry])


def test_the_allow_list_setting_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the operator's allow-list in the environment
    monkeypatch.setenv("STEPLINE_OUTBOUND_ALLOWLIST", " 10.0.0.0/8, vault.internal ,")
    # When settings load
    settings = config.load(str(tmp_path))
    # Then the entries are the ones the client's policy is built from
    assert settings.outbound_allowlist == ("10.0.0.0/8", "vault.internal")
    monkeypatch.delenv("STEPLINE_OUTBOUND_ALLOWLIST")
    assert config.load(str(tmp_path)).outbound_allowlist == ()


def test_a_malformed_allow_list_setting_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_OUTBOUND_ALLOWLIST", "10.0.0.0/8,not a host")
    with pytest.raises(RuntimeError, match=r"STEPLINE_OUTBOUND_ALLOWLIST.*'not a host'"):
        config.load(str(tmp_path))


def test_the_other_outbound_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_OUTBOUND_TIMEOUT_SECONDS", "12")
    monkeypatch.setenv("STEPLINE_OUTBOUND_MAX_RESPONSE_BYTES", "2048")
    monkeypatch.setenv("STEPLINE_OUTBOUND_CA_BUNDLE", "/etc/ssl/internal-ca.pem")
    monkeypatch.setenv("STEPLINE_SLACK_API_BASE_URL", "http://slack.internal/api")

    settings = config.load(str(tmp_path))

    assert settings.outbound_timeout_seconds == 12.0
    assert settings.outbound_max_response_bytes == 2048
    assert settings.outbound_ca_bundle == "/etc/ssl/internal-ca.pem"
    assert settings.slack_api_base_url == "http://slack.internal/api"
