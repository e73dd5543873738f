"""Webhook throughput: gunicorn + a real `dramatiq app.tasks` worker on PostgreSQL + Redis.

A threaded client on loopback posts to the webhook of a 3-transform-step workflow:

1. immediate mode at concurrency 8, then 32 (the c=32 phase sends --requests, 10,000 by
   default): accepted requests/s (202s over the sending time) and executions completed/s (from
   the first request to the last execution finished); a 429 (back-pressure) is retried after
   its Retry-After, as senders do, and counted;
2. wait mode at concurrency 8 and 32: latency percentiles of the full answer (last output).

Then it checks that every accepted request has exactly one execution and all completed. The
database (and its Redis namespace) is created for the run and removed afterwards; the webhook
rate limit is raised out of the way (this measures one webhook at full speed).

    .venv/bin/python -m bench.webhook [--requests 10000] [--web-workers 2] [--web-threads 4]
        [--worker-processes 1] [--worker-threads 4]

The last line is `executions/s: <completed per second at c=32>`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from app import create_app
from app.extensions import container, db
from app.models import Execution, User, Workflow
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from bench._support import (
    BIN,
    ROOT,
    group_cpu_seconds,
    machine_speed,
    named_cpu_seconds,
    spawn,
    speed_line,
    stack,
    stop,
)

STEPS = [
    {
        "key": "a",
        "type": "transform",
        "config": {"fields": {"id": "{{ trigger.body.id }}", "double": "{{ trigger.body.n * 2 }}"}},
    },
    {
        "key": "b",
        "type": "transform",
        "config": {"fields": {"sum": "{{ steps.a.double + 1 }}", "tag": "order-{{ steps.a.id }}"}},
    },
    {
        "key": "c",
        "type": "transform",
        "config": {"fields": {"text": "{{ steps.b.tag }} totals {{ steps.b.sum }}"}},
    },
]


@dataclass
class Phase:
    """What one load phase measured."""

    name: str
    concurrency: int
    requests: int
    started: float = 0.0  # time.time()
    elapsed: float = 0.0
    accepted: int = 0
    refused: int = 0  # 429s, retried
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    execution_ids: list[int] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by component

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(port: int, path: str, phase: Phase, counter: list[int], lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=130)
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    while True:
        with lock:
            if counter[0] >= phase.requests:
                break
            number = counter[0]
            counter[0] += 1
        body = json.dumps({"id": number, "n": number})
        while True:
            sent = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                phase.errors.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=130)
                continue
            if response.status == 429:
                phase.refused += 1
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            break
        phase.latencies.append(time.perf_counter() - sent)
        if response.status in (200, 202):
            phase.accepted += 1
            if response.status == 202:
                phase.execution_ids.append(json.loads(payload)["execution_id"])
        else:
            phase.errors.append(f"HTTP {response.status}: {payload[:200]!r}")
    connection.close()


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meters:
    """CPU seconds used so far by each part of the stack (PostgreSQL: the backends serving
    this run's database; Redis: the whole server, which other users share)."""

    web: int
    worker: int
    session: Any

    def backends(self) -> dict[int, float]:
        pids = self.session.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
        self.session.rollback()
        return {pid: _process_cpu(pid) for pid in pids}

    def read(self) -> dict[str, Any]:
        return {
            "web": group_cpu_seconds(self.web),
            "worker": group_cpu_seconds(self.worker),
            "postgres": self.backends(),
            "redis": named_cpu_seconds("redis-server"),
            "client": time.process_time(),
        }

    def since(self, before: dict[str, Any]) -> dict[str, float]:
        after = self.read()
        used = {k: after[k] - before[k] for k in ("web", "worker", "redis", "client")}
        old = before["postgres"]
        used["postgres"] = sum(cpu - old.get(pid, 0.0) for pid, cpu in after["postgres"].items())
        return used


def run_phase(port: int, path: str, name: str, concurrency: int, requests: int) -> Phase:
    phase = Phase(name, concurrency, requests)
    counter, lock = [0], threading.Lock()
    threads = [
        threading.Thread(target=_client, args=(port, path, phase, counter, lock))
        for _ in range(concurrency)
    ]
    phase.started = time.time()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - began
    return phase


def _wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/hooks/warming-up")
            if connection.getresponse().status == 404:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn never answered")


def _finished(session: Any, workflow_id: int, since_id: int) -> tuple[int, int, int, float]:
    """(executions, completed, final, last finish as a timestamp) of a workflow's executions
    after `since_id`, read in one statement."""
    final = ("completed", "failed", "cancelled")
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Execution.status == "completed"),
            func.count().filter(Execution.status.in_(final)),
            func.max(Execution.finished_at),
        ).where(Execution.workflow_id == workflow_id, Execution.id > since_id)
    ).one()
    session.rollback()
    last = (row[3] or datetime.now(UTC)).timestamp()
    return int(row[0]), int(row[1]), int(row[2]), last


