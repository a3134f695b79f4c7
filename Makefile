# Agent Registry — every entry point. `make run` and `make test` set themselves up.
# PYTHON: the interpreter .venv is built with (3.11, 3.12 or 3.13; default python3). Name
# one the existing .venv was not built with and make rebuilds .venv with it, saying so;
# without PYTHON an existing .venv is used as it is.
ifeq ($(origin PYTHON),undefined)
PYTHON := python3
PYTHON_ASKED :=
else
PYTHON_ASKED := yes
endif
VENV ?= .venv
PY := $(VENV)/bin/python
_MINOR := import sys; print("%d.%d" % sys.version_info[:2])
VENV_PYTHON := $(shell $(PY) -c '$(_MINOR)' 2>/dev/null)
WANT_PYTHON := $(if $(PYTHON_ASKED),$(shell $(PYTHON) -c '$(_MINOR)' 2>/dev/null))
# Why .venv must go: made by another Python than asked, or its Python no longer runs.
STALE_VENV := $(if $(wildcard $(VENV)/bin),$(if $(VENV_PYTHON),$(if $(WANT_PYTHON),$(if $(filter-out $(WANT_PYTHON),$(VENV_PYTHON)),was built with Python $(VENV_PYTHON) but PYTHON=$(PYTHON) is $(WANT_PYTHON))),has a Python that no longer runs))
CLIENT := clients/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CLIENT)/pyproject.toml | cksum | cut -d' ' -f1)
# buf (pinned in tools/package-lock.json) and the googleapis protos it lints against.
BUF := tools/node_modules/.bin/buf
TOOLS_STAMP := tools/node_modules/.installed
GOOGLEAPIS_STAMP := build/googleapis/.installed
BASELINE := protos/v1-baseline.binpb

.PHONY: FORCE install run test test-fast test-smoke test-faults lint format proto proto-baseline migrate explain-100k bench-cache bench-webhooks bench-heartbeat bench-search bench-search-quality bench-trust bench-trust-attacks bench-ceiling bench-edge bench-idle bench-watch backfill-embeddings bench clean

