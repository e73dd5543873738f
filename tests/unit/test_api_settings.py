"""Settings of the JSON API: the rate limit and where it is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config
from app.api.ratelimit import storage_uri

REDIS_URL = "redis://cache:6379/0"


def test_the_api_rate_limit_has_a_default_and_an_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config.load(str(tmp_path))["API_RATE_LIMIT"] == "600/minute"

    monkeypatch.setenv("STEPLINE_API_RATE_LIMIT", "100/minute;5000/day")

    assert config.load(str(tmp_path))["API_RATE_LIMIT"] == "100/minute;5000/day"


def test_limits_are_counted_in_redis_when_there_is_one_else_in_memory() -> None:
    assert storage_uri({"REDIS_URL": REDIS_URL}) == REDIS_URL
    assert storage_uri({"REDIS_URL": None}) == "memory://"
    assert storage_uri({}) == "memory://"
    named = {"REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": "memory://"}
    assert storage_uri(named) == "memory://"
