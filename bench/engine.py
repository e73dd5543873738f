"""Engine throughput: a real `dramatiq app.tasks` worker on PostgreSQL + Redis.

Creates N executions of a 3-transform-step workflow through the service layer (no HTTP) while
no worker runs, then starts the worker and measures how fast it completes them (executions/s
and worker CPU per execution). A second phase creates N more while the worker runs (end to end,
bounded by the single-threaded creator in this process).

    .venv/bin/python bench/engine.py [--executions 5000] [--processes 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from sqlalchemy import func, select

from app import create_app
from app.extensions import container, db
from app.models import Execution, User, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from bench._support import (
    BIN,
    group_cpu_seconds,
    machine_speed,
    named_cpu_seconds,
    spawn,
    speed_line,
    stack,
    stop,
)

SPEC = {
    "name": "bench: three transforms",
    "steps": [
        {
            "key": "a",
            "type": "transform",
            "config": {"fields": {"id": "{{ trigger.id }}", "double": "{{ trigger.n * 2 }}"}},
        },
        {
            "key": "b",
            "type": "transform",
            "config": {
                "fields": {"sum": "{{ steps.a.double + 1 }}", "tag": "order-{{ steps.a.id }}"}
            },
        },
        {
            "key": "c",
            "type": "transform",
            "config": {"fields": {"text": "{{ steps.b.tag }} totals {{ steps.b.sum }}"}},
        },
    ],
}


def _count_completed(session: Any) -> int:
    count = session.scalar(
        select(func.count()).select_from(Execution).where(Execution.status == "completed")
    )
    session.rollback()
    return int(count or 0)


def _wait_completed(session: Any, target: int) -> None:
    while _count_completed(session) < target:
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    n = args.executions
    worker_args = [
        str(BIN / "dramatiq"),
        "app.tasks",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]

    speed = machine_speed()
    with stack() as bench:
        app = create_app(bench.config())
        with app.app_context():
            user = User(email="bench@example.com", name="")
            user.set_password("bench-password")
            db.session.add(user)
            db.session.commit()
            stepline = container(app)
            created_wf = crud.create_workflow(
                db.session(),
                user.id,
                WorkflowSpec.model_validate(SPEC),
                stepline.secrets,
                stepline.handlers,
            )
            workflow_id = created_wf.id
            settings, send = stepline.settings, stepline.doorbell.send

            def create(count: int, offset: int) -> float:
                started = time.perf_counter()
                for i in range(offset, offset + count):
                    wf = db.session.get(Workflow, workflow_id)
                    assert wf is not None
                    lifecycle.start(
                        db.session(), wf, {"id": i, "n": i}, send=send, settings=settings
                    )
                return time.perf_counter() - started

            # Phase 1: the engine alone. N executions wait in Redis; then a worker drains them.
            created = create(n, 0)
            worker = spawn(worker_args, bench.env(), "ready for action")
            try:
                cpu_before = group_cpu_seconds(worker.pid)
                pg_before, redis_before = (
                    named_cpu_seconds("postgres"),
                    named_cpu_seconds("redis-server"),
                )
                started = time.perf_counter()
                _wait_completed(db.session, n)
                drained = time.perf_counter() - started
                cpu = group_cpu_seconds(worker.pid) - cpu_before
                pg_cpu = named_cpu_seconds("postgres") - pg_before
                redis_cpu = named_cpu_seconds("redis-server") - redis_before

                # Phase 2: end to end, creating through the service layer while it runs.
                started = time.perf_counter()
                create(n, n)
                _wait_completed(db.session, 2 * n)
                end_to_end = time.perf_counter() - started
            finally:
                stop(worker)
            not_completed = 2 * n - _count_completed(db.session)
            db.engine.dispose()
            stepline.engine.dispose()

    print(
        f"workflow: 3 transform steps; worker: {args.processes} processes x "
        f"{args.threads} threads; PostgreSQL + Redis"
    )
    print(speed_line(speed, machine_speed()))
    print(f"created {n} executions through the service layer: {n / created:.0f}/s")
    print(
        f"drain: {n} queued executions completed in {drained:.2f} s, "
        f"worker CPU {cpu * 1000 / n:.2f} ms per execution"
    )
    print(
        f"  PostgreSQL CPU {pg_cpu * 1000 / n:.2f} ms, Redis CPU {redis_cpu * 1000 / n:.2f} ms "
        "per execution (whole servers, other load included)"
    )
    print(f"end to end (creating while the worker runs): {n / end_to_end:.0f} executions/s")
    print(f"not completed: {not_completed}")
    print(f"executions/s: {n / drained:.0f}")


if __name__ == "__main__":
    main()
