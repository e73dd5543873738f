"""The settings of the outside services Stepline talks to: Slack, Notion, Telegram, Google.

`Settings` (app/settings.py) inherits these fields; they are documented and read like every
other (README's Configuration table, .env.example). No Flask here: the core reads these.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode

from app.setting_values import GOOGLE_API_BASE_URLS, parse_base_urls, variable


class ServiceSettings(BaseSettings):
    """Base URLs (tests point them at fakes), and Google's OAuth client."""

    slack_api_base_url: str = variable(
        "STEPLINE_SLACK_API_BASE_URL",
        "https://slack.com/api",
        "Slack Web API base URL of the Slack action's bot mode (tests point it at a fake Slack)",
    )
    notion_api_base_url: str = variable(
        "STEPLINE_NOTION_API_BASE_URL",
        "https://api.notion.com/v1",
        "Notion API base URL of the Notion actions and credentials (tests point it at a fake "
        "Notion)",
    )
    telegram_api_base_url: str = variable(
        "STEPLINE_TELEGRAM_API_BASE_URL",
        "https://api.telegram.org",
        "Telegram Bot API base URL of the Telegram action, trigger and credentials (tests point "
        "it at a fake Telegram)",
    )

    # Google
    google_client_id: str | None = variable(
        "STEPLINE_GOOGLE_CLIENT_ID",
        None,
        'OAuth client id of a Google Cloud "Web application" client; unset, the Connections '
        "page says Google is not configured",
    )
    google_client_secret: SecretStr | None = variable(
        "STEPLINE_GOOGLE_CLIENT_SECRET", None, "that client's secret"
    )
    google_server_metadata_url: str = variable(
        "STEPLINE_GOOGLE_SERVER_METADATA_URL",
        "https://accounts.google.com/.well-known/openid-configuration",
        "Google's OpenID discovery document (token, revocation and userinfo endpoints; tests "
        "point it at a fake Google)",
    )
    google_api_base_urls: Annotated[dict[str, str], NoDecode] = variable(
        "STEPLINE_GOOGLE_API_BASE_URLS",
        GOOGLE_API_BASE_URLS,
        "base URLs of the Gmail, Sheets, Drive and Calendar APIs, as "
        "`gmail=URL,sheets=URL,drive=URL,calendar=URL` (any subset), or one URL serving all "
        "four under `/gmail/v1`, `/v4`, `/drive/v3`, `/calendar/v3`",
    )
    google_poll_interval: float = variable(
        "STEPLINE_GOOGLE_POLL_INTERVAL", 60.0, "seconds between two polls of one Google trigger"
    )
    poll_interval: float = variable(
        "STEPLINE_POLL_INTERVAL",
        60.0,
        "seconds between two polls of one email (IMAP) or Telegram trigger",
    )

    @field_validator("google_api_base_urls", mode="before")
    @classmethod
    def _google_urls(cls, value: Any) -> Any:
        if isinstance(value, str):  # the variable: merged onto Google's own URLs
            return {**GOOGLE_API_BASE_URLS, **parse_base_urls(value)}
        return value
