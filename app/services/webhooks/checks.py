"""The checks a webhook delivery passes before anything is stored: the method, the rate
limit (counted once per delivery), the signature or secret over the raw body."""

from __future__ import annotations

from app.crypto import SecretBox
from app.services.errors import MethodNotAllowedError, TooManyRequestsError, UnauthorizedError
from app.services.executions.admission import Admission
from app.services.webhooks.request_data import WebhookRequest
from app.triggers import signing
from app.triggers.webhook import WebhookConfig


class RateOnce:
    """A delivery's rate-limit verdict per webhook: counted once, replayed when the checks run
    again on a fresh read of the token."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self._verdicts: dict[int, TooManyRequestsError | None] = {}

    def check(self, trigger_id: int) -> None:
        if trigger_id in self._verdicts:
            refusal = self._verdicts[trigger_id]
            if refusal is not None:
                raise refusal
            return
        try:
            self.admission.check_rate(str(trigger_id))
        except TooManyRequestsError as exc:
            self._verdicts[trigger_id] = exc
            raise
        self._verdicts[trigger_id] = None


def check(
    trigger_id: int,
    config: WebhookConfig,
    request: WebhookRequest,
    secrets: SecretBox,
    rate: RateOnce,
) -> None:
    if request.method not in config.methods:
        allowed: list[str] = list(config.methods)
        raise MethodNotAllowedError(f"This webhook accepts {', '.join(allowed)}.", allowed)
    rate.check(trigger_id)
    if config.auth == "none" or config.secret is None:
        return
    secret = config.secret
    if SecretBox.is_encrypted(secret):
        secret = secrets.decrypt(secret)
    try:
        signing.verify(
            config.scheme(secret), request.headers, request.body, request.received_at.timestamp()
        )
    except signing.SignatureError as exc:
        raise UnauthorizedError(str(exc)) from None


def hidden_headers(config: WebhookConfig) -> list[str]:
    return [config.header] if config.auth == "header" and config.header else []
