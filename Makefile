.PHONY: build test test-ts generate lint cluster chaos fuzz bench bench-peers bench-scale bench-failover

# Lists each package as it compiles: a first build on a fresh machine
# compiles every dependency, which takes minutes.
build:
	@echo "building bin/bookd (the first build compiles every dependency: a few minutes)"
	go build -v -o bin/bookd ./cmd/bookd

# The README's test command. The edge's browser test drives Debian's
# chromium headless, and the load generator's etcd and PostgreSQL drivers
# are tested against real servers: what is missing is installed first.
# What could not be installed is named before and after the tests (their
# tests skip here; CI installs them, and there they run).
MISSING_FOR_TESTS = $$(command -v chromium >/dev/null || echo chromium) \
	$$(command -v etcd >/dev/null || echo etcd-server) \
	$$(ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || echo postgresql)
test:
	@missing=$$(echo $(MISSING_FOR_TESTS)); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing (the browser, etcd and PostgreSQL tests need them)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi; \
	missing=$$(echo $(MISSING_FOR_TESTS)); \
	[ -z "$$missing" ] || echo "*** not installed: $$missing; the tests that need them will SKIP (apt-get install -y $$missing)"; \
	command -v stripe-mock >/dev/null || [ -x "$$(go env GOPATH)/bin/stripe-mock" ] || \
		{ echo "installing stripe-mock (the payments worker's tests run against it)"; go install github.com/stripe/stripe-mock@v0.203.0; }; \
	echo "go vet ./... && go test -race -count=1 -timeout 20m ./..."; \
	go vet ./... && go test -race -count=1 -timeout 20m ./...; rc=$$?; \
	[ -z "$$missing" ] || echo "*** SKIPPED: the tests that need $$missing (not installed)"; \
	exit $$rc
	$(MAKE) test-ts

# The TypeScript client's tests (node's test runner): they start three
# bookd server processes of bin/bookd on free ports of their own
# (BOOKD_ENDPOINTS=host:port,... runs them against a running cluster).
test-ts: client/ts/node_modules/.package-lock.json
	go build -o bin/bookd ./cmd/bookd
	cd client/ts && BOOKD_BIN=$(CURDIR)/bin/bookd npm test

# client/ts's npm packages, installed again when its package-lock.json changes.
client/ts/node_modules/.package-lock.json: client/ts/package-lock.json
	cd client/ts && npm ci --no-audit --no-fund

# Regenerates proto/ from proto/**/*.proto, and the TypeScript client's
# client/ts/src/gen from the public API (proto/bookd/v1) with the
# npm-installed protoc-gen-es (needs no Buf registry access).
generate: client/ts/node_modules/.package-lock.json
	go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
	go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate --template client/ts/buf.gen.yaml

# Builds and runs a 3-node cluster on localhost.
cluster: build
	bin/bookd dev

# A long randomized fault-injection run with linearizability checking (see
# RELIABILITY.md). It prints its seed; SEED=n replays the same schedule.
DURATION ?= 10m
NODES ?= 3
SEED ?=
chaos:
	go run ./cmd/bookd-chaos -duration $(DURATION) -nodes $(NODES) $(if $(SEED),-seed $(SEED))

# Runs every fuzz target for FUZZTIME each (seed corpora run in `make test`).
FUZZTIME ?= 3m
FUZZ_TARGETS = fsm:FuzzDecodeCommand fsm:FuzzDecodeEntry fsm:FuzzRestore fsm:FuzzRestoreChecksummed rpc:FuzzValidateRequest rpc:FuzzHandler
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -parallel 2 ./$$pkg/ || exit 1; \
	done

# Load generator (see BENCHMARKS.md). `make bench` runs one workload against a
# fresh local 3-node bookd: WORKLOAD=ga|seats|hold-confirm|browse CLIENTS=n.
WORKLOAD ?= ga
CLIENTS ?= 512
bench:
	go run ./cmd/bookd-bench run -workload $(WORKLOAD) -clients $(CLIENTS)

# PostgreSQL (pgx pool at its best size here), bookd in each client mode
# (connect-go one call per booking, client default, client batching, the
# edge as shipped) and a 3-node etcd side by side on this machine, every
# workload at 512 clients, each run to sold out or 20 s, audited. Installs
# etcd and PostgreSQL (Debian packages) when they are missing; starts and
# stops its own servers. BENCHMARKS.md says how to read the table.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PEER_PACKAGES := etcd-server etcd-client postgresql
bench-peers:
	@if ! command -v etcd >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
		echo "installing $(PEER_PACKAGES)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PEER_PACKAGES); \
	fi
	go run ./cmd/bookd-bench peers -duration 20s -clients 512

# Throughput, p99 and cold start as stored bookings go 10^4 -> 10^6.
bench-scale:
	go run ./cmd/bookd-bench scale

# Leader SIGKILL under load -> next acknowledged booking, 5 times.
bench-failover:
	go run ./cmd/bookd-bench failover
