# fieldcase — thin Makefile; CI calls these targets as they are.
# `make run` opens the TUI on a demo vault; `make test` passes the tests on a
# fresh Debian 12 machine (it installs what it needs). docs/TESTING.md says
# what each step of the tests does.

GO      ?= go
BIN     := bin
DEMO    ?= .demo/demo.db
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all deps deps-build build run test bench lint fuzz fresh clean

all: build

# Debian packages needed to build and test, installed with apt-get when
# missing (it says which and why), and the Go modules.
deps:
	@scripts/deps.sh

# Only what building needs (make build and make run).
deps-build:
	@scripts/deps.sh build

build: deps-build
	@LDFLAGS="$(LDFLAGS)" scripts/build.sh

# The TUI on a demo vault of fictional cases; its passphrase is on screen.
run: build
	@[ -f $(DEMO) ] || $(BIN)/fieldcase demo --vault $(DEMO)
	@$(BIN)/fieldcase --vault $(DEMO)

test: deps
	@scripts/test.sh

# Benchmarks report ratios against a baseline measured in the same run.
bench: deps
	@scripts/bench.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "lint: staticcheck not installed, skipped"; fi

# Longer fuzzing than `make test` does: FUZZTIME per target.
FUZZTIME ?= 60s
fuzz: deps
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The committed main on a fresh Debian 12 root (debootstrap, as root):
# make test, then make run up to the unlock screen. See docs/TESTING.md.
fresh:
	@scripts/fresh-machine.sh

clean:
	rm -rf $(BIN) .demo
