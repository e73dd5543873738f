"""The workflow settings that shape every run, as the editor's settings form edits them: the
time zone and the two time limits (specs.WorkflowSettings), each limit typed as an amount and
a unit ("2 hours"; blank: none).

Only these keys of `draft.spec["settings"]` are changed here; whatever else the settings hold
(what happens when a run fails) is kept as it is. A value equal to the default is left out, as
a saved workflow stores it (crud: `exclude_defaults`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.services.errors import InvalidInputError
from app.services.workflows.specs import MAX_RUN_SECONDS, MAX_STEP_SECONDS

DEFAULT_TIMEZONE = "UTC"
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
RUN_UNITS = ("minutes", "hours", "days")
STEP_UNITS = ("seconds", "minutes", "hours")
KEYS = ("timezone", "time_limit_seconds", "step_time_limit_seconds")


@cache
def timezones() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, sorted (UTC first): the form's suggestions."""
    names = sorted(name for name in available_timezones() if "/" in name or name == "UTC")
    return (DEFAULT_TIMEZONE, *(name for name in names if name != DEFAULT_TIMEZONE))


@dataclass(frozen=True)
class Limit:
    """A time limit as typed: an amount ("" for none) and a unit."""

    amount: str = ""
    unit: str = ""


@dataclass(frozen=True)
class RunSettings:
    """The form's values as typed."""

    timezone: str = DEFAULT_TIMEZONE
    time_limit: Limit = Limit()
    step_time_limit: Limit = Limit()


def _words(seconds: int) -> str:
    """ "30 days", "1 day": a maximum, in the largest unit that divides it."""
    unit = next(
        u for u in ("days", "hours", "minutes", "seconds") if seconds % UNIT_SECONDS[u] == 0
    )
    count = seconds // UNIT_SECONDS[unit]
    return f"{count} {unit[:-1] if count == 1 else unit}"


def limit_seconds(
    limit: Limit, field: str, units: tuple[str, ...], maximum: int
) -> tuple[int | None, InvalidInputError | None]:
    """The limit in seconds (None: no limit), or the problem with it, naming `field`."""
    amount = limit.amount.strip()
    if not amount:
        return None, None
    if limit.unit not in units:
        return None, InvalidInputError(f"Pick a unit: {', '.join(units)}.", field)
    try:
        number = float(amount)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        message = "Give a number greater than 0, or leave it blank for no limit."
        return None, InvalidInputError(message, field)
    seconds = number * UNIT_SECONDS[limit.unit]
    if seconds > maximum:
        return None, InvalidInputError(f"At most {_words(maximum)}.", field)
    if seconds < 1:
        return None, InvalidInputError("At least 1 second.", field)
    return round(seconds), None


def as_limit(seconds: Any, units: tuple[str, ...]) -> Limit:
    """A stored limit as the form shows it: in the largest unit that divides it."""
    if not isinstance(seconds, int) or seconds <= 0:
        return Limit("", units[1])
    for unit in reversed(units):
        if seconds % UNIT_SECONDS[unit] == 0:
            return Limit(str(seconds // UNIT_SECONDS[unit]), unit)
    smallest = units[0]  # (set by the API) a fraction of it, exact to the second
    return Limit(f"{seconds / UNIT_SECONDS[smallest]:.10g}", smallest)


def shown(settings: Mapping[str, Any] | None) -> RunSettings:
    """Stored settings (`workflows.settings`, a draft's) as the form shows them."""
    settings = settings or {}
    return RunSettings(
        timezone=str(settings.get("timezone") or DEFAULT_TIMEZONE),
        time_limit=as_limit(settings.get("time_limit_seconds"), RUN_UNITS),
        step_time_limit=as_limit(settings.get("step_time_limit_seconds"), STEP_UNITS),
    )


def parse(typed: RunSettings) -> tuple[dict[str, Any], list[InvalidInputError]]:
    """The settings' values from what was typed, and every problem, each naming its field
    (`settings.timezone`, `settings.time_limit_seconds`, `settings.step_time_limit_seconds`)."""
    problems: list[InvalidInputError] = []
    zone = typed.timezone.strip() or DEFAULT_TIMEZONE
    try:
        if len(zone) > 64:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        message = "Pick a time zone from the list, such as UTC or Europe/Paris."
        problems.append(InvalidInputError(message, "settings.timezone"))
    run, problem = limit_seconds(
        typed.time_limit, "settings.time_limit_seconds", RUN_UNITS, MAX_RUN_SECONDS
    )
    problems += [problem] if problem else []
    step, problem = limit_seconds(
        typed.step_time_limit, "settings.step_time_limit_seconds", STEP_UNITS, MAX_STEP_SECONDS
    )
    problems += [problem] if problem else []
    values = {"timezone": zone, "time_limit_seconds": run, "step_time_limit_seconds": step}
    return values, problems


def merged(current: Mapping[str, Any] | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """`current` settings with these keys set (left out when they are the default), the
    others kept."""
    settings = {k: v for k, v in (current or {}).items() if k not in KEYS}
    if values.get("timezone") and values["timezone"] != DEFAULT_TIMEZONE:
        settings["timezone"] = values["timezone"]
    for key in ("time_limit_seconds", "step_time_limit_seconds"):
        if values.get(key) is not None:
            settings[key] = values[key]
    return settings
