#!/usr/bin/env bats
# meter-standardize's rules, each with expected values worked out by hand
# (the arithmetic is in the comments).

load helper

@test "cumulative: consumption is apportioned linearly to the hours it spans" {
	# 10:50=100 -> 11:10=104: 4 kWh over 20 min, 10 min in each hour
	{ raw m1 2026-03-01T10:50:00Z 100; raw m1 2026-03-01T11:10:00Z 104; } > in.ndjson
	run meter-standardize --flush in.ndjson
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 2 interpolated 0.1667
2026-03-01T11:00:00Z 2 interpolated 0.1667" ]
	# without --flush the 11:00 hour is still open: no reading at or after 12:00
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 2 interpolated 0.1667" ]
}

@test "cumulative: an hour bounded by readings at its edges is measured" {
	# 0 -> 4.5 between 10:00 and 11:00, 11:00 -> 12:00 adds 1.5
	for r in 10:00:00=0 10:15:00=1 10:30:00=2.5 10:45:00=3 11:00:00=4.5 11:30:00=5 12:00:00=6; do
		raw m1 "2026-03-01T${r%=*}Z" "${r#*=}"
	done > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 4.5 measured 1
2026-03-01T11:00:00Z 1.5 measured 1" ]
	# each record carries the meter's identity and canonical unit
	[ "$(head -1 <<<"$output")" = '{"participant":"acme","property":"hq","meter":"m1","quantity":"electricity","hour":"2026-03-01T10:00:00Z","value":4.5,"unit":"kWh","quality":"measured","coverage":1}' ]
}

@test "cumulative: a large drop is a reset counted from zero" {
	# 100 -> 102 (2); 102 -> 5: reset, 5 since; 5 -> 6 (1)
	for r in 10=100 11=102 12=5 13=6; do raw m1 "2026-03-01T${r%=*}:00:00Z" "${r#*=}"; done > in.ndjson
	run --separate-stderr meter-standardize --stats in.ndjson
	[ "$status" -eq 0 ]
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "2 5 1 " ]
	[[ "$stderr" == *"in.ndjson:3: meter acme/m1 reset: 5 after 102"* ]]
	[[ "$stderr" == *" resets 1 "* ]]
}

@test "cumulative: a reading that drops and comes back is an outlier, not a reset and a spike" {
	# 1039, then 1040 Wh (1.04 kWh) in the kWh register, then 1041 and 1042:
	# taken as a reset the 04:00 reading would make 1039.96 kWh in one hour
	{ raw m1 2026-03-01T01:00:00Z 1038; raw m1 2026-03-01T02:00:00Z 1039
	  raw m1 2026-03-01T03:00:00Z 1040 cumulative Wh
	  raw m1 2026-03-01T04:00:00Z 1041; raw m1 2026-03-01T05:00:00Z 1042; } > in.ndjson
	run --separate-stderr meter-standardize --stats -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	# 02:00-04:00 is 2 kWh spread over two hours, bracketed by 02:00 and 04:00
	[ "$(hours <<<"$output")" = "2026-03-01T01:00:00Z 1 measured 1
2026-03-01T02:00:00Z 1 interpolated 0
2026-03-01T03:00:00Z 1 interpolated 0
2026-03-01T04:00:00Z 1 measured 1" ]
	[ "$(jq -r .error rej.ndjson)" = "outlier, not a reset: the register reads 1.04 between 1039 and 1041 (a value in another unit, Wh for kWh?)" ]
	[[ "$stderr" == *"in 5 out 0 merged 4 rejected 1 (outlier, not a reset 1)"* ]]
	[[ "$stderr" == *" resets 0 "* ]]
	[ "$(jq -r '.line, (.record | fromjson | .value, .unit)' rej.ndjson | tr '\n' ' ')" = "3 1.04 kWh " ]
	# the same readings newest first: the same hours, the same reject
	tac in.ndjson > rev.ndjson
	run -1 meter-standardize -q rev.ndjson
	[ "$(hours <<<"$output" | cut -d' ' -f1,2 | tr '\n' ' ')" = "2026-03-01T01:00:00Z 1 2026-03-01T02:00:00Z 1 2026-03-01T03:00:00Z 1 2026-03-01T04:00:00Z 1 " ]
	# two such readings in a row, in one run or split across runs with state
	{ raw m3 2026-03-01T01:00:00Z 1038; raw m3 2026-03-01T02:00:00Z 1039
	  raw m3 2026-03-01T03:00:00Z 1040 cumulative Wh; raw m3 2026-03-01T04:00:00Z 1041 cumulative Wh
	  raw m3 2026-03-01T05:00:00Z 1042; raw m3 2026-03-01T06:00:00Z 1043; } > two.ndjson
	run --separate-stderr -1 meter-standardize --stats two.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "1 1 1 1 1 " ]
	[[ "$stderr" == *"rejected 2 (outlier, not a reset 2)"*" resets 0 "* ]]
	head -3 two.ndjson > first.ndjson
	tail -3 two.ndjson > second.ndjson
	run --separate-stderr -0 meter-standardize -s st --stats first.ndjson
	[[ "$stderr" == *" resets 1 "* ]]
	run --separate-stderr -1 meter-standardize -s st --stats second.ndjson
	# the first was taken in the first run: reported, counted there; in = merged + rejected
	[[ "$stderr" == *"st/standardize.state:3: outlier, not a reset: the register reads 1.04 between 1039 and 1042"* ]]
	[[ "$stderr" == *"in 3 out 0 merged 2 rejected 1 ("*" resets 0 "* ]]
	# a reset that stays down is still a reset
	{ raw m2 2026-03-01T01:00:00Z 1039; raw m2 2026-03-01T02:00:00Z 3; raw m2 2026-03-01T03:00:00Z 5; } > in2.ndjson
	run -0 meter-standardize -q in2.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "3 2 " ]
}

