"""A running engine for tests: SQLite + StubBroker in process, or PostgreSQL + Redis (or
RabbitMQ, mode "rabbitmq") with real `dramatiq app.tasks` worker processes and a `flask
scheduler` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import settings_of
from app.container import Container
from app.embedded import EmbeddedWorker
from app.engine.program import history_key
from app.extensions import container, db, embedded_worker
from app.models import Execution, ExecutionStep, User, Workflow
from app.services.executions import lifecycle
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests import rabbitmq
from tests.conftest import TEST_PASSWORD_HASH

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "plugins"
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("STEPLINE_TEST_REDIS", "redis://127.0.0.1:6379/0")
FINAL = ("completed", "failed", "cancelled")


def _wait_for_line(
    process: subprocess.Popen[str], needle: str, timeout: float, lines: list[str]
) -> threading.Thread:
    """Read the process's stderr into `lines` until `needle` appears (and drain it after)."""
    assert process.stderr is not None
    found = threading.Event()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if needle in line:
                found.set()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    if not found.wait(timeout):
        raise RuntimeError(f"{process.args!r} did not print {needle!r}:\n{''.join(lines)[-3000:]}")
    return thread


def _reap(process: subprocess.Popen[str], pump: threading.Thread) -> None:
    """After the process exited: let the pump read to EOF, then close the pipe."""
    pump.join(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


class Engine:
    """One app plus the processes that run its executions."""

    def __init__(
        self,
        backend: str,
        database_url: str,
        tmp: Path,
        mode: str | None = None,
        *,
        redis_url: str = REDIS_URL,
        **settings: Any,
    ) -> None:
        self.backend = backend
        self.redis_url = redis_url  # a test may bring a redis-server of its own
        self.mode = mode or ("stub" if backend == "sqlite" else "redis")
        self.namespace = f"stepline-test-{uuid.uuid4().hex[:10]}"
        self.tmp = tmp
        self.lease = float(settings.pop("lease", 2))
        config: dict[str, Any] = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "engine-test",
            "SECRET_KEYS": Fernet.generate_key().decode(),
            "QUEUE_PREFIX": self.namespace,
            "EXECUTION_LEASE_SECONDS": self.lease,
            "RECOVERY_INTERVAL": 0.2,
            "SCHEDULER_INTERVAL": 0.1,
            **settings,
        }
        if self.mode == "redis":
            config.update(REDIS_URL=redis_url, EMBEDDED_WORKER=False)
        elif self.mode == "rabbitmq":  # RabbitMQ alone: no Redis anywhere
            config.update(BROKER_URL=rabbitmq.RABBITMQ_URL, EMBEDDED_WORKER=False)
        self.app: Flask = create_app(config)
        self.processes: list[subprocess.Popen[str]] = []
        self.workers: list[subprocess.Popen[str]] = []
        self.logs: dict[str, list[str]] = {}  # stderr of each process, printed at close
        self.pumps: dict[int, threading.Thread] = {}
        if self.mode == "stub":
            self.embedded.start()
        else:
            self.start_worker()
            self.start_scheduler()

    # -- processes ------------------------------------------------------------------------

    @property
    def container(self) -> Container:
        return container(self.app)

    @property
    def embedded(self) -> EmbeddedWorker:
        return embedded_worker(self.app)

    def _broker_env(self) -> dict[str, str]:
        if self.mode == "rabbitmq":
            return {"STEPLINE_BROKER_URL": rabbitmq.RABBITMQ_URL}
        return {"REDIS_URL": self.redis_url}

    def _env(self) -> dict[str, str]:
        config = self.app.config
        allowlist = ",".join(settings_of(self.app).outbound_allowlist)
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("STEPLINE_") and k != "REDIS_URL"
        }
        return {
            **inherited,
            **self._broker_env(),
            "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": config["SECRET_KEY"],
            "STEPLINE_SECRET_KEYS": config["SECRET_KEYS"],
            "STEPLINE_QUEUE_PREFIX": self.namespace,
            "STEPLINE_EXECUTION_LEASE_SECONDS": str(int(self.lease)),
            "STEPLINE_RECOVERY_INTERVAL": "0.2",
            "STEPLINE_SCHEDULER_INTERVAL": "0.1",
            "STEPLINE_EMBEDDED_WORKER": "false",
            "STEPLINE_MAX_PAYLOAD_BYTES": str(config["MAX_PAYLOAD_BYTES"]),
            "STEPLINE_MAX_STEP_RUNS": str(config["MAX_STEP_RUNS"]),
            "STEPLINE_INSTANCE_PATH": str(self.tmp),
            "STEPLINE_OUTBOUND_ALLOWLIST": allowlist,
            "dramatiq_worker_timeout": "100",
            "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(ROOT)]),
            "FLASK_APP": "app",
        }

    def _spawn(
        self, args: list[str], ready: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self._env(), **(env or {})},
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        lines = self.logs.setdefault(f"{args[0].rsplit('/', 1)[-1]}[{process.pid}]", [])
        self.pumps[process.pid] = _wait_for_line(process, ready, 30, lines)
        return process

    def stop_worker(self, worker: subprocess.Popen[str]) -> None:
        """SIGTERM to the main process (as `docker stop` does): Dramatiq finishes in-flight
        messages, then exits. Not to the whole group: Dramatiq's worker processes take a second
        SIGTERM (the one their parent forwards) as "kill now"."""
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        _reap(worker, self.pumps[worker.pid])
        self.workers.remove(worker)

    def start_worker(
        self, threads: int = 4, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """A `dramatiq app.tasks` process; `env` adds or overrides environment variables."""
        worker = self._spawn(
            [str(BIN / "dramatiq"), "app.tasks", "--processes", "1", "--threads", str(threads)],
            "ready for action",
            env,
        )
        self.workers.append(worker)
        return worker

    def start_scheduler(self) -> subprocess.Popen[str]:
        return self._spawn([str(BIN / "flask"), "scheduler"], "scheduler running")

    def kill_worker(self, worker: subprocess.Popen[str]) -> None:
        """kill -9 the worker's whole process group (dramatiq forks its worker process)."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        _reap(worker, self.pumps[worker.pid])
        self.workers.remove(worker)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stderr is not None and not process.stderr.closed:
                _reap(process, self.pumps[process.pid])
        self.embedded.stop()
        self.container.engine.dispose()
        for name, lines in self.logs.items():
            sys.stderr.write(f"---- {name}\n{''.join(lines)[-5000:]}")
        if self.mode == "redis":
            self.flush_namespace()
        if self.mode == "rabbitmq":
            self.container.broker.close()
            rabbitmq.delete(self.namespace)
        with self.app.app_context():
            db.engine.dispose()

    def flush_namespace(self) -> int:
        """Delete every Redis key of this test's namespace (and nothing else)."""
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(match=f"{self.namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)

    # -- data -----------------------------------------------------------------------------

    def user(self, email: str | None = None) -> int:
        with self.app.app_context():
            user = User(email=email or f"{uuid.uuid4().hex[:12]}@example.com", name="")
            user.set_password("x" * 12, TEST_PASSWORD_HASH)
            db.session.add(user)
            db.session.commit()
            return user.id

    def workflow(self, spec: dict[str, Any], user_id: int | None = None) -> int:
        with self.app.app_context():
            owner = user_id or self.user()
            stepline = self.container
            wf = crud.create_workflow(
                db.session(),
                owner,
                WorkflowSpec.model_validate(spec),
                stepline.secrets,
                stepline.handlers,
            )
            return wf.id

    def trigger(
        self, workflow_id: int, data: dict[str, Any] | None = None, *, dry_run: bool = False
    ) -> int:
        with self.app.app_context():
            wf = db.session.get(Workflow, workflow_id)
            assert wf is not None
            execution = lifecycle.start(
                db.session(),
                wf,
                data or {},
                send=self.container.doorbell.send,
                settings=settings_of(self.app),
                dry_run=dry_run,
            )
            return execution.id

    def start_tree(self, actions: list[dict[str, Any]], data: dict[str, Any] | None = None) -> int:
        """Run a definition tree (snapshot shape: loops and paths hold their steps) as an
        execution of a new workflow, without going through a saved definition."""
        workflow_id = self.workflow({"name": "tree", "steps": []})
        with self.app.app_context():
            wf = db.session.get(Workflow, workflow_id)
            assert wf is not None
            frozen = {**crud.snapshot(wf), "actions": actions}
            execution = lifecycle.start(
                db.session(),
                wf,
                data or {},
                send=self.container.doorbell.send,
                settings=settings_of(self.app),
                snapshot=frozen,
            )
            return execution.id

    def history(self, execution_id: int) -> list[ExecutionStep]:
        """The execution's step runs in the order they ran (app.engine.program.history_key)."""
        return sorted(self.steps(execution_id), key=lambda s: history_key(s.frame, s.position))

    def execution(self, execution_id: int) -> Execution:
        with self.app.app_context():
            found = db.session.get(Execution, execution_id)
            assert found is not None
            db.session.expunge(found)
            return found

    def steps(self, execution_id: int) -> list[ExecutionStep]:
        with self.app.app_context():
            rows = db.session.scalars(
                select(ExecutionStep)
                .where(ExecutionStep.execution_id == execution_id)
                .order_by(ExecutionStep.position)
            ).all()
            for row in rows:
                db.session.expunge(row)
            return list(rows)

    def wait(self, *execution_ids: int, timeout: float = 30.0) -> list[Execution]:
        """Wait until every execution is final, watching the rows."""
        return self._poll(execution_ids, timeout)

    def _all_final(self, ids: tuple[int, ...]) -> bool:
        return all(self.execution(i).status in FINAL for i in ids)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until `condition()` holds (checked every 50 ms)."""
        deadline = time.monotonic() + timeout
        self._wait_until(condition, deadline)
        assert condition(), "condition not reached in time"

    @staticmethod
    def _wait_until(condition: Callable[[], bool], deadline: float) -> None:
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _poll(self, ids: tuple[int, ...], timeout: float) -> list[Execution]:
        deadline = time.monotonic() + timeout
        self._wait_until(lambda: self._all_final(ids), deadline)
        return [self.execution(i) for i in ids]


def engine_fixture(
    backend: str, database_url: str, tmp: Path, mode: str | None = None, **settings: Any
) -> Iterator[Engine]:
    engine = Engine(backend, database_url, tmp, mode, **settings)
    try:
        yield engine
    finally:
        engine.close()
