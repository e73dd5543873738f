"""Google: endpoints, scopes, connection tokens (`tokens`) and the authorized API client shared
by the Google triggers and actions. Flask-free (the OAuth connect flow's Flask side lives in
app/web/google_oauth.py); every call goes through the guarded outbound client, and only base URLs
differ in tests."""
