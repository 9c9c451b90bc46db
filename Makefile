# fieldcase — thin Makefile; CI calls these targets as they are.
# `make run` opens the TUI on a demo vault; `make test` passes the tests on a
# fresh Debian 12 machine (it installs what it needs). docs/TESTING.md says
# what each step of the tests does.

GO      ?= go
BIN     := bin
# make run AS=caseworker (or typist): that persona's demo vault, its own file.
# (make has a built-in AS, the assembler: only that default is replaced.)
ifeq ($(origin AS),default)
AS      := supervisor
endif
DEMO    ?= .demo/demo$(if $(filter-out supervisor,$(AS)),-$(AS)).db
# --version prints "fieldcase VERSION (commit COMMIT, built DATE)". VERSION is
# the latest tag (empty: the binary says "dev"); without these flags (go
# build, go install) the binaries read what Go recorded of the build.
VERSION ?= $(shell git describe --tags --abbrev=0 2>/dev/null | sed 's/^v//')
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
DATE    ?= $(shell date -u +%Y-%m-%d)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
MAN     := $(BIN)/man

.PHONY: all deps deps-build build run test bench lint fuzz man fresh clean

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

# Man pages, generated from the same kong model as --help (so they cannot
# drift), into bin/man: read them with man -l bin/man/fieldcase.1.
man: build
	@mkdir -p $(MAN)
	$(BIN)/fieldcase man -o $(MAN)/fieldcase.1
	$(BIN)/fieldcased man -o $(MAN)/fieldcased.1

# The TUI on a demo vault of fictional cases; its passphrase is on screen.
run: build
	@[ -f $(DEMO) ] || $(BIN)/fieldcase demo --as $(AS) --vault $(DEMO)
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
