#!/bin/sh
# make bench: throughput and peak memory of the programs beside peer tools
# on the same data.  Usage: bench.sh BINDIR [YAJL_FLOOR]
set -eu
BIN=${1:-bin}
FLOOR=${2:-}
DATA=bench-data
mkdir -p "$DATA"
export LC_ALL=C TZ=UTC

# 1,000,000 raw readings: 1,000 meters, 15-minute cumulative registers over
# 1,000 intervals (10.4 days), in time order as a fetch of every meter gives.
RAW=$DATA/raw-1m.ndjson
if [ ! -s "$RAW" ]; then
	awk 'BEGIN {
		t0 = 1772323200
		for (i = 0; i < 1000; i++) {
			ts = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 900, 1)
			for (m = 0; m < 1000; m++) {
				v[m] += (m % 13) * 0.05 + (i % 4) * 0.125
				printf "{\"participant\":\"p%d\",\"property\":\"b%d\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%.3f,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", m % 10, m % 250, m, ts, v[m]
			}
		}
	}' > "$RAW"
fi
N=$(wc -l < "$RAW")

# measure NAME COMMAND...: the best CPU time (user + system) of three runs,
# which a shared machine's stolen time does not inflate, and peak RSS
measure() {
	name=$1
	shift
	secs=999999 kib=0
	for _ in 1 2 3; do
		/usr/bin/time -f '%U %S %M' -o "$DATA/time.out" "$@" > /dev/null
		read -r u sy k < "$DATA/time.out"
		s=$(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }')
		secs=$(awk -v a="$secs" -v b="$s" 'BEGIN { print (b < a ? b : a) }')
		kib=$(awk -v a="$kib" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
		rm -rf "$DATA/state"
	done
	awk -v n="$N" -v s="$secs" -v k="$kib" -v name="$name" 'BEGIN {
		if (s == 0) s = 0.01
		printf "%-34s %12.0f records/s %8.1f MB peak\n", name, n / s, k / 1024 }'
}

echo "input: $RAW ($N raw readings, 1,000 meters)"
echo "targets: >= 2,000,000 records/s, >= 12x jq, < 20 MB, --state within 10% (where bare yajl does ~3,500,000/s)"
[ -n "$FLOOR" ] && measure "bare yajl parse (ceiling)" "$FLOOR" "$RAW"
measure "meter-standardize" "$BIN/meter-standardize" "$RAW"
measure "meter-standardize --state" "$BIN/meter-standardize" -s "$DATA/state" "$RAW"
if command -v jq > /dev/null; then
	measure "jq -c 'select(.value > 0)'" jq -c 'select(.value > 0)' "$RAW"
fi

# meter-load: 1,000,000 meter hours (1,000 meters x 1,000 hours) into a new
# warehouse, beside the sqlite3 shell importing the same rows as CSV into a
# table of the same shape (same primary key, WITHOUT ROWID).
MH=$DATA/meter-hours-1m.ndjson
CSV=$DATA/meter-hours-1m.csv
if [ ! -s "$MH" ]; then
	awk 'BEGIN {
		t0 = 1772323200
		for (i = 0; i < 1000; i++) {
			h = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 3600, 1)
			for (m = 0; m < 1000; m++)
				printf "{\"participant\":\"p%d\",\"property\":\"b%d\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"hour\":\"%s\",\"value\":%.3f,\"unit\":\"kWh\",\"quality\":\"measured\",\"coverage\":1}\n", m % 10, m % 250, m, h, (m % 13) * 0.25 + (i % 4) * 0.125
		}
	}' > "$MH"
	jq -r '[.participant, .property, .meter, .quantity, .hour, .value, .unit, .quality, .coverage] | @csv' "$MH" > "$CSV"
