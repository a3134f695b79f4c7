# Agent Registry — every entry point. `make run` and `make test` set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint format proto migrate explain-100k bench-trust clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## run: the service on the embedded default (or DATABASE_URL / REDIS_URL)
run: install
	$(PY) -m server

## test: the whole suite against real Postgres and Redis
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy server db scheduler

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## proto: regenerate generated/ (stubs, .pyi, descriptor set) from protos/
proto: install
	$(PY) scripts/gen_protos.py

## migrate: apply migrations to DATABASE_URL (production runs this as its own step)
migrate: install
	$(PY) -m db.migrate upgrade

## explain-100k: EXPLAIN of the hot registry queries on 100,000 agents
explain-100k: install
	$(PY) scripts/explain_100k.py

## bench-trust: trust recomputation on 100k agents / 1M attestations, reputation latency
bench-trust: install
	$(PY) bench/trust.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
