#!/usr/bin/env bats
# meter-hourly and meter-init over the example data root (examples/demo):
# totals against the source files, idempotence, split and killed runs,
# isolation of participants, the inbox, concurrency.
load helper

HOURLY="$BATS_TEST_DIRNAME/../scripts/meter-hourly"
INIT="$BATS_TEST_DIRNAME/../scripts/meter-init"
DEMO="$BATS_TEST_DIRNAME/../examples/demo"

root() {
	cp -R "$DEMO" "$1"
	chmod -R go-w "$1"
}

# The warehouse's facts, canonical: what a run must leave, whatever the
# order or the interruptions.
dump() {
	sqlite3 "$1" "SELECT participant, property, meter, quantity, hour, round(value, 9), unit, quality, coverage
		FROM meter_hour ORDER BY 1, 2, 3, 4, 5;
		SELECT participant, property, quantity, hour, round(value, 9), meters, meters_expected, coverage,
		quality, local, holiday, office_hours, outside_temp_c, round(kwh_per_m2, 9), round(co2_kg, 9), hdd, cdd
		FROM property_hour ORDER BY 1, 2, 3, 4;"
}

csv_sum() { awk -F, -v c="${2:-2}" 'NR > 1 { s += $c } END { printf "%.6f\n", s * '"${3:-1}"' }' "$1"; }
# the property's total over its hours (the views round to 3 decimals for
# display; the stored hours are exact to 1e-9)
month_value() {
	sqlite3 "$1" "SELECT printf('%.6f', sum(value)) FROM property_hour
		WHERE participant = '$2' AND property = '$3' AND quantity = '$4'"
}

@test "demo: monthly totals per property equal sums over the source files" {
	root r
	run -1 sh "$HOURLY" r
	[[ "$output" == *"cambridge: partial: meter-fetch: data/b1-water.csv: meter b1-water: cannot open"* ]]
	[[ "$output" == *"greenbutton: ok"* ]]
	# the meter that never delivers is said in the log and listed in data_quality;
	# the demo's data is of 2019: every other meter is stale by now
	[[ "$output" == *"cambridge: warning: meter b1-water (water): never delivered"* ]]
	grep -q ' cambridge warning: meter b1-water (water): never delivered$' r/participants/cambridge/log/meter-hourly.log
	grep -q ' cambridge warning: meter b0-el (electricity): stale, its last hour is 2019-01-08T00:00:00Z$' r/participants/cambridge/log/meter-hourly.log
	[ "$(sqlite3 r/warehouse.db "SELECT status, hours_present FROM data_quality WHERE meter = 'b1-water'")" = "never delivered|0" ]
	d=r/participants/cambridge/data
	[ "$(month_value r/warehouse.db cambridge b0 electricity)" = "$(csv_sum $d/b0-electricity.csv)" ]
	[ "$(month_value r/warehouse.db cambridge b0 gas)" = "$(csv_sum $d/b0-gas.csv)" ]
	[ "$(month_value r/warehouse.db cambridge b1 electricity)" = "$(csv_sum $d/b1-electricity.csv)" ]
	[ "$(month_value r/warehouse.db cambridge b1 gas)" = \
		"$(jq -r .value "$DEMO/participants/cambridge/inbox/b1-gas-2019-01.ndjson" | awk '{ s += $1 } END { printf "%.6f\n", s }')" ]
	g=r/participants/greenbutton/data
	[ "$(month_value r/warehouse.db greenbutton house-il electricity)" = "$(csv_sum $g/il-electricity-2016-03.csv)" ]
	# Green Button: Wh, and therms x 10^-3 (a US therm is 29.307107 kWh)
	[ "$(month_value r/warehouse.db greenbutton house-1 electricity)" = \
		"$(sed -n '/<IntervalReading>/,/<\/IntervalReading>/p' $g/TestGBDataHourlyNineDaysBinnedDaily.xml | grep -o '<value>[0-9]*</value>' | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.6f\n", s / 1000 }')" ]
	[ "$(month_value r/warehouse.db greenbutton house-2 gas)" = \
		"$(sed -n '/<IntervalReading>/,/<\/IntervalReading>/p' $g/gas_direct.xml | grep -o '<value>[0-9]*</value>' | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.6f\n", s / 1000 * 29.307107 }')" ]
	# the run is logged in the participant's log and the warehouse
	[ "$(sqlite3 r/warehouse.db "SELECT participant || ' ' || status FROM runs ORDER BY 1")" = "$(printf 'cambridge partial\ngreenbutton ok')" ]
	grep -q " cambridge run=.* fetched=$(( $(wc -l < $d/b0-electricity.csv) + $(wc -l < $d/b0-gas.csv) + $(wc -l < $d/b1-electricity.csv) - 3 )) .*status=partial" \
		r/participants/cambridge/log/meter-hourly.log
	[ -f r/participants/cambridge/inbox/done/b1-gas-2019-01.ndjson ]
}

