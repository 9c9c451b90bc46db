#!/usr/bin/env bash
# failover-patroni.sh: a longer failover run than CI's, with the failover
# manager agencies use (Patroni with etcd), all on 127.0.0.1. Not run in CI:
# it needs Patroni >= 3.0.3 and etcd, and takes minutes. docs/OPERATIONS.md
# ("Failover") explains what it shows.
#
#   scripts/failover-patroni.sh [--async] [--freeze] [--duration 120s] [--devices 20]
#
# It starts one etcd, two PostgreSQL nodes under Patroni (synchronous mode
# unless --async), two fieldcased instances on a multi-host URL, and
# fieldcase-load --verify through the first instance. A
# third of the way in it kills the Patroni leader's PostgreSQL with SIGKILL
# (or, with --freeze, stops it with SIGSTOP for 40 s and then lets it go
# on). At the end each load checks, per device, that every acknowledged
# revision is on the server and none was skipped, and exits non-zero
# otherwise. Everything lives in one temporary directory, removed at the
# end (KEEP=1 keeps it, with the logs).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=sync fault=kill duration=120s devices=20
while (($#)); do
	case $1 in
	--async) mode=async ;;
	--freeze) fault=freeze ;;
	--duration) duration=$2; shift ;;
	--devices) devices=$2; shift ;;
	*) echo "usage: $0 [--async] [--freeze] [--duration 120s] [--devices N]" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "failover-patroni: $*" >&2; exit 1; }
command -v patroni >/dev/null || die "patroni is missing: pip install 'patroni[etcd3]>=3.0.3' psycopg2-binary (Debian 12's 3.0.2 has patroni/patroni#2689)"
command -v etcd >/dev/null || die "etcd is missing: apt-get install etcd-server"
pv=$(patroni --version | awk '{print $2}')
if [[ $(printf '%s\n3.0.3\n' "$pv" | sort -V | head -n1) != 3.0.3 ]]; then
	die "patroni $pv is older than 3.0.3 (patroni/patroni#2689 can lose a failover's writes)"
fi
bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV | head -n1)
[[ -x $bin/pg_ctl ]] || die "PostgreSQL's server binaries are missing"

