"""Retention at scale: pruning about a million old executions while webhooks keep inserting.

Seeds N executions over 30 days (bench/dashboard_seed.py: generate_series, steps for one in
ten), then prunes every final one older than --older-than-days (default 0: all of them, about
N) with app.services.executions.retention — BATCH ids per transaction, oldest first — while a
thread inserts one execution every 10 ms, as the ingress does, each in its own transaction.
Prints the prune's time, rows/s and its slowest batch, and the inserts' latency during it and
for 5 s before it (p50, p99, max: a lock the ingress waited for would show as a difference).
PostgreSQL only; the database exists for the run only.

    .venv/bin/python -m bench.retention [--executions 1000000] [--older-than-days 0]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, insert, select

from app.extensions import container, db
from app.models import Execution, ExecutionStatus
from app.models.base import utcnow
from app.services.executions import retention
from bench.dashboard_seed import build_app, close_app, create_database, release, seed


def _ingress(app: object, owner: tuple[int, int], stop: threading.Event, out: list[float]) -> None:
    """Insert an execution every 10 ms on a connection of its own; record each latency."""
    engine = container(app).engine  # type: ignore[arg-type]
    workflow_id, user_id = owner
    statement = insert(Execution)
    with engine.connect() as conn:
        while not stop.is_set():
            started = time.perf_counter()
            conn.execute(
                statement.values(
                    workflow_id=workflow_id,
                    user_id=user_id,
                    status="pending",
                    trigger_type="webhook",
                    trigger_data={"bench": True},
                    snapshot={},
                    workflow_version=1,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            conn.commit()
            out.append((time.perf_counter() - started) * 1000)
            stop.wait(0.01)


def _percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--older-than-days", type=float, default=0.0)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = parser.parse_args()
    name, url = create_database()
    try:
        app = build_app(url)
        print(f"Seeding {args.executions:,} executions into {name} …", flush=True)
        seed(app, url, args.executions)
        with app.app_context():
            owner = db.session.execute(select(Execution.workflow_id, Execution.user_id)).first()
            assert owner is not None
            cutoff = utcnow() - timedelta(days=args.older_than_days)
            old = db.session.scalar(
                select(func.count()).where(
                    Execution.created_at < cutoff, Execution.status.in_(ExecutionStatus.FINAL)
                )
            )
            db.session.rollback()
            inserts: list[float] = []
            stop = threading.Event()
            ingress = threading.Thread(target=_ingress, args=(app, tuple(owner), stop, inserts))
            batches: list[float] = []
            last = [time.perf_counter()]

            def batch_done(ids: Sequence[int]) -> None:
                now = time.perf_counter()
                batches.append(now - last[0])
                last[0] = now

            load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
            ingress.start()
            time.sleep(5)  # the ingress alone first: its latency without a prune
            alone = list(inserts)
            inserts.clear()
            started = last[0] = time.perf_counter()
            session = container(app).session_factory()
            deleted, done = retention.prune_batches(session, cutoff, on_batch=batch_done)
            elapsed = time.perf_counter() - started
            session.close()
            stop.set()
            ingress.join()
        print(
            f"retention: pruned {deleted:,} executions (about {old:,} final ones were older "
            f"than the cutoff; done={done}) in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s, "
            f"{len(batches)} batches of {retention.BATCH}, slowest batch "
            f"{max(batches, default=0) * 1000:.0f} ms, median "
            f"{_percentile(batches, 0.5) * 1000:.0f} ms"
        )
        for label, samples in (("during the prune", inserts), ("alone, before it", alone)):
            print(
                f"ingress {label}: {len(samples)} inserts, latency p50 "
                f"{_percentile(samples, 0.5):.1f} ms, p99 {_percentile(samples, 0.99):.1f} ms, "
                f"max {max(samples, default=0):.1f} ms"
            )
        print(f"(load average at the start {load} on {os.cpu_count()} CPUs)")
        close_app(app)
    finally:
        release(name, url, args.keep)


if __name__ == "__main__":
    main()
