"""Backoff: fixed waits `delay`; exponential waits delay · 2^(n-1) before the n-th retry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.engine.retry import RetryPolicy


def test_exponential_backoff_doubles() -> None:
    policy = RetryPolicy.from_dict(
        {"attempts": 4, "backoff": {"type": "exponential", "delay": 0.1}}
    )
    assert [policy.delay_before(n) for n in (2, 3, 4)] == [0.1, 0.2, 0.4]


def test_fixed_backoff_is_constant() -> None:
    policy = RetryPolicy.from_dict({"attempts": 3, "backoff": {"type": "fixed", "delay": 2}})
    assert [policy.delay_before(n) for n in (2, 3)] == [2, 2]


def test_defaults_and_bad_values() -> None:
    assert RetryPolicy.from_dict(None) == RetryPolicy(3, "exponential", 1.0)
    with pytest.raises(ValidationError):
        RetryPolicy.from_dict({"attempts": 0})
