"""The Google scopes Stepline asks for, one per service a user can grant (incremental
authorization: a connection holds what was granted so far, and can be extended later)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

IDENTITY = ("openid", "email")
GMAIL_READ = "https://www.googleapis.com/auth/gmail.readonly"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
SHEETS = "https://www.googleapis.com/auth/spreadsheets"
DRIVE_READ = "https://www.googleapis.com/auth/drive.readonly"
CALENDAR_READ = "https://www.googleapis.com/auth/calendar.readonly"

# Broader scopes a user may have granted elsewhere that include the one we need.
_INCLUDED_IN = {
    GMAIL_READ: ("https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"),
    GMAIL_SEND: (
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.compose",
    ),
    DRIVE_READ: ("https://www.googleapis.com/auth/drive",),
    CALENDAR_READ: ("https://www.googleapis.com/auth/calendar",),
}


@dataclass(frozen=True)
class Service:
    """What a user ticks on the Connections page: a label and the scope it grants."""

    key: str
    label: str
    scope: str


SERVICES = (
    Service("gmail_read", "Gmail: read messages", GMAIL_READ),
    Service("gmail_send", "Gmail: send messages", GMAIL_SEND),
    Service("sheets", "Google Sheets: read and write", SHEETS),
    Service("drive_read", "Google Drive: read files", DRIVE_READ),
    Service("calendar_read", "Google Calendar: read events", CALENDAR_READ),
)
BY_KEY = {service.key: service for service in SERVICES}


def has_scope(granted: Iterable[str], needed: str) -> bool:
    """Whether `granted` covers `needed` (itself or a broader scope)."""
    held = set(granted)
    return needed in held or any(broader in held for broader in _INCLUDED_IN.get(needed, ()))


def requested(keys: Iterable[str]) -> list[str]:
    """The scopes to request for the chosen services (identity first); unknown keys ignored."""
    chosen = [BY_KEY[key].scope for key in keys if key in BY_KEY]
    return [*IDENTITY, *chosen]


def services_of(granted: Iterable[str]) -> list[Service]:
    """The services a connection's scopes cover, in display order."""
    held = list(granted)
    return [service for service in SERVICES if has_scope(held, service.scope)]


def label(scope: str) -> str:
    """A person's name for a scope (the scope itself when it is not one of ours)."""
    for service in SERVICES:
        if service.scope == scope:
            return service.label
    return scope
