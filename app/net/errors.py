"""Errors of the guarded HTTP client, under one root.

Messages name the destination host at most, never a URL: paths and query strings carry
secrets (a Slack webhook URL is a credential), and these messages end up in execution rows,
logs and queue messages.
"""

from __future__ import annotations


class OutboundError(Exception):
    """Root of the guarded client's errors. `retryable` says whether trying later may help."""

    retryable: bool = False


class InvalidURLError(OutboundError):
    """The URL is malformed or has no host."""


class BlockedDestinationError(OutboundError):
    """The destination was refused before any connection: scheme or address not allowed."""


class TooManyRedirectsError(OutboundError):
    """More redirect hops than the client follows."""


class ResponseTooLargeError(OutboundError):
    """The response body is larger than the configured cap."""


class OutboundTimeoutError(OutboundError):
    """The remote side did not answer within the connect or total timeout."""

    retryable = True


class OutboundConnectionError(OutboundError):
    """The connection failed or broke (DNS failure, refused, reset)."""

    retryable = True


class TLSError(OutboundConnectionError):
    """The TLS handshake or certificate verification failed."""

    retryable = False
