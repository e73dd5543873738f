"""The palette's categories of action and trigger kinds, in the order the editor shows them.

A handler names its category (`category` on the class); a plugin that names none is placed by
its type (PREFIXES: the kinds Stepline knows by name), else under OTHER.
"""

from __future__ import annotations

from typing import Any

CATEGORIES = ("Flow", "Messaging", "Email", "Data", "Google", "AI", "Developer")
OTHER = "More"
# Types (or type prefixes ending in "." or "_") of kinds that name no category, by category.
PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Flow", ("filter", "delay", "loop", "paths", "manual", "schedule", "cron")),
    ("Messaging", ("slack", "telegram", "discord")),
    ("Email", ("send_email", "email", "smtp", "imap")),
    ("Data", ("transform", "notion")),
    ("Google", ("google.", "gmail", "sheets", "drive", "calendar")),
    ("AI", ("llm", "openai")),
    ("Developer", ("http", "webhook", "log", "example")),
)


def category_of(handler: Any) -> str:
    """The palette category of an action or trigger handler (class or instance)."""
    declared = getattr(handler, "category", None)
    if isinstance(declared, str) and declared:
        return declared
    kind = str(getattr(handler, "type", ""))
    for name, prefixes in PREFIXES:
        if any(kind == p or kind.startswith(p if p.endswith(".") else p + "_") for p in prefixes):
            return name
    return OTHER


def ordered(names: set[str]) -> list[str]:
    """Category names in palette order: the known ones, then others by name, then OTHER."""
    known = [name for name in CATEGORIES if name in names]
    extra = sorted(names - {*CATEGORIES, OTHER})
    return known + extra + ([OTHER] if OTHER in names else [])
