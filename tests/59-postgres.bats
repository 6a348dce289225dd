#!/usr/bin/env bats
# The warehouse on PostgreSQL (meter-warehouse(5), PostgreSQL), against a
# throwaway cluster this file starts (tests/pg_cluster.sh) and stops: the
# same tables and views as SQLite's, value for value (tests/wh_dump.py
# reads both with their own clients), the same guarantees.
load helper
load baseline
load quality

HOURLY="$BATS_TEST_DIRNAME/../scripts/meter-hourly"
DEMO="$BATS_TEST_DIRNAME/../examples/demo"

setup_file() {
	# under /tmp, not bats' own directory: the server runs as nobody as root
	METER_PGDIR=$(mktemp -d /tmp/meter-pg.XXXXXX)
	export METER_PGDIR
	PGTEST_PORT=$(sh "$BATS_TEST_DIRNAME/pg_cluster.sh" start "$METER_PGDIR")
	export PGTEST_PORT PGPASSWORD=meter-test
}

teardown_file() {
	sh "$BATS_TEST_DIRNAME/pg_cluster.sh" stop "$METER_PGDIR"
}

# newdb NAME: an empty database; prints its URI
newdb() {
	psql -X -q -d "postgresql://meter@127.0.0.1:$PGTEST_PORT/postgres" \
		-c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" > /dev/null 2>&1
	echo "postgresql://meter@127.0.0.1:$PGTEST_PORT/$1"
}

# pipeline DB: the demo's two participants through the programs into DB,
# as meter-hourly chains them (no runs: their times would differ)
pipeline() {
	[ -d demo ] || { cp -R "$DEMO" demo; chmod -R go-w demo; }
	for p in cambridge greenbutton; do
		c=demo/participants/$p/participant.xml
		meter-load -q -c "$c" "$1"
		# fetched once: the cursors would hold the readings back after
		[ -s mh-$p.ndjson ] || meter-fetch -q -c "$c" --state "st-$p" 2>/dev/null |
			meter-standardize -q > mh-$p.ndjson
		meter-load -q "$1" mh-$p.ndjson
		meter-aggregate -q -c "$c" --db "$1" mh-$p.ndjson > ph-$p.ndjson
		(cd demo/context && meter-enrich -q --shared-context -c "../participants/$p/participant.xml" \
			$(grep -v '^#' enrich.args) "$OLDPWD/ph-$p.ndjson") > en-$p.ndjson
		meter-load -q "$1" en-$p.ndjson
	done
}

dump() {
	python3 "$BATS_TEST_DIRNAME/wh_dump.py" "$1"
}

@test "postgresql: the demo's tables and views equal SQLite's, value for value" {
	pg=$(newdb same)
	pipeline "$pg"
	pipeline sq.db
	dump sq.db > sq.txt
	dump "$pg" > pg.txt
	diff sq.txt pg.txt
	# and they hold what the source files hold: b0's January electricity
	want=$(awk -F, 'NR > 1 { s += $2 } END { printf "%.1f", s }' demo/participants/cambridge/data/b0-electricity.csv)
	[ "$(psql -X -A -t -d "$pg" -c "SELECT value FROM monthly_consumption WHERE property = 'b0' AND quantity = 'electricity'")" = "$want" ]
	[ "$(grep -c . pg.txt)" -gt 10000 ]
	[ "$(psql -X -A -t -d "$pg" -c 'SELECT version FROM meter_schema')" -eq "$(sqlite3 sq.db 'PRAGMA user_version')" ]
	# a zone renamed, its local times the same: the hours take the name
	moved cambridge Europe/London Europe/Dublin > dublin.xml
	for db in "$pg" sq.db; do
		meter-load -q -c dublin.xml "$db"
	done
	diff <(dump sq.db | sed -n '/^== property_hour$/,/^== /p') <(dump "$pg" | sed -n '/^== property_hour$/,/^== /p')
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE timezone = 'Europe/Dublin'")" -gt 100 ]
}

