"""A plugin package adds a trigger and an action through entry points only, and a workflow that
uses both runs end to end: the scheduler polls the plugin's trigger, a worker runs the plugin's
action (SQLite: in-process worker and scheduler threads; PostgreSQL: `dramatiq app.tasks` and
`flask scheduler` processes, which find the plugin the same way).

The package is tests/plugins/stepline_countdown; tests/conftest.py puts tests/plugins on the
path, where its dist-info folder declares the entry points, as `pip install` would have. One
test installs it with pip, laid out as docs/plugins.md says, and checks that stand-in.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests.api_client import Api, issue_token
from tests.engine_harness import Engine, engine_fixture

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "tests" / "plugins"


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("plugins"))


@pytest.fixture
def api(engine: Engine) -> Api:
    return Api(engine.app.test_client(), issue_token(engine.app, "plugin-user@example.com"))


COUNTDOWN = {
    "name": "Countdown to a chorus",
    "trigger": {"type": "countdown", "config": {"start": 3, "every_seconds": 0.1}},
    "steps": [
        {
            "key": "measure",
            "type": "example",
            "config": {"text": "{{ trigger.remaining }} of {{ trigger.of }} left"},
        },
        {
            "key": "chorus",
            "type": "repeat",
            "config": {"text": "{{ steps.measure.excerpt }}", "times": 2, "separator": " / "},
        },
    ],
}


def _finished(api: Api, workflow_id: int, count: int, timeout: float = 30.0) -> list[Any]:
    """The workflow's executions, oldest first, once `count` of them are final."""
    deadline = time.monotonic() + timeout
    while True:
        items = api.get(f"/workflows/{workflow_id}/executions", limit=50).get_json()["items"]
        done = [e for e in items if e["status"] in ("completed", "failed", "cancelled")]
        if len(done) >= count:
            return sorted(done, key=lambda e: e["id"])
        assert time.monotonic() < deadline, f"{len(done)} of {count} executions final: {items}"
        time.sleep(0.05)


def test_the_plugin_comes_from_entry_points_and_not_from_stepline() -> None:
    actions = {ep.name: ep.value for ep in entry_points(group="stepline.actions")}
    triggers = {ep.name: ep.value for ep in entry_points(group="stepline.triggers")}

    assert actions["repeat"] == "stepline_countdown:RepeatAction"
    assert triggers["countdown"] == "stepline_countdown:CountdownTrigger"


def _entry_points_file(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {group: dict(parser[group]) for group in parser.sections()}


def test_pip_installs_the_package_as_docs_plugins_md_lays_it_out(tmp_path: Path) -> None:
    # Given the project docs/plugins.md describes: its pyproject.toml, the package under src/
    guide = (ROOT / "docs" / "plugins.md").read_text()
    (pyproject,) = re.findall(r"```toml\n(.*?)```", guide, flags=re.DOTALL)
    project = tmp_path / "stepline-countdown"
    shutil.copytree(
        PLUGINS / "stepline_countdown",
        project / "src" / "stepline_countdown",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / "pyproject.toml").write_text(pyproject)

    # When pip installs it (offline, into a folder of its own)
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--no-build-isolation", "--target", str(site), str(project)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    # Then it declares the entry points that the dist-info in tests/plugins stands in for
    (installed,) = site.glob("stepline_countdown-*.dist-info")
    stand_in = PLUGINS / "stepline_countdown-0.1.dist-info" / "entry_points.txt"
    assert _entry_points_file((installed / "entry_points.txt").read_text()) == (
        _entry_points_file(stand_in.read_text())
    )
    # And a process that has only the installed package (not tests/plugins) finds both kinds
    probe = (
        "from importlib.metadata import entry_points\n"
        "for group in ('stepline.actions', 'stepline.triggers'):\n"
        "    for point in entry_points(group=group):\n"
        "        print(group, point.load().type, point.load().__module__)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.splitlines() == [
        "stepline.actions repeat stepline_countdown",
        "stepline.triggers countdown stepline_countdown",
    ]


def test_a_workflow_with_the_plugins_trigger_and_action_runs_to_the_end(
    engine: Engine, api: Api
) -> None:
    # Given the API lists the plugin's kinds next to the built-ins
    actions = {a["type"]: a for a in api.get("/actions").get_json()["items"]}
    triggers = {t["type"]: t for t in api.get("/triggers").get_json()["items"]}
    assert {"repeat", "example", "log"} <= set(actions)
    assert triggers["countdown"]["polling"] is True
    assert "start" in triggers["countdown"]["config_schema"]["properties"]

    # When a workflow counting down from 3 is created and enabled through the API
    workflow = api.create(COUNTDOWN, enable=True)

    # Then the scheduler fires it three times, and the worker runs both steps each time
    executions = _finished(api, workflow["id"], 3)
    assert [e["status"] for e in executions] == ["completed"] * 3
    assert {e["trigger_type"] for e in executions} == {"countdown"}
    details = [api.get(f"/workflows/executions/{e['id']}").get_json() for e in executions]
    assert [d["trigger_data"] for d in details] == [
        {"remaining": 2, "of": 3},
        {"remaining": 1, "of": 3},
        {"remaining": 0, "of": 3},
    ]
    measure, chorus = details[0]["steps"]
    assert (measure["type"], measure["status"]) == ("example", "completed")
    assert measure["output"] == {
        "characters": 11,
        "words": 4,
        "lines": 1,
        "excerpt": "2 of 3 left",
    }
    assert (chorus["type"], chorus["status"]) == ("repeat", "completed")
    assert chorus["output"] == {"text": "2 of 3 left / 2 of 3 left", "times": 2}
    assert details[2]["steps"][1]["output"]["text"] == "0 of 3 left / 0 of 3 left"

    # And once the count is over the trigger fires no more
    time.sleep(0.5)
    listed = api.get(f"/workflows/{workflow['id']}/executions", limit=50).get_json()["items"]
    assert len(listed) == 3


def test_a_bad_config_for_the_plugins_trigger_is_refused_by_its_model(api: Api) -> None:
    spec = {**COUNTDOWN, "trigger": {"type": "countdown", "config": {"start": 0}}}

    response = api.post("/workflows", spec)

    assert response.status_code == 422, response.get_json()
    assert "start" in response.get_data(as_text=True)
