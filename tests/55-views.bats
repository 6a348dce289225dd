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

@test "building_comparison: energy per m2, rank within the property type among complete years only" {
	cd "$BATS_FILE_TMPDIR"
	cp w.db bc.db
	# whole local years 2027: hq in Amsterdam from 2026-12-31T23:00Z, lab in
	# Chicago from 2027-01-01T06:00Z; 8760 hours each
	t_hq=$(TZ=Europe/Amsterdam date -d '2027-01-01 00:00' +%s)
	t_lab=$(TZ=America/Chicago date -d '2027-01-01 00:00' +%s)
	ph hq "$t_hq" 8760 > hq27.ndjson
	ph hq "$t_hq" 8760 gas > hqgas27.ndjson
	ph lab "$t_lab" 8760 > lab27.ndjson
	meter-load bc.db hq27.ndjson hqgas27.ndjson lab27.ndjson
	e=$(jq -s 'map(.value) | add' hq27.ndjson)
	[ "$e" = "$(jq -s 'map(.value) | add' lab27.ndjson)" ]
	# hq (electricity and gas, as configured) 2e over 5400 m2, lab e over
	# 800 m2: hq is the lower intensity, rank 1; kWh/m2 rounded to 4
	# decimals, kWh to 3
	want=$(awk -v e="$e" 'BEGIN { printf "hq|office|2027|%.1f|%.4f|8760|8760|1.0|1|\nlab|office|2027|%.1f|%.2f|8760|8760|1.0|2|\n", 2 * e, 2 * e / 5400, e, e / 800 }')
	got=$(sqlite3 bc.db "SELECT property, type, year, energy_kwh, kwh_per_m2, hours_present, hours_expected, coverage, rank_in_type, not_ranked FROM building_comparison WHERE type = 'office' AND year = '2027' ORDER BY property")
	[ "$got" = "$want" ]
	# the autumn of 2026 alone is 1465 of 8760 hours: shown, not ranked
	# (hq's gas meter delivered nothing in 2026: hq has no complete hour)
	[ "$(sqlite3 bc.db "SELECT property, hours_present, hours_expected, coverage, quote(rank_in_type), not_ranked FROM building_comparison WHERE year = '2026' ORDER BY property")" = "depot|0|8760|0.0|NULL|coverage 0.0% < 90%
hq|0|8760|0.0|NULL|coverage 0.0% < 90%
lab|1465|8760|0.1672|NULL|coverage 16.7% < 90%" ]
	depot=$(jq -s 'map(.value) | add' depot.ndjson)
	[ "$(sqlite3 bc.db "SELECT energy_kwh, kwh_per_m2 * 1200 FROM building_comparison WHERE property = 'depot' AND year = '2026'")" = "$depot.0|$depot.0" ]
	# trailing 12 months up to December 2027 are the year 2027 in full
	[ "$(sqlite3 bc.db "SELECT energy_kwh, hours_expected, rank_in_type FROM building_comparison WHERE property = 'hq' AND year = 'trailing-12m'")" = "$((2 * e)).0|8760|1" ]
	# depot's configured electricity meter never delivered: no hours of it, not ranked
	[ "$(sqlite3 bc.db "SELECT hours_present, not_ranked FROM building_comparison WHERE property = 'depot' AND year = '2026'")" = "0|coverage 0.0% < 90%" ]
	# the threshold is a setting
	sqlite3 bc.db "UPDATE settings SET value = 0.1 WHERE name = 'coverage_min'"
	[ "$(sqlite3 bc.db "SELECT property, quote(rank_in_type) FROM building_comparison WHERE year = '2026' AND type = 'office' ORDER BY property")" = "hq|NULL
lab|1" ]
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
