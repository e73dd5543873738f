"""Use cases shared by the web pages, the JSON API and the webhook ingress, one package per
concept: executions, workflows, webhooks, scheduling, connections, accounts. `errors` (what
services raise) and `idempotency` (the API's idempotency keys) serve several of them.
"""