@test "postgresql: a re-load replaces, never doubles; hours partitioned by month as they arrive" {
	pg=$(newdb again)
	pipeline "$pg"
	dump "$pg" > once.txt
	loads=$(psql -X -A -t -d "$pg" -c 'SELECT count(*) FROM loads')
	pipeline "$pg"
	dump "$pg" > twice.txt
	diff once.txt twice.txt
	# every load is in the history, once
	[ "$(psql -X -A -t -d "$pg" -c 'SELECT count(*) FROM loads')" -eq $((2 * loads)) ]
	# a partition for each month of hours, and no other
	parts() {
		psql -X -A -t -d "$pg" -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '$1'"
	}
	months() {
		jq -r ".hour[0:7] | \"$1_\" + sub(\"-\"; \"_\")" mh-*.ndjson | sort -u | tr '\n' ' ' | sed 's/ $//'
	}
	[ "$(parts meter_hour)" = "$(months meter_hour)" ]
	[ "$(parts property_hour)" = "$(jq -r '.hour[0:7] | "property_hour_" + sub("-"; "_")' en-*.ndjson | sort -u | tr '\n' ' ' | sed 's/ $//')" ]
	# a record twice in one batch: the last one wins, as on SQLite
	h='{"participant":"x","meter":"m","quantity":"electricity","hour":"2019-02-01T00:00:00Z","unit":"kWh","quality":"measured","coverage":1,"value":'
	printf '%s1}\n%s2}\n' "$h" "$h" | meter-load -q "$pg"
	[ "$(psql -X -A -t -d "$pg" -c "SELECT value FROM meter_hour WHERE participant = 'x'")" = 2 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM pg_class WHERE relname = 'meter_hour_2019_02'")" -eq 1 ]
}

@test "postgresql: new hours copied straight in, hours meeting stored ones upserted: the table SQLite's route gives" {
	pg=$(newdb mixed)
	pipeline first.db
	jq -c . mh-*.ndjson > all.ndjson
	n=$(wc -l < all.ndjson)
	# stored first: the first third and a block of 100 in the last third,
	# so that batches of the second load meet stored hours, or none
	awk -v n="$n" 'NR <= n / 3 || (NR > 2 * n / 3 && NR <= 2 * n / 3 + 100)' all.ndjson > some.ndjson
	jq -c '.value += 1' all.ndjson > changed.ndjson
	for db in "$pg" sq.db; do
		meter-load -q --batch 40 "$db" some.ndjson
		meter-load -q --batch 40 "$db" changed.ndjson
	done
	diff <(dump sq.db | sed -n '/^== meter_hour$/,/^== /p') <(dump "$pg" | sed -n '/^== meter_hour$/,/^== /p')
	# every hour once, with its changed value
	[ "$(psql -X -A -t -d "$pg" -c 'SELECT count(*) FROM meter_hour')" -eq "$n" ]
	want=$(jq -r .value changed.ndjson | awk '{ s += $1 } END { printf "%.3f", s }')
	[ "$(psql -X -A -t -d "$pg" -c 'SELECT round(CAST(sum(value) AS numeric), 3) FROM meter_hour')" = "$want" ]
	# property hours in batches of 7, which end anywhere in a local day:
	# each day is rolled up whole from all its hours, as on SQLite
	for db in "$pg" sq.db; do
		meter-load -q -c demo/participants/cambridge/participant.xml "$db"
		meter-load -q --batch 7 "$db" en-cambridge.ndjson
	done
	diff <(dump sq.db | sed -n '/^== property_day$/,/^== /p') <(dump "$pg" | sed -n '/^== property_day$/,/^== /p')
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_day WHERE hours_present = 24")" -gt 10 ]
	# again, every third hour changed: upserted, the others left as they were
	jq -c 'if (input_line_number % 3) == 0 then .value += 1000 else . end' en-cambridge.ndjson > en-changed.ndjson
	[ "$(jq -s '[.[] | select(.value >= 1000)] | length' en-changed.ndjson)" -gt 50 ]
	for db in "$pg" sq.db; do
		meter-load -q --batch 5 "$db" en-changed.ndjson
	done
	for t in property_hour property_day; do
		diff <(dump sq.db | sed -n "/^== $t\$/,/^== /p") <(dump "$pg" | sed -n "/^== $t\$/,/^== /p")
	done
}

