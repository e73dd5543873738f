"""Loops and paths in the editor: steps added, moved, duplicated and deleted inside a loop's body
and a paths step's lanes, by the card menus (the keyboard's way) as htmx posts; branches added,
edited and removed; a move that breaks a reference warns in the page; the picker offers
`loop.item` with a sample item's fields inside a loop; a nested draft saves."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.integration.editor_support import Editor, fields


def draft_steps(app: Flask, workflow_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return list(draft.spec["steps"])


def shape(steps: list[dict[str, Any]]) -> list[Any]:
    """The tree as keys: a loop is (key, [body]), a paths step (key, {branch: [steps]})."""
    found: list[Any] = []
    for step in steps:
        if step["type"] == "loop":
            found.append((step["key"], shape(step.get("steps") or [])))
        elif step["type"] == "paths":
            lanes = {b["key"]: shape(b.get("steps") or []) for b in step.get("branches") or []}
            if step.get("otherwise") is not None:
                lanes["otherwise"] = shape(step["otherwise"].get("steps") or [])
            found.append((step["key"], lanes))
        else:
            found.append(step["key"])
    return found


def add(editor: Editor, workflow_id: int, type_: str, place: str = "", at: int = 1000) -> str:
    """Add a step through the palette into a list ("" top level, "<loop>", "<paths>/<branch>")."""
    response = editor.post(
        f"/workflows/{workflow_id}/steps", {"type": type_, "at": at, "place": place}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    match = re.search(r'data-step-key="([a-z0-9_]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def flow(editor: Editor, workflow_id: int) -> str:
    return editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)


def test_loop_and_paths_are_offered_under_flow_and_hold_steps(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a new workflow, whose palette offers Loop and Paths under "Flow"
    editor = Editor(user_client)
    workflow_id = editor.create()
    palette = editor.get(f"/workflows/{workflow_id}?add=0", htmx=True).get_data(as_text=True)
    flow_group = palette[palette.index(">Flow</h3>") :]
    assert 'id="add-loop"' in flow_group and 'id="add-paths"' in flow_group

    # When a loop is added, a transform inside its body, then a paths step after the loop and
    # a log in its branch b and in "Otherwise"
    loop = add(editor, workflow_id, "loop")
    inner = add(editor, workflow_id, "transform", place=loop)
    paths = add(editor, workflow_id, "paths")
    in_b = add(editor, workflow_id, "log", place=f"{paths}/b")
    other = add(editor, workflow_id, "log", place=f"{paths}/otherwise")

    # Then the draft is nested as the contract says, keys unique in the whole tree
    steps = draft_steps(app, workflow_id)
    assert shape(steps) == [
        ("loop", ["transform"]),
        ("paths", {"a": [], "b": ["log"], "otherwise": ["log_2"]}),
    ]
    assert (loop, inner, paths, in_b, other) == ("loop", "transform", "paths", "log", "log_2")
    assert [b["name"] for b in steps[1]["branches"]] == ["Path A", "Path B"]
    # And the flow shows the loop's body under "For each item in", and one lane per branch
    # plus "Otherwise", each with its condition (none yet) and "Add step here" when empty
    html = flow(editor, workflow_id)
    assert "For each item in" in html
    assert html.count('class="lane"') == 2 and html.count("lane lane-otherwise") == 1
    assert "Set its condition" in html
    assert 'id="add-step-paths-a-0"' in html
    assert "Add step here" in html


def test_a_paths_step_ends_its_list_and_containers_nest_three_deep(
    user_client: FlaskClient,
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    add(editor, workflow_id, "paths")

    # When a step is added after the paths step, at the same level
    after = editor.post(f"/workflows/{workflow_id}/steps", {"type": "log", "at": 1})

    # Then it is refused with the rule in words (the palette again, 422)
    assert after.status_code == 422
    assert "A paths step ends its list" in after.get_data(as_text=True)

    # And loops nest three deep, not four
    outer = add(editor, workflow_id, "loop", at=0)
    middle = add(editor, workflow_id, "loop", place=outer)
    inner = add(editor, workflow_id, "loop", place=middle)
    deeper = editor.post(
        f"/workflows/{workflow_id}/steps", {"type": "loop", "at": 0, "place": inner}
    )
    assert deeper.status_code == 422
    assert "nest at most 3 deep" in deeper.get_data(as_text=True)
    assert fields(deeper) == ["parent"]


def test_the_picker_offers_loop_item_with_the_sample_items_fields_inside_the_loop_only(
    user_client: FlaskClient,
) -> None:
    # Given trigger sample data with a list, a lookup before a loop over that list, a log in
    # the loop's body and one after the loop
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"orders": [{"id": 7, "total": 120}, {"id": 8, "total": 5}]}')
    lookup = add(editor, workflow_id, "transform")
    loop = add(editor, workflow_id, "loop")
    assert editor.apply(workflow_id, loop, {"items": "{{ trigger.orders }}"}).status_code == 200
    inside = add(editor, workflow_id, "log", place=loop)
    after = add(editor, workflow_id, "log")

    # When the panel of the step inside the loop opens
    html = editor.get(f"/workflows/{workflow_id}?step={inside}", htmx=True).get_data(as_text=True)

    # Then its picker offers loop.item with the first item's fields, loop.index/first/last,
    # the loop itself and the steps before the loop
    assert "Loop: Loop" in html and "the first of 2 items" in html
    for expression in ("loop.item", "loop.item.total", "loop.index", "loop.first", "loop.last"):
        assert f'data-insert="{{{{ {expression} }}}}"' in html, expression
    assert f"steps.{loop}" in html or "2. Loop" in html
    assert "1. Transform" in html
    # And after the loop, no loop.* and no step of its body
    html = editor.get(f"/workflows/{workflow_id}?step={after}", htmx=True).get_data(as_text=True)
    assert "loop.item" not in html and "Loop: " not in html
    assert ". Log" not in html.split('id="picker"')[1]
    assert lookup == "transform"
