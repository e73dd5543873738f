"""Generic HTTP API keys: a header, a bearer token, basic auth, a query parameter."""

from __future__ import annotations

from pydantic import Field

from app.credentials.base import CredentialKind, KindFields
from app.credentials.fields import secret_field

HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"  # an HTTP token (RFC 9110)


class HttpHeaderFields(KindFields):
    header_name: str = Field(
        min_length=1, max_length=200, pattern=HEADER_NAME, description="Header, e.g. X-Api-Key."
    )
    value: str = secret_field(min_length=1, max_length=4000, description="The header's value.")


class HttpHeader(CredentialKind):
    kind = "http_header"
    name = "HTTP header"
    description = "An API key sent in a request header of your choice."
    Fields = HttpHeaderFields


class HttpBearerFields(KindFields):
    token: str = secret_field(min_length=1, max_length=4000, description="The bearer token.")


class HttpBearer(CredentialKind):
    kind = "http_bearer"
    name = "HTTP bearer token"
    description = "A token sent as the Authorization: Bearer header."
    Fields = HttpBearerFields


class HttpBasicFields(KindFields):
    username: str = Field(min_length=1, max_length=200, description="User name.")
    password: str = secret_field(min_length=1, max_length=1000, description="Password.")


class HttpBasic(CredentialKind):
    kind = "http_basic"
    name = "HTTP basic auth"
    description = "A user name and password sent as the Authorization: Basic header."
    Fields = HttpBasicFields


class HttpQueryFields(KindFields):
    param_name: str = Field(
        min_length=1, max_length=200, description="Query parameter, e.g. api_key."
    )
    value: str = secret_field(min_length=1, max_length=4000, description="The parameter's value.")


class HttpQuery(CredentialKind):
    kind = "http_query"
    name = "API key in the query"
    description = "An API key sent as a query parameter of every request."
    Fields = HttpQueryFields