@test "postgresql: meter-aggregate --db completes a property hour whose meters came in different loads" {
	pg=$(newdb late)
	pipeline "$pg"
	# b0's gas hours again on their own: the property hours of b0 gas
	# from the warehouse's electricity and gas, as the first run gave them
	jq -c 'select(.meter == "b0-gas")' mh-cambridge.ndjson > gas.ndjson
	meter-aggregate -q -c demo/participants/cambridge/participant.xml --db "$pg" gas.ndjson > late.ndjson
	jq -c 'select(.property == "b0" and .quantity == "gas")' ph-cambridge.ndjson > want.ndjson
	diff <(jq -S -c . want.ndjson | sort) <(jq -S -c . late.ndjson | sort)
	[ "$(wc -l < late.ndjson)" -eq 169 ]
}

# lines_2k: each NDJSON line padded with JSON's blanks to exactly 2 KB, so
# that a loader's read buffer (128 KB) takes 64 of them and waits for more
lines_2k() {
	LC_ALL=C awk '{ printf "%s%*s}\n", substr($0, 1, length($0) - 1), 2047 - length($0), "" }'
}

# moved P FROM TO: participant P's demo configuration, its zone FROM
# changed to TO
moved() {
	sed "s|timezone=\"$2\"|timezone=\"$3\"|" "demo/participants/$1/participant.xml"
}

# until SQL, asked of DB, answers t
until_true() {
	for _ in $(seq 300); do
		[ "$(psql -X -A -t -d "$1" -c "$2")" = t ] && return 0
		sleep 0.1
	done
	return 1
}

@test "postgresql: a configuration loaded while a loader runs moves the loader's hours to its zone too, in or between batches" {
	pipeline sq.db
	moved cambridge Europe/London Asia/Tokyo > tokyo.xml
	grep -q 'Asia/Tokyo' tokyo.xml
	# b1's hours again, 100,000 more each (to see them arrive), as lines of
	# exactly 2 KB: the loader's read buffer (128 KB) takes 64 of them
	jq -c 'select(.property == "b1") | .value += 100000' en-cambridge.ndjson |
		lines_2k > b1.ndjson
	[ "$(head -1 b1.ndjson | wc -c)" -eq 2048 ]
	[ "$(wc -l < b1.ndjson)" -gt 128 ]
	# as when the configuration came first
	meter-load -q -c tokyo.xml sq.db
	meter-load -q sq.db b1.ndjson
	for batch in 16 20; do
		pg=$(newdb zones$batch)
		pipeline "$pg"
		rm -f more && mkfifo more
		meter-load -q --batch "$batch" "$pg" more &
		pid=$!
		exec 8> more
		head -64 b1.ndjson >&8
		if [ "$batch" -eq 16 ]; then
			# four batches committed, the zones cached, none open
			until_true "$pg" "SELECT count(*) = 64 FROM property_hour WHERE value >= 100000"
		else
			# three batches committed, the fourth open: its zones read,
			# no lock taken yet, so the configuration does not wait
			until_true "$pg" "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
			[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE value >= 100000")" -eq 60 ]
		fi
		meter-load -q -c tokyo.xml "$pg"
		tail -n +65 b1.ndjson >&8
		exec 8>&-
		wait "$pid"
		for t in property_hour property_day; do
			diff <(dump sq.db | sed -n "/^== $t\$/,/^== /p") <(dump "$pg" | sed -n "/^== $t\$/,/^== /p")
		done
		[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE participant = 'cambridge' AND timezone = 'Asia/Tokyo' AND local LIKE '%+09:00'")" -gt 100 ]
		[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE participant = 'cambridge' AND timezone <> 'Asia/Tokyo'")" -eq 0 ]
	done
}

