"""A local fake Google on a FakeServer: the OpenID provider and the APIs the product calls.

OpenID/OAuth: discovery, JWKS (an RSA key from joserfc), authorize (auto-consent: redirects
straight back with a code and the state), token (authorization_code with PKCE S256, and
refresh_token; RS256 id_token echoing the nonce, `iss` = its own URL), revoke, userinfo.
Tests control it: `account` (who consents), `deny` (the user refuses), `invalid_grant` (the
refresh token is refused), `refresh_calls` (counted), `expire_access_tokens()`.

The APIs (Gmail, Sheets, Drive, Calendar) live in tests/fakes/google_apis.py, with state the
tests set: `fake.gmail.deliver(...)`, `fake.sheets.add_row(...)`, `fake.drive.add_file(...)`,
`fake.calendar.add_event(...)`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.google_apis import FakeGmail, Mailbox
from tests.fakes.google_files import FakeCalendar, FakeDrive, FakeSheets
from tests.fakes.http import FakeServer, RecordedRequest, Reply

CLIENT_ID = "stepline-test.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-client-secret"


@dataclass
class Grant:
    """What one authorization gave: the account, the scopes, and its tokens."""

    email: str
    scopes: set[str]
    refresh_token: str
    access_tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch)
    revoked: bool = False


class FakeGoogle:
    """Serves Google's OAuth and API endpoints from `server` (see the module docstring)."""

    def __init__(self, server: FakeServer, account: str = "alice.google@example.com") -> None:
        self.server = server
        self.account = account
        self.deny = False
        self.invalid_grant = False
        self.expires_in = 3600
        self.refresh_calls = 0
        self.authorize_requests: list[dict[str, str]] = []
        self.grants: dict[str, Grant] = {}  # by refresh token
        self.revoked_tokens: list[str] = []
        self.refresh_gate: threading.Event | None = None  # hold refreshes until set
        self._codes: dict[str, dict[str, str]] = {}
        self._granted: dict[str, set[str]] = {}  # account → scopes granted so far
        self._lock = threading.Lock()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "fake-1", "use": "sig"})
        self.gmail = FakeGmail(Mailbox(lambda: self.account))
        self.sheets = FakeSheets()
        self.drive = FakeDrive()
        self.calendar = FakeCalendar()
        server.on("GET", "/.well-known/openid-configuration", self._discovery)
        server.on("GET", "/oauth2/v3/certs", self._jwks)
        server.on("GET", "/o/oauth2/v2/auth", self._authorize)
        server.on("POST", "/token", self._token)
        server.on("POST", "/revoke", self._revoke)
        server.on("GET", "/v1/userinfo", self._userinfo)
        for method in ("GET", "POST"):
            for prefix, api in (
                ("/gmail/v1/", self.gmail),
                ("/v4/spreadsheets/", self.sheets),
                ("/drive/v3/", self.drive),
                ("/calendar/v3/", self.calendar),
            ):
                server.on_prefix(method, prefix, self._api(api))

    # -- what the app is configured with ----------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def metadata_url(self) -> str:
        return self.server.url("/.well-known/openid-configuration")

    def settings(self) -> dict[str, Any]:
        """App settings that point Stepline at this fake."""
        return {
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_SERVER_METADATA_URL": self.metadata_url,
            "GOOGLE_API_BASE_URLS": {
                "gmail": self.server.url("/gmail/v1"),
                "sheets": self.server.url("/v4"),
                "drive": self.server.url("/drive/v3"),
                "calendar": self.server.url("/calendar/v3"),
            },
            "OUTBOUND_ALLOWLIST": ("127.0.0.1/32",),
        }

    # -- test controls ---------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (401)."""
        with self._lock:
            for grant in self.grants.values():
                grant.access_tokens = dict.fromkeys(grant.access_tokens, 0.0)

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token handed out (to search for them elsewhere)."""
        with self._lock:
            found = []
            for refresh, grant in self.grants.items():
                found += [refresh, *grant.access_tokens]
            return found

    def grant_for(self, access_token: str) -> Grant | None:
        with self._lock:
            for grant in self.grants.values():
                expiry = grant.access_tokens.get(access_token)
                if expiry is not None and expiry > time.time() and not grant.revoked:
                    return grant
        return None

    # -- OpenID Connect ----------------------------------------------------------------------

    def _discovery(self, request: RecordedRequest) -> Reply:
        return Reply.json(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.server.url("/o/oauth2/v2/auth"),
                "token_endpoint": self.server.url("/token"),
                "userinfo_endpoint": self.server.url("/v1/userinfo"),
                "revocation_endpoint": self.server.url("/revoke"),
                "jwks_uri": self.server.url("/oauth2/v3/certs"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }
        )

    def _jwks(self, request: RecordedRequest) -> Reply:
        return Reply.json({"keys": [self.key.as_dict(private=False)]})

    def _authorize(self, request: RecordedRequest) -> Reply:
        query = {k: v[0] for k, v in request.query.items()}
        self.authorize_requests.append(query)
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != CLIENT_ID or not redirect_uri:
            return Reply.text("invalid_client", 400)
        if self.deny:
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        code = secrets.token_urlsafe(24)
        scopes = set(query.get("scope", "").split())
        with self._lock:
            if query.get("include_granted_scopes") == "true":
                scopes |= self._granted.get(self.account, set())
            self._codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": query.get("code_challenge", ""),
                "method": query.get("code_challenge_method", ""),
                "nonce": query.get("nonce", ""),
                "scope": " ".join(sorted(scopes)),
                "email": self.account,
            }
        return _redirect(redirect_uri, {"code": code, "state": state})

    def _client_ok(self, request: RecordedRequest, form: dict[str, str]) -> bool:
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            pair = base64.b64decode(basic[6:]).decode()
            return pair == f"{CLIENT_ID}:{CLIENT_SECRET}"
        return form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET

    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in request.form().items()}
        if not self._client_ok(request, form):
            return Reply.json({"error": "invalid_client"}, 401)
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        return Reply.json({"error": "unsupported_grant_type"}, 400)

    def _exchange_code(self, form: dict[str, str]) -> Reply:
        with self._lock:
            issued = self._codes.pop(form.get("code", ""), None)
        if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
            return Reply.json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if issued["method"] != "S256" or expected != issued["challenge"]:
            return Reply.json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        refresh = "1//" + secrets.token_urlsafe(32)
        grant = Grant(issued["email"], set(issued["scope"].split()), refresh)
        access = self._new_access(grant)
        with self._lock:
            self.grants[refresh] = grant
            self._granted[grant.email] = set(grant.scopes)
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": hashlib.sha256(grant.email.encode()).hexdigest()[:21],
            "email": grant.email,
            "email_verified": True,
            "iat": int(time.time()),
            "exp": int(time.time()) + 3600,
            "nonce": issued["nonce"],
        }
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return Reply.json(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": self.expires_in,
                "scope": issued["scope"],
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )

    def _new_access(self, grant: Grant) -> str:
        access = "ya29." + secrets.token_urlsafe(32)
        with self._lock:
            grant.access_tokens[access] = time.time() + self.expires_in
        return access

    def _refresh(self, form: dict[str, str]) -> Reply:
        with self._lock:
            self.refresh_calls += 1
            grant = self.grants.get(form.get("refresh_token", ""))
        if self.refresh_gate is not None:
            self.refresh_gate.wait(10)
        if self.invalid_grant or grant is None or grant.revoked:
            return Reply.json({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
        return Reply.json(
            {
                "access_token": self._new_access(grant),
                "expires_in": self.expires_in,
                "scope": " ".join(sorted(grant.scopes)),
                "token_type": "Bearer",
            }
        )

    def _revoke(self, request: RecordedRequest) -> Reply:
        token = request.form().get("token", [""])[0]
        with self._lock:
            self.revoked_tokens.append(token)
            for refresh, grant in self.grants.items():
                if token == refresh or token in grant.access_tokens:
                    grant.revoked = True
                    return Reply.json({})
        return Reply.json({"error": "invalid_token"}, 400)

    def _userinfo(self, request: RecordedRequest) -> Reply:
        grant = self.grant_for(request.headers.get("authorization", "").removeprefix("Bearer "))
        if grant is None:
            return Reply.json({"error": "invalid_token"}, 401)
        return Reply.json({"email": grant.email, "email_verified": True})

    # -- the APIs ----------------------------------------------------------------------------

    def _api(self, api: Any) -> Any:
        def answer(request: RecordedRequest) -> Reply:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            grant = self.grant_for(token)
            if grant is None:
                return _error(
                    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
                )
            return api.handle(request, grant.scopes)

        return answer


def _redirect(uri: str, params: dict[str, str]) -> Reply:
    joiner = "&" if "?" in uri else "?"
    return Reply(302, b"", {"Location": uri + joiner + urlencode(params), "Connection": "close"})


def _error(status: int, message: str, reason: str) -> Reply:
    return Reply.json({"error": {"code": status, "message": message, "status": reason}}, status)
