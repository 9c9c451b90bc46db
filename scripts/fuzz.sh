#!/usr/bin/env bash
# fuzz.sh: run every Fuzz target for FUZZTIME (default 60s) each, beyond the
# seed corpora that every `go test` run already replays.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
log=$(mktemp "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz ${pkg#github.com/fieldcase/fieldcase/} $target ($FUZZTIME)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz: $target found a failing input; it is saved under testdata/fuzz/$target in $pkg (commit it with the fix)"
			exit 1
		fi
	done
done
