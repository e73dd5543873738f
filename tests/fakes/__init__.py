"""Local fake servers for tests: scripted HTTP(S), a counting listener, a fake Slack."""