@test "postgresql: one loader of two participants keeps neither's old zones after both move, in either order" {
	pg=$(newdb twozones)
	pipeline "$pg"
	moved cambridge Europe/London Asia/Tokyo > tokyo.xml
	moved greenbutton America/New_York Pacific/Auckland > gb-auckland.xml
	grep -q 'Pacific/Auckland' gb-auckland.xml
	# hours of cambridge's b1 (A) and greenbutton's house-2 (B) again,
	# 100,000 more each, as lines of exactly 2 KB: a batch of 64 is what
	# the loader's read buffer takes
	pad() { jq -c '.value += 100000' | lines_2k; }
	jq -c 'select(.property == "b1")' en-cambridge.ndjson | pad > a.ndjson
	jq -c 'select(.property == "house-2")' en-greenbutton.ndjson | pad > b.ndjson
	[ "$(wc -l < a.ndjson)" -ge 63 ] && [ "$(wc -l < b.ndjson)" -ge 129 ]
	mkfifo more
	timeout 120 meter-load -q --batch 64 "$pg" more &
	pid=$!
	exec 8> more
	# one batch of both; A moves; a batch that reads B before A; B moves;
	# a batch of B
	{ sed -n 1,32p a.ndjson; sed -n 1,32p b.ndjson; } >&8
	until_true "$pg" "SELECT count(*) = 64 FROM property_hour WHERE value >= 100000"
	meter-load -q -c tokyo.xml "$pg"
	{ sed -n 33p b.ndjson; sed -n 33,63p a.ndjson; sed -n 34,65p b.ndjson; } >&8
	until_true "$pg" "SELECT count(*) = 128 FROM property_hour WHERE value >= 100000"
	meter-load -q -c gb-auckland.xml "$pg"
	sed -n 66,129p b.ndjson >&8
	exec 8>&-
	wait "$pid"
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE value >= 100000")" -eq 192 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE property = 'house-2' AND timezone <> 'Pacific/Auckland'")" -eq 0 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE participant = 'cambridge' AND timezone <> 'Asia/Tokyo'")" -eq 0 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_day WHERE property = 'house-2' AND hours_present > 24")" -eq 0 ]
}

@test "postgresql: a configuration relocalizing while another loader waits to make a partition does not hang them both" {
	pg=$(newdb cycle)
	pipeline "$pg"
	moved cambridge Europe/London Asia/Tokyo > tokyo.xml
	moved greenbutton America/New_York Asia/Tokyo > gb-tokyo.xml
	grep -q 'Asia/Tokyo' gb-tokyo.xml
	meter-load -q -c tokyo.xml "$pg"
	# greenbutton has hours in June 2021, a Tokyo month the warehouse
	# has no calendar row for yet
	[ "$(jq -r 'select(.participant == "greenbutton") | .hour[0:7]' en-greenbutton.ndjson | grep -c '^2021-06')" -gt 0 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM calendar_month WHERE timezone = 'Asia/Tokyo' AND month = '2021-06'")" -eq 0 ]
	# a loader of cambridge: 63 hours of June 2021 (that Tokyo month) and
	# one of a month without a partition, 2 KB each so that its read
	# buffer takes all 64, in one open batch
	jq -c 'select(.property == "b1")' en-cambridge.ndjson | head -64 |
		jq -c --slurp 'to_entries[] | .value + {hour: (if .key == 63 then "2030-01-01T00:00:00Z" else ((1622505600 + .key * 3600) | todate) end)}' |
		lines_2k > june.ndjson
	[ "$(wc -c < june.ndjson)" -eq 131072 ]
	mkfifo more
	timeout 120 meter-load -q --batch 1000 "$pg" more &
	loader=$!
	exec 8> more
	cat june.ndjson >&8
	until_true "$pg" "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
	# greenbutton moved to Tokyo too: its relocalizing needs that month's
	# calendar row while the loader's transaction is open
	timeout 120 meter-load -q -c gb-tokyo.xml "$pg" &
	config=$!
	until_true "$pg" "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') > 0 OR count(*) FILTER (WHERE query LIKE '%relocal%' OR query LIKE '%calendar_month%') = 0 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" || true
	# the loader's batch ends: it makes the 2030 partition, then writes
	exec 8>&-
	wait "$config"
	wait "$loader"
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM pg_class WHERE relname = 'property_hour_2030_01'")" -eq 1 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE participant = 'greenbutton' AND timezone <> 'Asia/Tokyo' AND property <> 'house-il'")" -eq 0 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE participant = 'cambridge' AND hour >= '2021-06' AND timezone = 'Asia/Tokyo'")" -eq 64 ]
}

