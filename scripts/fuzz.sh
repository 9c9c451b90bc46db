#!/usr/bin/env bash
# fuzz.sh: run every Fuzz target beyond the seed corpora that every `go test`
# run already replays.
#
# FUZZTIME is either a count of executions per target ("5000x") or a time
# per target ("60s", "10m"). Either way each run of the fuzzer is given a
# count, never a time: with a time, Go's fuzz coordinator (up to go1.26)
# can fail a target with a bare "context deadline exceeded" at the end of the
# window having found nothing (go.dev/issue/75804). A time is therefore spent
# as consecutive runs of FUZZCHUNK executions until it has passed, so a failure
# here is always a real finding.
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
FUZZCHUNK=${FUZZCHUNK:-20000x}
case $FUZZTIME in
[0-9]*x) seconds=0 ;;
[0-9]*s) seconds=${FUZZTIME%s} ;;
[0-9]*m) seconds=$((${FUZZTIME%m} * 60)) ;;
[0-9]*h) seconds=$((${FUZZTIME%h} * 3600)) ;;
*)
	echo "fuzz: FUZZTIME must be a count (5000x) or whole seconds, minutes or hours (60s, 10m, 1h), not '$FUZZTIME'" >&2
	exit 2
	;;
esac
if ! [[ $seconds =~ ^[0-9]+$ && $FUZZCHUNK =~ ^[0-9]+x$ ]]; then
	echo "fuzz: FUZZTIME '$FUZZTIME' or FUZZCHUNK '$FUZZCHUNK' is not a whole number" >&2
	exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz"

# fuzz_once BIN DIR TARGET COUNT: one run of the fuzzer; on a finding, print
# its output and where the failing input was saved, and fail.
fuzz_once() {
	local bin=$1 dir=$2 target=$3 count=$4
	if ! (cd "$root/$dir" && "$bin" -test.run '^$' -test.fuzz "^${target}\$" \
		-test.fuzztime "$count" -test.fuzzcachedir "$cache/$module/$dir") >"$work/log" 2>&1; then
		cat "$work/log"
		echo "fuzz: $target failed; a failing input is saved under $dir/testdata/fuzz/$target (commit it with the fix)"
		return 1
	fi
}

for dir in $(grep -l --include='*_test.go' -r '^func Fuzz[A-Z0-9_a-z]*(f \*testing\.F)' . |
	xargs -n1 dirname | sort -u); do
	dir=${dir#./}
	targets=$(grep -h --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u)
	bin="$work/$(echo "$dir" | tr / _).test"
	if ! go test -c -fuzz=. -o "$bin" "./$dir" >"$work/log" 2>&1; then
		cat "$work/log"
		echo "fuzz: building $dir failed"
		exit 1
	fi
	for target in $targets; do
		echo "fuzz $dir $target ($FUZZTIME)"
		if ((seconds == 0)); then
			fuzz_once "$bin" "$dir" "$target" "$FUZZTIME" || exit 1
			continue
		fi
		until=$((SECONDS + seconds))
		while ((SECONDS < until)); do
			fuzz_once "$bin" "$dir" "$target" "$FUZZCHUNK" || exit 1
		done
	done
done
