"""The total timeout: a deadline that also cuts the sockets opened under it.

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


class Deadline:
    """A point in monotonic time the whole exchange must finish by.

    Used as a context manager, it cuts every socket opened inside it when time runs out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
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
            raise errors.OutboundTimeoutError(f"no answer within {self.seconds:g}s")
        return left

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
