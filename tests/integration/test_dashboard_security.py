"""Tenancy and stored XSS on the dashboard: another user's execution is a 404 on every page and
fragment, and markup stored in names, data, outputs, run keys and errors renders inert."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.dashboard_support import HTMX, force, make_workflow, start, user_id, wait_final

TOKEN_RE = re.compile(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+')
MISSING_ID = 2_000_000_000


DASHBOARD_MODULES = {"app.web.executions", "app.web.execution_actions"}


def id_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, rule, id name) of every page or fragment that takes an execution id, and of
    every route of the dashboard's modules that takes any id."""
    routes = []
    for rule in app.url_map.iter_rules():
        module = app.view_functions[rule.endpoint].__module__
        ids = [a for a in sorted(rule.arguments) if f"<int:{a}>" in rule.rule]
        web = rule.endpoint.startswith("web.")
        if not ids or not (module in DASHBOARD_MODULES or (web and "execution_id" in ids)):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, ids[0]))
    return routes


def fetch(
    client: FlaskClient, method: str, rule: str, name: str, value: int, headers: dict[str, str]
) -> tuple[int, str]:
    """Status and body (CSRF tokens blanked) of one request to `rule` with `name` = `value`."""
    response = client.open(
        rule.replace(f"<int:{name}>", str(value)),
        method=method,
        headers=headers,
        data={"mode": "start", "trigger_data": "{}"} if method == "POST" else None,
    )
    return response.status_code, TOKEN_RE.sub(r"\1…", response.get_data(as_text=True))


def test_another_users_execution_is_a_404_like_a_missing_one_on_every_route(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given alice's live execution of her workflow
    spec = {"name": "Private", "steps": [{"type": "log", "config": {"message": "secret"}}]}
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    execution = start(app, workflow, run=False)
    hers = {"execution_id": execution, "workflow_id": workflow}
    token = csrf_token(other_client, "/executions")
    routes = id_routes(app)
    assert {rule for _, rule, _ in routes} >= {
        "/executions/<int:execution_id>",
        "/executions/<int:execution_id>/status",
        "/executions/<int:execution_id>/row",
        "/executions/<int:execution_id>/cancel",
        "/executions/<int:execution_id>/rerun",
        "/workflows/<int:workflow_id>/executions",
        "/workflows/<int:workflow_id>/executions/stats",
    }

    for method, rule, name in routes:
        for headers in ({"X-CSRFToken": token}, {**HTMX, "X-CSRFToken": token}):
            # When mallory requests it (page or fragment, read or write), and a missing id
            theirs = fetch(other_client, method, rule, name, hers[name], headers)
            missing = fetch(other_client, method, rule, name, MISSING_ID, headers)

            # Then both are the same 404, and nothing of alice's leaks
            assert theirs[0] == 404, (method, rule, headers)
            assert theirs == missing, (method, rule, headers)
            assert "secret" not in theirs[1] and "Private" not in theirs[1]

    # and alice's execution is untouched and still hers
    assert user_client.get(f"/executions/{execution}").status_code == 200
    mine = user_client.get(f"/executions/{execution}/row", headers=HTMX)
    assert mine.status_code == 200 and 'class="status-badge status-pending"' in mine.get_data(
        as_text=True
    )


def test_every_action_needs_the_csrf_token(app: Flask, user_client: FlaskClient) -> None:
    # Given alice's live execution
    spec = {"name": "Mine", "steps": [{"type": "log", "config": {"message": "m"}}]}
    execution = start(app, make_workflow(app, user_id(app, "alice@example.com"), spec), run=False)

    # When her browser is made to post without the token (a form, or htmx without the header)
    paths = [f"/executions/{execution}/cancel", f"/executions/{execution}/rerun"]
    answers = [user_client.post(path, data={"mode": "start"}) for path in paths]
    answers.append(user_client.post("/executions/rerun-failed", data={"up_to": str(execution)}))
    answers.append(user_client.post(paths[0], headers=HTMX))

    # Then each is refused and nothing changed
    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    page = user_client.get(f"/executions/{execution}").get_data(as_text=True)
    assert 'data-status="pending"' in page


SCRIPT = "<script>alert(1)</script>"
HX_ATTR = '<div hx-get="/settings" hx-trigger="load">x</div>'
IMG = "<img src=x onerror=alert(2)>"
RAW = ("<script>alert", '<div hx-get="/settings"', "<img src=x")


def test_stored_markup_renders_escaped_in_pages_and_fragments(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a workflow named with markup, whose step copies markup from the trigger into its
    # output, with a run key made of markup, and an execution whose error holds markup
    spec = {
        "name": f"Evil {SCRIPT}",
        "run_key_template": "{{ trigger.script }}",
        "steps": [
            {
                "key": "copy",
                "type": "transform",
                "name": f"Step {HX_ATTR}",
                "config": {"fields": {"a": "{{ trigger.script }}", "b": "{{ trigger.attr }}"}},
            }
        ],
    }
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    execution = start(app, workflow, {"script": SCRIPT, "attr": HX_ATTR, "img": IMG})
    assert wait_final(app, [execution]) == ["completed"]
    force(app, execution, error=f"Step failed: {IMG}")

    # When every page and fragment that shows it is fetched
    responses = {
        "page": user_client.get(f"/executions/{execution}"),
        "status": user_client.get(f"/executions/{execution}/status", headers=HTMX),
        "row": user_client.get(f"/executions/{execution}/row", headers=HTMX),
        "list": user_client.get("/executions"),
        "list fragment": user_client.get(f"/executions?workflow={workflow}", headers=HTMX),
        "live": user_client.get(f"/executions/live?top=1&live={execution}", headers=HTMX),
        "per workflow": user_client.get(f"/workflows/{workflow}/executions"),
        "rerun form": user_client.get(f"/executions/{execution}/rerun"),
        "bulk confirm": user_client.get(f"/executions/rerun-failed?workflow={workflow}"),
    }

    # Then none carries the markup live; it shows as text; and each has a CSP
    for name, response in responses.items():
        html = response.get_data(as_text=True)
        assert response.status_code in (200, 286), name
        for raw in RAW:
            assert raw not in html, (name, raw)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], name
    page = responses["page"].get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # name, run key, output, data
    assert "&lt;div hx-get=&#34;/settings&#34;" in page  # step name and output
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # the error
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in responses["row"].get_data(as_text=True)
