#!/bin/sh
# make fuzz: run each libFuzzer harness for SECONDS, seeded from the test
# fixtures and the demo, and print what each did.  Exits non-zero when a
# harness found a crash, a leak or a sanitizer report (the input that did
# it is kept as DIR/crash-NAME-*).  Usage: fuzz.sh DIR SECONDS NAME...
set -u
DIR=$1 SECS=$2
shift 2
F=tests/fixtures
D=examples/demo
status=0 passed=0 failed=0

# seed NAME: the starting corpus of a harness, in DIR/seed-NAME
seed() {
	s=$DIR/seed-$1
	rm -rf "$s"
	mkdir -p "$s"
	case $1 in
	ndjson)
		head -5 $D/participants/cambridge/inbox/*.ndjson > "$s/hours"
		printf '%s\n' '{"participant":"a","property":"p","meter":"m","quantity":"electricity","ts":"2026-03-29T01:30:00+01:00","value":1.5,"unit":"kWh","kind":"cumulative"}' \
			'{"participant":"a","meter":"m","quantity":"gas","ts":"2026-03-29T02:00:00Z","value":12,"unit":"m3","kind":"interval","duration":900,"calorific_value":39}' \
			'{"participant":"a","property":"p","quantity":"electricity","hour":"2026-03-01T10:00:00Z","value":48.2,"unit":"kWh","meters":4,"meters_expected":4,"coverage":1,"quality":"measured"}' > "$s/raw"
		;;
	time)
		for t in 2026-03-01T10:15:00Z 2026-10-25T02:30:00 '2019-01-01 00:00:00' 2026-03-01T10:15:00.250+05:30 2026-03-01; do
			printf '%s' "$t" > "$s/$(echo "$t" | tr -c 'a-zA-Z0-9' _)"
		done ;;
	csv)
		{ printf '\000'; head -20 $F/il-electricity-2016-03.csv; } > "$s/il"
		{ printf '\020'; head -20 $F/cambridge-b0-gas-2019-01.csv; } > "$s/cam"
		{ printf '\003'; printf 'ts;value\n2026-03-01T00:00:00Z;1,5\n'; } > "$s/comma"
		gzip -c $F/cambridge-b0-electricity-2019-01.csv | { printf '\000'; cat; } > "$s/gz" ;;
	json)
		printf '\000[{"ts":"2026-03-01T00:00:00Z","value":1.5},{"ts":1772323200,"value":"2"}]' > "$s/top"
		printf '\200{"data":{"items":[{"t":"2026-03-01T00:00:00Z","v":{"x":3}}]}}' > "$s/nested" ;;
	greenbutton)
		for x in gas_direct.xml usage_point.xml; do { printf '\000'; cat $F/greenbutton/$x; } > "$s/$x"; done
		{ printf '\000'; head -c 20000 $F/greenbutton/TestGBDataHourlyNineDaysBinnedDaily.xml; } > "$s/cut"
		{ printf '\000'; cat $F/greenbutton/espi_natural_gas.xml.gz; } > "$s/gz" ;;
	dsmr)
		i=0
		for x in $F/dsmr/*.txt; do
			i=$((i + 1)); { printf "\\$(printf %o $((i % 11 + 8)))"; cat "$x"; } > "$s/$i"
		done
		cat $F/dsmr/TELEGRAM_V5.txt $F/dsmr/TELEGRAM_V2_2.txt | { printf '\010'; cat; } > "$s/two" ;;
	nem12)
		for x in "$F"/nem12/NEM12*C123* "$F"/nem12/NEM12*000002* "$F"/nem12/invalid/*400*; do
			{ printf '\010'; head -c 8000 "$x"; } > "$s/$(basename "$x" | tr -c 'a-zA-Z0-9_' _)"
		done ;;
	mqtt)
		# an archive of messages: the first byte's % 3 picks the payload
		printf '\000{"received":"2026-03-01T00:00:01Z","topic":"meter/a/m","payload":"{\\"ts\\":\\"2026-03-01T00:00:00Z\\",\\"value\\":1.5}"}\n' > "$s/json"
		printf '\001{"received":"2026-03-01T00:00:01.250Z","topic":"meter/a/m","payload":"12345.6"}\n{"received":"2026-03-01T00:15:01Z","topic":"meter/a/m","payload":"12346"}\n' > "$s/number"
		{ printf '\002'; python3 -c 'import json,sys; print(json.dumps({"received":"2026-03-01T00:00:01Z","topic":"meter/a/p1","payload":sys.stdin.read()}))' < $F/dsmr/TELEGRAM_V5.txt; } > "$s/dsmr" ;;
	url)
		printf '%s' 'https://user:pw@example.org:8443/a/b?api_key=x&since={since}' > "$s/url"
		printf '%s' 'data/../x.csv' > "$s/path"
		printf '%s' '10.0.0.0/8' > "$s/cidr"
		printf '%s' 'fd00::/8' > "$s/cidr6" ;;
	config)
		cp $F/acme.xml $F/campus.xml "$s/"
		cp $D/participants/cambridge/participant.xml "$s/cambridge.xml" ;;
	context)
		{ printf '\000'; head -30 $F/bedford-weather-2019-01.csv; } > "$s/weather"
		{ printf '\002'; cat $F/US_IL-2015-2017.json; } > "$s/holidays"
		{ printf '\006'; head -c 3000 $F/bank-holidays.json; } > "$s/govuk"
		{ printf '\003'; cat $F/holidays.ics; } > "$s/ics"
		{ printf '\001'; head -3 $D/participants/cambridge/inbox/*.ndjson; } > "$s/ndjson" ;;
	esac
}

printf '%-20s %12s %10s %8s  %s\n' harness executions exec/s corpus result
for name in "$@"; do
	seed "$name"
	corpus=$DIR/corpus-$name
	mkdir -p "$corpus"
	log=$DIR/fuzz-$name.log
	"$DIR/fuzz-$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$DIR/crash-$name-" \
		"$corpus" "$DIR/seed-$name" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	files=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		result="no crash, no leak, no sanitizer report"
		passed=$((passed + 1))
	else
		result="FAILED (exit $rc): see $log"
		failed=$((failed + 1))
		status=1
	fi
	printf '%-20s %12s %10s %8s  %s\n' "fuzz-$name" "${execs:-?}" "${rate:-?}" "$files" "$result"
done
echo "$passed passed, $failed failed"
exit "$status"
