"""Rate budgets: slots planned ahead in a shared counter (in process, and in a Redis of the
test's own), waits in place when close, reservations kept for a step when further off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.budgets import (
    INLINE_WAIT_SECONDS,
    MemorySlots,
    RateBudget,
    RateLimitWait,
    RedisSlots,
    SlotStore,
    rate_limited,
    take_slot,
)
from tests.redis_server import RedisServer


class Clock:
    """A test clock: `sleep` moves it on (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SlotStore]:
    if request.param == "memory":
        yield MemorySlots()
        return
    server = RedisServer(tmp_path)
    try:
        yield RedisSlots(server.url, "test")
    finally:
        server.stop()


def test_a_budget_parses_its_rates_and_spaces_slots_by_the_stricter() -> None:
    assert RateBudget.parse({"per_second": 2, "per_minute": 60}) == RateBudget(2.0, 60.0)
    assert RateBudget(2.0, 60.0).interval == 1.0
    assert RateBudget(per_second=4).interval == 0.25
    assert RateBudget.parse({"per_second": 0, "per_minute": "x"}) is None
    assert RateBudget.parse(None) is None
    assert RateBudget.for_service("slack") == RateBudget(per_second=1.0)


def test_steps_sharing_a_budget_get_planned_slots(store: SlotStore) -> None:
    # Given a budget of one request every half second, and a clock that never really waits
    clock = Clock()
    budget = RateBudget(per_second=2)

    # When five steps take a slot at the same moment
    for n in range(5):
        take_slot(store, "credential:1", budget, "Slack", f"7:s{n}", clock=clock, sleep=clock.sleep)
        clock.now = 1_000_000.0  # each asks at the same instant

    # Then each waited for its own slot, half a second after the one before
    assert clock.slept == [0.5, 1.0, 1.5, 2.0]
    # And another key has its own budget
    take_slot(store, "credential:2", budget, "Slack", "7:other", clock=clock, sleep=clock.sleep)
    assert clock.slept == [0.5, 1.0, 1.5, 2.0]


def test_a_far_slot_is_kept_for_the_step_that_comes_back_for_it(store: SlotStore) -> None:
    # Given a budget of 6 a minute (a slot every 10 s), its first slot taken
    clock = Clock()
    budget = RateBudget(per_minute=6)
    take_slot(store, "credential:1", budget, "Notion", "1:a", clock=clock, sleep=clock.sleep)

    # When a second step asks, its slot is 10 s off: it is sent again for it
    with pytest.raises(RateLimitWait) as waiting:
        take_slot(store, "credential:1", budget, "Notion", "2:a", clock=clock, sleep=clock.sleep)
    assert waiting.value.retry_after == pytest.approx(10.0)
    assert waiting.value.rate_limited and waiting.value.service == "Notion"

    # And a third step meanwhile gets the slot after that one
    with pytest.raises(RateLimitWait) as third:
        take_slot(store, "credential:1", budget, "Notion", "3:a", clock=clock, sleep=clock.sleep)
    assert third.value.retry_after == pytest.approx(20.0)

    # When the second comes back at its time, it goes at once with the slot it kept
    clock.now += 10.0
    take_slot(store, "credential:1", budget, "Notion", "2:a", clock=clock, sleep=clock.sleep)
    assert clock.slept == []


def test_a_429_pushes_every_user_of_the_key_back(store: SlotStore) -> None:
    clock = Clock()
    error = rate_limited(store, "credential:1", "Slack", 30.0, "ratelimited")
    assert (error.retry_after, error.rate_limited) == (30.0, True)
    assert "Slack asked to slow down" in str(error)
    # a step on the same key now waits (the real clock: rate_limited stamps with it)
    import time

    clock.now = time.time()
    with pytest.raises(RateLimitWait) as waiting:
        take_slot(store, "credential:1", None, "Slack", "9:a", clock=clock, sleep=clock.sleep)
    assert 29 < (waiting.value.retry_after or 0) <= 30
    assert INLINE_WAIT_SECONDS < 29


def test_a_redis_counter_that_is_down_lets_steps_go_on_unpaced(tmp_path: Path) -> None:
    # Given a Redis counter whose server stops (SECURITY.md: Redis restarted or emptied)
    server = RedisServer(tmp_path)
    store = RedisSlots(server.url, "test")
    clock = Clock()
    take_slot(store, "credential:1", RateBudget(per_minute=1), "Slack", "1:a", clock=clock)
    server.stop()

    # When steps take slots and a 429 pushes the key back, nothing raises: they go at once
    take_slot(store, "credential:1", RateBudget(per_minute=1), "Slack", "2:a", clock=clock)
    rate_limited(store, "credential:1", "Slack", 30.0)
    assert clock.slept == []