@test "postgresql: dispatchers at once, loads killed at any point: the warehouse converges" {
	pg=$(newdb runs)
	cp -R "$DEMO" r && chmod -R go-w r
	# two dispatchers over the same root at once, then one more: every
	# participant once per run, nothing corrupted
	sh "$HOURLY" -w --db "$pg" r > /dev/null 2>&1 &
	sh "$HOURLY" -w --db "$pg" r > /dev/null 2>&1 || true
	wait || true
	run -1 sh "$HOURLY" --db "$pg" r
	[[ "$output" == *"greenbutton: ok"* ]]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM runs WHERE participant = 'greenbutton' AND status = 'ok'")" -eq 3 ]
	# the same hours as the dispatcher gives an SQLite warehouse
	cp -R "$DEMO" s && chmod -R go-w s
	sh "$HOURLY" --db ref.db s > /dev/null 2>&1 || true
	dump ref.db | sed -n '/^== meter_hour$/,/^== calendar_month$/p' > want.txt
	dump "$pg" | sed -n '/^== meter_hour$/,/^== calendar_month$/p' > got.txt
	diff want.txt got.txt
	[ "$(grep -c . got.txt)" -gt 1000 ]
	# meter-load killed mid-load, again and again: each batch is a
	# transaction, so what is there is whole batches, and a last load ends
	# where an uninterrupted one does
	pg2=$(newdb killed)
	pipeline ref2.db
	jq -c . mh-*.ndjson > all.ndjson
	for i in 1 2 3; do
		meter-load -q --batch 50 "$pg2" all.ndjson &
		pid=$!
		sleep "0.0$i"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		n=$(psql -X -A -t -d "$pg2" -c 'SELECT count(*) FROM meter_hour' 2>/dev/null || echo 0)
		[ $((n % 50)) -eq 0 ] || [ "$n" -eq "$(wc -l < all.ndjson)" ]
	done
	meter-load -q "$pg2" all.ndjson
	[ "$(psql -X -A -t -d "$pg2" -c 'SELECT count(*) FROM meter_hour')" -eq "$(jq -r '[.participant, .meter, .quantity, .hour] | @tsv' all.ndjson | sort -u | wc -l)" ]
}

@test "postgresql: a server down or a wrong password is exit 3 with the reason; the dispatcher moves no cursor or inbox file" {
	run -3 meter-load "postgresql://meter@127.0.0.1:1/none" /dev/null
	[[ "$output" == *"postgresql://meter@127.0.0.1:1/none: cannot connect to the warehouse: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"* ]]
	run -3 env PGPASSWORD=wrong meter-load "$(newdb pw)" /dev/null
	[[ "$output" == *"cannot connect to the warehouse: "*"password authentication failed for user \"meter\""* ]]
	# a password in the URI is refused before any connection
	run -2 meter-load "postgresql://meter:meter-test@127.0.0.1:$PGTEST_PORT/pw" /dev/null
	[[ "$output" == *"a password in the warehouse URI is refused: give it in PGPASSWORD or ~/.pgpass"* ]]
	# the dispatcher against a wrong password: failed runs, cursors and
	# the inbox as they were
	cp -R "$DEMO" r && chmod -R go-w r
	printf '%s\n' '{"participant":"cambridge","property":"b1","meter":"b1-gas","quantity":"gas","hour":"2019-01-01T00:00:00Z","value":1,"unit":"kWh","quality":"measured","coverage":1}' > r/participants/cambridge/inbox/push.ndjson
	run -1 env PGPASSWORD=wrong sh "$HOURLY" --db "$(newdb down)" r
	[[ "$output" == *"cambridge: failed: meter-load -c exited 3: meter-load: postgresql://"*"cannot connect to the warehouse: "*"password authentication failed"* ]]
	[ -f r/participants/cambridge/inbox/push.ndjson ]
	[ ! -e r/participants/cambridge/state/current ]
	[ -z "$(find r/participants -name '*.json' -path '*state*')" ]
}

