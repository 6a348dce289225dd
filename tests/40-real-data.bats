#!/usr/bin/env bats
# meter-standardize on real public data (tests/fixtures/SOURCES.md), each
# result checked against awk over the same file.

load helper

@test "eemeter Illinois: hourly kWh with offsets switching at DST give contiguous UTC hours" {
	awk -F, 'NR > 1 && $2 != "" { printf "{\"participant\":\"il\",\"meter\":\"el\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%s,\"unit\":\"kWh\",\"kind\":\"interval\",\"duration\":3600}\n", $1, $2 }' \
		"$FIX/il-electricity-2016-03.csv" > in.ndjson
	run meter-standardize in.ndjson
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 167 ]
	# first row 2016-03-10T00:00-06:00; 167 hours later, none missing or doubled
	[ "$(head -1 <<<"$output" | jq -r .hour)" = 2016-03-10T06:00:00Z ]
	[ "$(tail -1 <<<"$output" | jq -r .hour)" = 2016-03-17T04:00:00Z ]
	[ "$(jq -r .hour <<<"$output" | sort -u | wc -l)" -eq 167 ]
	# the local 01:00 CST and 03:00 CDT of 13 March are consecutive UTC hours
	[ "$(jq -r 'select(.hour == "2016-03-13T07:00:00Z" or .hour == "2016-03-13T08:00:00Z") | .value' <<<"$output" | tr '\n' ' ')" = "0.32 0.05 " ]
	[ "$(value_sum <<<"$output")" = "$(awk -F, 'NR > 1 { s += $2 } END { printf "%.6f\n", s }' "$FIX/il-electricity-2016-03.csv")" ]
	[ "$(jq -r .quality <<<"$output" | sort -u)" = measured ]
}

@test "Cambridge gas as a register: the hours give back the hourly loads" {
	# the register after each hour is the running sum of the loads
	awk -F, 'NR > 1 { if (NR == 2) printf "{\"participant\":\"cam\",\"meter\":\"b0-gas\",\"quantity\":\"gas\",\"ts\":\"%sZ\",\"value\":0,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", $1
		cmd = "date -u -d \"" $1 " UTC 1 hour\" +%Y-%m-%dT%H:%M:%SZ"; cmd | getline end; close(cmd)
		s += $2; printf "{\"participant\":\"cam\",\"meter\":\"b0-gas\",\"quantity\":\"gas\",\"ts\":\"%s\",\"value\":%.1f,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", end, s }' \
		"$FIX/cambridge-b0-gas-2019-01.csv" > in.ndjson
	meter-standardize in.ndjson > out.ndjson
	awk -F, 'NR > 1 { printf "%sZ %.6f\n", $1, $2 }' "$FIX/cambridge-b0-gas-2019-01.csv" | sed 's/ \([0-9][0-9]:\)/T\1/' > want
	jq -r '"\(.hour) \(.value)"' out.ndjson | awk '{ printf "%s %.6f\n", $1, $2 }' > got
	diff want got
	[ "$(jq -r '"\(.quality) \(.coverage)"' out.ndjson | sort -u)" = "measured 1" ]
}

@test "Cambridge electricity in Wh on a 15-minute register gives the same kWh" {
	# each hourly load spread evenly over four quarter-hour register readings, in Wh
	awk -F, 'NR > 1 { hour = substr($1, 1, 10) "T" substr($1, 12, 2)
		for (q = 0; q < 4; q++) { printf "{\"participant\":\"cam\",\"meter\":\"b0-el\",\"quantity\":\"electricity\",\"ts\":\"%s:%02d:00Z\",\"value\":%.1f,\"unit\":\"Wh\",\"kind\":\"cumulative\"}\n", hour, q * 15, s * 1000; s += $2 / 4 } }' \
		"$FIX/cambridge-b0-electricity-2019-01.csv" > in.ndjson
	meter-standardize in.ndjson > out.ndjson
	# the register reads s(k) at the start of hour k; the last of the 169
	# hours has no reading at its end, so 168 hours are closed
	awk -F, 'NR > 1 && NR < 170 { printf "%.6f\n", $2 }' "$FIX/cambridge-b0-electricity-2019-01.csv" > want
	jq -r .value out.ndjson | awk '{ printf "%.6f\n", $1 }' > got
	diff want got
}

@test "Bedford weather as hourly samples: each hour is the mean of its two ends" {
	awk -F, 'NR > 1 { printf "{\"participant\":\"ctx\",\"meter\":\"bedford\",\"quantity\":\"outside_temperature\",\"ts\":\"%s\",\"value\":%s,\"unit\":\"degC\",\"kind\":\"instant\"}\n", $1, $2 }' \
		"$FIX/bedford-weather-2019-01.csv" > in.ndjson
	run meter-standardize -z UTC in.ndjson
	[ "$status" -eq 0 ]
	awk -F, 'NR > 2 { printf "%.6f\n", (prev + $2) / 2 } NR > 1 { prev = $2 }' "$FIX/bedford-weather-2019-01.csv" > want
	jq -r .value <<<"$output" | awk '{ printf "%.6f\n", $1 }' > got
	diff want got
	[ "$(jq -r .unit <<<"$output" | sort -u)" = degC ]
}
