# PhoneExport: `make run` starts the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test bench messages install clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "PhoneExport needs Python 3.11 or newer ($(PYTHON) is older)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)
	$(BIN)/django-admin compilemessages --ignore=.venv --ignore=var --verbosity 0

# Development defaults; any of them can be overridden from the environment or `.env`.
run: export DEBUG ?= true
run: install
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  PhoneExport is starting on http://127.0.0.1:8000"
	@echo "    health:  http://127.0.0.1:8000/healthz"
	@echo "    admin:   http://127.0.0.1:8000/admin/   (demo logins above)"
	@echo "    emails:  written to var/mail/ unless EMAIL_URL says otherwise"
	@echo "  Ctrl-C stops every process."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: install
	$(BIN)/python -m pytest

# Benchmarks: production settings on the machine's PostgreSQL and Redis, in databases of
# their own (they empty the order and catalogue tables).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/phoneexport_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/1
bench: export DATABASE_URL = $(BENCH_DATABASE_URL)
bench: export REDIS_URL = $(BENCH_REDIS_URL)
bench: export SECRET_KEY ?= benchmark-only-secret-key-never-used-elsewhere
bench: export DEBUG = false
bench: export SECURE_SSL_REDIRECT = false
bench: export LOG_LEVEL = WARNING
bench: export CELERY_QUEUE = phoneexport-bench
bench: install
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --no-input --verbosity 0
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py bench $(BENCHMARKS)

messages:
	$(BIN)/python manage.py makemessages --all --ignore=.venv --ignore=var --no-obsolete

clean:
	rm -rf var