@test "demo: a second run changes nothing" {
	root r
	sh "$HOURLY" r 2>/dev/null || true
	dump r/warehouse.db > first
	run -1 sh "$HOURLY" r
	dump r/warehouse.db > second
	cmp first second
	[ "$(grep ' run=' r/participants/greenbutton/log/meter-hourly.log | tail -1 | grep -o 'fetched=[0-9]*')" = fetched=0 ]
}

# reveal DIR N: the first N data rows of the Cambridge sources, the rest
# still to come (a cron run sees what has arrived so far)
reveal() {
	for f in b0-electricity b0-gas b1-electricity; do
		head -$(( $2 + 1 )) "$DEMO/participants/cambridge/data/$f.csv" > "$1/participants/cambridge/data/$f.csv"
	done
}

@test "a run split hour by hour, data late and out of order, ends as one run" {
	root whole
	sh "$HOURLY" whole 2>/dev/null || true
	root split
	rm split/participants/cambridge/inbox/*.ndjson
	inbox=$DEMO/participants/cambridge/inbox/b1-gas-2019-01.ndjson
	steps="1 2 5 30 60 61 100 140 169"
	[ -z "$QUICK" ] || steps="5 60 140 169"
	for n in $steps; do
		reveal split "$n"
		# b0's gas arrives a day late: it lags the others by 24 rows
		head -$(( n > 24 ? n - 24 + 1 : 1 )) "$DEMO/participants/cambridge/data/b0-gas.csv" > split/participants/cambridge/data/b0-gas.csv
		[ "$n" -eq 169 ] && cp "$DEMO/participants/cambridge/data/b0-gas.csv" split/participants/cambridge/data/
		# the pushed gas hours come in two files, the later hours first
		[ "$n" -eq 60 ] && sed -n '100,169p' "$inbox" > split/participants/cambridge/inbox/late.ndjson
		[ "$n" -eq 140 ] && sed -n '1,99p' "$inbox" > split/participants/cambridge/inbox/early.ndjson
		sh "$HOURLY" split 2>/dev/null || true
	done
	dump whole/warehouse.db > one
	dump split/warehouse.db > many
	diff one many
	[ "$(ls split/participants/cambridge/inbox/done)" = "$(printf 'early.ndjson\nlate.ndjson')" ]
}

@test "runs killed with SIGKILL at any point, then run again, lose and duplicate nothing" {
	root ref
	sh "$HOURLY" ref 2>/dev/null || true
	dump ref/warehouse.db > want
	delays="0.05 0.15 0.3 0.45 0.6 0.8"
	[ -z "$QUICK" ] || delays="0.5 3 8"   # valgrind: every step is slower
	landed=0
	for delay in $delays; do
		rm -rf k
		root k
		setsid sh "$HOURLY" k 2>/dev/null &
		pid=$!
		sleep "$delay"
		! kill_running "$pid" -"$pid" || landed=$((landed + 1))
		wait "$pid" 2>/dev/null || true
		# -w: a killed child may hold the participant's lock a moment longer
		# than the shell that waited for it (seen under load: the run after
		# skipped the participant as "already going on")
		sh "$HOURLY" -w k 2>/dev/null || true
		dump k/warehouse.db > got
		diff want got
		# no half-done run is left as state
		[ "$(ls -d k/participants/*/state/run-* | wc -l)" -eq 2 ]
	done
	echo "kills that landed: $landed" >&3
	[ "$landed" -gt 0 ]
}

@test "a run killed between making the state link and renaming it: the next run commits" {
	root k
	sh "$HOURLY" k 2>/dev/null || true
	st=k/participants/greenbutton/state
	before=$(readlink "$st/current")
	# what a SIGKILL between ln and mv in commit leaves: the new link, not
	# yet current (every later run failed with "cannot commit state")
	ln -s run-killed "$st/current.new"
	run sh "$HOURLY" k greenbutton
	[ "$status" -eq 0 ]
	[ ! -L "$st/current.new" ]
	after=$(readlink "$st/current")
	[ "$after" != "$before" ] && [ -d "$st/$after" ]
	[ "$(ls -d "$st"/run-* | wc -l)" -eq 1 ]
	[ "$(sqlite3 k/warehouse.db "SELECT status FROM runs WHERE participant = 'greenbutton' ORDER BY run DESC LIMIT 1")" = ok ]
}

