"""Failure handling: what a workflow's `settings.on_failure` says happens when a run fails.

The scheduler's pass (`handle_failed`) reads failed runs whose handling is not done
(`failure_handled_at` NULL, a partial index keeps them few) in small batches, and stamps each
with a conditional UPDATE, so two schedulers handle a run once. In the transaction of the
stamp it starts the error workflow (a run of trigger type `failure` with the failed run's
details, services.executions.failure_details) and adds the failure to the notices of the
workflow's channels (services.executions.failure_notices, which sends them later, storm
limited). Nothing here runs on the engine's path: a run that succeeds costs nothing.

Not handled (stamped, nothing done): dry runs, the editor's test runs, runs of workflows
without `on_failure`. A run that failure handling started (or a child run of one) starts no
error workflow when it fails, so an error workflow that fails, itself or one that calls back,
never loops; its notices still go out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.engine.runner import Send
from app.models import Execution, Workflow
from app.models.base import rowcount
from app.models.executions import UNHANDLED_SQL
from app.services.errors import ServiceError
from app.services.executions import failure_notices, lifecycle
from app.services.executions.failure_details import FAILURE_TRIGGER, failure_of, started_by_failure
from app.services.workflows.draft_runs import TEST_TRIGGER
from app.services.workflows.failure_spec import OnFailure
from app.settings import Settings

log = logging.getLogger(__name__)

BATCH = 50  # failed runs per pass


@dataclass(frozen=True)
class Handled:
    """What one pass did."""

    runs: int = 0  # failed runs stamped handled (those with nothing to do included)
    error_runs: int = 0  # error workflow runs started


def _candidates(session: Session, limit: int) -> list[tuple[int, int, bool, str]]:
    # The partial index's own predicate, as literal SQL: SQLite plans a partial index only
    # for a WHERE that states it (bound parameters do not).
    rows = session.execute(
        select(Execution.id, Execution.workflow_id, Execution.dry_run, Execution.trigger_type)
        .where(text(UNHANDLED_SQL))
        .order_by(Execution.id)
        .limit(limit)
    ).all()
    return [(r.id, r.workflow_id, r.dry_run, r.trigger_type) for r in rows]


def _stamp(session: Session, ids: list[int], now: datetime) -> int:
    return rowcount(
        session.execute(
            update(Execution)
            .where(Execution.id.in_(ids), Execution.failure_handled_at.is_(None))
            .values(failure_handled_at=now)
        )
    )


def handle_failed(
    session_factory: Callable[[], Session],
    *,
    send: Send,
    settings: Settings,
    now: datetime,
    limit: int = BATCH,
) -> Handled:
    """Handle up to `limit` failed runs (oldest first); what was done."""
    with session_factory() as session:
        found = _candidates(session, limit)
        if not found:
            return Handled()
        workflow_ids = {workflow_id for _, workflow_id, _, _ in found}
        stored: dict[int, dict[str, Any]] = dict(
            session.execute(
                select(Workflow.id, Workflow.settings).where(Workflow.id.in_(workflow_ids))
            ).all()
        )
        plans = {wid: failure_notices.on_failure_of(stored.get(wid)) for wid in workflow_ids}
        ignored = {
            execution_id
            for execution_id, workflow_id, dry_run, trigger_type in found
            if dry_run or trigger_type == TEST_TRIGGER or plans[workflow_id] is None
        }
        runs = _stamp(session, sorted(ignored), now) if ignored else 0
        session.commit()
        error_runs = 0
        for execution_id, workflow_id, _, _ in found:
            plan = plans[workflow_id]
            if execution_id in ignored or plan is None:
                continue
            try:
                done, started = _handle(session, execution_id, plan, send, settings, now)
            except OperationalError:  # the database is unavailable: the next pass tries again
                raise
            except Exception:  # one run's handling: it must not hold up the others for ever
                session.rollback()
                log.exception("failure handling of execution %s failed", execution_id)
                done, started = _stamp(session, [execution_id], now), 0
                session.commit()
            runs += done
            error_runs += started
    return Handled(runs, error_runs)


def _handle(
    session: Session,
    execution_id: int,
    plan: OnFailure,
    send: Send,
    settings: Settings,
    now: datetime,
) -> tuple[int, int]:
    """Stamp one failed run and act on it in the same transaction; (stamped, started)."""
    if _stamp(session, [execution_id], now) != 1:
        session.rollback()  # another scheduler has it
        return 0, 0
    execution = session.get(Execution, execution_id)
    assert execution is not None
    for channel in failure_notices.channels_of(plan):
        failure_notices.add(session, execution.workflow_id, execution.id, channel, now)
    target = None
    if plan.workflow_id is not None:
        if started_by_failure(session, execution):
            log.info("execution %s came from failure handling: no error run", execution_id)
        else:
            target = session.scalar(
                select(Workflow).where(
                    Workflow.id == plan.workflow_id, Workflow.user_id == execution.user_id
                )
            )
            if target is None:
                log.warning(
                    "error workflow %s of workflow %s is gone: not started",
                    plan.workflow_id,
                    execution.workflow_id,
                )
    if target is None:
        session.commit()
        return 1, 0
    data = failure_of(session, execution, settings).as_trigger_data()
    try:
        error_run = _start(session, target, data, send, settings)
    except ServiceError as exc:  # trigger data over the cap or not storable: without it
        log.warning("error run of execution %s without its trigger data: %s", execution_id, exc)
        data["trigger_data"] = {"omitted": f"The failed run's trigger data is left out: {exc}"}
        error_run = _start(session, target, data, send, settings)
    log.info("execution %s failed: error workflow run %s started", execution_id, error_run)
    return 1, 1


def _start(
    session: Session, workflow: Workflow, data: dict[str, object], send: Send, settings: Settings
) -> int:
    """The error workflow's run: it commits the stamp and the notices with it."""
    return lifecycle.start(
        session, workflow, data, send=send, settings=settings, trigger_type=FAILURE_TRIGGER
    ).id
