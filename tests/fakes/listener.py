"""Seeing connections: a listener that counts them, and a spy on the ones urllib3 opens.

CountingListener listens on one port of 127.0.0.1 and ::1.

No thread: the sockets are non-blocking and `connections()` drains the accept queue, so any
TCP handshake that completed before the call is counted, even one no code has accepted yet.
"""

from __future__ import annotations

import contextlib
import socket
from types import TracebackType
from typing import Any

import pytest
from urllib3.util import connection as urllib3_connection


class CountingListener:
    """Listen on one port of both loopback addresses; count every connection that arrives."""

    def __init__(self) -> None:
        self._accepted = 0
        self.sockets: list[socket.socket] = []
        for _ in range(20):  # the IPv4 port may be taken on ::1: try another
            v4 = socket.create_server(("127.0.0.1", 0))
            self.port = v4.getsockname()[1]
            try:
                v6 = socket.create_server(("::1", self.port), family=socket.AF_INET6)
            except OSError:
                v4.close()
                continue
            self.sockets = [v4, v6]
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")
        for sock in self.sockets:
            sock.setblocking(False)

    def connections(self) -> int:
        """Connections received so far (accepted here and closed at once)."""
        for sock in self.sockets:
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                self._accepted += 1
        return self._accepted

    def close(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> CountingListener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ConnectionSpy:
    """Records every address urllib3 opens a socket to; refuses those outside `reachable`.

    Tests have no internet: a connection to a public address fails at once here, instead of
    waiting for a timeout, and the test can still see where it would have gone."""

    def __init__(self, reachable: tuple[str, ...] = ("127.0.0.1", "::1")) -> None:
        self.attempts: list[tuple[str, int]] = []
        self.reachable = reachable
        self._real = urllib3_connection.create_connection

    def __call__(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, port = address
        self.attempts.append((host.strip("[]"), port))
        if host.strip("[]") not in self.reachable:
            raise ConnectionRefusedError(111, "Connection refused (test spy)")
        return self._real(address, *args, **kwargs)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> ConnectionSpy:
        monkeypatch.setattr(urllib3_connection, "create_connection", self)
        return self
