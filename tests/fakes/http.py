"""A scripted HTTP(S) server on 127.0.0.1 for tests: it records every request it receives.

    with FakeServer() as server:
        server.on("GET", "/items", Reply.json({"ok": True}))
        ... call server.url("/items") ...
        assert server.requests[0].headers["idempotency-key"] == "7:fetch"

Replies for a route are used in order and the last one repeats. `on_prefix` routes every path
under a prefix to one responder (a fake API with ids in its paths); exact routes win.
A reply may hold the connection until the server stops (`hold=True`, for timeouts), answer
only after a while (`delay`, a slow server), stream
chunks with a pause between them (`chunks`, `pause`), trickle its headers (`trickle_headers`),
or be computed from the request (a callable).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("ascii"), keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """A scripted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False
    chunks: tuple[bytes, ...] = ()
    pause: float = 0.0
    trickle_headers: bool = False  # send the status line and headers a byte per `pause`
    delay: float = 0.0  # seconds before answering at all (a slow server)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/plain", **(headers or {})})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status, b"", {"Location": location})


Responder = Reply | Callable[[RecordedRequest], Reply]


class FakeServer:
    """A threaded HTTP server on a free port of 127.0.0.1 (HTTPS when given an SSLContext)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.sni_names: list[str | None] = []
        self.stopping = threading.Event()
        self._routes: dict[tuple[str, str], list[Responder]] = {}
        self._prefixes: list[tuple[str, str, Responder]] = []
        self._lock = threading.Lock()
        self._tls = tls
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni_names.append(name)
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def on(self, method: str, path: str, *replies: Responder) -> None:
        """Script the replies to `method path` (the last one repeats)."""
        self._routes[(method.upper(), path)] = list(replies)

    def on_prefix(self, method: str, prefix: str, responder: Responder) -> None:
        """Answer `method` on every path starting with `prefix` (the longest prefix wins)."""
        self._prefixes.append((method.upper(), prefix, responder))
        self._prefixes.sort(key=lambda route: len(route[1]), reverse=True)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self._routes.get((request.method, request.path))
            if script:
                responder = script.pop(0) if len(script) > 1 else script[0]
            else:
                prefixed = [
                    r
                    for m, prefix, r in self._prefixes
                    if m == request.method and request.path.startswith(prefix)
                ]
                if not prefixed:
                    return Reply.text("no such route", 404)
                responder = prefixed[0]
        return responder(request) if callable(responder) else responder

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives a test

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket, Any]:
        sock, address = super().get_request()
        self.fake.connections += 1
        if self.fake._tls is not None:
            sock = self.fake._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that neither sends nor closes cannot keep a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        reply = self.server.fake._next_reply(request)
        if reply.delay and self.server.fake.stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.hold:
            self.server.fake.stopping.wait()
            self.close_connection = True
            return
        if reply.trickle_headers:
            head = f"HTTP/1.1 {reply.status} OK\r\n".encode()
            head += b"".join(f"{k}: {v}\r\n".encode() for k, v in reply.headers.items())
            for byte in self._paced(
                Reply(chunks=tuple(bytes([b]) for b in head), pause=reply.pause)
            ):
                self.wfile.write(byte)
                self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in self._paced(reply):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            if "Content-Length" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

    def _paced(self, reply: Reply) -> Iterator[bytes]:
        for chunk in reply.chunks:
            if self.server.fake.stopping.wait(reply.pause):
                return
            yield chunk

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle
