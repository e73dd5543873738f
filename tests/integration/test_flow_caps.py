"""The caps of loops, end to end (SQLite + the in-process worker, PostgreSQL + Redis with a
worker process): the step runs of one execution (loops in loops cannot grow it without bound)
and a loop's final output (the payload cap). Each fails the run with a clear error; nothing is
silently cut."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine_harness import Engine, engine_fixture
from tests.integration.test_flow_loops import loop, step


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(
        backend,
        database_url,
        tmp_path_factory.mktemp("engine"),
        MAX_STEP_RUNS=30,
        MAX_PAYLOAD_BYTES=600,
    )


def test_a_loop_that_would_pass_the_step_run_cap_fails_before_creating_them(
    engine: Engine,
) -> None:
    actions = [
        loop(
            "rows",
            "{{ trigger.rows }}",
            [
                loop(
                    "cells",
                    "{{ loop.item }}",
                    [step("cell", "log", {"message": "{{ loop.item }}"})],
                )
            ],
        )
    ]
    rows = [list(range(5)) for _ in range(8)]  # 1 + 8 + 8 * 5 = 49 step runs

    (execution,) = engine.wait(engine.start_tree(actions, {"rows": rows}))

    assert execution.status == "failed"
    assert "over the cap of 30 (STEPLINE_MAX_STEP_RUNS)" in (execution.error or "")
    history = engine.history(execution.id)
    assert len(history) <= 30
    failed = [s for s in history if s.status == "failed"]
    assert [s.action_key for s in failed] == ["cells"]
    assert failed[0].error and failed[0].error in (execution.error or "")


def test_a_loop_output_over_the_payload_cap_fails_the_run(engine: Engine) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [step("big", "transform", {"fields": {"t": "{{ 'x' * 100 }}"}})],
        ),
        step("after", "log", {"message": "never"}),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": list(range(10))}))

    assert execution.status == "failed"
    each = engine.history(execution.id)[0]
    assert each.status == "failed"
    assert "over the cap of 600 bytes" in (each.error or "")
    assert engine.history(execution.id)[-1].status == "skipped"
