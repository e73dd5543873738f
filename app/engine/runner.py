"""Run the steps of one execution: claim, render, execute, record, advance, retry.

The database is the source of truth; a queue message `(execution_id, position, attempt)` is
only a doorbell. Each claim and each record is a short transaction whose conditional UPDATE
checks that the message still matches the stored state, so stale and duplicate messages do
nothing. No transaction is open while an action runs. Consecutive immediate steps run inside
one message; a new message is sent only for a delay, a retry, or after a time slice.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from app.actions.base import BaseActionHandler
from app.crypto import SecretBox
from app.engine import registry as registries
from app.engine.context import ExecutionContext, StepContext
from app.engine.errors import (
    ActionError,
    ConfigError,
    OutputTooLargeError,
    StopWorkflow,
    Suspend,
)
from app.engine.retry import RetryPolicy
from app.engine.templating import Renderer
from app.models import Execution, ExecutionStep
from app.models.base import rowcount, utcnow

log = logging.getLogger(__name__)

# Send a doorbell: (execution_id, position, attempt, delay in seconds).
Send = Callable[[int, int, int, float], None]
REDACTED = "••••••"
MAX_ERROR_CHARS = 4000
LIVE = ("pending", "running")


@dataclass
class _Run:
    """What one message has loaded about its execution (reused across its steps)."""

    execution_id: int
    snapshot: dict[str, Any]
    context: ExecutionContext
    outputs: dict[str, Any]

    @property
    def actions(self) -> list[dict[str, Any]]:
        return list(self.snapshot["actions"])


@dataclass
class _Claim:
    run: _Run
    position: int
    attempt: int
    step_id: int
    started_at: datetime
    attempt_log: list[dict[str, Any]]


@dataclass
class _Outcome:
    output: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    error: ActionError | None = None
    stop: bool = False
    suspend_seconds: float = 0.0
    finished_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class _Next:
    position: int
    attempt: int
    delay: float
    claimed_step_id: int | None = None  # set when the next step was claimed in the same commit


def next_enabled(actions: list[dict[str, Any]], after: int) -> int:
    """Position of the first enabled step after `after` (len(actions) when none is left)."""
    for position in range(after + 1, len(actions)):
        if actions[position].get("enabled", True):
            return position
    return len(actions)


def _secret_values(config: Mapping[str, Any], names: frozenset[str]) -> list[str]:
    return [v for k, v in config.items() if k in names and isinstance(v, str) and v]


def redact(value: Any, secrets: list[str]) -> Any:
    """Replace every occurrence of a secret value inside strings of `value`."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


