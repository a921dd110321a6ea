# make run: set up everything on a fresh machine and serve the portal and the gateway.
# make test: set up what the tests need and run lint, format check and every test.
# make test-fast: lint and every test but the browser's, on SQLite (the quick loop).

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
GATEWAY_PORT ?= 8001
export PORT GATEWAY_PORT
PORTAL_DATA_DIR ?= var
export PORTAL_DATA_DIR

.PHONY: run serve setup test test-fast test-postgres lint lock format browser clean

# The virtual environment is rebuilt only when the Python it needs is missing; packages are
# reinstalled only when a lock file changed (the stamps below). requirements.txt and
# requirements-dev.txt are the lists people edit; requirements.lock and requirements-dev.lock pin
# every package, indirect ones included, with their hashes, and pip installs nothing else.
$(BIN)/python:
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	@touch $@ $(VENV)/.runtime

# After editing requirements*.txt: pin everything again (needs the package index).
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.12
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt --constraints requirements.lock -o requirements-dev.lock

setup: $(VENV)/.runtime
	@mkdir -p $(PORTAL_DATA_DIR) && chmod 700 $(PORTAL_DATA_DIR)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin

run: setup
	@echo "Serving the portal on http://127.0.0.1:$(PORT)/ and the gateway on http://127.0.0.1:$(GATEWAY_PORT)/ (Ctrl+C stops both)"
	VENV_BIN=$(BIN) scripts/serve

browser:
	@scripts/ensure-chromium

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The tests without a browser run on every core (pytest-xdist), then the browser tests. Exit
# status 5 is pytest's "no test selected" (PYTEST_ARGS naming files of one kind only).
PYTEST := PORTAL_DATA_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest
ALL_TESTS := $(PYTEST) -n auto -m "not e2e" $(PYTEST_ARGS) || [ $$? -eq 5 ]; \
	$(PYTEST) -m e2e $(PYTEST_ARGS) || [ $$? -eq 5 ]

test: $(VENV)/.dev browser lint
	@set -e; $(ALL_TESTS)

test-fast: $(VENV)/.dev lint
	$(PYTEST) -n auto -m "not e2e" $(PYTEST_ARGS)

# The same suite against a throwaway PostgreSQL server (Debian's packages), as CI runs it.
test-postgres: $(VENV)/.dev browser
	scripts/with-postgres bash -c 'set -e; $(ALL_TESTS)'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
