"""The finish watch's bookkeeping: waiters registered per execution id and woken by it."""

from __future__ import annotations

from sqlalchemy import create_engine

from app.engine.ledger import postgres, sql
from app.services.executions.finish_watch import FinishWatch


def _watch() -> FinishWatch:
    return FinishWatch(create_engine("sqlite://"), fallback_poll=2.0)


def test_the_finishing_statement_notifies_on_the_watched_channel() -> None:
    assert f"pg_notify('{sql.FINISHED_CHANNEL}', id::text)" in postgres.record_and_finish_pg.sql
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
