"""The scheduler loop: schedule triggers, polling triggers, recovery of stalled executions,
time limits (runs and steps past theirs), failure handling of failed runs, parents whose
child run ended, daily retention.

Production runs it as `flask scheduler` (one or more processes; every claim is conditional);
the embedded default runs it on a thread of the web process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from app.container import Container
from app.engine import run_deadlines, step_timeouts, waits
from app.engine.recovery import recover
from app.engine.runner import Send
from app.models.base import utcnow
from app.services import idempotency
from app.services.accounts import sessions as login_sessions
from app.services.executions import failure_handling, failure_notices, parent_resume, retention
from app.services.executions.admission import Admission
from app.services.executions.failure_channels import Senders
from app.services.scheduling import polls, schedules
from app.services.webhooks import duplicate_deliveries

log = logging.getLogger(__name__)

# Seconds of retention work per scheduler pass: a large backlog (a million old executions)
# is deleted over several passes, so recovery and schedules keep their pace meanwhile.
RETENTION_PASS_SECONDS = 2.0


class Scheduler:
    """Runs each periodic job when it is due; `tick()` is one pass. The jobs work on
    `container` and ring its doorbell unless `send` is given (tests record what is sent)."""

    def __init__(
        self,
        container: Container,
        send: Send | None = None,
        *,
        recovery_every: float = 5.0,
        retention_every: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
        queue_depth: Callable[[], int | None] | None = None,
        wallclock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.container = container
        self.settings = container.settings
        self.send = send or container.doorbell.send
        self.clock = clock
        self.wallclock = wallclock  # what time it is for schedules (tests pass their own)
        self.admission = Admission(self.settings, queue_depth or container.doorbell.queue_depth)
        self.retention_every = retention_every
        self.jobs: list[tuple[float, Callable[[], object]]] = [
            (recovery_every, self.recover),
            (recovery_every, self.enforce_time_limits),
            (1.0, self.time_out_waits),
            (retention_every, self.prune),
            (0.0, self.fire_schedules),
            (0.0, self.poll_triggers),
            (3600.0, self.prune_trigger_log),
            (0.0, self.handle_failures),
            (1.0, self.resume_parents),
        ]
        self._due = [0.0 for _ in self.jobs]
        senders = Senders(container.session_factory, self.settings, container.secrets)
        self.notices = failure_notices.Courier(container.session_factory, senders, wallclock)

    def recover(self) -> int:
        lease = timedelta(seconds=self.settings.execution_lease_seconds)
        return recover(self.container.session_factory, self.container.runner, lease)

    def enforce_time_limits(self) -> int:
        """Runs past their time limit fail; attempts past their step's limit end as timed
        out and retry under their rules (app.engine.time_limits)."""
        now = utcnow()
        failed = run_deadlines.fail_overdue(self.container.engine, now)
        default = self.settings.step_time_limit
        timed_out = step_timeouts.time_out_steps(self.container.runner, now, default, self.send)
        return failed + timed_out

    def time_out_waits(self) -> int:
        """Resume the waiting steps past their deadline (app.engine.waits)."""
        return waits.time_out_due(
            self.container.engine, self.send, lease=self.container.runner.lease
        )

    def resume_parents(self) -> int:
        """Waiting `run_workflow` steps whose child run is final are resumed (the fallback
        of the child's own end: services.executions.parent_resume)."""
        return parent_resume.resume_finished(
            self.container.engine, self.send, self.container.runner.lease
        )

    def prune(self) -> int:
        """Old executions are deleted for up to RETENTION_PASS_SECONDS; while some are left,
        the job is due again on the next pass (after the other jobs have run)."""
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        deadline = self.clock() + RETENTION_PASS_SECONDS
        with self.container.session_factory() as session:
            deleted, done = retention.prune_batches(
                session, cutoff, deadline=deadline, clock=self.clock
            )
        if not done:
            self._due[self.jobs.index((self.retention_every, self.prune))] = self.clock()
        return deleted

    def fire_schedules(self) -> int:
        """Due schedule triggers fire; while the queue is over its limit they wait a tick."""
        if self.admission.queue_full():
            return 0
        return schedules.fire_due(
            self.container.session_factory,
            send=self.send,
            settings=self.settings,
            now=self.wallclock(),
        )

    def poll_triggers(self) -> int:
        """Due polling triggers (Google) are polled; they too wait while the queue is full."""
        if self.admission.queue_full():
            return 0
        return polls.poll_due(
            self.container.session_factory,
            triggers=self.container.handlers.triggers,
            send=self.send,
            settings=self.settings,
            secrets=self.container.secrets,
            now=self.wallclock(),
        )

    def handle_failures(self) -> int:
        """Failed runs get their workflow's `on_failure` handling (error workflow, notices);
        the notices that are due go out on the courier's thread."""
        now = self.wallclock()
        handled = failure_handling.handle_failed(
            self.container.session_factory, send=self.send, settings=self.settings, now=now
        )
        with self.container.session_factory() as session:
            due = failure_notices.any_due(session, now)
        if due:
            self.notices.kick()
        return handled.runs

    def prune_trigger_log(self) -> int:
        """Expired webhook and API idempotency keys, old schedule slots and login sessions
        that ended before the retention period are deleted."""
        now = self.wallclock()
        old = now - timedelta(days=self.settings.retention_days)
        with self.container.session_factory() as session:
            pruned = duplicate_deliveries.prune(session, now) + idempotency.prune(session, now)
            return pruned + schedules.prune(session, old) + login_sessions.prune(session, old)

    def tick(self) -> None:
        now = self.clock()
        for index, (every, job) in enumerate(self.jobs):
            if now >= self._due[index]:
                self._due[index] = now + every
                try:
                    job()
                except Exception:  # a failing job must not stop the loop; it runs again
                    log.exception("scheduler job %s failed", getattr(job, "__name__", job))

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(interval)
