"""Webhook authentication, checked over the raw body bytes exactly as each sender signs them.

Every comparison is constant-time (`hmac.compare_digest`); a timestamped scheme refuses a
timestamp more than five minutes away from now (replays). Header names are lower case.

- GitHub:  `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
- Stripe:  `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=...]`
- Slack:   `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>` with
           `X-Slack-Request-Timestamp: <ts>`
- Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`
- hmac:    a header of your choice with an optional prefix, hex or base64, over the body or,
           with a timestamp header, over `"<timestamp>.<body>"`
- header:  a header of your choice that carries the secret itself
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request is not signed by the holder of the secret (answered 401)."""


@dataclass(frozen=True)
class Scheme:
    """How one webhook proves its sender: the preset and, for the generic ones, its details."""

    auth: str
    secret: str
    header: str | None = None
    encoding: str = "hex"
    prefix: str = ""
    timestamp_header: str | None = None


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _same(expected: bytes, given: bytes) -> bool:
    return hmac.compare_digest(expected, given)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureError(f"The {name} header is missing.")
    return value.strip()


def _fresh(timestamp: str, now: float) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("The signature timestamp is not a number.") from None
    if abs(now - sent) > TOLERANCE_SECONDS:
        raise SignatureError("The signature timestamp is more than 5 minutes away (replay?).")


def _hex(value: str) -> bytes:
    return value.lower().encode("ascii", "replace")


def _github(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    given = _header(headers, "X-Hub-Signature-256")
    expected = b"sha256=" + _digest(scheme.secret, body).hex().encode()
    if not _same(expected, _hex(given)):
        raise SignatureError("The X-Hub-Signature-256 signature does not match.")


def _stripe(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    pairs = [part.split("=", 1) for part in _header(headers, "Stripe-Signature").split(",")]
    items = [(p[0].strip(), p[1].strip()) for p in pairs if len(p) == 2]
    timestamps = [v for k, v in items if k == "t"]
    signatures = [v for k, v in items if k == "v1"]
    if len(timestamps) != 1 or not signatures:
        raise SignatureError("The Stripe-Signature header has no t= and v1= parts.")
    expected = _digest(scheme.secret, timestamps[0].encode() + b"." + body).hex().encode()
    if not any(_same(expected, _hex(signature)) for signature in signatures):
        raise SignatureError("No v1 signature in Stripe-Signature matches.")
    _fresh(timestamps[0], now)


def _slack(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    timestamp = _header(headers, "X-Slack-Request-Timestamp")
    given = _header(headers, "X-Slack-Signature")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + _digest(scheme.secret, base).hex().encode()
    if not _same(expected, _hex(given)):
        raise SignatureError("The X-Slack-Signature signature does not match.")
    _fresh(timestamp, now)


def _decode(value: str, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            return base64.b64decode(value.encode("ascii"), validate=True)
        return bytes.fromhex(value)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SignatureError(f"The signature is not {encoding}.") from None


def _shopify(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    given = _decode(_header(headers, "X-Shopify-Hmac-Sha256"), "base64")
    if not _same(_digest(scheme.secret, body), given):
        raise SignatureError("The X-Shopify-Hmac-Sha256 signature does not match.")


def _generic(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    assert scheme.header
    given = _header(headers, scheme.header)
    if scheme.prefix:
        if not given.startswith(scheme.prefix):
            raise SignatureError(f"The {scheme.header} signature does not start with the prefix.")
        given = given[len(scheme.prefix) :]
    message = body
    if scheme.timestamp_header:
        timestamp = _header(headers, scheme.timestamp_header)
        message = timestamp.encode() + b"." + body
    if not _same(_digest(scheme.secret, message), _decode(given, scheme.encoding)):
        raise SignatureError(f"The {scheme.header} signature does not match.")
    if scheme.timestamp_header:
        _fresh(timestamp, now)


def _static(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    assert scheme.header
    given = _header(headers, scheme.header)
    if not _same(scheme.secret.encode(), given.encode()):
        raise SignatureError(f"The {scheme.header} header does not hold the secret.")


VERIFIERS: dict[str, Callable[[Scheme, Mapping[str, str], bytes, float], None]] = {
    "github": _github,
    "stripe": _stripe,
    "slack": _slack,
    "shopify": _shopify,
    "hmac": _generic,
    "header": _static,
}


def verify(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise SignatureError unless the request is authentic under `scheme` at unix time `now`."""
    VERIFIERS[scheme.auth](scheme, headers, body, now)
