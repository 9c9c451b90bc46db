# fieldcase — thin Makefile; CI calls these targets as they are.
# `make run` opens the TUI on a demo vault; `make test` passes the tests on a
# fresh Debian 12 machine (it installs what it needs).

GO      ?= go
BIN     := bin
DEMO    ?= .demo/demo.db
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all deps build run test bench lint fuzz clean

all: build

# Debian packages needed to build and test; installed with apt-get when missing.
deps:
	@scripts/deps.sh

build: deps
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

# The TUI on a demo vault of fictional cases; its passphrase is on screen.
run: build
	@[ -f $(DEMO) ] || $(BIN)/fieldcase demo --vault $(DEMO)
	@$(BIN)/fieldcase --vault $(DEMO)

test: deps
	@scripts/test.sh

# Benchmarks report ratios against a baseline measured in the same run. The
# dictation benchmark needs the virtual sound device, started here.
bench: deps
	@eval "$$(../shared/virtual-audio.sh start)"; trap '../shared/virtual-audio.sh stop >/dev/null 2>&1' EXIT; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 45m $(BENCHFLAGS) ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "lint: staticcheck not installed, skipped"; fi

# Longer fuzzing than `make test` does: FUZZTIME per target.
FUZZTIME ?= 60s
fuzz: deps
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

clean:
	rm -rf $(BIN) .demo
