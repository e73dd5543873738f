"""Telegram trigger: each new message to a bot, read with the Bot API's `getUpdates`.

The cursor is the `offset` of the next update (the last update_id seen + 1): each poll asks for
updates from there, so Telegram forgets the ones before it and never hands them out again; each
message's execution commits with the offset just past it. Messages sent before the workflow was
enabled (`floor`) are passed over. A bot with a webhook set cannot be polled: Telegram answers
409, which trigger health shows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from app.credentials import store as credential_store
from app.credentials.fields import credential_field
from app.engine.budgets import RateLimitWait
from app.engine.errors import ActionError
from app.models import Trigger
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.triggers.base import PollContext, TriggerConfig
from app.triggers.polling import MAX_EVENTS_PER_POLL, CursorPollingTrigger, Found, clip

UPDATE_KINDS = ("message", "channel_post")


class TelegramMessageConfig(TriggerConfig):
    """The bot whose messages start the workflow, and optionally one chat."""

    credential_id: int = credential_field(
        kinds=("telegram",), default=..., description="The Telegram bot (a saved credential)."
    )
    chat_id: str = Field(
        "",
        max_length=100,
        pattern=r"^(|-?\d+|@[A-Za-z0-9_]{4,64})$",
        description="Only messages in this chat (its id, or @channelname); empty: every chat.",
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _person(who: Any) -> dict[str, Any]:
    who = _object(who)
    return {
        "id": who.get("id"),
        "username": who.get("username"),
        "first_name": who.get("first_name"),
        "last_name": who.get("last_name"),
        "is_bot": who.get("is_bot"),
    }


def message_data(update: dict[str, Any], kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """An update's message (or channel post) as trigger data."""
    chat = _object(message.get("chat"))
    sent = datetime.fromtimestamp(int(message.get("date") or 0), UTC)
    return {
        "update_id": update.get("update_id"),
        "kind": kind,
        "message_id": message.get("message_id"),
        "date": sent.isoformat(),
        "text": clip(message.get("text") or "", 5000),
        "caption": clip(message.get("caption") or "", 2000),
        "chat": {
            "id": chat.get("id"),
            "type": chat.get("type"),
            "title": chat.get("title"),
            "username": chat.get("username"),
        },
        "from": _person(message.get("from")),
        "reply_to_message_id": (message.get("reply_to_message") or {}).get("message_id"),
        "has_photo": bool(message.get("photo")),
        "document": (message.get("document") or {}).get("file_name"),
    }


def _in_chat(message: dict[str, Any], chat_id: str) -> bool:
    if not chat_id:
        return True
    chat = _object(message.get("chat"))
    if chat_id.startswith("@"):
        return f"@{chat.get('username') or ''}".lower() == chat_id.lower()
    return str(chat.get("id")) == chat_id


def _answer(response: GuardedResponse) -> list[dict[str, Any]]:
    """getUpdates' result, or the Bot API's error as an ActionError (a 429 waits)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = _object(body)
    if response.status == 200 and body.get("ok") and isinstance(body.get("result"), list):
        return [u for u in body["result"] if isinstance(u, dict)]
    description = str(body.get("description") or f"HTTP {response.status}")[:300]
    if response.status == 429:
        parameters = _object(body.get("parameters"))
        wait = response.retry_after or float(parameters.get("retry_after") or 5)
        raise RateLimitWait("Telegram", wait, f"Telegram asked to slow down: {description}.")
    hint = " (a webhook is set for this bot: delete it to poll)" if response.status == 409 else ""
    retryable = response.status >= 500
    raise ActionError(f"Telegram refused getUpdates: {description}{hint}", retryable=retryable)


class TelegramMessageTrigger(CursorPollingTrigger):
    """Start the workflow for each new message to a Telegram bot."""

    type = "telegram_message"
    name = "Telegram: new message"
    description = (
        "Start the workflow for each message sent to your bot (in a private chat, a group it "
        "is in, or a channel it administers), optionally in one chat only. Messages sent "
        "before the workflow was enabled never fire."
    )
    category = "Messaging"
    Config = TelegramMessageConfig
    service = "Telegram"

    def start(self, now: datetime) -> Any:
        # Telegram dates are whole seconds: a message in the second of enabling fires.
        return {"offset": None, "floor": int(now.timestamp())}

    def _token(self, trigger: Trigger, config: Any, context: PollContext) -> str:
        with context.session_factory() as session:
            try:
                found = credential_store.load(
                    session,
                    context.secrets,
                    user_id=trigger.workflow.user_id,
                    credential_id=config.credential_id,
                    kinds=("telegram",),
                )
            except credential_store.CredentialUnavailableError as exc:
                raise ActionError(str(exc), retryable=False) from None
        return str(found.fields["bot_token"])

    def fetch_new(self, trigger: Trigger, config: Any, cursor: Any, context: PollContext) -> Found:
        token = self._token(trigger, config, context)
        offset = cursor.get("offset")
        params = {
            "limit": str(MAX_EVENTS_PER_POLL),
            "timeout": "0",
            "allowed_updates": json.dumps(list(UPDATE_KINDS)),
            **({"offset": str(offset)} if offset is not None else {}),
        }
        base = context.settings.telegram_api_base_url.rstrip("/")
        client = GuardedClient.from_settings(context.settings)
        try:
            response = client.request("GET", f"{base}/bot{token}/getUpdates", params=params)
        except OutboundError as exc:  # names the host, never the URL (the token is in it)
            raise ActionError(f"Telegram: {exc}", retryable=exc.retryable) from None
        floor = float(cursor.get("floor") or 0)
        found = Found(cursor)
        for update in sorted(_answer(response), key=lambda u: int(u.get("update_id") or 0)):
            after = {"offset": int(update.get("update_id") or 0) + 1, "floor": floor}
            kind = next((k for k in UPDATE_KINDS if isinstance(update.get(k), dict)), None)
            message = update.get(kind) if kind else None
            if (
                isinstance(message, dict)
                and float(message.get("date") or 0) >= floor
                and _in_chat(message, config.chat_id)
            ):
                found.add(message_data(update, str(kind), message), after)
            found.cursor = after
        return found
