"""The OpenAPI document, the docs page and the registry endpoints."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.api import docs, openapi
from app.api.schemas import ActionKindList, ErrorResponse, Me, TriggerKindList
from app.extensions import container
from tests.integration.test_api_auth import bearer, issue_token


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs_in(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_openapi_document_is_public_and_well_formed(client: FlaskClient) -> None:
    # When anyone fetches the document, without a token
    response = client.get("/api/v1/openapi.json")

    # Then it is an OpenAPI 3.1 document whose every reference resolves
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for ref in refs_in(document):
        assert resolve(document, ref) is not None
    operation_ids = [
        spec["operationId"] for methods in document["paths"].values() for spec in methods.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_api_route_is_documented_and_every_entry_is_routed(app: Flask) -> None:
    # Given the app's routes under the API blueprint
    routed = {
        (rule.endpoint, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint not in openapi.UNDOCUMENTED
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }

    # When the operation table is compared with them
    documented = {(op.endpoint, op.method) for op in openapi.OPERATIONS}

    # Then each route has exactly one entry and each entry a route
    assert routed == documented
    assert len(openapi.OPERATIONS) == len(documented)
    with app.test_request_context():
        openapi.build_document(app)  # raises if an entry names a route that does not exist


def test_operations_declare_their_errors_and_the_error_shape(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()

    me = document["paths"]["/api/v1/me"]["get"]
    assert set(me["responses"]) == {"200", "401", "429"}
    assert document["security"] == [{"bearerToken": []}]
    rate_limited = document["components"]["responses"]["RateLimited"]
    assert rate_limited["headers"]["Retry-After"]["required"] is True
    error_schema = document["components"]["schemas"]["ErrorResponse"]
    assert error_schema["required"] == ["error"]


def test_responses_match_their_documented_models(app: Flask, client: FlaskClient) -> None:
    # Given a token
    headers = bearer(issue_token(app))

    # When each documented GET is called, with and without the token
    # Then every body validates against the model the document names
    Me.model_validate(client.get("/api/v1/me", headers=headers).get_json())
    ActionKindList.model_validate(client.get("/api/v1/actions", headers=headers).get_json())
    TriggerKindList.model_validate(client.get("/api/v1/triggers", headers=headers).get_json())
    for path in ("/api/v1/me", "/api/v1/actions", "/api/v1/triggers"):
        ErrorResponse.model_validate(client.get(path).get_json())


def test_the_registry_lists_every_kind_with_its_config_schema(
    app: Flask, client: FlaskClient
) -> None:
    headers = bearer(issue_token(app))

    actions = client.get("/api/v1/actions", headers=headers).get_json()["items"]
    triggers = client.get("/api/v1/triggers", headers=headers).get_json()["items"]

    assert [a["type"] for a in actions] == container(app).handlers.actions.types()
    assert [t["type"] for t in triggers] == container(app).handlers.triggers.types()
    log = next(a for a in actions if a["type"] == "log")
    assert log["sends"] is False
    assert log["config_schema"]["type"] == "object"
    assert "message" in log["config_schema"]["properties"]
    assert next(t for t in triggers if t["type"] == "manual")["polling"] is False


def test_the_docs_page_lists_every_operation_without_a_cdn(client: FlaskClient) -> None:
    # When anyone opens the docs page
    response = client.get("/api/v1/docs")

    # Then it is server-rendered HTML naming each operation and schema
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    document = client.get("/api/v1/openapi.json").get_json()
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            assert f'id="op-{spec["operationId"]}"' in html
            assert f"<code>{path}</code>" in html
            assert method.upper() in html
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "retry after <code>Retry-After</code> seconds" in html
    # And it loads nothing from elsewhere
    assert "https://" not in html.split("<main", 1)[0]
    assert "<script" not in html.split("</head>", 1)[1]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_descriptions_are_escaped_and_show_code_spans() -> None:
    assert str(docs.inline_code("<b>`a<i>`</b> `x`")) == (
        "&lt;b&gt;<code>a&lt;i&gt;</code>&lt;/b&gt; <code>x</code>"
    )
