"""Paths steps end to end with the real worker (SQLite + the in-process worker, PostgreSQL +
Redis with a `dramatiq app.tasks` process): the first matching branch or every matching one,
"otherwise", branches inside loops, and the decision recorded with the values it saw."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine_harness import Engine, engine_fixture
from tests.integration.test_flow_loops import loop, out, step


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def when(left: str, operator: str, right: Any = None) -> dict[str, Any]:
    return {"match": "all", "conditions": [{"left": left, "operator": operator, "right": right}]}


def paths(key: str, mode: str = "first", otherwise: bool = True) -> dict[str, Any]:
    return step(
        key,
        "paths",
        {"mode": mode},
        branches=[
            {
                "key": "big",
                "name": "Big orders",
                "condition": when("{{ trigger.amount }}", "greater_than", 100),
                "steps": [
                    step("vip", "transform", {"fields": {"tier": "vip {{ steps.shape.total }}"}}),
                    step("vip_note", "log", {"message": "{{ steps.vip.tier }}"}),
                ],
            },
            {
                "key": "fr",
                "name": "France",
                "condition": when("{{ trigger.country }}", "equals", "FR"),
                "steps": [step("french", "transform", {"fields": {"hello": "bonjour"}})],
            },
        ],
        otherwise={
            "name": "Otherwise",
            "steps": [step("plain", "transform", {"fields": {"tier": "plain"}})],
        }
        if otherwise
        else None,
    )


def tree(mode: str = "first", otherwise: bool = True) -> list[dict[str, Any]]:
    return [
        step("shape", "transform", {"fields": {"total": "{{ trigger.amount }}"}}),
        paths("route", mode, otherwise),
    ]


def _runs(engine: Engine, execution_id: int) -> list[tuple[str, str, str]]:
    return [(s.action_key, s.address, s.status) for s in engine.history(execution_id)]


def test_the_first_matching_branch_runs_and_says_why(engine: Engine) -> None:
    (execution,) = engine.wait(engine.start_tree(tree(), {"amount": 250, "country": "FR"}))

    assert execution.status == "completed", execution.error
    assert _runs(engine, execution.id) == [
        ("shape", "1", "completed"),
        ("route", "2", "completed"),
        ("vip", "2/big/1", "completed"),
        ("vip_note", "2/big/2", "completed"),
    ]
    route = out(engine.history(execution.id)[1])
    assert route["taken"] == ["big"] and route["mode"] == "first" and not route["otherwise"]
    big, fr = route["branches"]
    assert big["matched"] and big["checked"]
    assert big["conditions"] == [{"left": 250, "operator": "greater_than", "right": 100}]
    assert fr == {"key": "fr", "name": "France", "matched": False, "checked": False}
    assert out(engine.history(execution.id)[-1])["message"] == "vip 250"


def test_mode_all_runs_every_matching_branch_in_order(engine: Engine) -> None:
    (execution,) = engine.wait(engine.start_tree(tree("all"), {"amount": 250, "country": "FR"}))

    assert execution.status == "completed", execution.error
    assert [key for key, _, _ in _runs(engine, execution.id)] == [
        "shape",
        "route",
        "vip",
        "vip_note",
        "french",
    ]
    assert out(engine.history(execution.id)[1])["taken"] == ["big", "fr"]


def test_otherwise_runs_when_no_branch_matches(engine: Engine) -> None:
    (execution,) = engine.wait(engine.start_tree(tree(), {"amount": 5, "country": "DE"}))

    assert execution.status == "completed"
    assert _runs(engine, execution.id)[2:] == [("plain", "2/otherwise/1", "completed")]
    route = out(engine.history(execution.id)[1])
    assert route["taken"] == ["otherwise"] and route["otherwise"] is True
    assert [b["results"] for b in route["branches"]] == [[False], [False]]


def test_no_branch_and_no_otherwise_completes_the_run(engine: Engine) -> None:
    (execution,) = engine.wait(
        engine.start_tree(tree(otherwise=False), {"amount": 5, "country": "DE"})
    )

    assert execution.status == "completed"
    assert [key for key, _, _ in _runs(engine, execution.id)] == ["shape", "route"]


def test_paths_inside_a_loop_choose_per_item(engine: Engine) -> None:
    actions = [
        loop(
            "each",
            "{{ trigger.orders }}",
            [
                step(
                    "split",
                    "paths",
                    {"mode": "first"},
                    branches=[
                        {
                            "key": "a",
                            "name": "Large",
                            "condition": when("{{ loop.item }}", "greater_than", 10),
                            "steps": [
                                step(
                                    "large",
                                    "transform",
                                    {"fields": {"kind": "large {{ loop.item }}"}},
                                )
                            ],
                        },
                        {
                            "key": "b",
                            "name": "Small",
                            "condition": when("{{ loop.item }}", "less_than", 11),
                            "steps": [
                                step(
                                    "small",
                                    "transform",
                                    {"fields": {"kind": "small {{ loop.item }}"}},
                                )
                            ],
                        },
                    ],
                ),
            ],
        ),
        step(
            "after",
            "log",
            {"message": "{{ steps.each['items'] | map(attribute='kind') | join(',') }}"},
        ),
    ]

    (execution,) = engine.wait(engine.start_tree(actions, {"orders": [50, 3]}))

    assert execution.status == "completed", execution.error
    assert [(s.action_key, s.frame, s.address) for s in engine.history(execution.id)] == [
        ("each", "", "1"),
        ("split", "0.0", "1/1"),
        ("large", "0.0", "1/1/a/1"),
        ("split", "0.1", "1/1"),
        ("small", "0.1", "1/1/b/1"),
        ("after", "", "2"),
    ]
    assert out(engine.history(execution.id)[-1])["message"] == "large 50,small 3"


def test_a_condition_that_cannot_render_fails_the_paths_step(engine: Engine) -> None:
    actions = tree()
    actions[1]["branches"][0]["condition"] = when("{{ trigger.amount.nope() }}", "is_true")

    (execution,) = engine.wait(engine.start_tree(actions, {"amount": 5}))

    assert execution.status == "failed"
    assert "branches.0.condition" in (execution.error or "")
