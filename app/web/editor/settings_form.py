"""The run settings of the workflow settings panel: time zone, run time limit, step time limit
(services.workflows.run_settings), as inputs: a time zone typed with suggestions, each limit an
amount and a unit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.services.workflows import run_settings
from app.services.workflows.run_settings import RUN_UNITS, STEP_UNITS, Limit, RunSettings

TIMEZONE = "settings.timezone"
RUN_LIMIT = "settings.time_limit_seconds"  # the amount; its unit is RUN_LIMIT_UNIT
RUN_LIMIT_UNIT = "settings.time_limit_unit"
STEP_LIMIT = "settings.step_time_limit_seconds"
STEP_LIMIT_UNIT = "settings.step_time_limit_unit"
# The inputs a refused field's message can go beside (its dotted path is the input's name).
INPUTS = (TIMEZONE, RUN_LIMIT, STEP_LIMIT)
UNITS = {RUN_LIMIT_UNIT: RUN_UNITS, STEP_LIMIT_UNIT: STEP_UNITS}


def values(settings: Mapping[str, Any] | None) -> dict[str, str]:
    """The inputs' values for stored settings (a draft's)."""
    shown = run_settings.shown(settings)
    return {
        TIMEZONE: shown.timezone,
        RUN_LIMIT: shown.time_limit.amount,
        RUN_LIMIT_UNIT: shown.time_limit.unit,
        STEP_LIMIT: shown.step_time_limit.amount,
        STEP_LIMIT_UNIT: shown.step_time_limit.unit,
    }


def posted_values(form: Mapping[str, str]) -> dict[str, str]:
    """The inputs' values as posted (shown again beside their messages)."""
    return {name: str(form.get(name, "")) for name in (*INPUTS, RUN_LIMIT_UNIT, STEP_LIMIT_UNIT)}


def posted(form: Mapping[str, str]) -> RunSettings | None:
    """What the form typed; None when it has no run settings (a form from before them)."""
    if TIMEZONE not in form:
        return None
    return RunSettings(
        timezone=form.get(TIMEZONE, ""),
        time_limit=Limit(form.get(RUN_LIMIT, ""), form.get(RUN_LIMIT_UNIT, "")),
        step_time_limit=Limit(form.get(STEP_LIMIT, ""), form.get(STEP_LIMIT_UNIT, "")),
    )


def timezones() -> tuple[str, ...]:
    return run_settings.timezones()
