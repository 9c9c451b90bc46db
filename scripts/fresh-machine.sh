#!/usr/bin/env bash
# fresh-machine.sh: does the README's quick start work on a fresh Debian 12
# machine with nothing beside the clone? Runs, as root, in a throwaway
# debootstrap chroot holding only Debian's minimal base (plus git, make and
# CA certificates), the host's Go, and a clone of the committed main branch:
#
#   1. make test    (installs its packages with apt-get, as a new user would)
#   2. make run     in tmux, until the unlock screen of the demo vault shows
#
#   scripts/fresh-machine.sh [--rebuild] [--keep] [-- COMMAND]
#
# COMMAND replaces both steps (run with bash -c in the clone). The base root
# is cached as a tarball in $FRESH_CACHE (default /var/cache/fieldcase-fresh),
# rebuilt when this script or the host's Go changes. Each run unpacks it into
# a new directory, in private mount, PID and IPC namespaces: when the run
# ends every process it started (daemons included) dies with the namespace,
# and the directory is removed (unless --keep). The network is the host's:
# apt and the Go module proxy must be reachable. Exit status: the command's;
# 125 when the harness itself failed. See docs/TESTING.md.
set -uo pipefail

SUITE=bookworm
CACHE=${FRESH_CACHE:-/var/cache/fieldcase-fresh}
GOROOT_HOST=${FRESH_GOROOT:-$(go env GOROOT 2>/dev/null || echo /usr/local/go)}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
GUEST_PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '[fresh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 125; }

# ---- inside the namespaces: fresh-machine.sh __inner ROOT ENVFILE COMMAND
if [[ ${1:-} == __inner ]]; then
	root=$2 envfile=$3 command=$4
	[[ $$ == 1 ]] || die "inner stage is not PID 1 of its own PID namespace"
	mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts" &&
		mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$root/dev/shm" &&
		mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" &&
		mount --make-rslave "$root/sys" || die "mounting into $root failed"
	mapfile -t env <"$envfile"
	chroot "$root" /usr/bin/env -i "${env[@]}" /bin/bash -c "$command" </dev/null &
	wait $!
	rc=$?
	# PID 1 of this namespace: -1 reaches exactly this run's processes.
	kill -TERM -1 2>/dev/null; sleep 1; kill -KILL -1 2>/dev/null
	exit $rc
fi

rebuild=0 keep=0 command=""
while (($#)); do
	case $1 in
	--rebuild) rebuild=1 ;;
	--keep) keep=1 ;;
	--) shift; command="$*"; break ;;
	*) echo "usage: $0 [--rebuild] [--keep] [-- COMMAND]" >&2; exit 2 ;;
	esac
	shift
done
[[ $(id -u) == 0 ]] || die "run as root (debootstrap, chroot and namespaces need it)"
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
[[ -x $GOROOT_HOST/bin/go ]] || die "no Go at $GOROOT_HOST (set FRESH_GOROOT)"
git -C "$REPO" rev-parse --verify -q main >/dev/null || die "$REPO has no main branch"

if [[ -z $command ]]; then
	# The README's two commands: the tests, then the TUI up to its unlock
	# screen (in tmux: make run needs a terminal).
	command='set -e
make test
echo "== make run (until the unlock screen)"
tmux -L fresh new-session -d -s run -x 100 -y 30 "make run; sleep 600"
for i in $(seq 600); do
	if tmux -L fresh capture-pane -p -t run | grep -q "Unlock vault"; then
		tmux -L fresh capture-pane -p -t run | sed "s/^/  | /"
		echo "== make run reached the unlock screen after ${i} s"
		exit 0
	fi
	sleep 1
done
tmux -L fresh capture-pane -p -t run
echo "== make run did not reach the unlock screen in 600 s"; exit 1'
fi

