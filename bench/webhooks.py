"""Webhooks through gunicorn on PostgreSQL + Redis: flood throughput, and one user's latency
while another user's webhook is flooded (SECURITY.md "Load"). Prints figures; asserts nothing.

It runs the fault suite's stack (tests/faults): gunicorn -c gunicorn.conf.py, `dramatiq
app.tasks` workers and `flask scheduler`, on a database and a redis-server of its own.

    .venv/bin/python -m bench.webhooks [--deliveries 10000] [--concurrency 32] [--samples 40]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from app.extensions import db
from app.models import Base, Execution
from tests.conftest import create_database, drop_database
from tests.engine_harness import FINAL, Engine
from tests.faults.web import Ids, Sender, Tally, _send, request, send_all, start_web
from tests.hooks_support import make_hook
from tests.redis_server import RedisServer

NOOP = [
    {"key": "shape", "type": "transform", "config": {"fields": {"id": "{{ trigger.body.id }}"}}}
]


def _final(engine: Engine, workflow_id: int) -> int:
    with engine.app.app_context():
        count = db.session.scalar(
            select(func.count()).where(
                Execution.workflow_id == workflow_id, Execution.status.in_(FINAL)
            )
        )
        db.session.rollback()
        return int(count or 0)


def flood(engine: Engine, port: int, deliveries: int, concurrency: int) -> None:
    hook = make_hook(engine.app, steps=NOOP)
    tally, ids = Tally(), Ids("bench", deliveries)
    senders = [Sender(port, hook.url, ids, tally) for _ in range(concurrency)]
    started = time.perf_counter()
    for sender in senders:
        sender.start()
    send_all(senders)
    accepted = time.perf_counter() - started
    while _final(engine, hook.workflow_id) < deliveries:
        time.sleep(0.2)
    done = time.perf_counter() - started
    print(f"flood: {deliveries} deliveries at concurrency {concurrency}")
    print(f"  accepted in {accepted:.1f} s: {deliveries / accepted:.0f} deliveries/s")
    print(f"  all final in {done:.1f} s: {deliveries / done:.0f} executions/s end to end")


def _latencies(port: int, path: str, samples: int) -> list[float]:
    found = []
    for n in range(samples):
        started = time.perf_counter()
        status, _ = request(port, "POST", path, {"id": n})
        assert status == 200, status
        found.append((time.perf_counter() - started) * 1000)
    return found


def isolation(engine: Engine, port: int, samples: int) -> None:
    flooded = make_hook(engine.app, steps=NOOP)
    other = make_hook(engine.app, {"response_mode": "wait"}, NOOP)
    quiet = _latencies(port, other.url, samples)
    stop = threading.Event()
    refused = [0, 0]

    def hammer() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            status, _ = _send(connection, "POST", flooded.url, {"id": 0}, None)
            refused[status == 429] += 1
        connection.close()

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
    for thread in threads:
        thread.start()
    busy = _latencies(port, other.url, samples)
    stop.set()
    for thread in threads:
        thread.join()
    print("isolation: another user's wait-mode webhook (request to completed run), ms")
    for name, values in (("quiet", quiet), ("while flooded", busy)):
        cuts = statistics.quantiles(values, n=20)
        print(f"  {name:14s} p50 {statistics.median(values):6.1f}  p95 {cuts[18]:6.1f}")
    print(f"  the flooded webhook: {refused[0]} accepted, {refused[1]} refused with 429")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = create_database("postgresql", tmp)
        schema = create_engine(url)
        Base.metadata.create_all(schema)
        schema.dispose()
        redis_server = RedisServer(tmp)
        engine = Engine("postgresql", url, tmp, mode="redis", redis_url=redis_server.url, lease=3)
        try:
            engine.start_worker(threads=8)
            web = start_web(
                engine,
                STEPLINE_WEBHOOK_RATE_LIMIT="20/second",
                STEPLINE_MAX_QUEUE_DEPTH="100000",
            )
            isolation(engine, web.port, args.samples)
            web.stop()
            web.env["STEPLINE_WEBHOOK_RATE_LIMIT"] = "1000000/second"
            web.start()
            flood(engine, web.port, args.deliveries, args.concurrency)
        finally:
            engine.logs.clear()  # the processes' lines are not figures
            engine.close()
            redis_server.stop()
            drop_database(url)


if __name__ == "__main__":
    main()