@test "postgresql: meter-report writes the page SQLite's warehouse gives, refuses a database that is no warehouse" {
	pg=$(newdb report)
	pipeline "$pg"
	pipeline sq.db
	meter-report -q -o pg.html "$pg"
	meter-report -q -o sq.html sq.db
	xmllint --noout pg.html
	diff <(grep -v '<p class="muted">Warehouse' sq.html) <(grep -v '<p class="muted">Warehouse' pg.html)
	grep -q '<code>report</code>' pg.html
	run -2 meter-report -o x.html "$(newdb empty)"
	[[ "$output" == *"not a meter warehouse (no meter tables in it)"* ]]
	[ ! -e x.html ]
}

@test "postgresql: a failed write fails the load (nothing is lost with exit 0); URIs mistyped, not UTF-8, told" {
	pg=$(newdb fails)
	cp "$FIX/campus.xml" campus.xml
	meter-load -q -c campus.xml "$pg"
	# a write the server refuses (a CO2 figure past a double's sum) in the
	# batch's upsert: the batch fails loudly; the context field beyond 1e15
	# is no value in either backend, so this one goes in
	h='{"participant":"uni","property":"main","quantity":"electricity","hour":"2019-01-07T%02d:00:00Z","value":1,"unit":"kWh","meters":2,"meters_expected":2,"coverage":1,"quality":"measured","co2_kg":%s}\n'
	printf "$h$h" 8 1.7e308 9 1.7e308 > big.ndjson
	run -0 meter-load --stats --batch 2 "$pg" big.ndjson
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*), count(co2_kg) FROM property_hour")" = "2|0" ]
	meter-load -q --batch 2 big.db big.ndjson
	[ "$(sqlite3 big.db "SELECT count(*), count(co2_kg) FROM property_hour")" = "2|0" ]
	# a write that fails in the middle of a batch (here a trigger refusing
	# the day roll-up): exit 3 with the server's reason, the batch not kept
	psql -X -q -d "$pg" -c "CREATE FUNCTION no_days() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'no days today'; END \$\$" \
		-c "CREATE TRIGGER no_days BEFORE INSERT ON property_day FOR EACH ROW EXECUTE FUNCTION no_days()"
	sed 's/2019-01-07/2019-01-08/; s/1.7e308/2/' big.ndjson > day2.ndjson
	run -3 meter-load --batch 2 "$pg" day2.ndjson
	[[ "$output" == *"no days today"* ]]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM property_hour WHERE hour >= '2019-01-08'")" -eq 0 ]
	psql -X -q -d "$pg" -c "DROP TRIGGER no_days ON property_day"
	# a URI mistyped is refused, never made an SQLite file
	for u in postgresql:warehouse postgres:/x PostgreSQL://meter@127.0.0.1/x; do
		run -2 meter-load "$u" /dev/null
		[[ "$output" == *"not a PostgreSQL URI: "* ]]
		[ ! -e "$u" ]
	done
	run -2 meter-load "postgresql://meter@127.0.0.1:$PGTEST_PORT/fails?sslmod=disable" /dev/null
	[[ "$output" == *'not a PostgreSQL URI: invalid URI query parameter: "sslmod" (postgresql://'* ]]
	# a LATIN1 database is refused; the client's encoding cannot garble names
	psql -X -q -d "postgresql://meter@127.0.0.1:$PGTEST_PORT/postgres" -c "CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'" > /dev/null
	run -2 meter-load "postgresql://meter@127.0.0.1:$PGTEST_PORT/latin" /dev/null
	[[ "$output" == *"the database's encoding is LATIN1, not UTF8"* ]]
	printf '{"participant":"uni","property":"main","quantity":"electricity","hour":"2019-01-07T10:00:00Z","value":1,"unit":"kWh","meters":2,"meters_expected":2,"coverage":1,"quality":"measured","holiday":"Fête €"}\n' > hol.ndjson
	PGCLIENTENCODING=LATIN1 meter-load -q "$pg" hol.ndjson
	[ "$(psql -X -A -t -d "$pg" -c "SELECT holiday || ' ' || length(holiday) FROM property_hour WHERE hour = '2019-01-07T10:00:00Z'")" = "Fête € 6" ]
}