@test "cumulative: a small drop within --noise is zero consumption" {
	# 100 -> 99.5 is noise with --noise 1; 99.5 -> 101 is 1.5
	for r in 10=100 11=99.5 12=101; do raw m1 "2026-03-01T${r%=*}:00:00Z" "${r#*=}"; done > in.ndjson
	run --separate-stderr meter-standardize --noise 1 --stats in.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "0 1.5 " ]
	[[ "$stderr" == *" noise 1 "* ]]
	# with the default tolerance (0.01) the same drop comes back at 101: an
	# outlier, rejected, and 100 -> 101 spread over its two hours
	run -1 meter-standardize -q in.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "0.5 0.5 " ]
}

@test "cumulative: a register wrapping at its known maximum is a rollover" {
	# max 1000: 990 -> 10 is 1000 - 990 + 10 = 20; then 10 -> 20 is 10
	for r in 10=990 11=10 12=20; do raw m1 "2026-03-01T${r%=*}:00:00Z" "${r#*=}" cumulative kWh electricity '"rollover":1000'; done > in.ndjson
	run --separate-stderr meter-standardize --stats in.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "20 10 " ]
	[[ "$stderr" == *"meter acme/m1 rolled over at 1000"* ]]
	[[ "$stderr" == *" rollovers 1 "* ]]
	# --rollover gives the maximum for meters whose records do not
	for r in 10=990 11=10; do raw m2 "2026-03-01T${r%=*}:00:00Z" "${r#*=}"; done > in2.ndjson
	run meter-standardize -q --rollover 1000 in2.ndjson
	[ "$(jq -r .value <<<"$output")" = 20 ]
	# far from the maximum a drop is still a reset: 100 -> 10 gives 10, not 910
	for r in 10=100 11=10; do raw m3 "2026-03-01T${r%=*}:00:00Z" "${r#*=}"; done > in3.ndjson
	run meter-standardize -q --rollover 1000 in3.ndjson
	[ "$(jq -r .value <<<"$output")" = 10 ]
}

