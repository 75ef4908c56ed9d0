# Tongxin: the two commands a newcomer needs are `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
SERVICES := venues volunteers orders legal-aid

.PHONY: run test tools build schema schema-check chart-check lint fmt bench profile soak

## run: build and start the whole platform on embedded defaults (GraphQL at :8080, tokens printed)
run: tools
	$(CARGO) build -p tongxin
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) run -q -p tongxin -- run

## test: every test (unit, integration, end to end through the router) and the schema drift check
test: tools schema-check
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) test --workspace --no-fail-fast

## tools: the pinned Hive Router, built once into ~/.cache/tongxin/tools (about 15 minutes)
tools:
	@scripts/install-router.sh >/dev/null

build:
	$(CARGO) build --workspace

## schema: export each subgraph's SDL into schema/ and compose schema/supergraph.graphql
schema:
	$(CARGO) build -q -p tongxin
	for s in $(SERVICES); do $(CARGO) run -q -p tongxin -- schema $$s > schema/$$s.graphql; done
	scripts/compose-supergraph.sh
	scripts/clients.sh
	cp schema/supergraph.graphql services/gateway/router.config.yaml clients/persisted-documents.json charts/tongxin/files/

## schema-check: fail when schema/ differs from what the code exports, or when the public API
## schema breaks the lint rules (descriptions everywhere, Relay connections), or when the
## worked example of another department's subgraph (tests/example-subgraph) no longer composes
schema-check:
	$(CARGO) build -q -p tongxin
	for s in $(SERVICES); do \
	  $(CARGO) run -q -p tongxin -- schema $$s | diff -u schema/$$s.graphql - \
	    || { echo "schema/$$s.graphql is stale: run make schema" >&2; exit 1; }; \
	done
	scripts/compose-supergraph.sh --check
	scripts/lint-schema.sh
	scripts/check-example-subgraph.sh
	scripts/clients.sh --check

## chart-check: the Helm chart, offline and without the Rust build: lint, render (default, small
## district, city-wide), kubernetes-validate, checkov, bad values (scripts/chart-check.py)
chart-check:
	scripts/chart-check.sh

## bench: speed figures against baselines measured in the same run (needs PostGIS for one);
## every bench merges its figures into target/bench/results.json, and the last step prints
## them as one table (also written to target/bench/results.md). BENCH_SECONDS scales the
## timed phases (BENCH_SECONDS=2 make bench for a quick pass); BENCH_FLAGS="--profile dev"
## checks that every bench runs without the release build (its figures mean nothing).
BENCH_FLAGS ?=
bench:
	dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || apt-get install -y -q postgresql-15-postgis-3
	rm -f target/bench/results.json target/bench/results.md
	$(CARGO) bench $(BENCH_FLAGS) -p tongxin-venues --bench circle
	$(CARGO) bench $(BENCH_FLAGS) -p tongxin-volunteers --bench matching
	$(CARGO) bench $(BENCH_FLAGS) -p tongxin-guard --bench admission
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin-orders --bench orders
	$(CARGO) bench $(BENCH_FLAGS) -p tongxin-orders --bench relay
	$(CARGO) bench $(BENCH_FLAGS) -p tongxin-legal-aid --bench slots
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin --bench gateway
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin --bench dashboard
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin --bench watchers
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin --bench embedded
	$(CARGO) run -q -p tongxin-testing --bin bench-report

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## soak: ten minutes of mixed load (order lives watched live, dashboard reads) at a steady
## rate; a one-page report in target/bench/soak.md (SOAK_SECONDS shortens it)
soak: tools
	TONGXIN_ROUTER_BIN="$$(scripts/install-router.sh)" $(CARGO) bench $(BENCH_FLAGS) -p tongxin --bench soak

## profile: one bench scenario under a sampling profiler, with a flame graph and the top
## frames (SCENARIO=placeOrder|relay|dashboard|watchers, PROCESS=… to pick another process)
profile:
	scripts/profile.sh $(SCENARIO)
