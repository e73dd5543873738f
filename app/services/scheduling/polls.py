"""Polling triggers (the Google ones): a scheduler job claims each due trigger, asks its handler
for new events and starts one execution per event.

The claim moves `next_run_at` on by the handler's `poll_every` and commits before `poll` runs:
no transaction is held while the handler talks to a provider, and two schedulers never poll one
trigger at once. Whatever `poll` changes on the trigger (its cursor in `state`) commits with the
first execution it starts (or alone when there is no event).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.crypto import SecretBox
from app.engine.registry import TriggerRegistry
from app.engine.runner import Send
from app.models import Execution, Trigger, Workflow
from app.models.base import utcnow
from app.services.executions import lifecycle
from app.services.executions.admission import tolerant
from app.services.scheduling import due_triggers
from app.settings import Settings
from app.triggers.base import PollContext, PollEvent

log = logging.getLogger(__name__)

BATCH = 50


def _poll_one(
    session: Session,
    due: due_triggers.Due,
    handler: Any,
    now: datetime,
    send: Send,
    context: PollContext,
) -> int:
    if not due_triggers.advance(session, due, now + timedelta(seconds=float(handler.poll_every))):
        return 0
    session.commit()
    workflow = session.scalars(
        select(Workflow)
        .where(Workflow.id == due.workflow_id)
        .options(selectinload(Workflow.actions), selectinload(Workflow.trigger))
    ).one()
    assert workflow.trigger is not None
    try:
        events = handler.poll(session, workflow.trigger, context)
    except Exception:  # the poll boundary: a provider's failure waits for the next poll
        session.rollback()
        log.exception("polling trigger %s (%s) failed", due.trigger_id, due.type)
        return 0
    for event in events:
        data, record = _unpack(workflow.trigger, event)
        lifecycle.start(
            session,
            workflow,
            data,
            send=tolerant(send),
            settings=context.settings,
            trigger_type=due.type,
            record=record,
        )
    session.commit()
    return len(events)


def _unpack(
    trigger: Trigger, event: dict[str, Any] | PollEvent
) -> tuple[dict[str, Any], Callable[[Session, Execution], None] | None]:
    """An event's trigger data, and for a PollEvent the hook that commits the trigger's state
    (its cursor just past this item) with the item's execution."""
    if not isinstance(event, PollEvent):
        return event, None
    state = event.state

    def record(session: Session, execution: Execution) -> None:
        trigger.state = state

    return event.data, record


def poll_due(
    session_factory: Callable[[], Session],
    *,
    triggers: TriggerRegistry,
    send: Send,
    settings: Settings,
    secrets: SecretBox,
    now: datetime | None = None,
    limit: int = BATCH,
) -> int:
    """Poll every due polling trigger once; return how many executions were started."""
    handlers = {handler.type: handler for handler in triggers if handler.polling}
    if not handlers:
        return 0
    context = PollContext(settings, secrets, session_factory)
    now = now or utcnow()
    taken: set[int] = set()
    started = 0
    for _ in range(limit):
        with session_factory() as session:
            due = due_triggers.next_due(session, now, tuple(handlers), taken)
            if due is None:
                break
            taken.add(due.trigger_id)
            started += _poll_one(session, due, handlers[due.type], now, send, context)
    return started
