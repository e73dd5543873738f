"""How each sender signs a webhook delivery, written from its own documentation (and checked
against the test vectors that documentation publishes, see test_webhook_signatures.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def github(secret: str, body: bytes) -> dict[str, str]:
    """docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries: an HMAC hex
    digest of the payload, prefixed `sha256=`, in X-Hub-Signature-256."""
    return {"X-Hub-Signature-256": "sha256=" + _hmac(secret, body).hex()}


def stripe(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """docs.stripe.com/webhooks#verify-manually: the signed payload is the timestamp, a `.`
    and the raw body; `Stripe-Signature: t=<timestamp>,v1=<hex HMAC-SHA256>` (a v0 scheme
    signature from test mode may come along and must be ignored)."""
    signed = f"{timestamp}.".encode() + body
    v1 = _hmac(secret, signed).hex()
    return {"Stripe-Signature": f"t={timestamp},v1={v1},v0={'0' * 64}"}


def slack(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """api.slack.com/authentication/verifying-requests-from-slack: the base string is
    `v0:<timestamp>:<body>`; `X-Slack-Signature: v0=<hex HMAC-SHA256>`."""
    base = f"v0:{timestamp}:".encode() + body
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": "v0=" + _hmac(secret, base).hex(),
    }


def shopify(secret: str, body: bytes) -> dict[str, str]:
    """shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook: the
    base64 of the HMAC-SHA256 digest of the raw body, in X-Shopify-Hmac-Sha256."""
    return {"X-Shopify-Hmac-Sha256": base64.b64encode(_hmac(secret, body)).decode()}


def generic(
    secret: str, body: bytes, header: str, *, timestamp: int | None = None, encoding: str = "hex"
) -> dict[str, str]:
    """Stepline's generic scheme: HMAC-SHA256 over the body, or over `<timestamp>.<body>`."""
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    digest = _hmac(secret, message)
    value = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    headers = {header: value}
    if timestamp is not None:
        headers["X-Timestamp"] = str(timestamp)
    return headers
