"""Parsing of single setting values (app/settings.py): Google's API base URLs, database URLs,
the public URL and the cookies it makes Secure; the source that reads each field from its own
variable, and the error a malformed value raises. No Flask here: the core reads these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

if TYPE_CHECKING:  # app.settings imports this module
    from app.settings import Settings

GOOGLE_APIS = ("gmail", "sheets", "drive", "calendar")
GOOGLE_API_BASE_URLS = {
    "gmail": "https://gmail.googleapis.com/gmail/v1",
    "sheets": "https://sheets.googleapis.com/v4",
    "drive": "https://www.googleapis.com/drive/v3",
    "calendar": "https://www.googleapis.com/calendar/v3",
}


def variable(name: str, default: Any, description: str) -> Any:
    """A settings field read from the environment variable `name`; `description` is the
    README's text."""
    return Field(default, validation_alias=name, description=description)


class DeclaredVariables(EnvSettingsSource):
    """Reads each field from its declared variable only (its `validation_alias`): a field
    without one is never read from the environment, whatever variables happen to be set."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if not isinstance(field.validation_alias, str):
            return None, field_name, False
        return self.env_vars.get(field.validation_alias), field.validation_alias, False


class SettingsError(RuntimeError):
    """A setting is malformed; the message names its environment variable (or mapping key)."""


def parse_base_urls(value: str) -> dict[str, str]:
    """`gmail=https://...,sheets=https://...` (or one URL for all four Google APIs)."""
    value = value.strip()
    if "=" not in value:
        base = value.rstrip("/")
        return {
            "gmail": f"{base}/gmail/v1",
            "sheets": f"{base}/v4",
            "drive": f"{base}/drive/v3",
            "calendar": f"{base}/calendar/v3",
        }
    urls: dict[str, str] = {}
    for item in value.split(","):
        name, _, url = item.partition("=")
        name = name.strip()
        if name not in GOOGLE_APIS or not url.strip():
            raise SettingsError(
                f"STEPLINE_GOOGLE_API_BASE_URLS: expected name=url with a name among "
                f"{', '.join(GOOGLE_APIS)}, got {item.strip()!r}"
            )
        urls[name] = url.strip().rstrip("/")
    return urls


def normalize_database_url(url: str) -> str:
    """Make PostgreSQL URLs use psycopg 3 whatever spelling the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def public_url(value: str) -> str:
    """STEPLINE_PUBLIC_URL: an http(s) address, without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"expected an http(s) URL such as https://stepline.example.com, got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"expected a URL without a query or fragment, got {value!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def cookies_secure(settings: Settings) -> bool | None:
    """Cookies are Secure always (True), never (False), or on requests that arrived over https
    (None): SESSION_COOKIE_SECURE when set, else True for an https STEPLINE_PUBLIC_URL."""
    if settings.session_cookie_secure is not None:
        return settings.session_cookie_secure
    public_url = settings.public_url
    return True if public_url and public_url.startswith("https://") else None
