"""services.workflows.flow_rules: the rules of a nested definition, each refused naming the field
by its full path, and the keys it fills in; step_checks' reference rule over the tree."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.services.errors import InvalidInputError
from app.services.workflows import tree
from app.services.workflows.flow_rules import settle, settle_steps
from app.services.workflows.specs import WorkflowSpec
from app.services.workflows.step_checks import references_of

WHEN = {"conditions": [{"left": "{{ trigger.a }}", "right": 1}]}


def log(key: str | None = None, message: str = "hi") -> dict[str, Any]:
    step: dict[str, Any] = {"type": "log", "config": {"message": message}}
    return {**step, "key": key} if key else step


def loop(key: str, *steps: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"key": key, "type": "loop", "config": {"items": "{{ trigger.xs }}", **config},
            "steps": list(steps)}  # fmt: skip


def paths(key: str, *branches: list[dict[str, Any]], otherwise: Any = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "key": key,
        "type": "paths",
        "branches": [
            {"name": f"B{i}", "condition": WHEN, "steps": s} for i, s in enumerate(branches)
        ],
    }
    if otherwise is not None:
        step["otherwise"] = {"steps": otherwise}
    return step


def refused(steps: list[dict[str, Any]], max_loop_items: int | None = 100) -> str:
    with pytest.raises(InvalidInputError) as caught:
        settle_steps(copy.deepcopy(steps), max_loop_items)
    assert caught.value.message
    return str(caught.value.field)


def test_a_flat_list_is_keyed_as_before() -> None:
    steps = [log(), log("log"), log()]

    settle_steps(steps, 100)

    assert [s["key"] for s in steps] == ["log_2", "log", "log_3"]


def test_keys_are_filled_in_across_the_tree_and_branches_lettered() -> None:
    steps = [loop("each", log(), paths("route", [log()], [log("log")], otherwise=[log()]))]
    steps[0]["steps"][1]["branches"][1]["key"] = "a"

    settle_steps(steps, 100)

    route = steps[0]["steps"][1]
    assert [p.step["key"] for p in tree.walk(steps)] == [
        "each", "log_2", "route", "log_3", "log", "log_4"
    ]  # fmt: skip
    assert [b["key"] for b in route["branches"]] == ["b", "a"]


def test_a_loop_without_steps_holds_an_empty_list() -> None:
    steps = [{"key": "each", "type": "loop", "config": {"items": "{{ trigger.xs }}"}}]

    settle_steps(steps, 100)

    assert steps[0]["steps"] == []


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([log("a"), loop("l", log("a"))], "steps.1.steps.0.key"),
        ([paths("p", [log("x")], [log("x")])], "steps.0.branches.1.steps.0.key"),
        ([paths("p", [], []), log()], "steps.0.type"),
        ([loop("l", paths("p", [], []), log())], "steps.0.steps.0.type"),
        ([paths("p", [])], "steps.0.branches"),
        ([paths("p", *[[] for _ in range(11)])], "steps.0.branches"),
        ([{"key": "p", "type": "paths"}], "steps.0.branches"),
        ([{**log("a"), "steps": []}], "steps.0.steps"),
        ([{**log("a"), "otherwise": {"steps": []}}], "steps.0.otherwise"),
        ([{**loop("l"), "branches": []}], "steps.0.branches"),
        ([loop("a", loop("b", loop("c", loop("d"))))], "steps.0.steps.0.steps.0.steps.0.type"),
        ([loop("l", max_items=101)], "steps.0.config.max_items"),
        ([loop("l", *[log() for _ in range(200)])], "steps"),
    ],
)
def test_each_rule_names_the_field_by_its_path(steps: list[dict[str, Any]], field: str) -> None:
    assert refused(steps) == field


def test_three_levels_of_containers_are_allowed_and_max_items_may_be_a_template() -> None:
    steps = [loop("a", loop("b", loop("c", log("x"), max_items="{{ 5 }}")))]

    settle_steps(steps, 100)
    settle_steps([loop("l", max_items=10_000)], None)  # None: left to the engine


def test_branch_keys_are_unique_in_their_paths_step() -> None:
    steps = [paths("p", [], [])]
    steps[0]["branches"][0]["key"] = steps[0]["branches"][1]["key"] = "same"

    assert refused(steps) == "steps.0.branches.1.key"


def test_settle_keeps_the_spec_and_gives_back_a_keyed_one() -> None:
    spec = WorkflowSpec.model_validate({"name": "n", "steps": [loop("l", log())]})

    settled = settle(spec, 100)

    assert spec.steps[0].steps and spec.steps[0].steps[0].key is None
    assert settled.steps[0].steps and settled.steps[0].steps[0].key == "log"


def test_a_plain_step_dumps_without_lists() -> None:
    spec = WorkflowSpec.model_validate({"name": "n", "steps": [log("a"), loop("l")]})

    dumped = spec.model_dump(mode="json")["steps"]

    assert "steps" not in dumped[0] and "branches" not in dumped[0]
    assert dumped[1]["steps"] == [] and "branches" not in dumped[1]


def test_addresses_and_words() -> None:
    steps = [
        log("a"),
        loop("l", log("b"), paths("p", [log("c")], [log("d")], otherwise=[log("e")])),
    ]

    assert [tree.address(steps, k) for k in "ablpcde"] == [
        "1", "2/1", "2", "2/2", "2/2/a/1", "2/2/b/1", "2/2/otherwise/1"
    ]  # fmt: skip
    assert tree.words("2/2/b/1") == tree.SEPARATOR.join(["Step 2", "step 2", "Branch b", "step 1"])
    assert tree.words("4/otherwise/1").endswith("Otherwise" + tree.SEPARATOR + "step 1")
    assert tree.loops_around(steps, "c") == ["l"] and tree.loops_around(steps, "l") == []


def keyed(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    settle_steps(steps, None)
    return steps


def test_references_follow_the_tree() -> None:
    steps = keyed(
        [
            log("first"),
            loop(
                "each",
                log("inside", "{{ steps.first }} {{ loop.item }} {{ steps.each }}"),
                paths(
                    "route",
                    [log("left", "{{ steps.inside }} {{ steps.route }}")],
                    [log("right", "{{ steps.left }}")],
                ),
            ),
            log("after", "{{ steps.inside }} {{ steps.each.items }}"),
            log("outside", "{{ loop.item }}"),
            log("own", "{% for x in [1] %}{{ loop.index }}{% endfor %} {{ steps.later }}"),
        ]
    )

    assert references_of(steps, "inside") == []
    assert references_of(steps, "left") == []
    assert references_of(steps, "right") == ["Uses step “left”, which runs in another branch."]
    assert references_of(steps, "after") == [
        "Uses step “inside”, which runs inside loop “each”: read the loop's output "
        "(steps.each.items) instead."
    ]
    assert references_of(steps, "outside") == [
        "Uses loop.item and the like, which only steps inside a loop can read."
    ]
    assert references_of(steps, "own") == ["Uses step “later”, which does not exist."]


def test_a_loops_own_items_are_read_outside_it() -> None:
    steps = keyed([loop("each", log("x")), log("y")])
    steps[0]["config"]["items"] = "{{ loop.item }}"

    assert references_of(steps, "each") == [
        "Uses loop.item and the like, which only steps inside a loop can read."
    ]
    assert references_of(steps, "x") == []