@test "postgresql: meter-baseline fits, stores and compares as on SQLite" {
	pg=$(newdb baseline)
	il_hours
	for db in "$pg" sq.db; do
		meter-load -q -c il.xml "$db"
		meter-load -q "$db" ph.ndjson
	done
	meter-baseline -q --baseline "$BASE" --reporting "$REP" "$pg" > fit-pg.ndjson
	meter-baseline -q --baseline "$BASE" --reporting "$REP" sq.db > fit-sq.ndjson
	cmp fit-pg.ndjson fit-sq.ndjson
	[ "$(jq -r '[.model, .status, .model_type] | @tsv' fit-pg.ndjson)" = "$(printf 'daily\tfitted\thdd_cdd\nhourly\tfitted\ttow_temperature')" ]
	q="SELECT model, period, month, count(*), sum(actual), sum(expected), sum(savings)
		FROM baseline_savings GROUP BY model, period, month ORDER BY model, period, month"
	sqlite3 sq.db "$q" > sq.txt
	psql -X -A -t -d "$pg" -c "$q" > pg.txt
	# two models, the baseline's 13 months and the reporting period's 14
	[ "$(wc -l < sq.txt)" -eq 54 ]
	# the sums as each engine adds them: equal to 1e-6
	paste -d'|' sq.txt pg.txt | awk -F'|' '$1 != $8 || $2 != $9 || $3 != $10 || $4 != $11 { bad++ }
		{ for (i = 5; i <= 7; i++) { d = $i - $(i + 7); if (d < 0) d = -d; if (d > 1e-6) bad++ } }
		END { exit bad > 0 || NR != 54 }'
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM baseline_hour")" -eq "$(sqlite3 sq.db 'SELECT count(*) FROM baseline_hour')" ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM baseline_day")" -eq 765 ]
	[ "$(psql -X -A -t -d "$pg" -c "SELECT string_agg(model || ' ' || status || ' ' || n || ' ' || parameters, ',' ORDER BY model) FROM baseline_fit")" = "daily fitted 366 3,hourly fitted 8784 180" ]
}

@test "postgresql: suspect hours flagged as on SQLite: a spike day, a negative hour, a dead meter's zeros; a good re-load clears them" {
	pg=$(newdb quality)
	cam_config
	cam_hours b0-electricity | jq -c 'select(.hour < "2019-09-01")' > el.ndjson
	jq -c 'if .hour[0:10] == "2019-06-05" then .value *= 1000
		elif .hour == "2019-06-02T12:00:00Z" then .value = -3
		elif .hour >= "2019-07-10" then .value = 0 else . end' el.ndjson > bad.ndjson
	# two loads, so that the second is judged against the first as history
	jq -c 'select(.hour < "2019-07-01")' bad.ndjson > bad-1.ndjson
	jq -c 'select(.hour >= "2019-07-01")' bad.ndjson > bad-2.ndjson
	for db in "$pg" sq.db; do
		meter-load -q -c cam.xml "$db"
		meter-load -q "$db" bad-1.ndjson
		meter-load -q "$db" bad-2.ndjson
	done
	q="SELECT suspect, count(*), min(hour), max(hour) FROM meter_hour
		WHERE suspect IS NOT NULL GROUP BY suspect ORDER BY suspect"
	dead=$(jq -r 'select(.hour >= "2019-07-10") | .hour' el.ndjson | wc -l)
	[ "$dead" -eq $(((31 + 22) * 24)) ]
	[ "$(psql -X -A -t -d "$pg" -c "$q")" = "negative|1|2019-06-02T12:00:00Z|2019-06-02T12:00:00Z
spike|24|2019-06-05T00:00:00Z|2019-06-05T23:00:00Z
zero-run|$dead|2019-07-10T00:00:00Z|2019-08-31T23:00:00Z" ]
	[ "$(sqlite3 sq.db "$q")" = "$(psql -X -A -t -d "$pg" -c "$q")" ]
	for db in "$pg" sq.db; do
		meter-load -q "$db" el.ndjson
	done
	[ "$(psql -X -A -t -d "$pg" -c "SELECT count(*) FROM meter_hour WHERE suspect IS NOT NULL")" -eq 0 ]
	[ "$(sqlite3 sq.db "SELECT count(*) FROM meter_hour WHERE suspect IS NOT NULL")" -eq 0 ]
}
