"""How the execution page reads runs of paths and loops, from rows built in memory: a paths
step's decision in words (services.executions.paths_decision), a filter inside a loop that ends
its iteration (explain), a loop's iterations chosen, counted and paged (timeline.Tree)."""

from __future__ import annotations

from typing import Any

from app.engine.program import Program
from app.models import Execution, ExecutionStep
from app.services.executions import paths_decision
from app.services.executions.explain import stories
from app.services.executions.step_views import ExecutionDetail, Gap, Iteration, StepView
from app.services.executions.timeline import FIRST_ITERATIONS, PAGE, Run, Tree

AMOUNT = {"left": "{{ trigger.amount }}", "operator": "greater_than", "right": 100}
FR = {"left": "{{ trigger.country }}", "operator": "equals", "right": "FR"}
PATHS = {
    "key": "route",
    "type": "paths",
    "name": "Route",
    "config": {"mode": "first"},
    "branches": [
        {"key": "a", "name": "Big", "condition": {"match": "all", "conditions": [AMOUNT]}},
        {"key": "b", "name": "French", "condition": {"match": "any", "conditions": [AMOUNT, FR]}},
    ],
    "otherwise": {"name": "Otherwise", "steps": []},
}


def _paths_row(output: dict[str, Any]) -> ExecutionStep:
    return ExecutionStep(
        id=1,
        position=0,
        frame="",
        address="1",
        action_key="route",
        action_type="paths",
        status="completed",
        output=output,
    )


def _branch(key: str, matched: bool, conditions: list[Any], results: list[Any], **more: Any) -> Any:
    return {
        "key": key,
        "matched": matched,
        "checked": True,
        "match": "all",
        "conditions": conditions,
        "results": results,
        **more,
    }


def test_the_branch_taken_says_why_and_a_later_one_was_not_checked() -> None:
    output = {
        "mode": "first",
        "taken": ["a"],
        "branches": [
            _branch("a", True, [{**AMOUNT, "left": 250}], [True]),
            {"key": "b", "name": "French", "matched": False, "checked": False},
        ],
        "otherwise": False,
    }

    decided = paths_decision.decision(_paths_row(output), PATHS)

    assert decided is not None
    assert [b.text for b in decided.branches] == [
        "Took “Big” (a): trigger.amount (= 250) is greater than 100",
        "Not taken: “French” (b): not checked: an earlier branch was taken",
        "Not taken: “Otherwise”: a branch matched",
    ]


def test_mode_all_and_otherwise_and_conditions_that_did_not_hold() -> None:
    # Mode all: the first branch did not hold, the second (any of two) held by its second
    both = {
        "mode": "all",
        "taken": ["b"],
        "branches": [
            _branch("a", False, [{**AMOUNT, "left": 20}], [False]),
            _branch(
                "b",
                True,
                [{**AMOUNT, "left": 20}, {**FR, "left": "FR"}],
                [False, True],
                match="any",
            ),
        ],
        "otherwise": False,
    }
    decided = paths_decision.decision(_paths_row(both), {**PATHS, "config": {"mode": "all"}})
    assert decided is not None and decided.mode == "all"
    assert decided.headline == "Took “French” (b)"
    assert decided.branches[0].text == (
        "Not taken: “Big” (a): trigger.amount (= 20) is greater than 100 was false"
    )
    assert (
        decided.branches[1].text == 'Took “French” (b): trigger.country (= "FR") is equal to "FR"'
    )

    # Nothing matched: the otherwise branch ran
    none = {
        "mode": "first",
        "taken": ["otherwise"],
        "branches": [
            _branch("a", False, [{**AMOUNT, "left": 20}], [False]),
            _branch(
                "b",
                False,
                [{**AMOUNT, "left": 20}, {**FR, "left": "DE"}],
                [False, False],
                match="any",
            ),
        ],
        "otherwise": True,
    }
    decided = paths_decision.decision(_paths_row(none), PATHS)
    assert decided is not None
    assert decided.branches[1].text == "Not taken: “French” (b): none of its conditions held"
    assert decided.branches[2].text == "Took “Otherwise”: no branch matched"
    assert decided.headline == "Took “Otherwise”"


def test_a_paths_step_that_did_not_decide_says_nothing() -> None:
    pending = ExecutionStep(id=1, position=0, action_key="route", action_type="paths")
    assert paths_decision.decision(pending, PATHS) is None


