"""How a web process learns that an execution finished: PostgreSQL LISTEN/NOTIFY.

Whoever ends a run (the ledger's finishing statements, cancel) sends `pg_notify` on
`app.engine.ledger.sql.FINISHED_CHANNEL` with the execution id, in the transaction that ends
it, so the notification arrives only once the final state is committed. Each web process keeps
one listener: a thread with a connection of its own (not from the pool), started on the first
wait-mode request, so never in a gunicorn master, and started again in a forked child. Waiting
requests register an event per execution id; the listener sets it. The notice of a run's
completion carries its last completed output when that fits (the PostgreSQL ledger's finishing
statement), which its waiter answers with, without reading the row.

The notification only shortens the wait: a waiter still reads the row itself, slowly
(every FALLBACK_POLL_SECONDS) while the listener listens, in case a notification was lost,
and as fast as before the listener existed while it is down or reconnecting. The listener
wakes every waiter when it loses its connection and again once it listens anew (what was sent
in between is lost), so each re-reads its row.

On SQLite there is no listener (`start` answers False) and waiters poll: that is the embedded
single-process default, where no notification can cross processes without a broker of its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.sql import SQL, Identifier
from sqlalchemy import Engine

from app.engine.ledger.sql import FINISHED_CHANNEL
from app.models import pg_autocommit

log = logging.getLogger(__name__)

# While the listener listens, a waiter still reads its row this often (a notification lost);
# after losing its connection, the listener connects again after this long.
FALLBACK_POLL_SECONDS = 2.0
RETRY_SECONDS = 1.0
# The ids of the last runs heard finishing: a waiter that registers after its run's notice
# arrived (the run was quicker than the request's way from the doorbell to `waiting`) is
# woken at once.
RECENT = 10_000
# How long the listener blocks for notifications before it looks at its stop flag, and how
# long it stays silent before it checks that its connection still answers.
_TICK_SECONDS = 0.5
_CHECK_SECONDS = 10.0


class FinishWatch:
    """The finish listener of one process, and the waiters it wakes."""

    def __init__(
        self,
        engine: Engine,
        *,
        fallback_poll: float = FALLBACK_POLL_SECONDS,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self.engine = engine
        self.fallback_poll = fallback_poll  # seconds between a waiter's reads while listening
        self.retry = retry  # seconds before the listener connects again after losing it
        self.supported = pg_autocommit.supports(engine)
        self.listening = threading.Event()  # set while LISTEN is in force
        self.listening_since = 0.0  # time.monotonic() when the current LISTEN began
        self.backend_pid: int | None = None  # the listener's PostgreSQL backend
        self._waiters: dict[int, list[threading.Event]] = {}
        # The last completed output a notice carried (JSON text), for a run somebody waits for
        self._outputs: dict[int, str] = {}
        self._recent: deque[int] = deque()
        self._recent_ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def start(self) -> bool:
        """Start the listener in this process if it is not running yet; whether waiters can
        count on notifications at all (False on SQLite)."""
        if not self.supported:
            return False
        if self._pid == os.getpid() and self._thread is not None:  # the common case: no lock
            return True
        with self._lock:
            if self._pid != os.getpid() or self._thread is None:
                self._stop.clear()
                self.listening.clear()
                self._thread = threading.Thread(
                    target=self._run, name="stepline-finish-listener", daemon=True
                )
                self._pid = os.getpid()
                self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the listener (tests; a process that ends drops it with its daemon thread)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    @contextmanager
    def waiting(self, execution_id: int) -> Iterator[threading.Event]:
        """An event the listener sets when `execution_id` finishes (or when it loses or
        regains its connection), registered for the duration of the block."""
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(execution_id, []).append(event)
            if execution_id in self._recent_ids:
                event.set()
        try:
            yield event
        finally:
            with self._lock:
                events = self._waiters.get(execution_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._waiters.pop(execution_id, None)
                    self._outputs.pop(execution_id, None)

    def heard_output(self, execution_id: int) -> str | None:
        """The last completed output (JSON text) that the notice of `execution_id`'s completion
        carried, while a wait for it is registered; None when no such notice was heard (the run
        has not ended, ended otherwise, or its output did not fit in a notice)."""
        with self._lock:
            return self._outputs.get(execution_id)

    def waiters(self) -> int:
        """How many waits are registered now."""
        with self._lock:
            return sum(len(events) for events in self._waiters.values())

    def heard_all_since(self, moment: float) -> bool:
        """Whether every run that finished after `moment` (time.monotonic()) was heard: the
        listener has listened, without a break, since before it."""
        return self.listening.is_set() and self.listening_since < moment

    def _wake(self, execution_id: int, output: str | None = None) -> None:
        with self._lock:
            events = self._waiters.get(execution_id, ())
            if output is not None and events:
                self._outputs[execution_id] = output
            for event in events:
                event.set()
            if execution_id not in self._recent_ids:
                self._recent.append(execution_id)
                self._recent_ids.add(execution_id)
                if len(self._recent) > RECENT:
                    self._recent_ids.discard(self._recent.popleft())

    def _hear(self, payload: str) -> None:
        """A notice: the id, or the id, a space and the run's last completed output (the
        statement that completed it: app.engine.ledger.sql.NOTICE_OUTPUT_BYTES)."""
        execution_id, _, output = payload.partition(" ")
        if execution_id.isdigit():
            self._wake(int(execution_id), output or None)

    def _wake_all(self) -> None:
        with self._lock:
            for events in self._waiters.values():
                for event in events:
                    event.set()

    def _conninfo(self) -> str:
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # any failure: wake the waiters, connect again later
                log.warning("finish listener lost its connection: %s", type(exc).__name__)
            finally:
                self.listening.clear()
                self.backend_pid = None
                self._wake_all()
            self._stop.wait(self.retry)

    def _listen(self) -> None:
        with psycopg.connect(
            self._conninfo(),
            autocommit=True,
            connect_timeout=5,
            application_name="stepline-finish-listener",
        ) as connection:
            connection.execute(SQL("LISTEN {}").format(Identifier(FINISHED_CHANNEL)))
            self.backend_pid = connection.info.backend_pid
            self.listening_since = time.monotonic()
            self.listening.set()
            self._wake_all()  # whatever finished before LISTEN: waiters read their rows again
            silent = 0.0
            while not self._stop.is_set():
                heard = False
                for notice in connection.notifies(timeout=_TICK_SECONDS):
                    heard = True
                    self._hear(notice.payload)
                silent = 0.0 if heard else silent + _TICK_SECONDS
                if silent >= _CHECK_SECONDS:  # a connection cut without a word stays silent
                    connection.execute("SELECT 1")
                    silent = 0.0
