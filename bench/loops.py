"""Loop throughput: a 1,000-item loop of 2 transform steps, on a real `dramatiq app.tasks` worker
with PostgreSQL + Redis.

First one execution alone (how long a 1,000-item loop takes end to end), then N executions
queued while no worker runs and drained by the worker: executions/s, step runs/s (every run of
a step inside an iteration counts), and the CPU of the worker, PostgreSQL and Redis per step run.

    .venv/bin/python bench/loops.py [--executions 20] [--items 1000] [--processes 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import func, select

from app import create_app
from app.extensions import container, db
from app.models import ExecutionStep, User, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from bench._support import BIN, group_cpu_seconds, named_cpu_seconds, spawn, stack, stop
from bench.engine import _count_completed as count_completed
from bench.engine import _wait_completed as wait_completed

LOOP = [
    {
        "key": "each",
        "type": "loop",
        "name": "Each item",
        "config": {"items": "{{ trigger.items }}", "max_items": 10000},
        "steps": [
            {
                "key": "price",
                "type": "transform",
                "name": "Price",
                "config": {"fields": {"cents": "{{ loop.item.amount * 100 }}"}},
            },
            {
                "key": "line",
                "type": "transform",
                "name": "Line",
                "config": {"fields": {"text": "#{{ loop.index }}: {{ steps.price.cents }} cents"}},
            },
        ],
    },
    {
        "key": "total",
        "type": "transform",
        "name": "Total",
        "config": {"fields": {"lines": "{{ steps.each.count }}"}},
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    n, items = args.executions, args.items
    worker_args = [
        str(BIN / "dramatiq"),
        "app.tasks",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    data = {"items": [{"amount": i % 97} for i in range(items)]}

    with stack() as bench:
        app = create_app(bench.config())
        with app.app_context():
            user = User(email="bench@example.com", name="")
            user.set_password("bench-password")
            db.session.add(user)
            db.session.commit()
            stepline = container(app)
            workflow_id = crud.create_workflow(
                db.session(),
                user.id,
                WorkflowSpec.model_validate({"name": "bench: loop", "steps": []}),
                stepline.secrets,
                stepline.handlers,
            ).id
            settings, send = stepline.settings, stepline.doorbell.send

            def create(count: int) -> None:
                for _ in range(count):
                    wf = db.session.get(Workflow, workflow_id)
                    assert wf is not None
                    snapshot = {**crud.snapshot(wf), "actions": LOOP}
                    lifecycle.start(
                        db.session(), wf, data, send=send, settings=settings, snapshot=snapshot
                    )

            worker = spawn(worker_args, bench.env(), "ready for action")
            try:
                # One loop alone, end to end (the worker is idle and ready).
                started = time.perf_counter()
                create(1)
                wait_completed(db.session, 1)
                single = time.perf_counter() - started
            finally:
                stop(worker)

            # N loops queued, then drained by a fresh worker.
            create(n)
            worker = spawn(worker_args, bench.env(), "ready for action")
            try:
                cpu_before = group_cpu_seconds(worker.pid)
                pg_before = named_cpu_seconds("postgres")
                redis_before = named_cpu_seconds("redis-server")
                started = time.perf_counter()
                wait_completed(db.session, n + 1)
                drained = time.perf_counter() - started
                cpu = group_cpu_seconds(worker.pid) - cpu_before
                pg_cpu = named_cpu_seconds("postgres") - pg_before
                redis_cpu = named_cpu_seconds("redis-server") - redis_before
            finally:
                stop(worker)
            runs = db.session.scalar(
                select(func.count())
                .select_from(ExecutionStep)
                .where(ExecutionStep.status == "completed")
            )
            not_completed = n + 1 - count_completed(db.session)
            db.engine.dispose()
            stepline.engine.dispose()

    per_execution = 2 * items + 2
    step_runs = n * per_execution
    print(
        f"workflow: a loop over {items} items of 2 transform steps, then 1 transform; worker: "
        f"{args.processes} processes x {args.threads} threads; PostgreSQL + Redis"
    )
    print(f"one loop alone, end to end: {single:.2f} s ({per_execution / single:.0f} step runs/s)")
    print(
        f"drain: {n} queued loops completed in {drained:.2f} s: {n / drained:.2f} executions/s, "
        f"{step_runs / drained:.0f} step runs/s"
    )
    print(
        f"CPU per step run: worker {cpu * 1e6 / step_runs:.0f} µs, PostgreSQL "
        f"{pg_cpu * 1e6 / step_runs:.0f} µs, Redis {redis_cpu * 1e6 / step_runs:.0f} µs"
    )
    print(f"completed step runs stored: {runs} (expected {(n + 1) * per_execution})")
    print(f"not completed: {not_completed}")


if __name__ == "__main__":
    main()
