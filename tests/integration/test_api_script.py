"""A script drives Stepline with nothing but the API and a token: create from JSON, trigger,
poll to completion, read the step outputs; then re-run and export, as a deploy script would."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, issue_token

DEFINITION = json.loads(
    """
{
  "name": "Welcome a customer",
  "description": "Greets each new customer by name.",
  "trigger": {"type": "manual"},
  "run_key_template": "{{ trigger.customer.email }}",
  "steps": [
    {
      "key": "greeting",
      "type": "transform",
      "config": {"fields": {
        "text": "Hello {{ trigger.customer.name }}!",
        "email": "{{ trigger.customer.email | lower }}"
      }}
    },
    {"key": "record", "type": "log", "config": {"message": "{{ steps.greeting.text }}"}}
  ]
}
"""
)


def test_a_script_runs_a_workflow_end_to_end_through_the_api(
    app: Flask, client: FlaskClient
) -> None:
    # Given only a token (created on the Settings page) and the JSON definition
    api = Api(client, issue_token(app))

    # When the script creates the workflow, enables it and triggers it
    created = api.post("/workflows", DEFINITION, headers={"Idempotency-Key": "deploy-1"})
    assert created.status_code == 201
    workflow_id = created.get_json()["id"]
    assert api.post(f"/workflows/{workflow_id}/enable").get_json()["enabled"] is True
    triggered = api.post(
        f"/workflows/{workflow_id}/trigger",
        {"customer": {"name": "Ann", "email": "Ann@Example.com"}},
        headers={"Idempotency-Key": "signup-42"},
    )
    assert triggered.status_code == 202

    # And polls the execution until it is finished
    execution = api.wait(triggered.get_json()["id"])

    # Then it reads each step's output
    assert execution["status"] == "completed"
    outputs = {step["key"]: step["output"] for step in execution["steps"]}
    assert outputs["greeting"] == {"text": "Hello Ann!", "email": "ann@example.com"}
    assert outputs["record"]["message"] == "Hello Ann!"

    # And finds the run again by its run key, among the workflow's executions
    found = api.get(f"/workflows/{workflow_id}/executions", run_key="Ann@Example.com")
    assert [item["id"] for item in found.get_json()["items"]] == [execution["id"]]

    # And re-runs it with other data, then exports the definition for another install
    rerun = api.post(
        f"/workflows/executions/{execution['id']}/rerun",
        {"trigger_data": {"customer": {"name": "Bo", "email": "bo@example.com"}}},
    )
    again = api.wait(rerun.get_json()["id"])
    assert again["steps"][1]["output"]["message"] == "Hello Bo!"
    exported = api.get(f"/workflows/{workflow_id}/export").get_json()
    assert [(s["key"], s["config"]) for s in exported["workflow"]["steps"]] == [
        (s["key"], s["config"]) for s in DEFINITION["steps"]
    ]
    assert exported["workflow"]["name"] == DEFINITION["name"]
