"""Validation messages in plain words, beside the field they are about.

Pydantic's messages ("Field required", "Value error, a body is set but body_type is 'none'")
are written for developers. The panel shows each one translated, next to its input; a message
about the whole config (a model validator's) is moved to the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rule(pattern: str, answer: str | Callable[[re.Match[str]], str]) -> Rule:
    if isinstance(answer, str):
        text = answer
        return re.compile(pattern, re.IGNORECASE), lambda _match: text
    return re.compile(pattern, re.IGNORECASE), answer


def _range(word: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"Enter {word} {m.group(1)}."


# Pydantic's own messages (pydantic-core error texts), first match wins.
GENERIC: tuple[Rule, ...] = (
    _rule(r"^Field required$", "Required."),
    _rule(r"^String should have at least 1 character", "Required."),
    _rule(
        r"^String should have at least (\d+) characters",
        lambda m: f"Use at least {m[1]} characters.",
    ),
    _rule(
        r"^String should have at most (\d+) characters?",
        lambda m: f"Use at most {m[1]} characters.",
    ),
    _rule(r"^List should have at least 1 item", "Add at least one."),
    _rule(r"^List should have at least (\d+) items", lambda m: f"Add at least {m[1]}."),
    _rule(r"^List should have at most (\d+) items?", lambda m: f"Keep at most {m[1]}."),
    _rule(r"^Input should be greater than or equal to (\S+)", _range("at least")),
    _rule(r"^Input should be greater than (\S+)", _range("a number above")),
    _rule(r"^Input should be less than or equal to (\S+)", _range("at most")),
    _rule(r"^Input should be less than (\S+)", _range("a number below")),
    _rule(r"^Input should be a valid integer", "Enter a whole number."),
    _rule(r"^Input should be a valid number", "Enter a number."),
    _rule(r"^Input should be a valid boolean", "Choose yes or no."),
    _rule(r"^Input should be a valid string", "Enter text."),
    _rule(r"^Input should be a valid dictionary", "Give fields as rows: a name and a value each."),
    _rule(r"^Input should be a valid list", "Give a list: one item per row."),
    _rule(
        r"^Input should be (('[^']*'(, | or )?)+)$",
        lambda m: "Choose one of: " + ", ".join(re.findall(r"'([^']*)'", m[1])) + ".",
    ),
    _rule(r"^String should match pattern", "This is not in the expected form."),
    _rule(r"^Extra inputs are not permitted", "Not a setting of this step: remove it."),
)

# Messages of the built-in models' validators: (pattern, the field it is about, plain words).
# A field of None keeps the field the message came with.
SPECIFIC: tuple[tuple[re.Pattern[str], str | None, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), field, words)
    for pattern, field, words in (
        (
            r"a body is set but body_type is 'none'",
            "body",
            "Choose a body type, or leave the body empty.",
        ),
        (
            r"a text body must be a string",
            "body",
            "A text body is plain text: choose JSON to send a structure.",
        ),
        (
            r"a form body must be an object of fields",
            "body",
            "Give the form's fields as rows: a name and a value each.",
        ),
        (r"auth_type '(bearer)' needs", "auth_token", "Required for bearer authentication."),
        (
            r"auth_type '(basic)' needs auth_username",
            "auth_username",
            "Required for basic authentication.",
        ),
        (
            r"auth_type '(basic)' needs auth_password",
            "auth_password",
            "Required for basic authentication.",
        ),
        (
            r"auth_type '(header)' needs auth_header_name",
            "auth_header_name",
            "Required: the header that carries the token.",
        ),
        (
            r"auth_type '(header)' needs auth_token",
            "auth_token",
            "Required: the token the header carries.",
        ),
        (
            r"basic-auth user name cannot contain ':'",
            "auth_username",
            "A user name for basic authentication cannot contain “:”.",
        ),
        (
            r"auth_header_name must be a header name",
            "auth_header_name",
            "Enter a header name, e.g. X-Api-Key.",
        ),
        (
            r"credentials cannot hold line breaks",
            "auth_token",
            "Credentials cannot hold line breaks.",
        ),
        (
            r"must be an http:// or https:// URL with a host",
            None,
            "Enter a full web address, starting with https:// (or http://).",
        ),
        (
            r"header names must be tokens",
            None,
            "A header name is one word, e.g. X-Request-Id; a value fits on one line.",
        ),
        (
            r"only 4xx statuses can be added",
            None,
            "Only statuses from 400 to 499: 5xx and 429 are always retried.",
        ),
        (
            r"via 'webhook' needs webhook_url",
            "webhook_url",
            "Enter the Slack webhook URL (https://hooks.slack.com/…).",
        ),
        (
            r"via 'bot' needs bot_token",
            "bot_token",
            "A bot needs its token (xoxb-…) and a channel.",
        ),
        (r"give at least one recipient", "to", "Required: at least one recipient."),
        (
            r"give a text body, an HTML body, or both",
            "body_text",
            "Write a text body, an HTML body, or both.",
        ),
        (r"line breaks are not allowed in email headers", None, "Keep this on one line."),
        (
            r"blocks must be a JSON list of blocks",
            None,
            'Give the blocks as a JSON list, e.g. [{"type": "section", …}].',
        ),
        (
            r"the timeout is over 30 days",
            "timeout_amount",
            "Wait at most 30 days (720 hours).",
        ),
    )
)


WORDS = {"url": "URL", "api": "API", "id": "ID", "ts": "TS", "json": "JSON", "http": "HTTP"}


def label(name: str) -> str:
    """A field's name as people read it: `auth_token` → "Auth token", `url` → "URL"."""
    text = " ".join(WORDS.get(word, word) for word in name.split("_"))
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def plain(message: str) -> str:
    """The message in plain words (validator messages lose their "Value error, " prefix)."""
    text = re.sub(r"^(Value error|Assertion failed), ", "", message.strip())
    for pattern, _field, words in SPECIFIC:
        if pattern.search(text):
            return words
    for pattern, answer in GENERIC:
        match = pattern.search(text)
        if match:
            return answer(match)
    return _sentence(text)


def locate(message: str, names: Iterable[str]) -> str | None:
    """The config field a message about the whole config is about: the one a known message
    names, else the first of `names` the message mentions."""
    text = re.sub(r"^(Value error|Assertion failed), ", "", message.strip())
    known = list(names)
    for pattern, field, _words in SPECIFIC:
        if pattern.search(text) and field in known:
            return field
    for name in sorted(known, key=len, reverse=True):
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text):
            return name
    return None
