"""Run the steps of one execution: claim, execute, record, advance, retry.

The database is the source of truth; a queue message `(execution_id, position, attempt)` is
only a doorbell. Each claim and each record is a short transaction whose conditional writes
check that the message still matches the stored state, so stale and duplicate messages do
nothing. No transaction is open while an action runs. Consecutive immediate steps run inside
one message; a new message is sent only for a delay, a retry, or after a time slice.

The runner decides; a ledger (app.engine.ledger, chosen once from the engine's dialect) stores
the decisions. Where the ledger records chains (PostgreSQL), a run of pure steps (transform,
filter: no effect but their output) runs back to back and is recorded together with the step
that ends the chain. A crash before that record runs the chain again, which changes nothing
outside.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.engine import budgets, trial, waits
from app.engine import ledger as ledgers
from app.engine.attempts import (
    LOST_WORKER,
    UNCLAIMED,
    Advance,
    Claim,
    Finish,
    Flow,
    Move,
    Next,
    Outcome,
    Park,
    Retry,
    Run,
    StepRecord,
    attempt_entry,
    completed,
)
from app.engine.children import StartChild
from app.engine.context import ExecutionContext
from app.engine.doorbell import Send, ring
from app.engine.errors import ActionError, Wait
from app.engine.executor import StepExecutor, Watchdog
from app.engine.heartbeat import Heartbeat
from app.engine.registry import ActionRegistry
from app.engine.retry import RetryPolicy
from app.engine.templating import Renderer
from app.models import ExecutionStatus, StepStatus
from app.models.base import utcnow
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT_PAUSE_SECONDS = 0.2  # before recording again after the database failed


__all__ = ["Runner", "Send", "decide", "ring"]  # Send and ring: app.engine.doorbell
# Told of the last step of each message that ended without a step to go on with (the run
# ended, waits, or was taken over), after its record: a child run's end resumes its parent
# (services.executions.parent_resume). It decides from the claim alone whether to read
# anything, so that runs without a parent pay nothing.
MessageEnded = Callable[[Claim], None]


class Runner:
    """Runs doorbell messages against the database. One per process, shared by threads."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        send: Send,
        *,
        actions: ActionRegistry,
        secrets: SecretBox,
        settings: Settings,
        renderer: Renderer | None = None,
        time_slice: float = 3.0,
        watchdog: Watchdog | None = None,
        children: StartChild | None = None,
        message_ended: MessageEnded | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.actions = actions  # the registry steps are run from (the editor validates with it)
        self.engine: Engine = session_factory().get_bind()  # type: ignore[assignment]
        self.send = send
        self.time_slice = time_slice
        self.lease = timedelta(seconds=settings.execution_lease_seconds)
        max_output = settings.max_payload_bytes
        limits = ledgers.Limits(max_output, settings.max_step_runs)
        pure = [handler.type for handler in actions if handler.pure]
        self.ledger: ledgers.Ledger = ledgers.for_engine(self.engine, self.lease, limits, pure)
        self.executor = StepExecutor(
            actions,
            secrets=secrets,
            settings=settings,
            session_factory=session_factory,
            renderer=renderer or Renderer(max_output=max_output),
            max_output=max_output,
            watchdog=watchdog,  # the broker's time limit, reset as each step starts
            children=children,
        )
        self.message_ended = message_ended
        self.heartbeat = Heartbeat(self.engine, self.lease)

    # -- the message loop ---------------------------------------------------------------

    def run(self, execution_id: int, position: int, attempt: int, frame: str = "") -> None:
        """Handle one doorbell: run steps until the execution waits, ends or the slice is up."""
        with self.heartbeat.running(execution_id):
            self._run(execution_id, position, attempt, frame)

    def _run(self, execution_id: int, position: int, attempt: int, frame: str) -> None:
        started = time.monotonic()
        ids = {"execution_id": execution_id}
        claim = _reconnecting(
            self.ledger.claim, execution_id, position, attempt, None, frame, log_extra=ids
        )
        chain: list[StepRecord] = []  # pure steps run but not recorded yet
        while claim is not None:
            run = claim.run
            run.enter(claim.frame)
            if run.program.resumable:  # `steps.<wait step>.resume_url`, before it has run
                waits.offer_urls(self.settings, run, claim.frame)
            outcome = self.executor.execute(claim)
            keep_going = time.monotonic() - started < self.time_slice
            action = run.actions[claim.position]
            if outcome.error is None and not outcome.skipped:  # a skipped step reads as absent
                run.outputs[action["key"]] = outcome.output
                if action["type"] == "loop" and outcome.input is not None:
                    items = outcome.input.get("items")
                    run.loop_items[(claim.position, claim.frame)] = list(items or [])
            step, move = decide(claim, outcome, keep_going)
            if keep_going and self._chains(run, claim.position, move, outcome):
                assert isinstance(move, Advance)
                chain.append(step)
                claim = Claim(run, move.position, 1, UNCLAIMED, utcnow(), [], move.frame)
                continue
            log_extra = {**ids, "step_key": action["key"]}
            upcoming = self._record([*chain, step], move, log_extra)
            chain = []
            if upcoming is None:
                self._ended(claim)
                return
            for closed_position, output in upcoming.closed.items():
                run.outputs[run.actions[closed_position]["key"]] = output
            if upcoming.claimed_step_id is None:
                self._ring(execution_id, upcoming)
                return
            claim = Claim(
                run, upcoming.position, 1, upcoming.claimed_step_id, utcnow(), [], upcoming.frame
            )

    def _chains(self, run: Run, position: int, move: Move, outcome: Outcome) -> bool:
        """Whether the step at `position` joins a chain left unrecorded for now: it succeeded,
        the run goes straight on to the next step with nothing else to store (no container
        opens or ends), and both are pure (their only effect is their stored output, so that
        a crash before the chain is recorded just runs them again)."""
        if not self.ledger.records_chains or not isinstance(move, Advance):
            return False
        if not move.claim or move.delay > 0 or not move.flow.plain:
            return False
        if outcome.error is not None or outcome.skipped:  # skipped: not a completed step
            return False
        return all(self.executor.is_pure(run.actions[p]["type"]) for p in (position, move.position))

    def _record(
        self, steps: list[StepRecord], move: Move, log_extra: Mapping[str, Any]
    ) -> Next | None:
        """Record the outcome. When the database is unavailable (or asks for a retry: a
        deadlock), the record is tried once more, then the error is raised: the message ends
        and recovery re-sends after the lease, nothing having been recorded. When it fails
        for any other reason (a value the database refuses, a constraint, a bug), the step
        still ends in this pass: it is recorded as failed with that error, which its retry
        rules do not retry. So only a lost worker leaves a step `running` for recovery."""
        try:
            try:
                return _reconnecting(self.ledger.record, steps, move, log_extra=log_extra)
            except DBAPIError as exc:
                if not _transient(exc):
                    raise
                log.warning("recording failed (%s); once more", type(exc).__name__, extra=log_extra)
                time.sleep(TRANSIENT_PAUSE_SECONDS)
                return _reconnecting(self.ledger.record, steps, move, log_extra=log_extra)
        except Exception as exc:  # a record that cannot be stored ends the step (STYLE D2)
            if isinstance(exc, DBAPIError) and _transient(exc):
                raise
            return self._end_unrecorded(steps, exc, log_extra)

    def _end_unrecorded(
        self, steps: list[StepRecord], exc: Exception, log_extra: Mapping[str, Any]
    ) -> Next | None:
        """End the step whose outcome could not be recorded with that error (see `_record`);
        if even that cannot be recorded, raise the first error."""
        log.warning(
            "could not record the outcome of step %s (%s); ending the step with that error",
            log_extra.get("step_key"),
            type(exc).__name__,
            extra=log_extra,
        )
        error = ActionError(
            f"The step's result could not be stored ({type(exc).__name__}).", retryable=False
        )
        try:
            # A chain whose first step was only read: claim it, so that it can end (if the
            # chain was stored, or another message has the step, this claims nothing).
            self.ledger.hold(steps[0])
            # The last step first: a ledger may have stored a chain before it and claimed it.
            for step in reversed(steps):
                claim = step.claim
                found = self.ledger.running(claim.run.execution_id, claim.position, claim.frame)
                if found is not None and found[0].attempt == step.claim.attempt:
                    return self._fail(*found, error)
        except Exception:
            log.warning("could not record that error either", extra=log_extra)
            raise exc from None
        return None  # nothing of this message's is running: the record did land

    def _fail(self, claim: Claim, stored_input: Any, error: ActionError) -> Next | None:
        """Record the attempt of a step left `running` as failed with `error` (its retry rules
        decide what follows); returns the step to go on with, if any."""
        step, move = decide(claim, Outcome(input=stored_input, error=error), keep_going=False)
        return self.ledger.record([step], move)

    # -- recovery and trials --------------------------------------------------------------

    def recover_lost(self, execution_id: int, position: int, frame: str = "") -> None:
        """A step stayed `running` past its lease: its worker died (or stalled). Record the
        attempt as failed and let the step's retry rules decide, as for any failure. A stalled
        worker that wakes up later finds its claim gone and records nothing."""
        found = self.ledger.running(execution_id, position, frame)
        if found is None:
            return
        claim, stored_input = found
        error = ActionError(LOST_WORKER)
        lost = Outcome(input=stored_input, error=error, ended_by="recovery")
        step, move = decide(claim, lost, keep_going=False)
        upcoming: Next | None = self.ledger.record([step], move)
        if upcoming is not None:
            self._ring(execution_id, upcoming)
        else:
            self._ended(claim)

    def _ended(self, claim: Claim) -> None:
        """A message ended on `claim`'s step with nothing to go on with: see MessageEnded."""
        if self.message_ended is not None:
            self.message_ended(claim)

    def _ring(self, execution_id: int, upcoming: Next) -> None:
        """Send the doorbell of the step a record led to (it was not claimed at once)."""
        ring(
            self.send,
            execution_id,
            upcoming.position,
            upcoming.attempt,
            upcoming.delay,
            upcoming.frame,
        )

    def run_once(self, action: Mapping[str, Any], context: ExecutionContext) -> trial.Trial:
        """Run one step now and record nothing (the editor's "test this step"): see
        app.engine.trial."""
        return trial.run_once(self.executor, action, context)


