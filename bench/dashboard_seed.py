"""Seeding for bench/dashboard.py: a PostgreSQL database of its own with N executions.

Set-based INSERT … SELECT generate_series on the server: 90 % of the rows finished over 30
days (completed, 1 % of all with errors; failed, cancelled), a few hundred live ones among the
newest, steps for one execution in ten and for every live one; workflows and users are made
through the services. For ten million rows: the rows go in chunks of CHUNK (one statement and
commit each, without synchronous commit), with the tables' secondary indexes dropped first and
built again after (one sort each instead of a B-tree insert per row and index).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text

from app import create_app
from app.extensions import container, db
from app.models import User
from app.models.base import rowcount
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec

PG_ADMIN = os.environ.get("STEPLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench password 1"
OWNER_WORKFLOWS = 20  # the measured user's; 4 more belong to other users
KEYS = 100_000  # distinct run keys (each appears about N / KEYS times)
LIVE = 400  # live executions among the newest
CHUNK = 1_000_000  # rows of generate_series per statement

SPEC = {
    "run_key_template": "{{ trigger.customer.email }}",
    "steps": [
        {"key": "shape", "type": "transform", "config": {"fields": {"id": "{{ trigger.id }}"}}},
        {"key": "wait", "type": "delay", "config": {"amount": 5}},
        {"key": "record", "type": "log", "config": {"message": "order {{ steps.shape.id }}"}},
    ],
}

SEED_EXECUTIONS = """
INSERT INTO executions (workflow_id, user_id, status, trigger_type, trigger_data, snapshot,
    workflow_version, position, run_key, error, created_at, started_at, finished_at, updated_at,
    has_errors)
SELECT w.id, w.user_id, s.status, 'webhook',
       jsonb_build_object('id', g.i, 'customer', jsonb_build_object('email', k.key)),
       w.snapshot, 1, 3, k.key,
       CASE WHEN s.status = 'failed' THEN 'Step ''record'' failed: HTTP 503' END,
       t.created, t.created + interval '20 ms', t.created + interval '5040 ms',
       t.created + interval '5040 ms',
       s.status = 'failed' OR g.i % 100 = 89  -- 1 % completed with errors
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g(i)
CROSS JOIN LATERAL (SELECT now() - (:n - g.i) * (interval '30 days' / :n) AS created) AS t
CROSS JOIN LATERAL (SELECT 'customer-' || (g.i::bigint * 7919 % :keys) || '@example.com'
                    AS key) AS k
CROSS JOIN LATERAL (SELECT CASE WHEN g.i % 100 < 90 THEN 'completed'
                                WHEN g.i % 100 < 97 THEN 'failed'
                                ELSE 'cancelled' END AS status) AS s
JOIN bench_workflows AS w ON w.slot = g.i % :slots
ORDER BY g.i
"""

SEED_LIVE = """
UPDATE executions SET status = CASE WHEN id % 2 = 0 THEN 'running' ELSE 'pending' END,
       position = 1, error = NULL, finished_at = NULL,
       lease_expires_at = now() + interval '1 hour'
WHERE id > (SELECT max(id) FROM executions) - :live
"""

SEED_STEPS = """
INSERT INTO execution_steps (execution_id, position, action_key, action_type, status, attempts,
    input, output, error, attempt_log, started_at, finished_at)
SELECT e.id, p.position, p.key, p.type,
       CASE WHEN e.status IN ('pending', 'running') AND p.position > 0 THEN
                CASE WHEN p.position = 1 AND e.status = 'running' THEN 'running' ELSE 'pending' END
            WHEN e.status = 'failed' AND p.position = 2 THEN 'failed'
            ELSE 'completed' END,
       1, jsonb_build_object('id', e.id), jsonb_build_object('id', e.id, 'ok', true), NULL,
       jsonb_build_array(jsonb_build_object('attempt', 1,
           'started_at', to_char(e.created_at, 'YYYY-MM-DD"T"HH24:MI:SS+00:00'),
           'finished_at', to_char(e.created_at, 'YYYY-MM-DD"T"HH24:MI:SS+00:00'))),
       e.created_at, e.finished_at
FROM executions AS e
CROSS JOIN (VALUES (0, 'shape', 'transform'), (1, 'wait', 'delay'), (2, 'record', 'log'))
    AS p(position, key, type)
