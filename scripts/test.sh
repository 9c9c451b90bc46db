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

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

echo "== fuzz (brief)"
FUZZTIME=${FUZZTIME:-3s} scripts/fuzz.sh
echo "== all tests passed"
