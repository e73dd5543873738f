"""Runs of paths and loops, read back: the execution page says which branch a paths step took
and why (each branch's condition with the value it saw), shows a loop's iterations with their
counts, each folded but the failed one, the steps inside with their address and iteration; a
1,000-item loop shows its first and failed iterations and loads the others a page at a time;
the list's progress names the iteration; the API gives each step run its address, frame and
iterations, in history order."""

from __future__ import annotations

import re
import time
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.config import settings_of
from app.extensions import container, db
from app.models import Execution, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from tests.api_client import Api, issue_token
from tests.conftest import csrf_token
from tests.dashboard_support import (
    HTMX,
    executions_of,
    force,
    make_workflow,
    start,
    steps,
    user_id,
    wait_final,
)
from tests.flow_runs_support import BIG, FLAT, store_run

TO = "\N{EN DASH}"  # as in "Items 11 to 37 not shown."


def words(html: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, spaces collapsed."""
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    return text.replace(" :", ":").replace(" )", ")").replace("( ", "(")


def _page(client: FlaskClient, execution_id: int, headers: dict[str, str] | None = None) -> str:
    response = client.get(f"/executions/{execution_id}", headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_says_which_branch_ran_and_why_and_counts_the_iterations(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run: a loop over 37 lines whose 3rd charge failed, then paths on the amount 250
    execution_id = store_run(app, user_id(app, "alice@example.com"))

    # When the user opens its page
    html = _page(user_client, execution_id)
    text = words(html)

    # Then the paths step says which branch it took, with the value its condition saw
    assert "Took “Big orders” (a): trigger.body.amount (= 250) is greater than 100" in text
    # and the branches not taken are listed as not taken, with theirs
    assert (
        "Not taken: “Small orders” (b): trigger.body.amount (= 250) is less than 100 was false"
        in text
    )
    assert "Not taken: “Otherwise”: a branch matched" in text
    # and the branch's step sits under it, with its address
    assert 'data-address="3/a/1"' in html
    assert "Branch “Big orders” (a)" in text

    # And the loop counts its items, and the completed run says which step failed
    assert "37 items · 36 completed · 1 failed" in text
    assert "Completed with errors: Charge the line failed" in text


def test_the_failed_iteration_is_open_and_the_others_folded(
    app: Flask, user_client: FlaskClient
) -> None:
    execution_id = store_run(app, user_id(app, "alice@example.com"))

    html = _page(user_client, execution_id)

    # The failed iteration (the 3rd) is unfolded, a completed one is not
    failed = re.search(r'<details id="iteration-1-2-fold"[^>]*>', html)
    done = re.search(r'<details id="iteration-1-0-fold"[^>]*>', html)
    assert failed and " open" in failed.group(0)
    assert done and " open" not in done.group(0)
    text = words(html)
    assert "Item 3 of 37 Failed" in text
    # Its steps say where they are and in which iteration, and why it failed
    assert 'data-address="2/2"' in html and 'data-address="2/1"' in html
    assert "item 3 of 37" in text
    assert "HTTP 500 from pay.example.com" in text
    # A page of 37 shows the first ten iterations and says where the rest are
    assert html.count('class="iteration iteration-') == 10
    assert f"Items 11{TO}37 not shown." in text


def test_a_large_loop_shows_its_first_and_failed_iterations_and_loads_the_rest(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a loop of 1,000 items whose 501st failed
    execution_id = store_run(app, user_id(app, "alice@example.com"), items=1000, failed=(500,))

    # When the page opens (and the live fragment renders)
    began = time.perf_counter()
    html = _page(user_client, execution_id)
    fragment = user_client.get(f"/executions/{execution_id}/status", headers=HTMX)
    took = time.perf_counter() - began

    # Then it shows the first ten iterations and the failed one, open, with gaps between
    text = words(html)
    assert "1,000 items · 999 completed · 1 failed" in text
    assert html.count('class="iteration iteration-') == 11
    assert re.search(r'<details id="iteration-1-500-fold"[^>]* open', html)
    assert f"Items 11{TO}500 not shown." in text and f"Items 502{TO}1,000 not shown." in text
    assert took < 5, f"{took:.2f} s for a 1,000-item loop's page and fragment"
    assert fragment.status_code == 286  # final: polling stops

    # When the user asks for more of the first gap
    more = re.search(r'hx-get="([^"]*/iterations\?[^"]*start=10[^"]*)"', html)
    assert more, "no show-more link for the first gap"
    page = user_client.get(unescape(more.group(1)), headers=HTMX)

    # Then a page of 25 iterations comes back, and a gap for the rest up to the failed one
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count('class="iteration iteration-') == 25
    assert "Item 11 of 1,000" in words(body) and "Item 35 of 1,000" in words(body)
    assert f"Items 36{TO}500 not shown." in words(body)

    # And without JavaScript the same link is a page of its own
    plain = user_client.get(unescape(more.group(1)))
    assert plain.status_code == 200
    assert "Back to the execution" in plain.get_data(as_text=True)


def test_show_more_is_the_owners_only_and_names_a_real_loop(
    app: Flask, user_client: FlaskClient, client: FlaskClient
) -> None:
    execution_id = store_run(app, user_id(app, "alice@example.com"), items=3)
    url = f"/executions/{execution_id}/iterations"
    assert user_client.get(url, query_string={"loop": 4, "start": 0}).status_code == 404
    assert user_client.get(url, query_string={"loop": 1, "frame": "x'"}).status_code == 404
    assert user_client.get(url, query_string={"loop": 1, "start": 1}).status_code == 200
    from tests.conftest import register

    register(client, "mallory@example.com")
    assert client.get(url, query_string={"loop": 1, "start": 0}).status_code == 404


def test_a_running_loop_polls_with_its_iteration_open_and_the_list_shows_progress(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run in the 120th iteration of a 1,000-item loop
    execution_id = store_run(
        app, user_id(app, "alice@example.com"), items=1000, failed=(2, 50, 100), running_at=119
    )

    # Then its page polls every second, the iteration in progress open among those shown
    html = _page(user_client, execution_id)
    assert 'hx-trigger="every 1s"' in html
    assert re.search(r'<details id="iteration-1-119-fold"[^>]* open', html)
    fragment = user_client.get(f"/executions/{execution_id}/status", headers=HTMX)
    assert fragment.status_code == 200
    assert "1,000 items · 116 completed · 3 failed · 1 in progress · 880 not started" in words(
        fragment.get_data(as_text=True)
    )

    # And the list says how far it is
    listing = words(user_client.get("/executions").get_data(as_text=True))
    assert "step 2 of 3 · item 120 of 1,000" in listing
    row = user_client.get(f"/executions/{execution_id}/row", headers=HTMX)
    assert "step 2 of 3 · item 120 of 1,000" in words(row.get_data(as_text=True))


def test_re_run_from_a_failed_iteration_posts_only_the_mode(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run that failed in the 3rd iteration (the charge does not continue on error)
    execution_id = store_run(app, user_id(app, "alice@example.com"), items=5)
    force(app, execution_id, status="failed", error="Charge the line failed")

    html = _page(user_client, execution_id)

    # Then "Re-run from the failed step" posts the mode and nothing else: the service finds
    # the failed step (and its iteration) from the run
    form = re.search(
        r"<form[^>]*>(?:(?!</form>).)*Re-run from the failed step(?:(?!</form>).)*</form>",
        html,
        re.S,
    )
    assert form
    names = re.findall(r'name="([^"]+)"', form.group(0))
    assert names == ["csrf_token", "mode"]
    assert 'value="failed"' in form.group(0)


def test_the_api_gives_each_step_run_its_address_frame_and_iterations_in_order(
    app: Flask, client: FlaskClient
) -> None:
    api = Api(client, issue_token(app))
    execution_id = store_run(app, user_id(app, "alice@example.com"), items=3)

    body = api.get(f"/executions/{execution_id}").get_json()

    steps = [(s["address"], s["frame"], s["key"]) for s in body["steps"]]
    assert steps == [
        ("1", "", "shape"),
        ("2", "", "each"),
        ("2/1", "1.0", "price"),
        ("2/2", "1.0", "charge"),
        ("2/1", "1.1", "price"),
        ("2/2", "1.1", "charge"),
        ("2/1", "1.2", "price"),
        ("2/2", "1.2", "charge"),
        ("3", "", "route"),
        ("3/a/1", "", "vip"),
    ]
    assert body["steps"][2]["iteration"] == [{"loop": "each", "index": 0}]
    assert body["steps"][7]["iteration"] == [{"loop": "each", "index": 2}]
    assert body["steps"][7]["status"] == "failed"
    assert body["steps"][0]["iteration"] == []
    with app.app_context():
        assert db.session.get(Execution, execution_id) is not None


def test_the_openapi_document_describes_the_step_runs(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    step = document["components"]["schemas"]["StepResult"]
    assert {"address", "frame", "iteration"} <= set(step["required"])
    assert "4/b/2" in step["properties"]["address"]["description"]


# A tree the real engine runs: a loop over the lines (the 3rd divides by zero and continues
# on error), then paths on the amount with a second branch after the first that matches.
ENGINE_TREE: list[dict[str, Any]] = [
    {
        "key": "each",
        "type": "loop",
        "name": "Each line",
        "config": {"items": "{{ trigger.lines }}", "max_items": 100},
        "steps": [
            {
                "key": "ratio",
                "type": "transform",
                "name": "Ratio",
                "continue_on_error": True,
                "config": {"fields": {"r": "{{ loop.item.n // loop.item.d }}"}},
            }
        ],
    },
    {
        "key": "route",
        "type": "paths",
        "name": "Route",
        "config": {"mode": "first"},
        "branches": [
            {
                "key": "big",
                "name": "Big orders",
                "condition": {
                    "match": "all",
                    "conditions": [{**BIG, "left": "{{ trigger.amount }}"}],
                },
                "steps": [
                    {
                        "key": "vip",
                        "type": "log",
                        "name": "Tell sales",
                        "config": {"message": "big"},
                    }
                ],
            },
            {
                "key": "any",
                "name": "Any order",
                "condition": {
                    "match": "all",
                    "conditions": [
                        {"left": "{{ trigger.amount }}", "operator": "greater_than", "right": 0}
                    ],
                },
                "steps": [
                    {"key": "all", "type": "log", "name": "Log it", "config": {"message": "any"}}
                ],
            },
        ],
    },
]


def test_a_run_of_the_real_engine_reads_the_same(app: Flask, user_client: FlaskClient) -> None:
    # Given the engine ran the tree over four lines, the 3rd of which fails
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, FLAT)
    lines = [{"n": 4, "d": 2}, {"n": 9, "d": 3}, {"n": 1, "d": 0}, {"n": 8, "d": 4}]
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        frozen = {**crud.snapshot(workflow), "actions": ENGINE_TREE}
        execution_id = lifecycle.start(
            db.session(),
            workflow,
            {"amount": 250, "lines": lines},
            send=container(app).doorbell.send,
            settings=settings_of(app),
            snapshot=frozen,
        ).id
    assert wait_final(app, [execution_id]) == ["completed"]

    # Then the page counts the iterations, opens the failed one, says which branch ran and why
    html = _page(user_client, execution_id)
    text = words(html)
    assert "4 items · 3 completed · 1 failed" in text
    assert re.search(r'<details id="iteration-0-2-fold"[^>]* open', html)
    assert "Took “Big orders” (big): trigger.amount (= 250) is greater than 100" in text
    assert "Not taken: “Any order” (any): not checked: an earlier branch was taken" in text
    assert 'data-address="2/big/1"' in html and 'data-address="1/1"' in html

    # And the API lists the runs in history order, each with its iteration
    api = Api(user_client, issue_token(app, "alice@example.com", "reader"))
    runs = api.get(f"/executions/{execution_id}").get_json()["steps"]
    assert [(r["address"], r["frame"], r["status"]) for r in runs] == [
        ("1", "", "completed"),
        ("1/1", "0.0", "completed"),
        ("1/1", "0.1", "completed"),
        ("1/1", "0.2", "failed"),
        ("1/1", "0.3", "completed"),
        ("2", "", "completed"),
        ("2/big/1", "", "completed"),
    ]
    assert runs[3]["iteration"] == [{"loop": "each", "index": 2}]


def _run_tree(app: Flask, actions: list[dict[str, Any]], data: dict[str, Any]) -> int:
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, FLAT)
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return lifecycle.start(
            db.session(),
            workflow,
            data,
            send=container(app).doorbell.send,
            settings=settings_of(app),
            snapshot={**crud.snapshot(workflow), "actions": actions},
        ).id


def test_a_loop_in_a_loop_nests_its_iterations(app: Flask, user_client: FlaskClient) -> None:
    # Given the engine ran a loop over rows, each a loop over its cells
    cell = {
        "key": "cell",
        "type": "transform",
        "name": "Cell",
        "config": {"fields": {"v": "{{ loop.item }}"}},
    }
    inner = {
        "key": "cells",
        "type": "loop",
        "name": "Cells",
        "config": {"items": "{{ loop.item }}"},
        "steps": [cell],
    }
    outer = {
        "key": "rows",
        "type": "loop",
        "name": "Rows",
        "config": {"items": "{{ trigger.grid }}"},
        "steps": [inner],
    }
    execution_id = _run_tree(app, [outer], {"grid": [[1, 2, 3], [4, 5, 6]]})
    assert wait_final(app, [execution_id]) == ["completed"]

    # Then each level counts its own items, and a cell says where it ran
    html = _page(user_client, execution_id)
    text = words(html)
    assert "2 items · 2 completed" in text and text.count("3 items · 3 completed") == 2
    assert 'data-address="1/1/1"' in html
    assert "item 2 of 2 · item 3 of 3" in text

    # And "show more" answers for the inner loop of the 2nd row too
    more = user_client.get(
        f"/executions/{execution_id}/iterations",
        query_string={"loop": 1, "frame": "0.1", "start": 1, "stop": 3},
        headers=HTMX,
    )
    assert more.status_code == 200
    assert words(more.get_data(as_text=True)).count("item 2 of 2 · item") == 2


RATIOS = {
    "name": "Ratios",
    "steps": [
        {
            "key": "each",
            "type": "loop",
            "name": "Each line",
            "config": {"items": "{{ trigger.lines }}"},
            "steps": [
                {
                    "key": "ratio",
                    "type": "transform",
                    "name": "Ratio",
                    "config": {"fields": {"r": "{{ loop.item.n // loop.item.d }}"}},
                }
            ],
        }
    ],
}


def test_re_run_from_the_failed_iteration_through_the_page(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow whose loop failed in its 3rd iteration
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, RATIOS)
    lines = [{"n": 4, "d": 2}, {"n": 9, "d": 3}, {"n": 1, "d": 0}, {"n": 8, "d": 4}]
    first = start(app, workflow_id, {"lines": lines})
    assert wait_final(app, [first]) == ["failed"]

    # When the user presses "Re-run from the failed step" (the form's own fields, no more)
    html = _page(user_client, first)
    assert "Re-run from the failed step" in html
    token = csrf_token(user_client, f"/executions/{first}")
    answer = user_client.post(
        f"/executions/{first}/rerun", data={"csrf_token": token, "mode": "failed"}
    )

    # Then a re-run starts at the failed iteration: the first two are reused, not run again
    assert answer.status_code in (200, 302, 303), answer.status_code
    again = [e.id for e in executions_of(app, workflow_id) if e.rerun_of_id == first]
    assert len(again) == 1
    assert wait_final(app, again) == ["failed"]
    runs = {(s.frame, s.action_key): s for s in steps(app, again[0])}
    assert runs[("0.0", "ratio")].output == {"r": 2} and runs[("0.0", "ratio")].attempts == 0
    assert runs[("0.2", "ratio")].status == "failed" and runs[("0.2", "ratio")].attempts == 1
    text = words(_page(user_client, again[0]))
    assert "4 items · 2 completed · 1 failed · 1 not run" in text
