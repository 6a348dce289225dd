#!/usr/bin/env bats
# meter-load and the warehouse: idempotence, crash safety, concurrency,
# configuration, schema versions, and each view against an independent
# computation (awk, date(1) or sqlite3 over the same input).

load helper

# mh METER HOUR VALUE [QUALITY [COVERAGE]]: a meter hour of acme/hq
mh() {
	printf '{"participant":"acme","property":"hq","meter":"%s","quantity":"electricity","hour":"%s","value":%s,"unit":"kWh","quality":"%s","coverage":%s}\n' \
		"$1" "$2" "$3" "${4:-measured}" "${5:-1}"
}

# hours_from EPOCH COUNT METER: consecutive meter hours; the value depends
# on the hour alone (k % 7 + 0.25, k hours after 2026-03-01), so inputs that
# overlap agree
hours_from() {
	awk -v t0="$1" -v n="$2" -v m="$3" 'BEGIN { for (i = 0; i < n; i++) { t = t0 + i * 3600
		printf "{\"participant\":\"acme\",\"property\":\"hq\",\"meter\":\"%s\",\"quantity\":\"electricity\",\"hour\":%d,\"value\":%.2f,\"unit\":\"kWh\"}\n", m, t, (t - 1772323200) / 3600 % 7 + 0.25 } }'
}

dump() {
	sqlite3 "$1" "SELECT * FROM meter_hour ORDER BY participant, meter, quantity, hour;
		SELECT * FROM property_hour ORDER BY participant, property, quantity, hour;"
}

@test "meter hours are loaded as given, one row per meter and hour" {
	{ mh m1 2026-03-01T10:00:00Z 1.5; mh m1 2026-03-01T11:00:00Z 2 interpolated 0.5; mh m2 2026-03-01T10:00:00Z 3; } > in.ndjson
	run --separate-stderr meter-load --stats w.db in.ndjson
	[ "$status" -eq 0 ]
	[ "$stderr" = "meter-load: in 3 out 3 merged 0 rejected 0" ]
	[ "$(sqlite3 w.db "SELECT meter, hour, value, unit, quality, coverage FROM meter_hour ORDER BY 1, 2")" = "m1|2026-03-01T10:00:00Z|1.5|kWh|measured|1.0
m1|2026-03-01T11:00:00Z|2.0|kWh|interpolated|0.5
m2|2026-03-01T10:00:00Z|3.0|kWh|measured|1.0" ]
	[ "$(sqlite3 w.db "SELECT source, records_in, loaded, rejected FROM loads")" = "in.ndjson|3|3|0" ]
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 7 ]
}

@test "loading twice, or overlapping inputs in any order, gives the same warehouse" {
	hours_from 1772323200 48 m1 > a.ndjson            # hours 0..47
	hours_from $((1772323200 + 24 * 3600)) 48 m1 > b.ndjson   # hours 24..71, agreeing on 24..47
	meter-load once.db a.ndjson b.ndjson
	meter-load twice.db a.ndjson b.ndjson
	meter-load twice.db a.ndjson b.ndjson
	meter-load reversed.db b.ndjson a.ndjson
	cat a.ndjson b.ndjson | sort -u | meter-load union.db
	[ "$(sqlite3 once.db 'SELECT count(*), sum(value) FROM meter_hour')" = "72|229.0" ]
	[ "$(dump once.db)" = "$(dump twice.db)" ]
	[ "$(dump once.db)" = "$(dump reversed.db)" ]
	[ "$(dump once.db)" = "$(dump union.db)" ]
	# the independent total: 72 hours of (k % 7 + 0.25) = 10 weeks x 21 + 0 + 1 + 72 x 0.25
	[ "$(awk 'BEGIN { for (i = 0; i < 72; i++) s += i % 7 + 0.25; print s }')" = 229 ]
}

