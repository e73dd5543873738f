"""`flask workflows export|import|run` and `flask executions tail` on a real engine: export
one user's workflow, import it as another user, run it and wait for its result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.engine_harness import Engine, engine_fixture

GREETING = {
    "name": "Greeting",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "config": {"fields": {"greeting": "Hello {{ trigger.name }}"}},
        },
        {
            "key": "check",
            "type": "transform",
            "config": {"fields": {"doubled": "{{ trigger.count * 2 }}"}},
        },
    ],
}

FAILING = {
    "name": "Always fails",
    "steps": [
        {
            "key": "call",
            "type": "http_request",
            # Nothing listens on port 9 of this machine's loopback, but the address guard
            # refuses loopback first: the step fails on its first attempt either way.
            "config": {"method": "GET", "url": "http://127.0.0.1:9/"},
            "retry": {"attempts": 1},
        }
    ],
}


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("cli"))


def invoke(engine: Engine, *args: str, input: str | None = None) -> Result:
    return engine.app.test_cli_runner().invoke(args=list(args), input=input)


def email_of(engine: Engine, user_id: int) -> str:
    from app.extensions import db
    from app.models import User

    with engine.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user.email


def test_export_import_into_another_user_then_run_and_wait(engine: Engine, tmp_path: Path) -> None:
    # Given Ann's workflow, exported to a directory
    ann = engine.user()
    workflow_id = engine.workflow(GREETING, ann)
    exported = invoke(
        engine, "workflows", "export", "--user", email_of(engine, ann), "--out", str(tmp_path)
    )
    assert exported.exit_code == 0, exported.output + exported.stderr
    file = tmp_path / f"stepline-workflow-{workflow_id}.json"
    document = json.loads(file.read_text())
    assert document["workflow"]["name"] == "Greeting"
    assert document["format"]

    # When Bob imports it and runs it with data from standard input, waiting for the result
    bob = email_of(engine, engine.user())
    imported = invoke(engine, "workflows", "import", "--user", bob, str(file))
    assert imported.exit_code == 0, imported.output + imported.stderr
    new_id = int(imported.output.split("\t")[1])
    assert new_id != workflow_id
    ran = invoke(
        engine,
        "workflows",
        "run",
        "--user",
        bob,
        str(new_id),
        "--data",
        "-",
        "--wait",
        "--timeout",
        "30",
        input='{"name": "Bob", "count": 21}',
    )

    # Then the run completed, its result is the API's execution shape, and the exit status is 0
    assert ran.exit_code == 0, ran.output + ran.stderr
    result = json.loads(ran.output)
    assert result["status"] == "completed"
    assert result["workflow_id"] == new_id
    outputs = {step["key"]: step["output"] for step in result["steps"]}
    assert outputs["shape"]["greeting"] == "Hello Bob"
    assert outputs["check"]["doubled"] == 42

    # And Ann cannot run Bob's copy (another user's workflow is not found)
    refused = invoke(engine, "workflows", "run", "--user", email_of(engine, ann), str(new_id))
    assert refused.exit_code != 0
    assert "not found" in refused.stderr.lower()


def test_a_failing_run_exits_non_zero_and_tail_lists_it(engine: Engine) -> None:
    owner = engine.user()
    email = email_of(engine, owner)
    workflow_id = engine.workflow(FAILING, owner)

    ran = invoke(engine, "workflows", "run", "--user", email, str(workflow_id), "--wait")

    assert ran.exit_code == 1, ran.output + ran.stderr
    result = json.loads(ran.output)
    assert result["status"] == "failed"
    assert result["steps"][0]["error"]

    tailed = invoke(engine, "executions", "tail", "--user", email, "--workflow", str(workflow_id))
    assert tailed.exit_code == 0, tailed.stderr
    assert tailed.output.startswith(f"{result['id']}\tfailed\tworkflow {workflow_id}\tmanual")


def test_run_without_wait_prints_the_id_and_tail_follow_stops_after_for(engine: Engine) -> None:
    owner = engine.user()
    email = email_of(engine, owner)
    workflow_id = engine.workflow(GREETING, owner)

    started = invoke(
        engine,
        "workflows",
        "run",
        "--user",
        email,
        str(workflow_id),
        "--data",
        "-",
        input='{"name": "Cy", "count": 1}',
    )
    assert started.exit_code == 0, started.stderr
    execution_id = int(started.output)
    engine.wait(execution_id)

    followed = invoke(engine, "executions", "tail", "--user", email, "-f", "--for", "0.6")
    assert followed.exit_code == 0, followed.stderr
    assert followed.output.splitlines() == [
        line for line in followed.output.splitlines() if line.startswith(f"{execution_id}\t")
    ]
    assert f"{execution_id}\tcompleted" in followed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["workflows", "run", "--user", "nobody@example.com", "1"], "no user with the email"),
        (["workflows", "export", "--user", "{email}", "--out", "-"], "exactly one id"),
        (["workflows", "run", "--user", "{email}", "{workflow}", "--data", "-"], "JSON object"),
    ],
)
def test_bad_input_is_named(engine: Engine, args: list[str], message: str) -> None:
    owner = engine.user()
    workflow_id = engine.workflow(GREETING, owner)
    engine.workflow(FAILING, owner)  # two workflows: "--out -" must be told which one
    filled = [a.format(email=email_of(engine, owner), workflow=workflow_id) for a in args]

    result = invoke(engine, *filled, input="[1, 2]")

    assert result.exit_code != 0
    assert message in result.stderr


def test_a_dry_run_records_instead_of_sending(engine: Engine) -> None:
    owner = engine.user()
    email = email_of(engine, owner)
    # (no DNS lookup, no connection in a dry run: the host need not exist)
    call = {"method": "POST", "url": "https://orders.example.com/new", "body_type": "json"}
    spec = {"name": "Send", "steps": [{"key": "call", "type": "http_request", "config": call}]}
    workflow_id = engine.workflow(spec, owner)

    ran = invoke(
        engine, "workflows", "run", "--user", email, str(workflow_id), "--dry-run", "--wait"
    )

    assert ran.exit_code == 0, ran.output + ran.stderr
    result = json.loads(ran.output)
    assert result["dry_run"] is True and result["status"] == "completed"
    recorded = result["steps"][0]["output"]
    assert recorded["dry_run"] == "recorded"
    assert recorded["request"]["url"] == "https://orders.example.com/new"


def test_a_run_that_completed_with_errors_exits_2_and_tail_marks_it(engine: Engine) -> None:
    owner = engine.user()
    email = email_of(engine, owner)
    failing = FAILING["steps"][0]
    spec = {
        "name": "Goes on",
        "steps": [{**failing, "continue_on_error": True}, *GREETING["steps"][:1]],
    }
    workflow_id = engine.workflow(spec, owner)

    ran = invoke(
        engine,
        *("workflows", "run", "--user", email, str(workflow_id), "--wait", "--data", "-"),
        input='{"name": "Di"}',
    )

    assert ran.exit_code == 2, ran.output + ran.stderr
    result = json.loads(ran.output)
    assert (result["status"], result["has_errors"]) == ("completed", True)
    tailed = invoke(engine, "executions", "tail", "--user", email, "--workflow", str(workflow_id))
    assert tailed.output.startswith(f"{result['id']}\tcompleted-with-errors\t")
