"""The editor's side of waits and time: the settings panel's time zone and time limits
(validated, kept in the draft beside other settings, saved), the resume URL of a later wait
step offered and accepted in an earlier step's templates, and a wait step's panel showing what
its resume URL looks like."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Workflow
from app.services.workflows import drafts
from tests.integration.editor_support import Editor, fields

RUN_INPUTS = {
    "name": "Orders",
    "description": "",
    "run_key_template": "",
    "settings.timezone": "UTC",
    "settings.time_limit_seconds": "",
    "settings.time_limit_unit": "hours",
    "settings.step_time_limit_seconds": "",
    "settings.step_time_limit_unit": "minutes",
}


def _draft_settings(app: Flask, workflow_id: int) -> dict[str, object]:
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        return dict(drafts.load(db.session(), workflow).spec.get("settings") or {})


def test_the_settings_panel_edits_the_time_zone_and_the_time_limits(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    # Given the settings panel: the time zone with suggestions, both limits blank ("no limit")
    panel = editor.get(f"/workflows/{workflow_id}?panel=settings", htmx=True).get_data(as_text=True)
    assert "<legend>Runs</legend>" in panel
    assert re.search(r'name="settings.timezone" type="text" value="UTC"', panel)
    assert 'list="timezone-choices"' in panel and '<option value="Europe/Paris">' in panel
    assert re.search(r'name="settings.time_limit_seconds"[^>]*value=""', panel)
    assert "Run time limit" in panel and "Step time limit" in panel

    # When the owner types a zone that does not exist, a folder of zones, a run limit past 30
    # days and a step limit that is not a positive number
    refused = editor.post(
        f"/workflows/{workflow_id}/settings",
        {
            **RUN_INPUTS,
            "settings.timezone": "Europe",
            "settings.time_limit_seconds": "31",
            "settings.time_limit_unit": "days",
            "settings.step_time_limit_seconds": "-2",
        },
    )

    # Then each is refused beside its input in plain words, what was typed kept
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert sorted(fields(refused)) == [
        "settings.step_time_limit_seconds",
        "settings.time_limit_seconds",
        "settings.timezone",
    ]
    assert "Pick a time zone from the list, such as UTC or Europe/Paris." in html
    assert "At most 30 days." in html
    assert "Give a number greater than 0, or leave it blank for no limit." in html
    assert 'value="Europe"' in html and 'value="31"' in html and 'value="-2"' in html
    unchanged = _draft_settings(app, workflow_id)
    assert {k: v for k, v in unchanged.items() if v not in (None, "UTC")} == {}

    # When another setting is already in the draft (what happens when a run fails, say), and
    # the owner sets Paris time, runs of at most 2 hours, steps of at most 90 seconds
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        draft = drafts.load(db.session(), workflow, for_update=True)
        draft.spec["settings"] = {"timezone": "Asia/Tokyo", "other": {"kept": True}}
        drafts.store(db.session(), draft)
    applied = editor.post(
        f"/workflows/{workflow_id}/settings",
        {
            **RUN_INPUTS,
            "settings.timezone": "Europe/Paris",
            "settings.time_limit_seconds": "2",
            "settings.time_limit_unit": "hours",
            "settings.step_time_limit_seconds": "1.5",
            "settings.step_time_limit_unit": "minutes",
        },
    )

    # Then the draft holds them in seconds, the other setting untouched, and the panel shows
    # them back in the largest unit that fits
    assert applied.status_code == 200, applied.get_data(as_text=True)
    assert _draft_settings(app, workflow_id) == {
        "other": {"kept": True},
        "timezone": "Europe/Paris",
        "time_limit_seconds": 7200,
        "step_time_limit_seconds": 90,
    }
    shown = applied.get_data(as_text=True)
    assert 'value="Europe/Paris"' in shown
    assert re.search(r'name="settings.time_limit_seconds"[^>]*value="2"', shown)
    assert '<option value="hours" selected>' in shown
    assert re.search(r'name="settings.step_time_limit_seconds"[^>]*value="90"', shown)
    assert '<option value="seconds" selected>' in shown

    # When the owner clears the limits and goes back to UTC, the defaults are left out
    editor.post(f"/workflows/{workflow_id}/settings", RUN_INPUTS)
    assert _draft_settings(app, workflow_id) == {"other": {"kept": True}}


def test_saved_settings_reach_the_workflow_and_its_history(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a workflow whose settings the owner changed and saved
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(
        f"/workflows/{workflow_id}/settings",
        {
            **RUN_INPUTS,
            "settings.timezone": "America/New_York",
            "settings.time_limit_seconds": "3",
            "settings.time_limit_unit": "days",
        },
    )
    assert editor.save(workflow_id).status_code == 200

    # Then the workflow holds them, and History says what changed
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        assert workflow.settings == {"timezone": "America/New_York", "time_limit_seconds": 259200}
    history = unescape(editor.get(f"/workflows/{workflow_id}/history").get_data(as_text=True))
    assert "timezone" in history and "America/New_York" in history
    assert "time_limit_seconds" in history and "259200" in history


@pytest.mark.parametrize(
    ("typed", "unit", "message"),
    [
        ("soon", "hours", "Give a number greater than 0"),
        ("0", "hours", "Give a number greater than 0"),
        ("nan", "hours", "Give a number greater than 0"),
        ("2", "weeks", "Pick a unit: minutes, hours, days."),
        ("0.001", "minutes", "At least 1 second."),
    ],
)
def test_a_run_limit_must_be_a_positive_amount_of_a_known_unit(
    user_client: FlaskClient, typed: str, unit: str, message: str
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()

    refused = editor.post(
        f"/workflows/{workflow_id}/settings",
        {**RUN_INPUTS, "settings.time_limit_seconds": typed, "settings.time_limit_unit": unit},
    )

    assert refused.status_code == 422 and fields(refused) == ["settings.time_limit_seconds"]
    assert message in unescape(refused.get_data(as_text=True))


def _wait_flow(editor: Editor) -> tuple[int, str, str, str]:
    """A workflow: log (ask) → wait for a call (hold) → log (after); returns the keys."""
    workflow_id = editor.create()
    ask, hold, after = (editor.add(workflow_id, t) for t in ("log", "wait_for_call", "log"))
    return workflow_id, ask, hold, after


def test_an_earlier_step_is_offered_and_may_read_the_resume_url_of_a_later_wait(
    user_client: FlaskClient,
) -> None:
    editor = Editor(user_client)
    workflow_id, ask, hold, after = _wait_flow(editor)
    url = f"{{{{ steps.{hold}.resume_url }}}}"

    # Given the panel of the step before the wait: its picker offers the wait's resume URL
    panel = unescape(
        editor.get(f"/workflows/{workflow_id}?step={ask}", htmx=True).get_data(as_text=True)
    )
    picker = panel.split('<details id="picker"')[1].split("</details>")[0]
    assert f'data-insert="{url}"' in picker
    assert "the URL of this run's wait step" in picker
    # and the step after the wait reads its output as usual, without a stand-in
    later = unescape(
        editor.get(f"/workflows/{workflow_id}?step={after}", htmx=True).get_data(as_text=True)
    )
    assert f'data-insert="{url}"' not in later.split('<details id="picker"')[1]

    # When the step before the wait sends the URL (and the step after it reads the reply)
    applied = editor.apply(workflow_id, ask, {"message": f"Reply at {url}", "level": "info"})
    reply = f"Got {{{{ steps.{hold}.body }}}}"
    assert editor.apply(workflow_id, after, {"message": reply, "level": "info"}).status_code == 200

    # Then it is accepted: no warning on its card, and the workflow saves
    assert applied.status_code == 200
    flow = unescape(editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True))
    card = flow.split(f'<li id="step-{ask}"')[1].split("</article>")[0]
    assert "runs after this one" not in card
    saved = editor.save(workflow_id)
    assert saved.status_code == 200, saved.get_data(as_text=True)

    # But any other field of the later step is still a reference to a step that has not run
    editor.apply(workflow_id, ask, {"message": f"{{{{ steps.{hold}.body }}}}", "level": "info"})
    flow = unescape(editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True))
    card = flow.split(f'<li id="step-{ask}"')[1].split("</article>")[0]
    assert f"Uses step “{hold}”, which runs after this one." in card


@pytest.mark.parametrize("public_url", [None, "https://flows.example.com"])
def test_a_wait_steps_panel_shows_its_resume_url_and_a_call_that_resumes_it(
    public_url: str | None, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id, _, hold, _ = _wait_flow(editor)

    panel = unescape(
        editor.get(f"/workflows/{workflow_id}?step={hold}", htmx=True).get_data(as_text=True)
    )

    preview = panel.split('<section class="resume-preview"')[1].split("</section>")[0]
    base = public_url or "http://localhost:5000"
    assert f"<code>{base}/resume/<run>-<step>-<signature></code>" in preview
    assert f"curl -X POST '{base}/resume/<run>-<step>-<signature>'" in preview
    assert f"{{{{ steps.{hold}.resume_url }}}}" in preview
    assert ("STEPLINE_PUBLIC_URL" in preview) is (public_url is None)


@pytest.fixture
def app_config(app_config: dict[str, object], request: pytest.FixtureRequest) -> dict[str, object]:
    """The test's `public_url` parameter, when it has one, as STEPLINE_PUBLIC_URL."""
    callspec = getattr(request.node, "callspec", None)
    public_url = callspec.params.get("public_url") if callspec is not None else None
    if public_url:
        app_config["PUBLIC_URL"] = public_url
    return app_config
