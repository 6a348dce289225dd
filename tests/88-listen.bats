#!/usr/bin/env bats
# meter-listen against a real mosquitto broker this file starts on a
# loopback port (tests/mqtt_broker.sh) and stops: readings published over
# MQTT reach the warehouse through meter-hourly exactly once, through a
# listener killed with SIGKILL and a broker restarted mid-stream; bad
# payloads and unclaimed topics end in the rejects with their reasons; a
# participant cannot claim another's topics.  The expected hourly totals
# are summed by awk from the published messages.
load helper

HOURLY="$BATS_TEST_DIRNAME/../scripts/meter-hourly"
INIT="$BATS_TEST_DIRNAME/../scripts/meter-init"
BROKER="$BATS_TEST_DIRNAME/mqtt_broker.sh"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	PORT=$(sh "$BROKER" start "$BATS_TEST_TMPDIR/broker")
	URL=mqtt://127.0.0.1:$PORT
}

teardown() {
	[ -z "${LISTENER:-}" ] || kill -9 "$LISTENER" 2>/dev/null || true
	sh "$BROKER" stop "$BATS_TEST_TMPDIR/broker"
}

# root DIR: a data root with participant acme, 20 meters that publish
# 15-minute interval kWh on meter/acme/mNN, and their messages, 500 a
# meter from 2026-01-05T00:00Z (10,000 readings), in pub/mNN.txt
root() {
	sh "$INIT" "$1" > /dev/null
	sh "$INIT" --participant acme "$1" > /dev/null
	python3 - "$1" <<'EOF'
import datetime, random, sys, os
root = sys.argv[1]
meters = "".join(f'''    <meter id="m{i:02d}" quantity="electricity">
      <connector type="mqtt" topic="meter/acme/m{i:02d}" kind="interval" unit="kWh" duration="900"/>
    </meter>
''' for i in range(1, 21))
with open(f"{root}/participants/acme/participant.xml", "w") as f:
    f.write(f'''<participant id="acme" name="Acme" timezone="Europe/Amsterdam">
  <property id="hq" name="HQ" type="office" region="NL">
{meters}  </property>
</participant>
''')
random.seed(17)
t0 = datetime.datetime(2026, 1, 5, tzinfo=datetime.timezone.utc)
os.makedirs("pub", exist_ok=True)
for i in range(1, 21):
    with open(f"pub/m{i:02d}.txt", "w") as f:
        for k in range(500):
            ts = (t0 + datetime.timedelta(minutes=15 * k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            f.write('{"ts":"%s","value":%.3f}\n' % (ts, random.randint(0, 5000) / 1000))
EOF
}

publish_all() {
	local f
	for f in pub/m*.txt; do
		m=${f#pub/}
		mosquitto_pub -p "$PORT" -q 1 -i "pub-${m%.txt}" -t "meter/acme/${m%.txt}" -l < "$f"
	done
}

# a listener session for acme that exists before anything is published,
# so the broker queues what comes while the listener is away
register() {
	meter-listen -R r -b "$URL" acme 2> register.err &
	LISTENER=$!
	wait_for "connected" register.err
	kill -TERM "$LISTENER"
	wait "$LISTENER"
	LISTENER=
}

wait_for() {
	local i=0
	until grep -q "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "no \"$1\" in $2: $(cat "$2")"; return 1; }
		sleep 0.05
	done
}

# the readings in acme's spool: whole files and the open part
spooled() {
	cat r/participants/acme/spool/*.ndjson r/participants/acme/spool/.part.ndjson 2>/dev/null
}

# wait until the spool holds N distinct readings (60 s at most)
wait_spooled() {
	local i=0
	until [ "$(spooled | jq -r '[.meter, .ts] | @tsv' | sort -u | wc -l)" -ge "$1" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "spool: $(spooled | wc -l) readings, waited for $1"; return 1; }
		sleep 0.2
	done
}

# per meter and hour, the sum of the published values (awk)
expected_hours() {
	for f in pub/m*.txt; do
		m=${f#pub/}
		sed 's/.*"ts":"\([^"]*\)","value":\([0-9.]*\).*/\1 \2/' "$f" |
			awk -v m="${m%.txt}" '{ h = substr($1, 1, 13) ":00:00Z"; s[h] += $2 }
				END { for (h in s) printf "%s %s %.6f\n", m, h, s[h] }'
	done | sort
}

warehouse_hours() {
	sqlite3 -separator ' ' r/warehouse.db \
		"SELECT meter, hour, printf('%.6f', value) FROM meter_hour ORDER BY 1, 2"
}

@test "10,000 readings of 20 meters published over MQTT reach the warehouse through meter-hourly exactly once" {
	root r
	meter-listen -R r -b "$URL" --rotate-age 1s --stats acme 2> listen.err &
	LISTENER=$!
	wait_for "connected to 127.0.0.1:$PORT as meter-listen:acme (new session)" listen.err
	publish_all
	wait_spooled 10000
	kill -USR1 "$LISTENER"
	wait_for "so far: messages 10000 readings 10000 rejected 0" listen.err
	kill -TERM "$LISTENER"
	st=0
	wait "$LISTENER" || st=$?
	LISTENER=
	[ "$st" -eq 0 ]
	grep -q "^meter-listen: messages 10000 readings 10000 rejected 0 skipped 0 duplicates 0 reconnects 0" listen.err
	# SIGTERM rotated the open part: every reading is in a whole file
	[ "$(cat r/participants/acme/spool/*.ndjson | wc -l)" -eq 10000 ]
	[ ! -s r/participants/acme/spool/.part.ndjson ]
	run sh "$HOURLY" r acme
	[ "$status" -eq 0 ]
	[[ "$output" == *"acme: ok"* ]]
	[ "$(warehouse_hours | wc -l)" -eq 2500 ]
	diff <(expected_hours) <(warehouse_hours)
	# the spool is taken: nothing left for the next run
	[ -z "$(ls r/participants/acme/spool)" ] && [ -z "$(ls r/participants/acme/state/spool)" ]
	# and every message is in the raw archive, a file per meter
	[ "$(cat r/participants/acme/raw/*/*/*/m*/*.mqtt | wc -l)" -eq 10000 ]
	# from which a backfill into a new warehouse makes the same hours
	days=$(cd r/participants/acme/raw && ls -d [0-9]*/*/* | tr / - | sort)
	rm r/warehouse.db*
	run sh "$HOURLY" --backfill "$(echo "$days" | head -1)" "$(echo "$days" | tail -1)" r acme
	[ "$status" -eq 0 ]
	[[ "$output" == *"acme: ok: backfill "*" payloads replayed"* ]]
	diff <(expected_hours) <(warehouse_hours)
	# a line of an archived file that is no message is rejected, and the
	# backfill says so
	f=$(ls r/participants/acme/raw/*/*/*/m07/*.mqtt | head -1)
	# its time kept: a backfill replays in the order files were archived
	t=$(stat -c %y "$f")
	echo 'not a message' >> "$f"
	touch -d "$t" "$f"
	run sh "$HOURLY" --backfill "$(echo "$days" | head -1)" "$(echo "$days" | tail -1)" r acme
	[ "$status" -eq 1 ]
	[[ "$output" == *"acme: partial: backfill "*" payloads replayed; 1 record rejected (rejects/"*'): not an archived message: {"received":TIME,"topic":...,"payload":TEXT}'* ]]
	diff <(expected_hours) <(warehouse_hours)
}

@test "the archive replays to the readings the listener spooled; standard output piped into meter-standardize gives the warehouse's hours" {
	root r
	register
	publish_all
	meter-listen -c r/participants/acme/participant.xml -p acme -b "$URL" \
		-i stdout-listener --archive arch > readings.ndjson 2> listen.err &
	LISTENER=$!
	# a second session: it gets what is published from now on
	wait_for "connected" listen.err
	rm pub/m0[2-9].txt pub/m1*.txt pub/m20.txt
	publish_all
	i=0
	until [ "$(wc -l < readings.ndjson)" -ge 500 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
	kill -TERM "$LISTENER"
	wait "$LISTENER"
	LISTENER=
	[ "$(wc -l < readings.ndjson)" -eq 500 ]
	meter-standardize -p acme readings.ndjson > hours.ndjson
	jq -r '"\(.meter) \(.hour) \(.value)"' hours.ndjson |
		awk '{ printf "%s %s %.6f\n", $1, $2, $3 }' | sort > piped
	expected_hours > expected
	diff expected piped
	# what --replay reads from the archive is what came out
	meter-fetch -c r/participants/acme/participant.xml -p acme --replay arch/*/*/*/m01/*.mqtt > replayed.ndjson
	diff <(jq -c 'del(.source)' readings.ndjson | sort) <(jq -c 'del(.source)' replayed.ndjson | sort)
	# and the session of acme's spool listener still holds all 10,000
	meter-listen -R r -b "$URL" --stats acme 2> spool.err &
	LISTENER=$!
	wait_spooled 10000
}

@test "a listener killed with SIGKILL mid-stream and started again loses and doubles nothing" {
	root r
	register
	publish_all
	kills=0
	# a message a batch (--receive-max 1), each synced before the next:
	# slow enough that the kills land mid-stream
	for round in 1 2 3; do
		meter-listen -R r -b "$URL" --rotate-size 64k --receive-max 1 acme 2>> listen.err &
		LISTENER=$!
		before=$(spooled | wc -l)
		i=0
		until [ "$(spooled | wc -l)" -gt $((before + 200)) ] || [ $i -ge 200 ]; do
			sleep 0.02
			i=$((i + 1))
		done
		kill_running "$LISTENER" && kills=$((kills + 1))
		wait "$LISTENER" || true
	done
	[ "$kills" -eq 3 ]
	[ "$(spooled | wc -l)" -lt 10000 ]
	meter-listen -R r -b "$URL" acme 2>> listen.err &
	LISTENER=$!
	wait_spooled 10000
	kill -TERM "$LISTENER"
	wait "$LISTENER"
	LISTENER=
	# what was written but not acknowledged came again: merged, not added
	run sh "$HOURLY" r acme
	[ "$status" -eq 0 ]
	diff <(expected_hours) <(warehouse_hours)
}

@test "a broker restarted mid-stream: the listener reconnects, resumes its session, and loses and doubles nothing" {
	root r
	register
	publish_all
	meter-listen -R r -b "$URL" --retry-wait 0.2 --retry-max 1 --stats acme 2> listen.err &
	LISTENER=$!
	i=0
	until [ "$(spooled | wc -l)" -gt 1000 ] || [ $i -ge 300 ]; do sleep 0.02; i=$((i + 1)); done
	sh "$BROKER" restart "$BATS_TEST_TMPDIR/broker"
	wait_spooled 10000
	# on a busy machine the spool can be whole before the listener has
	# seen the restart: stop it only once it is back (at most 10 s)
	i=0
	until grep -q "session resumed" listen.err || [ $i -ge 500 ]; do sleep 0.02; i=$((i + 1)); done
	kill -TERM "$LISTENER"
	wait "$LISTENER"
	LISTENER=
	grep -q "connection lost to 127.0.0.1:$PORT (closed by the broker or the network): reconnecting with backoff up to 1 s" listen.err
	[ "$(grep -c "session resumed" listen.err)" -ge 1 ]
	grep -q "reconnects 1 " listen.err
	# what the broker sent again (mosquitto 2.0 resends after a restart
	# what was acknowledged since its last save) was recognized: each
	# reading is in the spool once
	[ "$(spooled | wc -l)" -eq 10000 ]
	messages=$(sed -n 's/^meter-listen: messages \([0-9]*\) .* duplicates \([0-9]*\) .*/\1 \2/p' listen.err)
	[ $((${messages% *} - ${messages#* })) -eq 10000 ]
	run sh "$HOURLY" r acme
	[ "$status" -eq 0 ]
	diff <(expected_hours) <(warehouse_hours)
}

@test "malformed payloads and unclaimed topics end in the rejects with topic, excerpt and reason; the good messages still load" {
	root r
	meter-listen -R r -b "$URL" --max-size 100 --stats acme 2> listen.err &
	LISTENER=$!
	wait_for connected listen.err
	pub() { mosquitto_pub -p "$PORT" -q 1 -t "$1" -m "$2"; }
	pub meter/acme/m01 '{"ts":"2026-01-05T00:00:00Z","value":1.25}'
	pub meter/acme/m01 '{"ts":"2026-01-05T00:15:00Z","value":'
	pub meter/acme/m01 '{"time":"2026-01-05T00:30:00Z","value":2}'
	pub meter/acme/m01 '{"ts":"2026-01-05T00:45:00Z","value":"lots"}'
	pub meter/acme/nobody '{"ts":"2026-01-05T00:00:00Z","value":9}'
	printf '\377\376binary' | mosquitto_pub -p "$PORT" -q 1 -t meter/acme/m02 -s
	pub meter/acme/m02 "$(printf '%0200d' 7)"
	pub meter/acme/m02 '[{"ts":"2026-01-05T00:00:00Z","value":0.5},{"ts":"2026-01-05T00:15:00Z","value":0.25}]'
	# a message of another participant never reaches acme's listener
	pub meter/beta/m01 '{"ts":"2026-01-05T00:00:00Z","value":100}'
	# a null value is a meter's "none": skipped and counted; no value at
	# all is a wrong path, rejected
	pub meter/acme/m03 '{"ts":"2026-01-05T00:00:00Z","value":null}'
	pub meter/acme/m03 '{"ts":"2026-01-05T00:15:00Z","kwh":1}'
	kill -USR1 "$LISTENER"
	wait_for "so far: messages 10 readings 3 rejected 7 skipped 1 duplicates 0" listen.err
	kill -TERM "$LISTENER"
	st=0
	wait "$LISTENER" || st=$?
	LISTENER=
	[ "$st" -eq 1 ]
	rej=r/participants/acme/rejects/listen.ndjson
	[ "$(wc -l < $rej)" -eq 7 ]
	run jq -r '"\(.source) | \(.error) | \(.record)"' $rej
	[[ "${lines[0]}" == 'meter/acme/m01 | meter m01: malformed JSON: parse error: premature EOF'*' | {"ts":"2026-01-05T00:15:00Z","value":' ]]
	[ "${lines[1]}" = 'meter/acme/m01 | element 1 has no time "ts" | {"time":"2026-01-05T00:30:00Z","value":2}' ]
	[ "${lines[2]}" = 'meter/acme/m01 | value "lots" is not a number | {"ts":"2026-01-05T00:45:00Z","value":"lots"}' ]
	[ "${lines[3]}" = 'meter/acme/nobody | no meter of acme claims this topic (meter-config(5): <connector type="mqtt" topic=...>) | {"ts":"2026-01-05T00:00:00Z","value":9}' ]
	[ "${lines[4]}" = 'meter/acme/m02 | payload is not text (invalid UTF-8, or a control character): JSON, a number or a DSMR telegram | \xff\xfebinary' ]
	[ "${lines[5]}" = "meter/acme/m02 | payload of 200 bytes is over the limit of 100 (--max-size) | $(printf '%0200d' 7)" ]
	[ "${lines[6]}" = 'meter/acme/m03 | element 1 has no value "value" (give its path with value="...") | {"ts":"2026-01-05T00:15:00Z","kwh":1}' ]
	[ "$(spooled | jq -r '"\(.meter) \(.ts) \(.value)"' | sort)" = "$(printf '%s\n' \
		'm01 2026-01-05T00:00:00Z 1.25' 'm02 2026-01-05T00:00:00Z 0.5' 'm02 2026-01-05T00:15:00Z 0.25')" ]
	! grep -q beta r/participants/acme/spool/*.ndjson
}

@test "a participant's configuration that claims a topic outside meter/ID/ is refused at load, by the listener and by every program" {
	root r
	cfg=r/participants/acme/participant.xml
	for topic in meter/beta/m01 meter/acme meter/acme/ meter/acmex/m01 'meter/acme/+' 'meter/acme/#' \
		meter/+/m01 '$SYS/broker' other/acme/m01; do
		sed -i "0,/topic=\"[^\"]*\"/s||topic=\"$topic\"|" $cfg
		run meter-listen -R r -b "$URL" acme
		[ "$status" -eq 2 ]
		[[ "$output" == *"participant.xml:4: <connector>: meter m01: topic \"$topic\" is "* ]]
		run meter-load -c $cfg -p acme --check
		[ "$status" -eq 2 ]
		run sh "$HOURLY" r acme
		[ "$status" -ne 0 ]
	done
	# a participant whose configuration claims another's topic is left
	# out of a listener of the whole root; the others are listened for
	sh "$INIT" --participant beta r > /dev/null
	sed -i '0,/topic="[^"]*"/s||topic="meter/acme/m01"|' $cfg
	sed 's/participant id="acme"/participant id="beta"/' $cfg > r/participants/beta/participant.xml
	meter-listen -R r -b "$URL" 2> all.err &
	LISTENER=$!
	wait_for "connected" all.err
	grep -q 'participant.xml:4: <connector>: meter m01: topic "meter/acme/m01" is outside this participant.s topics: they begin with "meter/beta/"' all.err
	grep -q "participant beta left out: its configuration is refused (above)" all.err
	mosquitto_pub -p "$PORT" -q 1 -t meter/acme/m01 -m '{"ts":"2026-01-05T00:00:00Z","value":4.5}'
	kill -TERM "$LISTENER"
	wait "$LISTENER"
	LISTENER=
	[ "$(jq -r '"\(.meter) \(.value)"' r/participants/acme/spool/*.ndjson)" = "m01 4.5" ]
	[ -z "$(ls -A r/participants/beta/spool)" ]
	# an mqtt connector names no broker: the operator's is the only one
	sed -i '0,/topic="[^"]*"/s||topic="meter/acme/m01" url="mqtt://evil.example"|' $cfg
	run meter-listen -R r -b "$URL" acme
	[ "$status" -eq 2 ]
	[[ "$output" == *"an mqtt connector takes no url: the broker is the operator's"* ]]
}

@test "meter-listen: usage errors, a bad broker URL and a second listener for one spool are refused with what to do" {
	root r
	run meter-listen
	[ "$status" -eq 2 ]
	[[ "$output" == *"give a configuration (-c) or a data root (-R)"* ]]
	run meter-listen -R r -b http://127.0.0.1:1 acme
	[ "$status" -eq 2 ]
	[[ "$output" == *'broker "http://127.0.0.1:1" is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]'* ]]
	run meter-listen -R r -b mqtt://user:pw@127.0.0.1:1 acme
	[ "$status" -eq 2 ]
	[[ "$output" == *"no user in the URL: give it in MQTT_USERNAME and MQTT_PASSWORD"* ]]
	run meter-listen -R r -b "$URL" 'acme/../x'
	[ "$status" -eq 2 ]
	[[ "$output" == *'bad participant id "acme/../x"'* ]]
	meter-listen -R r -b "$URL" acme 2> first.err &
	LISTENER=$!
	wait_for connected first.err
	run meter-listen -R r -b "$URL" -i other acme
	[ "$status" -eq 2 ]
	[[ "$output" == *"spool/.listen.lock: another meter-listen is writing here"* ]]
}

# tls DIR: a CA, a second CA, and a certificate of the first for
# "localhost" only; a broker listener at $TLS_PORT with TLS and the user
# "listener" (password s3cret), no anonymous access
tls() {
	local d=$1 ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	mkdir -p "$d"
	openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=test-ca 2> /dev/null
	openssl req -x509 $ec -keyout "$d/other.key" -out "$d/other.pem" -days 2 -subj /CN=other-ca 2> /dev/null
	openssl req $ec -keyout "$d/srv.key" -out "$d/srv.csr" -subj /CN=localhost 2> /dev/null
	printf 'subjectAltName=DNS:localhost\n' > "$d/ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/srv.pem" -days 2 -extfile "$d/ext" 2> /dev/null
	mosquitto_passwd -b -c "$d/pw" listener s3cret
	TLS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf '%s\n' "listener $TLS_PORT 127.0.0.1" "allow_anonymous false" "password_file $d/pw" \
		"cafile $d/ca.pem" "certfile $d/srv.pem" "keyfile $d/srv.key" > "$d/extra.conf"
	sh "$BROKER" stop "$BATS_TEST_TMPDIR/broker"
	PORT=$(sh "$BROKER" start "$BATS_TEST_TMPDIR/broker" "$d/extra.conf")
}

# SIGTERM, and its exit: 0, or 1 when it rejected something
stop_listener() {
	local st=0
	kill -TERM "$LISTENER"
	wait "$LISTENER" || st=$?
	LISTENER=
	[ "$st" -le 1 ]
}

@test "mqtts: the broker's certificate is verified against --ca-file and the host name; the user comes from the environment or --secrets, never the URL" {
	root r
	tls t
	cfg=r/participants/acme/participant.xml
	# the right CA and user: readings come through
	MQTT_USERNAME=listener MQTT_PASSWORD=s3cret meter-listen -c $cfg -b "mqtts://localhost:$TLS_PORT" \
		--ca-file t/ca.pem > tls.ndjson 2> ok.err &
	LISTENER=$!
	wait_for "connected to localhost:$TLS_PORT" ok.err
	mosquitto_pub -h localhost -p "$TLS_PORT" --cafile t/ca.pem -u listener -P s3cret -q 1 \
		-t meter/acme/m03 -m '{"ts":"2026-01-05T00:00:00Z","value":2.5}'
	i=0
	until [ -s tls.ndjson ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
	stop_listener
	[ "$(jq -r '"\(.meter) \(.value)"' tls.ndjson)" = "m03 2.5" ]
	# another CA, or a certificate that does not name the host: no connection
	meter-listen -c $cfg -b "mqtts://localhost:$TLS_PORT" --ca-file t/other.pem > /dev/null 2> ca.err &
	LISTENER=$!
	wait_for "localhost:$TLS_PORT failed (TLS: certificate verify failed): check --ca-file and that the broker's certificate names localhost" ca.err
	stop_listener
	MQTT_USERNAME=listener MQTT_PASSWORD=s3cret meter-listen -c $cfg -b "mqtts://127.0.0.1:$TLS_PORT" \
		--ca-file t/ca.pem > /dev/null 2> host.err &
	LISTENER=$!
	wait_for "127.0.0.1:$TLS_PORT failed (TLS: certificate verify failed)" host.err
	stop_listener
	! grep -q connected ca.err host.err
	# a wrong password is refused by the broker, and said so
	MQTT_USERNAME=listener MQTT_PASSWORD=wrong meter-listen -c $cfg -b "mqtts://localhost:$TLS_PORT" \
		--ca-file t/ca.pem > /dev/null 2> pw.err &
	LISTENER=$!
	wait_for "refused the connection: Not authorized (the user and password: MQTT_USERNAME and MQTT_PASSWORD, or --secrets)" pw.err
	stop_listener
	# the operator's secrets file instead of the environment, 0600 only
	printf 'MQTT_USERNAME=listener\nMQTT_PASSWORD=s3cret\n' > secrets
	chmod 600 secrets
	meter-listen -c $cfg -b "mqtts://localhost:$TLS_PORT" --ca-file t/ca.pem --secrets secrets \
		-i with-secrets > /dev/null 2> sec.err &
	LISTENER=$!
	wait_for "connected to localhost:$TLS_PORT as with-secrets:acme" sec.err
	stop_listener
	chmod 644 secrets
	run meter-listen -c $cfg -b "mqtts://localhost:$TLS_PORT" --secrets secrets
	[ "$status" -eq 2 ]
	[ "$output" = "meter-listen: secrets: refusing a secrets file that others can read or write (chmod 600)" ]
}

@test "payload=number takes a bare value at the time it arrives; payload=dsmr reads a P1 telegram as meter-fetch's dsmr connector does" {
	root r
	cfg=r/participants/acme/participant.xml
	sed -i 's|</property>|<meter id="plug" quantity="electricity"><connector type="mqtt" topic="meter/acme/plug" payload="number" kind="cumulative" unit="Wh"/></meter>\
<meter id="p1-import" quantity="electricity"><connector type="mqtt" topic="meter/acme/p1" payload="dsmr"/></meter>\
<meter id="p1-gas" quantity="gas"><connector type="mqtt" topic="meter/acme/p1" payload="dsmr" register="gas"/></meter>\
</property>|' $cfg
	meter-listen -c $cfg -p acme -b "$URL" > out.ndjson 2> listen.err &
	LISTENER=$!
	wait_for connected listen.err
	before=$(date -u +%s)
	mosquitto_pub -p "$PORT" -q 1 -t meter/acme/plug -m ' 12345.5 '
	after=$(date -u +%s)
	mosquitto_pub -p "$PORT" -q 1 -t meter/acme/p1 -f "$FIX/dsmr/TELEGRAM_V5.txt"
	i=0
	until [ "$(wc -l < out.ndjson)" -ge 3 ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
	stop_listener
	# the plug's reading: its value, at a time between the publish's start and end
	[ "$(jq -r 'select(.meter == "plug") | "\(.value) \(.unit) \(.kind)"' out.ndjson)" = "12345.5 Wh cumulative" ]
	t=$(date -u -d "$(jq -r 'select(.meter == "plug") | .ts' out.ndjson)" +%s)
	[ "$t" -ge "$before" ] && [ "$t" -le $((after + 1)) ]
	# the telegram's readings equal meter-fetch's over the same file
	cat > fetch.xml <<'EOF'
<participant id="acme"><property id="hq">
<meter id="p1-import" quantity="electricity"><connector type="dsmr" url="file:t.txt"/></meter>
<meter id="p1-gas" quantity="gas"><connector type="dsmr" url="file:t.txt" register="gas"/></meter>
</property></participant>
EOF
	cp "$FIX/dsmr/TELEGRAM_V5.txt" t.txt
	meter-fetch -c fetch.xml --archive fa --state fs > fetched.ndjson
	[ "$(wc -l < fetched.ndjson)" -eq 2 ]
	diff <(jq -c 'select(.meter != "plug") | del(.source)' out.ndjson | sort) <(jq -c 'del(.source)' fetched.ndjson | sort)
	# a bare value cannot be an interval: sent again, it would count twice
	sed -i 's|payload="number" kind="cumulative"|payload="number" kind="interval" duration="900"|' $cfg
	run meter-listen -c $cfg -b "$URL"
	[ "$status" -eq 2 ]
	[[ "$output" == *"payload=number readings are of the moment they arrive: a message sent again would count twice as an interval"* ]]
}

@test "hostile messages: a comment that hides JSON nesting, retained and empty messages, hexadecimal numbers, surrogates, a topic of 1,000 bytes, 17 meters on one topic" {
	root r
	cfg=r/participants/acme/participant.xml
	sed -i 's|</property>|<meter id="plug" quantity="electricity"><connector type="mqtt" topic="meter/acme/plug" payload="number" kind="cumulative" unit="Wh"/></meter>\
</property>|' $cfg
	# a value retained at the broker is old: never taken as a reading
	mosquitto_pub -p "$PORT" -q 1 -r -t meter/acme/plug -m 99
	meter-listen -R r -b "$URL" --stats acme 2> listen.err &
	LISTENER=$!
	wait_for connected listen.err
	pub() { mosquitto_pub -p "$PORT" -q 1 -t "$1" -m "$2"; }
	pub meter/acme/m01 "/*\"*/$(printf '%.0s[' $(seq 100))$(printf '%.0s]' $(seq 100))"
	pub meter/acme/m01 '[]'
	pub meter/acme/plug 0x10
	pub meter/acme/plug 1e3
	printf '{"ts":"2026-01-05T00:00:00Z","value":1,"x":"\355\240\200"}' | mosquitto_pub -p "$PORT" -q 1 -t meter/acme/m01 -s
	long=meter/acme/$(printf '%01000d' 0)
	pub "$long" 1
	# meter/acme/# matches meter/acme itself: acme's, and no meter claims it
	pub meter/acme 2
	kill -USR1 "$LISTENER"
	wait_for "so far: messages 7 readings 1 rejected 6" listen.err
	stop_listener || true
	run jq -r '"\(.source) | \(.error)"' r/participants/acme/rejects/listen.ndjson
	[ "${lines[0]}" = 'meter/acme/m01 | meter m01: JSON nested more than 64 deep' ]
	[ "${lines[1]}" = 'meter/acme/m01 | meter m01: no reading in the message (an empty array, or a telegram without the meter'"'"'s register)' ]
	[ "${lines[2]}" = 'meter/acme/plug | value "0x10" is not a number' ]
	[ "${lines[3]}" = 'meter/acme/m01 | payload is not text (invalid UTF-8, or a control character): JSON, a number or a DSMR telegram' ]
	[ "${lines[4]}" = "${long:0:256}... | no meter of acme claims this topic (meter-config(5): <connector type=\"mqtt\" topic=...>)" ]
	[ "${lines[5]}" = "meter/acme | no meter of acme claims this topic (meter-config(5): <connector type=\"mqtt\" topic=...>)" ]
	[ "$(spooled | jq -r '"\(.meter) \(.value)"')" = "plug 1000" ]
	# a topic is parsed and archived once per meter that reads it: 16 at most
	for i in $(seq 1 17); do
		printf '<meter id="t%s" quantity="electricity"><connector type="mqtt" topic="meter/acme/t" payload="dsmr"/></meter>\n' "$i"
	done > many
	sed -i '/<\/property>/e cat many' $cfg
	run meter-listen -R r -b "$URL" acme
	[ "$status" -eq 2 ]
	[[ "$output" == *'participant.xml:'*': <connector>: meter t17: more than 16 meters read topic "meter/acme/t"'* ]]
	run meter-load -c $cfg -p acme --check
	[ "$status" -eq 2 ]
	[[ "$output" == *"meter t17: more than 16 meters read topic"* ]]
}

@test "a session per participant: one participant's flood cannot crowd out another's messages, and a participant left out keeps its messages queued" {
	root r
	sh "$INIT" --participant beta r > /dev/null
	sed 's/participant id="acme"/participant id="beta"/; s|meter/acme/|meter/beta/|g' \
		r/participants/acme/participant.xml > r/participants/beta/participant.xml
	# a broker that keeps at most 100 messages for a session that is away
	printf 'max_queued_messages 100\n' > small.conf
	sh "$BROKER" stop "$BATS_TEST_TMPDIR/broker"
	PORT=$(sh "$BROKER" start "$BATS_TEST_TMPDIR/broker" small.conf)
	URL=mqtt://127.0.0.1:$PORT
	meter-listen -R r -b "$URL" 2> first.err &
	LISTENER=$!
	wait_for "acme: connected to 127.0.0.1:$PORT as meter-listen:acme (new session)" first.err
	wait_for "beta: connected to 127.0.0.1:$PORT as meter-listen:beta (new session)" first.err
	stop_listener
	# while it is away: acme's devices flood, beta's meter sends one reading
	seq 300 | mosquitto_pub -p "$PORT" -q 1 -t meter/acme/junk -l
	mosquitto_pub -p "$PORT" -q 1 -t meter/beta/m01 -m '{"ts":"2026-01-05T00:00:00Z","value":4.25}'
	# and beta is left out of the next start (its configuration refused)
	cp r/participants/beta/participant.xml beta.xml
	sed -i '0,/topic="[^"]*"/s||topic="meter/acme/x"|' r/participants/beta/participant.xml
	mosquitto_pub -p "$PORT" -q 1 -t meter/beta/m02 -m '{"ts":"2026-01-05T00:00:00Z","value":7.5}'
	meter-listen -R r -b "$URL" --stats 2> second.err &
	LISTENER=$!
	wait_for "participant beta left out" second.err
	wait_for "connected to 127.0.0.1:$PORT as meter-listen:acme (session resumed)" second.err
	i=0
	until [ "$(wc -l < r/participants/acme/rejects/listen.ndjson 2>/dev/null)" -ge 100 ] || [ $i -ge 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	stop_listener
	# acme got what the broker kept of its flood (100), rejected: no meter claims junk
	[ "$(jq -r .error r/participants/acme/rejects/listen.ndjson | sort | uniq -c | awk '{ print $1 }')" -eq 100 ]
	# beta's messages waited in its own session; with its configuration mended
	cp beta.xml r/participants/beta/participant.xml
	meter-listen -R r -b "$URL" beta 2> third.err &
	LISTENER=$!
	wait_for "connected to 127.0.0.1:$PORT as meter-listen:beta (session resumed)" third.err
	i=0
	until [ "$(cat r/participants/beta/spool/.part.ndjson 2>/dev/null | wc -l)" -ge 2 ] || [ $i -ge 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	stop_listener
	[ "$(jq -r '"\(.meter) \(.value)"' r/participants/beta/spool/*.ndjson | sort)" = "$(printf 'm01 4.25\nm02 7.5')" ]
	[ ! -s r/participants/beta/rejects/listen.ndjson ]
}