@test "cumulative: a gap is spread over its hours, totals kept, and reported" {
	# 0 at 10:00, 8 at 14:00: 2 per hour over four hours, none tightly bracketed
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T14:00:00Z 8; raw m1 2026-03-01T15:00:00Z 9; } > in.ndjson
	run --separate-stderr meter-standardize --max-gap 3h --stats in.ndjson
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 2 interpolated 0
2026-03-01T11:00:00Z 2 interpolated 0
2026-03-01T12:00:00Z 2 interpolated 0
2026-03-01T13:00:00Z 2 interpolated 0
2026-03-01T14:00:00Z 1 measured 1" ]
	[ "$(value_sum <<<"$output")" = "9.000000" ]
	[[ "$stderr" == *"in.ndjson:2: meter acme/m1: gap of 4.0 h before this reading"* ]]
	[[ "$stderr" == *" gaps 1"* ]]
	# under the default limit (6 h) the same gap is not reported
	run --separate-stderr meter-standardize in.ndjson
	[ -z "$stderr" ]
}

@test "interval: 15-minute readings are summed into their hour" {
	# 1 + 2 + 3 + 4 = 10
	for r in 00=1 15=2 30=3 45=4; do raw m1 "2026-03-01T10:${r%=*}:00Z" "${r#*=}" interval kWh electricity '"duration":900'; done > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 10 measured 1" ]
}

@test "interval: a reading straddling an hour is split pro rata" {
	# 10:45 + 30 min, 2 kWh: 15 min (1 kWh) in each hour
	{ raw m1 2026-03-01T10:00:00Z 6 interval kWh electricity '"duration":2700'
	  raw m1 2026-03-01T10:45:00Z 2 interval kWh electricity '"duration":1800'
	  raw m1 2026-03-01T11:15:00Z 9 interval kWh electricity '"duration":2700'; } > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 7 interpolated 1
2026-03-01T11:00:00Z 10 interpolated 1" ]
}

@test "interval: hourly and daily readings work" {
	raw m1 2026-03-01T10:00:00Z 3 interval kWh electricity '"duration":3600' > h.ndjson
	run meter-standardize h.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 1" ]
	# 48 kWh over a day: 2 in each of 24 hours
	raw m1 2026-03-01T00:00:00Z 48 interval kWh electricity '"duration":86400' > d.ndjson
	run meter-standardize d.ndjson
	[ "$(wc -l <<<"$output")" -eq 24 ]
	[ "$(hours <<<"$output" | cut -d' ' -f2- | sort -u)" = "2 interpolated 1" ]
	[ "$(head -1 <<<"$output" | jq -r .hour)" = 2026-03-01T00:00:00Z ]
	[ "$(tail -1 <<<"$output" | jq -r .hour)" = 2026-03-01T23:00:00Z ]
}

@test "interval: an hour with part of its intervals has partial coverage; overlaps are rejected" {
	# 10:00 and 10:15 only, then 11:00: hour 10 is closed with half its data
	for r in 10:00=1 10:15=2 11:00=5; do raw m1 "2026-03-01T${r%=*}:00Z" "${r#*=}" interval kWh electricity '"duration":900'; done > in.ndjson
	raw m1 2026-03-01T10:10:00Z 7 interval kWh electricity '"duration":900' >> in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 0.5" ]
	[ "$(jq -r .error rej.ndjson)" = "interval overlaps the one starting 2026-03-01T10:00:00Z" ]
}

@test "instant: power is integrated to energy (trapezoids between samples)" {
	# 2 kW -> 4 kW -> 2 kW over 30 min each: 3 kW mean x 1 h = 3 kWh
	for r in 10:00=2 10:30=4 11:00=2; do raw m1 "2026-03-01T${r%=*}:00Z" "${r#*=}" instant kW; done > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 1" ]
	for r in 10:00=2000 10:30=4000 11:00=2000; do raw m2 "2026-03-01T${r%=*}:00Z" "${r#*=}" instant W; done > w.ndjson
	run meter-standardize w.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 1" ]
	# an energy unit cannot be an instant reading
	raw m3 2026-03-01T10:00:00Z 1 instant kWh > bad.ndjson
	run meter-standardize -r rej.ndjson bad.ndjson
	[ "$(jq -r .error rej.ndjson)" = 'instant electricity readings need a rate unit (such as kW), not "kWh"' ]
}

