#!/usr/bin/env bash
# virtual-audio.sh: a private, headless microphone and speaker for fieldcase's
# dictation tests. A PulseAudio daemon of its own (no hardware, D-Bus or
# systemd) with a null sink "virt" whose monitor is the default source:
# whatever is played (espeak-ng, the recorder's playback) is what the
# recorder hears. PortAudio reaches it through ALSA's pulse plugin.
#
#   scripts/virtual-audio.sh start DIR   # prints export lines on stdout; messages on stderr
#   scripts/virtual-audio.sh stop DIR
#
# Everything (socket, cookie, pid, logs, ALSA config) lives in DIR, so two
# checkouts can test at once. Keep DIR short: a Unix socket path has at
# most 107 bytes. See docs/TESTING.md.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
	echo "usage: $0 start|stop DIR" >&2
	exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
va=$dir/audio
sock=$va/pulse/native
pidfile=$va/pulseaudio.pid

log() { echo "virtual-audio: $*" >&2; }

pa() { env XDG_RUNTIME_DIR="$va" PULSE_SERVER="unix:$sock" PULSE_COOKIE="$va/cookie" "$@"; }

stop() {
	[[ -f $pidfile ]] || return 0
	local pid
	pid=$(<"$pidfile")
	if [[ $pid =~ ^[0-9]+$ ]] && grep -qs pulseaudio "/proc/$pid/comm"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile" "$sock"
}

start() {
	for c in pulseaudio pactl; do
		command -v "$c" >/dev/null || { log "$c is missing: run 'make deps'"; exit 1; }
	done
	(( ${#sock} < 100 )) || { log "socket path too long ($sock): use a shorter DIR"; exit 1; }
	stop
	mkdir -p "$va/pulse" "$va/state"
	chmod 700 "$va" "$va/pulse"
	cat >"$va/default.pa" <<EOF
load-module module-native-protocol-unix auth-anonymous=1 socket=$sock
load-module module-null-sink sink_name=virt rate=48000 sink_properties=device.description=VirtualSpeaker
# An idle null sink renders in 2 s blocks, so a new recording would get its
# first buffer up to 2 s late; a permanent low-latency reader keeps it live.
# Tests load their own sinks and loop them into va_drain the same way.
load-module module-null-sink sink_name=va_drain sink_properties=device.description=Drain
load-module module-loopback source=virt.monitor sink=va_drain latency_msec=40 source_dont_move=true sink_dont_move=true
set-default-sink virt
set-default-source virt.monitor
EOF
	# ALSA's default device is this PulseAudio and nothing else, so PortAudio
	# lists one device and ALSA probes no sound cards.
	cat >"$va/asound.conf" <<'EOF'
pcm.!default { type pulse hint { show on description "PulseAudio (fieldcase tests)" } }
ctl.!default { type pulse }
pcm.pulse { type pulse }
ctl.pulse { type pulse }
EOF
	# Detached (own session, no inherited stdio) so that a CI runner waiting
	# for its pipes to close never waits for the daemon.
	env HOME="$va" XDG_RUNTIME_DIR="$va" PULSE_RUNTIME_PATH="$va/pulse" PULSE_STATE_PATH="$va/state" \
		PULSE_COOKIE="$va/cookie" setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$pidfile" \
		pulseaudio --daemonize=no -n -F "$va/default.pa" --exit-idle-time=-1 --disallow-exit=yes \
		--use-pid-file=no --realtime=no --high-priority=no --log-target="file:$va/pulseaudio.log" \
		--log-level=notice </dev/null >>"$va/pulseaudio.out" 2>&1 &
	for _ in $(seq 100); do
		[[ -s $pidfile ]] && pa pactl info >/dev/null 2>&1 && break
		if [[ -s $pidfile ]] && ! kill -0 "$(<"$pidfile")" 2>/dev/null; then
			log "pulseaudio exited:"; tail -n 20 "$va/pulseaudio.log" "$va/pulseaudio.out" >&2 2>/dev/null || true
			exit 1
		fi
		sleep 0.1
	done
	pa pactl info >/dev/null 2>&1 || { log "pulseaudio did not answer within 10 s"; exit 1; }
	# Wait until the null sink has left its first 2 s render block.
	local lat=""
	for _ in $(seq 40); do
		lat=$(pa pactl list sinks 2>/dev/null | awk '/^[ \t]*Name: virt$/{f=1} f&&/^[ \t]*Latency:/{print $2; exit}')
		[[ -n $lat && $lat -lt 100000 ]] && break
		sleep 0.1
	done
	log "pulseaudio $(<"$pidfile") on $sock"
	cat <<EOF
export XDG_RUNTIME_DIR=$va
export PULSE_SERVER=unix:$sock
export PULSE_COOKIE=$va/cookie
export PULSE_SINK=virt
export PULSE_SOURCE=virt.monitor
export ALSA_CONFIG_PATH=$va/asound.conf
export JACK_NO_START_SERVER=1
EOF
}

case $cmd in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
