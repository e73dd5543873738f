"""JSON API at scale: server time of its list, detail and trigger endpoints over N executions.

Seeds a PostgreSQL database of its own like bench.dashboard (N executions over 30 days, most
owned by one user), then times requests through the Flask test client in process with that
user's API token. Lists are keyset pages, so a page a third of the way down (reached through
a cursor) should cost what the first page costs. Prints p50/p95/max per request kind; drops
the database at the end.

    .venv/bin/python -m bench.api [--executions 1000000] [--requests 200] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also run as a script: bench/api.py

from sqlalchemy import text  # noqa: E402

from app.api.pagination import encode_cursor  # noqa: E402
from app.extensions import container, db  # noqa: E402
from app.models import User, Workflow  # noqa: E402
from app.services.accounts import api_tokens  # noqa: E402
from app.services.workflows import crud  # noqa: E402
from bench.dashboard import percentile  # noqa: E402
from bench.dashboard_seed import (  # noqa: E402
    KEYS,
    build_app,
    close_app,
    create_database,
    release,
    seed,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = parser.parse_args()

    name, url = create_database()
    try:
        app = build_app(url)
        print(f"Seeding {args.executions:,} executions into {name} …")
        owner_id = seed(app, url, args.executions)
        with app.app_context():
            session = db.session()
            owner = session.get(User, owner_id)
            assert owner is not None
            token = api_tokens.create_token(session, owner, "bench").secret
            workflow = session.scalars(
                db.select(Workflow).where(Workflow.user_id == owner_id).order_by(Workflow.id)
            ).first()
            assert workflow is not None
            crud.set_enabled(session, workflow, True, container().handlers)
            workflow_id = workflow.id
            middle = session.execute(
                text(
                    "SELECT created_at, id FROM executions WHERE user_id = :u "
                    "ORDER BY created_at DESC, id DESC OFFSET :o LIMIT 1"
                ),
                {"u": owner_id, "o": args.executions // 3},
            ).one()
            newest = session.scalar(
                text("SELECT max(id) FROM executions WHERE user_id = :u"), {"u": owner_id}
            )
        deep = encode_cursor((middle.created_at.astimezone(UTC), middle.id))
        day = datetime.now(UTC) - timedelta(days=10)
        window = (
            f"created_after={day.isoformat()}&created_before={(day + timedelta(1)).isoformat()}"
        )
        window = window.replace("+", "%2B")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        base = "/api/v1/workflows"

        def key() -> str:
            return (
                f"{base}/executions/history?run_key=customer-{random.randrange(KEYS)}@example.com"
            )

        cases: list[tuple[str, str, Callable[[], str]]] = [
            ("history, first page (50)", "GET", lambda: f"{base}/executions/history"),
            ("history, first page (200)", "GET", lambda: f"{base}/executions/history?limit=200"),
            (
                "history, a third down (cursor)",
                "GET",
                lambda: f"{base}/executions/history?cursor={deep}",
            ),
            ("history ?status=failed", "GET", lambda: f"{base}/executions/history?status=failed"),
            ("history ?run_key=…", "GET", key),
            ("history, one day ten days ago", "GET", lambda: f"{base}/executions/history?{window}"),
            ("one workflow's executions", "GET", lambda: f"{base}/{workflow_id}/executions"),
            ("one execution with its steps", "GET", lambda: f"{base}/executions/{newest}"),
            ("list workflows", "GET", lambda: base),
            ("trigger (202 once stored)", "POST", lambda: f"{base}/{workflow_id}/trigger"),
        ]
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"Server time, {args.requests} requests each (Flask test client, in process;")
        print(f"  machine load average {load} on {os.cpu_count()} CPUs):")
        for label, method, path in cases:
            for _ in range(5):  # warm-up: connections in the pool, statements cached
                client.open(path(), method=method, headers=headers, json={"n": 1})
            wall = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.open(path(), method=method, headers=headers, json={"n": 1})
                wall.append((time.perf_counter() - started) * 1000)
                assert response.status_code in (200, 202), (path(), response.get_json())
            print(
                f"  {label:<34} p50 {percentile(wall, 0.5):6.1f}  p95 {percentile(wall, 0.95):6.1f}"
                f"  max {max(wall):6.1f} ms"
            )
        close_app(app)
    finally:
        release(name, url, args.keep)


if __name__ == "__main__":
    main()
