"""Credentials: the kinds (plugins, entry-point group `stepline.credentials`), the field
markers actions use (`credential_field`, `secret_field`) and the run-time reader (`store.load`).

The core reads credentials; the use cases (create, test, rotate, delete) are
app/services/credentials/.
"""
