"""The fake Google APIs behind tests/fakes/google.py: what they share, and Gmail (Sheets, Drive
and Calendar are in google_files.py). State is set and read by tests; each API answers the
shapes Google documents for the calls Stepline makes; `fail_next(reply)` scripts an error (a 429
with Retry-After, a 500) for the next calls.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

from app.google import scopes as google_scopes
from tests.fakes.http import RecordedRequest, Reply


def now_ms() -> int:
    return math.ceil(time.time() * 1000)


def rfc3339(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def ms_of(at: datetime | None) -> int:
    return now_ms() if at is None else math.ceil(at.timestamp() * 1000)


def google_error(status: int, message: str, reason: str = "") -> Reply:
    body: dict[str, Any] = {"code": status, "message": message}
    if reason:
        body["errors"] = [{"reason": reason, "message": message}]
    return Reply.json({"error": body}, status)


def rate_limited(retry_after: int = 7) -> Reply:
    """Google's 429, with Retry-After."""
    reply = google_error(429, "Rate Limit Exceeded", "rateLimitExceeded")
    return Reply(reply.status, reply.body, {**reply.headers, "Retry-After": str(retry_after)})


class FakeAPI:
    """What every fake API shares: scripted failures, a call log, a lock."""

    prefix = ""

    def __init__(self) -> None:
        self.calls: list[RecordedRequest] = []
        self._failures: list[Reply] = []
        self._lock = threading.RLock()
        self._last_ms = 0

    def stamp(self, at: datetime | None) -> int:
        """The time (ms) of an item added now or `at`; items added now get distinct times."""
        with self._lock:
            if at is not None:
                return ms_of(at)
            self._last_ms = max(self._last_ms + 1, now_ms())
            return self._last_ms

    def fail_next(self, *replies: Reply) -> None:
        with self._lock:
            self._failures.extend(replies)

    def handle(self, request: RecordedRequest, granted: set[str]) -> Reply:
        with self._lock:
            self.calls.append(request)
            if self._failures:
                return self._failures.pop(0)
            return self.route(request, request.path[len(self.prefix) :], granted)

    def route(self, request: RecordedRequest, path: str, granted: set[str]) -> Reply:
        raise NotImplementedError

    @staticmethod
    def allowed(granted: set[str], needed: str) -> bool:
        return google_scopes.has_scope(granted, needed)

    @staticmethod
    def page(
        items: list[Any], request: RecordedRequest, size_name: str, default: int
    ) -> tuple[list[Any], str | None]:
        size = int(request.query.get(size_name, [str(default)])[0])
        start = int(request.query.get("pageToken", ["0"])[0])
        chunk = items[start : start + size]
        more = start + size < len(items)
        return chunk, str(start + size) if more else None


FORBIDDEN = google_error(
    403, "Request had insufficient authentication scopes.", "insufficientPermissions"
)
NOT_FOUND = google_error(404, "Requested entity was not found.", "notFound")


# -- Gmail ---------------------------------------------------------------------------------


@dataclass
class Message:
    id: str
    thread_id: str
    internal_ms: int
    headers: dict[str, str]
    text: str = ""
    html: str = ""
    labels: list[str] = field(default_factory=lambda: ["INBOX", "UNREAD"])
    attachments: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")


