# Two commands: `make run` serves on http://127.0.0.1:4185 with ./storage; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-postgresql test-quick lint format install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/airsequel serve --host 127.0.0.1 --port 4185 --data-dir storage

# The whole suite on the default SQLite control plane, then again with every server's control plane in a
# PostgreSQL that the suite starts itself (Debian's postgresql package; tests/control_planes.py).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-postgresql

# The PostgreSQL pass alone: not the browser tests (the UI does not see the control plane), nor the tests about
# control.sqlite itself (marked sqlite_control_plane).
test-postgresql: $(DEV_STAMP)
	$(BIN)/python -m pytest --control-plane=postgresql -m "not browser and not sqlite_control_plane" $(PYTEST_ARGS)

# The suite without the slow, browser and end-to-end (real server process) tests: for the edit-test loop.
test-quick: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser and not e2e" $(PYTEST_ARGS)

# ruff (lint and format) and mypy, as configured in pyproject.toml; CI runs this before the tests.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Rewrite the tree in the project's format and apply ruff's safe fixes.
format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmark: peers go into their own virtualenv, never into the project's dependencies.
bench/.venv-peers/bin/datasette:
	$(PYTHON) -m venv bench/.venv-peers
	bench/.venv-peers/bin/pip install --quiet datasette datasette-graphql sqlite-utils

bench: $(DEV_STAMP) bench/.venv-peers/bin/datasette
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk sqlite3)
	# The PostGraphile peer: Debian's node, npm and PostgreSQL (its npm packages: bench/postgraphile_peer.py).
	(command -v npm && ls /usr/lib/postgresql/*/bin/postgres) >/dev/null 2>&1 || (apt-get update -qq && \
		apt-get install -y -qq nodejs npm postgresql) || echo "no node/npm/PostgreSQL: PostGraphile not measured"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
