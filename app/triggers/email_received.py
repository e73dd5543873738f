"""Email trigger: each new message in a mailbox, read over IMAP (any provider, not only Gmail).

The cursor is the mailbox's UIDVALIDITY and the highest UID fired. The first poll (right after
enabling) takes the mailbox as it is as the baseline: messages already there never fire. Each
later poll fires the messages with a greater UID, oldest first, each once. If the server
renumbers the mailbox (a new UIDVALIDITY), the cursor takes a new baseline rather than firing
everything again. The mailbox is opened read-only: messages stay unread.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any, Literal

from pydantic import Field

from app.actions.base import secret_field
from app.crypto import SecretBox
from app.engine.errors import ActionError
from app.models import Trigger
from app.net.imap import Mailbox, MailboxError, read_new
from app.triggers.base import PollContext, TriggerConfig
from app.triggers.polling import MAX_EVENTS_PER_POLL, CursorPollingTrigger, Found, clip

HOST_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$"
HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")


class EmailReceivedConfig(TriggerConfig):
    """The mailbox to watch and how to log in to its IMAP server."""

    host: str = Field(
        min_length=1,
        max_length=253,
        pattern=HOST_PATTERN,
        description="The IMAP server's host name (e.g. imap.fastmail.com).",
    )
    security: Literal["tls", "starttls", "none"] = Field(
        "tls",
        description="TLS from the start (port 993), STARTTLS (port 143), or none: the password "
        "then crosses the network in clear.",
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Leave empty for 993 (TLS) or 143 (STARTTLS, none)."
    )
    username: str = Field(min_length=1, max_length=320, description="The login, often the address.")
    password: str = secret_field(
        min_length=1, max_length=1000, description="The password or app password (kept encrypted)."
    )
    mailbox: str = Field(
        "INBOX",
        min_length=1,
        max_length=200,
        pattern=r"^[^\r\n\x00]+$",
        description="The folder to watch (INBOX, or e.g. Support/Orders).",
    )


def _text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def message_data(uid: int, raw: bytes, whole: bool, mailbox: str) -> dict[str, Any]:
    """A message as trigger data: headers, text and HTML bodies, attachments (names, sizes)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    data: dict[str, Any] = {"uid": uid, "mailbox": mailbox, "size": len(raw)}
    for name in HEADERS:
        try:
            value = str(message.get(name, "") or "")
        except (ValueError, IndexError, AttributeError):  # a header the parser cannot read
            value = str(message.get_all(name, [""])[0])
        data[name.lower().replace("-", "_")] = clip(" ".join(value.split()), 2000)
    attachments = []
    if message.is_multipart():
        for part in message.iter_attachments():
            payload = part.get_payload(decode=True)
            attachments.append(
                {
                    "filename": part.get_filename() or "",
                    "content_type": part.get_content_type(),
                    "size": len(payload) if isinstance(payload, bytes) else 0,
                }
            )
    data.update(
        body_text=clip(_text(message, "plain")),
        body_html=clip(_text(message, "html")),
        attachments=attachments,
        truncated=not whole,  # too large: only its headers were read
    )
    return data


class EmailReceivedTrigger(CursorPollingTrigger):
    """Start the workflow for each new message in an IMAP mailbox."""

    type = "email_received"
    name = "Email received (IMAP)"
    description = (
        "Start the workflow for each new message in a mailbox of any provider, read over IMAP "
        "(Fastmail, Outlook, your own server…). Messages already there when the workflow is "
        "enabled never fire; messages stay unread."
    )
    category = "Email"
    Config = EmailReceivedConfig
    service = "the mail server"

    def start(self, now: Any) -> Any:
        return None  # UIDs carry no time: the first poll takes the mailbox's UIDNEXT

    def fetch_new(self, trigger: Trigger, config: Any, cursor: Any, context: PollContext) -> Found:
        password = config.password
        if SecretBox.is_encrypted(password):
            password = context.secrets.decrypt(password)
        box = Mailbox(
            config.host.strip("[]"),
            config.port,
            config.security,
            config.username,
            password,
            config.mailbox,
        )
        known = cursor if isinstance(cursor, dict) else None
        after = int(known["uid"]) if known else None
        try:
            batch = read_new(box, context.settings, after, MAX_EVENTS_PER_POLL + 1)
        except MailboxError as exc:
            raise ActionError(f"IMAP: {exc}", retryable=exc.retryable) from None
        if known is None or int(known["uidvalidity"]) != batch.uidvalidity:
            # First poll, or the mailbox was renumbered: what is there now is the baseline.
            return Found({"uidvalidity": batch.uidvalidity, "uid": batch.uidnext - 1})
        found = Found(known)
        for uid, raw, whole in batch.messages:
            after_it = {"uidvalidity": batch.uidvalidity, "uid": uid}
            found.add(message_data(uid, raw, whole, config.mailbox), after_it)
            found.cursor = after_it
        return found
