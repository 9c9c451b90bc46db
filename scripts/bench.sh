#!/usr/bin/env bash
# bench.sh: what `make bench` runs. Benchmarks report ratios against a
# baseline measured in the same process. The dictation benchmark records
# from the private virtual sound device started here (docs/TESTING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh test
run=$(mktemp -d "${TMPDIR:-/tmp}/fc.XXXXXX")
trap 'scripts/virtual-audio.sh stop "$run" >/dev/null 2>&1 || true; rm -rf "$run"' EXIT
audio_env=$(scripts/virtual-audio.sh start "$run")
eval "$audio_env"
# shellcheck disable=SC2086
go test -run '^$' -bench "${BENCH:-.}" -benchtime 1x -timeout 45m ${BENCHFLAGS:-} ${PKGS:-./...}