def _not_completed(session: Any, workflow_id: int, since_id: int) -> list[str]:
    """What went wrong with executions that did not complete (for the report)."""
    rows = session.execute(
        select(Execution.id, Execution.status, Execution.error)
        .where(
            Execution.workflow_id == workflow_id,
            Execution.id > since_id,
            Execution.status != "completed",
        )
        .limit(5)
    ).all()
    session.rollback()
    return [f"execution {row.id} {row.status}: {row.error}" for row in rows]


def _last_id(session: Any) -> int:
    value = session.scalar(select(func.max(Execution.id))) or 0
    session.rollback()
    return int(value)


def _drain(session: Any, workflow_id: int, since_id: int, expected: int) -> tuple[int, int, float]:
    """Wait until `expected` executions exist and all are final: (executions, completed, last
    finish as a timestamp)."""
    deadline = time.monotonic() + 600
    while True:
        total, completed, final, last = _finished(session, workflow_id, since_id)
        if (total >= expected and final == total) or time.monotonic() > deadline:
            return total, completed, last
        time.sleep(0.05)


def _listeners(session: Any) -> int:
    """The finish listeners connected to this run's database (one per web process that
    answered a wait-mode request)."""
    count = session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'stepline-finish-listener'"
        )
    )
    session.rollback()
    return int(count or 0)


def _setup(app: Any) -> tuple[int, str, int, str]:
    """A user and two enabled webhook workflows (immediate, wait): ids and URL paths."""
    with app.app_context():
        user = User(email="bench@example.com", name="")
        user.set_password("bench-password")
        db.session.add(user)
        db.session.commit()
        secrets = container(app).secrets
        made = []
        for mode in ("immediate", "wait"):
            spec = WorkflowSpec.model_validate(
                {
                    "name": f"bench webhook ({mode})",
                    "trigger": {"type": "webhook", "config": {"response_mode": mode}},
                    "steps": STEPS,
                }
            )
            workflow = crud.create_workflow(
                db.session(), user.id, spec, secrets, container().handlers
            )
            crud.set_enabled(db.session(), workflow, True, container().handlers)
            found = db.session.get(Workflow, workflow.id)
            assert found is not None and found.trigger is not None
            made.append((found.id, f"/hooks/{found.trigger.webhook_token}"))
        return made[0][0], made[0][1], made[1][0], made[1][1]


