"""Execute one attempt of a step, with no transaction open: render its config in the sandbox,
validate it, call the action, redact secrets, check the output.

Whatever the action does, the result is an `Outcome`: an output, a signal (stop, suspend) or an
error. The one broad `except` of the engine lives here, at the step boundary (STYLE D2).
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.actions.base import BaseActionHandler
from app.crypto import SecretBox
from app.engine import time_limits
from app.engine.attempts import Claim, Outcome
from app.engine.children import StartChild
from app.engine.context import ExecutionContext, StepContext
from app.engine.dry_run import execute_dry
from app.engine.errors import (
    ActionError,
    ConfigError,
    OutputTooLargeError,
    StopWorkflow,
    Suspend,
    Wait,
)
from app.engine.redaction import RedactingAdapter, redact, secret_values
from app.engine.registry import ActionRegistry
from app.engine.run_if import PATHS, choose_paths, skip_output
from app.engine.templating import Renderer
from app.models import storable
from app.net import deadline
from app.settings import Settings

log = logging.getLogger(__name__)

# Told, as each step starts, how many seconds its worker thread may still run (the broker's
# StepTimeLimit: app.broker); outside a worker it is not given.
Watchdog = Callable[[float], None]

MAX_ERROR_CHARS = 4000


class StepExecutor:
    """Runs an action for a claimed step; shared by threads (it keeps no per-step state)."""

    def __init__(
        self,
        actions: ActionRegistry,
        *,
        secrets: SecretBox,
        settings: Settings,
        session_factory: Callable[[], Session],
        renderer: Renderer,
        max_output: int,
        watchdog: Watchdog | None = None,
        children: StartChild | None = None,
    ) -> None:
        self.actions = actions
        self.watchdog = watchdog
        self.children = children  # starts child runs (run_workflow): app.engine.children
        self.secrets = secrets
        self.settings = settings
        self.session_factory = session_factory
        self.renderer = renderer
        self.max_output = max_output

    def execute(self, claim: Claim) -> Outcome:
        """Run the claimed attempt; failures come back in the outcome, never raised."""
        action = claim.run.actions[claim.position]
        secrets: list[str] = []
        stored_input: dict[str, Any] | None = None
        limit = self.step_limit(claim)
        if self.watchdog is not None:  # the worker thread is interrupted past limit + grace
            self.watchdog(limit + time_limits.grace(limit))
        try:
            handler = self.actions.get(action["type"])
            if action.get("run_if"):  # "Run only if": checked before anything else renders
                variables = claim.run.context.template_vars()
                skipped = skip_output(self.renderer, action["run_if"], variables)
                if skipped is not None:
                    return Outcome(output=self._checked_output(skipped), skipped=True)
            rendered, secrets = self._render(handler, action, claim.run.context)
            stored_input = _storable_input(redact(rendered, secrets))
            try:
                config = handler.validate_config(rendered)
            except ValidationError as exc:
                raise ConfigError(_validation_message(exc)) from None
            context = StepContext(
                execution=claim.run.context,
                step_key=action["key"],
                position=claim.position,
                attempt=claim.attempt,
                settings=self.settings,
                secrets=self.secrets,
                session_factory=self.session_factory,
                log=RedactingAdapter(
                    logging.getLogger("app.engine.step"),
                    {"execution_id": claim.run.execution_id, "step_key": action["key"]},
                    secrets,
                ),
                frame=claim.frame,
                revealed=secrets,  # credentials the action reads are redacted like secrets
                resume=claim.resume,
                children=self.children,
            )
            try:
                with deadline.step_limit(limit):  # the action's own I/O ends by its limit
                    output = self._run_action(handler, action, rendered, claim, context, config)
                outcome = Outcome(output=redact(output, secrets))
            except StopWorkflow as signal:
                outcome = Outcome(output=signal.output, stop=True)
            except Suspend as signal:
                if claim.run.context.dry_run:  # a dry run does not wait
                    outcome = Outcome(output={**signal.output, "dry_run": "did not wait"})
                else:
                    outcome = Outcome(output=signal.output, suspend_seconds=signal.seconds)
            except Wait as signal:
                if claim.run.context.dry_run:  # a dry run does not wait
                    dry = {"waiting_for": signal.kind, **signal.output, "dry_run": "did not wait"}
                    outcome = Outcome(output=redact(dry, secrets))
                else:
                    outcome = Outcome(output=redact(signal.output, secrets), wait=signal)
            outcome.output = self._checked_output(outcome.output)
            outcome.input = stored_input
            return outcome
        except ActionError as exc:
            return Outcome(input=stored_input, error=_redacted_error(exc, secrets))
        except Exception as exc:  # the one broad except, at the step boundary (STYLE D2)
            log.warning(
                "step %s of execution %s raised %s",
                action.get("key"),
                claim.run.execution_id,
                type(exc).__name__,
                extra={
                    "execution_id": claim.run.execution_id,
                    "step_key": action.get("key"),
                    "traceback": redact(traceback.format_exc(limit=8), secrets)[-2000:],
                },
            )
            error = ActionError(redact(f"{type(exc).__name__}: {exc}", secrets))
            return Outcome(input=stored_input, error=_redacted_error(error, []))

    def step_limit(self, claim: Claim) -> float:
        """Seconds one attempt of the claimed step may run (app.engine.time_limits), from the
        snapshot the message loaded: no query."""
        action = claim.run.actions[claim.position]
        settings = time_limits.workflow_settings(claim.run.snapshot)
        return time_limits.step_limit(action, settings, self.settings.step_time_limit)

    def _run_action(
        self,
        handler: BaseActionHandler,
        action: Mapping[str, Any],
        rendered: dict[str, Any],
        claim: Claim,
        context: StepContext,
        config: Any,
    ) -> Any:
        if action["type"] == PATHS:  # the branches' conditions decide, like a run-if
            variables = claim.run.context.template_vars()
            return choose_paths(self.renderer, action, rendered.get("mode"), variables)
        if claim.run.context.dry_run and handler.sends:
            return execute_dry(handler, context, config)
        return handler.execute(context, config)

    def is_pure(self, type_: str) -> bool:
        """Whether steps of this action type have no effect but their output."""
        return type_ in self.actions and self.actions.get(type_).pure

    def _render(
        self, handler: BaseActionHandler, action: Mapping[str, Any], context: ExecutionContext
    ) -> tuple[dict[str, Any], list[str]]:
        secret_names = handler.secret_fields()
        text_fields = _text_fields(handler)
        variables = context.template_vars()
        rendered: dict[str, Any] = {}
        for name, value in (action.get("config") or {}).items():
            if name in secret_names:
                rendered[name] = (
                    self.secrets.decrypt(value) if SecretBox.is_encrypted(value) else value
                )
            else:
                rendered[name] = self.renderer.render(
                    value, variables, f"config.{name}", text=name in text_fields
                )
        return rendered, secret_values(rendered, secret_names)

    def _checked_output(self, output: Any) -> dict[str, Any]:
        """The output, if it can be stored: a dict of JSON data within the size cap, holding no
        value a database refuses (else a step error naming the field, not retried)."""
        if not isinstance(output, dict):
            raise TypeError(f"an action must return a dict, not {type(output).__name__}")
        try:
            size = len(storable.dumps(output))
        except storable.UnstorableError as exc:
            raise ActionError(exc.found.sentence("the step's output"), retryable=False) from None
        except (TypeError, ValueError) as exc:
            raise ActionError(
                f"The step's output is not JSON data: {exc}", retryable=False
            ) from None
        if size > self.max_output:
            raise OutputTooLargeError(
                f"The step's output is {size} bytes, over the cap of {self.max_output} bytes."
            )
        return output


@functools.cache
def _text_fields(handler: BaseActionHandler) -> frozenset[str]:
    """Config fields typed as text: a single-expression template renders to a string there."""
    names = []
    for name, info in handler.Config.model_fields.items():
        annotation = info.annotation
        if annotation is str or str(annotation) in ("str | None", "typing.Optional[str]"):
            names.append(name)
    return frozenset(names)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"config.{where}: {error['msg']}")
    return "; ".join(parts)


def _storable_input(rendered: dict[str, Any]) -> dict[str, Any]:
    """The rendered config as the step's stored input, or a step error naming the field that
    rendered to a value no database stores (the input is stored with every outcome)."""
    try:
        storable.dumps(rendered, "config")
    except storable.UnstorableError as exc:
        raise ConfigError(exc.found.sentence("the step's rendered")) from None
    except (TypeError, ValueError):
        pass  # not JSON data: recording the outcome says so
    return rendered


def _redacted_error(exc: ActionError, secrets: list[str]) -> ActionError:
    """The error with secrets redacted, cut to MAX_ERROR_CHARS, and storable (no NUL)."""
    message = storable.clean_text(redact(str(exc), secrets)[:MAX_ERROR_CHARS])
    if message == str(exc):
        return exc
    return type(exc)(message, retryable=exc.retryable, retry_after=exc.retry_after)
