"""Connections to outside accounts (Google): list, store what OAuth granted, revoke."""
