"""A tiny third-party plugin package, "installed" by putting tests/plugins on the path.

Its handlers reach Stepline only through the `stepline.actions` entry-point group (see the
dist-info folder beside it): core code does not know them. Besides the example `shout`
action, it carries the actions the engine tests need in real worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler, credential_field
from app.credentials.base import CredentialKind, KindFields
from app.credentials.fields import secret_field
from app.engine.context import StepContext
from app.engine.errors import ActionError


class ShoutConfig(ActionConfig):
    text: str = Field(description="Text to shout.")


class ShoutAction(BaseActionHandler):
    """Upper-case a text (the example plugin)."""

    type = "shout"
    name = "Shout"
    description = "Upper-case a text (an example plugin action)."
    Config = ShoutConfig

    def execute(self, context: StepContext, config: ShoutConfig) -> dict[str, Any]:
        return {"text": config.text.upper() + "!"}


class FlakyConfig(ActionConfig):
    succeed_on_attempt: int = Field(1, ge=1)
    retryable: bool = True


class FlakyAction(BaseActionHandler):
    """Fail until the given attempt, then succeed (tests retries)."""

    type = "test_flaky"
    name = "Flaky (test)"
    description = "Fail until the given attempt, then succeed."
    Config = FlakyConfig

    def execute(self, context: StepContext, config: FlakyConfig) -> dict[str, Any]:
        if context.attempt < config.succeed_on_attempt:
            raise ActionError(
                f"planned failure on attempt {context.attempt}", retryable=config.retryable
            )
        return {"attempt": context.attempt}


class EffectConfig(ActionConfig):
    journal: str = Field(description="File that gets one line per run of this step.")
    sleep_first_attempt: float = Field(0.0, ge=0, description="Seconds to sleep on attempt 1.")
    slow_attempt: int = Field(1, ge=1, description="The attempt that sleeps (1: the first).")
    fail_before_attempt: int = Field(1, ge=1, description="Earlier attempts fail at once.")
    marker: str = ""


class EffectAction(BaseActionHandler):
    """Append one line per run to a journal file (counts side effects across processes)."""

    type = "test_effect"
    name = "Effect (test)"
    description = "Append a line to a journal file; optionally sleep on the first attempt."
    Config = EffectConfig
    sends = True

    def execute(self, context: StepContext, config: EffectConfig) -> dict[str, Any]:
        line = f"{context.idempotency_key} attempt={context.attempt} pid={os.getpid()}\n"
        if context.attempt < config.fail_before_attempt:
            raise ActionError(f"planned failure on attempt {context.attempt}", retryable=True)
        if context.attempt == config.slow_attempt and config.sleep_first_attempt:
            with open(config.journal + ".started", "a") as handle:
                handle.write(line)
            time.sleep(config.sleep_first_attempt)
        with open(config.journal, "a") as handle:
            handle.write(line)
        return {"pid": os.getpid(), "attempt": context.attempt, "marker": config.marker}


class CredentialEchoConfig(ActionConfig):
    credential_id: int | None = credential_field(
        kinds=("http_bearer", "http_header"), description="The token to use."
    )
    fail: bool = Field(False, description="Fail with an error that quotes the token.")


class CredentialEchoAction(BaseActionHandler):
    """Read a credential and misbehave with it: quote it in the output, the logs, the error
    (the engine must redact it everywhere)."""

    type = "test_credential"
    name = "Credential echo (test)"
    description = "Read a bearer or header credential and quote its secret carelessly."
    Config = CredentialEchoConfig

    def execute(self, context: StepContext, config: CredentialEchoConfig) -> dict[str, Any]:
        fields = context.credential(config.credential_id, ("http_bearer", "http_header"))
        secret = fields.get("token") or fields.get("value") or ""
        context.log.info("using token %s for %s", secret, context.step_key)
        if config.fail:
            raise ActionError(f"the service refused token {secret}", retryable=False)
        return {
            "said": f"Bearer {secret}",
            "length": len(secret),
            "fields": sorted(fields),
        }


class PinFields(KindFields):
    label: str = Field("", description="Where the pin is used.")
    pin: str = secret_field(min_length=4, description="The pin.")


class PinKind(CredentialKind):
    """A credential kind from a plugin (entry-point group `stepline.credentials`)."""

    kind = "test_pin"
    name = "Pin (test)"
    description = "A pin code, from a plugin."
    Fields = PinFields