fi
N=$(wc -l < "$MH")
cat > "$DATA/import.sql" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE meter_hour (participant TEXT NOT NULL, property TEXT, meter TEXT NOT NULL,
	quantity TEXT NOT NULL, hour TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,
	quality TEXT NOT NULL, coverage REAL NOT NULL,
	PRIMARY KEY (hour, participant, meter, quantity)) WITHOUT ROWID;
.import --csv $CSV meter_hour
SQL
echo
echo "input: $MH ($N meter hours, 1,000 meters)"
echo "targets: >= 500,000 rows/s into a new warehouse, no slower than sqlite3 .import, < 30 MB"
measure "meter-load (new warehouse)" sh -c \
	"rm -f $DATA/w.db $DATA/w.db-wal $DATA/w.db-shm && exec $BIN/meter-load $DATA/w.db $MH"
measure "meter-load (same rows again)" "$BIN/meter-load" "$DATA/w.db" "$MH"
measure "sqlite3 .import (CSV, same table)" sh -c \
	"rm -f $DATA/i.db && exec sqlite3 $DATA/i.db < $DATA/import.sql"
[ "$(sqlite3 "$DATA/w.db" 'SELECT count(*) FROM meter_hour')" -eq "$N" ]
[ "$(sqlite3 "$DATA/i.db" 'SELECT count(*) FROM meter_hour')" -eq "$N" ]
echo "SQLite: $(($(stat -c %s "$DATA/w.db") / N)) bytes per meter hour"

# meter-load into PostgreSQL: the same 1,000,000 meter hours into a new
# database of a local cluster (tests/pg_cluster.sh, fsync on), wall-clock
# time since the server does much of the work, beside psql's \copy of the
# same rows as CSV into a table of the same shape (same primary key).
if ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; then
	PGD=$(mktemp -d /tmp/meter-bench-pg.XXXXXX)
	PGPORT_B=$(METER_PG_FSYNC=on sh "$(dirname "$0")/../tests/pg_cluster.sh" start "$PGD")
	export PGPASSWORD=meter-test
	PGU=postgresql://meter@127.0.0.1:$PGPORT_B
	fresh() { psql -X -q -d "$PGU/postgres" -c "DROP DATABASE IF EXISTS b" -c "CREATE DATABASE b" > /dev/null 2>&1; }
	pg_wall() {
		name=$1
		shift
		secs=999999
		for _ in 1 2 3; do
			[ "$keep" = yes ] || fresh
			t0=$(date +%s.%N)
			"$@" > /dev/null
			t1=$(date +%s.%N)
			secs=$(awk -v a="$secs" -v b="$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }')" 'BEGIN { print (b < a ? b : a) }')
		done
		awk -v n="$N" -v s="$secs" -v name="$name" 'BEGIN {
			printf "%-34s %12.0f rows/s %8.2f s wall\n", name, n / s, s }'
	}
	echo
	echo "input: $MH into PostgreSQL $(psql -X -A -t -d "$PGU/postgres" -c 'SHOW server_version')"
	echo "target: >= 300,000 rows/s"
	keep=no
	pg_wall "meter-load (PostgreSQL, new)" "$BIN/meter-load" "$PGU/b" "$MH"
	keep=yes
	pg_wall "meter-load (PostgreSQL, same again)" "$BIN/meter-load" "$PGU/b" "$MH"
	keep=no
	n=$(psql -X -A -t -d "$PGU/b" -c 'SELECT count(*) FROM meter_hour')
	bytes=$(psql -X -A -t -d "$PGU/b" -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'meter_hour'")
	[ "$n" -eq "$N" ]
	pg_wall "psql \\copy (CSV, same table)" psql -X -q -d "$PGU/b" \
		-c "CREATE TABLE meter_hour (participant text NOT NULL, property text, meter text NOT NULL, quantity text NOT NULL, hour text COLLATE \"C\" NOT NULL, value double precision NOT NULL, unit text NOT NULL, quality text NOT NULL, coverage double precision NOT NULL, PRIMARY KEY (hour, participant, meter, quantity))" \
		-c "\\copy meter_hour FROM '$CSV' WITH (FORMAT csv)"
	echo "PostgreSQL: $((bytes / N)) bytes per meter hour (table, partitions and indexes)"
	sh "$(dirname "$0")/../tests/pg_cluster.sh" stop "$PGD"
fi

# meter-aggregate: the same 1,000,000 meter hours to property hours (4
# meters per property), beside Miller summing the same groups.
echo
echo "input: $MH ($N meter hours, 250 properties)"
echo "targets: >= 1,500,000 records/s, >= 5x Miller"
measure "meter-aggregate" "$BIN/meter-aggregate" "$MH"
# completing every property hour from the warehouse loaded above (all
# meters present there): a day of a participant's meter hours per query
echo "target (--db): >= 500,000 meter hours/s"
measure "meter-aggregate --db (completion)" "$BIN/meter-aggregate" --db "$DATA/w.db" "$MH"
# Miller's runs come after meter-enrich's: its 3 GB stats1 leaves the
# machine slow for a while, which is not meter-enrich's time.

# meter-enrich: 1,000,000 property hours (250 properties of one participant,
# 4,000 hours) with holidays and weather, beside Miller joining the same
# weather by hour.
PH=$DATA/property-hours-1m.ndjson
CFG=$DATA/bench.xml
if [ ! -s "$PH" ]; then
	awk 'BEGIN {
		t0 = 1546300800   # 2019-01-01T00:00:00Z
		for (i = 0; i < 4000; i++) {
			h = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 3600, 1)
			for (b = 0; b < 250; b++)
				printf "{\"participant\":\"p\",\"property\":\"b%d\",\"quantity\":\"electricity\",\"hour\":\"%s\",\"value\":%.2f,\"unit\":\"kWh\",\"meters\":4,\"meters_expected\":4,\"coverage\":1,\"quality\":\"measured\"}\n", b, h, (b % 13) + (i % 24) * 0.5
		}
	}' > "$PH"
