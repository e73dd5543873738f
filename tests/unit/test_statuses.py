"""Statuses and their LIVE/FINAL sets are defined once, on the model enums."""

from __future__ import annotations

import pytest

from app.models import ExecutionStatus, StepStatus


@pytest.mark.parametrize("enum_cls", [ExecutionStatus, StepStatus])
def test_live_and_final_split_every_status_once(enum_cls: type[ExecutionStatus]) -> None:
    # Given a status enum, when its LIVE and FINAL sets are joined, then each status is in one.
    assert sorted(enum_cls.LIVE + enum_cls.FINAL) == sorted(enum_cls)
    assert not set(enum_cls.LIVE) & set(enum_cls.FINAL)


def test_execution_statuses_as_the_seed_names_them() -> None:
    assert ExecutionStatus.LIVE == ("pending", "running", "waiting")
    assert StepStatus.LIVE == ("pending", "running", "waiting")
    assert ExecutionStatus.FINAL == ("completed", "failed", "cancelled")
    assert StepStatus.FINAL == ("completed", "failed", "skipped")
    assert ExecutionStatus("failed").is_final and not ExecutionStatus("running").is_final
