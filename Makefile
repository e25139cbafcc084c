# make demo: set everything up and watch the resolver settle a few hundred transfers.
# make test: lint, type-check and run every test against the local Postgres and Redis (and
#            promtool, from Debian's prometheus package, for the alert rules; Debian's chromium
#            for the admin page's browser test: installed when root can, else named at once).
# make lock: pin every dependency (and the build's setuptools) with its hashes in requirements/
#            after pyproject.toml changed.
# make sim: the provider simulator on :8099.  make admin: the admin server on :8000 (set
#            RESOLVER_ADMIN_TOKEN first).  make worker / make beat: the engine's processes.
# make bench: the resolver against naive Celery and the bare limit (docs/benchmarks.md): the
#   drain (~20 min), then bench-steady (200 arrivals/s for 60 s, ~10 min) and bench-scale.
# make chaos: the long chaos drill (its own Postgres and Redis; about a quarter of an hour).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK_RUNTIME := requirements/lock.txt
LOCK_DEV := requirements/dev.txt
LOCK_BUILD := requirements/build.txt
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
LOCK_FLAGS = --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

.PHONY: demo test lock bench bench-drain bench-steady bench-scale bench-memory chaos lint typecheck \
	unit services migrate worker beat sim admin clean promtool chromium

# The venv holds exactly what requirements/dev.txt pins, each file checked against its hash;
# --no-deps so that nothing unpinned slips in, and pip check so that a lock missing a dependency
# fails here rather than at import. The project is built by the setuptools requirements/build.txt
# pins, installed here like the rest: --no-build-isolation, so pip fetches no unpinned one.
$(STAMP): pyproject.toml $(LOCK_DEV) $(LOCK_BUILD)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_BUILD)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_DEV)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

# Resolve pyproject.toml again into the two locks: dev (runtime, bench and dev extras) first,
# then the runtime alone constrained to it, so the image runs the very versions the tests ran;
# and its [build-system] requirements into the build lock (the venv's and the image's).
# Universal resolution: the same files serve any platform and Python >= 3.11, with the hashes
# of every wheel and sdist of each pinned release. Run it after any change to the dependencies
# (tests/deploy/test_lock.py fails until then); `make lock UPGRADE=1` also moves pins forward.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o $(LOCK_DEV)
	$(BIN)/uv pip compile pyproject.toml --constraint $(LOCK_DEV) $(LOCK_FLAGS) -o $(LOCK_RUNTIME)
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile - $(LOCK_FLAGS) -o $(LOCK_BUILD)

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
