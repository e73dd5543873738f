"""Email messages shared by the email actions (gmail_send, send_email): address lists checked
and formatted, header fields on one line, and the MIME message (text, HTML, or both)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, getaddresses
from typing import Protocol

LINE_BREAK = re.compile(r"[\r\n]")
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


def addresses(value: str) -> list[str]:
    """Addresses of a header value ("Ann <a@x.org>, b@y.org"), formatted; ValueError if bad."""
    found = []
    for name, address in getaddresses([value]):
        if not address and not name:
            continue
        if not ADDRESS.match(address):
            raise ValueError(f"{(address or name)!r} is not an email address")
        found.append(formataddr((name, address)))
    return found


def one_line(value: str) -> str:
    """A header value: refused when it holds a line break (header injection)."""
    if LINE_BREAK.search(value):
        raise ValueError("line breaks are not allowed in email headers")
    return value


def valid_addresses(value: str) -> str:
    """A field of addresses: kept as typed once every address in it is valid."""
    addresses(value)
    return value


class MessageFields(Protocol):
    """What a message is built from (the email actions' configs)."""

    @property
    def to(self) -> str: ...
    @property
    def cc(self) -> str: ...
    @property
    def bcc(self) -> str: ...
    @property
    def reply_to(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body_text(self) -> str: ...
    @property
    def body_html(self) -> str: ...


def build_message(
    config: MessageFields, message_id: str, sender: str | None = None
) -> EmailMessage:
    """The MIME message: text, HTML, or both as multipart/alternative."""
    message = EmailMessage(policy=SMTP)
    if sender:
        message["From"] = sender
    message["To"] = ", ".join(addresses(config.to))
    if config.cc:
        message["Cc"] = ", ".join(addresses(config.cc))
    if config.bcc:
        message["Bcc"] = ", ".join(addresses(config.bcc))
    if config.reply_to:
        message["Reply-To"] = ", ".join(addresses(config.reply_to))
    message["Subject"] = config.subject
    message["Message-ID"] = message_id
    if config.body_text:
        message.set_content(config.body_text)
        if config.body_html:
            message.add_alternative(config.body_html, subtype="html")
    else:
        message.set_content(config.body_html, subtype="html")
    return message