@test "a participant with a broken configuration stops no other" {
	root r
	sed -i 's|<property id="house-1"|<property id="house-1" colour="red"|' r/participants/greenbutton/participant.xml
	run -1 sh "$HOURLY" r
	[[ "$output" == *"greenbutton: failed: meter-load -c exited 2: meter-load: "*"participant.xml:7: <property>: unknown attribute \"colour\""* ]]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour WHERE participant = 'cambridge'")" -gt 0 ]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour WHERE participant = 'greenbutton'")" -eq 0 ]
	grep -q 'greenbutton .*status=failed' r/participants/greenbutton/log/meter-hourly.log
	[ ! -e r/participants/greenbutton/state/current ]
}

@test "a typo in the operator's context fails the runs, with the reason in the log and the runs table; an unused region only warns" {
	root r
	# --holiday for --holidays: an unknown option, once ignored (holiday NULL everywhere)
	sed -i 's|^--holidays GB=|--holiday GB=|' r/context/enrich.args
	run -1 sh "$HOURLY" r
	[[ "$output" == *"cambridge: failed: "*"enrich.args: unknown option --holiday"* ]]
	[ "$(sqlite3 r/warehouse.db "SELECT participant, status FROM runs ORDER BY 1")" = "cambridge|failed
greenbutton|failed" ]
	[[ "$(sqlite3 r/warehouse.db "SELECT message FROM runs WHERE participant = 'cambridge'")" == *"unknown option --holiday"* ]]
	grep -q 'cambridge .*status=failed message=.*unknown option --holiday' r/participants/cambridge/log/meter-hourly.log
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour")" -eq 0 ]
	# UK for GB: a region no participant's property has is said, in every
	# participant's log, and fails no run (a participant that drops its
	# region must not fail the others')
	rm -rf r
	root r
	sed -i 's|^--holidays GB=|--holidays UK=|' r/context/enrich.args
	run -1 sh "$HOURLY" r
	[[ "$output" == *'cambridge: warning: context/enrich.args: --holidays UK=...: no participant has a property of region "UK" (a typo? that file applies to no hour)'* ]]
	grep -q 'greenbutton warning: context/enrich.args: --holidays UK=' r/participants/greenbutton/log/meter-hourly.log
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour")" -gt 0 ]
	# the GB hours got no holidays, and nothing else was lost
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour WHERE participant = 'cambridge' AND holiday IS NOT NULL")" -eq 0 ]
	# a region of another participant is no error for this one
	rm -rf r
	root r
	run -1 sh "$HOURLY" r
	[[ "$output" == *"greenbutton: ok"* ]]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour WHERE participant = 'greenbutton'")" -gt 0 ]
}

@test "a partial run whose programs said nothing gives its rejects as the reason" {
	root r
	printf '2016-03-16T23:00:00-05:00,not-a-number\n' >> r/participants/greenbutton/data/il-electricity-2016-03.csv
	run -1 sh "$HOURLY" r greenbutton
	[[ "$output" == *"greenbutton: partial: 1 record rejected (rejects/"*".ndjson): value \"not-a-number\" is not a number"* ]]
	[ "$(sqlite3 r/warehouse.db "SELECT status FROM runs WHERE participant = 'greenbutton'")" = partial ]
	[[ "$(sqlite3 r/warehouse.db "SELECT message FROM runs WHERE participant = 'greenbutton'")" == "1 record rejected (rejects/"* ]]
}

@test "two dispatchers at once: one waits or skips, nothing is corrupted" {
	root ref
	sh "$HOURLY" ref 2>/dev/null || true
	root r
	sh "$HOURLY" r 2>/dev/null &
	sh "$HOURLY" -w -j 2 r 2>/dev/null &
	sh "$HOURLY" r 2>/dev/null &
	wait
	diff <(dump ref/warehouse.db) <(dump r/warehouse.db)
	[ "$(sqlite3 r/warehouse.db 'PRAGMA integrity_check')" = ok ]
}

