"""The OpenAPI document states what scripts rely on: token routes and scopes, ETag and If-Match
(412), the rate-limit headers on every answer, webhook rotation."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

RATE_HEADERS = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"}


def _document(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/v1/openapi.json").get_json()
    return document


def test_every_answer_documents_the_rate_limit_headers(client: FlaskClient) -> None:
    document = _document(client)

    assert set(document["components"]["headers"]) == RATE_HEADERS
    for name, response in document["components"]["responses"].items():
        assert RATE_HEADERS <= set(response["headers"]), name
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if "$ref" not in response:
                    assert RATE_HEADERS <= set(response["headers"]), f"{method} {path} {status}"


def test_workflow_writes_document_etag_and_if_match(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    one = paths["/api/v1/workflows/{workflow_id}"]

    assert "ETag" in one["get"]["responses"]["200"]["headers"]
    assert "ETag" in one["put"]["responses"]["200"]["headers"]
    for method in ("put", "delete"):
        assert "If-Match" in [p["name"] for p in one[method]["parameters"]], method
        assert one[method]["responses"]["412"] == {
            "$ref": "#/components/responses/PreconditionFailed"
        }
    rotate = paths["/api/v1/workflows/{workflow_id}/webhook/rotate"]["post"]
    assert set(rotate["responses"]) >= {"200", "403", "404", "409"}


def test_token_routes_and_scopes_are_documented(client: FlaskClient) -> None:
    document = _document(client)
    paths = document["paths"]

    assert set(paths["/api/v1/tokens"]) == {"get", "post"}
    assert set(paths["/api/v1/tokens/{token_id}"]) == {"delete"}
    created = paths["/api/v1/tokens"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/TokenCreated")
    assert "stp_[A-Za-z0-9_-]{43}" in document["info"]["description"]
    # A read token is refused on writes: every non-GET operation that needs a token lists 403
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method != "get" and operation.get("security") != []:
                assert "403" in operation["responses"], f"{method} {path}"
