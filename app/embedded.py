"""The embedded default: Dramatiq worker threads and the scheduler loop inside the web process,
on the app's container (its broker, runner and database).

Started after the process that serves requests exists (never in a gunicorn master with
--preload: threads do not survive a fork), and stopped at exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from dataclasses import dataclass, field

import dramatiq

from app.container import Container
from app.scheduler import Scheduler

log = logging.getLogger(__name__)


@dataclass
class EmbeddedWorker:
    """Worker threads and the scheduler thread of one app."""

    container: Container
    worker_threads: int
    poll_ms: int = 100
    worker: dramatiq.Worker | None = None
    scheduler: Scheduler | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The broker's process_boot signal was sent: its middleware (TimeLimit's timer thread)
    # boots once, however many times this worker starts and stops on the container's broker.
    _booted: bool = False

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> None:
        if self.worker is not None:  # the common case, on every request: no lock needed
            return
        with self._lock:
            if self.worker is not None:
                return
            broker = self.container.broker
            if not self._booted:
                broker.emit_after("process_boot")
                self._booted = True
            self.worker = dramatiq.Worker(
                broker, worker_threads=self.worker_threads, worker_timeout=self.poll_ms
            )
            self.worker.start()
            settings = self.container.settings
            self.scheduler = Scheduler(self.container, recovery_every=settings.recovery_interval)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.scheduler.run_forever,
                args=(self._stop, settings.scheduler_interval),
                name="stepline-scheduler",
                daemon=True,
            )
            self._thread.start()
            atexit.register(self.stop)
            log.info("embedded worker started with %s threads", self.worker_threads)

    def stop(self) -> None:
        with self._lock:
            if self.worker is None:
                return
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=10)
            self.worker.stop(timeout=10_000)
            _forget(self.worker)
            self.worker = None
            atexit.unregister(self.stop)


def _forget(worker: dramatiq.Worker) -> None:
    """Drop the middleware a stopped worker left on its broker (Dramatiq adds one per Worker
    and never removes it), so that a broker outliving several workers does not collect them."""
    broker = worker.broker
    broker.middleware = [m for m in broker.middleware if getattr(m, "worker", None) is not worker]
