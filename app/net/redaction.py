"""Keeping URLs out of errors and logs.

A URL's path and query can be a credential (a Slack incoming-webhook URL is one). requests'
and urllib3's exception messages quote the path, and urllib3 logs each request line at DEBUG;
so failures are rewritten into short messages naming the host only, and those log records
have their path replaced.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading

import requests
import urllib3.exceptions

from app.net import errors

# urllib3 loggers whose records quote request paths (request line, retry bookkeeping).
URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")
REDACTED = "[path redacted]"
_install_lock = threading.Lock()


class RedactPaths(logging.Filter):
    """Replace request paths ("/...") and URLs in urllib3's log arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drop the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                REDACTED if isinstance(arg, str) and (arg.startswith("/") or "://" in arg) else arg
                for arg in record.args
            )
        return True


def install_log_redaction() -> None:
    """Attach RedactPaths to urllib3's loggers once per process (idempotent)."""
    with _install_lock:
        for name in URLLIB3_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactPaths) for f in logger.filters):
                logger.addFilter(RedactPaths())


def _root_reason(exc: BaseException) -> str:
    """The most specific OS-level reason in an exception chain ("Connection refused")."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) and current.reason:
            return str(current.reason)
        if isinstance(current, ssl.CertificateError):
            return "certificate does not match the host name"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        stack.extend(e for e in linked if isinstance(e, BaseException))
    return type(exc).__name__


def describe_failure(exc: BaseException, host: str, timeout: float) -> errors.OutboundError:
    """An OutboundError for a transport failure, naming the host but never the URL."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.OutboundTimeoutError(f"connecting to {host!r} timed out")
    # urllib3's NewConnectionError subclasses its TimeoutError: test the read timeouts only.
    if isinstance(
        exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError
    ):
        return errors.OutboundTimeoutError(f"{host!r} did not answer within {timeout:g}s")
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.TLSError(f"TLS with {host!r} failed: {_root_reason(exc)}")
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return errors.InvalidURLError(f"a header for {host!r} has an invalid name or value")
    if isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | urllib3.exceptions.HTTPError
        | http.client.HTTPException
        | OSError,
    ):
        return errors.OutboundConnectionError(f"connection to {host!r} failed: {_root_reason(exc)}")
    return errors.OutboundConnectionError(f"request to {host!r} failed: {type(exc).__name__}")


def redact_secrets(text: str, secrets: list[str | None]) -> str:
    """`text` with every occurrence of each (non-trivial) secret value replaced."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text
