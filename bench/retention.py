"""Retention at scale: pruning about a million old executions while webhooks keep inserting.

Seeds N executions over 30 days (bench/dashboard_seed.py: generate_series, steps for one in
ten), then prunes every final one older than --older-than-days (default 0: all of them, about
N) with app.services.executions.retention — BATCH ids per transaction, oldest first — while a
thread inserts one execution every 10 ms, as the ingress does, each in its own transaction.
Prints the prune's time, rows/s and its slowest batch, and the inserts' latency during it and
for 5 s before it (p50, p99, max). What the ingress waits on is sampled every 2 ms from
pg_stat_activity while an insert is active: a lock the prune held would show as a "Lock" wait;
waits on the WAL, I/O or CPU (no wait event) are the machine's shared resources.
PostgreSQL only; the database exists for the run only.

    .venv/bin/python -m bench.retention [--executions 1000000] [--older-than-days 0] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, insert, select, text

from app.extensions import container, db
from app.models import Execution, ExecutionStatus
from app.models.base import utcnow
from app.services.executions import retention
from bench.dashboard_seed import build_app, close_app, create_database, release, seed


def _ingress(
    app: object, owner: tuple[int, int], stop: threading.Event, out: list[float], pid: list[int]
) -> None:
    """Insert an execution every 10 ms on a connection of its own; record each latency (and
    the connection's backend pid, for the sampler)."""
    engine = container(app).engine  # type: ignore[arg-type]
    workflow_id, user_id = owner
    statement = insert(Execution)
    with engine.connect() as conn:
        pid.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.commit()
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


def _sample_waits(
    app: object, pid: list[int], stop: threading.Event, out: list[Counter[str]]
) -> None:
    """Every 2 ms, what the ingress's backend waits on while it runs a statement, counted into
    the last Counter of `out` ("cpu" when it waits on nothing)."""
    engine = container(app).engine  # type: ignore[arg-type]
    query = text("SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as conn:
        while not stop.wait(0.002):
            if not pid:
                continue
            row = conn.execute(query, {"pid": pid[0]}).first()
            conn.commit()
            if row is None or row.state != "active":
                continue
            wait = f"{row.wait_event_type}:{row.wait_event}" if row.wait_event_type else "cpu"
            out[-1][wait] += 1


def _waits(counter: Counter[str]) -> str:
    total = sum(counter.values())
    locks = sum(n for wait, n in counter.items() if wait.startswith("Lock:"))
    shown = ", ".join(f"{wait} {n}" for wait, n in counter.most_common(6))
    return f"{total} samples while an insert ran, {locks} waiting on a lock ({shown or 'none'})"


def _percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--older-than-days", type=float, default=0.0)
    parser.add_argument("--batch", type=int, default=retention.BATCH, help="executions per batch")
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
            pid: list[int] = []
            waits: list[Counter[str]] = [Counter()]
            ingress = threading.Thread(
                target=_ingress, args=(app, tuple(owner), stop, inserts, pid)
            )
            sampler = threading.Thread(target=_sample_waits, args=(app, pid, stop, waits))
            batches: list[float] = []
            last = [time.perf_counter()]

            def batch_done(ids: Sequence[int]) -> None:
                now = time.perf_counter()
                batches.append(now - last[0])
                last[0] = now

            load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
            ingress.start()
            sampler.start()
            time.sleep(5)  # the ingress alone first: its latency without a prune
            alone = list(inserts)
            inserts.clear()
            waits.append(Counter())
            started = last[0] = time.perf_counter()
            session = container(app).session_factory()
            deleted, done = retention.prune_batches(
                session, cutoff, batch=args.batch, on_batch=batch_done
            )
            elapsed = time.perf_counter() - started
            session.close()
            stop.set()
            ingress.join()
            sampler.join()
        print(
            f"retention: pruned {deleted:,} executions (about {old:,} final ones were older "
            f"than the cutoff; done={done}) in {elapsed:.1f} s = {deleted / elapsed:,.0f}/s, "
            f"{len(batches)} batches of {args.batch}, slowest batch "
            f"{max(batches, default=0) * 1000:.0f} ms, median "
            f"{_percentile(batches, 0.5) * 1000:.0f} ms"
        )
        for label, samples, waited in (
            ("during the prune", inserts, waits[1]),
            ("alone, before it", alone, waits[0]),
        ):
            print(
                f"ingress {label}: {len(samples)} inserts, latency p50 "
                f"{_percentile(samples, 0.5):.1f} ms, p99 {_percentile(samples, 0.99):.1f} ms, "
                f"max {max(samples, default=0):.1f} ms; waits: {_waits(waited)}"
            )
        print(f"(load average at the start {load} on {os.cpu_count()} CPUs)")
        close_app(app)
    finally:
        release(name, url, args.keep)


if __name__ == "__main__":
    main()
