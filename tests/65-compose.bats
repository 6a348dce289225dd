#!/usr/bin/env bats
# The filters compose: any order of files, any split of runs, any pipe of
# the programs' own output gives the same hours, with nothing turned away.
# Real data: a year of the Cambridge estate's b0 and b1, electricity and
# gas (fixtures/cambridge/); the expected monthly totals are awk sums of the
# CSV columns.
load helper

CAM="$BATS_TEST_DIRNAME/fixtures/cambridge"
METERS="b0-electricity b0-gas b1-electricity b1-gas"

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	for m in $METERS; do
		col="equipment load"
		[ "${m#*-}" = gas ] && col="heating load"
		meter-fetch -t csv -p cambridge -P "${m%%-*}" -m "$m" -Q "${m#*-}" \
			-o ts-column=datetime -o "value-column=$col" -o kind=interval \
			-o duration=1h -o timezone=UTC "$CAM/$m-2019.csv.gz" > "raw-$m.ndjson"
		meter-standardize "raw-$m.ndjson" > "std-$m.ndjson"
		# property quantity month total, from the source
		zcat "$CAM/$m-2019.csv.gz" | awk -F, -v p="${m%%-*}" -v q="${m#*-}" \
			'NR > 1 { s[substr($1, 1, 7)] += $2 } END { for (k in s) printf "%s %s %s %.9g\n", p, q, k, s[k] }'
	done | sort > expected
	[ "$(wc -l < expected)" -eq 48 ]
}

# monthly totals of property hours on stdin, as expected has them
monthly() {
	jq -r '"\(.property) \(.quantity) \(.hour[0:7]) \(.value)"' |
		awk '{ s[$1 " " $2 " " $3] += $4 } END { for (k in s) printf "%s %.9g\n", k, s[k] }' | sort
}

# the two lists agree to 1e-9 relative
same_totals() {
	join -j1 <(awk '{ print $1 "/" $2 "/" $3, $4 }' "$1" | sort) \
		<(awk '{ print $1 "/" $2 "/" $3, $4 }' "$2" | sort) > joined
	[ "$(wc -l < joined)" -eq "$(wc -l < "$1")" ]
	[ "$(wc -l < joined)" -eq "$(wc -l < "$2")" ]
	awk '{ d = $2 - $3; if (d < 0) d = -d; m = $2 < 0 ? -$2 : $2
		if (d > 1e-9 * (m > 1 ? m : 1)) { print "differs: " $0; bad = 1 } }
		END { exit bad }' joined
}

setup() {
	cd "$BATS_FILE_TMPDIR" || return 1
}

@test "compose: the four meters' standardized files, in either order, aggregate to the source's totals" {
	run --separate-stderr meter-aggregate std-b0-electricity.ndjson std-b0-gas.ndjson \
		std-b1-electricity.ndjson std-b1-gas.ndjson
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	monthly <<< "$output" > got
	same_totals expected got
	run --separate-stderr meter-aggregate std-b1-gas.ndjson std-b1-electricity.ndjson \
		std-b0-gas.ndjson std-b0-electricity.ndjson
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "$(monthly <<< "$output")" = "$(cat got)" ]
	# every hour of the year, once per property and quantity
	[ "$(echo "$output" | wc -l)" -eq $((4 * 8760)) ]
}

@test "compose: cat of the standardized files into meter-aggregate gives the same" {
	run --separate-stderr sh -c 'cat std-b0-electricity.ndjson std-b0-gas.ndjson std-b1-electricity.ndjson std-b1-gas.ndjson | meter-aggregate'
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	monthly <<< "$output" > got
	same_totals expected got
}

@test "compose: meter-standardize over all the raw readings in one stream, or the four files in reverse order" {
	run --separate-stderr sh -c 'cat raw-b0-electricity.ndjson raw-b0-gas.ndjson raw-b1-electricity.ndjson raw-b1-gas.ndjson | meter-standardize | meter-aggregate'
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	monthly <<< "$output" > got
	same_totals expected got
	run --separate-stderr sh -c 'meter-standardize raw-b1-gas.ndjson raw-b1-electricity.ndjson raw-b0-gas.ndjson raw-b0-electricity.ndjson | meter-aggregate'
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	monthly <<< "$output" > got
	same_totals expected got
}

