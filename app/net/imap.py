"""An IMAP client through the socket guard, and what the email trigger asks of a mailbox.

`read_new` opens the mailbox read-only (EXAMINE: nothing is marked read), reads its UIDVALIDITY
and UIDNEXT, and fetches the messages whose UID is past the cursor, oldest first, each whole
when it fits the response size cap (else its headers only). Errors name the host at most,
never the password.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Literal

from app.net.client import OutboundSettings
from app.net.errors import OutboundError
from app.net.sockets import guarded_connect, tls_context

Security = Literal["tls", "starttls", "none"]
DEFAULT_PORTS: dict[str, int] = {"tls": 993, "starttls": 143, "none": 143}
UID = re.compile(rb"\bUID (\d+)")
SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mail server could not be read; `retryable` when trying later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class GuardedIMAP(imaplib.IMAP4):
    """imaplib's client whose socket goes through the address guard (TLS from the start for
    `tls`; STARTTLS is asked by `open_mailbox`)."""

    def __init__(
        self, host: str, port: int, settings: OutboundSettings, context: ssl.SSLContext | None
    ) -> None:
        self._settings = settings
        self._tls = context
        super().__init__(host, port, timeout=settings.outbound_timeout_seconds)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = guarded_connect(self.host, self.port, self._settings)
        sock.settimeout(timeout)
        if self._tls is None:
            return sock
        return self._tls.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Mailbox:
    """Where and how to log in."""

    host: str
    port: int | None
    security: Security
    username: str
    password: str
    mailbox: str = "INBOX"


@dataclass(frozen=True)
class Batch:
    """What one read found: the mailbox's UIDVALIDITY and UIDNEXT, and new messages as
    (uid, raw bytes, whole: False when only the headers were fetched)."""

    uidvalidity: int
    uidnext: int
    messages: list[tuple[int, bytes, bool]]


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _login(box: Mailbox, settings: OutboundSettings) -> GuardedIMAP:
    port = box.port or DEFAULT_PORTS[box.security]
    context = tls_context(settings) if box.security == "tls" else None
    client = GuardedIMAP(box.host, port, settings, context)
    try:
        if box.security == "starttls":
            client.starttls(tls_context(settings))
        client.login(box.username, box.password)
    except BaseException:
        client.shutdown()
        raise
    return client


def _number(client: GuardedIMAP, name: str) -> int | None:
    _, data = client.response(name)
    try:
        return int(data[-1]) if data and data[-1] is not None else None
    except (TypeError, ValueError):
        return None


def _ok(answer: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise MailboxError(f"the mail server refused {what}: {detail[:200]}", retryable=False)
    return data


def _sizes(data: list[Any]) -> dict[int, int]:
    found = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (uid := UID.search(line)):
            size = SIZE.search(line)
            found[int(uid.group(1))] = int(size.group(1)) if size else 0
    return found


def _body(data: list[Any]) -> bytes:
    for item in data:
        if isinstance(item, tuple) and len(item) > 1 and isinstance(item[1], bytes):
            return item[1]
    return b""


def read_new(box: Mailbox, settings: OutboundSettings, after_uid: int | None, limit: int) -> Batch:
    """The mailbox's UIDVALIDITY and UIDNEXT, and up to `limit` messages with a UID greater
    than `after_uid` (none when it is None: a baseline)."""
    try:
        client = _login(box, settings)
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            f"{box.host} refused the login: {_reason(exc)}", retryable=False
        ) from None
    except (OutboundError, OSError, ssl.SSLError) as exc:
        raise MailboxError(f"could not reach {box.host}: {_reason(exc)}") from None
    try:
        _ok(client.select(quoted(box.mailbox), readonly=True), f"the mailbox {box.mailbox!r}")
        uidvalidity = _number(client, "UIDVALIDITY") or 0
        uidnext = _number(client, "UIDNEXT")
        if uidnext is None:  # servers that do not say: the highest UID + 1
            highest = _sizes(_ok(client.uid("FETCH", "*", "(UID)"), "a fetch"))
            uidnext = max(highest, default=0) + 1
        messages: list[tuple[int, bytes, bool]] = []
        if after_uid is not None and uidnext > after_uid + 1:
            listed = _ok(client.uid("FETCH", f"{after_uid + 1}:*", "(UID RFC822.SIZE)"), "a fetch")
            sizes = {u: s for u, s in _sizes(listed).items() if u > after_uid}
            for uid in sorted(sizes)[:limit]:
                whole = sizes[uid] <= settings.outbound_max_response_bytes
                part = "BODY.PEEK[]" if whole else "BODY.PEEK[HEADER]"
                raw = _body(_ok(client.uid("FETCH", str(uid), f"({part})"), "a fetch"))
                messages.append((uid, raw, whole))
        return Batch(uidvalidity, uidnext, messages)
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"{box.host} failed: {_reason(exc)}") from None
    except (OutboundError, OSError, ssl.SSLError) as exc:
        raise MailboxError(f"the connection to {box.host} failed: {_reason(exc)}") from None
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            client.shutdown()


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
