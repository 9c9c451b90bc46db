#!/usr/bin/env bash
# deps.sh: install the Debian packages fieldcase needs to build and test, when
# missing, and download Go modules. Says what it does; does nothing twice.
set -euo pipefail

# Build: cgo libraries for audio capture (PortAudio) and Opus.
# Tests: tmux drives the real TUI; a PulseAudio null sink is the microphone
# (../shared/virtual-audio.sh), espeak-ng speaks into it, opus-tools checks
# exported files; PostgreSQL backs the server's second storage backend
# (../shared/test-postgres.sh runs a throwaway one). The command-line tests
# render the generated man pages with man-db's man -l and check them with
# mandoc -T lint, and parse the completion scripts with zsh -n and fish -n.
PKGS=(pkg-config portaudio19-dev libopus-dev libopusfile-dev
	tmux pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox opus-tools
	postgresql
	man-db mandoc zsh fish)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "make deps: installing Debian packages: ${missing[*]}"
	sudo=(); [[ $(id -u) == 0 ]] || sudo=(sudo -n)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
go mod download
