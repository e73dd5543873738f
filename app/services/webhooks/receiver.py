"""Webhook use cases: receive a request on a webhook URL, capture one on its test URL, wait for
a run's result, and manage the URL (issue, rotate, listen for a test request).

A request passes, in order: the URL's token names an enabled webhook (else 404, the same for a
wrong, rotated or disabled one), the method is accepted (405), the webhook's rate limit (429),
the signature or secret over the raw body (401), the queue's back-pressure (429), the body
parses (400/413). Then one transaction stores the execution (and the idempotency key), and
only after its commit is the request answered 2xx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.crypto import SecretBox
from app.engine.runner import Send
from app.models import Execution, ExecutionStatus, ExecutionStep, Trigger, Workflow, pg_autocommit
from app.models.base import utcnow
from app.services.errors import (
    ConflictError,
    NotFoundError,
    ServiceError,
)
from app.services.executions import ingress_start, lifecycle
from app.services.executions.admission import Admission, tolerant
from app.services.executions.finish_watch import FinishWatch
from app.services.webhooks import checks, duplicate_deliveries, token_lookup
from app.services.webhooks.request_data import WebhookRequest, trigger_data
from app.settings import Settings
from app.triggers.webhook import WebhookConfig, new_token

LISTEN_SECONDS = 120
POLL_SECONDS = 0.01  # wait mode: how often the execution row is read at first
MAX_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Receipt:
    """An accepted delivery: its execution, and how the caller wants to be answered."""

    execution_id: int | None
    replayed: bool  # an idempotency key seen before: nothing new was started
    response_mode: str
    wait_timeout: float


@dataclass(frozen=True)
class Outcome:
    """Where an execution stands when `wait_for` returns."""

    execution_id: int
    status: str
    output: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ExecutionStatus.FINAL


def _find(session: Session, token: str) -> Workflow:
    """The workflow (enabled or not) whose webhook has this token, with its trigger loaded."""
    target = token_lookup.find(session, token)
    workflow = session.scalars(
        select(Workflow)
        .where(Workflow.id == target.workflow_id)
        .options(selectinload(Workflow.trigger))
    ).one()
    return workflow


def _receipt(execution_id: int | None, replayed: bool, config: WebhookConfig) -> Receipt:
    return Receipt(execution_id, replayed, config.response_mode, config.wait_timeout_seconds)


def receive(
    session: Session,
    token: str,
    request: WebhookRequest,
    *,
    settings: Settings,
    secrets: SecretBox,
    send: Send,
    admission: Admission,
) -> Receipt:
    """Start the webhook's workflow with the request as trigger data (or answer a replay).

    On PostgreSQL the webhook read at an earlier request is used (token_lookup.Targets): the
    insert checks it is still current, and a refusal made on it is answered only once a fresh
    read confirms the webhook is unchanged; else the delivery goes again on the fresh read."""
    rate = checks.RateOnce(admission)
    pg = pg_autocommit.engine_of(session) is not None
    kept = token_lookup.targets.get(token) if pg else None
    fresh: token_lookup.Target | None = None
    if kept is not None:
        try:
            receipt = _deliver(
                session,
                token,
                kept.target,
                kept.config,
                request,
                settings,
                secrets,
                send,
                rate,
                guard=kept.guard,
            )
        except ServiceError:
            fresh = token_lookup.find(session, token)
            if fresh == kept.target:
                raise  # the refusal stands on the webhook as it is now
            receipt = None
        if receipt is not None:
            return receipt
        token_lookup.targets.forget(token)
    target = fresh or token_lookup.find(session, token)
    config = WebhookConfig.model_validate(target.config)
    if pg and target.enabled:
        token_lookup.targets.keep(token, target, config)
    receipt = _deliver(
        session, token, target, config, request, settings, secrets, send, rate, guard=None
    )
    assert receipt is not None  # an unguarded delivery is stored or refused
    return receipt


def _deliver(
    session: Session,
    token: str,
    target: token_lookup.Target,
    config: WebhookConfig,
    request: WebhookRequest,
    settings: Settings,
    secrets: SecretBox,
    send: Send,
    rate: checks.RateOnce,
    *,
    guard: Mapping[str, Any] | None,
) -> Receipt | None:
    """The checks and the insert for one read of the webhook; None when `guard` (a kept read)
    no longer matches what is stored, or when a kept read meets an idempotency key (that path
    reads afresh)."""
    if not target.enabled:
        raise NotFoundError("No webhook at this address.")
    checks.check(target.trigger_id, config, request, secrets, rate)
    rate.admission.check_queue()
    data = trigger_data(request, checks.hidden_headers(config))
    key = duplicate_deliveries.key_for(config.idempotency_key, data, request.headers)
    if key is not None and guard is not None:
        return None
    record = None
    if key is not None:
        earlier = duplicate_deliveries.seen(session, target.trigger_id, key, request.received_at)
        if earlier is not None:
            return _receipt(earlier.execution_id, True, config)
        window = timedelta(seconds=config.idempotency_window_seconds)
        record = duplicate_deliveries.recorder(target.trigger_id, key, request.received_at, window)
    workflow = token_lookup.definitions.get(session, target)
    if record is None:
        execution_id = ingress_start.start_id(
            session,
            workflow,
            data,
            send=tolerant(send),
            settings=settings,
            trigger_type="webhook",
            guard=guard,
        )
        return None if execution_id is None else _receipt(execution_id, False, config)
    session.commit()  # what was read so far: the key and the execution commit in a new one
    try:
        execution = lifecycle.start(
            session,
            workflow,
            data,
            send=tolerant(send),
            settings=settings,
            trigger_type="webhook",
            record=record,
        )
    except IntegrityError:
        session.rollback()  # a concurrent duplicate committed the key first: answer with it
        if key is None:
            raise
        earlier = duplicate_deliveries.seen(session, target.trigger_id, key, request.received_at)
        if earlier is None:
            raise
        return _receipt(earlier.execution_id, True, config)
    return _receipt(execution.id, False, config)


# Where an execution stands, with its last completed output once it is final.
_LAST_OUTPUT = (
    select(ExecutionStep.output)
    .where(ExecutionStep.execution_id == Execution.id, ExecutionStep.status == "completed")
    .order_by(ExecutionStep.position.desc())
    .limit(1)
    .scalar_subquery()
)
# Spelt out, not IN (...): app.models.pg_autocommit compiles the statement once.
_FINAL = or_(*(Execution.status == status for status in ExecutionStatus.FINAL))
_STANDING = select(Execution.status, case((_FINAL, _LAST_OUTPUT)).label("output")).where(
    Execution.id == bindparam("execution_id")
)
_STANDING_PG = pg_autocommit.prepare(_STANDING)


def _standing(session: Session, execution_id: int) -> tuple[str, dict[str, Any] | None]:
    """(status, last completed output when final) of an execution, or NotFoundError."""
    engine = pg_autocommit.engine_of(session)
    ids = {"execution_id": execution_id}
    if engine is not None:
        row = pg_autocommit.one(engine, _STANDING_PG, ids)
    else:
        row = session.execute(_STANDING, ids).first()
    if row is None:
        raise NotFoundError(f"execution {execution_id}")
    return row.status, row.output


def wait_for(
    session_factory: Callable[[], Session],
    execution_id: int,
    timeout: float,
    *,
    watch: FinishWatch | None = None,
    since: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Wait until the execution is final or `timeout` seconds have passed.

    With a `watch` (PostgreSQL), the process's finish listener wakes the wait when the run
    ends; the row is still read every `watch.fallback_poll` seconds in case a notification
    was lost. When the listener has listened since before the execution was stored (`since`,
    a time.monotonic() taken before), the row is first read once the notice came. While the
    listener is down (or without one: SQLite) the row is read every POLL_SECONDS during the
    first second (most runs end within it), then less and less often."""
    if watch is None or not watch.start():
        return _poll(session_factory, execution_id, timeout, clock, pause)
    with watch.waiting(execution_id) as woken:

        def sleep(seconds: float) -> None:
            woken.wait(seconds)
            woken.clear()  # the row is read after this: a wake-up in between is not lost

        heard = since is not None and watch.heard_all_since(since)
        return _poll(session_factory, execution_id, timeout, clock, sleep, watch, heard)


