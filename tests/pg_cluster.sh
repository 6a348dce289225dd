#!/bin/sh
# pg_cluster.sh start DIR | stop DIR: a throwaway PostgreSQL cluster for
# the tests, in DIR (made here), listening on 127.0.0.1 at a free port and
# on a socket in DIR; password authentication over TCP.  start prints
# "PORT"; the role meter (password "meter-test") owns the database
# "warehouse".  As root (CI) the server runs as nobody: PostgreSQL refuses
# root.  fsync is off for the tests (a killed client is what they kill,
# never the server) unless METER_PG_FSYNC=on, as make bench runs it.  stop
# stops it by its process id and removes DIR.
set -eu
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "pg_cluster.sh: no PostgreSQL server (sh scripts/deps.sh installs it)" >&2; exit 3; }
as() {
	if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else "$@"; fi
}
dir=$2
case $1 in
start)
	mkdir -p "$dir"
	[ "$(id -u)" -ne 0 ] || chown nobody:nogroup "$dir"
	pw=$dir/pw
	printf 'meter-test\n' > "$pw"
	[ "$(id -u)" -ne 0 ] || chown nobody:nogroup "$pw"
	as "$BIN/initdb" -D "$dir/data" -U meter --pwfile="$pw" -A scram-sha-256 \
		--locale=C -E UTF8 > "$dir/initdb.log" 2>&1
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	as "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
		"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${METER_PG_FSYNC:-off} -c max_connections=100" \
		start > /dev/null
	PGPASSWORD=meter-test "$BIN/psql" -q -h 127.0.0.1 -p "$port" -U meter -d postgres \
		-c 'CREATE DATABASE warehouse' > /dev/null
	echo "$port"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		pid=$(head -1 "$dir/data/postmaster.pid")
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
	;;
esac
