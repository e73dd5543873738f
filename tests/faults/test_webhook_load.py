"""Webhooks under load through gunicorn (SECURITY.md "Webhooks", "Load", "Durability"): a
SIGTERM to gunicorn loses no accepted delivery, a flood of 10,000 deliveries makes exactly
10,000 executions, and a flood on one user's webhook is refused with 429 while another user's
webhook keeps being served."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Execution
from tests.engine_harness import FINAL, Engine
from tests.faults.support import wait_until
from tests.faults.web import Ids, Sender, Tally, request, send_all, send_json, start_web
from tests.hooks_support import Hook, make_hook

NOOP = [
    {"key": "shape", "type": "transform", "config": {"fields": {"id": "{{ trigger.body.id }}"}}}
]
FLOOD = 10_000
CONCURRENCY = 32


def _counts(engine: Engine, workflow_id: int) -> dict[str, int]:
    """The workflow's executions by status."""
    with engine.app.app_context():
        rows = db.session.execute(
            select(Execution.status, func.count())
            .where(Execution.workflow_id == workflow_id)
            .group_by(Execution.status)
        ).all()
        return {status: int(count) for status, count in rows}


def _execution_ids(engine: Engine, workflow_id: int) -> set[int]:
    with engine.app.app_context():
        return set(
            db.session.scalars(select(Execution.id).where(Execution.workflow_id == workflow_id))
        )


def _wait_all_final(engine: Engine, workflow_id: int, count: int, timeout: float) -> None:
    def done() -> bool:
        counts = _counts(engine, workflow_id)
        return sum(counts.values()) >= count and all(s in FINAL for s in counts)

    wait_until(done, timeout, f"{count} final executions of workflow {workflow_id}")


def _hook(engine: Engine, **config: Any) -> Hook:
    return make_hook(engine.app, {"idempotency_key": "X-Delivery-Id", **config}, NOOP)


def test_sigterm_to_gunicorn_during_webhook_load_loses_no_accepted_delivery(
    make_engine: Callable[..., Engine],
) -> None:
    # Given gunicorn in front of the engine, and eight senders delivering to a webhook
    engine = make_engine()
    web = start_web(engine, STEPLINE_WEBHOOK_RATE_LIMIT="100000/second")
    hook = _hook(engine)
    tally, ids = Tally(), Ids("d")
    senders = [Sender(web.port, hook.url, ids, tally) for _ in range(8)]
    for sender in senders:
        sender.start()
    wait_until(lambda: len(tally.accepted) >= 100, 30, "deliveries to flow")

    # When gunicorn gets SIGTERM mid-load (requests in flight finish, new ones are refused),
    # and a new gunicorn takes the port over while the senders keep retrying
    web.stop()
    web.start()
    at_restart = len(tally.accepted)
    wait_until(lambda: len(tally.accepted) >= at_restart + 100, 30, "deliveries to resume")
    ids.stopped.set()
    send_all(senders)

    # Then every delivery was accepted exactly once, each accepted one is a stored execution,
    # and all of them ran
    assert tally.failures > 0  # the restart did cut senders off
    delivered = ids.next
    assert len(tally.accepted) == delivered
    assert set(tally.accepted.values()) == _execution_ids(engine, hook.workflow_id)
    _wait_all_final(engine, hook.workflow_id, delivered, timeout=60)
    assert _counts(engine, hook.workflow_id) == {"completed": delivered}


def test_a_flood_of_ten_thousand_deliveries_makes_exactly_ten_thousand_executions(
    make_engine: Callable[..., Engine],
) -> None:
    # Given gunicorn (2 processes x 4 threads) and one worker (4 threads), with limits that
    # admit the whole flood (sized as bench/webhook.py found fastest on two CPUs)
    engine = make_engine()
    web = start_web(
        engine,
        threads=4,
        STEPLINE_WEBHOOK_RATE_LIMIT="100000/second",
        STEPLINE_MAX_QUEUE_DEPTH="100000",
    )
    hook = make_hook(engine.app, steps=NOOP)

    # When 10,000 deliveries arrive, 32 at a time
    tally, ids = Tally(), Ids("flood", FLOOD)
    senders = [Sender(web.port, hook.url, ids, tally) for _ in range(CONCURRENCY)]
    for sender in senders:
        sender.start()
    send_all(senders)

    # Then there are exactly 10,000 executions, one per delivery, and every one completes
    assert len(tally.accepted) == FLOOD
    assert set(tally.accepted.values()) == _execution_ids(engine, hook.workflow_id)
    assert len(set(tally.accepted.values())) == FLOOD
    _wait_all_final(engine, hook.workflow_id, FLOOD, timeout=240)
    assert _counts(engine, hook.workflow_id) == {"completed": FLOOD}


def test_a_flood_on_one_users_webhook_is_refused_while_another_user_is_served(
    make_engine: Callable[..., Engine],
) -> None:
    # Given two users' webhooks behind gunicorn, each limited to 20 deliveries a second; the
    # other user's webhook answers with its run's result (wait mode)
    engine = make_engine()
    web = start_web(engine, STEPLINE_WEBHOOK_RATE_LIMIT="20/second")
    flooded = make_hook(engine.app, steps=NOOP)
    other = make_hook(engine.app, {"response_mode": "wait"}, NOOP)
    stop = threading.Event()
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def flood() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        while not stop.is_set():
            status, _ = send_json(connection, "POST", flooded.url, {"id": "x"}, None)
            with lock:
                answers.append((status, ""))
        connection.close()

    # When sixteen senders flood the first webhook while the second receives its deliveries
    threads = [threading.Thread(target=flood, daemon=True) for _ in range(16)]
    for thread in threads:
        thread.start()
    wait_until(lambda: sum(s == 429 for s, _ in answers) >= 50, 30, "the flood to be refused")
    served = [request(web.port, "POST", other.url, {"id": n}) for n in range(20)]
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    # Then the flood was refused with 429 beyond its budget, while every delivery to the other
    # user's webhook was admitted and answered with its completed run's output
    statuses = {status for status, _ in answers}
    assert statuses == {202, 429}
    assert [status for status, _ in served] == [200] * 20
    assert [body["id"] for _, body in served] == list(range(20))
    assert _counts(engine, other.workflow_id) == {"completed": 20}
    accepted = sum(s == 202 for s, _ in answers)
    assert accepted == sum(_counts(engine, flooded.workflow_id).values())
