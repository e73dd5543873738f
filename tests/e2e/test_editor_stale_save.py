"""Save in Chromium after a script saved the same workflow: the header says who saved first
(htmx swaps the refusal in), "Save mine over it" saves; the Settings token form with access and
expiry. Screenshots at 1366 and 390 px."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import container, db
from app.models import User
from app.services.workflows import draft_edits
from app.services.workflows.crud import create_workflow, get_workflow
from app.services.workflows.specs import WorkflowSpec
from tests.api_client import Api, issue_token
from tests.e2e.test_editor_publish import STEPS, no_sideways_scroll, register

EMAIL = "ada@example.com"
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-settling')"


def _workflow(app: Flask) -> int:
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == EMAIL))
        assert owner is not None
        stepline = container(app)
        spec = WorkflowSpec.model_validate({"name": "Orders", "steps": STEPS})
        workflow = create_workflow(
            db.session(), owner.id, spec, stepline.secrets, stepline.handlers
        )
        return workflow.id


def _change_the_draft(app: Flask, workflow_id: int) -> None:
    """An unsaved change of the editor's (the draft is the workflow's, whichever tab made it)."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == EMAIL))
        assert owner is not None
        workflow = get_workflow(db.session(), workflow_id, owner.id)
        draft_edits.update_settings(db.session(), workflow, "Orders (mine)", "", "")


def test_a_stale_save_says_who_saved_first_and_saving_over_it_works(
    app: Flask, client: FlaskClient, page: Page, live_server: str, artifacts: Path
) -> None:
    # Given Ada's editor open on version 1 of a workflow, with a change of hers
    register(page, live_server, EMAIL)
    workflow_id = _workflow(app)
    page.goto(f"{live_server}/workflows/{workflow_id}")
    _change_the_draft(app, workflow_id)
    # And her deploy script saving version 2 meanwhile
    api = Api(client, issue_token(app, EMAIL, name="deploy"))
    shown = api.get(f"/workflows/{workflow_id}").get_json()
    body = {k: shown[k] for k in ("name", "description", "trigger", "steps")}
    assert api.put(f"/workflows/{workflow_id}", {**body, "description": "by CI"}).status_code == 200

    # When she presses Save
    page.locator("#save-workflow").click()
    page.wait_for_function(SETTLED)

    # Then the header says who saved first, and offers both ways out
    notice = page.locator("#stale-save")
    expect(notice).to_contain_text("changed by the API (token “deploy”)")
    expect(notice).to_contain_text("(version 2) since you opened it at version 1")
    expect(page.get_by_role("button", name="Reload version 2 (drop my changes)")).to_be_visible()
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"editor-stale-save-{width}.png"))
    page.set_viewport_size({"width": 1366, "height": 900})

    # When she saves hers over it
    page.get_by_role("button", name="Save mine over it (version 2 stays in History)").click()
    page.wait_for_function(SETTLED)

    # Then it is saved as version 3
    expect(page.locator("#editor-toolbar")).to_contain_text("Saved as version 3.")
    assert api.get(f"/workflows/{workflow_id}").get_json()["name"] == "Orders (mine)"


def test_the_settings_token_form_sets_access_and_expiry(
    page: Page, live_server: str, artifacts: Path
) -> None:
    register(page, live_server, EMAIL)
    page.goto(f"{live_server}/settings")

    page.get_by_label("Token name").fill("grafana")
    page.get_by_label("Access").select_option("read")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_function(SETTLED)

    expect(page.get_by_text("Read-only token “grafana” created, valid until")).to_be_visible()
    expect(page.locator("#api-tokens table")).to_contain_text("Read only")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"settings-tokens-{width}.png"), full_page=True)
        no_sideways_scroll(page)
