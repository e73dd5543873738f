"""What gunicorn refuses before Flask sees it (a URL or headers past its limits, a malformed
request line) is answered in the API's JSON error shape, by the production gunicorn settings."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.gunicorn_worker import answer_for
from tests.engine_harness import BIN, ROOT
from tests.hooks_support import wait_until
from tests.integration.test_access_log import gunicorn_env
from tests.redis_server import free_port


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (line.split(":", 1) for line in header_lines)
    }
    return int(status_line.split()[1]), headers, body


def _healthy(port: int) -> bool:
    try:
        status, _, _ = _exchange(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    except OSError:
        return False
    return status == 200


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp: Path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = gunicorn_env(tmp, port)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _healthy(port), 30, "gunicorn to answer /healthz")
        yield port
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (
            b"GET /api/v1/workflows?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "uri_too_long",
        ),
        (
            b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n",
            431,
            "headers_too_large",
        ),
        (
            b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
            + b"\r\n",
            431,
            "headers_too_large",
        ),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "bad_request"),
        (b"BREW /api/v1/me HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ],
    ids=["long-url", "large-header", "many-headers", "malformed-header", "bad-version"],
)
def test_gunicorn_refusals_are_json_in_the_api_error_shape(
    port: int, raw: bytes, status: int, code: str
) -> None:
    answered, headers, body = _exchange(port, raw)

    assert answered == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    assert "<html" not in body.decode()


def test_an_unknown_failure_is_a_json_500_without_its_text() -> None:
    status, _, code, message = answer_for(RuntimeError("secret detail"))

    assert (status, code) == (500, "internal_error")
    assert "secret" not in message