WHERE (e.id % 10 = 0 OR e.status IN ('pending', 'running')) AND e.id BETWEEN :lo AND :hi
"""

# Secondary indexes of the seeded tables (not those behind a primary key or unique constraint).
SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes AS i
WHERE i.schemaname = 'public' AND i.tablename IN ('executions', 'execution_steps')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c
                  WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
"""


def create_database() -> tuple[str, str]:
    name = f"stepline_bench_dashboard_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def release(name: str, url: str, keep: bool) -> None:
    """Drop the seeded database after a run, or say where it was kept (--keep)."""
    if keep:
        print(f"Kept the database: {url}")
    else:
        drop_database(name)
        print(f"Dropped {name}.")


def close_app(app: Flask) -> None:
    """Close the database pools of an app built by build_app."""
    with app.app_context():
        db.engine.dispose()
    container(app).engine.dispose()


def build_app(url: str) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "SECRET_KEYS": Fernet.generate_key().decode(),
            "QUEUE_PREFIX": f"stepline-bench-{uuid.uuid4().hex[:8]}",
            "EMBEDDED_WORKER": False,
            "WTF_CSRF_ENABLED": False,
            # bench/api.py times requests, not the API's rate limit: raised out of the way
            "API_RATE_LIMIT": "1000000/minute",
        }
    )


def _timed(bulk: Any, label: str, statement: str, params: dict[str, int]) -> int:
    started = time.perf_counter()
    rows = rowcount(bulk.execute(text(statement), params))
    bulk.commit()
    print(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return rows


def _chunked(
    bulk: Any, label: str, statement: str, params: dict[str, int], first: int, last: int
) -> None:
    """`statement` over :lo..:hi ranges of CHUNK from `first` to `last`, a commit each."""
    for lo in range(first, last + 1, CHUNK):
        hi = min(last, lo + CHUNK - 1)
        _timed(bulk, f"{label} {lo:,}-{hi:,}", statement, {**params, "lo": lo, "hi": hi})


def seed(app: Flask, database_url: str, executions: int) -> int:
    """Users, workflows (through the service) and `executions` rows; returns the owner's id."""
    from flask_migrate import upgrade

    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # Alembic's log of each revision
            upgrade()
        session = db.session()
        secrets = container(app).secrets
        users = []
        for n in range(3):
            user = User(email=f"bench{n}@example.com", name=f"Bench {n}")
            user.set_password(PASSWORD)
            session.add(user)
            users.append(user)
        session.commit()
        session.execute(
            text("CREATE TABLE bench_workflows (slot int, id int, user_id int, snapshot jsonb)")
        )
        slots = OWNER_WORKFLOWS + 4
        for slot in range(slots):
            owner = users[0] if slot < OWNER_WORKFLOWS else users[1 + slot % 2]
            spec = WorkflowSpec.model_validate({**SPEC, "name": f"Orders {slot}"})
            workflow = crud.create_workflow(session, owner.id, spec, secrets, container().handlers)
            snapshot = crud.snapshot(workflow)
            session.execute(
                text("INSERT INTO bench_workflows VALUES (:slot, :id, :user_id, :snapshot)"),
                {
                    "slot": slot,
                    "id": workflow.id,
                    "user_id": owner.id,
                    "snapshot": json.dumps(snapshot),
                },
            )
        session.commit()
        params = {"n": executions, "keys": KEYS, "slots": slots, "live": LIVE}
        with db.engine.connect() as bulk:  # one connection: its SETs hold for every chunk
            bulk.execute(text("SET synchronous_commit = off"))
            bulk.execute(text("SET maintenance_work_mem = '512MB'"))
            indexes = bulk.execute(text(SECONDARY_INDEXES)).all()
            for index_name, _ in indexes:
                bulk.execute(text(f'DROP INDEX "{index_name}"'))
            bulk.commit()
            _chunked(bulk, "executions", SEED_EXECUTIONS, params, 1, executions)
            _timed(bulk, "live executions", SEED_LIVE, params)
            top = int(bulk.scalar(text("SELECT coalesce(max(id), 0) FROM executions")) or 0)
            _chunked(bulk, "steps", SEED_STEPS, params, 1, top)
            started = time.perf_counter()
            for _, definition in indexes:
                bulk.execute(text(definition))
                bulk.commit()
        print(f"  {len(indexes)} indexes built in {time.perf_counter() - started:.1f} s")
        session.execute(text("DROP TABLE bench_workflows"))
        session.commit()
        owner_id = users[0].id
    # Statistics and the visibility map, as autovacuum would leave them on a live system.
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return owner_id
