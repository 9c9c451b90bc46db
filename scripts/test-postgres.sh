#!/usr/bin/env bash
# test-postgres.sh: a throwaway PostgreSQL for the PostgreSQL backend's tests.
#
#   scripts/test-postgres.sh start DIR   # prints "export FIELDCASE_TEST_PG_URL=…" on stdout
#   scripts/test-postgres.sh stop DIR    # stops it and removes DIR/pg
#
# initdb into DIR/pg, listening on 127.0.0.1 only, on a free port, with its
# Unix socket in DIR/pg and durability off (it is thrown away). PostgreSQL
# refuses to run as root, so as root it runs as the 'postgres' user (created
# if missing). Two checkouts can test at once: nothing is shared but the
# binaries. See docs/TESTING.md.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
	echo "usage: $0 start|stop DIR" >&2
	exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
base=$dir/pg
data=$base/data
export LC_ALL=C LANG=C
os_user=postgres

log() { echo "test-postgres: $*" >&2; }

bindir() {
	local d
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
		[[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
	done
	return 1
}

as_pg() {
	if [[ $(id -u) == 0 ]]; then (cd "$base" && runuser -u "$os_user" -- "$@"); else (cd "$base" && "$@"); fi
}

stop() {
	[[ -d $base ]] || return 0
	local bin pid
	bin=$(bindir || true)
	if [[ -f $data/postmaster.pid ]]; then
		pid=$(head -n1 "$data/postmaster.pid")
		if [[ -n $bin ]] && ! as_pg "$bin/pg_ctl" -D "$data" -m immediate -w -t 20 stop >>"$base/pg_ctl.log" 2>&1; then
			[[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf -- "$base"
}

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((15000 + RANDOM % 17000)) # below Linux's ephemeral range
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

start() {
	local bin
	bin=$(bindir) || { log "PostgreSQL's server binaries are missing: run 'make deps'"; exit 1; }
	(( ${#base} < 90 )) || { log "directory too long for a Unix socket path: $base"; exit 1; }
	stop
	mkdir -p "$base"
	if [[ $(id -u) == 0 ]]; then
		id -u "$os_user" >/dev/null 2>&1 ||
			useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$os_user"
		chmod 711 "$dir"
		chown "$os_user": "$base"
		runuser -u "$os_user" -- test -w "$base" ||
			{ log "user $os_user cannot reach $base (is a parent directory 0700?)"; exit 1; }
	fi
	as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync \
		>"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; log "initdb failed"; exit 1; }
	cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
	local port="" try
	for try in 1 2 3 4 5; do
		port=$(free_port) || { log "no free port"; exit 1; }
		if as_pg setsid "$bin/pg_ctl" -D "$data" -l "$base/postgres.log" -o "-p $port" -w -t 60 start \
			</dev/null >>"$base/pg_ctl.log" 2>&1; then
			break
		fi
		grep -q 'already in use' "$base/postgres.log" 2>/dev/null || {
			tail -n 20 "$base/postgres.log" >&2 || true; log "pg_ctl start failed"; exit 1; }
		log "port $port taken, trying another ($try)"
		port=""
	done
	[[ -n $port ]] || { log "could not start PostgreSQL"; exit 1; }
	as_pg "$bin/createdb" -h "$base" -p "$port" -U postgres fieldcase_test </dev/null >&2 ||
		{ log "createdb failed"; exit 1; }
	log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
	echo "export FIELDCASE_TEST_PG_URL='postgres://postgres@127.0.0.1:$port/fieldcase_test?sslmode=disable'"
}

case $cmd in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
