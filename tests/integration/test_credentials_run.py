"""A step reads a credential at run time (StepContext.credential), in a real execution: the
secret is redacted from the step's input, output, error and logs; a rotation is used by the
next run; another user's credential, or one of another kind, fails the step without a retry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from app.credentials.store import seal
from app.extensions import db
from app.models import Action, Credential, ExecutionStep
from tests.engine_harness import Engine, engine_fixture

TOKEN = "tok-1f2e3d4c5b6a-first"
ROTATED = "tok-99887766aabb-second"


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("credentials"))


def add_credential(engine: Engine, user_id: int, kind: str, fields: dict[str, Any]) -> int:
    with engine.app.app_context():
        row = Credential(
            user_id=user_id,
            kind=kind,
            name=f"{kind} {user_id}",
            data_encrypted=seal(engine.container.secrets, fields),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def set_secret(engine: Engine, credential_id: int, fields: dict[str, Any]) -> None:
    with engine.app.app_context():
        db.session.execute(
            update(Credential)
            .where(Credential.id == credential_id)
            .values(data_encrypted=seal(engine.container.secrets, fields))
        )
        db.session.commit()


def echo_workflow(engine: Engine, user_id: int, credential_id: int, **config: Any) -> int:
    spec = {
        "name": "Echo a credential",
        "steps": [
            {
                "key": "call",
                "type": "test_credential",
                "config": {"credential_id": credential_id, **config},
            }
        ],
    }
    return engine.workflow(spec, user_id)


def only_step(engine: Engine, workflow_id: int) -> ExecutionStep:
    execution_id = engine.trigger(workflow_id, {"n": 1})
    engine.wait(execution_id)
    (step,) = engine.steps(execution_id)
    return step


def stored(step: ExecutionStep) -> str:
    return json.dumps([step.input, step.output, step.error, step.attempt_log])


def test_the_secret_is_used_and_redacted_and_a_rotation_is_used_by_the_next_run(
    engine: Engine,
) -> None:
    user = engine.user()
    credential = add_credential(engine, user, "http_bearer", {"token": TOKEN})
    workflow = echo_workflow(engine, user, credential)

    first = only_step(engine, workflow)
    assert first.status == "completed", first.error
    assert first.output == {"said": "Bearer ••••••", "length": len(TOKEN), "fields": ["token"]}
    assert TOKEN not in stored(first)  # logs: test_credentials_masking

    set_secret(engine, credential, {"token": ROTATED})
    second = only_step(engine, workflow)
    assert second.status == "completed"
    assert second.output is not None and second.output["length"] == len(ROTATED)
    assert ROTATED not in stored(second)


def test_an_error_quoting_the_secret_is_redacted(engine: Engine) -> None:
    user = engine.user()
    credential = add_credential(engine, user, "http_header", {"header_name": "X-K", "value": TOKEN})
    step = only_step(engine, echo_workflow(engine, user, credential, fail=True))

    assert step.status == "failed"
    assert step.error == "the service refused token ••••••"
    assert TOKEN not in stored(step)


@pytest.mark.parametrize("case", ["another user's", "another kind", "missing"])
def test_a_credential_the_step_may_not_use_fails_it_at_once(engine: Engine, case: str) -> None:
    owner, other = engine.user(), engine.user()
    mine = add_credential(engine, owner, "http_bearer", {"token": TOKEN})
    workflow = echo_workflow(engine, owner, mine)
    target = {
        "another user's": add_credential(engine, other, "http_bearer", {"token": ROTATED}),
        "another kind": add_credential(engine, owner, "telegram", {"bot_token": ROTATED}),
        "missing": 10**9,
    }[case]
    with engine.app.app_context():  # as an edit that skipped the save check would leave it
        db.session.execute(
            update(Action)
            .where(Action.workflow_id == workflow)
            .values(config={"credential_id": target})
        )
        db.session.commit()

    step = only_step(engine, workflow)

    assert step.status == "failed"
    assert step.attempts == 1  # a ConfigError is not retried
    expected = {
        "another user's": f"Credential {target} does not exist (or belongs to another user).",
        "another kind": f"Credential {target} ('telegram {owner}') is a telegram credential; "
        "this step needs a http_bearer or http_header credential.",
        "missing": f"Credential {target} does not exist (or belongs to another user).",
    }[case]
    assert step.error == expected
    assert ROTATED not in stored(step)
