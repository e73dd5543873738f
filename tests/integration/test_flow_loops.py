"""Loop steps end to end with the real worker: SQLite + the in-process worker, PostgreSQL +
Redis with a `dramatiq app.tasks` process (tests.engine_harness). Each run of a step inside a
loop is its own row, in its iteration's frame; the loop's output is each iteration's last
output; what follows the loop runs once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Execution
from app.services.executions import lifecycle
from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def step(key: str, type_: str, config: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "name": key, "config": config, **more}


def loop(key: str, items: str, steps: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    return step(key, "loop", {"items": items, **config}, steps=steps)


def out(run: Any) -> dict[str, Any]:
    """A step run's output (asserted present)."""
    assert run.output is not None, f"{run.action_key} has no output"
    return dict(run.output)


def _lines(journal: Path) -> list[str]:
    return journal.read_text().splitlines() if journal.exists() else []


def test_a_loop_runs_its_steps_once_per_item_in_order(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    actions = [
        step("start", "transform", {"fields": {"n": "{{ trigger.items | length }}"}}),
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step(
                    "double",
                    "transform",
                    {"fields": {"v": "{{ loop.item.price * 2 }}", "i": "{{ loop.index }}"}},
                ),
                step(
                    "send",
                    "test_effect",
                    {
                        "journal": str(journal),
                        "marker": "{{ steps.double.v }}/{{ loop.first }}/{{ loop.last }}",
                    },
                ),
            ],
        ),
        step(
            "after",
            "log",
            {
                "message": "{{ steps.each.count }}: "
                "{{ steps.each['items'] | map(attribute='marker') | join(',') }}"
            },
        ),
    ]
    items = [{"price": 1}, {"price": 2}, {"price": 3}]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": items}))

    assert execution.status == "completed", execution.error
    history = engine.history(execution.id)
    assert [(s.action_key, s.frame, s.status) for s in history] == [
        ("start", "", "completed"),
        ("each", "", "completed"),
        ("double", "1.0", "completed"),
        ("send", "1.0", "completed"),
        ("double", "1.1", "completed"),
        ("send", "1.1", "completed"),
        ("double", "1.2", "completed"),
        ("send", "1.2", "completed"),
        ("after", "", "completed"),
    ]
    assert [s.address for s in history[:4]] == ["1", "2", "2/1", "2/2"]
    each = history[1]
    assert each.output == {
        "count": 3,
        "items": [
            {"pid": out(history[3])["pid"], "attempt": 1, "marker": "2/True/False"},
            {"pid": out(history[5])["pid"], "attempt": 1, "marker": "4/False/False"},
            {"pid": out(history[7])["pid"], "attempt": 1, "marker": "6/False/True"},
        ],
        "failed": 0,
    }
    assert out(history[-1])["message"] == "3: 2/True/False,4/False/False,6/False/True"
    # One side effect per iteration, each with its own idempotency key
    keys = [line.split()[0] for line in _lines(journal)]
    assert keys == [f"{execution.id}:send@1.{i}" for i in range(3)]


def test_an_empty_list_runs_nothing_inside_and_goes_on(engine: Engine) -> None:
    actions = [
        loop("each", "{{ trigger.items }}", [step("inner", "log", {"message": "x"})]),
        step("after", "log", {"message": "{{ steps.each.count }}"}),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": []}))

    assert execution.status == "completed"
    history = engine.history(execution.id)
    assert [s.action_key for s in history] == ["each", "after"]
    assert history[0].output == {"count": 0, "items": [], "failed": 0}
    assert out(history[1])["message"] == "0"


def test_over_the_cap_fails_the_loop_clearly(engine: Engine) -> None:
    actions = [
        loop("each", "{{ trigger.items }}", [step("inner", "log", {"message": "x"})], max_items=2)
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": [1, 2, 3]}))

    assert execution.status == "failed"
    (each,) = engine.history(execution.id)
    assert each.error == "The list has 3 items, over this loop's cap of 2."


def test_not_a_list_fails_naming_what_it_got(engine: Engine) -> None:
    actions = [loop("each", "{{ trigger.items }}", [step("inner", "log", {"message": "x"})])]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": {"a": 1}}))

    assert execution.status == "failed"
    assert "a loop goes through a list, and this gave an object" in (execution.error or "")


def test_continue_on_error_inside_records_the_failed_iteration_and_goes_on(
    engine: Engine,
) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step(
                    "check",
                    "test_flaky",
                    {"succeed_on_attempt": "{{ 1 if loop.item else 2 }}", "retryable": False},
                    continue_on_error=True,
                ),
                step("done", "transform", {"fields": {"item": "{{ loop.item }}"}}),
            ],
        ),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": [1, 0, 1]}))

    assert execution.status == "completed" and execution.has_errors
    history = engine.history(execution.id)
    assert [(s.action_key, s.frame, s.status) for s in history[1:]] == [
        ("check", "0.0", "completed"),
        ("done", "0.0", "completed"),
        ("check", "0.1", "failed"),
        ("done", "0.1", "completed"),
        ("check", "0.2", "completed"),
        ("done", "0.2", "completed"),
    ]
    assert out(history[0])["failed"] == 1
    assert [item["item"] for item in out(history[0])["items"]] == [1, 0, 1]


