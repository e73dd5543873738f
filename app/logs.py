"""Structured logs: one JSON object per line on stderr, in every process.

`configure()` is called by create_app (web processes, `flask scheduler`, every `flask`
command) and, through `LogsMiddleware`, when a `dramatiq app.tasks` worker process boots
(with the settings of the broker's composition root).
Each line carries `timestamp`, `level`, `logger`, `message` and every `extra` field of the
record, so the engine's `execution_id` and `step_key` are searchable fields, not text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import dramatiq

if TYPE_CHECKING:
    from app.settings import Settings

# Attributes every LogRecord has; whatever else a record carries came from `extra`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CORE = ("timestamp", "level", "logger", "message")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "stepline"
# A webhook URL's token is its credential: logs show its first characters only.
_HOOK_TOKEN = re.compile(r"^(/hooks/(?:test/)?[^/]{4})[^/]*")


def safe_path(path: str) -> str:
    """`path` fit for a log line: a webhook token is cut to its first four characters."""
    return _HOOK_TOKEN.sub("\\1…", path)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (values that JSON cannot hold become strings)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[f"extra_{key}" if key in _CORE else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of the call (Dramatiq's worker processes
    and test runners replace it after start-up)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler's API; the stream is fixed
        pass


def configure(settings: Settings) -> logging.Handler:
    """Install the one stderr handler on the root logger (idempotent), at LOG_LEVEL.

    A bare `StreamHandler` already on the root logger is someone's `logging.basicConfig()`
    (Dramatiq's worker processes call it): it is replaced, so no line is written twice.
    Handlers of other kinds (a test runner's capture, say) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    if settings.log_format == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Alembic announces each of its plugins at INFO whenever it is imported.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler


class LogsMiddleware(dramatiq.Middleware):
    """Configures logging when a worker process boots, with the settings the broker was built
    from (an embedded worker's app has configured the same ones already)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        configure(self.settings)
