"""app/logs.py: one JSON object per line, extra fields kept, one handler however often."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from app import config, logs


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, restored after the test."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.getLogger("app.engine.step").makeRecord(
        "app.engine.step", logging.WARNING, __file__, 1, message, args, None, extra=extra
    )
    return record


def test_a_record_becomes_one_json_line_with_its_extra_fields() -> None:
    # Given a record with the engine's extra fields, a nested value and an unserializable one
    record = _record(
        "step %s failed", "fetch", execution_id=42, step_key="fetch", detail={"a": [1]}, at=object
    )

    # When it is formatted
    line = logs.JsonFormatter().format(record)

    # Then it is one line of JSON with the core fields first and every extra field
    assert "\n" not in line
    entry = json.loads(line)
    assert list(entry)[:4] == ["timestamp", "level", "logger", "message"]
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "app.engine.step"
    assert entry["message"] == "step fetch failed"
    assert entry["timestamp"].endswith("Z")
    assert entry["execution_id"] == 42 and entry["step_key"] == "fetch"
    assert entry["detail"] == {"a": [1]}
    assert entry["at"] == str(object)


def test_an_extra_field_never_overwrites_a_core_field() -> None:
    entry = json.loads(logs.JsonFormatter().format(_record("hello", level="custom")))

    assert entry["level"] == "WARNING"
    assert entry["extra_level"] == "custom"


def test_an_exception_is_kept_inside_the_line() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()

    entry = json.loads(logs.JsonFormatter().format(record))

    assert "ValueError: bad value" in entry["exception"]


def test_configure_installs_one_handler_and_replaces_basic_config(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a root logger set up by logging.basicConfig (as Dramatiq's worker processes do)
    # and another handler of a different kind
    basic = logging.StreamHandler(io.StringIO())
    kept = logging.NullHandler()
    root.handlers[:] = [basic, kept]
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    # When logging is configured twice
    logs.configure(config.build({"LOG_LEVEL": "debug"}))
    logs.configure(config.build({"LOG_LEVEL": "info"}))
    logging.getLogger("app.test").info("ready", extra={"execution_id": 7})

    # Then one handler of ours replaced basicConfig's, at the last level asked for, writing
    # JSON to the stderr of the moment
    assert [h.get_name() for h in root.handlers].count(logs.HANDLER_NAME) == 1
    assert basic not in root.handlers and kept in root.handlers
    assert root.level == logging.INFO
    (line,) = stderr.getvalue().splitlines()
    assert json.loads(line)["execution_id"] == 7


def test_text_format_for_people_reading_a_terminal(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    logs.configure(config.build({"LOG_LEVEL": "INFO", "LOG_FORMAT": "text"}))
    logging.getLogger("app.test").warning("plain")

    assert stderr.getvalue().rstrip().endswith("WARNING app.test: plain")