# ---- the cached base root
mkdir -p "$CACHE"
key=$( { sha256sum "$SELF"; "$GOROOT_HOST/bin/go" version; cat /etc/apt/sources.list.d/*.sources 2>/dev/null; } |
	sha256sum | cut -c1-16)
tarball=$CACHE/$SUITE-$key.tar.zst
if [[ $rebuild == 1 || ! -f $tarball ]]; then
	if ! command -v debootstrap >/dev/null || ! command -v zstd >/dev/null; then
		say "installing debootstrap and zstd on the host"
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y debootstrap zstd >/dev/null ||
			die "could not install debootstrap"
	fi
	mirror=$(sed -nE 's/^URIs:[[:space:]]*(http[^[:space:]]*\/debian)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	mirror=${mirror:-http://deb.debian.org/debian}
	build=$(mktemp -d "$CACHE/build.XXXXXX")
	say "building a fresh $SUITE root from $mirror (a few minutes, once)"
	unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
		debootstrap --variant=minbase --include=ca-certificates,git,make "$SUITE" "$build" "$mirror" \
		>"$CACHE/build.log" 2>&1 || { tail -n 20 "$CACHE/build.log" >&2; rm -rf "$build"; die "debootstrap failed"; }
	# What a provisioned machine of this kind has: its apt sources and
	# image-level apt settings, local CAs (a TLS-intercepting proxy), and Go
	# with the host's Go settings (module proxy, checksum database).
	rm -f "$build/etc/apt/sources.list"
	cp -p /etc/apt/sources.list.d/*.sources "$build/etc/apt/sources.list.d/" 2>/dev/null || true
	for f in /etc/apt/apt.conf.d/*; do
		dpkg -S "$f" >/dev/null 2>&1 || cp -p "$f" "$build/etc/apt/apt.conf.d/"
	done
	[[ -d /usr/local/share/ca-certificates ]] && cp -a /usr/local/share/ca-certificates/. "$build/usr/local/share/ca-certificates/"
	mkdir -p "$build/usr/local" "$build/root/.config/go"
	cp -a "$GOROOT_HOST" "$build/usr/local/go"
	for k in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOFLAGS GOTOOLCHAIN; do
		printf '%s=%s\n' "$k" "$(go env "$k")" >>"$build/root/.config/go/env"
	done
	cp -L /etc/resolv.conf "$build/etc/resolv.conf"
	unshare --mount --pid --fork --kill-child --mount-proc --propagation private sh -c \
		'mount -t proc proc "$1/proc" && exec chroot "$1" /usr/bin/env -i PATH="$2" HOME=/root bash -c \
		"update-ca-certificates >/dev/null && apt-get -q update >/dev/null && rm -rf /var/lib/apt/lists/* && go version"' \
		sh "$build" "$GUEST_PATH" >>"$CACHE/build.log" 2>&1 ||
		{ tail -n 20 "$CACHE/build.log" >&2; rm -rf "$build"; die "the new root does not work"; }
	mkdir -p "$build/var/lib/apt/lists/partial"
	chmod 755 "$build" # mktemp made it 0700: it becomes the root directory
	tar -C "$build" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$tarball.tmp" && mv "$tarball.tmp" "$tarball" ||
		die "packing the root failed"
	rm -rf "$build"
	say "cached $tarball ($(du -h "$tarball" | cut -f1))"
fi

# ---- one run
run=$(mktemp -d "${FRESH_RUNS:-/var/tmp}/fieldcase-fresh.XXXXXX")
cleanup() {
	local rc=$?
	if [[ $keep == 1 ]]; then say "kept $run"; else rm -rf --one-file-system "$run"; fi
	exit $rc
}
trap cleanup EXIT
root=$run/root
mkdir -p "$root"
zstd -q -dc "$tarball" | tar -C "$root" --numeric-owner -xpf - || die "unpacking the root failed"
chmod 755 "$root"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/src"
git clone -q --single-branch --branch main "$REPO" "$root/src/fieldcase" || die "cloning main failed"
say "main @ $(git -C "$root/src/fieldcase" log -1 --format='%h %s')"
{
	echo "HOME=/root"; echo "PATH=$GUEST_PATH"; echo "CI=true"; echo "LANG=C.UTF-8"
	echo "USER=root"; echo "LOGNAME=root"; echo "SHELL=/bin/bash"; echo "TERM=xterm-256color"
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY SSL_CERT_FILE SSL_CERT_DIR; do
		[[ -n ${!v:-} ]] && echo "$v=${!v}"
	done
} >"$run/env"
say "running in /src/fieldcase: ${command%%$'\n'*}…"
t0=$SECONDS
unshare --mount --pid --ipc --fork --kill-child --mount-proc --propagation private \
	/bin/bash "$SELF" __inner "$root" "$run/env" "cd /src/fieldcase && $command" </dev/null
rc=$?
say "exit $rc after $((SECONDS - t0)) s"
exit $rc
