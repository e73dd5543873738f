"""The editor's side of time limits and delay until: a step's time limit per attempt among its
retry settings (kept in `retry.timeout_seconds`, saved and exported with it); the delay's form,
generated from its config, offers "For a while" or "Until a date and time", each with its own
fields, and refuses what cannot be read, naming the field."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import WorkflowDraft
from tests.integration.editor_support import Editor, fields


def _draft_step(app: Flask, workflow_id: int) -> dict[str, Any]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return dict(draft.spec["steps"][0])


def test_a_steps_time_limit_is_kept_with_its_retries(app: Flask, user_client: FlaskClient) -> None:
    # Given a log step
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    # When its panel sets a time limit of 45 s per attempt
    ok = editor.apply(workflow_id, "log", {"message": "x"}, **{"retry.timeout_seconds": "45"})

    # Then the draft keeps it in the step's retry settings, and the panel shows it again
    assert ok.status_code == 200, ok.get_data(as_text=True)
    retry = _draft_step(app, workflow_id)["retry"]
    assert retry == {
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 1.0},
        "timeout_seconds": 45,
    }
    html = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)
    assert re.search(r'name="retry.timeout_seconds" type="text" value="45"', html)
    assert "Time limit per attempt (seconds)" in html
    # And it saves with the workflow
    assert editor.save(workflow_id).status_code == 200

    # When the limit is cleared, the default policy is written as none at all
    editor.apply(workflow_id, "log", {"message": "x"}, **{"retry.timeout_seconds": ""})
    assert _draft_step(app, workflow_id)["retry"] is None


def test_a_time_limit_that_cannot_be_read_or_is_over_a_day_is_refused(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    words = editor.apply(workflow_id, "log", {"message": "x"}, **{"retry.timeout_seconds": "soon"})
    long = editor.apply(workflow_id, "log", {"message": "x"}, **{"retry.timeout_seconds": "90000"})

    assert words.status_code == 422
    assert "Enter a whole number of seconds, or leave it empty." in words.get_data(as_text=True)
    assert long.status_code == 422
    assert fields(long) == ["steps.0.retry.timeout_seconds"]


def test_the_delay_form_offers_a_while_or_a_date_and_time(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a delay step
    editor = Editor(user_client)
    workflow_id = editor.create()
    key = editor.add(workflow_id, "delay")

    # When its panel is opened
    html = editor.get(f"/workflows/{workflow_id}?step={key}", htmx=True).get_data(as_text=True)

    # Then "Wait" chooses the way, in words, and each way's fields say which way they belong to
    assert '<option value="for" selected>For a while</option>' in html
    assert '<option value="until">Until a date and time</option>' in html
    for name, way in (("amount", "for"), ("unit", "for"), ("until", "until")):
        assert re.search(
            rf'<div class="field"[^>]* data-needs="config.mode" data-needs-value="{way}">\s*'
            rf'<label for="[^"]*config-{name}"',
            html,
        ), name

    # When it is set to wait until a date and time, in words it cannot read
    bad = editor.apply(workflow_id, key, {"mode": "until", "until": "next tuesday"})
    # Then the field is named, with an example
    assert bad.status_code == 422
    assert fields(bad) == ["steps.0.config.until"]
    assert "Write a date and time such as 2026-12-24 09:00" in bad.get_data(as_text=True)

    # When it is given a date and time (the amount of the other way left empty)
    ok = editor.apply(
        workflow_id, key, {"mode": "until", "until": "2026-12-24 09:00", "amount": ""}
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert _draft_step(app, workflow_id)["config"] == {
        "mode": "until",
        "until": "2026-12-24 09:00",
    }
    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    assert "Wait until 2026-12-24 09:00" in flow
