#!/usr/bin/env bash
# build.sh: build both binaries into bin/. The first build compiles the
# cgo bindings to PortAudio and Opus and every module (a minute or two): on
# a terminal it shows which package it is compiling rather than staying
# silent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh build
mkdir -p bin
ldflags=${LDFLAGS:-}
if [[ -t 1 ]]; then
	echo "building fieldcase and fieldcased into bin/ (the first build takes a minute or two)"
	n=0
	go build -v -trimpath -ldflags "$ldflags" -o bin/ ./cmd/... 2>&1 | while IFS= read -r line; do
		if [[ $line == *' '* || $line == *:* ]]; then
			printf '\r\033[K%s\n' "$line" # an error or warning: show it whole
		else
			n=$((n + 1))
			printf '\r\033[K  [%d] %s' "$n" "${line:0:70}"
		fi
	done
	status=${PIPESTATUS[0]}
	printf '\r\033[K'
	exit "$status"
fi
go build -trimpath -ldflags "$ldflags" -o bin/ ./cmd/...
