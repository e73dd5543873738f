"""A webhook delivery's execution stored in one statement (PostgreSQL, straight to the driver:
see app.models.pg_autocommit): no ORM unit of work, one round trip, optionally guarded by the
webhook as it was read at an earlier request. Elsewhere, `lifecycle.start`."""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.engine.program import Program
from app.engine.runner import Send, ring
from app.models import Workflow, pg_autocommit
from app.services.executions import reuse_runs
from app.services.executions.lifecycle import columns, start, trigger_json
from app.services.workflows.crud import snapshot as workflow_snapshot
from app.settings import Settings

# JSON travels as text, serialized once here (the snapshot and the step rows once per
# definition: `_Frozen`).
_EXECUTION_COLUMNS = """
    INSERT INTO executions (
        workflow_id, user_id, status, trigger_type, trigger_data, snapshot,
        workflow_version, position, frame, run_key, rerun_of_id, created_at, updated_at,
        started_at, finished_at, lease_expires_at, deadline_at
    )"""
_EXECUTION_VALUES = """
        %(workflow_id)s, %(user_id)s, %(status)s, %(trigger_type)s,
        CAST(%(trigger_data)s AS jsonb), CAST(%(snapshot)s AS jsonb), %(workflow_version)s,
        %(position)s, %(frame)s, %(run_key)s, %(rerun_of_id)s, %(created_at)s, %(updated_at)s,
        %(started_at)s, %(finished_at)s, %(lease_expires_at)s, %(deadline_at)s"""
# A webhook's target read at an earlier request (app.services.webhooks.token_lookup.Targets)
# is checked as the execution is stored: the token still names that trigger, with that config,
# of that workflow, enabled, at that version. Else nothing is stored.
_GUARD = """
    WHERE EXISTS (
        SELECT 1 FROM triggers t JOIN workflows w ON w.id = t.workflow_id
        WHERE t.id = %(guard_trigger_id)s AND t.webhook_token = %(guard_token)s
            AND t.type = 'webhook' AND t.config = CAST(%(guard_config)s AS jsonb)
            AND w.id = %(workflow_id)s AND w.enabled AND w.version = %(workflow_version)s
            AND w.created_at = %(guard_created_at)s
    )"""
_STEPS = """
    ), s AS (
        INSERT INTO execution_steps (
            execution_id, position, frame, address, action_key, action_type, status,
            attempts, input, output, attempt_log
        )
        SELECT e.id, x.position, x.frame, x.address, x.action_key, x.action_type, x.status,
            0, x.input, x.output, '[]'::jsonb
        FROM e, jsonb_to_recordset(CAST(%(steps)s AS jsonb)) AS x(
            position integer, frame text, address text, action_key text, action_type text,
            status text, input jsonb, output jsonb
        )
    )
    SELECT id FROM e
    """
_INSERT_PG = pg_autocommit.prepare(
    f"WITH e AS ({_EXECUTION_COLUMNS} VALUES ({_EXECUTION_VALUES}) RETURNING id{_STEPS}"
)
_INSERT_GUARDED_PG = pg_autocommit.prepare(
    f"WITH e AS ({_EXECUTION_COLUMNS} SELECT {_EXECUTION_VALUES}{_GUARD} RETURNING id{_STEPS}"
)


@dataclass(frozen=True)
class _Frozen:
    """What `_plan` builds from a definition alone (no reuse, no snapshot given), with its JSON
    text: the same for every execution of that definition."""

    snapshot: dict[str, Any]
    snapshot_json: str
    steps_json: str
    first: int
    frame: str
    done: bool


class _FrozenDefinitions:
    """`_Frozen` per workflow object. The webhook receiver passes the detached definitions that
    app.services.webhooks.token_lookup caches per (id, version); an entry lives as long as the
    object it was built from, so it is exactly as current as that object."""

    def __init__(self) -> None:
        self._frozen: weakref.WeakKeyDictionary[Workflow, _Frozen] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, workflow: Workflow) -> _Frozen:
        with self._lock:
            frozen = self._frozen.get(workflow)
        if frozen is not None:
            return frozen
        snapshot = workflow_snapshot(workflow)
        program = Program(snapshot["actions"])
        steps, cursor = reuse_runs.replay(program, {})
        first, frame = cursor or (len(program), "")
        frozen = _Frozen(
            snapshot, json.dumps(snapshot), json.dumps(steps), first, frame, cursor is None
        )
        with self._lock:
            self._frozen[workflow] = frozen
        return frozen


_frozen_definitions = _FrozenDefinitions()


def start_id(
    session: Session,
    workflow: Workflow,
    data: Mapping[str, Any],
    *,
    send: Send,
    settings: Settings,
    trigger_type: str,
    guard: Mapping[str, Any] | None = None,
) -> int | None:
    """`start` for ingress, where only the new execution's id is needed: on PostgreSQL one
    statement stores the execution with its steps, and no ORM object is built.

    `guard` (PostgreSQL only: `token_lookup.Kept.guard`): store the execution only if the
    webhook is still as it was read at an earlier request, else store nothing and return None."""
    engine = pg_autocommit.engine_of(session)
    if engine is None:
        if guard is not None:
            raise ValueError("a guarded start is for PostgreSQL")
        execution = start(
            session, workflow, data, send=send, settings=settings, trigger_type=trigger_type
        )
        return execution.id
    frozen = _frozen_definitions.get(workflow)
    values = columns(
        workflow,
        frozen.snapshot,
        data,
        settings,
        trigger_type,
        frozen.first,
        frozen.frame,
        frozen.done,
    )
    values.update(
        trigger_data=trigger_json(data, settings),
        snapshot=frozen.snapshot_json,
        steps=frozen.steps_json,
        rerun_of_id=None,
    )
    if guard is None:
        execution_id = int(pg_autocommit.one(engine, _INSERT_PG, values).id)
    else:
        row = pg_autocommit.one(engine, _INSERT_GUARDED_PG, {**values, **guard})
        if row is None:
            return None
        execution_id = int(row.id)
    if not frozen.done:
        ring(send, execution_id, frozen.first, 1, 0.0, frozen.frame)
    return execution_id
