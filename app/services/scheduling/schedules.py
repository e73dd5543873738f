"""Schedule use cases: fire due schedule triggers (a scheduler job), start slots queued behind a
running execution, and show the next run times.

Each pass handles a due trigger once: it claims the trigger
(app/services/scheduling/due_triggers.py), takes the latest slot that is due, applies the catch-up
policy (a slot more than SCHEDULE_GRACE_SECONDS late was missed: `run_once` fires it once for all
missed slots, `skip` does not), then the overlap policy (`skip`, `queue`, `allow`), records the slot
under a unique (trigger, slot) row and moves `next_run_at` to the next slot after now, all in one
transaction with the execution. Functions take `now`, so tests drive them with a clock of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from app.engine.runner import Send
from app.models import Execution, ExecutionStatus, ScheduleSlot, SlotStatus, Trigger, Workflow
from app.models.base import rowcount, utcnow
from app.services.errors import InvalidInputError
from app.services.executions import lifecycle
from app.services.executions.admission import tolerant
from app.services.scheduling import due_triggers
from app.settings import Settings
from app.triggers.schedule import ScheduleConfig

log = logging.getLogger(__name__)

BATCH = 100
MAX_QUEUED = 10  # slots waiting per trigger under `queue`; later ones are skipped


def upcoming(
    config: Mapping[str, Any], now: datetime | None = None, count: int = 5
) -> list[datetime]:
    """The next `count` run times of a schedule config, in its time zone (the editor's preview);
    InvalidInputError naming the field when the config is not valid."""
    try:
        parsed = ScheduleConfig.model_validate(dict(config))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(["trigger", "config", *(str(p) for p in error["loc"])])
        raise InvalidInputError(error["msg"], field=field) from None
    return parsed.schedule().upcoming(now or utcnow(), count)


def _live(session: Session, workflow_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Execution.workflow_id == workflow_id, Execution.status.in_(ExecutionStatus.LIVE)
                )
            )
        )
    )


def _queued(session: Session, trigger_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ScheduleSlot)
            .where(ScheduleSlot.trigger_id == trigger_id, ScheduleSlot.status == SlotStatus.QUEUED)
        )
        or 0
    )


def _workflow(session: Session, workflow_id: int) -> Workflow:
    return session.scalars(
        select(Workflow)
        .where(Workflow.id == workflow_id)
        .options(selectinload(Workflow.actions), selectinload(Workflow.trigger))
    ).one()


def _data(config: ScheduleConfig, slot: datetime, now: datetime, missed: bool) -> dict[str, Any]:
    return {
        "scheduled_at": slot.isoformat(),
        "scheduled_at_local": slot.astimezone(config.schedule().zone).isoformat(),
        "timezone": config.timezone,
        "cron": config.cron,
        "fired_at": now.isoformat(),
        "missed": missed,
    }


def _start(
    session: Session,
    workflow: Workflow,
    data: dict[str, Any],
    record: Callable[[Session, Execution], None],
    send: Send,
    settings: Settings,
) -> Execution:
    return lifecycle.start(
        session,
        workflow,
        data,
        send=tolerant(send),
        settings=settings,
        trigger_type="schedule",
        record=record,
    )


def _fire_one(
    session: Session, due: due_triggers.Due, now: datetime, send: Send, settings: Settings
) -> bool:
    """Handle one claimed trigger; False when another scheduler had it first."""
    try:
        config = ScheduleConfig.model_validate(due.config)
        schedule = config.schedule()
    except (ValidationError, ValueError):  # e.g. a time zone this machine no longer knows
        log.error("schedule trigger %s has an invalid config; it is stopped", due.trigger_id)
        due_triggers.advance(session, due, None)
        session.commit()
        return True
    slot = schedule.latest_at_or_before(now)
    if not due_triggers.advance(session, due, schedule.next_after(now)):
        return False
    missed = (now - slot).total_seconds() > settings.schedule_grace_seconds
    handled = session.scalar(
        select(ScheduleSlot.id).where(
            ScheduleSlot.trigger_id == due.trigger_id, ScheduleSlot.slot_at == slot
        )
    )
    if (missed and config.catch_up == "skip") or handled is not None:
        session.commit()
        return True
    waiting = config.overlap == "queue" and _queued(session, due.trigger_id) > 0
    if config.overlap != "allow" and (waiting or _live(session, due.workflow_id)):
        status = SlotStatus.SKIPPED
        if config.overlap == "queue" and _queued(session, due.trigger_id) < MAX_QUEUED:
            status = SlotStatus.QUEUED
        session.add(ScheduleSlot(trigger_id=due.trigger_id, slot_at=slot, status=status))
        session.commit()
        return True

    def record(session: Session, execution: Execution) -> None:
        session.add(
            ScheduleSlot(
                trigger_id=due.trigger_id,
                slot_at=slot,
                status=SlotStatus.FIRED,
                execution_id=execution.id,
            )
        )

    workflow = _workflow(session, due.workflow_id)
    _start(session, workflow, _data(config, slot, now, missed), record, send, settings)
    return True


def fire_due(
    session_factory: Callable[[], Session],
    *,
    send: Send,
    settings: Settings,
    now: datetime | None = None,
    limit: int = BATCH,
) -> int:
    """Fire the due schedule triggers (each at most once per pass) and start queued slots whose
    previous run has finished; return how many triggers and slots were handled."""
    now = now or utcnow()
    taken: set[int] = set()
    for _ in range(limit):
        with session_factory() as session:
            due = due_triggers.next_due(session, now, ("schedule",), taken)
            if due is None:
                break
            taken.add(due.trigger_id)
            _fire_one(session, due, now, send, settings)
    return len(taken) + start_queued(session_factory, send=send, settings=settings, now=now)


def start_queued(
    session_factory: Callable[[], Session],
    *,
    send: Send,
    settings: Settings,
    now: datetime | None = None,
) -> int:
    """Start the oldest queued slot of each enabled schedule whose workflow has no live run."""
    now = now or utcnow()
    with session_factory() as session:
        rows = session.execute(
            select(
                ScheduleSlot.id,
                ScheduleSlot.trigger_id,
                ScheduleSlot.slot_at,
                Trigger.workflow_id,
                Trigger.config,
            )
            .join(Trigger, Trigger.id == ScheduleSlot.trigger_id)
            .join(Workflow, Workflow.id == Trigger.workflow_id)
            .where(ScheduleSlot.status == SlotStatus.QUEUED, Workflow.enabled.is_(True))
            .order_by(ScheduleSlot.slot_at)
            .limit(BATCH)
        ).all()
        session.rollback()
    oldest: dict[int, Any] = {}
    for row in rows:
        oldest.setdefault(row.trigger_id, row)
    started = 0
    for row in oldest.values():
        with session_factory() as session:
            due_triggers.lock_trigger(session, row.trigger_id)
            claimed = session.execute(
                update(ScheduleSlot)
                .where(ScheduleSlot.id == row.id, ScheduleSlot.status == SlotStatus.QUEUED)
                .values(status=SlotStatus.FIRED)
            )
            # Checked after the claim: on SQLite the claim's write lock makes the check current.
            if rowcount(claimed) != 1 or _live(session, row.workflow_id):
                session.rollback()
                continue
            config = ScheduleConfig.model_validate(row.config)

            def record(session: Session, execution: Execution, slot_id: int = row.id) -> None:
                session.execute(
                    update(ScheduleSlot)
                    .where(ScheduleSlot.id == slot_id)
                    .values(execution_id=execution.id)
                )

            workflow = _workflow(session, row.workflow_id)
            data = _data(config, row.slot_at, now, missed=False)
            _start(session, workflow, data, record, send, settings)
            started += 1
    return started


def prune(session: Session, before: datetime) -> int:
    """Forget handled slots older than `before` (queued ones stay); return how many."""
    old = delete(ScheduleSlot).where(
        ScheduleSlot.slot_at < before, ScheduleSlot.status != SlotStatus.QUEUED
    )
    deleted = rowcount(session.execute(old))
    session.commit()
    return deleted