@test "compose: a file of meters one after another is read as its runs merged: nothing late, lines named as in the file" {
	# Two meters of one property, five days of hourly intervals each, the
	# second meter after the first as a fetch writes them.  Read as it is,
	# m2's first three days would be late for meter-aggregate's 2-day window.
	mkdir runs && cd runs
	awk 'BEGIN { for (m = 1; m <= 2; m++) for (h = 0; h < 120; h++)
		printf "{\"participant\":\"p\",\"property\":\"b\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%d,\"unit\":\"kWh\",\"kind\":\"interval\",\"duration\":3600}\n",
			m, strftime("%Y-%m-%dT%H:%M:%SZ", 1546300800 + h * 3600, 1), m }' > fetched.ndjson
	sed -i '150s/"value":2/"value":"x"/' fetched.ndjson
	run -1 --separate-stderr sh -c 'meter-standardize --stats -r rej.ndjson fetched.ndjson > hours.ndjson'
	[[ "$stderr" == *"meter-standardize: in 240 out 0 merged 239 rejected 1"* ]]
	# the meters' hours come out in step, hour by hour
	[ "$(head -4 hours.ndjson | jq -r '"\(.meter) \(.hour[11:13]) \(.value)"' | tr '\n' ,)" = "m1 00 1,m2 00 2,m1 01 1,m2 01 2," ]
	# line 150 is m2's 30th reading, named by its line in the file
	[ "$(jq -r '"\(.source):\(.line) \(.error)"' rej.ndjson)" = 'fetched.ndjson:150 field "value" must be a number' ]
	run -0 --separate-stderr meter-aggregate --stats hours.ndjson
	[[ "$stderr" == *"meter-aggregate: in 239 out 0 merged 239 rejected 0 hours 120 completed 0"* ]]
	# 120 hours of 1 + 2 kWh, less m2's rejected hour, which is m1's alone
	[ "$(echo "$output" | jq -r .value | awk '{ s += $1 } END { print NR, s }')" = "120 358" ]
	[ "$(echo "$output" | jq -r 'select(.hour == "2019-01-02T05:00:00Z") | "\(.value) \(.meters)"')" = "1 1" ]
	# standard input is read as it comes: there m2's early hours are late
	run --separate-stderr sh -c 'meter-standardize < fetched.ndjson | meter-aggregate --stats > /dev/null'
	[[ "$stderr" == *"late: its property hour was written already"* ]]
	# a meter in two runs (m1's first hour again at the end) would have its
	# readings reordered: the file is read as it is, as standard input is,
	# so runs of the file in pieces with --state give what one run gives
	echo '{"participant":"p","property":"b","meter":"m1","quantity":"electricity","ts":"2019-01-01T00:00:00Z","value":7,"unit":"kWh","kind":"interval","duration":3600}' >> fetched.ndjson
	meter-standardize -r rej-file.ndjson fetched.ndjson > file.ndjson || true
	meter-standardize -r rej-stdin.ndjson < fetched.ndjson > stdin.ndjson || true
	cmp file.ndjson stdin.ndjson
	[ "$(jq -r '"\(.line) \(.error[0:5])"' rej-file.ndjson | tr '\n' ,)" = "150 field,241 late:," ]
	# a meter a quick look could read otherwise than the parser (an escaped
	# key, a key past 64 KB of a line) reads the file as it is, as stdin
	H='"participant":"p","property":"b","quantity":"electricity","unit":"kWh","quality":"measured","coverage":1'
	pad=$(head -c 70000 /dev/zero | tr '\0' x)
	for m1 in '"m\u0065ter":"m1"' "\"pad\":\"$pad\",\"meter\":\"m1\""; do
		{ echo "{$H,\"meter\":\"m2\",\"hour\" : \"2019-01-01T10:00:00Z\",\"value\":2}"
		  echo "{$H,$m1,\"hour\":\"2019-01-01T05:00:00Z\",\"value\":1}"
		  echo "{$H,\"meter\":\"m3\",\"hour\":\"2019-01-01T08:00:00Z\",\"value\":3}"
		  echo "{$H,$m1,\"hour\":\"2019-01-01T05:00:00Z\",\"value\":9}"; } > odd.ndjson
		meter-aggregate odd.ndjson > odd-file.ndjson
		meter-aggregate < odd.ndjson > odd-stdin.ndjson
		cmp odd-file.ndjson odd-stdin.ndjson
		[ "$(jq -r 'select(.hour == "2019-01-01T05:00:00Z") | .value' odd-file.ndjson)" = 9 ]
	done
	# a file over 1 MB is sampled for its runs first: 2 meters x 4,000 hours
	awk 'BEGIN { for (m = 1; m <= 2; m++) for (h = 0; h < 4000; h++)
		printf "{\"participant\":\"p\",\"property\":\"b\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%d,\"unit\":\"kWh\",\"kind\":\"interval\",\"duration\":3600}\n",
			m, strftime("%Y-%m-%dT%H:%M:%SZ", 1546300800 + h * 3600, 1), m }' > big.ndjson
	[ "$(stat -c %s big.ndjson)" -gt 1048576 ]
	run -0 --separate-stderr sh -c 'meter-standardize big.ndjson > big-hours.ndjson && meter-aggregate --stats big-hours.ndjson'
	[[ "$stderr" == *"meter-aggregate: in 8000 out 0 merged 8000 rejected 0 hours 4000 completed 0"* ]]
	[ "$(echo "$output" | jq -r .value | sort -u)" = 3 ]
	# and its last line too: a short run at the end (m2's first day of
	# meter hours after m1's 7,000) is found, and read in its place
	awk 'BEGIN { for (m = 1; m <= 2; m++) for (h = 0; h < (m == 1 ? 7000 : 24); h++)
		printf "{\"participant\":\"p\",\"property\":\"b\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"hour\":\"%s\",\"value\":%d,\"unit\":\"kWh\",\"quality\":\"measured\",\"coverage\":1}\n",
			m, strftime("%Y-%m-%dT%H:%M:%SZ", 1546300800 + h * 3600, 1), m }' > tail.ndjson
	[ "$(stat -c %s tail.ndjson)" -gt 1048576 ]
	run -0 --separate-stderr meter-aggregate --stats tail.ndjson
	[[ "$stderr" == *"in 7024 out 0 merged 7024 rejected 0 hours 7000"* ]]
	[ "$(echo "$output" | jq -r .value | sort | uniq -c | awk '{ print $1 "x" $2 }' | tr '\n' ' ')" = "6976x1 24x3 " ]
}

