#!/usr/bin/env bats
# meter-aggregate: property hours from meter hours, each rule with values
# worked out by hand, and late data completed from the warehouse.

load helper

# m METER QUANTITY HOUR VALUE [QUALITY [COVERAGE]]: a meter hour of uni
m() {
	printf '{"participant":"uni","meter":"%s","quantity":"%s","hour":"%s","value":%s,"unit":"%s","quality":"%s","coverage":%s}\n' \
		"$1" "$2" "$3" "$4" "$(case $2 in electricity) echo kWh;; temperature) echo degC;; occupancy) echo people;; water) echo m3;; esac)" \
		"${5:-measured}" "${6:-1}"
}

agg() { meter-aggregate -c "$FIX/campus.xml" "$@"; }
fields() { jq -r '[.property, .quantity, .hour, .value, .meters, .meters_expected, .coverage, .quality] | map(tostring) | join(" ")'; }

H=2026-03-01T10:00:00Z

@test "energy is summed; meters, meters_expected, coverage and quality come with it" {
	{ m el-1 electricity $H 2.5; m el-2 electricity $H 1.5 interpolated 0.5; } > in.ndjson
	run agg in.ndjson
	[ "$status" -eq 0 ]
	# 2.5 + 1.5 = 4; coverage (1 + 0.5) / 2 expected = 0.75; worst quality
	[ "$(fields <<<"$output")" = "main electricity $H 4 2 2 0.75 interpolated" ]
}

@test "an hour missing one of its expected meters is partial" {
	m el-1 electricity $H 2.5 > in.ndjson
	run agg in.ndjson
	[ "$(fields <<<"$output")" = "main electricity $H 2.5 1 2 0.5 partial" ]
}

@test "temperatures are coverage-weighted means" {
	# (20 x 1 + 23 x 0.5) / 1.5 = 21
	{ m t-1 temperature $H 20; m t-2 temperature $H 23 measured 0.5; } > in.ndjson
	run agg in.ndjson
	[ "$(fields <<<"$output")" = "main temperature $H 21 2 2 0.75 measured" ]
}

@test "occupancy is summed across sensors, unless the configuration says mean" {
	{ m occ-1 occupancy $H 12; m occ-2 occupancy $H 30; } > in.ndjson
	run agg in.ndjson
	[ "$(fields <<<"$output")" = "main occupancy $H 42 2 2 1 measured" ]
	sed 's|<property id="main"|<aggregation quantity="occupancy" rule="mean"/>\n  &|' "$FIX/campus.xml" > mean.xml
	run meter-aggregate -c mean.xml in.ndjson
	[ "$(fields <<<"$output")" = "main occupancy $H 21 2 2 1 measured" ]
}

@test "a meter hour given twice counts once: the later one" {
	{ m el-1 electricity $H 2.5; m el-2 electricity $H 1.5; m el-1 electricity $H 3; } > in.ndjson
	run --separate-stderr agg --stats in.ndjson
	[ "$(fields <<<"$output")" = "main electricity $H 4.5 2 2 1 measured" ]
	[ "$stderr" = "meter-aggregate: in 3 out 0 merged 3 rejected 0 hours 1 completed 0" ]
	# a line that is no record is a record in, and rejected: the counts add up
	echo '{"participant":' >> in.ndjson
	run -1 --separate-stderr agg --stats in.ndjson
	[[ "$stderr" == *"meter-aggregate: in 4 out 0 merged 3 rejected 1 (truncated JSON object 1) hours 1 completed 0"* ]]
}

@test "without a configuration the record's property groups; meters_expected is unknown" {
	{ raw a 2026-03-01T10:00:00Z 0; raw a 2026-03-01T11:00:00Z 2; raw b 2026-03-01T10:00:00Z 0; raw b 2026-03-01T11:00:00Z 3; } |
		meter-standardize > hours.ndjson
	run meter-aggregate hours.ndjson
	[ "$status" -eq 0 ]
	[ "$output" = '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-03-01T10:00:00Z","value":5,"unit":"kWh","meters":2,"coverage":1,"quality":"measured"}' ]
}

@test "meters outside the configuration or without a property are rejected" {
	{ m el-9 electricity $H 1; m loose water $H 1
	  printf '{"participant":"uni","property":"annex","meter":"el-1","quantity":"electricity","hour":"%s","value":1,"unit":"kWh"}\n' $H
	  printf '{"participant":"other","meter":"x","quantity":"electricity","hour":"%s","value":1,"unit":"kWh"}\n' $H
	  printf '{"participant":"uni","property":"main","quantity":"electricity","hour":"%s","value":1,"unit":"kWh"}\n' $H; } > in.ndjson
	run agg -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(jq -r .error rej.ndjson)" = 'meter uni/el-9 is not in the configuration
meter uni/loose belongs to no property
property "annex" differs from the configuration ("main")
meter other/x: no property (field "property" or -c)
missing field "meter": this is a property hour, which meter-enrich and meter-load take' ]
}

