"""Property-based run of schemathesis against /api/v1/openapi.json, through the WSGI app.

Every documented operation gets generated requests, valid and invalid (bounded, so the run
stays quick), sent with a token, both at random ids and at ids of real objects. Each response
must not be a 5xx and must match the document: a documented status, content type, headers and
body schema; invalid input must be refused; the token must be required.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    RejectedPositiveData,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_client import Api, issue_token
from tests.integration.test_api_tenancy import google_connection

EXAMPLES = 10

# The fields whose rules a JSON Schema cannot state, and the document states in words instead
# (test_the_document_states_the_rules_a_schema_cannot): a schema-valid request may be refused
# with a 422 naming one of them, never for anything else.
# A step at any depth: in a loop's steps, a branch's, an otherwise's.
STEP = r"steps\.\d+(\.(branches\.\d+\.|otherwise\.)?steps\.\d+)*"
STATED = re.compile(
    rf"(workflow\.)?({STEP}\.(key|type|config(\..+)?|branches\.\d+\.key)|steps"
    r"|trigger\.config(\..+)?|run_key_template|settings(\..+)?)"
    r"|fields(\..+)?"  # a credential's fields (create, update)
)


@schemathesis.check
def positive_data_accepted_or_refused_as_stated(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """positive_data_acceptance, except a 422 naming a field whose stated rule was broken, and
    a 412: the request named a version (If-Match, or a PUT body's `version`) the workflow is no
    longer at, a state of the workflow as a 409 is."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        error = (response.json() or {}).get("error", {}) if response.content else {}
        field = error.get("field")
        if response.status_code == 422 and isinstance(field, str) and STATED.fullmatch(field):
            return None
        if response.status_code == 412 and error.get("code") == "precondition_failed":
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_accepted_or_refused_as_stated,
    ignored_auth,
]
# The token is sent with every request, not generated; unknown query parameters are ignored by
# the API (as documented), so they are not generated as "invalid" input either; nor is text
# that cannot be stored (NUL, unpaired surrogates), which the document's introduction rules out.
CONFIG = schemathesis.Config.from_str(
    """
[generation]
with-security-parameters = false
allow-extra-parameters = false
allow-x00 = false
codec = "utf-8"
"""
)
FLOW = {
    "name": "Fuzzed",
    "steps": [
        {"key": "shape", "type": "transform", "config": {"fields": {"n": "{{ trigger.n }}"}}},
        {"key": "say", "type": "log", "config": {"message": "{{ trigger.who.name }}"}},
    ],
}


@pytest.fixture
def fuzzable(app_config: dict[str, object]) -> None:
    """No rate limit to trip over, and no worker: the run is about the API's answers."""
    app_config["API_RATE_LIMIT"] = "100000/minute"
    app_config["EMBEDDED_WORKER"] = False


def run_cases(
    strategy: Any, call: Callable[[schemathesis.Case], None], examples: int = EXAMPLES
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        call(case)

    run()


@pytest.mark.usefixtures("fuzzable")
def test_every_operation_answers_as_documented(app: Flask, client: FlaskClient) -> None:
    # Given a user with a token, an enabled workflow and one execution of it
    api = Api(client, issue_token(app))
    workflow_id = api.create(FLOW, enable=True)["id"]
    execution_id = api.trigger(workflow_id, {"n": 1})
    connection_id = google_connection(app, "alice@example.com")
    spare = api.post("/tokens", {"name": "spare"}).get_json()["id"]  # revoking it harms no call
    credential = {"kind": "http_bearer", "name": "Fuzzed API", "fields": {"token": "tok-fuzz"}}
    credential_id = api.post("/connections/credentials", credential).get_json()["id"]
    real_ids = {
        "workflow_id": workflow_id,
        "execution_id": execution_id,
        "connection_id": connection_id,
        "version": 1,
        "key": "shape",
        "token_id": spare,
        "credential_id": credential_id,
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)

    def call(case: schemathesis.Case) -> None:
        headers = api.headers()
        valid = case.meta is not None and case.meta.generation.mode.is_positive
        if valid and case.headers and "Idempotency-Key" in case.headers:
            # The document asks for a unique key per request: generated ones repeat
            headers["Idempotency-Key"] = uuid.uuid4().hex
        case.call_and_validate(headers=headers, checks=CHECKS)

    # When each operation gets valid and invalid requests, at random and at real ids
    operations = [cast(Ok[Any], result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {name: real_ids[name] for name in names}
        # (Invalid requests need an input to spoil: a parameter or a body.)
        inputs = bool(list(operation.query) or list(operation.headers) or list(operation.body))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Then every answer conforms (call_and_validate raises on the first that does not)
            if mode is GenerationMode.POSITIVE or inputs or names:
                run_cases(operation.as_strategy(generation_mode=mode), call)
            if fixed and (mode is GenerationMode.POSITIVE or inputs):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                run_cases(strategy, call)


def test_the_document_states_the_rules_a_schema_cannot(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    steps = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in schemas["StepSpec"]["oneOf"]]
    triggers = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in schemas["TriggerSpec"]["oneOf"]]

    assert steps and triggers
    for variant in steps + triggers:
        config = variant["properties"]["config"]["description"]
        assert "rules a schema cannot state" in config and "422 naming the field" in config
    assert all("unique within the workflow" in s["properties"]["key"]["description"] for s in steps)
    loop, paths = schemas["StepSpec_loop"]["properties"], schemas["StepSpec_paths"]["properties"]
    assert "rules a schema cannot state" in loop["steps"]["description"].lower()
    assert "at most 3 deep" in loop["steps"]["description"]
    assert "ends its list" in paths["branches"]["description"]
    assert all("steps" not in s["properties"] for s in steps if s is not schemas["StepSpec_loop"])
    workflow = schemas["WorkflowSpec"]["properties"]
    assert "must parse" in workflow["run_key_template"]["description"]
    assert "422 naming the field" in workflow["settings"]["description"]
    kinds = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in schemas["CredentialCreate"]["oneOf"]]
    assert len(kinds) >= 10
    for variant in kinds:
        fields = variant["properties"]["fields"]["description"]
        assert "Rules a schema cannot state" in fields and "422 naming the field" in fields
