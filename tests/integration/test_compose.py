"""The production stack as files: docker-compose.yml validates with Debian's `docker-compose`
(no engine needed), every service runs a command the project provides with variables the app
reads, .env.example lists every variable, and gunicorn.conf.py starts the embedded worker only
when it is on."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import click
import pytest
import yaml
from flask import Flask

from app import config, create_app
from app.config import ENV_VARS
from app.extensions import EMBEDDED

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "scheduler")
# Variables app services may set besides ENV_VARS, each read by something the project runs.
OTHER_READERS = {
    "dramatiq_worker_timeout": "the dramatiq CLI (idle poll interval)",
    "FLASK_APP": "the flask CLI",
}
POSTGRES_VARIABLES = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
SECRETS = {
    "POSTGRES_PASSWORD": "pw0123456789",
    "SECRET_KEY": "s" * 64,
    "STEPLINE_SECRET_KEYS": "a" * 43 + "=",
    "RABBITMQ_PASSWORD": "rb0123456789",
}
RABBITMQ_OVERRIDE = "docker-compose.rabbitmq.yml"


def _listed(env_example: str) -> dict[str, str]:
    """Variables in .env.example, set (NAME=value) or documented (# NAME=value)."""
    found = {}
    for line in env_example.splitlines():
        match = re.match(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _compose_config(project: Path, *files: str) -> dict[str, Any]:
    """`docker-compose config` of `files` (copied into `project`), with .env.example as .env
    and its secrets filled."""
    binary = shutil.which("docker-compose")
    if binary is None:  # `make test` installs it; a missing tool is a failure, never a skip
        pytest.fail("docker-compose is not installed (apt-get install docker-compose)")
    for name in files:
        shutil.copy(ROOT / name, project / name)
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={SECRETS[name]}" if name in SECRETS else line)
    (project / ".env").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [binary, *(arg for name in files for arg in ("-f", name)), "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of the stack."""
    return _compose_config(tmp_path_factory.mktemp("compose"), "docker-compose.yml")


@pytest.fixture(scope="module")
def compose_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of the stack with its RabbitMQ override."""
    project = tmp_path_factory.mktemp("compose-rabbitmq")
    return _compose_config(project, "docker-compose.yml", RABBITMQ_OVERRIDE)


@pytest.fixture(scope="module")
def stepline(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app to ask which CLI commands and routes exist (no service is contacted)."""
    directory = tmp_path_factory.mktemp("compose-app")
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'unused.db'}",
            "SECRET_KEY": "compose",
            "SECRET_KEYS": "a" * 43 + "=",
            "EMBEDDED_WORKER": False,
        }
    )


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def test_compose_file_validates_without_required_secrets_missing(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", *APP_SERVICES}


def test_every_service_runs_a_command_the_project_provides(
    compose: dict[str, Any], stepline: Flask
) -> None:
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text()
    for name in APP_SERVICES:
        command = _command(compose["services"][name])
        program, args = command[0], command[1:]
        if program == "gunicorn":
            # Either the project's config file (which names wsgi:app) or wsgi:app itself.
            assert args[:2] == ["-c", "gunicorn.conf.py"] or "wsgi:app" in args, command
            assert 'wsgi_app = "wsgi:app"' in gunicorn_conf
            assert "app = create_app()" in (ROOT / "wsgi.py").read_text()
        elif program == "dramatiq":
            assert args[0] == "app.tasks", command
            assert importlib.util.find_spec("app.tasks") is not None
        elif program == "flask":
            words = [a for a in args if not a.startswith("-") and a not in ("app", "wsgi")]
            assert words[0] in stepline.cli.list_commands(click.Context(stepline.cli)), command
            assert words in (["scheduler"], ["db", "upgrade"], ["doctor"]), command
        else:
            pytest.fail(f"service {name} runs {program!r}, which the project does not provide")


def test_app_services_set_only_variables_the_app_reads(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service.get("image") == "stepline:latest" and "build" in service
        for variable in service.get("environment", {}):
            if variable.startswith("GUNICORN_"):
                assert name == "web", f"{name} sets {variable}"
                assert f'"{variable}"' in (ROOT / "gunicorn.conf.py").read_text(), variable
            else:
                assert variable in ENV_VARS or variable in OTHER_READERS, f"{name}: {variable}"


def test_every_app_variable_reaches_the_app_services(compose: dict[str, Any]) -> None:
    # Whatever an operator sets in .env reaches every process (an empty value is the default).
    for name in APP_SERVICES:
        missing = set(ENV_VARS) - set(compose["services"][name]["environment"])
        assert missing == set(), f"{name} does not pass {sorted(missing)}"


def test_env_example_lists_every_variable_of_the_stack() -> None:
    listed = _listed((ROOT / ".env.example").read_text())
    compose_text = (ROOT / "docker-compose.yml").read_text()
    compose_text += (ROOT / RABBITMQ_OVERRIDE).read_text()
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", compose_text))
    assert set(ENV_VARS) - set(listed) == set()
    assert interpolated - set(listed) == set()
    assert {name for name in SECRETS if listed[name]} == set()  # no secret ships filled in


def test_data_services_persist_and_are_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres, redis, web = services["postgres"], services["redis"], services["web"]
    assert set(postgres["environment"]) <= POSTGRES_VARIABLES
    assert any(v.startswith("pgdata:/var/lib/postgresql/data") for v in postgres["volumes"])
    assert any(v.startswith("redisdata:/data") for v in redis["volumes"])
    redis_command = " ".join(_command(redis))
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    for service in (postgres, redis, web):
        assert service["healthcheck"]["test"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["restart"] == "no"


def test_dockerfile_builds_assets_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM ", dockerfile, flags=re.MULTILINE)
    assert len(stages) >= 2
    assert "npm ci" in dockerfile and "htmx.min.js" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]' in dockerfile


def _gunicorn_conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _EmbeddedWorker:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


@pytest.mark.parametrize("embedded", [True, False])
def test_gunicorn_starts_the_embedded_worker_after_fork_only_when_it_is_on(
    embedded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given gunicorn's settings from the environment, and a worker serving an app
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    conf = _gunicorn_conf()
    embedded_worker = _EmbeddedWorker()
    app = SimpleNamespace(
        config={"EMBEDDED_WORKER": embedded}, extensions={EMBEDDED: embedded_worker}
    )
    worker = SimpleNamespace(wsgi=app)

    # When gunicorn has forked and initialized the worker, and later the worker exits
    conf.post_worker_init(worker)
    conf.worker_exit(None, worker)

    # Then the app is not preloaded, sizes come from the environment, and the embedded
    # worker runs in the gunicorn worker only when it is on
    assert conf.preload_app is False
    assert (conf.workers, conf.threads) == (3, 2)
    assert embedded_worker.calls == (["start", "stop"] if embedded else [])


def test_variables_passed_through_empty_mean_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every app variable set but empty, as docker-compose passes `${VAR:-}` through
    defaults = config.load(str(tmp_path))
    for name in ENV_VARS:
        monkeypatch.setenv(name, "")

    # When the settings are loaded
    loaded = config.load(str(tmp_path))

    # Then they are the defaults
    assert loaded == defaults


def test_the_image_installs_the_lockfile_and_checks_its_health(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # Exactly the locked versions, hash-checked, then the app without resolving anything again
    assert "COPY requirements.lock" in dockerfile
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    # The image's own check asks gunicorn's liveness with Python (slim images have no curl)
    (healthcheck,) = re.findall(r"^HEALTHCHECK .*(?:\n\s+.*)*", dockerfile, flags=re.MULTILINE)
    assert "urllib.request" in healthcheck and "/healthz" in healthcheck
    # Services without an HTTP port switch it off rather than always report "unhealthy"
    off = ({"disable": True}, {"test": ["NONE"]})  # docker-compose 1.x prints the latter
    for name in ("migrate", "worker", "scheduler"):
        assert compose["services"][name]["healthcheck"] in off, name


def test_the_rabbitmq_override_points_every_app_service_at_rabbitmq(
    compose: dict[str, Any], compose_rabbitmq: dict[str, Any]
) -> None:
    services = compose_rabbitmq["services"]
    assert set(services) == {"postgres", "redis", "rabbitmq", *APP_SERVICES}
    rabbitmq = services["rabbitmq"]
    assert any(v.startswith("rabbitmqdata:/var/lib/rabbitmq") for v in rabbitmq["volumes"])
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    assert rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"] == SECRETS["RABBITMQ_PASSWORD"]
    for name in APP_SERVICES:
        service = services[name]
        broker = service["environment"]["STEPLINE_BROKER_URL"]
        assert broker == f"amqp://stepline:{SECRETS['RABBITMQ_PASSWORD']}@rabbitmq:5672/stepline"
        # Still everything the main file gives them: every variable, Redis for rate limits
        assert set(ENV_VARS) <= set(service["environment"]), name
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy", name
        assert service["depends_on"]["migrate" if name != "migrate" else "postgres"]
        assert _command(service) == _command(compose["services"][name])
    assert compose["services"]["web"]["environment"]["STEPLINE_BROKER_URL"] in ("", None)
