# airflow-provider-mediajobs: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints/constraints-3.11.txt
STAMP := $(VENV)/.installed

.PHONY: chromium help venv test lint typecheck unit demo demo-ui emulator bench bench-quick format constraints clean e2e-ui triggerer-ha reliability test-airflow-3.1 e2e-ui-airflow-3.1 constraints-airflow-3.1

help:
	@echo "make demo   - bootstrap .venv, start the emulator, run the example pipeline through Airflow"
	@echo "make test   - bootstrap .venv, then ruff, mypy and pytest"
	@echo "make demo-ui - a real Airflow on 127.0.0.1: the example pipeline, a 10-job TAMS batch, a run with a failed job; prints the login and their Media view URLs (Ctrl-C stops it)"
	@echo "make emulator - run the provider emulator on 127.0.0.1:8790 in the foreground"
	@echo "make e2e-ui - headless Chromium against a real Airflow: the four connection forms, the Media view (via make demo-ui's deployment)"
	@echo "make triggerer-ha - real Airflow: triggerer SIGKILL/restart (SQLite), two triggerers (PostgreSQL), secret scan"
	@echo "make test-airflow-3.1 - the test suite on the lowest supported Airflow (3.1.8) in .venv-3.1"
	@echo "make e2e-ui-airflow-3.1 - the browser tests (connection forms, Media view) on Airflow 3.1.8"
	@echo "make reliability - fault matrix, 2,000-wait triggerer SIGKILL, 10k-example fuzzing (full profile); figures to docs/reliability.md"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,emulator,openlineage]"
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser test has its own target (it needs chromium); CI runs both.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e_ui"

test: lint typecheck unit

# The lowest supported Airflow line: the same pytest suite in its own venv, on apache-airflow 3.1.8
# and the set pinned for it (constraints/constraints-airflow-3.1-3.11.txt). CI runs it after make test.
VENV31 := .venv-3.1
BIN31 := $(VENV31)/bin
CONSTRAINTS31 := constraints/constraints-airflow-3.1-3.11.txt
STAMP31 := $(VENV31)/.installed

$(STAMP31): pyproject.toml $(CONSTRAINTS31)
	@test -x $(BIN31)/python || $(PYTHON) -m venv $(VENV31)
	$(BIN31)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN31)/python -m pip install --quiet -c $(CONSTRAINTS31) -e ".[test,emulator,openlineage]"
	@touch $(STAMP31)

# A test that fails is run once more, alone (--lf), and must pass then: a few end-to-end tests are
# timing-sensitive on 3.1, whose dag.test() is several times slower between tasks than 3.3's.
PYTEST31 := $(BIN31)/python -m pytest -q -o cache_dir=build/pytest-cache-airflow-3.1 -m "not e2e_ui"
test-airflow-3.1: $(STAMP31)
	$(BIN31)/python -c "import airflow, sys; sys.exit(not airflow.__version__.startswith('3.1.'))"
	$(PYTEST31) || { echo "test-airflow-3.1: running the failed tests once more"; $(PYTEST31) --lf; }

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Debian's chromium + chromedriver (installed here if missing; no browser is downloaded), a real
# Airflow API server and the emulator on 127.0.0.1; screenshots go to docs/screenshots.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium chromium-driver; }

e2e-ui: $(STAMP) chromium
	MEDIAJOBS_E2E_UI_REQUIRED=1 MEDIAJOBS_E2E_UI_SCREENSHOTS=docs/screenshots \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e_ui

# The same browser test on Airflow 3.1.8 (.venv-3.1); no screenshots (docs/screenshots show 3.3.2).
e2e-ui-airflow-3.1: $(STAMP31) chromium
	MEDIAJOBS_E2E_UI_REQUIRED=1 $(BIN31)/python -m pytest -q -p no:cacheprovider tests/e2e_ui

# Real Airflow processes (tests/reliability/airflow, also part of make test): the triggerer SIGKILLed
# and replaced on SQLite, two triggerers on a throwaway PostgreSQL (skipped without one), secret scan.
triggerer-ha: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m airflow_processes tests/reliability/airflow

# tests/reliability in the full profile (make test runs the fast one); the real-Airflow processes
# are make triggerer-ha. Figures: docs/reliability-results.json and the table in docs/reliability.md.
RELIABILITY_RESULTS := build/reliability-results
reliability: $(STAMP)
	rm -rf $(RELIABILITY_RESULTS)
	HYPOTHESIS_PROFILE=full MEDIAJOBS_RELIABILITY=full MEDIAJOBS_RELIABILITY_RESULTS=$(RELIABILITY_RESULTS) \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --timeout 1800 -m "not airflow_processes" tests/reliability
	$(BIN)/python tests/reliability/report.py $(RELIABILITY_RESULTS) docs/reliability.md docs/reliability-results.json

emulator: $(STAMP)
	$(BIN)/mediajobs-emulator --host 127.0.0.1 --port 8790

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# api-server, scheduler, dag-processor, triggerer and the emulator in build/demo-ui; Ctrl-C stops them all.
# MEDIAJOBS_DEMO_UI_PORT picks the port (default 8080, a free one when taken).
demo-ui: $(STAMP)
	$(BIN)/python scripts/demo_ui.py

# Triggerer-scale benchmark (docs/benchmarks.md). aiohttp (the floor and the dbt-style baseline)
# comes from the pinned "bench" extra; results go to benchmarks/results/*.json.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,emulator,openlineage,bench]"
	@touch $(BENCH_STAMP)

# Then the pipeline benchmark: a real Airflow deployment runs N media jobs the one-task way, the
# two-task way and N trivial tasks (benchmarks/pipeline.py; results/pipeline-*.json).
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --markdown docs/benchmarks.md
	$(BIN)/python -m benchmarks --pipeline --markdown docs/benchmarks.md

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --quick
	$(BIN)/python -m benchmarks --pipeline --quick

# Re-pin the tested set from the current venv (run after changing a dependency on purpose).
constraints: $(STAMP)
	{ echo "# Tested set: apache-airflow 3.3.2 on Python 3.11 and everything it pulls, plus the test tools."; \
	  echo "# Regenerate with: make constraints (after changing a pin)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^airflow-provider-mediajobs'; } > $(CONSTRAINTS)

constraints-airflow-3.1: $(STAMP31)
	{ echo "# Lowest supported Airflow line, tested by make test-airflow-3.1: apache-airflow 3.1.8 on Python 3.11"; \
	  echo "# and everything it pulls, plus the test tools (pip's resolution of .[test,emulator] with apache-airflow==3.1.8)."; \
	  echo "# Regenerate with: make constraints-airflow-3.1 (after changing a pin)."; \
	  $(BIN31)/python -m pip freeze --exclude-editable | grep -v '^airflow-provider-mediajobs'; } > $(CONSTRAINTS31)

clean:
	rm -rf $(VENV) $(VENV31) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
