#!/usr/bin/env bash
# test.sh: what `make test` runs. Formatting and vet, every package's tests
# with the race detector, then each fuzz target briefly on top of its seed
# corpus. Real parts only: vault files, the built binaries, a real terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then echo "gofmt needed: $unformatted"; exit 1; fi
go vet ./...

# A headless microphone and speaker for the dictation tests: the shared
# virtual-audio.sh (a private PulseAudio with a null sink), stopped on exit.
shared=${FIELDCASE_SHARED:-../shared}
if [[ ! -x $shared/virtual-audio.sh ]]; then
	echo "make test: $shared/virtual-audio.sh not found (set FIELDCASE_SHARED)"; exit 1
fi
audio_env=$("$shared/virtual-audio.sh" start)
eval "$audio_env"
# A throwaway PostgreSQL for the PostgreSQL backend's tests (the shared
# test-postgres.sh: 127.0.0.1, a random port, removed on exit).
export FIELDCASE_TEST_PG_DIR=${FIELDCASE_TEST_PG_DIR:-/tmp/fieldcase-test-pg}
trap '"$shared/virtual-audio.sh" stop >/dev/null 2>&1 || true; bash "$shared/test-postgres.sh" stop >/dev/null 2>&1 || true' EXIT
pg_env="$(bash "$shared/test-postgres.sh" start)"
eval "$pg_env"

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

echo "== fuzz (brief)"
FUZZTIME=${FUZZTIME:-3s} scripts/fuzz.sh
echo "== all tests passed"