fi
{
	echo '<participant id="p" timezone="Europe/London"><contract id="c" co2-kg-per-kwh="0.2"/>'
	for b in $(seq 0 249); do
		echo "<property id=\"b$b\" type=\"office\" area-m2=\"$((1000 + b))\" region=\"GB\"><office-hours days=\"mon-fri\" from=\"08:00\" to=\"18:00\"/><meter id=\"m$b\" quantity=\"electricity\" contract=\"c\"/></property>"
	done
	echo '</participant>'
} > "$CFG"
W=tests/fixtures/bedford-weather-2019-01.csv
WFULL=../shared/data/weather/metoffice_bedford_processed_2019.csv
[ -r "$WFULL" ] && W=$WFULL
N=$(wc -l < "$PH")
echo
echo "input: $PH ($N property hours, weather $W)"
echo "targets: >= 1,500,000 records/s, >= 5x Miller"
measure "meter-enrich" "$BIN/meter-enrich" -c "$CFG" \
	--holidays "GB=examples/demo/context/holidays/GB_ENG-2018-2020.json" --weather "GB=$W" "$PH"
if command -v mlr > /dev/null; then
	N=$(wc -l < "$MH")
	echo
	echo "peers: Miller on the same files (aggregate: $MH, enrich: $PH)"
	measure "mlr stats1 -a sum -g ... (aggregate)" mlr --ijsonl --ojsonl stats1 -a sum -f value \
		-g participant,property,quantity,hour "$MH"
	N=$(wc -l < "$PH")
	awk -F, 'NR > 1 { printf "{\"hour\":\"%sT%sZ\",\"outside_temp_c\":%s}\n", substr($1, 1, 10), substr($1, 12), $2 }' \
		"$W" > "$DATA/weather.jsonl"
	measure "mlr join (weather by hour) (enrich)" mlr --ijsonl --ojsonl join -j hour \
		-f "$DATA/weather.jsonl" "$PH"
