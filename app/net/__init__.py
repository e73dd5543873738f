"""The one guarded HTTP client used by every outbound call (actions, Slack, Google, OAuth).

Use `GuardedClient.from_settings(settings)` and call `request` or `post_json`; a library that
brings its own requests.Session (Authlib) gets the address guard through `guard_session`.
Destinations are checked after resolution and the connection goes to the checked address
(see adapter.py); redirects are re-checked hop by hop; only http/https; connect and total
timeouts; a response size cap. `STEPLINE_OUTBOUND_ALLOWLIST` (CIDRs or host names) opens chosen
private destinations; there is no switch that turns the guard off. In a dry run (dry.py) the
client records the request it would send instead of sending it.

Why not `requests-hardened` (1.3.0, the maintained library we looked at first): its adapter
pins the checked IP the same way, but it can only allow *all* loopback addresses or none (no
allow-list of networks or hosts), and its address check rests on `ipaddress.is_private`,
which on Python 3.11 passes site-local `fec0::/10` and IPv4-compatible `::127.0.0.1`. Wrapping
it would have meant replacing the method that does the check, i.e. all of it.
"""

from __future__ import annotations

from app.net.adapter import guard_session
from app.net.client import GuardedClient
from app.net.errors import (
    BlockedDestinationError,
    InvalidURLError,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TLSError,
    TooManyRedirectsError,
)
from app.net.policy import OutboundPolicy
from app.net.responses import GuardedResponse, retry_after_seconds

__all__ = [
    "BlockedDestinationError",
    "GuardedClient",
    "GuardedResponse",
    "InvalidURLError",
    "OutboundConnectionError",
    "OutboundError",
    "OutboundPolicy",
    "OutboundTimeoutError",
    "ResponseTooLargeError",
    "TLSError",
    "TooManyRedirectsError",
    "guard_session",
    "retry_after_seconds",
]