# two days of hours for el-1, el-2 and el-3, values from the hour alone
series() {
	awk 'BEGIN { t0 = 1772323200; for (i = 0; i < 48; i++) for (k = 1; k <= 3; k++)
		printf "{\"participant\":\"uni\",\"meter\":\"el-%d\",\"quantity\":\"electricity\",\"hour\":%d,\"value\":%d.%d,\"unit\":\"kWh\"}\n", k, t0 + i * 3600, i % 9, k }'
}

@test "unsorted input gives the same property hours; totals are kept" {
	series > sorted.ndjson
	agg sorted.ndjson | sort > want
	[ "$(wc -l < want)" -eq 96 ]    # 48 hours x (main, annex)
	shuf --random-source=sorted.ndjson sorted.ndjson > shuffled.ndjson
	agg shuffled.ndjson | sort > got
	diff want got
	[ "$(value_sum want)" = "$(value_sum sorted.ndjson)" ]
}

@test "without --db, a meter hour older than the window is rejected as late" {
	{ m el-1 electricity 2026-03-01T10:00:00Z 1; m el-1 electricity 2026-03-01T13:00:00Z 1
	  m el-2 electricity 2026-03-01T10:00:00Z 2; } > in.ndjson
	# standard input, read as it comes: the file is read in time order
	run agg --window 1h -r rej.ndjson - < in.ndjson
	[ "$status" -eq 1 ]
	run -0 agg --window 1h in.ndjson
	[ "$(jq -r '"\(.hour) \(.value) \(.meters)"' <<<"$output" | tr '\n' ,)" = \
		"2026-03-01T10:00:00Z 3 2,2026-03-01T13:00:00Z 1 1," ]
	[ "$(jq -r .error rej.ndjson)" = "late: its property hour was written already: give the files as arguments (they are read in time order), sort the input by hour, widen --window, or give --db to complete it from the warehouse" ]
}

@test "--db on a warehouse that holds no hour yet completes nothing and fails nothing" {
	# the first run of a new platform: aggregate reads a warehouse with no
	# stored meter hour (under UBSan this once passed NULL to qsort)
	meter-load -c "$FIX/campus.xml" w.db
	{ m el-1 electricity $H 2; m el-2 electricity $H 3; } > in.ndjson
	run --separate-stderr -0 agg --db w.db --stats in.ndjson
	[ "$(fields <<<"$output")" = "main electricity $H 5 2 2 1 measured" ]
	[[ "$stderr" == *"completed 0"* ]]
}

@test "--db: data a day late still gives the right property totals in the warehouse" {
	series > all.ndjson
	# one run with everything
	meter-load one.db all.ndjson
	agg --db one.db all.ndjson | meter-load one.db
	# el-1 and el-3 on time; el-2 arrives a day late, shuffled, in a second run
	grep -v '"el-2"' all.ndjson > first.ndjson
	grep '"el-2"' all.ndjson | shuf --random-source=all.ndjson > late.ndjson
	for part in first late; do
		meter-load split.db "$part.ndjson"
		agg --db split.db "$part.ndjson" | meter-load split.db
	done
	q="SELECT property, hour, value, meters, meters_expected, coverage, quality FROM property_hour ORDER BY 1, 2"
	[ "$(sqlite3 split.db "$q")" = "$(sqlite3 one.db "$q")" ]
	[ "$(sqlite3 split.db "SELECT count(*), sum(value) FROM property_hour")" = "$(sqlite3 split.db "SELECT 96, sum(value) FROM meter_hour")" ]
	[ "$(sqlite3 split.db "SELECT DISTINCT quality FROM property_hour")" = measured ]
}

@test "usage errors exit 2; --help and --version exit 0" {
	run meter-aggregate --window 5m
	[ "$status" -eq 2 ]
	[[ "$output" == *'bad value for --window: "5m" (1h to 366d)'* ]]
	run meter-aggregate -c no-such.xml
	[ "$status" -eq 3 ]
	run meter-aggregate --help
	[[ "$output" == "usage: meter-aggregate"* ]]
	run meter-aggregate --version
	[[ "$output" =~ ^meter-aggregate\ [0-9.]+$ ]]
}