class Runner:
    """Runs doorbell messages against the database. One per process, shared by threads."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        send: Send,
        *,
        secrets: SecretBox,
        settings: Mapping[str, Any],
        actions: registries.ActionRegistry | None = None,
        renderer: Renderer | None = None,
        time_slice: float = 3.0,
    ) -> None:
        self.session_factory = session_factory
        self.send = send
        self.secrets = secrets
        self.settings = settings
        self.actions = actions or registries.actions()
        self.renderer = renderer or Renderer(max_output=int(settings["MAX_PAYLOAD_BYTES"]))
        self.time_slice = time_slice
        self.lease = timedelta(seconds=float(settings["EXECUTION_LEASE_SECONDS"]))
        self.max_output = int(settings["MAX_PAYLOAD_BYTES"])

    # -- the message loop ---------------------------------------------------------------

    def run(self, execution_id: int, position: int, attempt: int) -> None:
        """Handle one doorbell: run steps until the execution waits, ends or the slice is up."""
        started = time.monotonic()
        run: _Run | None = None
        claim = self._claim(execution_id, position, attempt, run)
        while claim is not None:
            run = claim.run
            outcome = self._execute(claim)
            keep_going = time.monotonic() - started < self.time_slice
            upcoming = self._record(claim, outcome, keep_going)
            if upcoming is None:
                return
            if upcoming.claimed_step_id is None:
                self.send(execution_id, upcoming.position, upcoming.attempt, upcoming.delay)
                return
            claim = _Claim(run, upcoming.position, 1, upcoming.claimed_step_id, utcnow(), [])

    # -- claim ----------------------------------------------------------------------------

    def _claim(
        self, execution_id: int, position: int, attempt: int, run: _Run | None
    ) -> _Claim | None:
        now = utcnow()
        with self.session_factory() as session:
            execution_live = exists().where(
                Execution.id == execution_id,
                Execution.position == position,
                Execution.status.in_(LIVE),
            )
            step_where = and_(
                ExecutionStep.execution_id == execution_id,
                ExecutionStep.position == position,
                ExecutionStep.attempts == attempt - 1,
            )
            claimed = session.execute(
                update(ExecutionStep)
                .where(step_where, ExecutionStep.status == "pending", execution_live)
                .values(
                    status="running",
                    attempts=attempt,
                    next_retry_at=None,
                    started_at=now if attempt == 1 else ExecutionStep.started_at,
                )
                .returning(ExecutionStep.id, ExecutionStep.attempt_log)
            ).first()
            if claimed is None:
                session.rollback()
                log.debug("dropped stale message %s/%s/%s", execution_id, position, attempt)
                return None
            session.execute(
                update(Execution)
                .where(Execution.id == execution_id)
                .values(
                    status="running",
                    updated_at=now,
                    lease_expires_at=now + self.lease,
                    started_at=func.coalesce(Execution.started_at, now),
                )
            )
            if run is None:
                run = self._load(session, execution_id)
            session.commit()
        return _Claim(run, position, attempt, claimed.id, now, list(claimed.attempt_log or []))

    def recover_lost(self, execution_id: int, position: int) -> None:
        """A step stayed `running` past its lease: its worker died (or stalled). Record the
        attempt as failed and let the step's retry rules decide, as for any failure. A stalled
        worker that wakes up later finds its claim gone and records nothing."""
        with self.session_factory() as session:
            step = session.execute(
                select(
                    ExecutionStep.id,
                    ExecutionStep.attempts,
                    ExecutionStep.started_at,
                    ExecutionStep.attempt_log,
                    ExecutionStep.input,
                ).where(
                    ExecutionStep.execution_id == execution_id,
                    ExecutionStep.position == position,
                    ExecutionStep.status == "running",
                )
            ).first()
            if step is None:
                return
            run = self._load(session, execution_id)
        claim = _Claim(
            run,
            position,
            step.attempts,
            step.id,
            step.started_at or utcnow(),
            list(step.attempt_log or []),
        )
        error = ActionError("The worker running this step stopped before it finished.")
        upcoming = self._record(claim, _Outcome(input=step.input, error=error), False)
        if upcoming is not None:
            self.send(execution_id, upcoming.position, upcoming.attempt, upcoming.delay)

    def _load(self, session: Session, execution_id: int) -> _Run:
        row = session.execute(
            select(
                Execution.snapshot, Execution.trigger_data, Execution.workflow_id, Execution.user_id
            ).where(Execution.id == execution_id)
        ).one()
        outputs: dict[str, Any] = dict(
            session.execute(
                select(ExecutionStep.action_key, ExecutionStep.output).where(
                    ExecutionStep.execution_id == execution_id, ExecutionStep.status == "completed"
                )
            ).all()
        )
        snapshot = row.snapshot
        context = ExecutionContext(
            execution_id=execution_id,
            workflow_id=row.workflow_id,
            workflow_name=snapshot["workflow"]["name"],
            user_id=row.user_id,
            trigger=row.trigger_data,
            steps=outputs,
        )
        return _Run(execution_id, snapshot, context, outputs)

    # -- execute (no transaction open) -----------------------------------------------------

    def _execute(self, claim: _Claim) -> _Outcome:
        action = claim.run.actions[claim.position]
        secrets: list[str] = []
        stored_input: dict[str, Any] | None = None
        try:
            handler = self.actions.get(action["type"])
            rendered, secrets = self._render(handler, action, claim.run.context)
            stored_input = redact(rendered, secrets)
            try:
                config = handler.validate_config(rendered)
            except ValidationError as exc:
                raise ConfigError(_validation_message(exc)) from None
            context = StepContext(
                execution=claim.run.context,
                step_key=action["key"],
                position=claim.position,
                attempt=claim.attempt,
                settings=self.settings,
                secrets=self.secrets,
                session_factory=self.session_factory,
                log=logging.LoggerAdapter(
                    logging.getLogger("app.engine.step"),
                    {"execution_id": claim.run.execution_id, "step_key": action["key"]},
                ),
            )
            output = handler.execute(context, config)
            return _Outcome(
                output=self._checked_output(redact(output, secrets)), input=stored_input
            )
        except StopWorkflow as signal:
            return _Outcome(
                output=self._checked_output(signal.output), input=stored_input, stop=True
            )
        except Suspend as signal:
            return _Outcome(
                output=self._checked_output(signal.output),
                input=stored_input,
                suspend_seconds=signal.seconds,
            )
        except ActionError as exc:
            return _Outcome(input=stored_input, error=_redacted_error(exc, secrets))
        except Exception as exc:  # the one broad except, at the step boundary (STYLE D2)
            log.warning(
                "step %s of execution %s raised %s",
                action.get("key"),
                claim.run.execution_id,
                type(exc).__name__,
                extra={"traceback": redact(traceback.format_exc(limit=8), secrets)[-2000:]},
            )
            error = ActionError(redact(f"{type(exc).__name__}: {exc}", secrets))
            return _Outcome(input=stored_input, error=error)

    def _render(
        self, handler: BaseActionHandler, action: Mapping[str, Any], context: ExecutionContext
    ) -> tuple[dict[str, Any], list[str]]:
        secret_names = handler.secret_fields()
        text_fields = _text_fields(handler)
        variables = context.template_vars()
        rendered: dict[str, Any] = {}
        for name, value in (action.get("config") or {}).items():
            if name in secret_names:
                rendered[name] = (
                    self.secrets.decrypt(value) if SecretBox.is_encrypted(value) else value
                )
            else:
                rendered[name] = self.renderer.render(
                    value, variables, f"config.{name}", text=name in text_fields
                )
        return rendered, _secret_values(rendered, secret_names)

    def _checked_output(self, output: Any) -> dict[str, Any]:
        if not isinstance(output, dict):
            raise TypeError(f"an action must return a dict, not {type(output).__name__}")
        try:
            size = len(json.dumps(output))
        except (TypeError, ValueError) as exc:
            raise ActionError(
                f"The step's output is not JSON data: {exc}", retryable=False
            ) from None
        if size > self.max_output:
            raise OutputTooLargeError(
                f"The step's output is {size} bytes, over the cap of {self.max_output} bytes."
            )
        return output

    # -- record and advance ---------------------------------------------------------------

    def _record(self, claim: _Claim, outcome: _Outcome, keep_going: bool) -> _Next | None:
        run = claim.run
        action = run.actions[claim.position]
        now = outcome.finished_at
        entry: dict[str, Any] = {
            "attempt": claim.attempt,
            "started_at": claim.started_at.isoformat(),
            "finished_at": now.isoformat(),
        }
        retry: _Next | None = None
        with self.session_factory() as session:
            mine = and_(
                ExecutionStep.id == claim.step_id,
                ExecutionStep.status == "running",
                ExecutionStep.attempts == claim.attempt,
            )
            if outcome.error is None:
                values: dict[str, Any] = {
                    "status": "completed",
                    "output": outcome.output,
                    "error": None,
                    "finished_at": now,
                }
            else:
                entry["error"] = str(outcome.error)
                policy = RetryPolicy.from_dict(action.get("retry"))
                if outcome.error.retryable and claim.attempt < policy.attempts:
                    delay = outcome.error.retry_after
                    if delay is None:
                        delay = policy.delay_before(claim.attempt + 1)
                    values = {
                        "status": "pending",
                        "error": str(outcome.error),
                        "next_retry_at": now + timedelta(seconds=delay),
                    }
                    retry = _Next(claim.position, claim.attempt + 1, delay)
                else:
                    values = {"status": "failed", "error": str(outcome.error), "finished_at": now}
            values["input"] = outcome.input
            values["attempt_log"] = [*claim.attempt_log, entry]
            recorded = session.execute(update(ExecutionStep).where(mine).values(**values))
            if rowcount(recorded) != 1:
                session.rollback()  # someone took the step over after our lease expired
                return None
            if retry is not None:
                self._touch(session, run.execution_id, now + timedelta(seconds=retry.delay))
                session.commit()
                return retry
            if outcome.error is not None and not action.get("continue_on_error"):
                self._finish(
                    session,
                    run.execution_id,
                    claim.position,
                    claim.position,
                    "failed",
                    now,
                    f"Step {action['key']!r} failed: {outcome.error}",
                )
                session.commit()
                return None
            if outcome.error is None:
                run.outputs[action["key"]] = outcome.output
            upcoming = next_enabled(run.actions, claim.position)
            if outcome.stop or upcoming >= len(run.actions):
                self._finish(
                    session,
                    run.execution_id,
                    claim.position,
                    len(run.actions),
                    "completed",
                    now,
                    None,
                )
                session.commit()
                return None
            delay = outcome.suspend_seconds
            claimed = keep_going and delay <= 0
            moved = rowcount(
                session.execute(
                    update(Execution)
                    .where(Execution.id == run.execution_id, Execution.status == "running")
                    .values(
                        position=upcoming,
                        updated_at=now,
                        lease_expires_at=now + timedelta(seconds=delay) + self.lease,
                    )
                )
            )
            if moved != 1:  # cancelled while the step ran: keep its result, go no further
                session.commit()
                return None
            next_step = update(ExecutionStep).where(
                ExecutionStep.execution_id == run.execution_id, ExecutionStep.position == upcoming
            )
            step_id = None
            if claimed:
                step_id = session.execute(
                    next_step.values(status="running", attempts=1, started_at=now).returning(
                        ExecutionStep.id
                    )
                ).scalar_one()
            elif delay > 0:
                session.execute(next_step.values(next_retry_at=now + timedelta(seconds=delay)))
            session.commit()
        return _Next(upcoming, 1, delay, step_id)

    def _touch(self, session: Session, execution_id: int, wake_at: datetime) -> None:
        session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == "running")
            .values(updated_at=utcnow(), lease_expires_at=wake_at + self.lease)
        )

    def _finish(
        self,
        session: Session,
        execution_id: int,
        position: int,
        final_position: int,
        status: str,
        now: datetime,
        error: str | None,
    ) -> None:
        session.execute(
            update(ExecutionStep)
            .where(
                ExecutionStep.execution_id == execution_id,
                ExecutionStep.position > position,
                ExecutionStep.status == "pending",
            )
            .values(status="skipped")
        )
        session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == "running")
            .values(
                status=status,
                error=error,
                finished_at=now,
                updated_at=now,
                lease_expires_at=None,
                position=final_position,
            )
        )


def _text_fields(handler: BaseActionHandler) -> frozenset[str]:
    """Config fields typed as text: a single-expression template renders to a string there."""
    names = []
    for name, info in handler.Config.model_fields.items():
        annotation = info.annotation
        if annotation is str or str(annotation) in ("str | None", "typing.Optional[str]"):
            names.append(name)
    return frozenset(names)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"config.{where}: {error['msg']}")
    return "; ".join(parts)


def _redacted_error(exc: ActionError, secrets: list[str]) -> ActionError:
    message = redact(str(exc), secrets)[:MAX_ERROR_CHARS]
    if message == str(exc):
        return exc
    return type(exc)(message, retryable=exc.retryable, retry_after=exc.retry_after)