fi

# meter-fetch: 1,000 meters, each a day of hourly CSV readings, served by
# the loopback test server; wall-clock time (the job waits on the network),
# archive and cursors included, beside curl fetching the same URLs with the
# same parallelism.
F=$DATA/fetch
rm -rf "$F"
mkdir -p "$F/www"
awk 'BEGIN { print "ts,kwh"; for (h = 0; h < 24; h++)
	printf "2026-03-01T%02d:00:00Z,%.1f\n", h, 100 + h * 1.5 }' > "$F/www/day.csv"
python3 tests/server.py --root "$F/www" --port-file "$F/port" --log /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$F/port" ] && break; sleep 0.05; done
PORT=$(cat "$F/port")
{
	echo '<participant id="p"><property id="b">'
	for m in $(seq 1000); do
		echo "<meter id=\"m$m\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$PORT/files/day.csv?m=$m\" kind=\"cumulative\" unit=\"kWh\"/></meter>"
	done
	echo '</property></participant>'
} > "$F/participant.xml"
for m in $(seq 1000); do echo "url = \"http://127.0.0.1:$PORT/files/day.csv?m=$m\""; echo "output = /dev/null"; done > "$F/curl.cfg"
# measure_wall NAME UNITS COMMAND...: the best wall-clock time of three.
# Each run gets an archive of its own and the old ones are deleted only at
# the end: ext4 without a journal, as here, allocates an inode by skipping
# every one deleted in the last half minute, so deleting 2,000 files before
# each run made the next run's 2,000 new ones several times slower.
runs=0
measure_wall() {
	name=$1 units=$2
	shift 2
	secs=999999 kib=0
	for _ in 1 2 3; do
		runs=$((runs + 1))
		[ ! -d "$F/run" ] || mv "$F/run" "$F/old.$runs"
		mkdir "$F/run" && cp "$F/participant.xml" "$F/run/"
		/usr/bin/time -f '%e %M' -o "$DATA/time.out" "$@" > "$DATA/fetch.out"
		read -r e k < "$DATA/time.out"
		secs=$(awk -v a="$secs" -v b="$e" 'BEGIN { print (b < a ? b : a) }')
		kib=$(awk -v a="$kib" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
	done
	awk -v s="$secs" -v k="$kib" -v name="$name" -v u="$units" 'BEGIN {
		if (s == 0) s = 0.01
		printf "%-34s %6.2f s %8.0f meters/s %8.0f readings/s %6.1f MB peak\n",
			name, s, 1000 / s, u / s, k / 1024 }'
}
echo
echo "input: 1,000 meters x 24 readings over HTTP from 127.0.0.1 (tests/server.py, Python)"
echo "target: -j 8 at least as fast as -j 1, and within 2x of curl -Z at -j 8."
for j in 1 8; do
	measure_wall "meter-fetch -j $j (new archive day)" 24000 "$BIN/meter-fetch" --allow-net 127.0.0.0/8 -c "$F/run/participant.xml" -j $j
	[ "$(wc -l < "$DATA/fetch.out")" -eq 24000 ]
	if command -v curl > /dev/null; then
		measure_wall "curl -Z --parallel-max $j (no parsing)" 24000 \
			curl -sS --no-progress-meter -Z --parallel-max $j -K "$F/curl.cfg"
	fi
done
kill $SERVER
rm -rf "$F"

