"""Scale-out: the same webhook load through more processes against one PostgreSQL.

bench/webhook.py's 3-transform-step webhook workflow, immediate mode, posted at concurrency
--concurrency (32) by a threaded client on loopback, through gunicorn with W worker processes
and `dramatiq app.tasks` with P processes (threads fixed per process), for each size given by
--sizes (default `1x1,2x2,2x4`: W x P). Each size gets fresh processes and a warm-up, then
--requests requests; per size it prints executions completed/s (first request to last
execution finished), server CPU per execution by component (web, worker, PostgreSQL, Redis),
and the PostgreSQL connections the processes held (pg_stat_activity of the bench database,
sampled every 50 ms: the peak, by process kind, next to the pools' ceilings).

    .venv/bin/python -m bench.scale [--sizes 1x1,2x2,2x4] [--requests 6000] [--concurrency 32]
        [--web-threads 4] [--worker-threads 4]

On a machine with fewer cores than processes the larger sizes cannot run faster (they contend
for the same CPUs): read executions/s against the CPU per execution, which says what one
more core buys. The database (and its Redis namespace) exists for the run only.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from app import create_app
from app.container import POOL_KEPT
from app.extensions import container, db
from bench._support import BIN, ROOT, Stack, machine_speed, spawn, speed_line, stack, stop
from bench.webhook import Meters, _cpu_line, _drain, _free_port, _last_id, _setup, _wait_http
from bench.webhook import run_phase as run_load

# application_name of each kind of process, to tell their PostgreSQL connections apart.
KINDS = {"web": "stepline-scale-web", "worker": "stepline-scale-worker"}
# Pools per process (app.container.engine_for; Flask-SQLAlchemy's default for the web's own):
# pool_size + max_overflow.
RUNNER_POOL = (POOL_KEPT, 10)
FLASK_POOL = (5, 10)


@dataclass
class Connections:
    """Samples pg_stat_activity of the bench database while a phase runs."""

    dsn: str
    peak: Counter[str] = field(default_factory=Counter)
    peak_total: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() GROUP BY 1"
                ).fetchall()
                now = Counter({name: int(n) for name, n in rows if name in KINDS.values()})
                for name, n in now.items():
                    self.peak[name] = max(self.peak[name], n)
                self.peak_total = max(self.peak_total, sum(now.values()))
                self.stop.wait(0.05)


@dataclass
class Size:
    web: int
    workers: int
    executions: int = 0
    completed: int = 0
    rate: float = 0.0
    cpu_line: str = ""
    cpu_ms: float = 0.0
    connections: Connections | None = None


def _with_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def _start(bench: Stack, size: Size, port: int, args: argparse.Namespace) -> list[Any]:
    common = {
        "STEPLINE_WEBHOOK_RATE_LIMIT": "1000000/second",
        "STEPLINE_WORKER_THREADS": str(args.worker_threads),
        "dramatiq_worker_timeout": "20",
    }
    web_env = bench.env(
        DATABASE_URL=_with_name(bench.database_url, KINDS["web"]),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(size.web),
        GUNICORN_THREADS=str(args.web_threads),
        GUNICORN_TIMEOUT="180",
        **common,
    )
    worker_env = bench.env(DATABASE_URL=_with_name(bench.database_url, KINDS["worker"]), **common)
    web = spawn([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")], web_env, "Listening")
    worker = spawn(
        [
            str(BIN / "dramatiq"),
            "app.tasks",
            "--processes",
            str(size.workers),
            "--threads",
            str(args.worker_threads),
        ],
        worker_env,
        "ready for action",
    )
    return [web, worker]


def measure(
    bench: Stack, app: Any, size: Size, flow: tuple[int, str], args: argparse.Namespace
) -> None:
    workflow_id, path = flow
    port = _free_port()
    web, worker = _start(bench, size, port, args)
    session = db.session
    try:
        _wait_http(port)
        before = _last_id(session)
        run_load(port, path, "warm-up", args.concurrency, 100 * (size.web + size.workers))
        _drain(session, workflow_id, before, 100 * (size.web + size.workers))
        dsn = bench.database_url.replace("+psycopg", "")
        size.connections = Connections(dsn)
        sampler = threading.Thread(target=size.connections.run, daemon=True)
        sampler.start()
        meters = Meters(web.pid, worker.pid, session)
        before, cpu = _last_id(session), meters.read()
        phase = run_load(port, path, "immediate", args.concurrency, args.requests)
        total, completed, last = _drain(session, workflow_id, before, args.requests)
        phase.cpu = meters.since(cpu)
        size.connections.stop.set()
        sampler.join()
        size.executions, size.completed = total, completed
        size.rate = completed / max(1e-9, last - phase.started)
        size.cpu_line = _cpu_line(phase, completed)
        size.cpu_ms = sum(v for k, v in phase.cpu.items() if k != "client") * 1000 / completed
        if phase.errors:
            size.cpu_line += f"; {len(phase.errors)} errors, first: {phase.errors[0]}"
    finally:
        stop(web)
        stop(worker)


def _ceiling(size: Size, args: argparse.Namespace) -> int:
    """Connections the pools may open at most: each web process has Flask-SQLAlchemy's pool
    and the container's; each worker process the container's."""
    runner = sum(RUNNER_POOL)
    return size.web * (sum(FLASK_POOL) + runner) + size.workers * runner


def report(sizes: list[Size], args: argparse.Namespace, load: float) -> list[str]:
    lines = [
        f"webhook -> 3 transform steps, immediate mode, c={args.concurrency}, {args.requests} "
        f"requests per size; gunicorn x {args.web_threads} threads, dramatiq x "
        f"{args.worker_threads} threads per process; one PostgreSQL, Redis; {os.cpu_count()} "
        f"CPUs; load average at the start: {load:.1f} (other processes share the machine)"
    ]
    for size in sizes:
        held = size.connections
        peak = held.peak if held else Counter()
        lines.append(
            f"{size.web} web + {size.workers} worker processes: {size.rate:.0f} executions/s "
            f"({size.completed} of {size.executions} completed); server CPU "
            f"{size.cpu_ms:.2f} ms per execution; PostgreSQL connections peak "
            f"{held.peak_total if held else 0} (web {peak[KINDS['web']]}, worker "
            f"{peak[KINDS['worker']]}; pools allow {_ceiling(size, args)})"
        )
        lines.append("  " + size.cpu_line)
    return lines


def _size(text: str) -> Size:
    """A size as --sizes spells it: "<web>x<workers>"."""
    web, workers = text.split("x")
    return Size(int(web), int(workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1x1,2x2,2x4", help="web x worker processes, ...")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-threads", type=int, default=4)
    args = parser.parse_args()
    sizes = [_size(part) for part in args.sizes.split(",")]
    load = os.getloadavg()[0]
    speed = machine_speed()
    with stack() as bench:
        app = create_app(bench.config())
        workflow_id, path, _, _ = _setup(app)
        try:
            with app.app_context():
                for size in sizes:
                    measure(bench, app, size, (workflow_id, path), args)
                    print(report([size], args, load)[1], flush=True)
                    time.sleep(1)
        finally:
            with app.app_context():
                db.engine.dispose()
            container(app).engine.dispose()
    print("\n".join(report(sizes, args, load)))
    print(speed_line(speed, machine_speed()))


if __name__ == "__main__":
    main()
