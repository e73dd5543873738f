"""Telegram: send a message from a bot (a `telegram` credential) to a chat, group or channel."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.service_calls import Service, budget_key, call_json
from app.credentials.fields import credential_field
from app.engine.context import StepContext

CHAT_ID = r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$"


def _telegram_message(body: Any) -> str | None:
    """The Bot API's errors: {"ok": false, "error_code": 400, "description": "..."}."""
    if isinstance(body, dict) and isinstance(body.get("description"), str):
        return str(body["description"])
    return None


def _telegram_retry_after(body: Any) -> float | None:
    """A 429's wait, from {"parameters": {"retry_after": 5}}."""
    parameters = body.get("parameters") if isinstance(body, dict) else None
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and math.isfinite(wait):
        return max(float(wait), 0.0)
    return None


TELEGRAM = Service("Telegram", "telegram", _telegram_message, _telegram_retry_after)


class TelegramSendMessageConfig(ActionConfig):
    """The chat and the message."""

    credential_id: int = credential_field(
        kinds=("telegram",), default=..., description="The bot (its token) that sends."
    )
    chat_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=CHAT_ID,
        description="A chat's numeric id (negative for groups) or a channel's @username.",
    )
    text: str = Field(min_length=1, max_length=4096, description="The message; templated.")
    parse_mode: Literal["none", "MarkdownV2", "HTML", "Markdown"] = Field(
        "none",
        description=(
            "How Telegram formats the text. With HTML, escape inserted values: "
            "{{ trigger.name | e }}."
        ),
    )
    disable_notification: bool = Field(False, description="Deliver silently.")
    disable_link_preview: bool = Field(False, description="No preview of links in the text.")


class TelegramSendMessageAction(BaseActionHandler):
    """Send a text message from a Telegram bot to a chat, group or channel."""

    type = "telegram_send_message"
    category = "Messaging"
    name = "Telegram: send message"
    description = (
        "Send a message from a Telegram bot to a chat, group or channel (plain text, "
        "MarkdownV2 or HTML)."
    )
    Config = TelegramSendMessageConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: TelegramSendMessageConfig) -> dict[str, Any]:
        """sendMessage; the message's id, chat and date."""
        token = str(context.credential(config.credential_id, ("telegram",))["bot_token"])
        payload: dict[str, Any] = {"chat_id": config.chat_id, "text": config.text}
        if config.parse_mode != "none":
            payload["parse_mode"] = config.parse_mode
        if config.disable_notification:
            payload["disable_notification"] = True
        if config.disable_link_preview:
            payload["link_preview_options"] = {"is_disabled": True}
        base = context.settings.telegram_api_base_url.rstrip("/")
        _response, body = call_json(
            context,
            TELEGRAM,
            "POST",
            f"{base}/bot{token}/sendMessage",
            payload=payload,
            secrets=[token],
            key=budget_key(config.credential_id, token, TELEGRAM),
        )
        result = body.get("result") if isinstance(body, dict) else None
        message = result if isinstance(result, dict) else {}
        chat = message.get("chat")
        chat = chat if isinstance(chat, dict) else {}
        context.log.info("telegram message sent")
        return {
            "message_id": message.get("message_id"),
            "chat_id": chat.get("id", config.chat_id),
            "date": message.get("date"),
        }
