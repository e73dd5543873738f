"""gunicorn's access lines (gunicorn.conf.py with app.access_log.AccessLogger): one JSON line per
request with the fields an operator filters on, and never a webhook URL's token."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.engine_harness import BIN, ROOT
from tests.hooks_support import wait_until
from tests.redis_server import free_port


def gunicorn_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a one-worker gunicorn (gunicorn.conf.py) over an SQLite app."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SECRET_KEY": "gunicorn-test",
        "STEPLINE_SECRET_KEYS": Fernet.generate_key().decode(),
        "STEPLINE_EMBEDDED_WORKER": "false",
        "STEPLINE_INSTANCE_PATH": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
    }


def _status(port: int, method: str, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def _healthy(port: int) -> bool:
    try:
        return _status(port, "GET", "/healthz") == 200
    except OSError:
        return False


@pytest.mark.slow
def test_gunicorn_writes_a_lean_json_access_line_without_the_webhook_token(
    tmp_path: Path,
) -> None:
    # Given the production gunicorn settings serving the app
    port = free_port()
    env = gunicorn_env(tmp_path, port)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    token = secrets.token_urlsafe(32)
    try:
        wait_until(lambda: _healthy(port), 30, "gunicorn to answer /healthz")
        # When a webhook URL (with a credential in its query too) is requested
        status = _status(port, "POST", f"/hooks/{token}/orders?signature=s3cr3t")
    finally:
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=30)

    # Then its access line is JSON with the request's fields, the token cut to 4 characters
    lines = [json.loads(line) for line in out.splitlines()]
    hooks = [line for line in lines if line.get("path", "").startswith("/hooks/")]
    assert len(hooks) == 1, out
    (line,) = hooks
    assert line["logger"] == "gunicorn.access"
    assert line["method"] == "POST"
    assert line["path"] == f"/hooks/{token[:4]}…/orders"
    assert line["status"] == status
    assert line["bytes"] > 0
    assert line["duration_ms"] >= 0
    assert line["remote_addr"] == "127.0.0.1"
    assert line["message"] == f"POST /hooks/{token[:4]}…/orders {status}"
    assert any(entry.get("path") == "/healthz" and entry["status"] == 200 for entry in lines)
    # and neither the token nor the query's secret is written anywhere
    assert token not in out + err
    assert "s3cr3t" not in out + err
