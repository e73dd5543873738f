"""Wait mode by notification: a waiting webhook is answered when its run ends (PostgreSQL
LISTEN/NOTIFY through the process's one listener), and polling still answers when the
listener is down or a notification is lost.

The fallback poll is 60 s here, so only a notification (or the fast polling of a listener
that is down) can answer within the tests' deadlines. No worker runs until the test starts
it, so the run ends when the test says."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import update

from app.engine.ledger import sql
from app.extensions import container, db, embedded_worker
from app.models import Execution
from app.services.executions import lifecycle
from app.services.executions.finish_watch import FinishWatch
from app.services.webhooks import receiver
from tests.conftest import PG_ADMIN_URL
from tests.hooks_support import executions_of, make_hook, wait_until

STEPS: list[dict[str, Any]] = [
    {"key": "a", "type": "transform", "config": {"fields": {"n": "{{ trigger.body.n }}"}}},
    {"key": "b", "type": "transform", "config": {"fields": {"answer": "{{ steps.a.n + 1 }}"}}},
]
ANSWERED_WITHIN = 15.0  # seconds; the fallback poll is 60


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "EMBEDDED_WORKER": False}  # the test starts the worker


@pytest.fixture(autouse=True)
def _slow_fallback(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a notification (or a listener that is down) can answer within the deadlines."""
    watch = container(app).finish_watch
    monkeypatch.setattr(watch, "fallback_poll", 60.0)
    monkeypatch.setattr(watch, "retry", 60.0)  # a killed listener stays down for the test


@dataclass
class Waiter:
    """One wait-mode delivery sent from a thread of its own."""

    status: int = 0
    body: Any = None
    answered: threading.Event = field(default_factory=threading.Event)


def _send(app: Flask, url: str, n: int) -> Waiter:
    waiter = Waiter()

    def post() -> None:
        response = app.test_client().post(url, json={"n": n})
        waiter.status, waiter.body = response.status_code, response.get_json()
        waiter.answered.set()

    threading.Thread(target=post, daemon=True).start()
    return waiter


def _listening(app: Flask) -> bool:
    """Start the app's listener (on PostgreSQL) and wait until it listens."""
    watch = container(app).finish_watch
    if not watch.start():
        return False
    assert watch.listening.wait(10), "the finish listener never listened"
    return True


def _registered(app: Flask, count: int) -> None:
    watch = container(app).finish_watch
    if watch.supported:
        wait_until(lambda: watch.waiters() == count, 10, f"{count} registered waiters")


def _listen(app: Flask) -> psycopg.Connection[Any]:
    url = container(app).engine.url.set(drivername="postgresql")
    connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    connection.execute(f"LISTEN {sql.FINISHED_CHANNEL}")
    return connection


def _notices(connection: psycopg.Connection[Any]) -> list[str]:
    return [notice.payload for notice in connection.notifies(timeout=ANSWERED_WITHIN, stop_after=1)]


def test_a_waiting_request_is_answered_when_its_run_ends(app: Flask, backend: str) -> None:
    # Given a listening process and a wait-mode delivery whose run has not started
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, STEPS)
    listening = _listening(app)
    waiter = _send(app, hook.url, 41)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    _registered(app, 1)

    # When the worker runs it to the end
    embedded_worker(app).start()

    # Then the answer comes without waiting for the 60 s fallback poll
    assert waiter.answered.wait(ANSWERED_WITHIN)
    assert (waiter.status, waiter.body) == (200, {"answer": 42})
    if listening:
        assert container(app).finish_watch.listening.is_set()  # it was the notification
        assert container(app).finish_watch.waiters() == 0  # the waiter unregistered


def test_many_concurrent_waiters_are_all_answered(app: Flask) -> None:
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, STEPS)
    _listening(app)
    waiters = [_send(app, hook.url, n) for n in range(24)]
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 24, 20, "24 executions")
    _registered(app, 24)

    embedded_worker(app).start()

    for waiter in waiters:
        assert waiter.answered.wait(ANSWERED_WITHIN)
    assert sorted(w.body["answer"] for w in waiters) == list(range(1, 25))
    assert {w.status for w in waiters} == {200}


def test_a_failed_run_answers_its_waiter(app: Flask) -> None:
    # A run that fails ends through the portable ledger's transaction (not the one-statement
    # finish of a completed run): it notifies too.
    steps = [{"key": "boom", "type": "test_flaky", "config": {"succeed_on_attempt": 9}}]
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, steps)
    _listening(app)
    waiter = _send(app, hook.url, 1)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    _registered(app, 1)

    embedded_worker(app).start()

    assert waiter.answered.wait(ANSWERED_WITHIN)
    assert waiter.status == 502
    assert waiter.body["error"]["code"] == "execution_failed"


def test_a_cancelled_run_answers_its_waiter(app: Flask) -> None:
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, STEPS)
    _listening(app)
    waiter = _send(app, hook.url, 1)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    _registered(app, 1)

    (execution,) = executions_of(app, hook.workflow_id)
    with app.app_context():
        found = db.session.get(Execution, execution.id)
        assert found is not None
        lifecycle.cancel(db.session(), found)

    assert waiter.answered.wait(ANSWERED_WITHIN)
    assert waiter.status == 502
    assert waiter.body["error"]["code"] == "execution_cancelled"