def test_a_failing_step_inside_fails_the_run_and_skips_the_rest(engine: Engine) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step(
                    "check",
                    "test_flaky",
                    {"succeed_on_attempt": "{{ 1 if loop.item else 2 }}", "retryable": False},
                ),
                step("done", "log", {"message": "{{ loop.index }}"}),
            ],
        ),
        step("after", "log", {"message": "never"}),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": [1, 0, 1]}))

    assert execution.status == "failed"
    statuses = [(s.action_key, s.frame, s.status) for s in engine.history(execution.id)]
    assert statuses == [
        ("each", "", "completed"),
        ("check", "0.0", "completed"),
        ("done", "0.0", "completed"),
        ("check", "0.1", "failed"),
        ("done", "0.1", "skipped"),
        ("check", "0.2", "skipped"),
        ("done", "0.2", "skipped"),
        ("after", "", "skipped"),
    ]


def test_a_filter_inside_ends_only_its_iteration(engine: Engine) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step(
                    "big",
                    "filter",
                    {
                        "conditions": [
                            {"left": "{{ loop.item }}", "operator": "greater_than", "right": 1}
                        ]
                    },
                ),
                step("kept", "transform", {"fields": {"v": "{{ loop.item }}"}}),
            ],
        ),
        step(
            "after",
            "log",
            {"message": "{{ steps.each['items'] | map(attribute='v', default='-') | join(',') }}"},
        ),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": [1, 2, 3]}))

    assert execution.status == "completed"
    history = engine.history(execution.id)
    assert [(s.action_key, s.frame, s.status) for s in history] == [
        ("each", "", "completed"),
        ("big", "0.0", "completed"),
        ("kept", "0.0", "skipped"),
        ("big", "0.1", "completed"),
        ("kept", "0.1", "completed"),
        ("big", "0.2", "completed"),
        ("kept", "0.2", "completed"),
        ("after", "", "completed"),
    ]


def test_nested_loops_see_their_own_and_the_parent_item(engine: Engine) -> None:
    actions = [
        loop(
            "rows",
            "{{ trigger.rows }}",
            [
                loop(
                    "cells",
                    "{{ loop.item }}",
                    [
                        step(
                            "cell",
                            "transform",
                            {
                                "fields": {
                                    "at": "{{ loop.parent.index }}.{{ loop.index }}={{ loop.item }}"
                                }
                            },
                        )
                    ],
                ),
            ],
        ),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"rows": [["a", "b"], ["c"]]}))

    assert execution.status == "completed", execution.error
    history = engine.history(execution.id)
    cells = [out(s)["at"] for s in history if s.action_key == "cell"]
    assert cells == ["0.0=a", "0.1=b", "1.0=c"]
    rows = out(history[0])
    assert rows["count"] == 2
    assert [item["count"] for item in rows["items"]] == [2, 1]
    assert [[c["at"] for c in item["items"]] for item in rows["items"]] == [
        ["0.0=a", "0.1=b"],
        ["1.0=c"],
    ]


def test_a_delay_inside_a_loop_wakes_in_the_right_iteration(engine: Engine) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step("before", "transform", {"fields": {"v": "{{ loop.item }}"}}),
                step("wait", "delay", {"amount": 0.2}),
                step("seen", "transform", {"fields": {"v": "{{ steps.before.v }}{{ loop.item }}"}}),
            ],
        ),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"items": ["x", "y"]}))

    assert execution.status == "completed", execution.error
    assert [i["v"] for i in out(engine.history(execution.id)[0])["items"]] == ["xx", "yy"]


def test_cancel_mid_loop_skips_every_iteration_left(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    actions = [
        loop(
            "each",
            "{{ trigger.items }}",
            [
                step("send", "test_effect", {"journal": str(journal)}),
                step("wait", "delay", {"amount": 30}),
            ],
        ),
        step("after", "log", {"message": "never"}),
    ]
    execution_id = engine.start_tree(actions, {"items": [1, 2, 3]})
    engine.wait_for(lambda: len(_lines(journal)) == 1)  # iteration 0 waits in its delay

    with engine.app.app_context():
        found = db.session.get(Execution, execution_id)
        assert found is not None
        cancelled = lifecycle.cancel(db.session(), found)

    assert cancelled.status == "cancelled"
    runs = [(s.action_key, s.frame, s.status) for s in engine.history(execution_id)]
    assert runs[:3] == [
        ("each", "", "completed"),
        ("send", "0.0", "completed"),
        ("wait", "0.0", "completed"),
    ]
    assert {status for _, _, status in runs[3:]} == {"skipped"}
    assert len(runs) == 3 + 4 + 1  # iterations 1 and 2 (two steps each) and `after`
    assert len(_lines(journal)) == 1
