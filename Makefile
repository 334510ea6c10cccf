# Bayflow: `make run` starts the hub on an embedded SQLite database; `make test` runs the
# linters and the whole suite. Both create .venv and install the locked dependencies first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test lint typecheck unit bench lock clean

run: $(RUN_STAMP)
	$(BIN)/bayflow db upgrade
	exec $(BIN)/bayflow serve

test: lint typecheck unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/pytest

bench: $(BENCH_STAMP)
	@set -e; for script in bench/[!_]*.py; do \
		echo "== $$script" >&2; \
		$(BIN)/python $$script; \
	done

# Regenerate the lock files after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --no-header -o requirements/run.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header \
		-c requirements/run.lock -o requirements/dev.lock
	uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --no-header \
		-c requirements/dev.lock -o requirements/bench.lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements/run.lock pyproject.toml | $(BIN)/python
	$(PIP) install -r requirements/run.lock
	$(PIP) install --no-deps -e .
	touch $@

$(DEV_STAMP): requirements/dev.lock pyproject.toml | $(BIN)/python
	$(PIP) install -r requirements/dev.lock
	$(PIP) install --no-deps -e .
	touch $@ $(RUN_STAMP)

$(BENCH_STAMP): requirements/bench.lock $(DEV_STAMP)
	$(PIP) install -r requirements/bench.lock
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