def _cpu_line(phase: Phase, executions: int) -> str:
    per = {k: v * 1000 / max(1, executions) for k, v in phase.cpu.items()}
    server = sum(v for k, v in per.items() if k != "client")
    ceiling = (os.cpu_count() or 1) * 1000 / server if server > 0 else 0.0
    parts = ", ".join(f"{k} {v:.2f} ms" for k, v in per.items())
    return (
        f"CPU per execution: {parts}; server side {server:.2f} ms, i.e. at most "
        f"{ceiling:.0f} executions/s with every CPU of this machine"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="immediate mode, c=32")
    parser.add_argument("--requests-c8", type=int, default=3000)
    parser.add_argument("--wait-requests", type=int, default=2000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--worker-threads", type=int, default=4)
    args = parser.parse_args()
    port = _free_port()
    report: list[str] = []

    with stack() as bench:
        app = create_app(bench.config())
        immediate_id, immediate_path, _, wait_path = _setup(app)
        env = bench.env(
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS=str(args.web_workers),
            GUNICORN_THREADS=str(args.web_threads),
            GUNICORN_TIMEOUT="180",
            STEPLINE_WEBHOOK_RATE_LIMIT="1000000/second",
            dramatiq_worker_timeout="20",
        )
        web = spawn(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")], env, "Listening at"
        )
        worker = spawn(
            [
                str(BIN / "dramatiq"),
                "app.tasks",
                "--processes",
                str(args.worker_processes),
                "--threads",
                str(args.worker_threads),
            ],
            env,
            "ready for action",
        )
        session = db.session
        meters = Meters(web.pid, worker.pid, session)
        load = os.getloadavg()[0]
        speed = machine_speed()
        try:
            with app.app_context():
                _wait_http(port)
                run_phase(port, immediate_path, "warm-up", 8, 300)
                run_phase(port, wait_path, "warm-up", 8, 100)
                _drain(session, immediate_id, 0, 300)
                phases = []
                for concurrency, count in ((8, args.requests_c8), (32, args.requests)):
                    before, cpu = _last_id(session), meters.read()
                    phase = run_phase(port, immediate_path, "immediate", concurrency, count)
                    total, completed, last_finish = _drain(session, immediate_id, before, count)
                    phase.cpu = meters.since(cpu)
                    phase.errors += _not_completed(session, immediate_id, before)
                    phases.append((phase, completed, total, last_finish - phase.started))
                waits = []
                for concurrency in (8, 32):
                    cpu = meters.read()
                    phase = run_phase(port, wait_path, "wait", concurrency, args.wait_requests)
                    phase.cpu = meters.since(cpu)
                    waits.append(phase)
                listeners = _listeners(session)
        finally:
            stop(web)
            stop(worker)
            with app.app_context():
                db.engine.dispose()
            container(app).engine.dispose()

    report.append(
        f"webhook -> 3 transform steps; gunicorn {args.web_workers} workers x "
        f"{args.web_threads} threads; dramatiq {args.worker_processes} process(es) x "
        f"{args.worker_threads} threads; PostgreSQL + Redis; {os.cpu_count()} CPUs; "
        f"load average at the start: {load:.1f} (other processes share the machine)"
    )
    report.append(speed_line(speed, machine_speed()))
    for phase, completed, total, span in phases:
        ids = len(set(phase.execution_ids))
        report.append(
            f"immediate c={phase.concurrency}: {phase.requests} requests, accepted "
            f"{phase.accepted / phase.elapsed:.0f} req/s ({phase.refused} 429s retried), "
            f"executions completed {completed / span:.0f}/s; "
            f"latency p50 {phase.percentile(0.5):.1f} ms p99 {phase.percentile(0.99):.1f} ms; "
            f"{total} executions for {phase.accepted} accepted ({ids} distinct ids), "
            f"{completed} completed, {len(phase.errors)} errors"
        )
        report.append("  " + _cpu_line(phase, completed))
    report.append(f"wait mode: {listeners} finish listener(s) connected (one per web process)")
    for phase in waits:
        report.append(
            f"wait c={phase.concurrency}: {phase.requests} requests, "
            f"{phase.accepted / phase.elapsed:.0f} answered/s, latency p50 "
            f"{phase.percentile(0.5):.1f} ms p99 {phase.percentile(0.99):.1f} ms "
            f"(mean {statistics.fmean(phase.latencies) * 1000:.1f} ms), "
            f"{phase.refused} 429s, {len(phase.errors)} errors"
        )
        report.append("  " + _cpu_line(phase, phase.accepted))
    for phase in [p for p, *_ in phases] + waits:
        for error in phase.errors[:3]:
            report.append(f"  error ({phase.name} c={phase.concurrency}): {error}")
    _, completed, _, span = phases[-1]
    print("\n".join(report))
    print(f"executions/s: {completed / span:.0f}")


if __name__ == "__main__":
    main()