run=$(mktemp -d "${TMPDIR:-/tmp}/fcpat.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
as_pg=()
if [[ $(id -u) == 0 ]]; then
	chown postgres: "$run"
	as_pg=(runuser -u postgres --)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== building"
go build -o "$run/bin/" ./cmd/fieldcased ./cmd/fieldcase-load

echo "== etcd"
etcd_port=$(free_port) etcd_peer=$(free_port)
"${as_pg[@]}" etcd --name fc --data-dir "$run/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
	--advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
	--initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" --initial-cluster "fc=http://127.0.0.1:$etcd_peer" \
	--enable-v2=false >"$run/etcd.log" 2>&1 &
pids+=($!)

sync_mode=true
[[ $mode == async ]] && sync_mode=false
declare -A pg_port api_port
for n in pg1 pg2; do
	pg_port[$n]=$(free_port)
	api_port[$n]=$(free_port)
	mkdir -p "$run/$n"
	[[ $(id -u) == 0 ]] && chown postgres: "$run/$n"
	cat >"$run/$n.yml" <<EOF
scope: fieldcase
name: $n
restapi: {listen: 127.0.0.1:${api_port[$n]}, connect_address: 127.0.0.1:${api_port[$n]}}
etcd3: {hosts: 127.0.0.1:$etcd_port}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync_mode
    postgresql:
      use_pg_rewind: true
      parameters:
        synchronous_commit: "on"
        wal_level: replica
        max_wal_senders: 5
        wal_log_hints: "on"
  initdb: [{encoding: UTF8}, {locale: C}]
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${pg_port[$n]}
  connect_address: 127.0.0.1:${pg_port[$n]}
  data_dir: $run/$n/data
  bin_dir: $bin
  pgpass: $run/$n/pgpass
  authentication:
    superuser: {username: postgres, password: ''}
    replication: {username: postgres, password: ''}
  parameters: {unix_socket_directories: '$run/$n'}
EOF
	"${as_pg[@]}" patroni "$run/$n.yml" >"$run/$n.log" 2>&1 &
	pids+=($!)
	sleep 1 # pg1 bootstraps the cluster; pg2 then clones it
done

leader() { curl -sf "http://127.0.0.1:${api_port[pg1]}/cluster" | python3 -c 'import json,sys; print(next(m["name"] for m in json.load(sys.stdin)["members"] if m["role"]=="leader"))'; }
wait_for() { # seconds, what, command…
	local t=$1 what=$2; shift 2
	for _ in $(seq $((t * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	die "waited ${t}s for $what"
}
streaming() { curl -sf "http://127.0.0.1:${api_port[pg1]}/cluster" | grep -q '"state": *"\(streaming\|running\)".*"state": *"\(streaming\|running\)"'; }
wait_for 120 "a Patroni leader" leader
wait_for 120 "the replica to stream" streaming
first=$(leader)
echo "== Patroni: leader $first, $mode replication"
psql=("$bin/psql" -X -q -h 127.0.0.1 -p "${pg_port[$first]}" -U postgres)
"${psql[@]}" -c "CREATE DATABASE fieldcase"

url="postgres://postgres@127.0.0.1:${pg_port[pg1]},127.0.0.1:${pg_port[pg2]}/fieldcase?sslmode=disable&target_session_attrs=read-write&connect_timeout=3"
declare -a srv_url srv_dir
for i in 0 1; do
	srv_dir[i]="$run/fieldcased$i"
	mkdir -p "${srv_dir[i]}"
	"$run/bin/fieldcased" serve --data "${srv_dir[i]}" --db "$url" --listen 127.0.0.1:0 --no-tls \
		--enroll-per-addr 100000/1ms --enroll-global 100000/1ms >"$run/fieldcased$i.out" 2>"$run/fieldcased$i.log" &
	pids+=($!)
	wait_for 30 "fieldcased $i" grep -q "listening on" "$run/fieldcased$i.out"
	srv_url[i]=$(sed -n 's/^listening on //p' "$run/fieldcased$i.out")
done

echo "== load: $devices devices for $duration through ${srv_url[0]} and ${srv_url[1]}; $fault at a third of it"
# fieldcase-load installs its own agency key, so one load runs, through the
# first instance; the second runs beside it over the same database, and its
# metrics show whether it followed the failover.
"$run/bin/fieldcase-load" --server "${srv_url[0]}" --data "${srv_dir[0]}" --devices "$devices" --teams 2 \
	--duration "$duration" --interval 1s --verify >"$run/load0.txt" 2>&1 &
load0=$!
secs=${duration%s}
sleep $((secs / 3))
victim=$(leader)
pm=$(head -n1 "$run/$victim/data/postmaster.pid")
echo "== $fault the leader $victim (postmaster $pm) at $(date +%T)"
if [[ $fault == kill ]]; then
	pkill -KILL -P "$pm" || true
	kill -KILL "$pm"
else
	kill -STOP "$pm"; pkill -STOP -P "$pm" || true
	sleep 40
	pkill -CONT -P "$pm" || true; kill -CONT "$pm"
	echo "== thawed $victim at $(date +%T)"
fi
wait_for 120 "a new leader" bash -c "[[ \$(curl -sf http://127.0.0.1:${api_port[pg1]}/cluster http://127.0.0.1:${api_port[pg2]}/cluster | grep -c leader) -ge 1 ]]"
echo "== leader now $(leader || echo unknown)"
status=0
wait "$load0" || status=$?
cat "$run/load0.txt"
for i in 0 1; do
	echo "-- fieldcased $i: timeline $(curl -sf "${srv_url[i]}/metrics" | sed -n 's/^fieldcased_db_timeline //p'), fenced $(curl -sf "${srv_url[i]}/metrics" | sed -n 's/^fieldcased_db_fenced_total //p')"
	grep -E '"level":"(WARN|ERROR)"' "$run/fieldcased$i.log" | grep -iE 'timeline|epoch|superseded|lost' | tail -n 5 || true
done
exit "$status"
