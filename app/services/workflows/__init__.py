"""Workflows: their definitions (crud, specs), the Workflows page's rows (listing), saved
versions and what changed between them (versions, version_diff), the editor's use cases
on a draft (drafts, draft_edits, step_checks, validation_messages, trials, draft_runs), and trigger
health (trigger_health).
"""
