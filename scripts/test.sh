#!/usr/bin/env bash
# test.sh: what `make test` runs, on real parts only (vault files, the built
# binaries, a real terminal, real audio through a virtual sound device, a
# real PostgreSQL). docs/TESTING.md explains each step.
#
#   1. prerequisites, gofmt, go vet
#   2. a private harness in a per-run directory: a virtual sound device and a
#      throwaway PostgreSQL (two checkouts can test at once)
#   3. the shipped binaries, built once for every package's end-to-end tests
#   4. every package's tests with the race detector (fuzz seeds included)
#   5. each fuzz target briefly beyond its seeds
#
# Knobs: FUZZTIME (default 5000x: executions per target; 0 skips step 5), TESTFLAGS (extra
# go test flags, e.g. -run), PKGS (default ./...), TESTP (packages tested at
# once, default 3), FIELDCASE_TEST_TIMES (write every package's and test's
# time to this JSON file).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

scripts/prereqs.sh test

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [[ -n $unformatted ]]; then
	echo "gofmt needed:"; echo "$unformatted"
	exit 1
fi
go vet ./...

# Harness state lives under one per-run directory (short: Unix socket paths
# are limited to 107 bytes), removed on exit.
run=$(mktemp -d "${TMPDIR:-/tmp}/fc.XXXXXX")
cleanup() {
	scripts/virtual-audio.sh stop "$run" >/dev/null 2>&1 || true
	scripts/test-postgres.sh stop "$run" >/dev/null 2>&1 || true
	# A test killed half-way (Ctrl+C, a timeout) can leave what it started:
	# a server, a private PostgreSQL. Everything of this run names its
	# directory on its command line.
	pkill -KILL -f -- "$run/" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== harness in $run"
audio_env=$(scripts/virtual-audio.sh start "$run")
eval "$audio_env"
pg_env=$(scripts/test-postgres.sh start "$run")
eval "$pg_env"
export TMPDIR=$run/tmp
mkdir -p "$TMPDIR"

echo "== binaries"
# The end-to-end tests of several packages run the shipped binaries: built
# once here (and fieldcased once more with -race, for the tests that look for
# races inside the server process) instead of once per package.
export FIELDCASE_TEST_BIN=$run/bin
go build -o "$FIELDCASE_TEST_BIN/" ./cmd/fieldcase ./cmd/fieldcased
go build -race -o "$FIELDCASE_TEST_BIN/race/" ./cmd/fieldcased

echo "== go test -race"
set +e
# shellcheck disable=SC2086
# Three packages at once on two cores, not go's default of one per core:
# the end-to-end packages spend much of their time waiting on servers,
# terminals and real-time audio, and with two a core stood idle a fifth
# of the run (docs/TESTING.md has the measurement).
go test -race -count=1 -timeout 15m -p "${TESTP:-3}" -json ${TESTFLAGS:-} ${PKGS:-./...} 2>&1 |
	go run ./internal/testreport ${FIELDCASE_TEST_TIMES:+-times "$FIELDCASE_TEST_TIMES"}
statuses=("${PIPESTATUS[@]}")
set -e
status=0
for s in "${statuses[@]}"; do ((s == 0)) || status=$s; done
if ((status != 0)); then
	echo "== tests FAILED ($((SECONDS - start)) s)"
	exit "$status"
fi

if [[ ${FUZZTIME:-5000x} != 0 ]]; then
	echo "== fuzz (${FUZZTIME:-5000x} per target)"
	FUZZTIME=${FUZZTIME:-5000x} scripts/fuzz.sh
fi
echo "== all tests passed ($((SECONDS - start)) s)"
