"""A credential's stored budget paces the steps that read it (both backends): steps of two
executions sharing a Slack credential budgeted at 6 a minute get slots 10 s apart, the second
sent again for its slot; another user's credential is refused before any slot is taken."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import settings_of
from app.engine.budgets import RateBudget, RateLimitWait, credential_key
from app.engine.context import ExecutionContext, StepContext
from app.engine.errors import ConfigError
from app.extensions import container, db
from app.models import Credential
from tests.integration.credentials_support import add_credential, user_id


def step_context(app: Flask, owner: int, execution_id: int) -> StepContext:
    stepline = container(app)
    return StepContext(
        execution=ExecutionContext(execution_id, 1, "w", owner, {}, {}),
        step_key="tell",
        position=0,
        attempt=1,
        settings=settings_of(app),
        secrets=stepline.secrets,
        session_factory=stepline.session_factory,
        log=logging.LoggerAdapter(logging.getLogger("test"), {}),
    )


def test_the_credentials_own_budget_paces_every_step_that_reads_it(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a Slack credential whose budget is 6 requests a minute (Slack's default is 1 a s)
    credential_id = add_credential(
        app, "alice@example.com", "slack", "Team", {"bot_token": "xoxb-budgeted-token"}
    )
    with app.app_context():
        row = db.session.get(Credential, credential_id)
        assert row is not None
        assert RateBudget.parse(row.budget) == RateBudget(per_second=1.0)  # the kind's default
        row.budget = {"per_minute": 6}
        db.session.commit()
    owner = user_id(app, "alice@example.com")
    key = credential_key(credential_id)

    # When the steps of two executions read it and ask for a slot at once
    first, second = step_context(app, owner, 1), step_context(app, owner, 2)
    for context in (first, second):
        assert context.credential(credential_id, ("slack",))["bot_token"] == "xoxb-budgeted-token"
    first.rate_slot(key, RateBudget.for_service("slack"), "Slack")
    with pytest.raises(RateLimitWait) as waiting:
        second.rate_slot(key, RateBudget.for_service("slack"), "Slack")

    # Then the first goes at once, and the second waits ten seconds (the stored budget),
    # a wait that does not count as an attempt
    assert waiting.value.retry_after == pytest.approx(10.0, abs=0.5)
    assert waiting.value.rate_limited and waiting.value.service == "Slack"


def test_another_users_credential_is_refused_before_any_slot(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    credential_id = add_credential(
        app, "alice@example.com", "slack", "Team", {"bot_token": "xoxb-alices"}
    )
    mallory = step_context(app, user_id(app, "mallory@example.com"), 3)
    with pytest.raises(ConfigError):
        mallory.credential(credential_id, ("slack",))
    assert mallory.credential_budgets == {}
