"""What a step sees when it runs: the trigger's data and earlier steps' outputs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.credentials import store as credential_store
from app.crypto import SecretBox
from app.engine import budgets, resume_urls
from app.engine.children import ChildRequest, ChildStarted, StartChild
from app.engine.errors import ConfigError
from app.settings import Settings


@dataclass(frozen=True)
class ExecutionContext:
    """The data templates read: `trigger`, `steps.<key>`, `execution`, `workflow`."""

    execution_id: int
    workflow_id: int
    workflow_name: str
    user_id: int
    trigger: Mapping[str, Any]
    steps: Mapping[str, Any]
    # A dry run: steps that send record what they would send instead (app.engine.dry_run).
    dry_run: bool = False
    # Inside a loop: `loop.item`, `.index`, `.first`, `.last`, `.count`, `.parent`.
    loop: Mapping[str, Any] | None = None
    # The workflow's time zone (settings.timezone): dates given without an offset are read in it.
    timezone: str = "UTC"
    # A child run (run_workflow): the execution whose step started it.
    parent_execution_id: int | None = None

    def template_vars(self) -> dict[str, Any]:
        variables = {
            "trigger": self.trigger,
            "steps": self.steps,
            "execution": {"id": self.execution_id},
            "workflow": {"id": self.workflow_id, "name": self.workflow_name},
        }
        if self.loop is not None:
            variables["loop"] = self.loop
        return variables


@dataclass(frozen=True)
class StepContext:
    """Everything an action's `execute` may use; it reads nothing else."""

    execution: ExecutionContext
    step_key: str
    position: int
    attempt: int
    settings: Settings
    secrets: SecretBox
    session_factory: Callable[[], Session]
    log: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("app.engine"), {})
    )
    frame: str = ""  # the loop iterations around this run of the step (app.engine.program)
    # Secret values this step has read (credentials): the executor redacts them from the
    # step's output, error and logs. The executor passes its own list.
    revealed: list[str] = field(default_factory=list)
    # The stored rate budgets of the credentials read so far, by budget key (`credential:7`).
    credential_budgets: dict[str, budgets.RateBudget | None] = field(default_factory=dict)
    # Starts child runs (app.engine.children); None where no run can be started.
    children: StartChild | None = None
    # What resumed this step after it waited (app.engine.waits: a call, a decision, a child
    # run's end, a timeout); None on its first run.
    resume: Mapping[str, Any] | None = None

    @property
    def resume_url(self) -> str:
        """The URL that resumes this run of the step while it waits (secret, single use)."""
        ref = resume_urls.WaitRef(self.execution.execution_id, self.position, self.frame)
        return resume_urls.resume_url(self.settings, ref)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and re-deliveries of this step of this execution (and of
        this iteration, inside a loop)."""
        key = f"{self.execution.execution_id}:{self.step_key}"
        return f"{key}@{self.frame}" if self.frame else key

    def start_child(self, workflow_id: int, data: Mapping[str, Any]) -> ChildStarted:
        """Start a run of the user's workflow `workflow_id` with `data` as its trigger data,
        as the child of this step run (a dry run starts a dry run); a retry of this step finds
        the child it started. ConfigError (not retried) when it cannot be started."""
        if self.children is None:
            raise ConfigError("Another workflow cannot be started from here.")
        request = ChildRequest(
            parent_execution_id=self.execution.execution_id,
            position=self.position,
            frame=self.frame,
            user_id=self.execution.user_id,
            workflow_id=workflow_id,
            data=data,
            dry_run=self.execution.dry_run,
        )
        return self.children(request)

    def credential(self, credential_id: Any, kinds: Iterable[str] | str) -> dict[str, Any]:
        """The decrypted fields of the execution's user's credential `credential_id`, of one of
        `kinds`. Missing, another user's or of another kind: ConfigError (not retried). Read
        at run time, so a rotated credential is used by the next run."""
        with self.session_factory() as session:
            try:
                found = credential_store.load(
                    session,
                    self.secrets,
                    user_id=self.execution.user_id,
                    credential_id=credential_id,
                    kinds=kinds,
                )
            except credential_store.CredentialUnavailableError as exc:
                raise ConfigError(str(exc)) from None
        self.revealed.extend(s for s in found.secrets if s not in self.revealed)
        self.credential_budgets[budgets.credential_key(credential_id)] = budgets.RateBudget.parse(
            found.budget
        )
        return found.fields

    def rate_slot(self, key: str, budget: budgets.RateBudget | None, service: str) -> None:
        """Before a request under `key` (e.g. `credential:7`): wait for a slot of its budget
        (the credential's stored one when this step read it, else `budget`), shared by every
        step using it, and for any wait a 429 asked for. A slot a few seconds
        off is waited for here; a later one is kept for this step, which is sent again for it
        (a wait that does not count as an attempt). Dry runs send nothing and take no slot."""
        if self.execution.dry_run:
            return
        if key in self.credential_budgets:  # the credential's own budget, when it has one
            budget = self.credential_budgets[key] or budget
        store = budgets.store_for(self.settings)
        budgets.take_slot(store, key, budget, service, self.idempotency_key)

    def rate_limited(
        self, key: str | None, service: str, retry_after: float | None, detail: str = ""
    ) -> budgets.RateLimitWait:
        """The error to raise for a 429 from `service`: the step (and every step using `key`)
        waits for `retry_after` seconds, without using up one of its attempts."""
        store = budgets.store_for(self.settings)
        return budgets.rate_limited(store, key, service, retry_after, detail)
