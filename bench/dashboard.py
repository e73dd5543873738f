"""Executions dashboard at scale: server time of its pages and fragments over 1,000,000 rows.

Creates a PostgreSQL database of its own, migrates it, seeds N executions (90 % finished over
30 days, a few hundred live ones in the last minutes; steps for one in ten and for every live
one) with set-based INSERT … SELECT generate_series, then times requests through the Flask
test client in process, logged in as the user who owns most rows. Prints p50/p95/max per
request kind and the PostgreSQL plans of the list queries; drops the database at the end.

    .venv/bin/python -m bench.dashboard [--executions 1000000] [--requests 200] [--keep]
        [--reuse URL]   (time a database a --keep run left, without seeding it again)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also run as a script: bench/dashboard.py

from app.extensions import db  # noqa: E402
from bench.dashboard_seed import (  # noqa: E402
    KEYS,
    PASSWORD,
    build_app,
    close_app,
    create_database,
    release,
    seed,
)

HTMX = {"HX-Request": "true"}


def login(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "bench0@example.com", "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def timed(
    client: FlaskClient, url: Callable[[], str], requests: int, htmx: bool
) -> tuple[list[float], list[float]]:
    """Wall-clock server time of `requests` GETs (after a warm-up), and the CPU time this
    process spent on each (the web side's own cost, whatever else the machine is doing)."""
    headers = HTMX if htmx else {}
    for _ in range(5):  # templates compiled, connections in the pool
        client.get(url(), headers=headers)
    wall, cpu = [], []
    for _ in range(requests):
        path = url()
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get(path, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code in (200, 286), (path, response.status_code)
    return wall, cpu


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(label: str, samples: tuple[list[float], list[float]], target: float | None) -> None:
    wall, cpu = samples
    p50, p95 = statistics.median(wall), percentile(wall, 0.95)
    if target is None:
        note = "no target: once per page view, or once an hour per user when polled"
    else:
        note = f"p95 target {target:.0f} ms: {'ok' if p95 <= target else 'OVER TARGET'}"
    print(
        f"  {label:<46} p50 {p50:6.1f}  p95 {p95:6.1f}  max {max(wall):6.1f} ms"
        f" | cpu p50 {statistics.median(cpu):5.1f}  p95 {percentile(cpu, 0.95):5.1f} ms  ({note})"
    )


def explain(app: Flask, client: FlaskClient, label: str, path: str, htmx: bool) -> None:
    """EXPLAIN ANALYZE every query on executions that one request runs: scans and times."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "executions" in statement:
            captured.append((statement, params))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(path, headers=HTMX if htmx else {})
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    print(f"  {label}  ({path})")
    with engine.connect() as conn:
        for statement, params in captured:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE) {statement}", params).scalars()
            lines = [line.strip() for line in plan]
            scans = [line.split("  (")[0] for line in lines if "Scan" in line]
            total = next(line for line in lines if line.startswith("Execution Time"))
            print(f"    {total:<28} {'; '.join(scans)[:150]}")


def owner_of_most(app: Flask) -> int:
    """The user who owns the most executions (the one `seed` returned)."""
    with app.app_context():
        return int(
            db.session.scalar(
                text("SELECT user_id FROM executions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
            )
        )


def ids(app: Flask, owner_id: int, executions: int) -> dict[str, Any]:
    """A running execution, the newest one, and one a third of the way down the list."""
    with app.app_context():
        owner = {"u": owner_id}
        newest = "SELECT max(id) FROM executions WHERE user_id = :u"
        running = newest + " AND status = 'running'"
        middle = "SELECT id FROM executions WHERE user_id = :u ORDER BY id OFFSET :o LIMIT 1"
        counts = db.session.execute(
            text("SELECT user_id, count(*) FROM executions GROUP BY 1 ORDER BY 1")
        ).all()
        steps = db.session.scalar(text("SELECT count(*) FROM execution_steps"))
        per_user = ", ".join(f"user {u}: {c:,}" for u, c in counts)
        print(f"  executions by user: {per_user}; steps: {steps:,}")
        return {
            "running": db.session.execute(text(running), owner).scalar_one(),
            "newest": db.session.execute(text(newest), owner).scalar_one(),
            "middle": db.session.execute(
                text(middle), {**owner, "o": executions // 3}
            ).scalar_one(),
            "workflow": db.session.execute(
                text("SELECT min(id) FROM workflows WHERE user_id = :u"), owner
            ).scalar_one(),
            "page": ",".join(  # the live rows of the list's first page, as its poll sends them
                str(i)
                for i in db.session.scalars(
                    text(
                        "SELECT id FROM executions WHERE user_id = :u"
                        " ORDER BY created_at DESC, id DESC LIMIT 25"
                    ),
                    owner,
                )
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="time a database an earlier --keep run seeded (kept again) instead of seeding one",
    )
    args = parser.parse_args()

    if args.reuse:
        url, args.keep = args.reuse, True
        name = url.rsplit("/", 1)[1]
    else:
        name, url = create_database()
    try:
        app = build_app(url)
        if args.reuse:
            owner_id = owner_of_most(app)
            with app.app_context():
                args.executions = db.session.scalar(text("SELECT count(*) FROM executions"))
            print(f"Timing {args.executions:,} executions already in {name} …")
        else:
            print(f"Seeding {args.executions:,} executions into {name} …")
            owner_id = seed(app, url, args.executions)
        known = ids(app, owner_id, args.executions)
        client = app.test_client()
        login(client)
        keys = [f"customer-{random.randrange(KEYS)}@example.com" for _ in range(50)]
        poll = f"/executions/live?top=1&after={known['newest']}"
        figures = client.get("/executions/stats", headers=HTMX).get_data(as_text=True)
        digest = figures.split('data-digest="', 1)[1].split('"', 1)[0]  # what the page shows

        def by_key() -> str:
            return f"/executions?run_key={random.choice(keys)}"

        cases: list[tuple[str, Callable[[], str], bool, float | None]] = [
            ("executions page (list; figures load after it)", lambda: "/executions", False, 100),
            (
                "figures: counts 24 h / 7 days, hourly chart",
                lambda: "/executions/stats",
                True,
                None,
            ),
            (
                "one workflow's executions page",
                lambda: f"/workflows/{known['workflow']}/executions",
                False,
                100,
            ),
            ("list filtered by run key: page", by_key, False, 100),
            ("list filtered by run key: fragment", by_key, True, 100),
            (
                "list filtered by status=failed: fragment",
                lambda: "/executions?status=failed",
                True,
                100,
            ),
            (
                "list filtered by status=completed-with-errors: fragment",
                lambda: "/executions?status=completed-with-errors",
                True,
                100,
            ),
            (
                "older page a third of the way down: fragment",
                lambda: f"/executions?before={known['middle']}",
                True,
                100,
            ),
            (
                "live-row fragment (running execution)",
                lambda: f"/executions/{known['running']}/row",
                True,
                20,
            ),
            (
                "execution status fragment (running)",
                lambda: f"/executions/{known['running']}/status",
                True,
                20,
            ),
            (
                "list's poll: 25 live rows, figures unchanged",
                lambda: f"{poll}&live={known['page']}&figures={digest}",
                True,
                20,
            ),
            (
                "list's poll: 25 live rows, figures changed",
                lambda: f"{poll}&live={known['page']}",
                True,
                20,
            ),
            (
                "list's poll: no live row, figures unchanged",
                lambda: f"{poll}&figures={digest}",
                True,
                20,
            ),
            (
                "list's poll, its settled hours counted afresh",
                lambda: uncached(poll),
                True,
                None,
            ),
        ]

        def uncached(path: str) -> str:
            """What the poll costs when the figures' cache is cold (once an hour per user and
            page scope, or MAX_AGE after the last count)."""
            cache = app.extensions.get("stepline.execution_figures")
            if cache is not None:
                cache.clear()
            return path

        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"Server time, {args.requests} requests each (Flask test client, in process;")
        print(f"  machine load average {load} on {os.cpu_count()} CPUs):")
        for label, path, htmx, target in cases:
            report(label, timed(client, path, args.requests, htmx), target)
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"  (load average afterwards: {load})")
        print("PostgreSQL plans of the queries behind each request (EXPLAIN ANALYZE):")
        for label, path, htmx, _ in cases:
            explain(app, client, label, path(), htmx)
        close_app(app)
    finally:
        release(name, url, args.keep)


if __name__ == "__main__":
    main()
