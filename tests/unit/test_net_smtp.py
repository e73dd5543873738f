"""The guarded SMTP client against a real (aiosmtpd) server on 127.0.0.1: STARTTLS, TLS and
plain sessions, the address guard, login and reply errors, and the dry run."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.net import dry
from app.net.errors import (
    BlockedDestinationError,
    InvalidURLError,
    OutboundTimeoutError,
    TLSError,
)
from app.net.policy import OutboundPolicy
from app.net.smtp import SMTPClient, SMTPLoginError, SMTPReplyError, SMTPServer
from tests.fakes.smtp import FakeSMTP, Security
from tests.fakes.tls import TestPKI, make_pki

LOCAL = OutboundPolicy.parse(["127.0.0.1/32"])
USER, PASSWORD = "robot", "s3cret-smtp-pass"


def to_loopback(_host: str, _port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """A resolver that answers 127.0.0.1 for every name (fake-smtp.test among them)."""
    return [ipaddress.ip_address("127.0.0.1")]


@pytest.fixture
def pki(tmp_path: Path) -> TestPKI:
    return make_pki(tmp_path, ["fake-smtp.test"], ips=("127.0.0.1",))


def client(pki: TestPKI, policy: OutboundPolicy = LOCAL) -> SMTPClient:
    return SMTPClient(policy, resolver=to_loopback, ca_bundle=str(pki.ca_file), timeout=10)


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Robot <robot@example.com>"
    mail["To"] = "Ann <ann@example.org>"
    mail["Cc"] = "ops@example.org"
    mail["Bcc"] = "audit@example.org"
    mail["Subject"] = "Order 42"
    mail.set_content("Hello Ann")
    return mail


@pytest.fixture(params=["starttls", "tls", "none"])
def server(request: pytest.FixtureRequest, pki: TestPKI) -> Iterator[FakeSMTP]:
    security: Security = request.param
    with FakeSMTP(security=security, pki=pki, username=USER, password=PASSWORD) as fake:
        yield fake


def test_a_message_goes_to_every_recipient_and_bcc_is_not_transmitted(
    server: FakeSMTP, pki: TestPKI
) -> None:
    result = client(pki).send(SMTPServer.from_fields(server.fields()), message())

    assert result == {
        "accepted": ["ann@example.org", "ops@example.org", "audit@example.org"],
        "refused": {},
    }
    (received,) = server.mailbox
    assert received["Subject"] == "Order 42" and received["To"] == "Ann <ann@example.org>"
    assert received["Bcc"] is None
    (envelope,) = server.envelopes
    assert envelope["rcpt_tos"] == ["ann@example.org", "ops@example.org", "audit@example.org"]
    assert envelope["login"] == USER
    assert envelope["tls"] is (server.security != "none")


def test_check_login_logs_in_and_sends_nothing(server: FakeSMTP, pki: TestPKI) -> None:
    text = client(pki).check_login(SMTPServer.from_fields(server.fields()))

    assert text == f"Connected to 127.0.0.1:{server.port} ({server.security}) as {USER}."
    assert server.logins == [(USER, True)] and server.mailbox == []


def test_a_wrong_password_is_a_permanent_error_without_the_password(
    pki: TestPKI,
) -> None:
    with FakeSMTP(security="starttls", pki=pki, username=USER, password=PASSWORD) as fake:
        fields = fake.fields(password="wrong-password-123")
        with pytest.raises(SMTPLoginError) as caught:
            client(pki).check_login(SMTPServer.from_fields(fields))
    assert not caught.value.retryable
    assert "refused the login: 535" in str(caught.value)
    assert "wrong-password-123" not in str(caught.value)


def test_a_name_resolving_to_loopback_is_refused_without_the_allow_list(
    pki: TestPKI,
) -> None:
    with FakeSMTP(pki=pki) as fake:
        fields = fake.fields(host="fake-smtp.test")
        with pytest.raises(BlockedDestinationError, match="loopback"):
            client(pki, OutboundPolicy()).send(SMTPServer.from_fields(fields), message())
        with pytest.raises(BlockedDestinationError, match="loopback name"):
            client(pki, OutboundPolicy()).check_login(
                SMTPServer.from_fields(fake.fields(host="localhost"))
            )
    assert fake.mailbox == [] and fake.logins == []


def test_metadata_addresses_stay_refused_whatever_the_allow_list(pki: TestPKI) -> None:
    wide = OutboundPolicy.parse(["0.0.0.0/0"])
    with pytest.raises(BlockedDestinationError, match="metadata"):
        SMTPClient(wide).check_login(SMTPServer("169.254.169.254", 25, "none"))


def test_a_certificate_for_another_name_fails_tls(tmp_path: Path) -> None:
    other = make_pki(tmp_path, ["other.test"])
    with FakeSMTP(security="tls", pki=other) as fake:
        fields = fake.fields(host="fake-smtp.test")
        with pytest.raises(TLSError) as caught:
            client(other).send(SMTPServer.from_fields(fields), message())
    assert not caught.value.retryable


def test_starttls_asked_of_a_server_without_it_is_a_config_error(pki: TestPKI) -> None:
    with FakeSMTP(security="none") as fake:
        fields = fake.fields(security="starttls")
        with pytest.raises(InvalidURLError, match="does not offer STARTTLS"):
            client(pki).send(SMTPServer.from_fields(fields), message())
    assert fake.mailbox == []


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.7.1 Try again later", True), ("550 5.1.1 No such user here", False)],
)
def test_a_refused_recipient_is_retryable_only_when_temporary(
    pki: TestPKI, reply: str, retryable: bool
) -> None:
    with FakeSMTP() as fake:
        mail = message()
        del mail["Cc"], mail["Bcc"]
        fake.fail_next(reply)
        with pytest.raises(SMTPReplyError) as caught:
            client(pki).send(SMTPServer.from_fields(fake.fields()), mail)
    assert caught.value.retryable is retryable
    assert reply in str(caught.value)


def test_a_refused_message_names_the_reply(pki: TestPKI) -> None:
    with FakeSMTP() as fake:
        fake.fail_next_data("554 5.6.0 Message rejected as spam")
        with pytest.raises(SMTPReplyError, match=r"554 5\.6\.0 Message rejected") as caught:
            client(pki).send(SMTPServer.from_fields(fake.fields()), message())
    assert not caught.value.retryable


def test_one_refused_recipient_among_several_is_reported_not_raised(pki: TestPKI) -> None:
    with FakeSMTP() as fake:
        fake.fail_next("550 5.1.1 No such user here")
        result = client(pki).send(SMTPServer.from_fields(fake.fields()), message())
    assert result["accepted"] == ["ops@example.org", "audit@example.org"]
    assert result["refused"] == {"ann@example.org": "550 5.1.1 No such user here"}


def test_a_server_that_is_not_there_is_retryable(pki: TestPKI) -> None:
    with FakeSMTP() as fake:
        port = fake.port
    with pytest.raises(Exception) as caught:
        client(pki).send(SMTPServer("127.0.0.1", port, "none"), message())
    assert getattr(caught.value, "retryable", None) is True


def test_a_dry_run_records_the_message_and_connects_nowhere(pki: TestPKI) -> None:
    with FakeSMTP() as fake:
        with dry.recording(), pytest.raises(dry.RequestNotSent) as caught:
            client(pki).send(SMTPServer.from_fields(fake.fields()), message())
        assert fake.mailbox == [] and fake.logins == []
    request = caught.value.request
    assert (request.method, request.url) == ("SMTP", f"smtp://127.0.0.1:{fake.port}")
    assert request.headers["Subject"] == "Order 42"
    assert request.body is not None and b"Hello Ann" in request.body


def test_a_dry_run_still_refuses_a_loopback_name() -> None:
    with dry.recording(), pytest.raises(BlockedDestinationError):
        SMTPClient().send(SMTPServer("localhost", 25, "none"), message())


def test_a_server_that_never_greets_times_out_within_the_total_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(OutboundTimeoutError) as caught:
            SMTPClient(LOCAL, timeout=0.5).send(SMTPServer("127.0.0.1", port, "none"), message())
        assert time.monotonic() - started < 3
    assert caught.value.retryable
