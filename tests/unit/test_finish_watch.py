"""The finish watch's bookkeeping: waiters registered per execution id and woken by it."""

from __future__ import annotations

import time

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.engine.ledger import postgres, sql
from app.services.executions.finish_watch import FinishWatch
from app.services.webhooks import receiver


def _watch() -> FinishWatch:
    return FinishWatch(create_engine("sqlite://"), fallback_poll=2.0)


def test_the_finishing_statement_notifies_on_the_watched_channel() -> None:
    assert f"pg_notify('{sql.FINISHED_CHANNEL}', CASE" in postgres.record_and_finish_pg.sql
    assert f"<= {sql.NOTICE_OUTPUT_BYTES}" in postgres.record_and_finish_pg.sql
    assert "pg_notify" not in postgres.record_and_finish_quietly_pg.sql


def test_only_runs_of_a_webhook_in_wait_mode_are_waited_for() -> None:
    def snapshot(kind: str, **config: str) -> dict[str, object]:
        return {"trigger": {"type": kind, "config": config}, "actions": []}

    assert postgres.waited(snapshot("webhook", response_mode="wait"))
    assert not postgres.waited(snapshot("webhook", response_mode="immediate"))
    assert not postgres.waited(snapshot("webhook"))
    assert not postgres.waited(snapshot("schedule", response_mode="wait"))
    assert not postgres.waited({"actions": []})


def test_sqlite_has_no_listener_so_waiters_poll() -> None:
    watch = _watch()
    assert watch.start() is False
    assert not watch.listening.is_set()


def test_a_finish_wakes_only_the_waiters_of_that_execution() -> None:
    watch = _watch()
    with watch.waiting(7) as seven, watch.waiting(7) as again, watch.waiting(8) as eight:
        assert watch.waiters() == 3
        watch._wake(7)
        assert seven.is_set() and again.is_set()
        assert not eight.is_set()
        watch._wake_all()  # the listener lost or regained its connection
        assert eight.is_set()
    assert watch.waiters() == 0
    watch._wake(7)  # nobody waits: nothing happens


def test_a_run_heard_finishing_before_its_waiter_came_wakes_it_at_once() -> None:
    watch = _watch()
    watch._wake(9)  # the notice arrived first
    with watch.waiting(9) as nine, watch.waiting(10) as ten:
        assert nine.is_set()
        assert not ten.is_set()


def test_a_notice_carrying_the_output_is_kept_for_its_waiters_only() -> None:
    watch = _watch()
    watch._hear('11 {"answer": 42}')  # nobody waits for 11: only its id is remembered
    with watch.waiting(11) as eleven, watch.waiting(12) as twelve:
        assert eleven.is_set()
        assert watch.heard_output(11) is None
        watch._hear('12 {"answer": 43}')
        assert twelve.is_set()
        assert watch.heard_output(12) == '{"answer": 43}'
        watch._hear("13")  # a notice without output (a failure, a cancel, an output too big)
        assert watch.heard_output(13) is None
    assert watch.heard_output(12) is None  # dropped with its last waiter


def test_a_waiter_woken_by_a_notice_with_the_output_answers_without_reading_the_row() -> None:
    def no_read() -> Session:
        raise AssertionError("the row was read")

    watch = _watch()
    with watch.waiting(5):
        watch._hear('5 {"answer": 42}')
        outcome = receiver._poll(no_read, 5, 10.0, time.monotonic, time.sleep, watch)
    assert outcome == receiver.Outcome(5, "completed", {"answer": 42})
