#!/usr/bin/env bash
# prereqs.sh: check, before any work starts, that what a make target needs is
# here, and name the command that fixes what is not.
#
#   scripts/prereqs.sh go      # Go and a C compiler (make deps)
#   scripts/prereqs.sh build   # + the C libraries (make build, make run)
#   scripts/prereqs.sh test    # + the test tools (make test, make bench)
set -uo pipefail
cd "$(dirname "$0")/.."

level=${1:-test}
problems=()
fix=()

need_go() {
	if ! command -v go >/dev/null; then
		problems+=("Go is not installed (or not on PATH)")
		fix+=("install Go $(go_want) or newer from https://go.dev/dl/ and put its bin directory on PATH")
		return
	fi
	local have want
	have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
	want=$(go_want)
	if [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1) != "$want" ]]; then
		problems+=("Go $have is older than the go $want that go.mod asks for")
		fix+=("install Go $want or newer from https://go.dev/dl/")
	fi
}

go_want() { awk '$1 == "go" { print $2; exit }' go.mod; }

need_cmd() { # command, package, why
	command -v "$1" >/dev/null && return
	problems+=("$1 is missing: $3")
	fix+=("make deps   (or: apt-get install $2)")
}

need_lib() { # pkg-config name, package
	command -v pkg-config >/dev/null && pkg-config --exists "$1" 2>/dev/null && return
	problems+=("the C library $1 is missing")
	fix+=("make deps   (or: apt-get install pkg-config $2)")
}

need_go
if [[ $level == build || $level == test ]]; then
	need_cmd gcc gcc "the audio packages are cgo bindings to C libraries"
	need_lib portaudio-2.0 portaudio19-dev
	need_lib opus libopus-dev
	need_lib opusfile libopusfile-dev
fi
if [[ $level == test ]]; then
	need_cmd tmux tmux "the terminal UI's end-to-end tests run in it"
	need_cmd pulseaudio pulseaudio "the dictation tests record from a virtual microphone"
	need_cmd pactl pulseaudio-utils "it sets up the virtual microphone"
	need_cmd espeak-ng espeak-ng "it speaks into the virtual microphone"
	need_cmd sox sox "it measures test audio"
	need_cmd pocketsphinx_continuous pocketsphinx "the machine-draft tests run it as their speech recogniser"
	[[ -d /usr/share/pocketsphinx/model/en-us ]] || { problems+=("pocketsphinx's US-English model is missing: the machine-draft tests need it"); fix+=("make deps   (or: apt-get install pocketsphinx-en-us)"); }
	need_cmd opusinfo opus-tools "it checks exported Ogg Opus files"
	need_cmd pdftotext poppler-utils "it checks the court bundle's PDF (index, page labels, text)"
	need_cmd man man-db "the man page test renders them with man -l"
	need_cmd mandoc mandoc "the man page test lints them"
	need_cmd zsh zsh "the completion test parses the zsh script"
	need_cmd fish fish "the completion test parses the fish script"
	if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
		problems+=("PostgreSQL's server is missing: the PostgreSQL backend is tested against a real one")
		fix+=("make deps   (or: apt-get install postgresql)")
	fi
	if [[ -z $(find /usr/lib -name libasound_module_pcm_pulse.so -print -quit 2>/dev/null) ]]; then
		problems+=("ALSA's PulseAudio plugin is missing: PortAudio reaches the virtual microphone through it")
		fix+=("make deps   (or: apt-get install libasound2-plugins)")
	fi
fi

if ((${#problems[@]})); then
	echo "missing prerequisites:" >&2
	for i in "${!problems[@]}"; do
		echo "  - ${problems[$i]}" >&2
		echo "    fix: ${fix[$i]}" >&2
	done
	exit 1
fi
