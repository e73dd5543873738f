"""Gmail trigger: a new message matching a Gmail search (e.g. `from:x has:attachment`)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from app.google import scopes
from app.google.client import GoogleClient
from app.triggers.google.cursor import Item, Watermark
from app.triggers.google.listing import pages
from app.triggers.google.polling import Found, GoogleTriggerConfig, WatermarkTrigger, clip

HEADERS = ("From", "To", "Cc", "Subject", "Date", "Reply-To", "Message-ID")


class GmailNewMessageConfig(GoogleTriggerConfig):
    """Which new messages fire the workflow."""

    query: str = Field(
        "",
        max_length=500,
        description=(
            "Gmail search, as in Gmail's search box (e.g. `from:billing@example.com "
            "has:attachment`); empty: every new message in the mailbox."
        ),
    )


def _decode(data: str) -> str:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _parts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found = [payload]
    for part in payload.get("parts") or []:
        if isinstance(part, dict):
            found += _parts(part)
    return found


def message_data(message: dict[str, Any]) -> dict[str, Any]:
    """A Gmail API message (format=full) as trigger data: headers, snippet, bodies, files."""
    payload = message.get("payload") or {}
    headers = {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in payload.get("headers") or []
        if isinstance(h, dict)
    }
    text = html = ""
    attachments = []
    for part in _parts(payload):
        body = part.get("body") or {}
        if part.get("filename"):
            attachments.append(
                {
                    "filename": part["filename"],
                    "mime_type": part.get("mimeType"),
                    "size": body.get("size"),
                }
            )
        elif part.get("mimeType") == "text/plain" and not text and body.get("data"):
            text = _decode(str(body["data"]))
        elif part.get("mimeType") == "text/html" and not html and body.get("data"):
            html = _decode(str(body["data"]))
    received = datetime.fromtimestamp(int(message.get("internalDate") or 0) / 1000, UTC)
    data: dict[str, Any] = {
        "id": message.get("id"),
        "thread_id": message.get("threadId"),
        "label_ids": message.get("labelIds") or [],
        "snippet": message.get("snippet") or "",
        "received_at": received.isoformat(),
        "body_text": clip(text),
        "body_html": clip(html),
        "attachments": attachments,
    }
    for name in HEADERS:
        data[name.lower().replace("-", "_")] = clip(headers.get(name.lower(), ""), 2000)
    return data


class GmailNewMessageTrigger(WatermarkTrigger):
    """Start the workflow for each new Gmail message that matches a search."""

    type = "google.gmail_new_message"
    name = "Gmail: new message"
    description = (
        "Start the workflow for each new message in a connected Gmail account that matches a "
        "Gmail search. Messages received before the workflow was enabled never fire."
    )
    Config = GmailNewMessageConfig
    google_scopes = (scopes.GMAIL_READ,)

    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        mark = Watermark.load(cursor)
        since = f"after:{int(mark.since.timestamp())}"
        query = f"({config.query.strip()}) {since}" if config.query.strip() else since
        listed = pages(
            client, "gmail", "/users/me/messages", {"q": query, "maxResults": "100"}, "messages"
        )
        items = []
        for entry in listed:
            message_id = str(entry.get("id") or "")
            if not message_id or message_id in mark.seen:
                continue
            message = client.call(
                "GET",
                "gmail",
                f"/users/me/messages/{quote(message_id, safe='')}",
                params={"format": "full"},
            )
            received = datetime.fromtimestamp(int(message.get("internalDate") or 0) / 1000, UTC)
            items.append(Item(message_id, received, message_data(message)))
        found = Found(cursor)
        for item in mark.new(items):
            mark = mark.after(item)
            found.add(item.data, mark.dump())
        found.cursor = mark.dump()
        return found