def decide(claim: Claim, outcome: Outcome, keep_going: bool) -> tuple[StepRecord, Move]:
    """What to store for this attempt and the execution's next move: a retry of the step (per
    its retry rules), the end of the execution, or the next step (claimed at once when the time
    slice allows and nothing waits)."""
    action = claim.run.actions[claim.position]
    if outcome.wait is not None:
        return _waiting(claim, outcome, outcome.wait)
    if outcome.error is None:
        return completed(claim, outcome), _onward(claim, outcome, keep_going)
    now = outcome.finished_at
    error = str(outcome.error)
    entry = attempt_entry(claim, now, outcome.ended_by)
    # A wait for a rate limit (a budget slot, a 429) is retried and is not counted as an attempt.
    waiting = budgets.waiting_line(outcome.error, now, claim.attempt_log)
    attempt_log = [*claim.attempt_log, {**entry, "error": error, **waiting}]
    policy = RetryPolicy.from_dict(action.get("retry"))
    counted = claim.attempt - budgets.waits(claim.attempt_log) - waits.suspended(claim.attempt_log)
    if outcome.error.retryable and (waiting or counted < policy.attempts):
        delay = outcome.error.retry_after
        if delay is None:
            delay = policy.delay_before(counted + 1)
        wake = now + timedelta(seconds=delay)
        retry = StepRecord(
            claim, StepStatus.PENDING, outcome.input, None, error, now, wake, attempt_log
        )
        return retry, Retry(delay)
    failed = StepRecord(
        claim, StepStatus.FAILED, outcome.input, None, error, now, None, attempt_log
    )
    if action.get("continue_on_error"):
        return failed, _onward(claim, outcome, keep_going)
    message = f"Step {action['key']!r} failed: {outcome.error}"
    return failed, Finish(
        ExecutionStatus.FAILED, message, claim.position, skip_after=claim.position
    )


