# Once — the two commands that matter: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Tests run against PostgreSQL on its standard local port unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/once

.PHONY: help install install-dev run test lint check-deploy clean

help:
	@echo "make run    install, migrate, load the demo and serve on http://127.0.0.1:$(PORT)"
	@echo "make test   the whole test suite against PostgreSQL, Redis and headless Chromium"

# pip says only what went wrong: -qq keeps its errors and drops its warnings (an index
# location it skips, running as root, a newer pip); the make lines themselves are not echoed.
PIP := $(VENV)/bin/pip --disable-pip-version-check -qq
export PIP_ROOT_USER_ACTION := ignore

$(VENV)/.runtime: requirements.txt
	@echo "Installing Once's requirements into $(VENV) (the first time takes a few minutes)…"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip
	@$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	@$(PIP) install -r requirements-dev.txt
	@touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# The embedded demo: SQLite and in-process tasks unless DATABASE_URL / CELERY_BROKER_URL are set.
# Quiet on purpose: the terminal shows the login and the address (and any real error).
run: export DJANGO_DEBUG ?= on
# Links in notifications point at the port this serves on, unless ONCE_BASE_URL says otherwise.
run: export ONCE_BASE_URL ?= http://127.0.0.1:$(PORT)
run: export DJANGO_RUNSERVER_HIDE_WARNING ?= true
run: install
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py load_demo
	@# migrate has just run the system checks; the banner is common/management/commands/runserver.py
	@$(PY) manage.py runserver --skip-checks 127.0.0.1:$(PORT)

test: export DATABASE_URL ?= $(TEST_DATABASE_URL)
test: export DJANGO_SECRET_KEY ?= test-only-secret-key-that-is-not-used-anywhere-else-5d1c8
# Tests talk plain HTTP to the test client and the live server; production keeps the redirect.
test: export DJANGO_SECURE_SSL_REDIRECT ?= off
test: install-dev lint check-deploy
	DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@# The 25 slowest steps close the report: where the run's time goes, seen in every CI log.
	$(PY) -m pytest --durations=25 $(PYTEST_ARGS)
	@echo "Search and the restricted-incident leak test again, on the embedded backend (SQLite FTS5):"
	DATABASE_URL=sqlite:///$(CURDIR)/db-search-test.sqlite3 $(PY) -m pytest tests/search tests/test_restricted_leak.py -q $(PYTEST_ARGS)

# mypy's Django plugin imports the settings, which want a secret key whenever debug is off;
# none is used for anything here. No DATABASE_URL needed: the embedded SQLite default is enough.
lint: export DJANGO_SECRET_KEY ?= mypy-only-secret-key-that-signs-nothing
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# `check --deploy` with production settings: debug off, a real secret key, nothing else set.
check-deploy: install
	env -u DJANGO_DEBUG -u DJANGO_SECURE_SSL_REDIRECT \
	    DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	    $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache
