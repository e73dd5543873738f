"""One user's webhook latency while another user's webhook is flooded (SECURITY.md "Load"),
through gunicorn on PostgreSQL + Redis. Prints figures; asserts nothing. (bench/webhook.py
measures one webhook's throughput.)

It runs the fault suite's stack (tests/faults): gunicorn -c gunicorn.conf.py, a `dramatiq
app.tasks` worker and `flask scheduler`, on a database and a redis-server of its own. The
other user's webhook answers in wait mode, so a latency is the request up to its completed run.

    .venv/bin/python -m bench.webhook_isolation [--samples 40] [--flooders 16]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from app.models import Base
from tests.conftest import create_database, drop_database
from tests.engine_harness import Engine
from tests.faults.web import request, send_json, start_web
from tests.hooks_support import make_hook
from tests.redis_server import RedisServer

NOOP = [
    {"key": "shape", "type": "transform", "config": {"fields": {"id": "{{ trigger.body.id }}"}}}
]


SPACING = 0.1  # seconds between two deliveries to the other webhook: half its rate limit


def _latencies(port: int, path: str, samples: int) -> list[float]:
    """Latencies of `samples` deliveries sent at a steady pace (a run answers in ~25 ms: sent
    back to back they would go over the webhook's own limit of 20 a second)."""
    found = []
    for n in range(samples):
        started = time.perf_counter()
        status, _ = request(port, "POST", path, {"id": n})
        assert status == 200, status
        found.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, SPACING - (time.perf_counter() - started)))
    return found


def _flood(port: int, path: str, flooders: int, stop: Any, counts: Any) -> None:
    """In a process of its own (so the flood does not slow this process's clock readings):
    `flooders` threads post to `path` until `stop` is set; counts[0] 2xx, counts[1] 429."""

    def hammer() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            status, _ = send_json(connection, "POST", path, {"id": 0}, None)
            with counts.get_lock():
                counts[1 if status == 429 else 0] += 1
        connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(flooders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def isolation(engine: Engine, port: int, samples: int, flooders: int) -> None:
    flooded = make_hook(engine.app, steps=NOOP)
    other = make_hook(engine.app, {"response_mode": "wait"}, NOOP)
    quiet = _latencies(port, other.url, samples)
    context = multiprocessing.get_context("fork")
    stop, counts = context.Event(), context.Array("i", 2)
    flood = context.Process(target=_flood, args=(port, flooded.url, flooders, stop, counts))
    flood.start()
    while counts[0] + counts[1] < flooders:  # the flood is on
        time.sleep(0.01)
    busy = _latencies(port, other.url, samples)
    stop.set()
    flood.join()
    print("isolation: another user's wait-mode webhook (request to completed run), ms")
    for name, values in (("quiet", quiet), ("while flooded", busy)):
        cuts = statistics.quantiles(values, n=20)
        print(f"  {name:14s} p50 {statistics.median(values):6.1f}  p95 {cuts[18]:6.1f}")
    accepted, limited = counts[0], counts[1]
    print(f"  the flooded webhook ({flooders} senders): {accepted} accepted, {limited} got 429")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--flooders", type=int, default=16)
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
            web = start_web(engine, STEPLINE_WEBHOOK_RATE_LIMIT="20/second")
            isolation(engine, web.port, args.samples, args.flooders)
        finally:
            engine.logs.clear()  # the processes' lines are not figures
            engine.close()
            redis_server.stop()
            drop_database(url)


if __name__ == "__main__":
    main()