@test "instant: levels are time-weighted means; samples over an hour apart bracket nothing" {
	# 20 -> 22 -> 24 degC: (21 x 0.5 h + 23 x 0.5 h) / 1 h = 22
	for r in 10:00=20 10:30=22 11:00=24; do raw t1 "2026-03-01T${r%=*}:00Z" "${r#*=}" instant degC temperature; done > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 22 measured 1" ]
	# 10:00 -> 10:20 only: the mean of that third of the hour, (20+21)/2
	{ raw t2 2026-03-01T10:00:00Z 20 instant degC temperature; raw t2 2026-03-01T10:20:00Z 21 instant degC temperature
	  raw t2 2026-03-01T13:00:00Z 30 instant degC temperature; } > part.ndjson
	run meter-standardize part.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 20.5 measured 0.3333" ]
}

@test "units are converted to the canonical unit of the quantity" {
	conv() { # UNIT QUANTITY V0 V1 [options] -> the hour's value, 6 decimals
		{ raw m1 2026-03-01T10:00:00Z "$3" cumulative "$1" "$2"; raw m1 2026-03-01T11:00:00Z "$4" cumulative "$1" "$2"; } > c.ndjson
		shift 4
		meter-standardize "$@" c.ndjson | jq -r '"\(.value) \(.unit)"' | awk '{ printf "%.6f %s\n", $1, $2 }'
	}
	[ "$(conv Wh electricity 1000 3500)" = "2.500000 kWh" ]
	[ "$(conv MWh electricity 1 1.5)" = "500.000000 kWh" ]
	[ "$(conv MJ heat 0 36)" = "10.000000 kWh" ]
	[ "$(conv GJ heat 0 3.6)" = "1000.000000 kWh" ]
	[ "$(conv therm gas 0 1)" = "29.307107 kWh" ]          # 100,000 Btu
	[ "$(conv m3 gas 0 2 --calorific-value 36)" = "20.000000 kWh" ]   # 2 x 36 MJ / 3.6
	[ "$(conv l water 0 1500)" = "1.500000 m3" ]
	[ "$(conv gal water 0 1000)" = "3.785412 m3" ]
	# temperatures: degF and K to degC, as levels
	{ raw t 2026-03-01T10:00:00Z 68 instant degF temperature; raw t 2026-03-01T11:00:00Z 77 instant degF temperature; } > f.ndjson
	[ "$(meter-standardize f.ndjson | jq -r .value | awk '{ printf "%.6f\n", $1 }')" = "22.500000" ]
	{ raw t 2026-03-01T10:00:00Z 293.15 instant K temperature; raw t 2026-03-01T11:00:00Z 293.15 instant K temperature; } > k.ndjson
	[ "$(meter-standardize k.ndjson | jq -r .value | awk '{ printf "%.6f\n", $1 }')" = "20.000000" ]
}

@test "gas in m3 without a calorific value is rejected; a record may carry its own" {
	{ raw g 2026-03-01T10:00:00Z 0 cumulative m3 gas; raw g 2026-03-01T11:00:00Z 1 cumulative m3 gas; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson | sort -u)" = "gas in m3 needs a calorific value (field calorific_value or --calorific-value)" ]
	{ raw g 2026-03-01T10:00:00Z 0 cumulative m3 gas '"calorific_value":36'; raw g 2026-03-01T11:00:00Z 1 cumulative m3 gas '"calorific_value":36'; } > cv.ndjson
	run meter-standardize cv.ndjson
	[ "$(jq -r .value <<<"$output")" = 10 ]
}

@test "identical readings are merged; a conflicting one wins and the old goes to the rejects" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T11:00:00Z 5
	  raw m1 2026-03-01T11:00:00Z 7; } > in.ndjson
	run --separate-stderr meter-standardize --stats -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 7 measured 1" ]
	[ "$(jq -r .error rej.ndjson)" = "superseded by a conflicting reading for the same time (at in.ndjson:4; two sources of one meter id? name them apart, as with meter-fetch -m)" ]
	[ "$(jq -r .line rej.ndjson)" = 3 ]
	[ "$(jq -r '.record | fromjson | .value' rej.ndjson)" = 5 ]
	# 4 in: the superseded one is rejected, the other three merged (one a duplicate)
	[[ "$stderr" == *"in 4 out 0 merged 3 rejected 1 (superseded by a conflicting reading for the same time 1) hours 1 "* ]]
	[[ "$stderr" == *" duplicates 1 superseded 1 "* ]]
}

