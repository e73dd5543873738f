"""Settings of the JSON API: the rate limit and where it is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config
from app.config import build

REDIS_URL = "redis://cache:6379/0"


def test_the_api_rate_limit_has_a_default_and_an_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config.load(str(tmp_path)).api_rate_limit == "600/minute"

    monkeypatch.setenv("STEPLINE_API_RATE_LIMIT", "100/minute;5000/day")

    assert config.load(str(tmp_path)).api_rate_limit == "100/minute;5000/day"


def test_limits_are_counted_in_redis_when_there_is_one_else_in_memory() -> None:
    assert build({"REDIS_URL": REDIS_URL}).limit_storage_uri == REDIS_URL
    assert build({"REDIS_URL": None}).limit_storage_uri == "memory://"
    assert build({}).limit_storage_uri == "memory://"
    named = {"REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": "memory://"}
    assert build(named).limit_storage_uri == "memory://"


def test_a_malformed_rate_limit_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STEPLINE_WEBHOOK_RATE_LIMIT", "lots")
    with pytest.raises(RuntimeError, match=r"STEPLINE_WEBHOOK_RATE_LIMIT.*'lots'"):
        build()