@test "compose: a FIFO named as a file is read as it comes, never waited on" {
	line='{"participant":"p","meter":"m1","quantity":"electricity","ts":"2019-01-01T00:00:00Z","value":1,"unit":"kWh","kind":"interval","duration":3600}'
	mkfifo ff
	for _ in 1 2 3 4 5; do
		printf '%s\n' "$line" > ff &
		run -0 timeout 10 meter-standardize ff
		[ "$(echo "$output" | jq -r '"\(.hour) \(.value)"')" = "2019-01-01T00:00:00Z 1" ]
		wait
	done
}

@test "compose: the readings in 24 cron-sized runs with --state aggregate to the same" {
	sort -m -t'"' -k16,16 raw-*.ndjson > all.ndjson
	n=$(( ($(wc -l < all.ndjson) + 23) / 24 ))
	split -l "$n" -d all.ndjson run.
	[ "$(ls run.* | wc -l)" -eq 24 ]
	rm -rf st
	for f in run.*; do
		meter-standardize -s st "$f" >> hours.ndjson
	done
	run --separate-stderr meter-aggregate hours.ndjson
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	monthly <<< "$output" > got
	same_totals expected got
}

@test "compose: the warehouse route (load, aggregate --db, load) holds the same totals" {
	rm -f w.db
	cat std-*.ndjson > hours.ndjson
	meter-load w.db hours.ndjson
	run --separate-stderr sh -c 'meter-aggregate --db w.db hours.ndjson | meter-load w.db'
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	sqlite3 -separator ' ' w.db "SELECT property, quantity, substr(hour, 1, 7), sum(value)
		FROM property_hour GROUP BY 1, 2, 3" | awk '{ printf "%s %s %s %.9g\n", $1, $2, $3, $4 }' | sort > got
	same_totals expected got
	# one meter's hours arriving later, on their own: completed from the warehouse
	rm -f w2.db
	grep -v '"b0-gas"' hours.ndjson > first.ndjson
	grep '"b0-gas"' hours.ndjson > late.ndjson
	for part in first late; do
		meter-load w2.db $part.ndjson
		meter-aggregate --db w2.db $part.ndjson | meter-load w2.db
	done
	[ "$(sqlite3 w2.db 'SELECT count(*), printf("%.6f", sum(value)) FROM property_hour')" = \
		"$(sqlite3 w.db 'SELECT count(*), printf("%.6f", sum(value)) FROM property_hour')" ]
}

@test "compose: a year of 1,000 meters through meter-standardize --flush | meter-aggregate turns nothing away" {
	meters=1000 days=365
	[ -z "$QUICK" ] || { meters=100; days=30; }
	# daily registers of 1,000 meters in 250 buildings, in time order as a
	# fetch of them all gives: each meter uses (m % 7 + 1) kWh an hour
	awk -v M="$meters" -v D="$days" 'BEGIN { for (d = 0; d <= D; d++) {
		ts = strftime("%Y-%m-%dT%H:%M:%SZ", 1546300800 + d * 86400, 1)
		for (m = 0; m < M; m++)
			printf "{\"participant\":\"p\",\"property\":\"b%d\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%d,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", m % 250, m, ts, d * 24 * (m % 7 + 1) } }' > year.ndjson
	meter-standardize --flush --max-gap 2d year.ndjson 2> std.err |
		meter-aggregate --stats > props.ndjson 2> agg.err
	[ ! -s std.err ]
	buildings=$((meters < 250 ? meters : 250))
	[ "$(cat agg.err)" = "meter-aggregate: in $((meters * days * 24)) out 0 merged $((meters * days * 24)) rejected 0 hours $((buildings * days * 24)) completed 0" ]
	[ "$(jq -r .value props.ndjson | awk '{ s += $1 } END { printf "%.3f", s }')" = \
		"$(awk -v M="$meters" -v D="$days" 'BEGIN { for (m = 0; m < M; m++) s += (m % 7 + 1) * 24 * D; printf "%.3f", s }')" ]
}