# make_series [N]: N quarter hours (288: three days) of three meters,
# cumulative 15-min, interval 15-min and instant 5-min
make_series() {
	awk -v n="${1:-288}" 'BEGIN {
		t0 = 1772323200  # 2026-03-01T00:00:00Z
		for (i = 0; i < n; i++) {
			t = t0 + i * 900; c += (i % 7) * 0.25 + 0.5
			printf "{\"participant\":\"p\",\"meter\":\"cum\",\"quantity\":\"electricity\",\"ts\":%d,\"value\":%.2f,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", t, c
			printf "{\"participant\":\"p\",\"meter\":\"int\",\"quantity\":\"water\",\"ts\":%d,\"value\":%d,\"unit\":\"l\",\"kind\":\"interval\",\"duration\":900}\n", t, (i % 5) * 10
			for (k = 0; k < 3; k++)
				printf "{\"participant\":\"p\",\"meter\":\"pow\",\"quantity\":\"electricity\",\"ts\":%d,\"value\":%d,\"unit\":\"kW\",\"kind\":\"instant\"}\n", t + k * 300, (i + k) % 9
		}
	}'
}

@test "input need not be sorted: shuffled and reversed input give the same hours" {
	make_series > sorted.ndjson
	meter-standardize sorted.ndjson | sort > expect
	# closed hours: cum 71 (last reading 71:45), int 72 (ends 72:00), pow 71 (last 71:55)
	[ "$(wc -l < expect)" -eq 214 ]
	# three days of disorder need a correction window wider than the default two
	shuf --random-source=sorted.ndjson sorted.ndjson > shuffled.ndjson
	meter-standardize --lateness 3d shuffled.ndjson | sort > got
	diff expect got
	# a file that runs newest first is read backwards, with any window
	tac sorted.ndjson > reversed.ndjson
	meter-standardize reversed.ndjson | sort > got
	diff expect got
	# standard input is read as it comes: with the default window the
	# oldest readings of the reversed input are late, and the message says
	# what to do
	run meter-standardize -r rej.ndjson < reversed.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson | sed 's/ (.*//' | sort -u)" = "late: older than the correction window" ]
	[[ "$(jq -r .error rej.ndjson | head -1)" == *"): give the files as arguments (they are read in time order), sort the input by time, or widen --lateness" ]]
	meter-standardize --lateness 3d < reversed.ndjson | sort > got
	diff expect got
}

@test "hourly totals equal an independent computation by awk" {
	make_series > in.ndjson
	meter-standardize in.ndjson > out.ndjson
	# interval water: litres per hour from the raw file
	jq -r 'select(.meter == "int") | "\(.ts) \(.value)"' in.ndjson |
		awk '{ h = $1 - $1 % 3600; s[h] += $2 / 1000 } END { for (h in s) if (h < 1772323200 + 72 * 3600) printf "%d %.6f\n", h, s[h] }' | sort > expect
	jq -r 'select(.meter == "int") | "\(.hour | fromdate) \(.value)"' out.ndjson | awk '{ printf "%d %.6f\n", $1, $2 }' | sort > got
	diff expect got
	# cumulative: total of the hours is the register difference up to the last closed hour
	first=$(jq -r 'select(.meter == "cum") | .value' in.ndjson | head -1)
	at=$(jq -r 'select(.meter == "cum" and .ts == 1772323200 + 71 * 3600) | .value' in.ndjson)
	[ "$(jq -r 'select(.meter == "cum") | .value' out.ndjson | awk '{ s += $1 } END { printf "%.6f", s }')" = \
	  "$(awk -v a="$first" -v b="$at" 'BEGIN { printf "%.6f", b - a }')" ]
}

@test "--state: runs split at arbitrary points give what one run gives" {
	make_series ${QUICK:+24} > all.ndjson
	meter-standardize all.ndjson | sort > one-run
	for chunk in 1 7 100 333 1000; do
		rm -rf state parts; mkdir parts
		split -l "$chunk" all.ndjson parts/x
		for f in parts/x*; do meter-standardize --state state "$f"; done | sort > split-run
		diff one-run split-run
	done
}

