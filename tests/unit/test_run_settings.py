"""services.workflows.run_settings: the time zone and time limits as the settings form types
them."""

from __future__ import annotations

import pytest

from app.services.workflows.run_settings import (
    RUN_UNITS,
    STEP_UNITS,
    Limit,
    RunSettings,
    as_limit,
    merged,
    parse,
    timezones,
)


def test_typed_settings_become_seconds_and_the_defaults_are_left_out() -> None:
    values, problems = parse(RunSettings("Europe/Paris", Limit("1.5", "hours"), Limit("", "")))

    assert problems == []
    assert values == {
        "timezone": "Europe/Paris",
        "time_limit_seconds": 5400,
        "step_time_limit_seconds": None,
    }
    kept = {"on_failure": {"notify": True}, "time_limit_seconds": 60}
    assert merged(kept, values) == {
        "on_failure": {"notify": True},
        "timezone": "Europe/Paris",
        "time_limit_seconds": 5400,
    }
    assert merged(kept, {"timezone": "UTC"}) == {"on_failure": {"notify": True}}


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        (RunSettings("Mars/Base"), "settings.timezone", "Pick a time zone"),
        (RunSettings("Europe"), "settings.timezone", "Pick a time zone"),
        (RunSettings("../etc/passwd"), "settings.timezone", "Pick a time zone"),
        (RunSettings("x" * 80), "settings.timezone", "Pick a time zone"),
        (
            RunSettings(time_limit=Limit("31", "days")),
            "settings.time_limit_seconds",
            "At most 30 days.",
        ),
        (
            RunSettings(time_limit=Limit("1e400", "days")),
            "settings.time_limit_seconds",
            "Give a number",
        ),
        (
            RunSettings(time_limit=Limit("2", "seconds")),
            "settings.time_limit_seconds",
            "Pick a unit",
        ),
        (
            RunSettings(step_time_limit=Limit("25", "hours")),
            "settings.step_time_limit_seconds",
            "At most 1 day.",
        ),
        (
            RunSettings(step_time_limit=Limit("0.2", "seconds")),
            "settings.step_time_limit_seconds",
            "At least 1 second.",
        ),
    ],
)
def test_each_bad_value_is_named_with_a_plain_message(
    typed: RunSettings, field: str, message: str
) -> None:
    _, problems = parse(typed)

    assert [p.field for p in problems] == [field]
    assert problems[0].message.startswith(message)


def test_stored_limits_show_in_the_largest_unit_that_divides_them() -> None:
    assert as_limit(7200, RUN_UNITS) == Limit("2", "hours")
    assert as_limit(90, STEP_UNITS) == Limit("90", "seconds")
    assert as_limit(86400 * 3, RUN_UNITS) == Limit("3", "days")
    # a limit the API set to the second shows as a fraction that parses back to it
    odd = as_limit(2592001 - 86400, RUN_UNITS)
    assert odd.unit == "minutes" and parse(RunSettings(time_limit=odd))[0][
        "time_limit_seconds"
    ] == (2592001 - 86400)
    assert as_limit(None, RUN_UNITS) == Limit("", "hours")


def test_the_zone_suggestions_start_with_utc_and_hold_the_named_zones() -> None:
    zones = timezones()

    assert zones[0] == "UTC" and "Europe/Paris" in zones and "America/New_York" in zones
    assert len(zones) == len(set(zones))
