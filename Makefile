# feedbackloop: `make demo` runs it with embedded defaults; `make test` runs the whole suite
# against PostgreSQL and Redis on their standard local ports.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PG_URL ?= postgres://postgres@127.0.0.1:5432/feedbackloop
TEST_ENV := DATABASE_URL=$(PG_URL) \
	REDIS_URL=redis://127.0.0.1:6379/15 \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \
	CELERY_RESULT_BACKEND=redis://127.0.0.1:6379/14 \
	SECRET_KEY=test-secret-key-not-for-production-0123456789 \
	USER_ID_HASH_KEY=test-user-id-hash-key \
	STATIC_MANIFEST=false DEBUG=false ALLOWED_HOSTS=testserver,127.0.0.1,localhost
DEMO_ENV := DEBUG=true

.PHONY: demo test test-sqlite fuzz lint install bench-ingest clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e clients/python
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py demo
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

# The embedded default (`make demo`: SQLite, local-memory cache, eager Celery): the stages whose
# SQL differs by database run a second time there. Tests marked `postgresql` are left out of this
# pass; each has a sibling that covers the SQLite path.
SQLITE_TESTS := tests/agreement tests/exports tests/review tests/sampling tests/insights \
	tests/test_agreement.py tests/test_agreement_report.py tests/commands \
	tests/clients/test_client_embedded.py tests/api/test_widget.py tests/api/test_otlp.py \
	tests/alerts \
	tests/privacy tests/workspace tests/lead \
	tests/audit tests/security/test_keys_and_tokens.py tests/security/test_rate_limits.py \
	tests/security/test_login_throttle.py tests/security/test_hardening.py tests/security/test_oidc.py \
	tests/security/test_form_rescue.py tests/security/test_credential_pages.py \
	tests/actions
SQLITE_ENV := DATABASE_URL=sqlite:///$(CURDIR)/.test-sqlite.db REDIS_URL= CELERY_BROKER_URL= \
	CELERY_RESULT_BACKEND= SECRET_KEY=test-secret-key-not-for-production-0123456789 \
	USER_ID_HASH_KEY=test-user-id-hash-key STATIC_MANIFEST=false DEBUG=false \
	ALLOWED_HOSTS=testserver,127.0.0.1,localhost

# The production configuration, for `check --deploy` (make lint): DEBUG off, so HTTPS redirect,
# HSTS and secure cookies are at their defaults.
DEPLOY_CHECK_ENV := DEBUG=false SECRET_KEY=deploy-check-only-$(shell printf 'x%.0s' $$(seq 1 40)) \
	ALLOWED_HOSTS=feedback.example.com USER_ID_HASH_KEY=deploy-check-only STATIC_MANIFEST=false

test: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)
	$(SQLITE_ENV) $(BIN)/pytest -m "not integration and not browser" $(SQLITE_TESTS)

test-sqlite: $(STAMP)
	$(SQLITE_ENV) $(BIN)/pytest -m "not integration and not browser" $(SQLITE_TESTS) $(PYTEST_ARGS)

# `make test` fuzzes every API operation as each kind of caller (tests/fuzz, 15 examples each);
# this is the longer run of the same tests, e.g. `make fuzz FUZZ_EXAMPLES=500`.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	$(TEST_ENV) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy annotation feedbackloop
	cd clients/python && ../../$(BIN)/mypy --strict --config-file pyproject.toml feedbackloop_client
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_CHECK_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media artifacts
