"""Secrets out of what is stored and shown: a step's rendered input, output and errors."""

from __future__ import annotations

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
