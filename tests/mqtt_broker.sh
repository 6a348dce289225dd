#!/bin/sh
# mqtt_broker.sh start DIR [EXTRA-CONFIG] | restart DIR | stop DIR: a
# throwaway mosquitto broker for the tests, in DIR (made here), on
# 127.0.0.1 at a free port, with persistence in DIR (a restart keeps the
# listeners' sessions and what is queued for them) and no cap on what it
# queues for a client that is away.  start prints "PORT"; EXTRA-CONFIG's
# lines (TLS listeners, users) are added.  restart stops it with SIGTERM,
# which writes its database, and starts it again on the same port.  stop
# stops it by its process id and removes DIR.
set -eu
dir=$2
command -v mosquitto > /dev/null || [ -x /usr/sbin/mosquitto ] ||
	{ echo "mqtt_broker.sh: no mosquitto (sh scripts/deps.sh installs it)" >&2; exit 3; }
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

up() {
	"$MOSQUITTO" -c "$dir/mosquitto.conf" >> "$dir/broker.log" 2>&1 &
	echo $! > "$dir/pid"
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $(cat "$dir/port")), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "mqtt_broker.sh: broker did not start: $(tail -3 "$dir/broker.log")" >&2; exit 3; }
		sleep 0.05
	done
}

down() {
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
}

case $1 in
start)
	mkdir -p "$dir"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	echo "$port" > "$dir/port"
	# as root mosquitto would become the user "mosquitto", who cannot
	# write DIR: it stays who starts it
	# per listener: EXTRA-CONFIG's listeners set their own authentication
	cat > "$dir/mosquitto.conf" <<CONF
per_listener_settings true
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
max_queued_messages 0
max_inflight_messages 0
log_dest stderr
CONF
	[ $# -lt 3 ] || cat "$3" >> "$dir/mosquitto.conf"
	up
	echo "$port"
	;;
restart)
	down
	up
	;;
stop)
	down
	rm -rf "$dir"
	;;
esac