@test "inbox: half-written files wait, bad ones go to failed/ with a reason, other participants' records are refused" {
	root r
	in=r/participants/cambridge/inbox
	head -3 "$DEMO/participants/cambridge/inbox/b1-gas-2019-01.ndjson" > $in/coming.ndjson.tmp
	printf 'not json\n{"also": "no"}\n' > $in/garbage.ndjson
	sed 's/"participant":"cambridge"/"participant":"greenbutton"/' "$DEMO/participants/cambridge/inbox/b1-gas-2019-01.ndjson" > $in/foreign.ndjson
	run -1 sh "$HOURLY" r
	[ -f $in/coming.ndjson.tmp ]
	[ -f $in/failed/garbage.ndjson ] && grep -q "no record of garbage.ndjson could be loaded" $in/failed/garbage.ndjson.reason
	[ -f $in/failed/foreign.ndjson ]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM meter_hour WHERE participant = 'greenbutton' AND meter = 'b1-gas'")" -eq 0 ]
	rej=$(ls r/participants/cambridge/rejects/*.ndjson)
	[ "$(jq -r 'select(.source | endswith("foreign.ndjson")) | .error' $rej | sort -u)" = "not a record of participant cambridge (-p)" ]
}

@test "backfill: a day again from the raw archive gives the same meter hours" {
	root r
	day=$(date -u +%F)       # before the run: its payloads are of this day or the next
	sh "$HOURLY" r 2>/dev/null || true
	run -0 sh "$HOURLY" --backfill "$day" "$(date -u +%F)" --db again.db r greenbutton
	[ "$(sqlite3 again.db "SELECT meter, hour, round(value, 9) FROM meter_hour ORDER BY 1, 2")" = \
		"$(sqlite3 r/warehouse.db "SELECT meter, hour, round(value, 9) FROM meter_hour WHERE participant = 'greenbutton' ORDER BY 1, 2")" ]
	n=$(find r/participants/greenbutton/raw -type f | wc -l)
	[ "$(sqlite3 again.db "SELECT status, message FROM runs")" = "ok|backfill $day..$(date -u +%F): $n payloads replayed" ]
	# the data's dates are not fetch dates: nothing to replay, and it says so
	run -1 sh "$HOURLY" --backfill 2019-01-01 2019-01-31 --db again.db r greenbutton
	fetched=$(cd r/participants/greenbutton/raw && find . -mindepth 3 -maxdepth 3 -type d | cut -c3- | tr / - | sort -u | head -1)
	[[ "$output" == *"greenbutton: empty: nothing in the archive fetched on 2019-01-01..2019-01-31: the dates are fetch dates (raw/YYYY/MM/DD/), and the archive holds payloads fetched "*"$fetched"* ]]
	[ "$(sqlite3 again.db "SELECT group_concat(status, ' ') FROM (SELECT status FROM runs ORDER BY status)")" = "empty ok" ]
	[ "$(sqlite3 again.db "SELECT count(*) FROM runs")" -eq 2 ]
}

@test "meter-init: a data root, participant directories with their group and modes" {
	run -0 sh "$INIT" dr
	[ -d dr/context ] && [ -d dr/participants ]
	grp=$(id -gn)
	run -0 sh "$INIT" --participant acme --group "$grp" dr
	for d in "" raw state inbox/done inbox/failed rejects log; do
		[ "$(stat -c %G dr/participants/acme/$d)" = "$grp" ]
	done
	[ "$(stat -c %a dr/participants/acme)" = 2750 ]
	[ "$(stat -c %a dr/participants/acme/state)" = 2750 ]
	[ "$(stat -c %a dr/participants/acme/participant.xml)" = 640 ]
	# the skeleton is valid as written, and so is its example once uncommented
	run -0 meter-load -c dr/participants/acme/participant.xml -p acme --check
	[[ "$output" == *"participant acme: 0 properties, 0 meters, 0 connectors, 0 contracts: good" ]]
	sed -e '/^<!-- An example/,/^     file that/d' -e '/^-->$/d' dr/participants/acme/participant.xml > example.xml
	run -0 meter-load -c example.xml -p acme --check
	[ "$output" = "example.xml: participant acme: 1 property, 1 meter, 1 connector (csv), 0 contracts: good" ]
	run -2 sh "$INIT" --participant ../evil dr
	[[ "$output" == *'bad participant id "../evil"'* ]]
	run -2 sh "$INIT" --participant ok --group no-such-group-here dr
	[[ "$output" == *"no group no-such-group-here"* ]]
	# a participant directory anyone may write is refused by the programs
	chmod o+w dr/participants/acme
	run -2 meter-fetch -c dr/participants/acme/participant.xml
	[[ "$output" == *"refusing a configuration in a world-writable directory"* ]]
}

@test "README: the lines of \"Using it\" run as written, and the warehouse they fill holds the source's totals" {
	top="$BATS_TEST_DIRNAME/.."
	mkdir clone && cp -R "$top/examples" clone/ && mkdir clone/tests && cp -R "$top/tests/fixtures" clone/tests/
	awk '/^## Using it/ { f = 1 } /^The platform itself/ { f = 0 } f && /^    / { sub(/^    /, ""); print }' \
		"$top/README.md" | sed 's|^export PATH=.*|export PATH="$METER_BIN:$PATH"|' > using.sh
	[ "$(grep -c '^meter-' using.sh)" -eq 17 ]
	cd clone
	run --separate-stderr bash ../using.sh
	# the only failure is the demo's meter that points at a missing file on purpose
	[ "$(grep -v 'no reading after the cursor\|^meter-report: wrote report.html$\|^meter-baseline: greenbutton/house-il electricity: daily model hdd_cdd on ' <<<"$stderr" | sort -u)" = "meter-fetch: data/b1-water.csv: meter b1-water: cannot open: No such file or directory" ]
	# the Illinois home's baseline: fitted, its savings on the page
	[ "$(sqlite3 try/warehouse.db "SELECT model, status, model_type, reporting_n FROM baseline_fit")" = "daily|fitted|hdd_cdd|365" ]
	grep -q '<h4>Baseline: electricity, daily model</h4>' try/report.html
	grep -q '^meter-report: wrote report.html$' <<<"$stderr"
	xmllint --noout try/report.html
	grep -q '<h3>cambridge / b0 ' try/report.html
	d=examples/demo/participants/cambridge/data
	want=$(awk -F, 'NR > 1 { s += $2 } END { printf "%.1f", s }' $d/b0-electricity.csv)
	[ "$(sqlite3 try/warehouse.db "SELECT printf('%.1f', value) FROM monthly_consumption WHERE property = 'b0' AND quantity = 'electricity'")" = "$want" ]
	[ "$(sqlite3 try/warehouse.db "SELECT count(*) FROM building_comparison WHERE year = '2019'")" -eq 2 ]
	[[ "$output" == *"│ b0       │ 2019-01 │ $want │ kWh  │"* ]]
}

@test "every program: --help on stdout with exit 0, --version, a bad option named with exit 2" {
	for prog in meter-fetch meter-standardize meter-load meter-aggregate meter-enrich meter-inbox meter-report meter-baseline "$HOURLY" "$INIT"; do
		case $prog in /*) cmd=(sh "$prog") name=${prog##*/} ;; *) cmd=("$prog") name=$prog ;; esac
		run --separate-stderr -0 "${cmd[@]}" --help
		[[ "$output" == "usage: $name "* ]]
		[ -z "$stderr" ]
		run --separate-stderr -0 "${cmd[@]}" --version
		[[ "$output" =~ ^$name\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
		run --separate-stderr -2 "${cmd[@]}" --bogus
		[ -z "$output" ]
		[[ "$stderr" == "$name: "*"option"*"bogus"* ]]
		[[ "$stderr" == *"usage: $name "* ]]
	done
	run --separate-stderr -2 sh "$HOURLY" -j 0 r
	[[ "$stderr" == 'meter-hourly: bad value for -j: "0" (1 or more)'* ]]
	# options are checked before any run: a bad --until fails no participant's run
	root r
	run --separate-stderr -2 sh "$HOURLY" --until yesterday r
	[[ "$stderr" == 'meter-hourly: bad value for --until: "yesterday" (a date, or an RFC 3339 time'* ]]
	[ ! -e r/warehouse.db ]
	run --separate-stderr -2 sh "$HOURLY" --backfill 2026-11-01 2026-11-07 r nobody
	[[ "$stderr" == "meter-hourly: no participant nobody in $PWD/r"* ]]
	[ ! -e r/participants/nobody ]
	run --separate-stderr -2 sh "$HOURLY" --backfill 2026-11-07 2026-11-01 r greenbutton
	[[ "$stderr" == "meter-hourly: --backfill 2026-11-07 2026-11-01: the first date is after the second"* ]]
	[ ! -e r/warehouse.db ]
}

@test "meter-hourly: usage errors and parallel participants" {
	run -2 sh "$HOURLY"
	[[ "$output" == *"usage: meter-hourly"* ]]
	run -2 sh "$HOURLY" /nonexistent
	[[ "$output" == *"/nonexistent is not a data root"* ]]
	root a
	root b
	sh "$HOURLY" a 2>/dev/null || true
	sh "$HOURLY" -j 2 b 2>/dev/null || true
	diff <(dump a/warehouse.db) <(dump b/warehouse.db)
}
