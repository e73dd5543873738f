"""Executions: start, cancel and re-run them (lifecycle), the dashboard's reads (queries,
stats), bulk re-run, retention, and the admission of new work (rate limits, back-pressure).
"""
