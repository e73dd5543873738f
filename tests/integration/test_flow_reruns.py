"""Re-runs of loops and paths (issue 20), with the real worker on both backends: from the
failed step inside an iteration, earlier iterations' runs are reused and the failed iteration
resumes at the failed step; from the start everything runs again. The workflow is edited
between the runs (the failing check fixed), as a user would: re-runs run the current
definition, reusing runs by step key and iteration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Execution, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.engine_harness import Engine, engine_fixture
from tests.integration.test_flow_loops import loop, out, step


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("engine"))


def _spec(journal: Path, failing_item: int) -> dict[str, Any]:
    """For each item: shape it, send it (an effect), check it (fails for `failing_item`); then
    a paths step reading the loop's output."""
    check = f"{{{{ 2 if loop.item == {failing_item} else 1 }}}}"
    return {
        "name": "orders",
        "steps": [
            loop(
                "each",
                "{{ trigger.items }}",
                [
                    step("shape", "transform", {"fields": {"v": "{{ loop.item * 10 }}"}}),
                    step(
                        "send",
                        "test_effect",
                        {"journal": str(journal), "marker": "{{ steps.shape.v }}"},
                    ),
                    step("check", "test_flaky", {"succeed_on_attempt": check, "retryable": False}),
                ],
            ),
            step(
                "route",
                "paths",
                {"mode": "first"},
                branches=[
                    {
                        "key": "many",
                        "name": "Many",
                        "condition": {
                            "match": "all",
                            "conditions": [
                                {
                                    "left": "{{ steps.each.count }}",
                                    "operator": "greater_than",
                                    "right": 2,
                                }
                            ],
                        },
                        "steps": [
                            step(
                                "report",
                                "log",
                                {"message": "{{ steps.each['items'] | length }} checked"},
                            )
                        ],
                    },
                    {
                        "key": "few",
                        "name": "Few",
                        "condition": {
                            "match": "all",
                            "conditions": [
                                {
                                    "left": "{{ steps.each.count }}",
                                    "operator": "less_than",
                                    "right": 3,
                                }
                            ],
                        },
                        "steps": [],
                    },
                ],
            ),
        ],
    }


def _sends(journal: Path, execution_id: int) -> list[str]:
    lines = journal.read_text().splitlines() if journal.exists() else []
    return [line.split()[0] for line in lines if line.startswith(f"{execution_id}:send")]


def _edit(engine: Engine, workflow_id: int, spec: dict[str, Any]) -> None:
    with engine.app.app_context():
        wf = db.session.get(Workflow, workflow_id)
        assert wf is not None
        stepline = engine.container
        crud.update_workflow(
            db.session(), wf, WorkflowSpec.model_validate(spec), stepline.secrets, stepline.handlers
        )


def _rerun(engine: Engine, execution_id: int, *, from_failed: bool) -> int:
    with engine.app.app_context():
        found = db.session.get(Execution, execution_id)
        wf = db.session.get(Workflow, found.workflow_id) if found else None
        assert found is not None and wf is not None
        again = lifecycle.rerun(
            db.session(),
            found,
            wf,
            send=engine.container.doorbell.send,
            settings=engine.container.settings,
            from_failed=from_failed,
        )
        return again.id


def test_rerun_from_a_failed_iteration_reuses_earlier_iterations(
    engine: Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(_spec(journal, failing_item=3))
    first_id = engine.trigger(workflow_id, {"items": [1, 2, 3, 4]})
    (first,) = engine.wait(first_id)
    assert first.status == "failed"
    assert _sends(journal, first_id) == [f"{first_id}:send@0.{i}" for i in range(3)]

    # When the check is fixed and the run re-run from its failed step
    _edit(engine, workflow_id, _spec(journal, failing_item=0))
    (again,) = engine.wait(_rerun(engine, first_id, from_failed=True))

    # Then iterations 0 and 1, and iteration 2's shape and send, are reused (not run again);
    # iteration 2 resumes at its check, iteration 3 runs, and the run goes on after the loop
    assert again.status == "completed", again.error
    assert _sends(journal, again.id) == [f"{again.id}:send@0.3"]
    history = engine.history(again.id)
    runs = {(s.action_key, s.frame): s for s in history}
    assert runs[("check", "0.2")].attempts == 1 and runs[("check", "0.2")].status == "completed"
    assert runs[("send", "0.1")].attempts == 0  # reused: its output copied, not run again
    assert out(runs[("send", "0.1")])["marker"] == "20"
    each = out(runs[("each", "")])
    assert each["count"] == 4
    assert [item["attempt"] for item in each["items"]] == [1, 1, 1, 1]
    assert out(history[-1])["message"] == "4 checked"
    assert [s.action_key for s in history if s.address.startswith("2/")] == ["report"]


def test_rerun_from_the_start_runs_every_iteration_again(engine: Engine, tmp_path: Path) -> None:
    journal = tmp_path / "effects.log"
    workflow_id = engine.workflow(_spec(journal, failing_item=2))
    (first,) = engine.wait(engine.trigger(workflow_id, {"items": [1, 2]}))
    assert first.status == "failed"

    _edit(engine, workflow_id, _spec(journal, failing_item=0))
    (again,) = engine.wait(_rerun(engine, first.id, from_failed=False))

    assert again.status == "completed", again.error
    assert _sends(journal, again.id) == [f"{again.id}:send@0.0", f"{again.id}:send@0.1"]
    route = out(engine.history(again.id)[-1])
    assert route["taken"] == ["few"]
