"""The timeout of a step that waits (wait_for_call, approval, run_workflow): an amount and a
unit, at most 30 days in all (app.engine.waits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}
MAX_WAIT_SECONDS = 30 * 86400


def seconds(amount: float, unit: str) -> float:
    return amount * UNIT_SECONDS[unit]


def too_long(amount: float, unit: str) -> bool:
    return seconds(amount, unit) > MAX_WAIT_SECONDS


def deadline(amount: float, unit: str) -> datetime:
    """When a wait that starts now times out."""
    return datetime.now(UTC) + timedelta(seconds=seconds(amount, unit))


def words(amount: float, unit: str) -> str:
    """`2 days`, `1 hour`, `1.5 hours`."""
    number = int(amount) if float(amount).is_integer() else amount
    return f"{number} {unit[:-1] if number == 1 else unit}"
