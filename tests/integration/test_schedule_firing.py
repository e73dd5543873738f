"""Schedule triggers with a controllable clock: the right slots in a non-UTC zone across DST,
catch-up after downtime, each slot once, disabled workflows silent, back-pressure.

Times are in 2099 (the same calendar as 2026): no real-clock scheduler thread of another app
sharing the test database ever finds these triggers due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app.extensions import container, db
from app.models import Workflow
from app.scheduler import Scheduler
from app.services.errors import InvalidInputError
from app.services.scheduling import schedules
from app.services.workflows import crud
from tests.hooks_support import trigger_row
from tests.schedule_support import Clocked


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def test_slots_follow_the_wall_clock_across_a_dst_change(app: Flask) -> None:
    # Given 02:30 and 09:30 every day in Berlin, enabled on 27 March 2099; DST starts on the
    # 29th, when 02:30 does not exist
    clocked = Clocked(
        app,
        {"cron": "30 2,9 * * *", "timezone": "Europe/Berlin", "overlap": "allow"},
        enabled_at=utc(2099, 3, 27, 12),
    )

    # When the scheduler runs a second after each due time for three days
    for _ in range(6):
        due = clocked.next_run_at
        assert due is not None
        assert clocked.fire(due + timedelta(seconds=1)) == 1

    # Then each slot fired once, at its local wall time (02:30 moved to 03:30 on the 29th)
    assert clocked.fired_at() == [
        "2099-03-28T01:30:00+00:00",  # 02:30 CET
        "2099-03-28T08:30:00+00:00",  # 09:30 CET
        "2099-03-29T01:30:00+00:00",  # 03:30 CEST: the skipped 02:30
        "2099-03-29T07:30:00+00:00",  # 09:30 CEST
        "2099-03-30T00:30:00+00:00",  # 02:30 CEST
        "2099-03-30T07:30:00+00:00",
    ]
    local = [e.trigger_data["scheduled_at_local"] for e in clocked.executions()]
    assert local[2] == "2099-03-29T03:30:00+02:00" and local[5] == "2099-03-30T09:30:00+02:00"
    assert clocked.next_run_at == utc(2099, 3, 31, 0, 30)


def test_nothing_fires_before_its_time(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "0 * * * *"}, enabled_at=utc(2099, 5, 1, 10, 5))

    assert clocked.fire(utc(2099, 5, 1, 10, 59, 59)) == 0
    assert clocked.executions() == []
    assert clocked.fire(utc(2099, 5, 1, 11, 0, 0)) == 1
    assert clocked.fired_at() == ["2099-05-01T11:00:00+00:00"]


def test_after_a_60_slot_gap_run_once_fires_once_not_60_times(app: Flask) -> None:
    # Given a one-minute schedule that fired at 12:00, then a scheduler down for an hour
    clocked = Clocked(app, {"cron": "* * * * *", "overlap": "allow"}, utc(2099, 5, 1, 11, 59, 30))
    clocked.fire(utc(2099, 5, 1, 12, 0, 1))

    # When the scheduler comes back at 13:00:30 (slots 12:01 … 13:00 due: 60 of them)
    handled = clocked.fire(utc(2099, 5, 1, 13, 0, 30))

    # Then one run covers them all, and the next slot is the coming minute
    assert handled == 1
    assert clocked.fired_at() == ["2099-05-01T12:00:00+00:00", "2099-05-01T13:00:00+00:00"]
    assert clocked.next_run_at == utc(2099, 5, 1, 13, 1)


@pytest.mark.parametrize(("policy", "expected"), [("run_once", 1), ("skip", 0)])
def test_a_slot_missed_by_downtime_follows_the_catch_up_policy(
    app: Flask, policy: str, expected: int
) -> None:
    # Given an hourly schedule and a scheduler down from 10:55 to 11:30 (11:00 missed)
    clocked = Clocked(app, {"cron": "0 * * * *", "catch_up": policy}, utc(2099, 5, 1, 10, 55))

    clocked.fire(utc(2099, 5, 1, 11, 30))

    # Then run_once runs it once, late and marked so; skip does not; both wait for 12:00 next
    executions = clocked.executions()
    assert len(executions) == expected
    if executions:
        assert executions[0].trigger_data["missed"] is True
        assert executions[0].trigger_data["scheduled_at"] == "2099-05-01T11:00:00+00:00"
    assert clocked.next_run_at == utc(2099, 5, 1, 12)
    clocked.finish_all()
    assert clocked.fire(utc(2099, 5, 1, 12, 0, 2)) == 1
    assert len(clocked.executions()) == expected + 1


def test_a_slot_fires_once_even_if_next_run_at_is_moved_back(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "*/10 * * * *", "overlap": "allow"}, utc(2099, 5, 1, 9, 55))
    clocked.fire(utc(2099, 5, 1, 10, 0, 1))

    # When next_run_at is rewound to the slot that already fired (a second scheduler that read
    # an old value, an operator's edit)
    clocked.set_next_run_at(utc(2099, 5, 1, 10, 0))
    clocked.fire(utc(2099, 5, 1, 10, 0, 3))

    # Then the recorded slot does not fire again
    assert clocked.fired_at() == ["2099-05-01T10:00:00+00:00"]
    assert clocked.slots() == [("2099-05-01T10:00:00+00:00", "fired")]
    assert clocked.next_run_at == utc(2099, 5, 1, 10, 10)


def test_a_disabled_workflow_does_not_fire(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "* * * * *"}, utc(2099, 5, 1, 10, 0, 30))
    with app.app_context():
        workflow = db.session.get(Workflow, clocked.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)
    assert clocked.next_run_at is None

    clocked.set_next_run_at(utc(2099, 5, 1, 10, 1))  # even with a due time left behind
    assert clocked.fire(utc(2099, 5, 1, 10, 5)) == 0
    assert clocked.executions() == []


def test_enabling_arms_the_next_slot_from_now(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "*/5 * * * *"}, utc(2099, 5, 1, 10, 0))
    with app.app_context():
        workflow = db.session.get(Workflow, clocked.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)
        before = datetime.now(UTC)
        crud.set_enabled(db.session(), workflow, True, container().handlers)
    armed = trigger_row(app, clocked.workflow_id).next_run_at
    assert armed is not None and before < armed <= before + timedelta(minutes=5)
    assert armed.minute % 5 == 0 and armed.second == 0


def test_a_full_queue_makes_schedules_wait_for_a_later_tick(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "* * * * *"}, utc(2099, 5, 1, 10, 0, 30))
    stepline = container(app)
    now = utc(2099, 5, 1, 10, 1, 1)
    busy = Scheduler(stepline, clocked.send, queue_depth=lambda: 10**6, wallclock=lambda: now)
    idle = Scheduler(stepline, clocked.send, queue_depth=lambda: 0, wallclock=lambda: now)

    assert busy.fire_schedules() == 0
    assert clocked.executions() == []
    assert idle.fire_schedules() == 1  # the due slot was kept, not dropped
    assert len(clocked.executions()) == 1


def test_the_editor_preview_lists_the_next_five_times_in_the_zone() -> None:
    times = schedules.upcoming(
        {"cron": "0 9 * * 1-5", "timezone": "America/New_York"}, utc(2099, 3, 6, 15)
    )

    assert [t.isoformat() for t in times] == [
        "2099-03-09T09:00:00-04:00",  # Monday, after the DST change on Sunday the 8th
        "2099-03-10T09:00:00-04:00",
        "2099-03-11T09:00:00-04:00",
        "2099-03-12T09:00:00-04:00",
        "2099-03-13T09:00:00-04:00",
    ]
    with pytest.raises(InvalidInputError) as bad_zone:
        schedules.upcoming({"cron": "0 9 * * *", "timezone": "Europe/Pariss"})
    assert bad_zone.value.field == "trigger.config.timezone"
    assert "Unknown time zone 'Europe/Pariss'" in bad_zone.value.message
    with pytest.raises(InvalidInputError) as bad_cron:
        schedules.upcoming({"cron": "0 9 * *"})
    assert bad_cron.value.field == "trigger.config.cron"
    assert "5 fields" in bad_cron.value.message
