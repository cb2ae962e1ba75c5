.PHONY: build test generate lint cluster

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
