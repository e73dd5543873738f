"""A transaction that PostgreSQL ends as one side of a deadlock, tried again.

A worker's record locks a step, then its execution; a cancel or the time-limit pass locks the
execution, then its steps. When they meet, PostgreSQL rolls one back (SQLSTATE 40P01) and the
other goes on; the one rolled back may well succeed when tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")
DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
ATTEMPTS = 3


def deadlocked(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL ending a transaction as one side of a deadlock."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == DEADLOCK_DETECTED


def again_after_deadlock(
    transaction: Callable[[], T], rollback: Callable[[], object], what: str
) -> T:
    """Run `transaction`; when PostgreSQL ends it as a deadlock, `rollback` and run it again,
    up to ATTEMPTS in all. Any other error, and the last deadlock, is raised."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return transaction()
        except OperationalError as exc:
            rollback()
            if attempt == ATTEMPTS or not deadlocked(exc):
                raise
            log.warning("%s met a deadlock; once more", what)
    raise AssertionError("unreachable")
