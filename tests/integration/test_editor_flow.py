"""Loops and paths in the editor: steps added, moved, duplicated and deleted inside a loop's body
and a paths step's lanes, by the card menus (the keyboard's way) as htmx posts; branches added,
edited and removed; a move that breaks a reference warns in the page; the picker offers
`loop.item` with a sample item's fields inside a loop; a nested draft saves."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.api_client import Api, issue_token
from tests.integration.editor_support import Editor, fields, wait_for_final


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
    assert "Branch “Path A” has no condition yet." in html
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
    # And the palettes say so before anything is posted: inside the innermost loop no
    # container, and Paths only at the end of a list
    inside = editor.get(f"/workflows/{workflow_id}?add=0&parent={inner}", htmx=True)
    html = inside.get_data(as_text=True)
    assert 'id="add-loop" aria-disabled="true"' in html
    assert "Loops and paths nest at most 3 deep." in html
    top = editor.get(f"/workflows/{workflow_id}?add=0", htmx=True).get_data(as_text=True)
    assert 'id="add-paths" aria-disabled="true"' in top
    assert "A paths step ends its list: add it at the end." in top
    assert 'id="add-loop" aria-disabled' not in top


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


def built(editor: Editor, workflow_id: int) -> None:
    """lookup → loop (send) → paths (a: log, b: —, otherwise: —); `send` reads the lookup."""
    editor.sample(workflow_id, '{"orders": [{"id": 7}]}')
    add(editor, workflow_id, "transform")  # key "transform", named "Lookup" below
    editor.apply(workflow_id, "transform", {"fields": '{"rate": 2}'}, name="Lookup")
    add(editor, workflow_id, "loop")
    editor.apply(workflow_id, "loop", {"items": "{{ trigger.orders }}"}, name="Each order")
    add(editor, workflow_id, "log", place="loop")
    response = editor.apply(
        workflow_id,
        "log",
        {"message": "{{ loop.item.id }} at {{ steps.transform.rate }}", "level": "info"},
        name="Send",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    add(editor, workflow_id, "paths")
    add(editor, workflow_id, "log", place="paths/a")


def move(editor: Editor, workflow_id: int, key: str, **form: Any) -> Any:
    return editor.post(f"/workflows/{workflow_id}/steps/{key}/move", form)


def test_keyboard_moves_go_up_down_out_of_and_into_loops_and_branches(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    built(editor, workflow_id)
    assert shape(draft_steps(app, workflow_id)) == [
        "transform",
        ("loop", ["log"]),
        ("paths", {"a": ["log_2"], "b": [], "otherwise": []}),
    ]

    # When "Send" moves out of the loop (the card menu's "Move out of “Each order”")
    out = move(editor, workflow_id, "log", direction="out")

    # Then it lands right after the loop; it reads loop.item, which it cannot see there: the
    # flow says so on top, and the announcement too
    assert out.status_code == 200
    html = out.get_data(as_text=True)
    assert shape(draft_steps(app, workflow_id))[:3] == ["transform", ("loop", []), "log"]
    assert 'id="flow-warnings"' in html
    assert "Step “Send” reads loop.item, which exists only inside a loop." in html
    events = json.loads(out.headers["HX-Trigger"])
    assert events["stepline:announce"].startswith("Moved “Send” to position 3 of 4.")
    assert "Warning:" in events["stepline:announce"]

    # When it moves into branch b of the paths step ("Move to the end of" a list), then down
    # (refused: nothing below it), then up into place before log_2's branch... in a lane
    into = move(editor, workflow_id, "log", place="paths/b")
    assert into.status_code == 200
    assert shape(draft_steps(app, workflow_id))[2] == (
        "paths",
        {"a": ["log_2"], "b": ["log"], "otherwise": []},
    )
    into_loop = move(editor, workflow_id, "log", place="loop")
    assert shape(draft_steps(app, workflow_id))[1] == ("loop", ["log"])
    assert 'id="flow-warnings"' not in into_loop.get_data(as_text=True)  # it sees all it reads

    # When the lookup moves down below the loop: Send (in the loop) can no longer see it
    down = move(editor, workflow_id, "transform", direction="down")
    html = down.get_data(as_text=True)
    assert shape(draft_steps(app, workflow_id))[:2] == [("loop", ["log"]), "transform"]
    assert (
        "Step “Send” reads steps.transform, which it cannot see from inside the loop "
        "“Each order”: it runs later." in html
    )
    # And the card keeps saying so until it is mended
    assert "Uses step “transform”" in flow(editor, workflow_id)

    # When a step is asked to go below the paths step (which ends its list): refused, 422
    below = move(editor, workflow_id, "transform", direction="down")
    assert below.status_code == 422
    assert "A paths step ends its list" in below.get_data(as_text=True)
    # And a loop cannot go inside itself
    itself = move(editor, workflow_id, "loop", place="loop")
    assert itself.status_code == 422
    assert "cannot go inside itself" in itself.get_data(as_text=True)
    # And the menus offer only the places a step can go (not inside itself)
    menu = flow(editor, workflow_id)
    loop_menu = menu[menu.index('id="move-place-loop"') :].split("</select>")[0]
    assert 'value="loop"' not in loop_menu and 'value="paths/b"' in loop_menu


def test_drag_and_drop_position_in_a_lane_and_moves_without_javascript(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    paths = add(editor, workflow_id, "paths")
    first = add(editor, workflow_id, "log", place=f"{paths}/a")
    second = add(editor, workflow_id, "transform", place=f"{paths}/a")

    # When the second is dropped at position 0 of its lane (the drag form posts `to` and the
    # lane it is in)
    dropped = move(editor, workflow_id, second, to=0, place=f"{paths}/a")
    assert dropped.status_code == 200
    assert shape(draft_steps(app, workflow_id)) == [
        ("paths", {"a": [second, first], "b": [], "otherwise": []})
    ]
    # And without JavaScript the form posts and comes back to the page
    plain = editor.post(
        f"/workflows/{workflow_id}/steps/{first}/move", {"direction": "out"}, htmx=False
    )
    assert plain.status_code == 303
    assert shape(draft_steps(app, workflow_id)) == [
        first,
        ("paths", {"a": [second], "b": [], "otherwise": []}),
    ]


def test_duplicating_a_container_copies_its_steps_under_fresh_keys(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    built(editor, workflow_id)
    move(editor, workflow_id, "paths", place="loop")  # the loop now ends with the paths step
    add(editor, workflow_id, "transform", place="loop", at=0)  # transform_2, first in the body
    editor.apply(workflow_id, "transform_2", {"fields": '{"n": 1}'}, name="Shape")
    editor.apply(
        workflow_id,
        "log",
        {"message": "{{ steps.transform_2.n }} {{ loop.item.id }}", "level": "info"},
        name="Send",
    )

    # When the loop is duplicated
    response = editor.post(f"/workflows/{workflow_id}/steps/loop/duplicate")

    # Then the copy follows it, every step inside copied under a key unique in the whole tree,
    # references between the copied steps following their new keys
    assert response.status_code == 201
    steps = draft_steps(app, workflow_id)
    assert shape(steps) == [
        "transform",
        ("loop", ["transform_2", "log", ("paths", {"a": ["log_2"], "b": [], "otherwise": []})]),
        (
            "loop_2",
            ["transform_3", "log_3", ("paths_2", {"a": ["log_4"], "b": [], "otherwise": []})],
        ),
    ]
    assert steps[2]["name"] == "Each order (copy)"
    assert steps[2]["steps"][1]["config"]["message"] == (
        "{{ steps.transform_3.n }} {{ loop.item.id }}"
    )
    announced = json.loads(response.headers["HX-Trigger"])["stepline:announce"]
    assert announced == "Duplicated as “Each order (copy)” (step 3)."

    # When the copy is deleted, its inner steps go with it (and the panel showing one closes)
    deleted = editor.post(f"/workflows/{workflow_id}/steps/loop_2/delete")
    events = json.loads(deleted.headers["HX-Trigger"])
    assert events["stepline:step-removed"] == "loop_2 transform_3 log_3 paths_2 log_4"
    assert events["stepline:announce"] == (
        "Deleted step “Each order (copy)” and the 4 steps inside it."
    )
    assert [s["key"] for s in draft_steps(app, workflow_id)] == ["transform", "loop"]


def test_branches_are_added_named_given_a_condition_and_removed(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    paths = add(editor, workflow_id, "paths")
    base = f"/workflows/{workflow_id}/steps/{paths}/branches"

    # When a branch is added ("+ Add branch"), up to ten
    added = editor.post(base)
    assert added.status_code == 201
    announced = json.loads(added.headers["HX-Trigger"])["stepline:announce"]
    assert announced == "Added the branch “Path C” to “Paths”."
    for _ in range(7):
        assert editor.post(base).status_code == 201
    eleventh = editor.post(base)
    assert eleventh.status_code == 422
    assert "at most 10 branches" in eleventh.get_data(as_text=True)

    # When branch a's panel opens, it shows the name and the condition builder
    panel = editor.get(f"{base}/a", htmx=True).get_data(as_text=True)
    assert "Branch: Path A" in panel and "Take this branch when" in panel

    # When it is applied without a name or a condition: 422, each named beside its field
    empty = editor.post(f"{base}/a", {"name": " "})
    assert empty.status_code == 422
    assert sorted(fields(empty)) == [
        "steps.0.branches.0.condition.conditions",
        "steps.0.branches.0.name",
    ]

    # When a name and a condition are applied
    applied = editor.post(
        f"{base}/a",
        {
            "name": "Big order",
            "condition.match": "all",
            "condition.conditions-0-left": "{{ trigger.total }}",
            "condition.conditions-0-operator": "greater_than",
            "condition.conditions-0-right": "100",
        },
    )
    # Then the draft holds them and the lane shows the condition in words
    assert applied.status_code == 200, applied.get_data(as_text=True)
    branch = draft_steps(app, workflow_id)[0]["branches"][0]
    assert branch["name"] == "Big order"
    assert branch["condition"]["conditions"][0]["operator"] == "greater_than"
    html = flow(editor, workflow_id)
    assert "Big order" in html and "is greater than 100" in html

    # When branches are deleted, down to two (a paths step keeps two)
    for key in "cdefghij":
        assert editor.post(f"{base}/{key}/delete").status_code == 200
    last = editor.post(f"{base}/b/delete")
    assert last.status_code == 422
    assert "at least 2 branches" in last.get_data(as_text=True)
    assert [b["key"] for b in draft_steps(app, workflow_id)[0]["branches"]] == ["a", "b"]


def test_a_nested_draft_saves_and_the_api_reads_it_nested(
    app: Flask, client: FlaskClient, user_client: FlaskClient
) -> None:
    # Given a nested draft made valid: the lookup, the loop and its Send, a paths step with
    # two branches with conditions and a log in branch a
    editor = Editor(user_client)
    workflow_id = editor.create()
    built(editor, workflow_id)
    editor.apply(workflow_id, "log_2", {"message": "big", "level": "info"})
    for key in "ab":
        response = editor.post(
            f"/workflows/{workflow_id}/steps/paths/branches/{key}",
            {
                "name": f"Branch {key}",
                "condition.match": "all",
                "condition.conditions-0-left": "{{ steps.transform.rate }}",
                "condition.conditions-0-operator": "equals",
                "condition.conditions-0-right": "2",
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    # When it is saved from the editor
    saved = editor.save(workflow_id)

    # Then a new version holds the tree, and the API reads the definition nested
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert json.loads(saved.headers["HX-Trigger"])["stepline:announce"] == "Saved as version 2."
    with app.app_context():
        assert db.session.get(WorkflowDraft, workflow_id) is None  # it became the version
    api = Api(client, issue_token(app, "alice@example.com"))
    body = api.get(f"/workflows/{workflow_id}").get_json()
    assert shape(body["steps"]) == [
        "transform",
        ("loop", ["log"]),
        ("paths", {"a": ["log_2"], "b": [], "otherwise": []}),
    ]
    assert body["steps"][2]["branches"][0]["name"] == "Branch a"
    # And the editor shows the saved tree again, unchanged
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert "All changes saved" in page and 'id="step-log_2"' in page


def test_testing_the_workflow_sums_up_a_loops_inner_step_on_its_card(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given an unsaved draft: a loop over two orders holding a transform of each item
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"orders": [{"id": 7}, {"id": 8}]}')
    loop = add(editor, workflow_id, "loop")
    editor.apply(workflow_id, loop, {"items": "{{ trigger.orders }}"})
    inner = add(editor, workflow_id, "transform", place=loop)
    response = editor.apply(workflow_id, inner, {"fields": '{"id": "{{ loop.item.id }}"}'})
    assert response.status_code == 200, response.get_data(as_text=True)

    # When the whole workflow is tested from the editor
    started = editor.post(f"/workflows/{workflow_id}/test-run")
    assert started.status_code == 201, started.get_data(as_text=True)
    match = re.search(r'data-execution="(\d+)"', started.get_data(as_text=True))
    assert match
    execution = wait_for_final(app, int(match.group(1)))
    assert execution.status == "completed"

    # Then the inner step's card slot sums up its two runs (one slot per step, not per run),
    # with the last iteration's output
    poll = editor.get(f"/workflows/{workflow_id}/test-run/{execution.id}", htmx=True)
    html = poll.get_data(as_text=True)
    assert html.count(f'id="run-result-{inner}"') == 1
    assert "2 runs: 2 completed" in html
