#!/usr/bin/env bats
# Timestamps: RFC 3339 forms, Unix seconds, and local wall-clock times in
# IANA zones across DST changes (expected UTC instants worked out from the
# EU rule: change at 01:00 UTC on the last Sunday of March and October, and
# the US rule: 02:00 local on the second Sunday of March and first of November).

load helper

# the hour of the first output record for two readings an hour apart
hour_of() {
	{ raw m1 "$1" 0; raw m1 "$2" 1; } > in.ndjson
	meter-standardize in.ndjson | jq -r .hour
}

@test "RFC 3339 and ISO 8601 forms all read as the same instant" {
	for ts in 2026-03-01T10:00:00Z 2026-03-01T10:00Z 2026-03-01t10:00:00z \
	          "2026-03-01 10:00:00Z" 2026-03-01T11:00:00+01:00 2026-03-01T11:00:00+0100 \
	          2026-03-01T05:30:00-04:30 2026-03-01T10:00:00.000Z 2026-03-01T10:00:00,0Z; do
		[ "$(hour_of "$ts" 2026-03-01T11:00:00Z)" = 2026-03-01T10:00:00Z ]
	done
	# a bare date is its midnight (here read in UTC)
	{ raw m1 2026-03-01 0; raw m1 2026-03-02 24; } > in.ndjson
	[ "$(meter-standardize -z UTC in.ndjson | jq -r .hour | head -1)" = 2026-03-01T00:00:00Z ]
	for ts in 2026-03-01T10:00:00Z; do
		[ "$(hour_of "$ts" 2026-03-01T11:00:00Z)" = 2026-03-01T10:00:00Z ]
	done
}

@test "Unix seconds are accepted as a number" {
	# date -u -d 2026-03-01T10:00:00Z +%s = 1772359200
	{ printf '{"participant":"acme","meter":"m1","quantity":"electricity","ts":1772359200,"value":0,"unit":"kWh","kind":"cumulative"}\n'
	  printf '{"participant":"acme","meter":"m1","quantity":"electricity","ts":1772362800.0,"value":3,"unit":"kWh","kind":"cumulative"}\n'; } > in.ndjson
	run meter-standardize in.ndjson
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 3 measured 1" ]
}

@test "fractional seconds are kept" {
	{ raw m1 2026-03-01T10:00:00.250Z 5; raw m1 2026-03-01T10:00:00.250Z 6; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$(jq -r '.record | fromjson | .ts' rej.ndjson)" = 2026-03-01T10:00:00.250Z ]
}

@test "leap years, the year 2038 and 9998 work; 9999 has no year after it and is refused" {
	[ "$(hour_of 2028-02-29T23:00:00Z 2028-03-01T00:00:00Z)" = 2028-02-29T23:00:00Z ]
	[ "$(hour_of 2038-01-19T03:00:00Z 2038-01-19T04:00:00Z)" = 2038-01-19T03:00:00Z ]
	[ "$(hour_of 9998-12-31T22:00:00Z 9998-12-31T23:00:00Z)" = 9998-12-31T22:00:00Z ]
	[ "$(hour_of 1970-01-01T00:00:00Z 1970-01-01T01:00:00Z)" = 1970-01-01T00:00:00Z ]
	{ raw m1 9999-01-01T00:00:00Z 0; raw m1 9998-12-31T23:30:00-01:00 1; } > far.ndjson
	run -1 meter-standardize far.ndjson
	[[ "$output" == *'far.ndjson:1: bad timestamp "9999-01-01T00:00:00Z": year after 9998'* ]]
	[[ "$output" == *'far.ndjson:2: bad timestamp "9998-12-31T23:30:00-01:00": year after 9998 in UTC'* ]]
}

@test "a time without offset needs --timezone" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 "2026-03-01 10:30:00" 1; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson)" = "timestamp 2026-03-01T10:30:00 has no UTC offset (give --timezone)" ]
}

