"""Discord: post a message through a channel's webhook (a `discord` credential)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.service_calls import Service, budget_key, call_json
from app.credentials.fields import credential_field
from app.engine.context import StepContext


def _discord_message(body: Any) -> str | None:
    """Discord's errors: {"message": "...", "code": 50006} (and field errors under "errors")."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        return f"{body['message']} (code {code})" if code else str(body["message"])
    return None


def _discord_retry_after(body: Any) -> float | None:
    """A 429's wait, from {"retry_after": 1.5} (seconds)."""
    wait = body.get("retry_after") if isinstance(body, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and math.isfinite(wait):
        return max(float(wait), 0.0)
    return None


DISCORD = Service("Discord", "discord", _discord_message, _discord_retry_after)


class DiscordSendMessageConfig(ActionConfig):
    """The message, and how its author is shown."""

    credential_id: int = credential_field(
        kinds=("discord",), default=..., description="The channel's webhook to post through."
    )
    content: str = Field(min_length=1, max_length=2000, description="The message; templated.")
    username: str = Field(
        "", max_length=80, description="Shown as the author instead of the webhook's name."
    )
    avatar_url: str = Field("", max_length=2000, description="Image URL of the author's avatar.")
    allow_mentions: bool = Field(
        False,
        description="Let @everyone, @here and user or role mentions in the text notify people.",
    )
    tts: bool = Field(False, description="Read the message aloud (text to speech).")

    @model_validator(mode="after")
    def _avatar(self) -> DiscordSendMessageConfig:
        if self.avatar_url and not self.avatar_url.startswith(("https://", "http://")):
            raise ValueError("avatar_url must be an http(s) URL")
        return self


class DiscordSendMessageAction(BaseActionHandler):
    """Post a message to a Discord channel through its webhook."""

    type = "discord_send_message"
    category = "Messaging"
    name = "Discord: send message"
    description = (
        "Post a message to a Discord channel through a webhook, with an optional author name "
        "and avatar; mentions notify nobody unless allowed."
    )
    Config = DiscordSendMessageConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: DiscordSendMessageConfig) -> dict[str, Any]:
        """POST <webhook>?wait=true; the message's id and channel."""
        webhook_url = str(context.credential(config.credential_id, ("discord",))["webhook_url"])
        payload: dict[str, Any] = {"content": config.content, "tts": config.tts}
        if config.username:
            payload["username"] = config.username
        if config.avatar_url:
            payload["avatar_url"] = config.avatar_url
        if not config.allow_mentions:
            payload["allowed_mentions"] = {"parse": []}
        separator = "&" if "?" in webhook_url else "?"
        _response, body = call_json(
            context,
            DISCORD,
            "POST",
            f"{webhook_url}{separator}wait=true",
            payload=payload,
            secrets=[webhook_url, webhook_url.rsplit("/", 1)[-1]],
            key=budget_key(config.credential_id, webhook_url, DISCORD),
        )
        message = body if isinstance(body, dict) else {}
        context.log.info("discord message posted")
        return {"id": message.get("id"), "channel_id": message.get("channel_id")}