def test_a_replayed_delivery_of_a_finished_run_answers_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run that ended before its delivery is sent again (its notice long gone)
    config = {"response_mode": "wait", "idempotency_key": "{{ trigger.body.n }}"}
    hook = make_hook(app, config, STEPS)
    _listening(app)
    embedded_worker(app).start()
    first = _send(app, hook.url, 9)
    assert first.answered.wait(ANSWERED_WITHIN)

    # When the same delivery comes again, to a process that never heard that run end (as
    # another gunicorn worker)
    stepline = container(app)
    other = FinishWatch(stepline.engine, fallback_poll=60.0)
    monkeypatch.setattr(stepline, "finish_watch", other)
    try:
        _listening(app)
        again = _send(app, hook.url, 9)

        # Then it is answered from the row, not after the 60 s fallback poll
        assert again.answered.wait(ANSWERED_WITHIN)
    finally:
        other.stop()
    assert (again.status, again.body) == (200, {"answer": 10})
    assert len(executions_of(app, hook.workflow_id)) == 1


# PostgreSQL only: SQLite has no listener (its waiters always poll).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_polling_answers_while_the_listener_is_down(app: Flask, backend: str) -> None:
    # Given a waiting delivery and a listener whose connection is then killed
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, STEPS)
    _listening(app)
    waiter = _send(app, hook.url, 6)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    _registered(app, 1)
    watch = container(app).finish_watch
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (watch.backend_pid,))
    wait_until(lambda: not watch.listening.is_set(), 10, "the listener to notice")

    # When the run ends while nobody listens (it reconnects only after 60 s)
    embedded_worker(app).start()

    # Then the waiter, back on the fast polling schedule, is answered all the same
    assert waiter.answered.wait(ANSWERED_WITHIN)
    assert (waiter.status, waiter.body) == (200, {"answer": 7})
    assert not watch.listening.is_set()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has no listener
def test_a_lost_notification_is_caught_by_the_slow_poll(
    app: Flask, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a listening watch whose fallback poll is short, and a run that ends with no
    # notification (written straight to the row)
    hook = make_hook(app, {"response_mode": "wait"}, STEPS)
    _listening(app)
    watch = container(app).finish_watch
    monkeypatch.setattr(watch, "fallback_poll", 0.2)
    waiter = _send(app, hook.url, 1)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    _registered(app, 1)
    (execution,) = executions_of(app, hook.workflow_id)
    with app.app_context():
        db.session.execute(
            update(Execution).where(Execution.id == execution.id).values(status="failed")
        )
        db.session.commit()

    assert waiter.answered.wait(ANSWERED_WITHIN)
    assert waiter.status == 502
    assert watch.listening.is_set()


def test_wait_for_without_a_watch_reads_the_row(app: Flask, backend: str) -> None:
    # The wait itself, on a run that is already final: one read, no listener needed.
    hook = make_hook(app, {"response_mode": "wait"}, STEPS)
    waiter = _send(app, hook.url, 2)
    wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
    embedded_worker(app).start()
    assert waiter.answered.wait(ANSWERED_WITHIN)
    (execution,) = executions_of(app, hook.workflow_id)
    outcome = receiver.wait_for(container(app).session_factory, execution.id, 1.0)
    assert (outcome.status, outcome.output) == ("completed", {"answer": 3})


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_only_a_run_somebody_may_wait_for_notifies_its_end(app: Flask, backend: str) -> None:
    # Given a listener of our own on the channel, and two webhooks: immediate and wait mode
    immediate = make_hook(app, {}, STEPS)
    waited = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, STEPS)
    heard: list[int] = []
    with _listen(app) as listener:
        embedded_worker(app).start()

        # When the immediate one runs to its end, then the waited one
        client = app.test_client()
        first = client.post(immediate.url, json={"n": 1}).get_json()["execution_id"]
        wait_until(
            lambda: executions_of(app, immediate.workflow_id)[0].status == "completed",
            15,
            "the immediate run's end",
        )
        second = _send(app, waited.url, 2)
        assert second.answered.wait(ANSWERED_WITHIN) and second.status == 200
        (run,) = executions_of(app, waited.workflow_id)
        for notice in listener.notifies(timeout=ANSWERED_WITHIN):
            heard.append(int(notice.payload.partition(" ")[0]))
            if heard[-1] == run.id:
                break

    # Then only the run a request could wait for was announced
    assert first not in heard
    assert heard[-1] == run.id


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("body", "carried"),
    [("{{ steps.a.n + 1 }}", True), ("{{ 'x' * 8000 }}", False)],
    ids=["small output", "output too big for a notice"],
)
def test_the_notice_of_a_completed_run_carries_its_answer_when_it_fits(
    app: Flask, backend: str, body: str, carried: bool
) -> None:
    # Given a wait-mode webhook, a process listening, and a listener of the test's own
    steps = [STEPS[0], {**STEPS[1], "config": {"fields": {"answer": body}}}]
    hook = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 50}, steps)
    _listening(app)
    with _listen(app) as connection:
        waiter = _send(app, hook.url, 41)
        wait_until(lambda: len(executions_of(app, hook.workflow_id)) == 1, 10, "the execution")
        _registered(app, 1)

        # When the run completes
        embedded_worker(app).start()
        assert waiter.answered.wait(ANSWERED_WITHIN)
        notices = _notices(connection)

    # Then its notice carries the answer the waiter gave when it fits, else only the run's id
    # (and the waiter read the answer from the row)
    (execution,) = executions_of(app, hook.workflow_id)
    assert waiter.status == 200
    if carried:
        assert waiter.body == {"answer": 42}
        assert notices == [f'{execution.id} {{"answer": 42}}']
    else:
        assert waiter.body == {"answer": "x" * 8000}
        assert notices == [str(execution.id)]
