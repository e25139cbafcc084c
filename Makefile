# make demo: set everything up and watch the resolver settle a few hundred transfers.
# make test: lint, type-check and run every test against the local Postgres and Redis (and
#            promtool, from Debian's prometheus package, for the alert rules; Debian's chromium
#            for the admin page's browser test: installed when root can, else named at once).
# make sim: the provider simulator on :8099.  make admin: the admin server on :8000 (set
#            RESOLVER_ADMIN_TOKEN first).  make worker / make beat: the engine's processes.
# make bench: the resolver against naive Celery and the bare limit (docs/benchmarks.md): the
#   drain (~20 min), then bench-steady (200 arrivals/s for 60 s, ~10 min) and bench-scale.
# make chaos: the long chaos drill (its own Postgres and Redis; about a quarter of an hour).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-drain bench-steady bench-scale bench-memory chaos lint typecheck \
	unit services migrate worker beat sim admin clean promtool chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

services:
	./scripts/services.sh

demo: $(STAMP) services
	$(BIN)/resolver demo

test: promtool chromium $(STAMP) services lint typecheck
	$(BIN)/pytest -q

# The alert rules' tests need promtool (tests/deploy/test_alert_rules.py) and the browser test
# Debian's Chromium (tests/e2e/test_admin_browser.py; Playwright's own browser download cannot
# work here). The playwright package itself comes with '.[dev]'.
promtool:
	@./scripts/require.sh promtool prometheus

chromium:
	@./scripts/require.sh /usr/bin/chromium chromium

bench: bench-drain bench-steady bench-scale

bench-drain: $(STAMP) services
	$(BIN)/resolver bench --scenario drain --transfers 3000 --rounds 3 --processes 1 --threads 16 \
		--latency-ms 20 --out .bench

bench-steady: $(STAMP) services
	$(BIN)/resolver bench --scenario steady --rate 200 --duration 60 --rounds 3 --processes 1 \
		--threads 16 --latency-ms 20 --out .bench/steady

bench-scale: $(STAMP) services
	$(BIN)/resolver bench --scenario scale --out .bench/scale

# The worker's memory across 100k resolutions (steady at 200/s for 500 s); about 25 minutes.
bench-memory: $(STAMP) services
	$(BIN)/resolver bench --scenario steady --rate 200 --duration 500 --rounds 1 \
		--contenders resolver --latency-ms 20 --out .bench/memory

chaos: $(STAMP)
	$(BIN)/resolver chaos --transfers 20000 --worker-kills 20 --redis-wipes 2 --pg-restarts 1 \
		--timeout 1800

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

migrate: $(STAMP) services
	$(BIN)/resolver migrate

worker: $(STAMP)
	$(BIN)/celery -A worker worker --loglevel=INFO

beat: $(STAMP)
	$(BIN)/celery -A worker beat --loglevel=INFO

sim: $(STAMP)
	$(BIN)/resolver sim

admin: $(STAMP) services
	$(BIN)/resolver admin

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo
