"""The draft's tree (services.workflows.draft_tree): finding a step anywhere, the rules a place
keeps, fresh keys for copies, and what a move breaks, in words."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.services.errors import InvalidInputError
from app.services.workflows import draft_tree
from app.services.workflows.draft_tree import Slot


def step(key: str, type_: str = "log", **more: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "name": key.capitalize(), "config": {}, **more}


def tree() -> list[dict[str, Any]]:
    """lookup → each (send) → route (a: [note], b: [], otherwise: [])."""
    return [
        step("lookup", "transform"),
        step("each", "loop", steps=[step("send", config={"message": "{{ loop.item }}"})]),
        step(
            "route",
            "paths",
            branches=[
                {"key": "a", "name": "Big", "condition": {}, "steps": [step("note")]},
                {"key": "b", "name": "Small", "condition": {}, "steps": []},
            ],
            otherwise={"name": "Otherwise", "steps": []},
        ),
    ]


def test_a_step_is_found_anywhere_with_its_list_and_field_path() -> None:
    steps = tree()

    found = draft_tree.find(steps, "note")

    assert found.where == "steps.2.branches.0.steps.0"
    assert found.slot == Slot("route", "a")
    assert found.containers == ("route",)
    assert found.siblings is steps[2]["branches"][0]["steps"]
    assert draft_tree.all_keys(steps) == {"lookup", "each", "send", "route", "note"}
    assert draft_tree.slot_words(steps, Slot("route", "b")) == "in branch “Small” of “Route”"


def test_places_keep_the_rules_of_the_tree() -> None:
    steps = tree()
    paths = step("more", "paths", branches=[])

    with pytest.raises(InvalidInputError, match="ends its list"):
        draft_tree.check_place(steps, Slot(), 0, paths, moving=False)
    with pytest.raises(InvalidInputError, match="ends its list"):
        draft_tree.check_place(steps, Slot(), 3, step("after"), moving=False)
    with pytest.raises(InvalidInputError, match="inside itself"):
        draft_tree.check_place(steps, Slot("each"), 0, steps[1], moving=True)
    nested = step("l1", "loop", steps=[step("l2", "loop", steps=[step("l3", "loop", steps=[])])])
    with pytest.raises(InvalidInputError, match="at most 3 deep"):
        draft_tree.check_place(steps, Slot("each"), 0, nested, moving=False)
    draft_tree.check_place(steps, Slot("route", "otherwise"), 0, step("ok"), moving=False)


def test_a_copy_gets_fresh_keys_and_its_references_follow_them() -> None:
    loop = step(
        "each",
        "loop",
        steps=[
            step("shape", "transform"),
            step("send", config={"message": "{{ steps.shape.x }} {{ steps.lookup.y }}"}),
        ],
    )
    taken = {"lookup", "each", "shape", "send"}

    copied = draft_tree.fresh_copy(loop, taken)

    assert [s["key"] for s in draft_tree.each([copied])] == ["each_2", "shape_2", "send_2"]
    assert copied["steps"][1]["config"]["message"] == ("{{ steps.shape_2.x }} {{ steps.lookup.y }}")
    assert loop["steps"][1]["config"]["message"].startswith("{{ steps.shape.x }}")  # unchanged
    assert {"each_2", "shape_2", "send_2"} <= taken


def test_moves_say_what_they_break() -> None:
    before = tree()
    before.insert(2, step("report", config={"message": "{{ steps.lookup.rate }}"}))

    # Out of the loop: send reads loop.item, which exists only inside a loop
    after = copy.deepcopy(before)
    after.insert(2, after[1]["steps"].pop())
    assert draft_tree.move_warnings(before, after) == [
        "Step “Send” reads loop.item, which exists only inside a loop."
    ]

    # The lookup into the loop: the report after the loop no longer sees it
    after = copy.deepcopy(before)
    after[1]["steps"].append(after.pop(0))
    assert draft_tree.move_warnings(before, after) == [
        "Step “Report” reads steps.lookup, which it cannot see from outside the loop “Each” "
        "(read steps.each.items)."
    ]

    # The report into branch a, the lookup into branch b: another branch is out of sight
    after = copy.deepcopy(before)
    route = after[3]
    route["branches"][0]["steps"].append(after.pop(2))
    route["branches"][1]["steps"].append(after.pop(0))
    assert draft_tree.move_warnings(before, after) == [
        "Step “Report” reads steps.lookup, which it cannot see from outside branch “Small” "
        "of “Route”."
    ]

    # The lookup below the report: it runs after it
    after = copy.deepcopy(before)
    after.insert(2, after.pop(0))
    assert draft_tree.move_warnings(before, after) == [
        "Step “Report” reads steps.lookup, which runs after it."
    ]
