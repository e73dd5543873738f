"""A fake SMTP server (aiosmtpd) on a free port of 127.0.0.1: it keeps every message it accepts.

    with FakeSMTP(security="starttls", pki=pki) as smtp:
        ... send through smtp.fields() (an `smtp` credential's fields) ...
        (message,) = smtp.mailbox
        assert message["Subject"] == "Hello"

`security` is how the server expects to be met: "starttls" (STARTTLS required before AUTH and
mail), "tls" (implicit TLS) or "none". With `username`/`password` set, AUTH PLAIN/LOGIN checks
them (and is required under STARTTLS). `fail_next(reply)` answers the next RCPT with that
reply (a temporary 451, a permanent 550); `fail_next_data` does the same for DATA.
"""

from __future__ import annotations

import email
import threading
from email.message import EmailMessage
from email.policy import default
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.tls import TestPKI

Security = Literal["starttls", "tls", "none"]


class _Handler:
    def __init__(self, fake: FakeSMTP) -> None:
        self.fake = fake

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.fake.lock:
            if self.fake.rcpt_failures:
                return self.fake.rcpt_failures.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.fake.lock:
            if self.fake.data_failures:
                return self.fake.data_failures.pop(0)
            content = envelope.original_content or b""
            message = email.message_from_bytes(content, policy=default)
            assert isinstance(message, EmailMessage)
            self.fake.mailbox.append(message)
            self.fake.envelopes.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "login": session.auth_data,
                    # An implicit-TLS listener takes nothing else (aiosmtpd sets `ssl` only
                    # after STARTTLS).
                    "tls": session.ssl is not None or self.fake.security == "tls",
                }
            )
            self.fake.delivered.set()
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """aiosmtpd's Controller, bound to a port the system picks (port 0)."""

    def _trigger_server(self) -> None:
        server: Any = self.server  # an asyncio.Server: it has the bound sockets
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSMTP:
    """An SMTP server for the tests; `mailbox` holds the accepted messages, oldest first."""

    def __init__(
        self,
        *,
        security: Security = "none",
        pki: TestPKI | None = None,
        username: str | None = None,
        password: str | None = None,
        host_name: str = "127.0.0.1",
    ) -> None:
        if security != "none" and pki is None:
            raise ValueError("a TLS fake needs a TestPKI")
        self.security = security
        self.pki = pki
        self.username = username
        self.password = password
        self.host_name = host_name
        self.mailbox: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.logins: list[tuple[str, bool]] = []  # (user name, accepted)
        self.rcpt_failures: list[str] = []
        self.data_failures: list[str] = []
        self.delivered = threading.Event()
        self.lock = threading.Lock()
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": 0,
            "server_hostname": "fake-smtp.test",
            "ready_timeout": 10.0,
        }
        if username is not None:
            kwargs.update(
                authenticator=self._authenticate,
                # aiosmtpd only counts STARTTLS as TLS here (not implicit TLS), and warns when
                # AUTH is required without it: elsewhere AUTH is offered, not required.
                auth_required=security == "starttls",
                auth_require_tls=security == "starttls",
            )
        if security == "starttls":
            assert pki is not None
            kwargs.update(tls_context=pki.server_context, require_starttls=True)
        elif security == "tls":
            assert pki is not None
            kwargs.update(ssl_context=pki.server_context)
        self.controller = _FreePortController(_Handler(self), **kwargs)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def fields(self, **overrides: Any) -> dict[str, Any]:
        """The fields of an `smtp` credential that reaches this server."""
        return {
            "host": self.host_name,
            "port": self.port,
            "security": self.security,
            "username": self.username,
            "password": self.password,
            "from_address": "Stepline <robot@example.com>",
            **overrides,
        }

    def reset(self) -> None:
        """Forget what earlier tests sent."""
        with self.lock:
            self.mailbox.clear()
            self.envelopes.clear()
            self.logins.clear()
            self.rcpt_failures.clear()
            self.data_failures.clear()
            self.delivered.clear()

    def fail_next(self, reply: str) -> None:
        """Answer the next RCPT TO with `reply` ("451 4.7.1 Try again later")."""
        with self.lock:
            self.rcpt_failures.append(reply)

    def fail_next_data(self, reply: str) -> None:
        """Answer the next DATA with `reply`."""
        with self.lock:
            self.data_failures.append(reply)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = login == self.username and auth_data.password.decode() == self.password
        self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def __enter__(self) -> FakeSMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
