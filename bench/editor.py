"""Workflows page and editor at scale: server time over 1,000,000 executions and 1,000 workflows.

Seeds a PostgreSQL database of its own with bench/dashboard_seed.py (20 workflows of the
measured user share N executions) plus 1,000 more workflows without runs, then times requests
through the Flask test client in process: the list's first page (no runs), the page holding the
20 busy workflows (run counts and last runs over every execution), a search, the editor page,
a step panel (its picker reads the latest executions' outputs) and the flow fragment. Prints
p50/p95/max per request; drops the database at the end.

    .venv/bin/python -m bench.editor [--executions 1000000] [--requests 100] [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also run as a script: bench/editor.py

from app.extensions import db  # noqa: E402
from bench.dashboard_seed import PASSWORD, build_app, create_database, drop_database, seed  # noqa: E402

HTMX = {"HX-Request": "true"}
LIGHT_WORKFLOWS = 1_000

SEED_LIGHT = """
WITH made AS (
    INSERT INTO workflows (user_id, name, description, enabled, version, created_at, updated_at)
    SELECT :owner, 'Light ' || g.i, '', false, 1, now(), now()
    FROM generate_series(1, :n) AS g(i)
    RETURNING id
)
INSERT INTO triggers (workflow_id, type, config, state, created_at, updated_at)
SELECT id, 'manual', '{}', '{}', now(), now() FROM made
"""


def timed(client: FlaskClient, path: str, requests: int, htmx: bool) -> list[float]:
    headers = HTMX if htmx else {}
    for _ in range(5):  # templates compiled, connections in the pool
        assert client.get(path, headers=headers).status_code == 200, path
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def report(label: str, path: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"  {label:<44} p50 {statistics.median(samples):6.1f}  p95 {p95:6.1f}"
        f"  max {max(samples):6.1f} ms   {path}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = parser.parse_args()

    name, url = create_database()
    try:
        app = build_app(url)
        print(f"Seeding {args.executions:,} executions and {LIGHT_WORKFLOWS:,} workflows …")
        owner_id = seed(app, url, args.executions)
        with app.app_context():
            busy = db.session.execute(
                text("SELECT min(id), max(id) FROM workflows WHERE user_id = :u"), {"u": owner_id}
            ).one()
            db.session.execute(text(SEED_LIGHT), {"owner": owner_id, "n": LIGHT_WORKFLOWS})
            db.session.commit()
        client = app.test_client()
        response = client.post("/login", data={"email": "bench0@example.com", "password": PASSWORD})
        assert response.status_code == 302
        heavy = busy[0]
        cases: list[tuple[str, str, bool]] = [
            ("workflows page, newest (no runs)", "/workflows", False),
            ("page of the 20 busy workflows: fragment", f"/workflows?after={busy[1] + 1}", True),
            ("search “Orders 1”: fragment", "/workflows?q=Orders%201", True),
            ("editor page (busy workflow)", f"/workflows/{heavy}", False),
            ("step panel with picker: fragment", f"/workflows/{heavy}?step=record", True),
            ("flow fragment", f"/workflows/{heavy}/flow", True),
            ("history page", f"/workflows/{heavy}/history", False),
        ]
        print(f"Server time per request ({args.requests} requests each, after 5 warm-ups):")
        measure: Callable[[str, bool], list[float]] = lambda path, htmx: timed(  # noqa: E731
            client, path, args.requests, htmx
        )
        for label, path, htmx in cases:
            report(label, path, measure(path, htmx))
        if args.keep:
            print(f"Kept {url}")
    finally:
        if not args.keep:
            drop_database(name)


if __name__ == "__main__":
    main()
