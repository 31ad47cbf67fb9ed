# certstream — a certstream node in Go. `make run` starts the node on built-in
# defaults; `make test` runs the whole test suite (what CI runs).

GO      ?= go
BIN     := bin/certstream
PKGS    := ./...
SCENARIO ?=
BENCHFLAGS ?=
# What `certstream version` reports (also when the go command records no VCS information).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
STAMP   := -X github.com/certstream/certstream/internal/buildinfo.version=$(VERSION) -X github.com/certstream/certstream/internal/buildinfo.commit=$(COMMIT)

.PHONY: build run demo test lint bench microbench fuzz clean verify-delta static static-check docker dashboard-check systemd-check browser-check

build:
	$(GO) build -ldflags "$(STAMP)" -o $(BIN) ./cmd/certstream

run: build
	./$(BIN)

# The node fed by built-in fake CT logs: certificates at ws://localhost:8080/ within seconds, no network needed.
demo: build
	./$(BIN) demo

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)
	scripts/verify-systemd.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Load scenarios (bench/): all, or SCENARIO=ingest|fanout|mixed|connections|slow|soak|cluster|filters|compression|resume|realistic;
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

# The release binary the container ships: static, -trimpath, version stamped.
static:
	scripts/build-static.sh bin/certstream-static "$(VERSION)" "$(COMMIT)"

# Run the Dockerfile's exact build and check the binary (static, stamped). Minutes on a cold cache.
static-check:
	STATIC_BUILD_CHECK=1 $(GO) test -count=1 -run TestStaticBuildAsInTheDockerfile -v ./cmd/certstream

docker:
	docker build --build-arg VERSION="$(VERSION)" --build-arg COMMIT="$(COMMIT)" -t certstream:latest .

# Every Grafana dashboard query against a real Prometheus scraping the demo
# (installs Debian's prometheus package if missing: root and apt). About a minute.
dashboard-check:
	scripts/check-dashboard.sh

# The page at / and the admin page in a real headless Chromium against the demo
# (installs Debian's chromium package if missing: root and apt). Screenshots
# land in the tests' temp dirs (their paths are logged).
browser-check:
	CHROMIUM_BINARY=$$(scripts/install-chromium.sh) && export CHROMIUM_BINARY && \
		$(GO) test -count=1 -v -run 'TestBrowser' ./cmd/certstream

# systemd-analyze verify deploy/systemd/certstream.service (skipped without systemd-analyze).
systemd-check:
	scripts/verify-systemd.sh

clean:
	rm -rf bin
