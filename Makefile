.PHONY: build test generate lint cluster chaos fuzz

build:
	go build -o bin/bookd ./cmd/bookd

# The README's test command.
test:
	go vet ./...
	go test -race -count=1 -timeout 20m ./...

# Regenerates proto/ from proto/**/*.proto (needs no Buf registry access).
generate:
	go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate

# Builds and runs a 3-node cluster on localhost.
cluster: build
	./bin/bookd dev

# A long randomized fault-injection run with linearizability checking (see
# RELIABILITY.md). It prints its seed; SEED=n replays the same schedule.
DURATION ?= 10m
NODES ?= 3
SEED ?=
chaos:
	go run ./cmd/bookd-chaos -duration $(DURATION) -nodes $(NODES) $(if $(SEED),-seed $(SEED))

# Runs every fuzz target for FUZZTIME each (seed corpora run in `make test`).
FUZZTIME ?= 3m
FUZZ_TARGETS = fsm:FuzzDecodeCommand fsm:FuzzRestore fsm:FuzzRestoreChecksummed rpc:FuzzValidateRequest rpc:FuzzHandler
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -parallel 2 ./$$pkg/ || exit 1; \
	done
