#!/bin/sh
# make bench-scale: a year of 1,000 meters through the whole pipeline, the
# stages run one after another as meter-hourly runs them (each stage's
# output a file the next one reads), timed one by one.
# Usage: bench-scale.sh BINDIR [METERS [DAYS]]
#
# The input is made once and kept in bench-data/scale (not in git):
# METERS CSV files of 15-minute register readings over DAYS days of 2019,
# which meter-fetch reads as file: sources of one participant whose
# properties have 4 meters each.  The warehouse and the stage outputs are
# made new on every run.
set -eu
BIN=${1:-bin}
METERS=${2:-1000}
DAYS=${3:-365}
export LC_ALL=C TZ=UTC
PATH=$(cd "$BIN" && pwd):$PATH
TOP=$(pwd)
DATA=bench-data/scale/$METERS-$DAYS
mkdir -p "$DATA/p/data"
[ $((METERS % 4)) -eq 0 ] || { echo "bench-scale: METERS must be a multiple of 4" >&2; exit 2; }
PROPS=$((METERS / 4))
READINGS=$((METERS * DAYS * 96))
HOURS=$((DAYS * 24))

# A meter's register climbs by a load that varies by meter, time of day and
# day of week, so hours and property sums are not all alike.
if [ ! -s "$DATA/p/data/m$METERS.csv" ]; then
	echo "making $READINGS readings in $DATA/p/data (once)"
	awk -v meters="$METERS" -v days="$DAYS" -v dir="$DATA/p/data" 'BEGIN {
		t0 = 1546300800   # 2019-01-01T00:00:00Z
		for (m = 1; m <= meters; m++) print "ts,kwh" > (dir "/m" m ".csv")
		for (i = 0; i < days * 96; i++) {
			ts = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 900, 1)
			h = int(i / 4) % 24
			for (m = 1; m <= meters; m++) {
				v[m] += 0.05 * (m % 17 + 1) * (h >= 8 && h < 18 ? 3 : 1)
				printf "%s,%.3f\n", ts, v[m] > (dir "/m" m ".csv")
			}
		}
	}'
fi
W=$TOP/tests/fixtures/bedford-weather-2019-01.csv
WFULL=$TOP/../shared/data/weather/metoffice_bedford_processed_2019.csv
[ -r "$WFULL" ] && W=$WFULL
{
	echo '<participant id="scale" timezone="Europe/London"><contract id="c" co2-kg-per-kwh="0.2"/>'
	m=1
	for b in $(seq 1 "$PROPS"); do
		printf '<property id="b%d" type="office" area-m2="%d" region="GB" timezone="Europe/London">' "$b" $((1000 + b))
		echo '<office-hours days="mon-fri" from="08:00" to="18:00"/>'
		for _ in 1 2 3 4; do
			printf '<meter id="m%d" quantity="electricity" contract="c"><connector type="csv" url="file:data/m%d.csv" kind="cumulative" unit="kWh" ts-column="ts" value-column="kwh"/></meter>\n' "$m" "$m"
			m=$((m + 1))
		done
		echo '</property>'
	done
	echo '</participant>'
} > "$DATA/p/participant.xml"

RUN=$DATA/run
rm -rf "$RUN"
mkdir -p "$RUN/state" "$RUN/raw"
DB=$RUN/warehouse.db
CFG=$DATA/p/participant.xml
REJ=$RUN/rejects.ndjson
: > "$REJ"

# stage NAME RECORDS_IN OUT COMMAND...: run one stage, its output into OUT,
# and print its wall time, records per second and peak memory
TOTAL=0 PEAK=0
stage() {
	name=$1 in=$2 out=$3
	shift 3
	/usr/bin/time -f '%e %M' -o "$RUN/time.out" "$@" > "$out"
	read -r secs kib < "$RUN/time.out"
	TOTAL=$(awk -v a="$TOTAL" -v b="$secs" 'BEGIN { print a + b }')
	PEAK=$((kib > PEAK ? kib : PEAK))
	awk -v s="$secs" -v k="$kib" -v n="$in" -v name="$name" 'BEGIN {
		if (s == 0) s = 0.01
		printf "%-40s %8.2f s %12.0f records/s %8.1f MB peak\n", name, s, n / s, k / 1024 }'
}
count() { wc -l < "$1" | tr -d ' '; }

echo "input: $METERS meters x $DAYS days of 15-minute registers ($READINGS readings), $PROPS properties"
echo "target: the whole pipeline under 60 s wall, every stage in bounded memory,"
echo "        <= 60 bytes per meter hour in SQLite"
stage "meter-load -c (configuration)" 1 /dev/null meter-load -q -p scale -c "$CFG" -- "$DB"
stage "meter-fetch (file: sources, archived)" "$READINGS" "$RUN/fetched.ndjson" \
	meter-fetch -q -p scale -c "$CFG" --state "$RUN/state" --archive "$RUN/raw" -r "$REJ"