def _waiting(claim: Claim, outcome: Outcome, wait: Wait) -> tuple[StepRecord, Park]:
    """The step waits until resumed or `wait.until` (app.engine.waits): its attempt ends as a
    wait (not counted against its retries) and the run parks with no message in flight."""
    now = outcome.finished_at
    output = {
        "waiting_for": wait.kind,
        "since": now.isoformat(),
        "until": wait.until.isoformat(),
        **(outcome.output or {}),
    }
    entry = attempt_entry(claim, now, "wait")
    record = StepRecord(
        claim,
        StepStatus.WAITING,
        outcome.input,
        output,
        None,
        now,
        wait.until,
        [*claim.attempt_log, entry],
    )
    return record, Park(wait.until)


def _onward(claim: Claim, outcome: Outcome, keep_going: bool) -> Finish | Advance:
    """After a step that did not fail the execution: where the tree goes next
    (app.engine.program.Program.route): the next step, maybe in another branch or iteration
    (opening a container, ending loops, skipping what a stop inside a container leaves), or
    the end of the run (no step left, or a stop at top level)."""
    run = claim.run
    ran = outcome.error is None and not outcome.skipped
    route = run.program.route(
        claim.position,
        claim.frame,
        outcome.output if ran else None,
        run.outputs,
        stop=outcome.stop,
    )
    flow = Flow(route.create, route.closes, route.skips)
    if route.to is None:
        top_stop = outcome.stop and run.program.nodes[claim.position].parent is None
        skip_after = claim.position if top_stop else None
        return Finish(ExecutionStatus.COMPLETED, None, len(run.actions), skip_after, flow)
    position, frame = route.to
    delay = outcome.suspend_seconds
    return Advance(position, delay, keep_going and delay <= 0, frame, flow)


def _transient(exc: DBAPIError) -> bool:
    """Whether the database failed rather than refused the data: a lost connection, or an
    operational error such as a deadlock, which a later attempt may not meet."""
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


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