@test "compose: files are one input whatever their spans: feb then jan is jan then feb" {
	for d in $(seq 1 28); do raw m1 "$(printf '2026-02-%02dT00:00:00Z' "$d")" $((d + 31)) cumulative; done > feb.ndjson
	for d in $(seq 1 31); do raw m1 "$(printf '2026-01-%02dT00:00:00Z' "$d")" "$d" cumulative; done > jan.ndjson
	run --separate-stderr meter-standardize --max-gap 2d feb.ndjson jan.ndjson
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	a=$output
	run --separate-stderr meter-standardize --max-gap 2d jan.ndjson feb.ndjson
	[ "$output" = "$a" ]
	# every hour from Jan 1 to Feb 28, one kWh a day
	[ "$(echo "$a" | wc -l)" -eq $(( (31 + 27) * 24 )) ]
	[ "$(echo "$a" | jq -r .value | awk '{ s += $1 } END { printf "%.6f", s }')" = "58.000000" ]
	# on standard input the later file's older readings are late, and the
	# message says what to do
	run --separate-stderr sh -c 'cat feb.ndjson jan.ndjson | meter-standardize --max-gap 2d'
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"-:29: late: older than the correction window (newest reading of this meter is 2026-02-28T00:00:00Z): give the files as arguments (they are read in time order), sort the input by time, or widen --lateness"* ]]
	[[ "$stderr" == *"meter-standardize: -: ... and 21 more: late"* ]]
	[ "$(grep -c 'late: older' <<< "$stderr")" -eq 10 ]
}

@test "compose: newest-first readings are read in time order, by meter-fetch and from a file" {
	# five daily readings of one meter, newest first, as many exports list them
	printf 'ts,kwh\n' > nf.csv
	for d in 5 4 3 2 1; do printf '2026-03-0%dT00:00:00Z,%d\n' "$d" $((d * 24)) >> nf.csv; done
	run --separate-stderr meter-fetch -t csv -Q electricity -o ts-column=ts -o value-column=kwh -o kind=cumulative -o unit=kWh nf.csv
	[ "$(jq -r .ts <<< "$output" | tr '\n' ' ')" = "2026-03-01T00:00:00Z 2026-03-02T00:00:00Z 2026-03-03T00:00:00Z 2026-03-04T00:00:00Z 2026-03-05T00:00:00Z " ]
	# the same readings in a file newest first: read backwards
	for d in 5 4 3 2 1; do raw m1 "2026-03-0${d}T00:00:00Z" $((d * 24)) cumulative; done > nf.ndjson
	run --separate-stderr meter-standardize --max-gap 2d nf.ndjson
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "$(echo "$output" | wc -l)" -eq 96 ]
	[ "$(head -1 <<< "$output" | jq -r .hour)" = 2026-03-01T00:00:00Z ]
	[ "$(jq -r .value <<< "$output" | sort -u)" = 1 ]
	# and the hours, written newest first, aggregate whole
	tac <<< "$output" > hours-nf.ndjson
	run --separate-stderr meter-aggregate hours-nf.ndjson
	[ "$status" -eq 0 ] && [ "$(echo "$output" | wc -l)" -eq 96 ]
}

@test "compose: a flood of one reason is ten lines and a count; the rejects file gets every record" {
	for i in $(seq 1 25); do echo "not json $i"; done > junk.ndjson
	run --separate-stderr meter-aggregate junk.ndjson
	[ "$status" -eq 1 ]
	[ "$(grep -c 'junk.ndjson:[0-9]*: malformed JSON' <<< "$stderr")" -eq 10 ]
	[[ "$stderr" == *"meter-aggregate: junk.ndjson: ... and 15 more: malformed JSON"* ]]
	[[ "$stderr" == *"meter-aggregate: 25 records rejected" ]]
	run meter-aggregate -r rej.ndjson junk.ndjson
	[ "$(wc -l < rej.ndjson)" -eq 25 ]
	[ -z "$output" ]
	run meter-aggregate -q junk.ndjson
	[ -z "$output" ]
}