[ "$(count "$RUN/fetched.ndjson")" -eq "$READINGS" ]
stage "meter-standardize" "$READINGS" "$RUN/hours.ndjson" \
	meter-standardize -q -p scale -s "$RUN/state/std" -r "$REJ" -- "$RUN/fetched.ndjson"
MH=$(count "$RUN/hours.ndjson")
stage "meter-load (meter hours)" "$MH" /dev/null meter-load -q -p scale -r "$REJ" -- "$DB" "$RUN/hours.ndjson"
stage "meter-aggregate --db" "$MH" "$RUN/property-hours.ndjson" \
	meter-aggregate -q -p scale -c "$CFG" --db "$DB" -r "$REJ" -- "$RUN/hours.ndjson"
PH=$(count "$RUN/property-hours.ndjson")
stage "meter-enrich" "$PH" "$RUN/enriched.ndjson" \
	meter-enrich -q -p scale -c "$CFG" -r "$REJ" \
	--holidays "GB=$TOP/examples/demo/context/holidays/GB_ENG-2018-2020.json" \
	--weather "GB=$W" -- "$RUN/property-hours.ndjson"
stage "meter-load (property hours)" "$PH" /dev/null meter-load -q -p scale -r "$REJ" -- "$DB" "$RUN/enriched.ndjson"

# The counts add up: a meter's last hour lacks the reading that ends it,
# so each meter gives HOURS - 1 hours; nothing is rejected.  Each meter's
# year comes in one payload, meter after meter, as on the first run of a
# participant with a year of history; the fetched file is read as its runs
# merged by time, so each property hour is written once.
STORED=$(sqlite3 "$DB" 'SELECT count(*) FROM meter_hour')
STORED_PH=$(sqlite3 "$DB" 'SELECT count(*) FROM property_hour')
if [ "$MH" -ne "$STORED" ] || [ "$STORED" -ne $((METERS * (HOURS - 1))) ] ||
	[ "$STORED_PH" -ne $((PROPS * (HOURS - 1))) ] || [ -s "$REJ" ]; then
	echo "bench-scale: counts do not add up: $MH meter hours written, $STORED stored," \
		"$((METERS * (HOURS - 1))) expected; $STORED_PH property hours stored," \
		"$((PROPS * (HOURS - 1))) expected; $(count "$REJ") rejected" >&2
	exit 1
fi
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
BYTES=$(stat -c %s "$DB")
# the pages of the meter hours' table (meter_hour_store, of which
# meter_hour is a view) and of its indexes, from SQLite's dbstat
MH_BYTES=$(sqlite3 "$DB" "SELECT sum(pgsize) FROM dbstat WHERE name = 'meter_hour_store'
	OR name IN (SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'meter_hour_store')")
echo
awk -v t="$TOTAL" -v k="$PEAK" -v r="$READINGS" 'BEGIN {
	printf "whole pipeline: %.1f s wall (%.0f readings/s), largest peak %.1f MB\n", t, r / t, k / 1024 }'
awk -v b="$BYTES" -v m="$MH_BYTES" -v n="$STORED" -v p="$STORED_PH" 'BEGIN {
	printf "warehouse: %.0f MB for %d meter hours and %d property hours;\n", b / 1048576, n, p
	printf "meter hours with their indexes: %.1f bytes each\n", m / n }'
if [ "$PH" -gt "$STORED_PH" ]; then
	echo "property hours written: $PH for $STORED_PH (again, whole, as late meters of a property came)"
fi

# Loading into a warehouse that already holds the year, as each later run
# does: the year's first meter hours of 2019 (at most 1,000,000, in time
# order) moved on past its end, new hours of the meters it holds, judged
# against the history before them.  Not a stage of the pipeline above: its
# wall time was printed already.
YEARS=$(((DAYS + 364) / 365))
NEXT=$RUN/next-hours.ndjson
grep -m 1000000 '"hour":"2019-' "$RUN/hours.ndjson" |
	sed "s/\"hour\":\"2019-/\"hour\":\"$((2019 + YEARS))-/" > "$NEXT"
NN=$(count "$NEXT")
echo
echo "target: meter-load >= 300,000 meter hours/s into a warehouse holding a year"
stage "meter-load (into the warehouse above)" "$NN" /dev/null meter-load -q -p scale -r "$REJ" -- "$DB" "$NEXT"
AFTER=$(sqlite3 "$DB" 'SELECT count(*) FROM meter_hour')
if [ "$AFTER" -ne $((STORED + NN)) ] || [ -s "$REJ" ]; then
	echo "bench-scale: $NN new meter hours loaded, but the warehouse went from $STORED to $AFTER" >&2
	exit 1
fi
