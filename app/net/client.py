"""The guarded HTTP client: the one way Stepline talks to the outside world.

Every hop (the first request and each redirect) goes through PinnedAdapter, which refuses
non-public destinations before connecting. Redirects are followed here, not by requests, so
that each hop is counted, its scheme checked, and credentials dropped when the origin changes.
The body is read in pieces within a size cap and a total deadline.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests import PreparedRequest
from requests.structures import CaseInsensitiveDict

from app.net import dry, errors
from app.net.adapter import ALLOWED_SCHEMES, DEFAULT_PORTS, PinnedAdapter, Resolver
from app.net.deadline import Deadline, bounded
from app.net.policy import OutboundPolicy
from app.net.redaction import describe_failure, install_log_redaction
from app.net.responses import GuardedResponse

# Defaults of a client built without settings (app/settings.py has the same).
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "Stepline/0.1"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Dropped on any hop to another origin, whatever the caller marked sensitive.
ALWAYS_SENSITIVE = ("authorization", "proxy-authorization", "cookie")
BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")
READ_SIZE = 64 * 1024


class OutboundSettings(Protocol):
    """The settings a client is built from: `app.settings.Settings` has them (typed here
    rather than imported, because the settings module validates its allow-list with ours)."""

    @property
    def outbound_allowlist(self) -> tuple[str, ...]: ...
    @property
    def outbound_connect_timeout_seconds(self) -> float: ...
    @property
    def outbound_timeout_seconds(self) -> float: ...
    @property
    def outbound_max_response_bytes(self) -> int: ...
    @property
    def outbound_ca_bundle(self) -> str | None: ...


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL: a redirect that changes it is a cross-origin hop."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").rstrip("."), parts.port or DEFAULT_PORTS.get(scheme, 0)


def check_scheme(url: str) -> str:
    """The URL's host, after refusing any scheme but http/https and URLs without a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise errors.BlockedDestinationError(
            f"scheme {parts.scheme or '(none)'!r} refused: only http and https"
        )
    if not parts.hostname:
        raise errors.InvalidURLError("the URL has no host")
    return parts.hostname


