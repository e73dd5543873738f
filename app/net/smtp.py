"""SMTP through the same address guard as the HTTP client: the send_email action and the
SMTP credential's "Test connection".

`smtplib` connects through `_get_socket`; ours connects with app.net.sockets (as the IMAP
trigger does): the host is resolved once, every address of the answer checked against the
`OutboundPolicy` (loopback, private, link-local and metadata addresses refused unless the
allow-list opens them, as for HTTP), and the socket connects to the checked address, so a DNS
answer that changes between check and connect cannot move the connection. The name stays
the one TLS verifies (implicit TLS, or STARTTLS), against `STEPLINE_OUTBOUND_CA_BUNDLE` when set.
The whole exchange runs under the outbound timeout: a timer shuts the socket down when it
passes, so a server that answers a byte at a time cannot hold a worker.

Errors are `OutboundError`s naming the host and the server's reply, never the password:
4xx replies and broken connections are retryable, 5xx replies and refused logins are not.
In a dry run (app/net/dry.py) `send` raises `RequestNotSent` with the message instead of
connecting: a dry run never reaches the server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any, Literal

from app.net import dry, errors
from app.net.adapter import Resolver, system_resolver
from app.net.client import OutboundSettings
from app.net.deadline import bounded
from app.net.policy import OutboundPolicy
from app.net.sockets import connect_checked

Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
MAX_REPLY_CHARS = 300


class SMTPReplyError(errors.OutboundError):
    """The server answered with an error code: 4xx (try later) is retryable, 5xx is not."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = code is not None and 400 <= code < 500


class SMTPLoginError(SMTPReplyError):
    """The server refused the user name and password (never retried)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message, code)
        self.retryable = False


@dataclass(frozen=True)
class SMTPServer:
    """Where and how to connect: an SMTP credential's fields."""

    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> SMTPServer:
        """From an `smtp` credential's fields (host, port, security, username, password)."""
        security = str(fields.get("security") or "starttls")
        if security not in SECURITIES:
            raise errors.InvalidURLError(f"unknown SMTP security {security!r}")
        host = str(fields.get("host") or "").strip()
        if not host:
            raise errors.InvalidURLError("the SMTP credential has no host")
        port = int(fields.get("port") or DEFAULT_PORTS[security])
        return cls(
            host=host,
            port=port,
            security=security,  # checked against SECURITIES above
            username=str(fields["username"]) if fields.get("username") else None,
            password=str(fields["password"]) if fields.get("password") else None,
        )

    @property
    def url(self) -> str:
        """`smtp://host:port` (`smtps://` for implicit TLS): how a dry run names it."""
        scheme = "smtps" if self.security == "tls" else "smtp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


class _Guarded:
    """The part of smtplib.SMTP that opens the socket: resolve, check, connect to the address."""

    policy: OutboundPolicy
    resolver: Resolver
    on_socket: Any

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_checked(self.policy, host, port, timeout, self.resolver)
        self.on_socket(sock)
        return sock


class _GuardedSMTP(_Guarded, smtplib.SMTP):
    pass