@test "--state with a short correction window keeps memory bounded and results equal" {
	make_series > all.ndjson
	meter-standardize --lateness 6h all.ndjson | sort > one-run
	meter-standardize all.ndjson | sort > default-window
	diff one-run default-window
	rm -rf state; split -l 250 all.ndjson part.
	for f in part.*; do meter-standardize --lateness 6h -s state "$f"; done | sort > split-run
	diff one-run split-run
	# the state holds the window, not the history: far fewer readings than the input
	[ "$(wc -l < state/standardize.state)" -lt 200 ]
}

@test "--state: an hour left open by one run is emitted whole by the next" {
	{ raw m1 2026-03-01T10:50:00Z 100; } > a.ndjson
	{ raw m1 2026-03-01T11:10:00Z 104; raw m1 2026-03-01T12:00:00Z 106; } > b.ndjson
	run meter-standardize -s st a.ndjson
	[ -z "$output" ]
	run meter-standardize -s st b.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 2 interpolated 0.1667
2026-03-01T11:00:00Z 4 interpolated 1" ]
	# a third run with nothing new emits nothing again
	run meter-standardize -s st /dev/null
	[ -z "$output" ]
}

@test "--flush emits open hours, and a later run emits them again once complete" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1; } > a.ndjson
	run meter-standardize -s st --flush a.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 1 measured 0.5" ]
	raw m1 2026-03-01T11:00:00Z 3 > b.ndjson
	run meter-standardize -s st b.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 1" ]
}

@test "late interval data re-emits the corrected hour inside the window, rejects it outside" {
	for m in 00 15 45; do raw m1 "2026-03-01T10:$m:00Z" 1 interval kWh electricity '"duration":900'; done > a.ndjson
	raw m1 2026-03-01T11:00:00Z 1 interval kWh electricity '"duration":900' >> a.ndjson
	run meter-standardize -s st a.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 0.75" ]
	raw m1 2026-03-01T10:30:00Z 2 interval kWh electricity '"duration":900' > late.ndjson
	run --separate-stderr meter-standardize -s st --stats late.ndjson
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
	[[ "$stderr" == *" late-in-window 1 corrections 1 "* ]]
	# with a one-hour window a reading from before 10:00 is too late
	raw m1 2026-03-01T09:45:00Z 1 interval kWh electricity '"duration":900' > later.ndjson
	run meter-standardize -s st --lateness 1h -r rej.ndjson later.ndjson
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(jq -r .error rej.ndjson)" = "late: older than the correction window (newest reading of this meter is 2026-03-01T11:00:00Z): give the files as arguments (they are read in time order), sort the input by time, or widen --lateness" ]
}

@test "late cumulative data changes only the split between hours" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T12:00:00Z 10; } > a.ndjson
	run meter-standardize -s st a.ndjson
	[ "$(jq -r .value <<<"$output" | tr '\n' ' ')" = "5 5 " ]
	raw m1 2026-03-01T11:00:00Z 8 > b.ndjson
	run meter-standardize -s st b.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 8 measured 1
2026-03-01T11:00:00Z 2 measured 1" ]
}

@test "a conflicting reading against the state is reported with the state as its source" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T11:00:00Z 5; } > a.ndjson
	meter-standardize -s st a.ndjson > /dev/null
	raw m1 2026-03-01T11:00:00Z 6 > b.ndjson
	run meter-standardize -s st -r rej.ndjson b.ndjson
	[ "$status" -eq 1 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 6 measured 1" ]
	[ "$(jq -r .source rej.ndjson)" = st/standardize.state ]
	[ "$(jq -r '.record | fromjson | .value' rej.ndjson)" = 5 ]
}

@test "state is saved only after the output was written" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T11:00:00Z 5; } > a.ndjson
	meter-standardize -s st a.ndjson > /dev/null
	cp st/standardize.state before
	raw m1 2026-03-01T12:00:00Z 9 > b.ndjson
	run sh -c 'meter-standardize -s st b.ndjson > /dev/full'
	[ "$status" -eq 3 ]
	cmp before st/standardize.state
	# the hour is still to come on the next good run
	run meter-standardize -s st b.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T11:00:00Z 4 measured 1" ]
}

