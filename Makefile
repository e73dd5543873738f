# The two commands of README.md: `make run` and `make test`. Each sets itself up and is idempotent.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export FLASK_APP := wsgi

.PHONY: run test setup lint fmt lock hooks chromium docker-compose

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload

# Tests run in one process per CPU (pytest-xdist); each worker owns its databases and ports.
test: setup chromium docker-compose lint
	$(BIN)/pytest -n auto --dist worksteal $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# Format and fix what ruff can (the pre-commit hooks run the same two commands).
fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# requirements.lock: the exact versions (with hashes) the production image installs, resolved
# from pyproject.toml's dependencies for every platform. Run it after changing them; versions
# already locked stay unless you ask: `make lock LOCK_ARGS="--upgrade-package flask"` (or
# `--upgrade`). Needs the package index.
lock: $(VENV)/.dev-stamp
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --output-file requirements.lock $(LOCK_ARGS)

# The git hooks of .pre-commit-config.yaml (ruff check, ruff format on the staged files).
hooks: $(VENV)/.dev-stamp
	$(BIN)/pre-commit install

# Contributors' tools (uv, pre-commit): not needed by `make run` or `make test`.
$(VENV)/.dev-stamp: $(VENV)/.setup-stamp
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.setup-stamp static/vendor/htmx.min.js

$(VENV)/.setup-stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

# The compose test validates docker-compose.yml with Debian's docker-compose (no engine needed).
docker-compose:
	@command -v docker-compose >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq docker-compose; }