@test "a changed hour replaces the stored one" {
	{ mh m1 2026-03-01T10:00:00Z 1; mh m1 2026-03-01T11:00:00Z 2; } > a.ndjson
	mh m1 2026-03-01T10:00:00Z 7 interpolated 0.25 > fix.ndjson
	meter-load w.db a.ndjson
	meter-load w.db fix.ndjson
	[ "$(sqlite3 w.db "SELECT hour, value, quality, coverage FROM meter_hour ORDER BY hour")" = "2026-03-01T10:00:00Z|7.0|interpolated|0.25
2026-03-01T11:00:00Z|2.0|measured|1.0" ]
}

@test "records of another stage are refused with the program that takes them" {
	raw m1 2026-03-01T10:00:00Z 5 > raw.ndjson
	run -1 meter-load w.db raw.ndjson
	[ "$output" = 'meter-load: raw.ndjson:1: a raw reading (it has "ts"): run meter-standardize first, which turns readings into meter hours
meter-load: 1 record rejected' ]
	run -1 meter-aggregate raw.ndjson
	[[ "$output" == 'meter-aggregate: raw.ndjson:1: a raw reading (it has "ts"): run meter-standardize first'* ]]
	mh m1 2026-03-01T10:00:00Z 1 > mh.ndjson
	run -1 meter-enrich -c "$FIX/acme.xml" mh.ndjson
	[[ "$output" == 'meter-enrich: mh.ndjson:1: a meter hour: run meter-aggregate first, which sums meter hours into property hours'* ]]
	[ "$(sqlite3 w.db 'SELECT count(*) FROM meter_hour')" -eq 0 ]
}

@test "bad records go to the rejects, never into the warehouse" {
	{ mh m1 2026-03-01T10:00:00Z 1; echo '{"participant":'; mh m1 2026-03-01T10:30:00Z 2
	  echo '{"participant":"acme","meter":"m1","quantity":"electricity","hour":"2026-03-01T12:00:00Z","value":1,"unit":"degC"}'
	  echo '{"participant":"acme","quantity":"electricity","hour":"2026-03-01T12:00:00Z","value":1,"unit":"kWh"}'
	  echo '{"participant":"acme","property":"hq","quantity":"gas","hour":"2026-03-01T12:00:00Z","value":1,"unit":"kWh","meters":1.5}'
	  mh m1 2026-03-01T11:00:00Z 3; } > in.ndjson
	run meter-load -r rej.ndjson w.db in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r '"\(.line) \(.error)"' rej.ndjson)" = '2 truncated JSON object
3 field "hour" is not on a whole hour
4 unit "degC" cannot be converted to kWh (electricity)
5 missing field "meter" (for a meter hour) or "property" (for a property hour)
6 field "meters" must be a whole number' ]
	[ "$(sqlite3 w.db 'SELECT count(*), sum(value) FROM meter_hour')" = "2|4.0" ]
	[ "$(sqlite3 w.db 'SELECT records_in, loaded, rejected FROM loads')" = "7|2|5" ]
}

@test "meter-standardize output loads through a pipe" {
	for h in 10 11 12; do raw m1 "2026-03-01T$h:00:00Z" "$h"; done > raw.ndjson
	meter-standardize raw.ndjson | meter-load w.db
	[ "$(sqlite3 w.db "SELECT meter, hour, value FROM meter_hour ORDER BY hour")" = "m1|2026-03-01T10:00:00Z|1.0
m1|2026-03-01T11:00:00Z|1.0" ]
	[ "$(sqlite3 w.db 'SELECT source FROM loads')" = "-" ]
}

@test "killed with SIGKILL at any moment, a re-run converges to the same warehouse" {
	hours_from 1772323200 30000 m1 > big.ndjson
	hours_from 1772323200 30000 m2 >> big.ndjson
	took=$(seconds_of meter-load --batch 500 clean.db big.ndjson)
	want=$(dump clean.db | md5sum)
	landed=0
	for k in 1 3 5 8; do
		rm -f k.db k.db-wal k.db-shm
		meter-load --batch 500 k.db big.ndjson & pid=$!
		sleep "$(tenths "$took" "$k")"
		! kill_running "$pid" || landed=$((landed + 1))
		wait "$pid" 2>/dev/null || true
		[ "$(sqlite3 k.db 'PRAGMA integrity_check')" = ok ]
		meter-load k.db big.ndjson
		[ "$(dump k.db | md5sum)" = "$want" ]
	done
	echo "kills that landed: $landed of 4" >&3
	[ "$landed" -gt 0 ]
}

@test "parallel loaders write one warehouse without errors or lost rows" {
	for m in 1 2 3 4; do hours_from 1772323200 5000 "m$m" > "p$m.ndjson"; done
	hours_from 1772323200 5000 m1 > p5.ndjson   # overlaps p1 exactly
	for f in p1 p2 p3 p4 p5; do meter-load --batch 100 par.db "$f.ndjson" & done
	for job in $(jobs -p); do wait "$job"; done
	meter-load seq.db p1.ndjson p2.ndjson p3.ndjson p4.ndjson
	[ "$(sqlite3 par.db 'SELECT count(*) FROM meter_hour')" -eq 20000 ]
	[ "$(dump par.db)" = "$(dump seq.db)" ]
	[ "$(sqlite3 par.db 'SELECT count(*), sum(loaded) FROM loads')" = "5|25000" ]
}

# Before the fix, one of twenty loaders failed with "database is locked" in
# 30 of 100 tries on this 2-core machine: switching a new file to WAL was
# refused at once instead of waiting.
@test "twenty loaders and two aggregators started at once on a new warehouse, again and again" {
	for i in $(seq 1 20); do mh "m$i" 2026-03-01T10:00:00Z "$i" > "p$i.ndjson"; done
	want=$(cat p*.ndjson | jq .value | awk '{ n++; s += $1 } END { printf "%d|%.1f", n, s }')
	tries=10
	[ -z "$QUICK" ] || tries=3   # valgrind: each try takes ten seconds
	for try in $(seq 1 "$tries"); do
		rm -f w.db w.db-wal w.db-shm
		for i in $(seq 1 20); do meter-load w.db "p$i.ndjson" 2>> err.log & done
		meter-aggregate --db w.db p1.ndjson > /dev/null 2>> err.log &
		meter-aggregate --db w.db p2.ndjson > /dev/null 2>> err.log &
		failed=0
		for job in $(jobs -p); do wait "$job" || failed=$((failed + 1)); done
		[ "$failed" -eq 0 ]
		[ ! -s err.log ]
		[ "$(sqlite3 w.db "SELECT count(*), printf('%.1f', sum(value)) FROM meter_hour")" = "$want" ]
		[ "$(sqlite3 w.db 'PRAGMA journal_mode')" = wal ]
	done
}

@test "a warehouse of a newer schema is refused" {
	mh m1 2026-03-01T10:00:00Z 1 > in.ndjson
	meter-load w.db in.ndjson
	sqlite3 w.db 'PRAGMA user_version = 99'
	run meter-load w.db in.ndjson
	[ "$status" -eq 2 ]
	[ "$output" = "meter-load: w.db: schema version 99 is newer than this program knows (7): use a newer meter" ]
}

# the quantities of meter-records(5) in units.c's order (their codes in
# meter_hour_store), each in its canonical unit
QUANTITIES="electricity/kWh electricity_export/kWh gas/kWh heat/kWh cooling/kWh
water/m3 reactive_energy/kvarh temperature/degC outside_temperature/degC
humidity/% occupancy/people co2/ppm"

@test "meter hours of every quantity and quality are stored compact and read back as loaded" {
	i=0
	for qu in $QUANTITIES; do
		for ql in measured interpolated estimated; do
			printf '{"participant":"acme","property":"hq","meter":"m%d","quantity":"%s","hour":"2026-03-%02dT%02d:00:00Z","value":%d.5,"unit":"%s","quality":"%s","coverage":0.75}\n' \
				"$i" "${qu%/*}" "$((i / 24 + 1))" "$((i % 24))" "$i" "${qu#*/}" "$ql"
			i=$((i + 1))
		done
	done > in.ndjson
	meter-load w.db in.ndjson
	# what went in, field by field, against what meter_hour gives back
	jq -r '[.meter, .quantity, .hour, (.value | tostring), .unit, .quality] | join("|")' in.ndjson | sort > want
	sqlite3 w.db "SELECT meter, quantity, hour, value, unit, quality FROM meter_hour" | sort > got
	[ "$(wc -l < got)" -eq 36 ]
	diff want got
	# stored as numbers: a quantity's place in the list, a quality's in
	# measured, interpolated, estimated
	sqlite3 w.db "SELECT meter, quantity_code, quality_code FROM meter_hour_store" | sort > codes
	awk -F'|' '{ m = substr($1, 2); printf "%s|%d|%d\n", $1, int(m / 3), m % 3 }' codes > want_codes
	diff want_codes codes
	[ "$(sqlite3 w.db "SELECT type FROM sqlite_master WHERE name = 'meter_hour'")" = view ]
}

@test "meter_hour takes an analyst's insert, update and delete, and refuses what it cannot store" {
	mh m1 2026-03-01T10:00:00Z 1.5 > in.ndjson
	meter-load w.db in.ndjson
	sqlite3 w.db "INSERT INTO meter_hour (participant, property, meter, quantity, hour, value, unit, quality, coverage)
		VALUES ('acme', 'hq', 'm2', 'gas', '2026-03-01T10:00:00Z', 7, 'kWh', 'estimated', 1)"
	sqlite3 w.db "UPDATE meter_hour SET value = 2.5, suspect = 'spike' WHERE meter = 'm1'"
	[ "$(sqlite3 w.db "SELECT meter, quantity, value, unit, quality, suspect FROM meter_hour ORDER BY meter")" = "m1|electricity|2.5|kWh|measured|spike
m2|gas|7.0|kWh|estimated|" ]
	sqlite3 w.db "DELETE FROM meter_hour WHERE quantity = 'gas'"
	[ "$(sqlite3 w.db "SELECT meter FROM meter_hour")" = m1 ]
	run sqlite3 w.db "INSERT INTO meter_hour VALUES ('acme', 'hq', 'm3', 'gas', '2026-03-01T10:00:00Z', 7, 'm3', 'measured', 1, NULL)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"meter_hour: the quantity must be one of meter-records(5) and the unit its canonical unit"* ]]
	run sqlite3 w.db "UPDATE meter_hour SET quality = 'guessed'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"meter_hour: the quality must be measured, interpolated, estimated or partial"* ]]
	[ "$(sqlite3 w.db "SELECT count(*), sum(value) FROM meter_hour_store")" = "1|2.5" ]
	# the store takes only the codes there are
	run sqlite3 w.db "UPDATE meter_hour_store SET quality_code = 9"
	[ "$status" -ne 0 ] && [[ "$output" == *"CHECK constraint failed: quality_code BETWEEN 0 AND 3"* ]]
	run sqlite3 w.db "UPDATE meter_hour_store SET quantity_code = 12"
	[ "$status" -ne 0 ] && [[ "$output" == *"CHECK constraint failed: quantity_code BETWEEN 0 AND 11"* ]]
}

@test "a schema 6 warehouse with hours or an index written by hand that schema 7 cannot keep is refused by name, and migrates once they are put right" {
	gunzip -c "$FIX/warehouse-schema6.db.gz" > w.db
	# what schema 6 let an analyst write: a unit not the quantity's
	# canonical one, a quality the programs do not write; and an index
	# and a trigger of their own on the table
	sqlite3 w.db "INSERT INTO meter_hour VALUES ('p6', 'b0', 'mX', 'water', '2026-03-01T00:00:00Z', 2, 'l', 'measured', 1, NULL);
		INSERT INTO meter_hour VALUES ('p6', 'b0', 'mY', 'gas', '2026-03-01T01:00:00Z', 3, 'kWh', 'verified', 1, NULL);
		CREATE INDEX by_meter ON meter_hour (participant, meter, hour);
		CREATE TRIGGER audit AFTER DELETE ON meter_hour BEGIN SELECT 1; END"
	run meter-report -q -o r.html w.db
	[ "$status" -eq 3 ]
	[ "$output" = "meter-report: w.db: cannot bring the warehouse to schema 7: 2 meter hours cannot be stored in it, the first p6/mX at 2026-03-01T00:00:00Z: water in \"l\", quality \"measured\" (a meter hour is in its quantity's canonical unit, meter-records(5), and measured, interpolated or estimated): correct or delete such hours with sqlite3, then open the warehouse again" ]
	# nothing was changed: still schema 6, every hour there
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 6 ]
	[ "$(sqlite3 w.db 'SELECT count(*) FROM meter_hour')" -eq 578 ]
	sqlite3 w.db "UPDATE meter_hour SET unit = 'm3', value = value / 1000 WHERE meter = 'mX';
		UPDATE meter_hour SET quality = 'estimated' WHERE meter = 'mY'"
	# then the index and the trigger, each by name, never dropped unasked
	run meter-load w.db /dev/null
	[ "$status" -eq 3 ]
	[ "$output" = "meter-load: w.db: cannot bring the warehouse to schema 7, in which meter_hour becomes a view: the trigger audit, made by hand on the table, would go with it; drop it with sqlite3 (DROP TRIGGER audit), open the warehouse again, and make it again on meter_hour_store (meter-warehouse(5))" ]
	sqlite3 w.db "DROP TRIGGER audit"
	run meter-load w.db /dev/null
	[ "$status" -eq 3 ]
	[[ "$output" == *"the index by_meter, made by hand on the table, would go with it; drop it with sqlite3 (DROP INDEX by_meter)"* ]]
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 6 ]
	sqlite3 w.db "DROP INDEX by_meter"
	run --separate-stderr meter-load w.db /dev/null
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 7 ]
	sqlite3 w.db "CREATE INDEX by_meter ON meter_hour_store (participant, meter, hour)"
	[[ "$(sqlite3 w.db "EXPLAIN QUERY PLAN SELECT * FROM meter_hour WHERE participant = 'p6' AND meter = 'mX'")" == *"USING INDEX by_meter"* ]]
	[ "$(sqlite3 w.db "SELECT meter, quantity, value, unit, quality FROM meter_hour WHERE meter IN ('mX', 'mY') ORDER BY meter")" = "mX|water|0.002|m3|measured
mY|gas|3.0|kWh|estimated" ]
}

@test "a schema 6 warehouse is brought to the compact meter hours with every row whole" {
	gunzip -c "$FIX/warehouse-schema6.db.gz" > w.db
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 6 ]
	# its rows as the schema 6 table holds them, read before the migration
	sqlite3 w.db "SELECT * FROM meter_hour ORDER BY hour, meter" > before
	[ "$(wc -l < before)" -eq 576 ]
	[ "$(sqlite3 w.db "SELECT count(DISTINCT quantity) || ' ' || count(*) FILTER (WHERE suspect = 'negative') FROM meter_hour")" = "12 1" ]
	: | meter-load w.db
	[ "$(sqlite3 w.db 'PRAGMA user_version')" -eq 7 ]
	sqlite3 w.db "SELECT * FROM meter_hour ORDER BY hour, meter" > after
	diff before after
	[ "$(sqlite3 w.db 'PRAGMA integrity_check')" = ok ]
	[ "$(sqlite3 w.db "SELECT count(*) FROM meter_hour_store")" -eq 576 ]
	# and it goes on judging: a negative hour of the next day is flagged
	printf '{"participant":"p6","property":"b0","meter":"m0","quantity":"electricity","hour":"2026-03-03T05:00:00Z","value":-2,"unit":"kWh"}\n' > next.ndjson
	meter-load w.db next.ndjson
	[ "$(sqlite3 w.db "SELECT hour FROM meter_hour WHERE suspect = 'negative' ORDER BY hour")" = "2026-03-02T06:00:00Z
2026-03-03T05:00:00Z" ]
}

@test "a missing or unwritable database directory is a clear error" {
	mh m1 2026-03-01T10:00:00Z 1 > in.ndjson
	run meter-load no/such/dir/w.db in.ndjson
	[ "$status" -eq 3 ]
	[ "$output" = "meter-load: no/such/dir/w.db: cannot open database: unable to open database file" ]
	mkdir ro && chmod 555 ro
	if [ "$(id -u)" -eq 0 ]; then
		chmod 755 "$BATS_TEST_TMPDIR"
		as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
	fi
	run $as_user meter-load ro/w.db in.ndjson
	[ "$status" -eq 3 ]
	[[ "$output" == "meter-load: ro/w.db: cannot open database: "* ]]
	[ ! -e ro/w.db ]
}

@test "usage: no database is exit 2; --help and --version exit 0" {
	run meter-load
	[ "$status" -eq 2 ]
	[[ "$output" == *"no database given"* ]]
	run meter-load --batch 0 w.db
	[ "$status" -eq 2 ]
	run meter-load --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: meter-load"* ]]
	run meter-load --version
	[[ "$output" =~ ^meter-load\ [0-9.]+$ ]]
}
