"""Accounts: users (register, sign in) and their API tokens."""
