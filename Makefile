# make demo: set everything up and watch the resolver settle a few hundred transfers.
# make test: lint, type-check and run every test against the local Postgres and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit services migrate worker beat sim admin clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

services:
	./scripts/services.sh

demo: $(STAMP) services
	$(BIN)/resolver demo

test: $(STAMP) services lint typecheck
	$(BIN)/pytest -q

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo
