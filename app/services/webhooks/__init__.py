"""Webhooks: receive a request on a webhook URL (receiver), read it as trigger data
(request_data), find what a token names (token_lookup), and start nothing twice for one
delivery (duplicate_deliveries).
"""
