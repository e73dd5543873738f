"""gunicorn settings for Stepline: `gunicorn -c gunicorn.conf.py` (the app is wsgi:app).

Sizes and timeouts come from GUNICORN_* environment variables. The app is never preloaded in
the master: with STEPLINE_EMBEDDED_WORKER on, each worker process starts its own Dramatiq
worker threads and scheduler thread after the fork (threads do not survive a fork), and stops
them when it exits, so that a SIGTERM lets in-flight steps finish.
"""

from __future__ import annotations

import os
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be an integer, got {value!r}") from None


wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
# gunicorn's threaded worker, answering what gunicorn refuses itself (a URL or headers past its
# limits, a malformed request) in the API's JSON error shape rather than an HTML page.
worker_class = "app.gunicorn_worker.JsonErrorWorker"
# A worker silent for this long is killed and replaced (a webhook in wait mode may hold its
# request for up to 120 s: raise it if such webhooks wait that long).
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM: stop accepting, let requests in flight finish for up to this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
preload_app = False
# No runtime control socket (gunicorn >= 25): containers are managed by signals.
control_socket_disable = True
# gunicorn's own lines as JSON too, like the app's (app/logs.py): errors on stderr, one access
# line per request on stdout (app.access_log.AccessLogger: lean, and no webhook token in it).
logger_class = "app.access_log.AccessLogger"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}


def _embedded(worker: Any) -> Any:
    """The embedded worker+scheduler of the app this gunicorn worker serves, when it is on
    (app.embedded.EmbeddedWorker, under the key app.extensions.EMBEDDED: this file does not
    import the app, which gunicorn's master never loads)."""
    app = getattr(worker, "wsgi", None)
    config = getattr(app, "config", {})
    if not config.get("EMBEDDED_WORKER"):
        return None
    return app.extensions["stepline.embedded"]


def post_worker_init(worker: Any) -> None:
    """Start the embedded worker now rather than on the first request, so schedules and
    recovery run even while no request arrives."""
    embedded = _embedded(worker)
    if embedded is not None:
        embedded.start()


def worker_exit(server: Any, worker: Any) -> None:
    """Let the embedded worker finish its in-flight steps before the process ends."""
    embedded = _embedded(worker)
    if embedded is not None:
        embedded.stop()
