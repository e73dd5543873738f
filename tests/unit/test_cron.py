"""Cron slots in a time zone, across DST changes; validation messages a person can act on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.triggers.cron import CronSchedule, check_expression, parse_zone


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def test_a_daily_time_keeps_its_wall_clock_hour_across_both_dst_changes() -> None:
    # Given 09:00 every day in Paris (CET = UTC+1, CEST = UTC+2 from 29 March 2026 to 25 Oct)
    schedule = CronSchedule.parse("0 9 * * *", "Europe/Paris")

    spring = schedule.upcoming(utc(2026, 3, 27, 12), 3)
    autumn = schedule.upcoming(utc(2026, 10, 23, 12), 3)

    # Then it runs at 09:00 local each day: 08:00 UTC in winter, 07:00 UTC in summer
    assert [s.astimezone(UTC) for s in spring] == [
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),
        utc(2026, 3, 30, 7),
    ]
    assert [s.astimezone(UTC) for s in autumn] == [
        utc(2026, 10, 24, 7),
        utc(2026, 10, 25, 8),
        utc(2026, 10, 26, 8),
    ]
    assert {s.hour for s in spring + autumn} == {9}


def test_a_time_skipped_by_spring_forward_runs_an_hour_later_that_day() -> None:
    # 02:30 does not exist in New York on 8 March 2026 (02:00 EST jumps to 03:00 EDT)
    schedule = CronSchedule.parse("30 2 * * *", "America/New_York")

    slots = schedule.upcoming(utc(2026, 3, 7, 0), 3)

    assert [s.isoformat() for s in slots] == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:30:00-04:00",  # once, at the old offset's 02:30 = 07:30 UTC
        "2026-03-09T02:30:00-04:00",
    ]


def test_a_time_repeated_by_fall_back_runs_once() -> None:
    # 01:30 happens twice in New York on 1 November 2026; the slot fires at the first one
    schedule = CronSchedule.parse("30 1 * * *", "America/New_York")

    slots = schedule.upcoming(utc(2026, 10, 31, 12), 2)

    assert [s.astimezone(UTC) for s in slots] == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_half_hourly_slots_stay_strictly_increasing_through_the_gap() -> None:
    schedule = CronSchedule.parse("*/30 * * * *", "Europe/Berlin")

    slots = [s.astimezone(UTC) for s in schedule.upcoming(utc(2026, 3, 29, 0, 10), 4)]

    # 02:00 and 02:30 do not exist: they map onto 03:00 and 03:30 CEST, each fired once
    assert slots == [
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2),
    ]


def test_latest_slot_at_or_before_a_moment() -> None:
    schedule = CronSchedule.parse("*/15 * * * *", "Asia/Kolkata")  # UTC+05:30

    assert schedule.latest_at_or_before(utc(2026, 1, 1, 10, 14)) == utc(2026, 1, 1, 10, 0)
    assert schedule.latest_at_or_before(utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 15)
    assert schedule.next_after(utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 30)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 5 fields"),
        ("* * * * * *", "has 5 fields"),
        ("61 * * * *", "Not a valid cron expression"),
        ("0 0 31 2 *", "never matches"),
        ("@sometimes", "Unknown cron alias"),
        ("", "has 5 fields"),
    ],
)
def test_bad_expressions_are_refused_with_a_clear_message(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_expression(expression)


def test_aliases_and_unknown_zones() -> None:
    assert check_expression("@DAILY") == "@daily"
    assert check_expression(" 0  9 * * 1-5 ") == "0 9 * * 1-5"
    with pytest.raises(ValueError, match=r"Unknown time zone 'Mars/Olympus'.*IANA"):
        parse_zone("Mars/Olympus")
    with pytest.raises(ValueError, match="Unknown time zone"):
        parse_zone("../../etc/passwd")