class Mailbox:
    """The messages of the account that consents (`account()`)."""

    def __init__(self, account: Callable[[], str]) -> None:
        self.account = account
        self.messages: list[Message] = []


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class FakeGmail(FakeAPI):
    prefix = "/gmail/v1/users/me/"

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__()
        self.mailbox = mailbox
        self.sent: list[EmailMessage] = []
        self.queries: list[str] = []
        # Accept the next message, then answer with this (the answer lost on the way back).
        self.lose_next_answer: Reply | None = None

    def deliver(
        self,
        sender: str,
        subject: str,
        text: str = "",
        *,
        at: datetime | None = None,
        html: str = "",
        attachments: Iterable[str] = (),
    ) -> str:
        """A message arrives in the mailbox (now, or `at`); its id."""
        message_id = secrets.token_hex(8)
        headers = {
            "From": sender,
            "To": self.mailbox.account(),
            "Subject": subject,
            "Date": email.utils.format_datetime(datetime.now(UTC)),
            "Message-ID": f"<{message_id}@mail.example.com>",
        }
        with self._lock:
            received = self.stamp(at)
            self.mailbox.messages.append(
                Message(
                    message_id,
                    message_id,
                    received,
                    headers,
                    text,
                    html,
                    attachments=list(attachments),
                )
            )
        return message_id

    def route(self, request: RecordedRequest, path: str, granted: set[str]) -> Reply:
        if request.method == "POST" and path == "messages/send":
            if not self.allowed(granted, google_scopes.GMAIL_SEND):
                return FORBIDDEN
            return self._send(request)
        if not self.allowed(granted, google_scopes.GMAIL_READ):
            return FORBIDDEN
        if request.method == "GET" and path == "messages":
            return self._list(request)
        if request.method == "GET" and path.startswith("messages/"):
            found = [m for m in self.mailbox.messages if m.id == unquote(path[9:])]
            return Reply.json(self._resource(found[0])) if found else NOT_FOUND
        return NOT_FOUND

    def _list(self, request: RecordedRequest) -> Reply:
        query = request.query.get("q", [""])[0]
        self.queries.append(query)
        matching = [m for m in self.mailbox.messages if _matches(m, query)]
        matching.sort(key=lambda m: m.internal_ms, reverse=True)
        chunk, token = self.page(matching, request, "maxResults", 100)
        body: dict[str, Any] = {"resultSizeEstimate": len(matching)}
        if chunk:
            body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in chunk]
        if token:
            body["nextPageToken"] = token
        return Reply.json(body)

    def _resource(self, message: Message) -> dict[str, Any]:
        headers = [{"name": k, "value": v} for k, v in message.headers.items()]
        parts = [
            {
                "mimeType": "text/plain",
                "filename": "",
                "body": {"data": _b64(message.text), "size": len(message.text)},
            }
        ]
        if message.html:
            parts.append(
                {
                    "mimeType": "text/html",
                    "filename": "",
                    "body": {"data": _b64(message.html), "size": len(message.html)},
                }
            )
        for name in message.attachments:
            parts.append(
                {
                    "mimeType": "application/octet-stream",
                    "filename": name,
                    "body": {"attachmentId": "a1", "size": 3},
                }
            )
        return {
            "id": message.id,
            "threadId": message.thread_id,
            "labelIds": message.labels,
            "snippet": message.text[:100],
            "internalDate": str(message.internal_ms),
            "payload": {"mimeType": "multipart/mixed", "headers": headers, "parts": parts},
        }

    def _send(self, request: RecordedRequest) -> Reply:
        raw = str(request.json().get("raw", ""))
        parsed = email.message_from_bytes(
            base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.sent.append(parsed)
        text_part = parsed.get_body(("plain",))
        html_part = parsed.get_body(("html",))
        message_id = secrets.token_hex(8)
        headers = {k: str(v) for k, v in parsed.items() if k.lower() != "bcc"}
        self.mailbox.messages.append(
            Message(
                message_id,
                message_id,
                now_ms(),
                headers,
                text_part.get_content() if text_part else "",
                html_part.get_content() if html_part else "",
                labels=["SENT"],
            )
        )
        if self.lose_next_answer is not None:
            lost, self.lose_next_answer = self.lose_next_answer, None
            return lost
        return Reply.json({"id": message_id, "threadId": message_id, "labelIds": ["SENT"]})


def _matches(message: Message, query: str) -> bool:
    for term in query.replace("(", " ").replace(")", " ").split():
        name, _, value = term.partition(":")
        value = value.lower()
        if name == "after" and value:
            if message.internal_ms < int(value) * 1000:
                return False
        elif name in ("from", "to", "subject") and value:
            if value not in message.header(name).lower():
                return False
        elif name == "rfc822msgid" and value:
            if message.header("Message-ID").lower().strip("<>") != value.strip("<>"):
                return False
        elif name == "in" and value == "sent":
            if "SENT" not in message.labels:
                return False
        elif name == "has" and value == "attachment":
            if not message.attachments:
                return False
        else:
            haystack = f"{message.header('Subject')} {message.header('From')} {message.text}"
            if term.lower() not in haystack.lower():
                return False
    return True