def _poll(
    session_factory: Callable[[], Session],
    execution_id: int,
    timeout: float,
    clock: Callable[[], float],
    pause: Callable[[float], None],
    watch: FinishWatch | None = None,
    wait_first: bool = False,
) -> Outcome:
    """Read the row, pause, again: slowly while the watch listens (a notification ends the
    pause), else on the polling schedule. `wait_first`: pause before the first read."""
    started = clock()
    deadline = started + timeout
    interval = POLL_SECONDS
    if wait_first and watch is not None:
        pause(min(watch.fallback_poll, timeout))
    while True:
        heard = watch.heard_output(execution_id) if watch is not None else None
        if heard is not None:  # the notice of its completion carried its output
            return Outcome(execution_id, ExecutionStatus.COMPLETED.value, json.loads(heard))
        with session_factory() as session:
            status, output = _standing(session, execution_id)
        if status in ExecutionStatus.FINAL:
            return Outcome(execution_id, status, output if status == "completed" else None)
        left = deadline - clock()
        if left <= 0:
            return Outcome(execution_id, status)
        wait = interval
        if watch is not None and watch.listening.is_set():
            wait = watch.fallback_poll  # a notification ends the pause before that
        pause(min(wait, left))
        if clock() - started > 1.0:
            interval = min(interval * 1.5, MAX_POLL_SECONDS)


