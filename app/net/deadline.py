"""The total timeout: a deadline that also cuts the sockets opened under it.

Inside a step, the step's own time limit bounds every exchange too (`step_limit`, entered by
the engine around the action): an exchange gets the smaller of its own timeout and what is
left of the step's, so an action that makes many calls cannot outlast its step.

Socket timeouts bound each read, not the exchange: a server that sends its status line,
headers or body one byte at a time restarts them with every byte and can hold a worker
thread for hours. So the connections the guarded client opens register their socket with
the Deadline in force (a context variable: urllib3 connects in the calling thread), and a
timer shuts those sockets down when the deadline passes; the blocked read returns at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar, Token
from types import TracebackType

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from app.net import errors

_open_sockets: ContextVar[list[socket.socket] | None] = ContextVar(
    "stepline_net_open_sockets", default=None
)


def _register(sock: socket.socket) -> socket.socket:
    sockets = _open_sockets.get()
    if sockets is not None:
        sockets.append(sock)
    return sock


class WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection whose socket the current Deadline can cut."""

    def _new_conn(self) -> socket.socket:
        return _register(super()._new_conn())


class WatchedHTTPSConnection(HTTPSConnection):
    """An HTTPS connection whose socket (under TLS) the current Deadline can cut."""

    def _new_conn(self) -> socket.socket:
        return _register(super()._new_conn())


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    """An HTTP pool making WatchedHTTPConnections."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    """An HTTPS pool making WatchedHTTPSConnections."""

    ConnectionCls = WatchedHTTPSConnection


# For PoolManager.pool_classes_by_scheme (see PinnedAdapter.init_poolmanager).
WATCHED_POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedHTTPConnectionPool,
    "https": WatchedHTTPSConnectionPool,
}


# The step running in this thread (or task): (its end in monotonic time, its limit in seconds).
_step_end: ContextVar[tuple[float, float] | None] = ContextVar("stepline_step_end", default=None)


@contextlib.contextmanager
def step_limit(seconds: float) -> Iterator[None]:
    """Within this block, exchanges end by `seconds` from now at the latest (a step's limit)."""
    token = _step_end.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _step_end.reset(token)


def _limit_text(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds:g} s"


def bounded(seconds: float, host: str) -> tuple[float, str | None]:
    """The timeout of an exchange that may take `seconds`, cut to what is left of the
    step's time limit, with the reason to give when it runs out (None: its own timeout).
    Raises OutboundTimeoutError when the step's time is already up."""
    step = _step_end.get()
    if step is None:
        return seconds, None
    end, limit = step
    left = end - time.monotonic()
    reason = f"the step's time limit of {_limit_text(limit)} ran out"
    if left <= 0:
        raise errors.OutboundTimeoutError(f"{reason} before the request to {host!r}")
    return (left, reason) if left < seconds else (seconds, None)


class Deadline:
    """A point in monotonic time the whole exchange must finish by.

    Used as a context manager, it cuts every socket opened inside it when time runs out.
    `reason`: why it is that soon, when it is the step's time limit and not the timeout."""

    def __init__(self, seconds: float, reason: str | None = None) -> None:
        self.seconds = seconds
        self.reason = reason
        self._end = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._token: Token[list[socket.socket] | None] | None = None

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self._end

    def remaining(self) -> float:
        """Seconds left; raises OutboundTimeoutError when none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise errors.OutboundTimeoutError(self.reason or f"no answer within {self.seconds:g}s")
        return left

    def timed_out(self, host: str) -> errors.OutboundTimeoutError:
        """The error once time ran out during an exchange with `host`."""
        if self.reason:
            return errors.OutboundTimeoutError(f"{host!r} did not answer before {self.reason}")
        return errors.OutboundTimeoutError(f"{host!r} did not answer within {self.seconds:g}s")

    def _cut(self) -> None:
        for sock in list(self._sockets):
            # A socket already closed has no descriptor left: nothing else can be hit.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._token = _open_sockets.set(self._sockets)
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        self._timer.join()
        if self._token is not None:
            _open_sockets.reset(self._token)
