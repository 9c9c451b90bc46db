#!/usr/bin/env bash
# deps.sh: install the Debian packages fieldcase needs to build and test, when
# missing, and download the Go modules. Says what it installs and why; waits
# for another apt to finish instead of failing; does nothing twice.
#
#   scripts/deps.sh          # build and test packages (make deps, make test)
#   scripts/deps.sh build    # only what building needs (make build, make run)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prereqs.sh go

# package|why — the build packages first.
build_pkgs=(
	"gcc|compiles the cgo bindings to the audio libraries"
	"libc6-dev|C headers for cgo"
	"pkg-config|finds the C libraries below"
	"portaudio19-dev|microphone capture and playback (PortAudio)"
	"libopus-dev|Opus, the dictation codec"
	"libopusfile-dev|Opus file support for the Opus binding"
)
test_pkgs=(
	"tmux|drives the real terminal UI in end-to-end tests"
	"pulseaudio|a private virtual microphone and speaker for the dictation tests"
	"pulseaudio-utils|pactl, to set up and check that virtual sound device"
	"libasound2-plugins|lets PortAudio (through ALSA) reach PulseAudio"
	"espeak-ng|speaks test sentences into the virtual microphone"
	"sox|makes and measures test audio"
	"pocketsphinx|the speech recogniser the machine-draft tests run (scripts/recognisers/pocketsphinx)"
	"pocketsphinx-en-us|pocketsphinx's US-English model, for those tests"
	"opus-tools|opusinfo checks the Ogg Opus files fieldcase exports"
	"poppler-utils|pdfinfo and pdftotext check the court bundle's PDF (pages, index, page labels)"
	"postgresql|a throwaway PostgreSQL for the server's PostgreSQL backend tests"
	"pgbouncer|a private pgbouncer in transaction pooling in front of it, for the PostgreSQL store's query-mode test"
	"man-db|man -l renders the generated man pages in their test"
	"mandoc|mandoc -T lint checks the generated man pages"
	"zsh|zsh -n parses the generated zsh completion"
	"fish|fish -n parses the generated fish completion"
)
want=("${build_pkgs[@]}")
[[ ${1:-all} == build ]] || want+=("${test_pkgs[@]}")

missing=() why=()
for entry in "${want[@]}"; do
	p=${entry%%|*}
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
	missing+=("$p")
	why+=("  $p: ${entry#*|}")
done

if ((${#missing[@]})); then
	if ! command -v apt-get >/dev/null; then
		echo "make deps: these packages are missing and this is not a Debian-like system:" >&2
		printf '%s\n' "${why[@]}" >&2
		echo "hint: install their equivalents with your package manager" >&2
		exit 1
	fi
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		if ! sudo -n true 2>/dev/null; then
			echo "make deps: these Debian packages are missing:" >&2
			printf '%s\n' "${why[@]}" >&2
			echo "hint: sudo apt-get install ${missing[*]}   (or run 'sudo make deps')" >&2
			exit 1
		fi
		sudo=(sudo -n)
	fi
	echo "make deps: installing ${#missing[@]} Debian packages with apt-get:"
	printf '%s\n' "${why[@]}"
	# Another apt (unattended-upgrades, a second checkout) may hold the lock:
	# wait up to 10 minutes for it rather than fail.
	apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
	"${apt[@]}" update </dev/null | sed -u 's/^/  apt: /' | grep -v '^  apt: \(Get\|Hit\|Ign\)' || true
	"${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null |
		sed -u 's/^/  apt: /' | grep -E --line-buffered '^  apt: (Setting up|E:|W:)' || true
	# The pipelines above hide apt's own status: check what it did.
	still=()
	for p in "${missing[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || still+=("$p")
	done
	if ((${#still[@]})); then
		echo "make deps: apt-get could not install: ${still[*]}" >&2
		echo "hint: run '${sudo[*]} apt-get install ${still[*]}' to see why" >&2
		exit 1
	fi
	# Installing postgresql starts a cluster on port 5432 where nothing forbids
	# it; the tests never use it (they run their own), so leave it as apt did.
fi

if ! go mod download 2>/tmp/fc-deps-$$.err; then
	cat /tmp/fc-deps-$$.err >&2
	rm -f /tmp/fc-deps-$$.err
	echo "make deps: downloading Go modules failed" >&2
	echo "hint: check the network or GOPROXY ($(go env GOPROXY))" >&2
	exit 1
fi
rm -f /tmp/fc-deps-$$.err
