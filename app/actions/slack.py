"""Slack message action: post through an incoming webhook or a bot token (chat.postMessage)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.actions.base import ActionConfig, BaseActionHandler, secret_field
from app.credentials.fields import credential_field
from app.engine.budgets import RateBudget, credential_key
from app.engine.context import StepContext
from app.engine.errors import ActionError, ConfigError
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.net.redaction import redact_secrets

DEFAULT_API_BASE_URL = "https://slack.com/api"
# Slack error codes worth a retry; every other code is a problem with the message or setup.
RETRYABLE_CODES = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "service_unavailable",
        "fatal_error",
        "request_timeout",
        "team_added_to_org",
    }
)
HINTS = {
    "invalid_payload": "the message or its blocks are not valid for Slack",
    "invalid_blocks": "the blocks are not valid Block Kit",
    "channel_not_found": "the channel does not exist or the app cannot see it",
    "not_in_channel": "the bot is not a member of the channel",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "invalid_auth": "the bot token is not valid",
    "not_authed": "no bot token was sent",
    "token_revoked": "the bot token was revoked",
    "missing_scope": "the bot token lacks the chat:write scope",
    "no_text": "the message has no text",
    "msg_too_long": "the message text is too long",
    "no_service": "the webhook was disabled or removed",
    "no_team": "the webhook's workspace no longer exists",
    "action_prohibited": "an admin restricted posting to this channel",
}


class SlackMessageConfig(ActionConfig):
    """Where a Slack message goes (webhook, or bot token and channel) and what it says."""

    # Validation errors never quote the input: the webhook URL and the token are credentials.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    via: Literal["webhook", "bot"] = Field(
        "webhook", description="An incoming webhook, or a bot token and a channel."
    )
    credential_id: int | None = credential_field(
        kinds=("slack",),
        description="A saved Slack credential (its webhook URL or bot token); or type them below.",
    )
    webhook_url: str | None = secret_field(
        default=None, description="Incoming webhook URL (kept encrypted), without a credential."
    )
    bot_token: str | None = secret_field(
        default=None, description="Bot token (xoxb-...), without a credential."
    )
    channel: str | None = Field(None, description="Channel ID or name (bot only).")
    text: str = Field(min_length=1, max_length=40_000, description="Message text; templated.")
    blocks: list[dict[str, Any]] | None = Field(
        None, description="Optional Block Kit blocks (JSON).", json_schema_extra={"format": "json"}
    )
    thread_ts: str | None = Field(None, description="Reply in this thread (message ts).")

    @field_validator("blocks", mode="before")
    @classmethod
    def _parse_blocks(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("blocks must be a JSON list of blocks") from None
        return value

    @model_validator(mode="after")
    def _destination(self) -> SlackMessageConfig:
        if self.credential_id is not None:
            if self.webhook_url or self.bot_token:
                raise ValueError("use a credential or a webhook_url/bot_token, not both")
            if self.via == "bot" and not self.channel:
                raise ValueError("via 'bot' needs a channel")
        elif self.via == "webhook":
            _check_webhook_url(self.webhook_url)
        elif not (self.bot_token and self.channel):
            raise ValueError("via 'bot' needs bot_token and channel (or a credential)")
        return self


def _check_webhook_url(url: str | None) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("via 'webhook' needs webhook_url, an https:// URL (or a credential)")


def destination(context: StepContext, config: SlackMessageConfig) -> tuple[str, str]:
    """The webhook URL or bot token to post with (from the credential when one is chosen),
    and the rate budget it counts against."""
    needed = "webhook_url" if config.via == "webhook" else "bot_token"
    if config.credential_id is None:
        secret = (config.webhook_url if config.via == "webhook" else config.bot_token) or ""
        return secret, budget_key_of(secret)
    fields = context.credential(config.credential_id, ("slack",))
    secret = str(fields.get(needed) or "")
    if not secret:
        words = "incoming webhook URL" if needed == "webhook_url" else "bot token"
        raise ConfigError(
            f"The Slack credential has no {words} (the step posts via {config.via!r})."
        )
    if needed == "webhook_url":
        try:
            _check_webhook_url(secret)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return secret, credential_key(config.credential_id)


class SlackMessageAction(BaseActionHandler):
    """Post a message to Slack through an incoming webhook or a bot token."""

    type = "slack_message"
    category = "Messaging"
    name = "Slack message"
    description = (
        "Post a message (text, optional Block Kit blocks) to Slack through an incoming "
        "webhook or a bot token and channel."
    )
    Config = SlackMessageConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: SlackMessageConfig) -> dict[str, Any]:
        """Post the message; Slack's refusals become step errors, rate limits retry later."""
        payload: dict[str, Any] = {"text": config.text}
        if config.blocks is not None:
            payload["blocks"] = config.blocks
        if config.thread_ts:
            payload["thread_ts"] = config.thread_ts
        client = GuardedClient.from_settings(context.settings)
        secret, budget_key = destination(context, config)
        secrets = [config.webhook_url, config.bot_token, secret]
        context.rate_slot(budget_key, RateBudget.for_service("slack"), "Slack")
        try:
            if config.via == "webhook":
                response = client.post_json(secret, payload)
            else:
                base = context.settings.slack_api_base_url or DEFAULT_API_BASE_URL
                response = client.post_json(
                    base.rstrip("/") + "/chat.postMessage",
                    {"channel": config.channel, **payload},
                    headers={"Authorization": f"Bearer {secret}"},
                )
        except OutboundError as exc:
            raise ActionError(
                redact_secrets(f"Slack: {exc}", secrets), retryable=exc.retryable
            ) from None
        if response.status == 429:  # wait (not counted as an attempt), with every user of it
            raise context.rate_limited(budget_key, "Slack", response.retry_after)
        output = _webhook_result(response) if config.via == "webhook" else _api_result(response)
        context.log.info("slack message posted via %s", config.via)
        return output


def budget_key_of(secret: str | None) -> str:
    """The rate budget an inline token or webhook URL shares (a hash: never the secret)."""
    return "slack:" + hashlib.sha256((secret or "").encode()).hexdigest()[:24]


def _error(code: str, response: GuardedResponse) -> ActionError:
    code = code.strip()[:100] or f"HTTP {response.status}"
    retryable = response.status == 429 or response.status >= 500 or code in RETRYABLE_CODES
    hint = HINTS.get(code)
    message = f"Slack refused the message: {code}" + (f" ({hint})" if hint else "")
    return ActionError(
        message, retryable=retryable, retry_after=response.retry_after if retryable else None
    )


def _webhook_result(response: GuardedResponse) -> dict[str, Any]:
    """Incoming webhooks answer 200 "ok", or an error code as plain text with a 4xx/5xx."""
    if 200 <= response.status < 300:
        return {"ok": True, "via": "webhook"}
    code = "ratelimited" if response.status == 429 else response.text
    raise _error(code, response)


def _api_result(response: GuardedResponse) -> dict[str, Any]:
    """The Web API answers JSON {"ok": bool, "error": code}; 429 with Retry-After when limited."""
    if response.status == 429:
        raise _error("ratelimited", response)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _error(f"HTTP {response.status}", response)
    if not data.get("ok"):
        raise _error(str(data.get("error") or f"HTTP {response.status}"), response)
    return {"ok": True, "via": "bot", "channel": data.get("channel"), "ts": data.get("ts")}