def _listening(trigger: Trigger, now: datetime) -> bool:
    until = (trigger.state or {}).get("listen_until")
    return isinstance(until, str) and datetime.fromisoformat(until) > now


def capture(
    session: Session,
    token: str,
    request: WebhookRequest,
    *,
    secrets: SecretBox,
    admission: Admission,
) -> dict[str, Any]:
    """The test URL: while the editor listens, store the request as the trigger's sample data
    (checked like a real delivery, but nothing runs); otherwise NotFoundError."""
    workflow = _find(session, token)
    trigger = workflow.trigger
    assert trigger is not None
    if not _listening(trigger, request.received_at):
        # The answer a wrong token gets: a test URL never tells whether its token is real.
        raise NotFoundError("No webhook at this address.")
    config = WebhookConfig.model_validate(trigger.config)
    checks.check(trigger.id, config, request, secrets, checks.RateOnce(admission))
    data = trigger_data(request, checks.hidden_headers(config))
    trigger.sample_data = data
    trigger.state = {k: v for k, v in trigger.state.items() if k != "listen_until"}
    session.commit()
    return data


def ensure_token(session: Session, workflow: Workflow) -> str:
    """The webhook's token, issued now if it has none yet (the editor shows the URL at once)."""
    trigger = workflow.trigger
    if trigger is None or trigger.type != "webhook":
        raise NotFoundError("This workflow has no webhook trigger.")
    if not trigger.webhook_token:
        trigger.webhook_token = new_token()
        session.commit()
    return trigger.webhook_token


def reserve_token(session: Session, workflow: Workflow) -> str:
    """Issue the token as soon as the editor's trigger becomes a webhook, before it is saved, so
    the URL can be shown and copied at once. It answers only once the saved trigger is a webhook
    and the workflow is enabled (the lookup checks both)."""
    trigger = workflow.trigger
    if trigger is None:
        raise NotFoundError("This workflow has no trigger.")
    if not trigger.webhook_token:
        trigger.webhook_token = new_token()
        session.commit()
    return trigger.webhook_token


def rotate_token(session: Session, workflow: Workflow) -> str:
    """Issue a new URL; the old one answers 404 from this commit on. ConflictError when the
    saved trigger is not a webhook (it has no URL)."""
    trigger = workflow.trigger
    if trigger is None or trigger.type != "webhook":
        kind = trigger.type if trigger else "none"
        raise ConflictError(f"The trigger is “{kind}”, not a webhook: it has no URL to rotate.")
    ensure_token(session, workflow)
    assert workflow.trigger is not None
    workflow.trigger.webhook_token = new_token()
    session.commit()
    return workflow.trigger.webhook_token


def listen(
    session: Session, workflow: Workflow, now: datetime | None = None, seconds: float = 0
) -> datetime:
    """Capture the next request to the test URL (within `seconds`, LISTEN_SECONDS by default)."""
    ensure_token(session, workflow)
    trigger = workflow.trigger
    assert trigger is not None
    until = (now or utcnow()) + timedelta(seconds=seconds or LISTEN_SECONDS)
    trigger.state = {**(trigger.state or {}), "listen_until": until.isoformat()}
    session.commit()
    return until


def paths(token: str) -> tuple[str, str]:
    """The webhook's URL path and its test URL path."""
    return f"/hooks/{token}", f"/hooks/test/{token}"
