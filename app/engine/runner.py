"""Run the steps of one execution: claim, render, execute, record, advance, retry.

The database is the source of truth; a queue message `(execution_id, position, attempt)` is
only a doorbell. Each claim and each record is a short transaction whose conditional UPDATE
checks that the message still matches the stored state, so stale and duplicate messages do
nothing. No transaction is open while an action runs. Consecutive immediate steps run inside
one message; a new message is sent only for a delay, a retry, or after a time slice.

On PostgreSQL a run of pure steps (transform, filter: no effect but their output) is a chain:
they run back to back and are recorded together with the step that ends the chain, in one
statement. A crash before that statement runs the chain again, which changes nothing outside.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.actions.base import BaseActionHandler
from app.crypto import SecretBox
from app.engine import registry as registries
from app.engine import statements as sql
from app.engine.context import ExecutionContext, StepContext
from app.engine.errors import (
    ActionError,
    ConfigError,
    OutputTooLargeError,
    StopWorkflow,
    Suspend,
)
from app.engine.heartbeat import Heartbeat
from app.engine.retry import RetryPolicy
from app.engine.templating import Renderer
from app.models import direct
from app.models.base import rowcount, utcnow
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
_SLOW_PATH = object()  # "take the general path" (see Runner._record_in_one_statement)
# Send a doorbell: (execution_id, position, attempt, delay in seconds).
Send = Callable[[int, int, int, float], None]
REDACTED = "••••••"
MAX_ERROR_CHARS = 4000
UNCLAIMED = 0  # the step id of a claim not stored yet: a pure step run as part of a chain


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


@dataclass(frozen=True)
class Trial:
    """What `Runner.run_once` did with one step: its rendered input (secrets redacted) and its
    output or error. `stopped`: a filter would end the run here; `suspend_seconds`: a delay
    would wait this long before the next step."""

    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: str | None
    stopped: bool = False
    suspend_seconds: float = 0.0


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
        settings: Settings,
        actions: registries.ActionRegistry | None = None,
        renderer: Renderer | None = None,
        time_slice: float = 3.0,
    ) -> None:
        self.session_factory = session_factory
        # The runner's own statements go through a Core connection: no ORM session needed.
        self.engine: Engine = session_factory().get_bind()  # type: ignore[assignment]
        # On PostgreSQL the hot paths are single statements in autocommit mode, sent straight
        # to the driver.
        self.single_statements = direct.supports(self.engine)
        self.send = send
        self.secrets = secrets
        self.settings = settings
        self.actions = actions or registries.actions()
        self.renderer = renderer or Renderer(max_output=int(settings["MAX_PAYLOAD_BYTES"]))
        self.time_slice = time_slice
        self.lease = timedelta(seconds=float(settings["EXECUTION_LEASE_SECONDS"]))
        self.heartbeat = Heartbeat(self.engine, self.lease)
        self.max_output = int(settings["MAX_PAYLOAD_BYTES"])

    # -- the message loop ---------------------------------------------------------------

    def run(self, execution_id: int, position: int, attempt: int) -> None:
        """Handle one doorbell: run steps until the execution waits, ends or the slice is up."""
        with self.heartbeat.running(execution_id):
            self._run(execution_id, position, attempt)

    def _run(self, execution_id: int, position: int, attempt: int) -> None:
        started = time.monotonic()
        ids = {"execution_id": execution_id}
        claim = _reconnecting(self._claim, execution_id, position, attempt, None, log_extra=ids)
        chain: list[tuple[_Claim, _Outcome]] = []  # pure steps run but not recorded yet
        while claim is not None:
            run = claim.run
            outcome = self._execute(claim)
            keep_going = time.monotonic() - started < self.time_slice
            step_key = run.actions[claim.position]["key"]
            following = next_enabled(run.actions, claim.position)
            if keep_going and self._chains(run, claim.position, following, outcome):
                run.outputs[step_key] = outcome.output
                chain.append((claim, outcome))
                claim = _Claim(run, following, 1, UNCLAIMED, utcnow(), [])
                continue
            upcoming = _reconnecting(
                self._record,
                claim,
                outcome,
                keep_going,
                chain,
                log_extra={**ids, "step_key": step_key},
            )
            chain = []
            if upcoming is None:
                return
            if upcoming.claimed_step_id is None:
                self.send(execution_id, upcoming.position, upcoming.attempt, upcoming.delay)
                return
            claim = _Claim(run, upcoming.position, 1, upcoming.claimed_step_id, utcnow(), [])

    def _chains(self, run: _Run, position: int, following: int, outcome: _Outcome) -> bool:
        """Whether the step at `position` joins a chain left unrecorded for now: it succeeded
        and it and the following step are pure (their only effect is their stored output, so
        that a crash before the chain is recorded just runs them again)."""
        if not self.single_statements or following >= len(run.actions):
            return False
        if outcome.error is not None or outcome.stop or outcome.suspend_seconds > 0:
            return False
        return all(self._pure(run.actions[p]["type"]) for p in (position, following))

    def _pure(self, type_: str) -> bool:
        return type_ in self.actions and self.actions.get(type_).pure

    # -- claim ----------------------------------------------------------------------------

    def _claim(
        self, execution_id: int, position: int, attempt: int, run: _Run | None
    ) -> _Claim | None:
        now = utcnow()
        ids = {"execution_id": execution_id, "position": position}
        if self.single_statements:
            return self._claim_in_one_statement(execution_id, position, attempt, run, now)
        with self.engine.connect() as session:
            claimed = session.execute(
                sql.claim_step,
                sql.params(
                    {**ids, "previous_attempts": attempt - 1, "attempt": attempt, "now": now}
                ),
            ).first()
            if claimed is None:
                session.rollback()
                log.debug(
                    "dropped stale message %s/%s/%s",
                    execution_id,
                    position,
                    attempt,
                    extra={"execution_id": execution_id, "position": position},
                )
                return None
            row = session.execute(
                sql.mark_running,
                sql.params({"execution_id": execution_id, "now": now, "lease": now + self.lease}),
            ).one()
            if run is None:
                outputs = self._outputs(session, execution_id, position)
                run = self._build_run(execution_id, row, outputs)
            session.commit()
        return _Claim(run, position, attempt, claimed.id, now, list(claimed.attempt_log or []))

    def _claim_in_one_statement(
        self, execution_id: int, position: int, attempt: int, run: _Run | None, now: datetime
    ) -> _Claim | None:
        values = {
            "execution_id": execution_id,
            "position": position,
            "previous_attempts": attempt - 1,
            "attempt": attempt,
            "now": now,
            "lease": now + self.lease,
        }
        with direct.cursor(self.engine) as cursor:
            row = sql.claim_pg.execute(cursor, sql.params(values)).fetchone()
            if row is None:
                log.debug(
                    "dropped stale message %s/%s/%s",
                    execution_id,
                    position,
                    attempt,
                    extra={"execution_id": execution_id, "position": position},
                )
                return None
            if run is None:
                outputs: dict[str, Any] = {}
                if position > 0:  # only steps before `position` can have completed
                    ids = sql.params({"execution_id": execution_id})
                    outputs = dict(sql.load_outputs_pg.execute(cursor, ids).fetchall())
                run = self._build_run(execution_id, row, outputs)
        return _Claim(run, position, attempt, row.id, now, list(row.attempt_log or []))

    def recover_lost(self, execution_id: int, position: int) -> None:
        """A step stayed `running` past its lease: its worker died (or stalled). Record the
        attempt as failed and let the step's retry rules decide, as for any failure. A stalled
        worker that wakes up later finds its claim gone and records nothing."""
        with self.engine.connect() as session:
            step = session.execute(
                sql.load_running_step,
                sql.params({"execution_id": execution_id, "position": position}),
            ).first()
            if step is None:
                return
            run = self._load(session, execution_id, position)
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

    def _load(self, session: Connection, execution_id: int, position: int) -> _Run:
        row = session.execute(sql.load_execution, sql.params({"execution_id": execution_id})).one()
        return self._build_run(execution_id, row, self._outputs(session, execution_id, position))

    @staticmethod
    def _outputs(session: Connection, execution_id: int, position: int) -> dict[str, Any]:
        """Outputs of the completed steps, by key (only steps before `position` can be)."""
        if position == 0:
            return {}
        ids = sql.params({"execution_id": execution_id})
        return {key: output for key, output in session.execute(sql.load_outputs, ids)}

    def _build_run(self, execution_id: int, row: Any, outputs: dict[str, Any]) -> _Run:
        """The message's view of its execution, from a row of `sql.RUN_COLUMNS`."""
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

    # -- one step outside any execution (the editor's "test this step") --------------------

    def run_once(self, action: Mapping[str, Any], context: ExecutionContext) -> Trial:
        """Run one step now through the path every execution takes (render in the sandbox,
        validate, execute, redact, check the output) and record nothing: one attempt, no
        retry, and a delay is reported, not waited for."""
        run = _Run(context.execution_id, {"actions": [dict(action)]}, context, dict(context.steps))
        outcome = self._execute(_Claim(run, 0, 1, 0, utcnow(), []))
        if outcome.error is not None:
            return Trial(outcome.input, None, str(outcome.error))
        return Trial(outcome.input, outcome.output, None, outcome.stop, outcome.suspend_seconds)

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
                extra={
                    "execution_id": claim.run.execution_id,
                    "step_key": action.get("key"),
                    "traceback": redact(traceback.format_exc(limit=8), secrets)[-2000:],
                },
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

    def _record(
        self,
        claim: _Claim,
        outcome: _Outcome,
        keep_going: bool,
        chain: list[tuple[_Claim, _Outcome]] | None = None,
    ) -> _Next | None:
        """Store the attempt's outcome (after the chain of pure steps that ran before it, if
        any) and move the execution on, in one transaction."""
        if self.single_statements and outcome.error is None and not outcome.stop:
            fast = self._record_in_one_statement([*(chain or []), (claim, outcome)], keep_going)
            if fast is not _SLOW_PATH:
                return fast  # type: ignore[return-value]
        if chain:  # record the chain and claim this step, then record it as any other
            moved = self._record_in_one_statement(chain, True)
            if not isinstance(moved, _Next) or moved.claimed_step_id is None:
                return None
            claim = dataclasses.replace(claim, step_id=moved.claimed_step_id)
        run = claim.run
        action = run.actions[claim.position]
        now = outcome.finished_at
        entry = _attempt_entry(claim, now)
        values: dict[str, Any] = {
            "step_id": claim.step_id,
            "attempt": claim.attempt,
            "input": outcome.input,
            "output": None,
            "error": None,
            "finished_at": now,
            "next_retry_at": None,
        }
        retry: _Next | None = None
        if outcome.error is None:
            values.update(status="completed", output=outcome.output)
        else:
            entry["error"] = values["error"] = str(outcome.error)
            policy = RetryPolicy.from_dict(action.get("retry"))
            if outcome.error.retryable and claim.attempt < policy.attempts:
                delay = outcome.error.retry_after
                if delay is None:
                    delay = policy.delay_before(claim.attempt + 1)
                values.update(
                    status="pending", finished_at=None, next_retry_at=now + timedelta(seconds=delay)
                )
                retry = _Next(claim.position, claim.attempt + 1, delay)
            else:
                values["status"] = "failed"
        values["attempt_log"] = [*claim.attempt_log, entry]
        execution = {"execution_id": run.execution_id, "now": now}
        with self.engine.connect() as session:
            if rowcount(session.execute(sql.record_step, sql.params(values))) != 1:
                session.rollback()  # recovery took the step over after our lease expired
                return None
            if retry is not None:
                wake = now + timedelta(seconds=retry.delay)
                session.execute(sql.touch, sql.params({**execution, "lease": wake + self.lease}))
                session.commit()
                return retry
            if outcome.error is not None and not action.get("continue_on_error"):
                error = f"Step {action['key']!r} failed: {outcome.error}"
                self._finish(session, execution, claim.position, claim.position, "failed", error)
                session.commit()
                return None
            if outcome.error is None:
                run.outputs[action["key"]] = outcome.output
            upcoming = next_enabled(run.actions, claim.position)
            if outcome.stop or upcoming >= len(run.actions):
                self._finish(
                    session,
                    execution,
                    claim.position,
                    len(run.actions),
                    "completed",
                    None,
                    skip_rest=outcome.stop,
                )
                session.commit()
                return None
            delay = outcome.suspend_seconds
            lease = now + timedelta(seconds=delay) + self.lease
            moved = session.execute(
                sql.advance, sql.params({**execution, "position": upcoming, "lease": lease})
            )
            if rowcount(moved) != 1:  # cancelled while the step ran: keep its result, stop
                session.commit()
                return None
            step_id = None
            next_step = {"execution_id": run.execution_id, "position": upcoming}
            if keep_going and delay <= 0:
                step_id = session.execute(
                    sql.claim_next, sql.params({**next_step, "now": now})
                ).scalar_one()
            elif delay > 0:
                wake = now + timedelta(seconds=delay)
                session.execute(sql.wake_next_at, sql.params({**next_step, "wake_at": wake}))
            session.commit()
        return _Next(upcoming, 1, delay, step_id)

    def _record_in_one_statement(
        self, records: list[tuple[_Claim, _Outcome]], keep_going: bool
    ) -> _Next | object | None:
        """PostgreSQL hot path: successful steps (the claimed one and the pure steps run after
        it) that end the run or hand straight on to the next step, in one statement. Anything
        else (a delay, the end of the time slice) takes the general path."""
        claim, outcome = records[-1]
        run = claim.run
        upcoming = next_enabled(run.actions, claim.position)
        last = upcoming >= len(run.actions)
        if not last and (outcome.suspend_seconds > 0 or not keep_going):
            return _SLOW_PATH
        first = records[0][0]
        now = outcome.finished_at
        steps = [
            {
                "position": step.position,
                "attempt": step.attempt,
                "input": done.input,
                "output": done.output,
                "attempt_log": [*step.attempt_log, _attempt_entry(step, done.finished_at)],
                "started_at": step.started_at.isoformat(),
                "finished_at": done.finished_at.isoformat(),
            }
            for step, done in records
        ]
        params = {
            "steps": json.dumps(steps),
            "step_id": first.step_id,
            "attempt": first.attempt,
            "claimed_position": first.position,
            "execution_id": run.execution_id,
            "position": upcoming,
            "now": now,
        }
        if last:
            statement = sql.record_and_finish_pg
        else:
            statement = sql.record_and_continue_pg
            params["lease"] = now + self.lease
        row = direct.one(self.engine, statement, params)
        if row.recorded != 1:
            return None  # recovery took the step over after our lease expired
        for step, done in records:
            run.outputs[run.actions[step.position]["key"]] = done.output
        if last or row.advanced != 1:  # finished, or cancelled while the step ran
            return None
        return _Next(upcoming, 1, 0.0, row.next_step_id)

    def _finish(
        self,
        session: Connection,
        execution: dict[str, Any],
        position: int,
        final_position: int,
        status: str,
        error: str | None,
        skip_rest: bool = True,
    ) -> None:
        if skip_rest:
            session.execute(
                sql.skip_rest,
                sql.params({"execution_id": execution["execution_id"], "position": position}),
            )
        session.execute(
            sql.finish,
            sql.params({**execution, "status": status, "error": error, "position": final_position}),
        )


def _attempt_entry(claim: _Claim, finished_at: datetime) -> dict[str, Any]:
    return {
        "attempt": claim.attempt,
        "started_at": claim.started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
    }


def _reconnecting(
    transaction: Callable[..., T], *args: Any, log_extra: Mapping[str, Any] | None = None
) -> T:
    """Run a short transaction; if its connection was found dead, run it once more on a fresh
    one. Safe because every claim and record is a conditional UPDATE: a retry after a commit
    that did land matches nothing and ends the message (recovery picks the run up)."""
    try:
        return transaction(*args)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection lost; retrying the transaction once", extra=log_extra)
        return transaction(*args)


@functools.cache
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
