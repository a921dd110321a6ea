# make run: set up everything on a fresh machine and serve the portal.
# make test: set up what the tests need and run lint, format check and every test.

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PORTAL_DATA_DIR ?= var
export PORTAL_DATA_DIR

.PHONY: run serve setup test test-postgres lint format browser clean

# The virtual environment is rebuilt only when the Python it needs is missing; packages are
# reinstalled only when a requirements file changed (the stamps below).
$(BIN)/python:
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime
	@mkdir -p $(PORTAL_DATA_DIR) && chmod 700 $(PORTAL_DATA_DIR)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin

run: setup
	@echo "Serving the portal on http://127.0.0.1:$(PORT)/ (Ctrl+C stops it)"
	$(BIN)/gunicorn portal.wsgi:application --bind 127.0.0.1:$(PORT) \
		--workers $${WEB_CONCURRENCY:-3} --access-logfile - --forwarded-allow-ips 127.0.0.1

browser:
	@scripts/ensure-chromium

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(VENV)/.dev browser lint
	PORTAL_DATA_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite against a throwaway PostgreSQL server (Debian's packages), as CI runs it.
test-postgres: $(VENV)/.dev browser
	PORTAL_DATA_DIR=$(CURDIR)/var/test scripts/with-postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
