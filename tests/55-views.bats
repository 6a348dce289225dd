#!/usr/bin/env bats
# The warehouse views, each against an independent computation over the
# same records: date(1) for local calendars, awk for sums and means.

load helper

# property hours for PROPERTY from EPOCH, COUNT of them, value (k % 5) + 1
ph() {
	awk -v p="$1" -v t0="$2" -v n="$3" -v q="${4:-electricity}" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"participant\":\"acme\",\"property\":\"%s\",\"quantity\":\"%s\",\"hour\":%d,\"value\":%d,\"unit\":\"kWh\"}\n", p, q, t0 + i * 3600, i % 5 + 1 }'
}

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	meter-load -c "$FIX/acme.xml" w.db
	# 2026-09-30T22:00Z = 1 October 00:00 in Amsterdam; 1465 hours to 1 December
	ph hq 1790805600 1465 > hq.ndjson
	ph lab 1790805600 1465 > lab.ndjson
	ph depot 1790805600 48 gas > depot.ndjson
	meter-load w.db hq.ndjson lab.ndjson depot.ndjson
}

# "epoch value" lines of a file, with the local calendar of ZONE in FORMAT
local_of() {
	jq -r '"\(.hour) \(.value)"' "$1" > ev
	sed 's/^\([0-9]*\) .*/@\1/' ev | TZ="$2" date -f - "+$3" | paste -d' ' - ev
}

@test "monthly_consumption: local calendar months, with their DST lengths" {
	cd "$BATS_FILE_TMPDIR"
	# October 2026 in Amsterdam has 745 hours (clocks back on the 25th), November 720
	oct=$(( ($(date -d '2026-11-01 00:00 CET' +%s) - $(date -d '2026-10-01 00:00 CEST' +%s)) / 3600 ))
	[ "$oct" -eq 745 ]
	local_of hq.ndjson Europe/Amsterdam %Y-%m | awk '{ s[$1] += $3; n[$1]++ } END { for (m in s) print m "|" s[m] ".0|" n[m] }' | sort > want
	sqlite3 w.db "SELECT month, value, hours FROM monthly_consumption WHERE property = 'hq'" > got
	diff want got
	[ "$(sqlite3 w.db "SELECT month, hours_in_month FROM monthly_consumption WHERE property = 'hq'")" = "2026-10|745
2026-11|720" ]
	# Chicago: the same UTC hours fall in September, October and November
	local_of lab.ndjson America/Chicago %Y-%m | awk '{ s[$1] += $3; n[$1]++ } END { for (m in s) print m "|" s[m] ".0|" n[m] }' | sort > want
	sqlite3 w.db "SELECT month, value, hours FROM monthly_consumption WHERE property = 'lab'" > got
	diff want got
	[ "$(sqlite3 w.db "SELECT hours_in_month FROM monthly_consumption WHERE property = 'lab' AND month = '2026-11'")" -eq 721 ]
}

@test "building_comparison: energy per m2 and rank within the property type" {
	cd "$BATS_FILE_TMPDIR"
	hq=$(awk '{ s += $0 } END { print s }' <(jq .value hq.ndjson))
	lab=$(awk '{ s += $0 } END { print s }' <(jq .value lab.ndjson))
	[ "$hq" = "$lab" ]
	# same energy, hq 5400 m2 and lab 800 m2: hq is the lower intensity, rank 1
	want=$(awk -v e="$hq" 'BEGIN { printf "hq|office|2026|%.1f|%.6f|1\nlab|office|2026|%.1f|%.6f|2\n", e, e / 5400, e, e / 800 }')
	got=$(sqlite3 w.db "SELECT property, type, year, energy_kwh, printf('%.6f', kwh_per_m2), rank_in_type FROM building_comparison WHERE type = 'office' AND year = '2026' ORDER BY property")
	[ "$got" = "$want" ]
	depot=$(awk '{ s += $0 } END { print s }' <(jq .value depot.ndjson))
	[ "$(sqlite3 w.db "SELECT energy_kwh, kwh_per_m2 * 1200, rank_in_type FROM building_comparison WHERE property = 'depot' AND year = '2026'")" = "$depot.0|$depot.0|1" ]
	# trailing 12 months up to November 2026 hold every hour here
	[ "$(sqlite3 w.db "SELECT energy_kwh FROM building_comparison WHERE property = 'hq' AND year = 'trailing-12m'")" = "$hq.0" ]
}

@test "hourly_profile: mean per ISO weekday and local hour" {
	cd "$BATS_FILE_TMPDIR"
	local_of hq.ndjson Europe/Amsterdam '%u %-H' | awk '{ s[$1 "|" $2] += $4; n[$1 "|" $2]++ } END { for (k in s) printf "%s|%.6f|%d\n", k, s[k] / n[k], n[k] }' | sort -t'|' -k1,1n -k2,2n > want
	sqlite3 w.db "SELECT weekday, local_hour, printf('%.6f', mean), hours FROM hourly_profile WHERE property = 'hq' ORDER BY weekday, local_hour" > got
	diff want got
	[ "$(wc -l < got)" -eq 168 ]
}

@test "data_quality: missing, interpolated and estimated hours, longest gap, last hour" {
	cd "$BATS_FILE_TMPDIR"
	# hours 0 1 2 5 6 10 of 2026-03-01: missing 3 4 7 8 9; longest gap 3 hours
	for r in 00=measured 01=interpolated 02=estimated 05=measured 06=interpolated 10=measured; do
		printf '{"participant":"acme","property":"hq","meter":"dq","quantity":"electricity","hour":"2026-03-01T%s:00:00Z","value":1,"unit":"kWh","quality":"%s"}\n' "${r%=*}" "${r#*=}"
	done > dq.ndjson
	meter-load w.db dq.ndjson
	[ "$(sqlite3 w.db "SELECT property, first_hour, last_hour, hours_present, hours_missing, hours_interpolated, hours_estimated, longest_gap_hours FROM data_quality WHERE meter = 'dq'")" = \
	  "hq|2026-03-01T00:00:00Z|2026-03-01T10:00:00Z|6|5|2|1|3" ]
}