# meter-report: the page of 1,000 buildings (10 participants, 3 property
# types) x a year of hourly electricity, 8,760,000 property hours enriched
# with the year's weather, loaded once into $DATA/report.db (a few minutes
# the first time); beside the sqlite3 shell reading every row of the view
# benchmark, the page's largest query.  Wall-clock time, best of three.
REP=$DATA/report.db
if [ ! -s "$REP" ]; then
	echo
	echo "making $REP: 1,000 buildings x 8,760 hours (once)"
	rm -f "$REP" "$REP-wal" "$REP-shm"
	set --
	for p in 0 1 2 3 4 5 6 7 8 9; do
		{
			echo "<participant id=\"p$p\" timezone=\"Europe/London\"><contract id=\"c\" co2-kg-per-kwh=\"0.2\"/>"
			for b in $(seq "$p" 10 999); do
				echo "<property id=\"b$b\" type=\"type$((b % 3))\" area-m2=\"$((1000 + b))\" region=\"GB\"><office-hours days=\"mon-fri\" from=\"08:00\" to=\"18:00\"/><meter id=\"m$b\" quantity=\"electricity\" contract=\"c\"/></property>"
			done
			echo '</participant>'
		} > "$DATA/report-p$p.xml"
		"$BIN/meter-load" -c "$DATA/report-p$p.xml" "$REP"
		set -- "$@" -c "$DATA/report-p$p.xml"
	done
	awk 'BEGIN {
		t0 = 1546300800   # 2019-01-01T00:00:00Z
		for (i = 0; i < 8760; i++) {
			h = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 3600, 1)
			hod = i % 24
			for (b = 0; b < 1000; b++)
				printf "{\"participant\":\"p%d\",\"property\":\"b%d\",\"quantity\":\"electricity\",\"hour\":\"%s\",\"value\":%.2f,\"unit\":\"kWh\",\"meters\":1,\"meters_expected\":1,\"coverage\":1,\"quality\":\"measured\"}\n", b % 10, b, h, (b % 17) + 2 + (hod >= 8 && hod < 18 ? (b % 7) + 3 : 0) + (i % 5) * 0.1
		}
	}' | "$BIN/meter-enrich" -q "$@" --weather "GB=tests/fixtures/bedford-weather-2019.csv.gz" |
		"$BIN/meter-load" -q "$REP"
