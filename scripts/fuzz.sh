#!/usr/bin/env bash
# fuzz.sh: run every Fuzz target for FUZZTIME (default 60s) each, beyond the
# seed corpora that every `go test` run already replays.
#
# Each package with Fuzz targets is compiled once (with the fuzzing
# instrumentation) and its binary is run per target from the package
# directory, so testdata/fuzz is found and a failing input is saved there.
# Finding targets by grep instead of `go test -list` spares compiling every
# package of the module just to learn it has none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
FUZZTIME=${FUZZTIME:-60s}
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz"
for dir in $(grep -l --include='*_test.go' -r '^func Fuzz[A-Z0-9_a-z]*(f \*testing\.F)' . |
	xargs -n1 dirname | sort -u); do
	dir=${dir#./}
	pkg="$module/$dir"
	targets=$(grep -h --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u)
	bin="$work/$(echo "$dir" | tr / _).test"
	if ! go test -c -fuzz=. -o "$bin" "./$dir" >"$work/log" 2>&1; then
		cat "$work/log"
		echo "fuzz: building $dir failed"
		exit 1
	fi
	for target in $targets; do
		echo "fuzz $dir $target ($FUZZTIME)"
		if ! (cd "$root/$dir" && "$bin" -test.run '^$' -test.fuzz "^${target}\$" \
			-test.fuzztime "$FUZZTIME" -test.fuzzcachedir "$cache/$pkg") >"$work/log" 2>&1; then
			cat "$work/log"
			echo "fuzz: $target found a failing input; it is saved under $dir/testdata/fuzz/$target (commit it with the fix)"
			exit 1
		fi
	done
done
