"""Overlap policies: a slot due while the previous run is still going is skipped, queued
behind it, or allowed to overlap.

Times are in 2099 (the same calendar as 2026): no real-clock scheduler thread of another app
sharing the test database ever finds these triggers due."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from tests.schedule_support import Clocked


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def test_skip_drops_a_slot_while_the_previous_run_is_going(app: Flask) -> None:
    # Given a five-minute schedule whose 10:00 run is still going at 10:05
    clocked = Clocked(app, {"cron": "*/5 * * * *", "overlap": "skip"}, utc(2099, 5, 1, 9, 58))
    clocked.fire(utc(2099, 5, 1, 10, 0, 1))

    # When the 10:05 slot comes
    clocked.fire(utc(2099, 5, 1, 10, 5, 1))

    # Then it is recorded as skipped and nothing new runs
    assert clocked.fired_at() == ["2099-05-01T10:00:00+00:00"]
    assert clocked.slots() == [
        ("2099-05-01T10:00:00+00:00", "fired"),
        ("2099-05-01T10:05:00+00:00", "skipped"),
    ]
    # and once the run has finished, the next slot fires normally
    clocked.finish_all()
    clocked.fire(utc(2099, 5, 1, 10, 10, 1))
    assert clocked.fired_at()[-1] == "2099-05-01T10:10:00+00:00"
    assert len(clocked.sent) == 2


def test_queue_starts_the_slot_when_the_previous_run_has_finished(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "*/5 * * * *", "overlap": "queue"}, utc(2099, 5, 1, 9, 58))
    clocked.fire(utc(2099, 5, 1, 10, 0, 1))
    clocked.fire(utc(2099, 5, 1, 10, 5, 1))
    clocked.fire(utc(2099, 5, 1, 10, 10, 1))

    # While the 10:00 run goes on, 10:05 and 10:10 wait in order
    assert len(clocked.executions()) == 1
    assert [status for _, status in clocked.slots()] == ["fired", "queued", "queued"]
    assert clocked.start_queued(utc(2099, 5, 1, 10, 11)) == 0

    # When it finishes, the next pass starts 10:05 (only), then 10:10 after that one
    clocked.finish_all()
    clocked.fire(utc(2099, 5, 1, 10, 12))
    assert clocked.fired_at() == ["2099-05-01T10:00:00+00:00", "2099-05-01T10:05:00+00:00"]
    clocked.finish_all()
    clocked.fire(utc(2099, 5, 1, 10, 13))
    assert clocked.fired_at()[-1] == "2099-05-01T10:10:00+00:00"
    assert [status for _, status in clocked.slots()] == ["fired"] * 3


def test_allow_overlaps_runs(app: Flask) -> None:
    clocked = Clocked(app, {"cron": "*/5 * * * *", "overlap": "allow"}, utc(2099, 5, 1, 9, 58))

    clocked.fire(utc(2099, 5, 1, 10, 0, 1))
    clocked.fire(utc(2099, 5, 1, 10, 5, 1))

    assert [e.status for e in clocked.executions()] == ["pending", "pending"]
    assert len(clocked.sent) == 2


def test_disabling_drops_queued_slots(app: Flask) -> None:
    from app.extensions import container, db
    from app.models import Workflow
    from app.services.workflows import crud

    clocked = Clocked(app, {"cron": "*/5 * * * *", "overlap": "queue"}, utc(2099, 5, 1, 9, 58))
    clocked.fire(utc(2099, 5, 1, 10, 0, 1))
    clocked.fire(utc(2099, 5, 1, 10, 5, 1))

    with app.app_context():
        workflow = db.session.get(Workflow, clocked.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)
    clocked.finish_all()

    assert clocked.start_queued(utc(2099, 5, 1, 10, 6)) == 0
    assert [status for _, status in clocked.slots()] == ["fired", "skipped"]