class GuardedClient:
    """Sends one request at a time through the SSRF guard, following redirects by hand."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        verify: bool | str = True,
        sends_in_dry_runs: bool = False,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        # True only for credential exchanges (OAuth token refresh): see app/net/dry.py.
        self.sends_in_dry_runs = sends_in_dry_runs
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_redirects = min(max_redirects, MAX_REDIRECTS)
        self.verify = verify
        install_log_redaction()

    @classmethod
    def from_settings(
        cls,
        settings: OutboundSettings,
        *,
        resolver: Resolver | None = None,
        sends_in_dry_runs: bool = False,
    ) -> GuardedClient:
        """A client configured from the app's settings (outbound_*)."""
        return cls(
            OutboundPolicy.parse(settings.outbound_allowlist),
            resolver=resolver,
            connect_timeout=settings.outbound_connect_timeout_seconds,
            timeout=settings.outbound_timeout_seconds,
            max_response_bytes=settings.outbound_max_response_bytes,
            verify=settings.outbound_ca_bundle or True,
            sends_in_dry_runs=sends_in_dry_runs,
        )

    def _adapter(self) -> PinnedAdapter:
        if self.resolver is None:
            return PinnedAdapter(self.policy)
        return PinnedAdapter(self.policy, self.resolver)

    def post_json(
        self,
        url: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> GuardedResponse:
        """POST `payload` as a UTF-8 JSON body."""
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return self.request("POST", url, headers=merged, content=body, timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        follow_redirects: bool = True,
        sensitive_headers: Iterable[str] = (),
    ) -> GuardedResponse:
        """Send a request and read its response; raise an OutboundError subclass on failure.

        `timeout` (seconds, at most the client's own) bounds the whole exchange, redirects
        included; inside a step, so does what is left of the step's time limit.
        `sensitive_headers` name headers (besides Authorization and Cookie) that are dropped
        when a redirect leaves the original origin."""
        own = min(timeout or self.timeout, self.timeout)
        seconds, reason = bounded(own, urlsplit(url).hostname or "")
        with Deadline(seconds, reason) as deadline:
            return self._exchange(
                method,
                url,
                params,
                headers,
                content,
                deadline,
                follow_redirects,
                sensitive_headers,
            )

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        deadline: Deadline,
        follow_redirects: bool,
        sensitive_headers: Iterable[str],
    ) -> GuardedResponse:
        host = check_scheme(url)
        send_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
        )
        send_headers.update(headers or {})
        drop_on_cross_origin = {*ALWAYS_SENSITIVE, *(h.lower() for h in sensitive_headers)}
        method = method.upper()
        first = self._prepare(method, url, send_headers, content, params, host)
        current_url = str(first.url)
        if dry.is_recording() and not self.sends_in_dry_runs:
            self._not_sent(first, host, drop_on_cross_origin)
        start_origin = origin(current_url)

        adapter = self._adapter()
        try:
            for hop in range(self.max_redirects + 1):
                host = check_scheme(current_url)
                prepared = (
                    first
                    if hop == 0
                    else self._prepare(method, current_url, send_headers, content, None, host)
                )
                response = self._send(adapter, prepared, deadline, host)
                try:
                    location = response.headers.get("location")
                    redirected = follow_redirects and response.status_code in REDIRECT_STATUSES
                    if not (redirected and location):
                        return self._finish(response, current_url, hop, deadline, host)
                    status = response.status_code
                finally:
                    response.close()
                target = urlunsplit(urlsplit(urljoin(current_url, location))._replace(fragment=""))
                check_scheme(target)
                if (status == 303 and method != "HEAD") or (
                    status in (301, 302) and method == "POST"
                ):
                    method, content = "GET", None
                    for name in BODY_HEADERS:
                        send_headers.pop(name, None)
                if origin(target) != start_origin:
                    for name in drop_on_cross_origin:
                        send_headers.pop(name, None)
                current_url = target
            raise errors.TooManyRedirectsError(
                f"more than {self.max_redirects} redirects (last hop to {host!r})"
            )
        finally:
            adapter.close()

    def _not_sent(self, prepared: PreparedRequest, host: str, sensitive: set[str]) -> NoReturn:
        """A dry run: check the destination as far as can be done without a lookup, then
        raise RequestNotSent with the request as it would have gone out."""
        self.policy.check_name(host)
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            self.policy.check(host, literal)
        body = prepared.body
        raise dry.RequestNotSent(
            dry.WouldSend(
                method=str(prepared.method),
                url=str(prepared.url),
                headers=dict(prepared.headers),
                body=body.encode("utf-8") if isinstance(body, str) else body,
                sensitive_headers=tuple(sorted(sensitive)),
            )
        )

    def _prepare(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None,
        host: str,
    ) -> PreparedRequest:
        prepared = PreparedRequest()
        try:
            prepared.prepare(
                method=method, url=url, headers=dict(headers), data=content, params=params
            )
        except requests.exceptions.InvalidHeader:
            # requests' message quotes the header value, which may be a credential.
            raise errors.InvalidURLError(
                f"a header for {host!r} has an invalid name or value"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise errors.InvalidURLError(f"invalid URL ({type(exc).__name__})") from None
        return prepared

    def _send(
        self, adapter: PinnedAdapter, prepared: PreparedRequest, deadline: Deadline, host: str
    ) -> requests.Response:
        remaining = deadline.remaining()
        try:
            return adapter.send(
                prepared,
                stream=True,
                timeout=(min(self.connect_timeout, remaining), remaining),
                verify=self.verify,
            )
        except errors.OutboundError:
            raise
        except Exception as exc:
            # Chained exceptions carry the URL (path and query): raise without them.
            raise _failure(exc, host, deadline) from None

    def _finish(
        self,
        response: requests.Response,
        url: str,
        redirects: int,
        deadline: Deadline,
        host: str,
    ) -> GuardedResponse:
        declared = response.headers.get("content-length", "")
        raw = response.raw
        # Closed by hand on failure: urllib3 may already have let go of a half-read connection.
        connection = raw.connection
        body = bytearray()
        try:
            if (
                declared.isdigit()
                and int(declared) > self.max_response_bytes
                and not response.headers.get("content-encoding")
            ):
                raise self._too_large(host)
            while True:
                if connection is not None and connection.sock is not None:
                    # Each read waits at most for what is left of the deadline.
                    connection.sock.settimeout(deadline.remaining())
                chunk = raw.read1(READ_SIZE, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise self._too_large(host)
                deadline.remaining()
        except Exception as exc:
            if connection is not None:
                connection.close()
            if isinstance(exc, errors.OutboundError):
                raise
            raise _failure(exc, host, deadline) from None
        return GuardedResponse(
            status=response.status_code,
            reason=response.reason or "",
            headers=CaseInsensitiveDict(dict(response.headers)),
            content=bytes(body),
            url=url,
            redirects=redirects,
        )

    def _too_large(self, host: str) -> errors.ResponseTooLargeError:
        return errors.ResponseTooLargeError(
            f"the response from {host!r} is larger than {self.max_response_bytes} bytes"
        )


def _failure(exc: BaseException, host: str, deadline: Deadline) -> errors.OutboundError:
    """The error for a transport failure; past the deadline, the cut socket means a timeout."""
    if deadline.expired:
        return deadline.timed_out(host)
    failure = describe_failure(exc, host, deadline.seconds)
    if deadline.reason and isinstance(failure, errors.OutboundTimeoutError):
        return deadline.timed_out(host)  # a read given what was left of the step's time
    return failure