@test "Europe/Amsterdam spring forward: 02:00-03:00 does not exist" {
	# local 00:00 CET = 23:00Z; 01:00 = 00:00Z; 03:00 CEST = 01:00Z; 04:00 = 02:00Z
	for r in 00:00=0 01:00=1 02:30=9 03:00=2 04:00=3; do
		raw m1 "2026-03-29T${r%=*}:00" "${r#*=}"
	done > in.ndjson
	run meter-standardize -z Europe/Amsterdam -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(hours <<<"$output")" = "2026-03-28T23:00:00Z 1 measured 1
2026-03-29T00:00:00Z 1 measured 1
2026-03-29T01:00:00Z 1 measured 1" ]
	[ "$(jq -r .error rej.ndjson)" = "local time 2026-03-29T02:30:00 does not exist (skipped by a DST change)" ]
	[ "$(jq -r .line rej.ndjson)" = 3 ]
}

@test "Europe/Amsterdam fall back: the repeated hour is resolved by reading order" {
	# 02:00 CEST = 00:00Z, then 02:00 CET = 01:00Z, 03:00 CET = 02:00Z
	for r in 01:00=0 02:00=1 02:00=2 03:00=3; do
		raw m1 "2026-10-25T${r%=*}:00" "${r#*=}"
	done > in.ndjson
	run meter-standardize -z Europe/Amsterdam in.ndjson
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-10-24T23:00:00Z 1 measured 1
2026-10-25T00:00:00Z 1 measured 1
2026-10-25T01:00:00Z 1 measured 1" ]
}

@test "Europe/Amsterdam fall back: quarter-hour intervals fill both passes of the hour" {
	# 25 local hours that day; the two 02:xx passes become 00:00Z and 01:00Z
	for pass in 1 2; do for m in 00 15 30 45; do
		raw m1 "2026-10-25 02:$m:00" "$pass" interval kWh electricity '"duration":900'
	done; done > in.ndjson
	raw m1 "2026-10-25 03:00:00" 7 interval kWh electricity '"duration":900' >> in.ndjson
	run meter-standardize -z Europe/Amsterdam in.ndjson
	[ "$(hours <<<"$output")" = "2026-10-25T00:00:00Z 4 measured 1
2026-10-25T01:00:00Z 8 measured 1" ]
}

@test "America/Chicago: spring forward and fall back" {
	# 2026-03-08: 01:00 CST = 07:00Z, 03:00 CDT = 08:00Z, 04:00 CDT = 09:00Z
	for r in 01:00=0 03:00=1 04:00=2; do raw m1 "2026-03-08T${r%=*}:00" "${r#*=}"; done > spring.ndjson
	run meter-standardize -z America/Chicago spring.ndjson
	[ "$(hours <<<"$output")" = "2026-03-08T07:00:00Z 1 measured 1
2026-03-08T08:00:00Z 1 measured 1" ]
	# 2026-11-01: 01:00 CDT = 06:00Z, 01:00 CST = 07:00Z, 02:00 CST = 08:00Z
	for r in 01:00=0 01:00=1 02:00=2; do raw m2 "2026-11-01T${r%=*}:00" "${r#*=}"; done > fall.ndjson
	run meter-standardize -z America/Chicago fall.ndjson
	[ "$(hours <<<"$output")" = "2026-11-01T06:00:00Z 1 measured 1
2026-11-01T07:00:00Z 1 measured 1" ]
}

@test "local times agree with date(1) for every hour of a year" {
	# every wall-clock hour of 2026, read as Amsterdam time by date(1) and by
	# meter-standardize (one hourly interval per meter, so each is emitted
	# alone); the repeated 02:00 of 25 October is left to the tests above
	awk 'BEGIN { for (i = 0; i < 8760; i++) print 1767225600 + i * 3600 }' |
		sed 's/^/@/' | date -u -f - '+%Y-%m-%d %H:%M:%S' | grep -v '^2026-10-25 02:' > walls
	sed 's/^/TZ="Europe\/Amsterdam" /' walls | date -u -f - +%Y-%m-%dT%H:%M:%SZ > want 2> date.err || true
	[ "$(wc -l < walls)" -eq 8759 ]
	[ "$(wc -l < want)" -eq 8758 ]      # date(1) refuses the skipped 02:00
	awk '{ printf "{\"participant\":\"p\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":1,\"unit\":\"kWh\",\"kind\":\"interval\",\"duration\":3600}\n", NR, $0 }' walls > in.ndjson
	run meter-standardize -q -z Europe/Amsterdam -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	jq -r .hour <<<"$output" > got
	diff want got
	[ "$(jq -r .error rej.ndjson)" = "local time 2026-03-29T02:00:00 does not exist (skipped by a DST change)" ]
}
