"""The scheduler's jobs: claim due triggers (due_triggers), fire schedules, poll the polling
triggers.
"""