class _GuardedSMTPSSL(_Guarded, smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # SMTP_SSL wraps the plain socket: verify the certificate against the name, not the IP.
        plain = _Guarded._get_socket(self, host, port, timeout)
        wrapped = self.context.wrap_socket(plain, server_hostname=host)
        self.on_socket(wrapped)
        return wrapped


class _Watch:
    """Shuts the session's current socket down when the total timeout passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        self.sock = sock

    def _cut(self) -> None:
        self.fired = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watch:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


class SMTPClient:
    """Sends messages and checks logins through the address guard, one session per call."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        resolver: Resolver = system_resolver,
        connect_timeout: float = 5.0,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.ca_bundle = ca_bundle

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> SMTPClient:
        """A client with the outbound allow-list, timeouts and CA bundle of the settings."""
        return cls(
            OutboundPolicy.parse(settings.outbound_allowlist),
            connect_timeout=settings.outbound_connect_timeout_seconds,
            timeout=settings.outbound_timeout_seconds,
            ca_bundle=settings.outbound_ca_bundle,
        )

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)

    def check_login(self, server: SMTPServer) -> str:
        """Connect, secure and log in (when a user name is set), then quit: no message sent."""
        with self._session(server):
            pass
        who = f" as {server.username}" if server.username else " (no login)"
        return f"Connected to {server.host}:{server.port} ({server.security}){who}."

    def send(self, server: SMTPServer, message: EmailMessage) -> dict[str, Any]:
        """Send `message` to its To, Cc and Bcc addresses (Bcc is not transmitted).

        Returns {"accepted": [...], "refused": {address: reply}}; raises when every recipient
        is refused. In a dry run, raises RequestNotSent with the message instead."""
        recipients = [
            address for name in ("To", "Cc", "Bcc") for address in _header_addresses(message, name)
        ]
        if dry.is_recording():
            self._not_sent(server, message)
        with self._session(server) as smtp:
            try:
                refused = smtp.send_message(message, to_addrs=recipients)
            except smtplib.SMTPRecipientsRefused as exc:
                raise _recipients_error(server, exc.recipients) from None
        return {
            "accepted": [r for r in recipients if r not in refused],
            "refused": {r: _reply(code, text) for r, (code, text) in refused.items()},
        }

    def _not_sent(self, server: SMTPServer, message: EmailMessage) -> None:
        """A dry run: check the destination as far as can be done without a lookup, then
        raise RequestNotSent with the message as it would have gone out."""
        self.policy.check_name(server.host)
        with contextlib.suppress(ValueError):
            self.policy.check(server.host, ipaddress.ip_address(server.host.strip("[]")))
        _head, _, body = message.as_bytes(policy=SMTP_POLICY).partition(b"\r\n\r\n")
        raise dry.RequestNotSent(
            dry.WouldSend(
                method="SMTP",
                url=server.url,
                headers={name: str(value) for name, value in message.items()},
                body=body,
            )
        )

    @contextlib.contextmanager
    def _session(self, server: SMTPServer) -> Iterator[smtplib.SMTP]:
        """An open, secured and (when configured) logged-in SMTP session."""
        cls = _GuardedSMTPSSL if server.security == "tls" else _GuardedSMTP
        seconds, reason = bounded(self.timeout, server.host)
        with _Watch(seconds) as watch:
            try:
                # The EHLO name: the host's own name, without smtplib's reverse DNS lookup.
                name = socket.gethostname() or "localhost"
                if cls is _GuardedSMTPSSL:
                    smtp: smtplib.SMTP = _GuardedSMTPSSL(
                        local_hostname=name, context=self.tls_context()
                    )
                else:
                    smtp = _GuardedSMTP(local_hostname=name)
                smtp.timeout = self.connect_timeout
                guarded: Any = smtp
                guarded.policy, guarded.resolver, guarded.on_socket = (
                    self.policy,
                    self.resolver,
                    watch.watch,
                )
                # What STARTTLS verifies the certificate against (smtplib sets it only when
                # the host is given to the constructor, which would connect unguarded).
                guarded._host = server.host
                try:
                    smtp.connect(server.host, server.port)
                    if smtp.sock is not None:
                        smtp.sock.settimeout(seconds)
                    smtp.ehlo()
                    if server.security == "starttls":
                        smtp.starttls(context=self.tls_context())
                        if smtp.sock is not None:
                            watch.watch(smtp.sock)
                        smtp.ehlo()
                    if server.username:
                        smtp.login(server.username, server.password or "")
                    yield smtp
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        smtp.quit()
                finally:
                    smtp.close()
            except errors.OutboundError:
                raise
            except Exception as exc:
                if watch.fired:
                    within = f"before {reason}" if reason else f"within {seconds:g}s"
                    raise errors.OutboundTimeoutError(
                        f"{server.host!r} did not answer {within}"
                    ) from None
                raise _failure(server, exc) from None


def _header_addresses(message: EmailMessage, name: str) -> list[str]:
    header = message.get(name)
    if header is None:
        return []
    return [address.addr_spec for address in getattr(header, "addresses", ())]


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(f"{code} {text}".split())[:MAX_REPLY_CHARS]


def _recipients_error(
    server: SMTPServer, recipients: dict[str, tuple[int, bytes]]
) -> SMTPReplyError:
    """Every recipient refused: retryable only when every refusal was temporary (4xx)."""
    replies = "; ".join(f"{r}: {_reply(code, text)}" for r, (code, text) in recipients.items())
    codes = [code for code, _ in recipients.values()]
    code = max(codes) if codes else None
    return SMTPReplyError(f"{server.host!r} refused every recipient: {replies}", code)


def _failure(server: SMTPServer, exc: BaseException) -> errors.OutboundError:
    """An OutboundError for whatever smtplib, ssl or the socket raised; no password in it."""
    host = server.host
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return SMTPLoginError(f"{host!r} refused the login: {reply}", exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        what = "STARTTLS" if server.security == "starttls" else "login (AUTH)"
        return errors.InvalidURLError(f"{host!r} does not offer {what}: {exc}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return SMTPReplyError(f"{host!r} refused the sender {exc.sender}: {reply}", exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return SMTPReplyError(f"{host!r} answered {reply}", exc.smtp_code)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return errors.TLSError(f"TLS with {host!r} failed: {exc.verify_message or 'certificate'}")
    if isinstance(exc, ssl.SSLError):
        return errors.TLSError(f"TLS with {host!r} failed: {exc.reason or type(exc).__name__}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return errors.OutboundTimeoutError(f"{host!r} did not answer in time")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return errors.OutboundConnectionError(f"{host!r} closed the connection")
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return errors.OutboundConnectionError(f"connection to {host!r} failed: {reason}")
    return errors.OutboundConnectionError(f"SMTP with {host!r} failed: {type(exc).__name__}")


def check_login(fields: Mapping[str, Any], settings: OutboundSettings) -> str:
    """The `smtp` credential kind's "Test connection": connect, secure, log in, quit.

    Returns a sentence saying what worked; raises an OutboundError (its message names the
    host and the server's reply) when anything fails."""
    return SMTPClient.from_settings(settings).check_login(SMTPServer.from_fields(fields))
