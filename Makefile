# Set-up, run and test. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PO := $(wildcard board/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: install run test lint typecheck bench bench-search bench-webhooks bench-fanout bench-uptime \
	translations-extract translations-update worker clean

install: $(VENV)/.installed $(MO)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

run: install
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "Worker started (mail goes to the log unless SMTP_URL is set)."
	@trap 'kill 0' INT TERM EXIT; $(FLASK) worker & \
	  echo "Serving on http://127.0.0.1:5000 (Ctrl-C stops)"; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

worker: install
	$(FLASK) worker

# `COVERAGE=1 make test`: the same suite under coverage (branches too), then the report, which
# fails below the threshold set in pyproject.toml. `COVERAGE=collect` only collects (into
# COVERAGE_FILE), for a report of several runs: CI combines SQLite's and PostgreSQL's, as
# some code runs on one database only (.ci/run).
test: install
ifeq ($(COVERAGE),1)
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report
else ifeq ($(COVERAGE),collect)
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

# Throughput as a share of a bare Flask app, worker memory, latencies at two sizes (bench/run.py).
# BENCH_DB=postgresql://... for PostgreSQL, BENCH_SIZE=large for 1,000,000 posts, BENCH_QUICK=1.
bench: install
	BENCH_DB="$(BENCH_DB)" BENCH_SIZE="$(BENCH_SIZE)" BENCH_QUICK="$(BENCH_QUICK)" \
	  $(BIN)/python bench/run.py

# Search latency (p50/p95 of 20 French queries) on 100,000 posts, or BENCH_DB=postgresql://...
bench-search: install
	BENCH_DB="$(BENCH_DB)" $(BIN)/python bench/search.py

# Webhook latency: admin update -> local receiver, real worker (p50/p95 of 50 updates), or
# BENCH_DB=postgresql://...; BENCH_WORKER_INTERVAL=<seconds> for another polling interval.
bench-webhooks: install
	BENCH_DB="$(BENCH_DB)" $(BIN)/python bench/webhook_latency.py

# One Travaux notice to 10,000 subscribers of mixed services, delivered by the real worker to
# a local SMTP server: fan-out time, mails/s (goal 35), doubles. BENCH_DB=postgresql://...
bench-fanout: install
	BENCH_DB="$(BENCH_DB)" $(BIN)/python bench/fanout.py

# /travaux/ with its 90-day uptime bars on five years of history: times and query counts.
bench-uptime: install
	$(BIN)/python bench/uptime_history.py

lint: install
	$(BIN)/ruff check board tests

# The settings and the baseline of modules still skipped are in pyproject.toml.
typecheck: install
	$(BIN)/mypy

translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o board/translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i board/translations/messages.pot -d board/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) $(MO) test-artifacts .coverage .mypy_cache