fi
echo
echo "input: $REP (1,000 buildings x 8,760 property hours)"
echo "target: the page in under 30 s"
secs=999999 kib=0
for _ in 1 2 3; do
	/usr/bin/time -f '%e %M' -o "$DATA/time.out" "$BIN/meter-report" -q -o "$DATA/report.html" "$REP"
	read -r e k < "$DATA/time.out"
	secs=$(awk -v a="$secs" -v b="$e" 'BEGIN { print (b < a ? b : a) }')
	kib=$(awk -v a="$kib" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
done
printf "%-34s %6.2f s %8.0f buildings/s %6.1f MB peak, page %d bytes\n" "meter-report (20 buildings drawn)" \
	"$secs" "$(awk -v s="$secs" 'BEGIN { print 1000 / s }')" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" \
	"$(wc -c < "$DATA/report.html")"
/usr/bin/time -f '%e %M' -o "$DATA/time.out" sqlite3 "$REP" "SELECT * FROM benchmark" > /dev/null
read -r e k < "$DATA/time.out"
printf "%-34s %6.2f s %22s %6.1f MB peak\n" "sqlite3 SELECT * FROM benchmark" "$e" "" "$(awk -v k="$k" 'BEGIN { print k / 1024 }')"

# meter-listen: 100,000 QoS 1 messages (20 meters x 5,000 JSON readings)
# queued at a local mosquitto broker (tests/mqtt_broker.sh) for a
# persistent session, drained into the spool (synced before each batch is
# acknowledged, the messages archived) until the last one is in; beside
# mosquitto_sub taking the same messages for its own session into a file.
# Wall-clock time, best of three; each run's messages published anew.
M=$DATA/mqtt
rm -rf "$M"
mkdir -p "$M/root/participants/p/spool"
MPORT=$(sh tests/mqtt_broker.sh start "$M/broker")
trap 'sh tests/mqtt_broker.sh stop "$M/broker" 2>/dev/null' EXIT
{
	echo '<participant id="p"><property id="b">'
	for m in $(seq -w 1 20); do
		echo "<meter id=\"m$m\" quantity=\"electricity\"><connector type=\"mqtt\" topic=\"meter/p/m$m\" kind=\"interval\" unit=\"kWh\" duration=\"900\" time-format=\"epoch\"/></meter>"
	done
	echo '</property></participant>'
} > "$M/root/participants/p/participant.xml"
awk 'BEGIN { for (k = 0; k < 5000; k++) printf "{\"ts\":%d,\"value\":%.3f}\n", 1772323200 + k * 900, (k % 97) / 10 }' > "$M/msgs"
mqtt_sub() {
	mosquitto_sub -p "$MPORT" -V mqttv5 -c -x 86400 -i bench-sub -q 1 -t 'meter/p/#' "$@"
}
# both sessions exist before anything is published
"$BIN/meter-listen" -R "$M/root" -b "mqtt://127.0.0.1:$MPORT" p 2> "$M/listen.err" &
LPID=$!
until grep -q connected "$M/listen.err"; do
	kill -0 $LPID 2>/dev/null || { cat "$M/listen.err" >&2; exit 1; }
	sleep 0.05
done
kill -TERM $LPID && wait $LPID
mqtt_sub -W 1 > /dev/null 2>&1 || true
publish() {
	for m in $(seq -w 1 20); do
		mosquitto_pub -p "$MPORT" -q 1 -t "meter/p/m$m" -l < "$M/msgs"
	done
}
# readings in the spool, and rejects (none is expected: a mistake here
# must end the bench, not stall it)
spooled() { cat "$M"/root/participants/p/spool/*.ndjson "$M/root/participants/p/spool/.part.ndjson" \
	"$M/root/participants/p/rejects/listen.ndjson" 2>/dev/null | wc -l; }
echo
echo "input: 100,000 QoS 1 messages of 20 meters queued at mosquitto on 127.0.0.1"
echo "target: at least 20,000 messages/s into the spool"
best=999999 peak=0
for _ in 1 2 3; do
	rm -rf "$M/root/participants/p/spool" "$M/root/participants/p/raw"
	publish
	t0=$(date +%s.%N)
	"$BIN/meter-listen" -R "$M/root" -b "mqtt://127.0.0.1:$MPORT" p 2> "$M/listen.err" &
	LPID=$!
	until [ "$(spooled)" -ge 100000 ]; do
		kill -0 $LPID 2>/dev/null || { cat "$M/listen.err" >&2; exit 1; }
		sleep 0.05
	done
	t1=$(date +%s.%N)
	# the peak resident size, read before it stops
	k=$(awk '/^VmHWM/ { print $2 }' /proc/$LPID/status)
	kill -TERM $LPID && wait $LPID
	[ "$(spooled)" -eq 100000 ] && [ ! -s "$M/root/participants/p/rejects/listen.ndjson" ]
	best=$(awk -v a="$best" -v t0="$t0" -v t1="$t1" 'BEGIN { b = t1 - t0; print (b < a ? b : a) }')
	peak=$(awk -v a="$peak" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
done
awk -v s="$best" -v k="$peak" 'BEGIN { printf "%-34s %6.2f s %8.0f messages/s %6.1f MB peak\n",
	"meter-listen into the spool", s, 100000 / s, k / 1024 }'
best=999999
for _ in 1 2 3; do
	publish
	t0=$(date +%s.%N)
	mqtt_sub -C 100000 > "$M/sub.out"
	t1=$(date +%s.%N)
	[ "$(wc -l < "$M/sub.out")" -eq 100000 ]
	best=$(awk -v a="$best" -v t0="$t0" -v t1="$t1" 'BEGIN { b = t1 - t0; print (b < a ? b : a) }')
done
awk -v s="$best" 'BEGIN { printf "%-34s %6.2f s %8.0f messages/s\n",
	"mosquitto_sub -C into a file", s, 100000 / s }'
sh tests/mqtt_broker.sh stop "$M/broker"
rm -rf "$M"
