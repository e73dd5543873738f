"""The delay step waits for a while or until a date and time (app/actions/delay.py): a time
without an offset is read in the workflow's time zone; a past one continues at once; one more
than 30 days away, or not a date, fails clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.actions.delay import DelayAction, DelayConfig, wait_until
from app.engine.errors import ActionError, Suspend
from app.settings import Settings
from tests.fakes.context import make_step_context

NEW_YORK = "America/New_York"
SETTINGS = Settings.model_validate({"secret_keys": Fernet.generate_key().decode()})


def _problems(config: dict[str, Any]) -> dict[str, str]:
    try:
        DelayConfig.model_validate(config)
    except ValidationError as exc:
        return {".".join(map(str, e["loc"])): e["msg"] for e in exc.errors()}
    return {}


def test_nine_in_new_york_in_winter_is_fourteen_utc() -> None:
    now = datetime(2027, 1, 10, tzinfo=UTC)

    wait = wait_until(now, "2027-01-15T09:00", NEW_YORK)

    assert wait.output["resume_at"] == "2027-01-15T14:00:00+00:00"
    assert wait.output["resume_at_local"] == "2027-01-15T09:00:00-05:00"
    assert wait.output["timezone"] == NEW_YORK
    assert wait.seconds == (datetime(2027, 1, 15, 14, tzinfo=UTC) - now).total_seconds()


def test_in_summer_the_same_hour_is_thirteen_utc_and_a_space_may_replace_the_t() -> None:
    wait = wait_until(datetime(2027, 7, 1, tzinfo=UTC), "2027-07-15 09:00", NEW_YORK)

    assert wait.output["resume_at"] == "2027-07-15T13:00:00+00:00"


def test_a_time_with_its_own_offset_keeps_it() -> None:
    wait = wait_until(datetime(2027, 1, 10, tzinfo=UTC), "2027-01-15T09:00:00+01:00", NEW_YORK)

    assert wait.output["resume_at"] == "2027-01-15T08:00:00+00:00"
    assert wait.output["offset"] == "+01:00"
    assert wait.output["resume_at_local"] == "2027-01-15T03:00:00-05:00"


def test_a_time_already_past_continues_at_once_and_says_so() -> None:
    wait = wait_until(datetime(2027, 1, 10, tzinfo=UTC), "2027-01-09 09:00", NEW_YORK)

    assert wait.seconds == 0
    assert wait.output["waited_seconds"] == 0
    assert "already passed" in wait.output["note"]


def test_a_time_more_than_thirty_days_away_fails_without_retry() -> None:
    with pytest.raises(ActionError) as caught:
        wait_until(datetime(2027, 1, 10, tzinfo=UTC), "2027-02-15 09:00", NEW_YORK)

    assert str(caught.value) == (
        "2027-02-15 09:00-05:00 (America/New_York) is more than 30 days away; "
        "a delay waits at most 30 days."
    )
    assert not caught.value.retryable


def test_a_rendered_value_that_is_not_a_date_fails_without_retry() -> None:
    with pytest.raises(ActionError, match="is not a date and time") as caught:
        wait_until(datetime(2027, 1, 10, tzinfo=UTC), "next tuesday", NEW_YORK)
    assert not caught.value.retryable


def test_the_action_reads_the_workflows_zone_from_its_context() -> None:
    context = make_step_context(SETTINGS, timezone=NEW_YORK)
    config = DelayConfig.model_validate({"mode": "until", "until": "2020-01-01 09:00"})

    with pytest.raises(Suspend) as caught:
        DelayAction().execute(context, config)

    assert caught.value.output["timezone"] == NEW_YORK
    assert caught.value.output["resume_at"] == "2020-01-01T14:00:00+00:00"
    assert caught.value.seconds == 0


def test_waiting_for_longer_than_thirty_days_fails_instead_of_being_cut() -> None:
    context = make_step_context(SETTINGS)
    config = DelayConfig.model_validate({"amount": 45, "unit": "days"})

    with pytest.raises(ActionError, match="at most 30 days; 45 days is longer"):
        DelayAction().execute(context, config)


def test_each_way_of_waiting_asks_for_its_own_field() -> None:
    assert _problems({}) == {
        "amount": "Give how long to wait (or choose to wait until a date and time)."
    }
    assert _problems({"mode": "until"}) == {
        "until": "Give the date and time to wait until, e.g. 2026-12-24 09:00."
    }
    assert "until" in _problems({"mode": "until", "until": "tomorrow at nine"})
    # a template is checked once it has a value; a field of the other way is left aside
    assert _problems({"mode": "until", "until": "{{ trigger.due }}", "amount": 5}) == {}
    assert _problems({"amount": 5, "unit": "minutes", "until": "whenever"}) == {}