@test "a corrupt state file stops the run with exit 3 and its name" {
	mkdir st
	printf '{"meter_state":1,"meters":1}\n{"participant":"p"}\n' > st/standardize.state
	raw m1 2026-03-01T10:00:00Z 0 > a.ndjson
	run meter-standardize -s st a.ndjson
	[ "$status" -eq 3 ]
	[ "$output" = "meter-standardize: st/standardize.state:2: corrupt state file" ]
}

@test "meter hours on input are validated and passed through in canonical units" {
	cat > in.ndjson <<-'EOF'
	{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T10:00:00Z","value":1500,"unit":"l","quality":"estimated","coverage":0.5}
	{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T10:30:00Z","value":1,"unit":"m3"}
	{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T11:00:00","value":1,"unit":"m3"}
	{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T11:00:00Z","value":1,"unit":"m3","quality":"guessed"}
	{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T11:00:00Z","value":1,"unit":"m3","coverage":1.5}
	EOF
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$output" = '{"participant":"acme","meter":"w1","quantity":"water","hour":"2026-03-01T10:00:00Z","value":1.5,"unit":"m3","quality":"estimated","coverage":0.5}' ]
	[ "$(jq -r .error rej.ndjson)" = 'field "hour" is not on a whole hour
field "hour" must carry Z or a UTC offset
field "quality" must be measured, interpolated, estimated or partial
field "coverage" must be between 0 and 1' ]
}

@test "estimated readings make estimated hours" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T11:00:00Z 2 cumulative kWh electricity '"quality":"estimated"'
	  raw m1 2026-03-01T12:00:00Z 3; raw m1 2026-03-01T13:00:00Z 4; } > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 2 estimated 1
2026-03-01T11:00:00Z 1 estimated 1
2026-03-01T12:00:00Z 1 measured 1" ]
}

@test "a meter keeps one quantity and kind" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 interval kWh electricity '"duration":900'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson)" = "meter acme/m1 has cumulative electricity readings, not interval electricity" ]
	[ "$(jq -r .value <<<"$output")" = 5 ]
}

@test "readings more than 400 days apart are not spread (found by fuzzing: a mistyped year filled the output)" {
	{ raw m1 2025-03-29T00:00:00Z 100; raw m1 2027-06-01T00:00:00Z 200; raw m1 2027-06-01T01:00:00Z 210
	  raw m2 2025-03-29T00:00:00Z 100; raw m2 4052-03-29T00:00:00Z 200; } > far.ndjson
	run -0 meter-standardize far.ndjson
	[ "$(echo "$output" | grep '"hour"' | jq -r '[.meter, .hour, .value] | @tsv')" = "$(printf 'm1\t2027-06-01T00:00:00Z\t10')" ]
	[[ "$output" == *"meter acme/m1: gap of 19056.0 h before this reading"* ]]
}

@test "interval readings years apart: each gives its own hours, the gap between is said and passed whole (fuzz-ndjson)" {
	# found by fuzz-ndjson: a meter's readings 5,345 years apart were walked
	# an hour at a time to the end of input (46 million empty hours)
	{ raw g 2026-03-29T02:00:00Z 80 interval m3 gas '"duration":900,"calorific_value":39'
	  raw g 7371-03-29T02:00:00Z 12 interval m3 gas '"duration":900,"calorific_value":39'; } > far.ndjson
	run -0 meter-standardize --flush far.ndjson
	[[ "$output" == *"far.ndjson:2: meter acme/g: gap of 46853303.8 h before this reading"* ]]
	# 80 m3 x 39 MJ/m3 / 3.6 = 866.666... kWh and 12 x 39 / 3.6 = 130 kWh, each in its own hour
	[ "$(grep '"hour"' <<<"$output" | jq -r '"\(.hour) \(.value)"' | tr '\n' ' ')" = "2026-03-29T02:00:00Z 866.666666667 7371-03-29T02:00:00Z 130 " ]
}
