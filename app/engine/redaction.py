"""Secrets out of what is stored and shown: a step's rendered input, output and errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

REDACTED = "••••••"  # what a secret value reads as wherever it is shown


def secret_values(config: Mapping[str, Any], names: frozenset[str]) -> list[str]:
    """The non-empty string values of `config`'s secret fields `names`."""
    return [v for k, v in config.items() if k in names and isinstance(v, str) and v]


def redact(value: Any, secrets: list[str]) -> Any:
    """Replace every occurrence of a secret value inside strings of `value`."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


class RedactingAdapter(logging.LoggerAdapter[logging.Logger]):
    """A step's logger: its messages are formatted, then the secret values redacted (the list
    is the executor's, so credentials the step reads later are redacted too)."""

    def __init__(
        self, logger: logging.Logger, extra: Mapping[str, object], secrets: list[str]
    ) -> None:
        super().__init__(logger, extra)
        self.secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level) and self.secrets:
            text = str(msg) % args if args else str(msg)
            msg, args = redact(text, self.secrets), ()
        super().log(level, msg, *args, **kwargs)
