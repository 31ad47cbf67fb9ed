# certstream — a certstream node in Go. `make run` starts the node on built-in
# defaults; `make test` runs the whole test suite (what CI runs).

GO      ?= go
BIN     := bin/certstream
PKGS    := ./...
SCENARIO ?=
BENCHFLAGS ?=

.PHONY: build run demo test lint bench microbench fuzz clean verify-delta

build:
	$(GO) build -o $(BIN) ./cmd/certstream

run: build
	./$(BIN)

# The node fed by built-in fake CT logs: certificates at ws://localhost:8080/ within seconds, no network needed.
demo: build
	./$(BIN) demo

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Load scenarios (bench/): all, or SCENARIO=ingest|fanout|mixed|connections|slow|soak|realistic;
# more flags via BENCHFLAGS, e.g. BENCHFLAGS='--json bench.json --soak-duration 10m'.
bench:
	$(GO) run ./bench/cmd/certstream-bench --scenario $(or $(SCENARIO),all) $(BENCHFLAGS)

# Micro-benchmarks (decode, encode, dedup, mailbox, router fan-out, ...).
microbench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# Run each fuzz target for a while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRFC6962 -fuzztime=$(FUZZTIME) ./internal/ctdecode
	$(GO) test -run='^$$' -fuzz=FuzzParseDataTile -fuzztime=$(FUZZTIME) ./internal/ctdecode
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/certfields

# Check a Delta archive with DuckDB: make verify-delta TABLE=path/to/table
verify-delta:
	@test -n "$(TABLE)" || { echo "usage: make verify-delta TABLE=path/to/table"; exit 2; }
	node scripts/verify-delta/verify.mjs "$(TABLE)"

clean:
	rm -rf bin