$(STAMP): pyproject.toml $(CLIENT)/pyproject.toml $(if $(STALE_VENV),FORCE)
	@if [ -n "$(STALE_VENV)" ]; then echo "$(VENV) $(STALE_VENV): rebuilding it"; rm -rf $(VENV); fi
	test -x $(PY) || { $(PYTHON) scripts/python_supported.py && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' || { echo "install failed; to build $(VENV) with another Python: make install PYTHON=python3.11 (it rebuilds $(VENV))"; exit 1; }
	$(PY) -m pip install --quiet -e $(CLIENT)
	rm -f $(VENV)/.installed-* && touch $@

FORCE:

$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	touch $@

$(GOOGLEAPIS_STAMP): $(STAMP)
	$(PY) scripts/buf_deps.py build/googleapis
	touch $@

install: $(STAMP) $(TOOLS_STAMP) $(GOOGLEAPIS_STAMP)

## run: the service on the embedded default (or DATABASE_URL / REDIS_URL)
run: install
	$(PY) -m server

# The hostile-input and concurrent-writer cases live beside the layers they test but run
# with the fault suite.
FAULT_CASES := tests/e2e/test_hostile_documents.py tests/e2e/test_hostile_fetches.py \
	tests/e2e/test_hostile_input.py tests/integration/test_outbox_concurrent_writers.py

## test: the suite against real Postgres and Redis (the fault suite runs on its own)
test: install
	$(PY) -m pytest --ignore=tests/faults $(addprefix --ignore=,$(FAULT_CASES)) $(PYTEST_ARGS)

## test-fast: unit and service tests only (in-memory unit of work, fake clock): no Postgres or Redis
test-fast: install
	$(PY) -m pytest tests/unit tests/service -m "not backing" $(PYTEST_ARGS)

## test-smoke: the quick part of the suite, for a run on another Python
## (make test-smoke PYTHON=python3.13 VENV=.venv-3.13; CI runs it on the newest supported)
SMOKE_TESTS := tests/unit tests/service tests/e2e/test_readme_json.py tests/e2e/test_registry_flow.py \
	tests/e2e/test_ready_means_ready.py tests/e2e/client/test_cli.py
test-smoke: $(STAMP)
	$(PY) -m pytest $(SMOKE_TESTS) $(PYTEST_ARGS)

## test-faults: the fault and fuzz suite alone (its own Postgres/Redis, taken down on purpose),
## with FAULT_CASES
test-faults: install
	$(PY) -m pytest tests/faults $(FAULT_CASES) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy server db scheduler
	cd $(CLIENT) && $(abspath $(VENV))/bin/mypy
	$(BUF) lint protos
	$(BUF) breaking protos --against $(BASELINE)
	$(VENV)/bin/hadolint deploy/Dockerfile
	tools/node_modules/.bin/dclint deploy/compose.yaml
	scripts/verify_unit.sh

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## proto: regenerate generated/ (stubs, .pyi, descriptor set) from protos/
proto: install
	$(PY) scripts/gen_protos.py

## proto-baseline: at a release, record the contracts `buf breaking` checks later changes against
proto-baseline: install
	$(BUF) build protos --exclude-source-info -o $(BASELINE)

## migrate: apply migrations to DATABASE_URL (production runs this as its own step)
migrate: install
	$(PY) -m db.migrate upgrade

## backfill-embeddings: embed every agent of DATABASE_URL that has no vector of the model yet
backfill-embeddings: install
	$(PY) -m scheduler.backfill_embeddings

## explain-100k: EXPLAIN of the hot registry queries on 100,000 agents
explain-100k: install
	$(PY) scripts/explain_100k.py

## bench-cache: GetAgent with Zipf ids on 100,000 agents, cache on vs off
bench-cache: install
	$(PY) -m bench.cache $(BENCH_ARGS)
## bench-webhooks: 10,000 events to 100 webhooks on a local receiver
bench-webhooks: install
	$(PY) -m bench.webhooks
## bench-heartbeat: N agents (default 100,000) holding heartbeat streams; BENCH_ARGS for flags
bench-heartbeat: install
	$(PY) -m bench.heartbeat $(BENCH_ARGS)
## bench-search: search and discovery latency at 100,000 agents (cached under .data/bench-search)
bench-search: install
	$(PY) -m bench.search $(BENCH_ARGS)
## bench-search-quality: top-1/top-5/MRR@10 of plain-language requests (tuning and held-out halves), text-only vs hybrid
bench-search-quality: install
	$(PY) -m bench.search_quality $(BENCH_ARGS)
## bench-trust: trust recomputation on 100k agents / 1M attestations, reputation latency
bench-trust: install
	$(PY) -m bench.trust $(BENCH_ARGS)
## bench-ceiling: hot calls vs a bare grpc.aio echo in one run (h2load; the `make bench` registry)
bench-ceiling: install
	$(PY) -m bench.ceiling $(BENCH_ARGS)
## bench-edge: Envoy's CPU per JSON GetAgent, the shipped edge against transcoder + router alone
bench-edge: install
	$(PY) -m bench.edge $(BENCH_ARGS)
## bench-idle: CPU and memory (PSS) of each `make run` process while nothing calls it
bench-idle: install
	$(PY) -m bench.idle $(BENCH_ARGS)
## bench-watch: GetAgent p50/p99 alone, then beside 1,000 WatchEvents streams on the same server
bench-watch: install
	$(PY) -m bench.watch $(BENCH_ARGS)
## bench-trust-attacks: sybil, collusion, flooding and seed-compromise attacks on a 10k-agent graph
bench-trust-attacks: install
	$(PY) -m bench.trust_attacks $(BENCH_ARGS)
## bench: seed 100k agents / 1M attestations once, run every workload on 1 and 2 workers,
## write bench/report.md and its charts (BENCH_ARGS e.g. "--duration 5 --workers 2")
bench: install
	$(PY) -m bench.all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
