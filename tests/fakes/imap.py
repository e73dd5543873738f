"""A fake IMAP server on 127.0.0.1 (a free port): enough IMAP4rev1 for the email trigger.

LOGIN, STARTTLS, EXAMINE/SELECT (FLAGS, EXISTS, UIDVALIDITY, UIDNEXT), UID FETCH with UID,
RFC822.SIZE, BODY.PEEK[] and BODY.PEEK[HEADER], NOOP, LOGOUT. TLS from the first byte when
given a server SSLContext (`implicit_tls`), or STARTTLS when `starttls` is set. Mailboxes hold
raw messages with their UIDs; `deliver` adds one, `renumber` gives a mailbox a new
UIDVALIDITY (and new UIDs), as a server may after a mailbox is rebuilt.
"""

from __future__ import annotations

import contextlib
import re
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass
class FakeMailbox:
    uidvalidity: int = 1001
    next_uid: int = 1
    messages: list[tuple[int, bytes]] = field(default_factory=list)


def make_message(
    sender: str, subject: str, text: str = "", html: str = "", attachment: bytes | None = None
) -> bytes:
    """A MIME message as a mail client would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "alice@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(text or f"{subject} (text)")
    if html:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return message.as_bytes()


class FakeIMAP:
    """The server: accounts (user → password), mailboxes, and what clients did."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        *,
        implicit_tls: bool = True,
        user: str = "alice@example.com",
        password: str = "imap-secret-pw",
    ) -> None:
        self.tls = tls
        self.implicit_tls = implicit_tls and tls is not None
        self.accounts = {user: password}
        self.mailboxes: dict[str, FakeMailbox] = {"INBOX": FakeMailbox()}
        self.logins: list[str] = []  # users who logged in
        self.commands: list[str] = []  # commands received (LOGIN without its arguments)
        self.refuse_logins = False
        self.lock = threading.Lock()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                Session(fake, self).run()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> int:
        """Add a message; its UID."""
        with self.lock:
            box = self.mailboxes.setdefault(mailbox, FakeMailbox())
            uid = box.next_uid
            box.next_uid += 1
            box.messages.append((uid, raw))
            return uid

    def renumber(self, mailbox: str = "INBOX") -> None:
        with self.lock:
            box = self.mailboxes[mailbox]
            box.uidvalidity += 1
            box.messages = [(n + 1, raw) for n, (_, raw) in enumerate(box.messages)]
            box.next_uid = len(box.messages) + 1

    def __enter__(self) -> FakeIMAP:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Session:
    """One client connection."""

    def __init__(self, fake: FakeIMAP, handler: socketserver.StreamRequestHandler) -> None:
        self.fake = fake
        self.handler = handler
        self.sock: Any = handler.connection
        self.authenticated = False
        self.selected: FakeMailbox | None = None

    def _streams(self) -> None:
        self.reader = self.sock.makefile("rb")

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        self.sock.sendall(data + b"\r\n")

    def run(self) -> None:
        try:
            self._run()
        finally:
            for stream in (getattr(self, "reader", None), self.sock):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def _run(self) -> None:
        if self.fake.implicit_tls:
            assert self.fake.tls is not None
            try:
                self.sock = self.fake.tls.wrap_socket(self.sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        self._streams()
        self.send("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] fake IMAP ready")
        while True:
            try:
                raw = self.reader.readline()
            except (OSError, ssl.SSLError):
                return
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                sub, _, args = args.partition(" ")
                command = f"UID {sub.upper()}"
            self.fake.commands.append(command if command == "LOGIN" else f"{command} {args}")
            if not self.dispatch(tag, command, args):
                return

    def dispatch(self, tag: str, command: str, args: str) -> bool:
        words = [m.group(1) if m.group(1) is not None else m.group(2) for m in TOKEN.finditer(args)]
        if command == "CAPABILITY":
            self.send("* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN")
            self.send(f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            self.send(f"{tag} OK NOOP completed")
        elif command == "LOGOUT":
            self.send("* BYE logging out")
            self.send(f"{tag} OK LOGOUT completed")
            return False
        elif command == "STARTTLS" and self.fake.tls is not None and not self.fake.implicit_tls:
            self.send(f"{tag} OK Begin TLS negotiation now")
            self.reader.close()
            self.sock = self.fake.tls.wrap_socket(self.sock, server_side=True)
            self._streams()
        elif command == "LOGIN":
            user, password = [*words, "", ""][:2]
            if self.fake.refuse_logins or self.fake.accounts.get(user) != password:
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
            else:
                self.authenticated = True
                self.fake.logins.append(user)
                self.send(f"{tag} OK LOGIN completed")
        elif command in ("SELECT", "EXAMINE") and self.authenticated:
            self.select(tag, command, words[0] if words else "")
        elif command == "UID FETCH" and self.selected is not None:
            self.fetch(tag, words)
        else:
            self.send(f"{tag} BAD unknown or unexpected command")
        return True

    def select(self, tag: str, command: str, name: str) -> None:
        box = self.fake.mailboxes.get(name)
        if box is None:
            self.send(f"{tag} NO [NONEXISTENT] Unknown mailbox")
            return
        self.selected = box
        self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
        self.send(f"* {len(box.messages)} EXISTS")
        self.send("* 0 RECENT")
        self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
        self.send(f"* OK [UIDNEXT {box.next_uid}] Predicted next UID")
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {command} completed")

    def fetch(self, tag: str, words: list[str]) -> None:
        assert self.selected is not None
        messages = list(self.selected.messages)
        wanted = _uids(words[0], [uid for uid, _ in messages])
        items = " ".join(words[1:]).strip("()").upper()
        for seq, (uid, raw) in enumerate(messages, start=1):
            if uid not in wanted:
                continue
            if "BODY.PEEK[HEADER]" in items:
                header = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0] + b"\r\n\r\n"
                head = f"* {seq} FETCH (UID {uid} BODY[HEADER] {{{len(header)}}}".encode()
                self.sock.sendall(head + b"\r\n" + header + b")\r\n")
            elif "BODY.PEEK[]" in items:
                head = f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}".encode()
                self.sock.sendall(head + b"\r\n" + raw + b")\r\n")
            elif "RFC822.SIZE" in items:
                self.send(f"* {seq} FETCH (UID {uid} RFC822.SIZE {len(raw)})")
            else:
                self.send(f"* {seq} FETCH (UID {uid})")
        self.send(f"{tag} OK UID FETCH completed")


def _uids(spec: str, present: list[int]) -> set[int]:
    """The UIDs of `present` that a sequence set such as `5:*`, `7` or `1,3:4` names."""
    highest = max(present, default=0)
    chosen: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition(":")
        low = highest if first == "*" else int(first)
        high = low if not last else highest if last == "*" else int(last)
        low, high = sorted((low, high))
        chosen |= {uid for uid in present if low <= uid <= high}
    return chosen
