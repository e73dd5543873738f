"""Credentials of named services: Slack, SMTP, Notion, Telegram, Discord, OpenAI-compatible."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from app.credentials.base import Budget, CredentialKind, CredentialTestError, KindFields
from app.credentials.fields import secret_field
from app.net import GuardedClient, OutboundError, smtp
from app.net.redaction import redact_secrets
from app.settings import Settings

NOTION_VERSION = "2022-06-28"


def _https_url(value: str | None) -> str | None:
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an https:// URL")
    return value


def _call(
    client: GuardedClient,
    service: str,
    url: str,
    secrets: list[str | None],
    headers: dict[str, str] | None = None,
) -> Any:
    """GET `url`; the JSON body, or CredentialTestError with the service's refusal."""
    try:
        response = client.request("GET", url, headers=headers or {}, timeout=15)
    except OutboundError as exc:
        raise CredentialTestError(redact_secrets(f"{service}: {exc}", secrets)) from None
    body = response.parsed_body()
    if response.status >= 400:
        detail = ""
        if isinstance(body, dict):
            detail = str(body.get("message") or body.get("description") or body.get("error") or "")
        message = f"{service} refused the credential (HTTP {response.status})"
        if detail:
            message += f": {detail[:300]}"
        raise CredentialTestError(redact_secrets(message, secrets))
    return body


class SlackFields(KindFields):
    bot_token: str | None = secret_field(default=None, description="Bot token (xoxb-…).")
    webhook_url: str | None = secret_field(default=None, description="Incoming webhook URL.")

    _url = field_validator("webhook_url")(_https_url)

    @model_validator(mode="after")
    def _one_of(self) -> SlackFields:
        if not (self.bot_token or self.webhook_url):
            raise ValueError("give a bot token or an incoming webhook URL")
        return self


class Slack(CredentialKind):
    kind = "slack"
    name = "Slack"
    description = "A Slack bot token, or an incoming webhook URL."
    Fields = SlackFields
    default_budget = Budget(per_second=1.0)

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        token = fields.get("bot_token")
        if not token:
            raise CredentialTestError(
                "An incoming webhook cannot be tested without posting a message."
            )
        url = settings.slack_api_base_url.rstrip("/") + "/auth.test"
        body = _call(client, "Slack", url, [token], {"Authorization": f"Bearer {token}"})
        if not isinstance(body, dict) or not body.get("ok"):
            code = body.get("error", "unknown error") if isinstance(body, dict) else "not JSON"
            raise CredentialTestError(f"Slack refused the token: {code}")
        return f"Signed in to {body.get('team', 'Slack')} as {body.get('user', 'the bot')}."


class SmtpFields(KindFields):
    host: str = Field(min_length=1, max_length=255, description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="Port (587 STARTTLS, 465 TLS).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="STARTTLS, TLS from the start, or none."
    )
    username: str | None = Field(None, max_length=255, description="Login (optional).")
    password: str | None = secret_field(default=None, max_length=1000, description="Password.")
    from_address: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="Sender address."
    )


class Smtp(CredentialKind):
    kind = "smtp"
    name = "SMTP"
    description = "An SMTP server login for sending email."
    Fields = SmtpFields

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        try:
            said = smtp.check_login(fields, settings)
        except Exception as exc:  # the SMTP client's errors, whatever their class
            raise CredentialTestError(
                redact_secrets(f"SMTP: {exc}", [fields.get("password") or ""])
            ) from None
        return str(said or f"Signed in to {fields['host']}.")


class NotionFields(KindFields):
    token: str = secret_field(min_length=1, max_length=4000, description="Integration token.")


class Notion(CredentialKind):
    kind = "notion"
    name = "Notion"
    description = "A Notion integration token."
    Fields = NotionFields
    default_budget = Budget(per_second=3.0)

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        token = fields["token"]
        headers = {"Authorization": f"Bearer {token}", "Notion-Version": NOTION_VERSION}
        url = settings.notion_api_base_url.rstrip("/") + "/users/me"
        body = _call(client, "Notion", url, [token], headers)
        name = body.get("name") if isinstance(body, dict) else None
        return f"Signed in to Notion as {name or 'the integration'}."


class TelegramFields(KindFields):
    bot_token: str = secret_field(
        min_length=1, max_length=200, description="Bot token from @BotFather."
    )


class Telegram(CredentialKind):
    kind = "telegram"
    name = "Telegram bot"
    description = "A Telegram bot token."
    Fields = TelegramFields
    default_budget = Budget(per_second=30.0, per_minute=1200)

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        token = fields["bot_token"]
        url = f"{settings.telegram_api_base_url.rstrip('/')}/bot{token}/getMe"
        body = _call(client, "Telegram", url, [token])
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise CredentialTestError("Telegram did not describe the bot.")
        return f"Signed in as @{result.get('username', 'the bot')}."


class DiscordFields(KindFields):
    webhook_url: str = secret_field(min_length=1, max_length=2000, description="Webhook URL.")

    _url = field_validator("webhook_url")(_https_url)


class Discord(CredentialKind):
    kind = "discord"
    name = "Discord webhook"
    description = "A Discord channel's webhook URL."
    Fields = DiscordFields
    default_budget = Budget(per_second=1.0, per_minute=30)


class OpenAIFields(KindFields):
    base_url: str = Field(
        "https://api.openai.com/v1",
        max_length=500,
        description="Base URL of an OpenAI-compatible API (ending in /v1).",
    )
    api_key: str = secret_field(min_length=1, max_length=4000, description="API key.")
    default_model: str = Field(
        "gpt-4o-mini", min_length=1, max_length=200, description="Model used by default."
    )

    _url = field_validator("base_url")(_https_url)


class OpenAI(CredentialKind):
    kind = "openai"
    name = "OpenAI-compatible API"
    description = "An API key for OpenAI or any server speaking its API."
    Fields = OpenAIFields

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        key = fields["api_key"]
        url = fields["base_url"].rstrip("/") + "/models"
        body = _call(client, "The API", url, [key], {"Authorization": f"Bearer {key}"})
        models = body.get("data") if isinstance(body, dict) else None
        if not isinstance(models, list):
            raise CredentialTestError("The API's models list is not the expected JSON.")
        return f"The API lists {len(models)} model(s)."
