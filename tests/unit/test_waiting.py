"""services.executions.waiting: what a waiting step waits for, in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.models import ExecutionStep
from app.services.executions.waiting import clock_text, first_of, of_step, time_left

NOW = datetime(2026, 12, 7, 10, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (NOW, "10:02 UTC"),
        (NOW + timedelta(days=2), "Dec 9 10:02 UTC"),
        (NOW + timedelta(days=30), "Jan 6, 2027 10:02 UTC"),
        (datetime(2026, 12, 7, 11, 2, tzinfo=UTC).astimezone(), "11:02 UTC"),
    ],
)
def test_a_moment_reads_as_a_time_today_and_with_its_date_another_day(
    moment: datetime, words: str
) -> None:
    assert clock_text(moment, NOW) == words


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (timedelta(seconds=-5), "due now"),
        (timedelta(seconds=30), "in under a minute"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(minutes=90), "in 90 minutes"),
        (timedelta(hours=3), "in 3 hours"),
        (timedelta(hours=30), "in 30 hours"),
        (timedelta(hours=47, minutes=55), "in 2 days"),
        (timedelta(days=2, hours=1), "in 2 days"),
        (timedelta(days=30), "in 30 days"),
    ],
)
def test_the_time_left_is_said_in_the_unit_that_reads_best(left: timedelta, words: str) -> None:
    assert time_left(NOW + left, NOW) == words


def _step(status: str, output: object, **more: object) -> ExecutionStep:
    return ExecutionStep(
        id=3,
        execution_id=7,
        position=more.pop("position", 1),
        frame=more.pop("frame", ""),
        address="2",
        action_key="hold",
        action_type="wait_for_call",
        status=status,
        output=output,
        **more,
    )


def test_a_waiting_step_says_what_it_waits_for_since_and_until_when() -> None:
    output = {
        "waiting_for": "call",
        "since": NOW.isoformat(),
        "until": (NOW + timedelta(days=2)).isoformat(),
        "resume_url": "http://x/resume/t",
    }

    wait = of_step(_step("waiting", output))

    assert wait is not None and wait.key == "hold" and wait.can_be_called
    assert wait.details == {"resume_url": "http://x/resume/t"}
    assert wait.sentence(NOW) == (
        "Waiting for a call to its resume URL since 10:02 UTC, until Dec 9 10:02 UTC (in 2 days)"
    )
    assert wait.short(NOW) == "for a call to its resume URL · until Dec 9 10:02 UTC"


def test_other_waits_and_steps_that_do_not_wait() -> None:
    until = NOW + timedelta(hours=5)
    child = of_step(_step("waiting", {"waiting_for": "child", "child": {"execution_id": 12}}))
    approval = of_step(_step("waiting", {"waiting_for": "approval"}, next_retry_at=until))

    assert child is not None and child.what == "child run #12 to end" and not child.can_be_called
    assert approval is not None and approval.until == until
    assert approval.sentence(NOW) == (
        "Waiting for a decision on its approval page, until 15:02 UTC (in 5 hours)"
    )
    assert of_step(_step("running", {"waiting_for": "call"})) is None
    assert of_step(_step("waiting", None)) is not None  # a wait it did not describe still waits


def test_the_first_waiting_step_in_history_order() -> None:
    inner = _step("waiting", {"waiting_for": "call"}, position=2, frame="0.1")
    outer = _step("waiting", {"waiting_for": "approval"}, position=2, frame="0.0")

    found = first_of([_step("completed", {}), inner, outer])

    assert found is not None and found.kind == "approval"
