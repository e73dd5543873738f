"""The web tier of the fault suite: gunicorn with the project's gunicorn.conf.py in front of an
engine, and webhook senders that behave like real ones (keep-alive connections, a retry with the
same delivery id when a request fails before its answer)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.engine_harness import BIN, Engine
from tests.faults.support import wait_until
from tests.redis_server import free_port

RETRY_PAUSE = 0.05  # seconds between a sender's retries of one delivery


@dataclass
class Web:
    """A gunicorn master (and its workers) serving the engine's app on a local port."""

    engine: Engine
    port: int
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = self.engine._spawn(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], "Listening at", self.env
        )
        wait_until(self._healthy, 30, "gunicorn to serve /healthz")

    def _healthy(self) -> bool:
        try:
            return request(self.port, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM the master: it stops accepting and lets requests in flight finish."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


def start_web(engine: Engine, workers: int = 2, threads: int = 8, **settings: str) -> Web:
    """gunicorn -c gunicorn.conf.py on a free port, with the engine's environment."""
    port = free_port()
    env = {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        **settings,
    }
    web = Web(engine, port, env)
    web.start()
    return web


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return send_json(connection, method, path, body, headers)
    finally:
        connection.close()


def send_json(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str] | None,
) -> tuple[int, dict[str, Any]]:
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(
        method, path, payload, {"Content-Type": "application/json", **(headers or {})}
    )
    response = connection.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else {}


@dataclass
class Tally:
    """What the senders saw, shared by their threads."""

    accepted: dict[str, int] = field(default_factory=dict)  # delivery id → execution id
    refused: Counter[int] = field(default_factory=Counter)  # status → count (before a retry)
    failures: int = 0  # requests that got no answer (connection refused, reset, closed)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Sender(threading.Thread):
    """Sends deliveries from `ids` to `path` until it runs out, each until it gets a 2xx: a
    refusal (429, 503) or a lost connection is retried with the same delivery id."""

    def __init__(self, port: int, path: str, ids: Iterator[str], tally: Tally) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.ids, self.tally = port, path, ids, tally
        self.error: BaseException | None = None

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for delivery in self.ids:
                connection = self._deliver(connection, delivery)
        except BaseException as exc:  # reported by the test through .error
            self.error = exc
        finally:
            connection.close()

    def _deliver(
        self, connection: http.client.HTTPConnection, delivery: str
    ) -> http.client.HTTPConnection:
        headers = {"X-Delivery-Id": delivery}
        while True:
            try:
                status, body = send_json(connection, "POST", self.path, {"id": delivery}, headers)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                with self.tally.lock:
                    self.tally.failures += 1
                time.sleep(RETRY_PAUSE)  # a real sender backs off before retrying
                continue
            if 200 <= status < 300:
                with self.tally.lock:
                    self.tally.accepted[delivery] = int(body["execution_id"])
                return connection
            with self.tally.lock:
                self.tally.refused[status] += 1
            assert status in (429, 503), (status, body)
            time.sleep(RETRY_PAUSE)


class Ids:
    """Delivery ids `<prefix>-0` … `<prefix>-<count-1>`, handed out to threads one by one."""

    def __init__(self, prefix: str, count: int | None = None) -> None:
        self.prefix, self.count, self.next = prefix, count, 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        with self.lock:
            if self.stopped.is_set() or (self.count is not None and self.next >= self.count):
                raise StopIteration
            self.next += 1
            return f"{self.prefix}-{self.next - 1}"


def send_all(senders: list[Sender]) -> None:
    for sender in senders:
        sender.join(timeout=600)
        assert not sender.is_alive(), "a sender is stuck"
        if sender.error is not None:
            raise sender.error