LOOP = {
    "key": "each",
    "type": "loop",
    "name": "Each",
    "config": {"items": "{{ trigger.items }}"},
    "steps": [
        {
            "key": "keep",
            "type": "filter",
            "name": "Keep big ones",
            "config": {
                "conditions": [{"left": "{{ loop.item }}", "operator": "greater_than", "right": 2}]
            },
        },
        {"key": "say", "type": "log", "name": "Say", "config": {}},
    ],
}


def test_a_filter_in_a_loop_ends_its_iteration_not_the_run() -> None:
    execution = Execution(
        id=1, status="completed", snapshot={"actions": [LOOP]}, workflow_version=1
    )
    rows = [
        (0, "", "1", "each", "loop", "completed", None, {"count": 1, "items": []}),
        (
            1,
            "0.0",
            "1/1",
            "keep",
            "filter",
            "completed",
            {"conditions": [{"left": 1, "operator": "greater_than", "right": 2}]},
            {"passed": False, "results": [False]},
        ),
        (2, "0.0", "1/2", "say", "log", "skipped", None, None),
    ]
    views = [
        StepView(
            ExecutionStep(
                id=10 + i,
                position=p,
                frame=f,
                address=a,
                action_key=k,
                action_type=t,
                status=s,
                input=i_,
                output=o,
            ),
            k,
            a,
        )
        for i, (p, f, a, k, t, s, i_, o) in enumerate(rows)
    ]
    detail = ExecutionDetail(execution, views, [], 1)

    told = stories(detail)

    assert told[12].skipped == (
        "Skipped: the filter “keep” (step 1/1) stopped this iteration: "
        "loop.item (= 1) is greater than 2 was false."
    )


def _tree(statuses: dict[int, str], count: int) -> Tree:
    """A loop at position 0 with one body step (position 1), an iteration per status."""
    program = Program([{**LOOP, "steps": [{"key": "say", "type": "log", "config": {}}]}])
    runs = [Run(1, 0, "", "completed")]
    runs += [Run(100 + i, 1, f"0.{i}", status) for i, status in statuses.items()]
    tree = Tree(program, runs)
    tree.rows[1] = ExecutionStep(
        id=1,
        position=0,
        action_key="each",
        action_type="loop",
        status="completed",
        output={"count": count, "items": []},
    )
    for run in runs[1:]:
        tree.rows[run.id] = ExecutionStep(
            id=run.id,
            position=1,
            frame=run.frame,
            action_key="say",
            action_type="log",
            status=run.status,
        )
    return tree


def test_a_large_loop_shows_the_first_failed_and_running_iterations_with_gaps() -> None:
    statuses = {i: "completed" for i in range(1000)}
    statuses.update({400: "failed", 700: "running"})
    statuses.update({i: "pending" for i in range(701, 1000)})
    tree = _tree(statuses, 1000)

    view = tree.loop(0, "")

    assert (
        view.summary == "1,000 items · 699 completed · 1 failed · 1 in progress · 299 not started"
    )
    shown = [it.index for it in view.iterations if isinstance(it, Iteration)]
    assert shown == [*range(FIRST_ITERATIONS), 400, 700]
    gaps = [(g.start, g.stop) for g in view.iterations if isinstance(g, Gap)]
    assert gaps == [(FIRST_ITERATIONS, 400), (401, 700), (701, 1000)]
    opened = [it.index for it in view.iterations if isinstance(it, Iteration) and it.open]
    assert opened == [400, 700]
    # a step inside says which item it ran for
    first = next(it for it in view.iterations if isinstance(it, Iteration))
    assert first.steps[0].view.iteration_text == "item 1 of 1,000"

    # "show more" of the first gap: a page of iterations, then a gap for the rest of it
    paged = Tree(
        tree.program,
        [Run(1, 0, "", "completed"), *tree.at.values()],
        {(0, ""): (FIRST_ITERATIONS, 400)},
    )
    paged.rows = tree.rows
    window = paged.loop(0, "")
    shown = [it.index for it in window.iterations if isinstance(it, Iteration)]
    assert shown == list(range(FIRST_ITERATIONS, FIRST_ITERATIONS + PAGE))
    assert [(g.start, g.stop) for g in window.iterations if isinstance(g, Gap)] == [
        (FIRST_ITERATIONS + PAGE, 400)
    ]
