#!/usr/bin/env bats
# meter-fetch: the connectors on real files, configured participants with
# file: sources, the archive, cursors, replay and the path rules.
load helper

ADHOC_IL=(-t csv -Q electricity -o ts-column=start -o value-column=value -o unit=kWh
	-o kind=interval -o duration=3600)

# A participant directory with a csv meter reading data/el.csv.
participant() {
	mkdir -p p/data
	cat > p/participant.xml <<-XML
	<participant id="acme" timezone="Europe/Amsterdam">
	  <property id="hq" timezone="Europe/Amsterdam">
	    <meter id="hq-el" quantity="electricity">
	      <connector type="csv" url="file:data/el.csv" kind="cumulative" unit="kWh"
	                 ts-column="ts" value-column="kwh"/>
	    </meter>
	    ${1:-}
	  </property>
	</participant>
	XML
	printf 'ts,kwh\n2026-03-01T10:00:00Z,100\n2026-03-01T11:00:00Z,112.5\n' > p/data/el.csv
}

@test "csv: the eemeter Illinois file, gzip, offsets switching at DST, every row" {
	run -0 meter-fetch "${ADHOC_IL[@]}" --stats "$FIX/il-electricity-cdd-hdd-hourly.csv.gz"
	rows=$(zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | awk -F, 'NR > 1 && $2 != ""' | wc -l)
	sum=$(zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | awk -F, 'NR > 1 { s += $2 } END { printf "%.6f\n", s }')
	echo "$output" | grep -c '"ts"' | grep -qx "$rows"
	[ "$(echo "$output" | grep '"ts"' | value_sum)" = "$sum" ]
	# 2016-03-13 01:00-06:00 and 03:00-05:00 are consecutive UTC hours
	ts=$(echo "$output" | grep '"ts"' | jq -r .ts | grep -A1 '^2016-03-13T07:00:00Z$' | tr '\n' ' ')
	[ "$ts" = "2016-03-13T07:00:00Z 2016-03-13T08:00:00Z " ]
	[ "$(echo "$output" | head -1 | jq -r '[.participant,.meter,.quantity,.ts,.kind,.duration] | @tsv')" = \
		"$(printf 'adhoc\til-electricity-cdd-hdd-hourly\telectricity\t2015-11-22T06:00:00Z\tinterval\t3600')" ]
	[[ "$output" == *"readings $rows rejected 0"* ]]
}

@test "csv: an empty last value (the upstream end sentinel) is skipped, not an error" {
	{ zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz"; printf '2018-02-08T01:00:00-06:00,\r\n'; } | gzip > il.csv.gz
	run -0 meter-fetch "${ADHOC_IL[@]}" --stats il.csv.gz
	[[ "$output" == *"readings $(zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | awk 'END { print NR - 1 }') rejected 0 skipped 1 filtered 0"* ]]
}

@test "csv: Cambridge naive UTC times, the unit from the header" {
	run -0 meter-fetch -t csv -Q electricity -o ts-column=datetime -o "value-column=equipment load" \
		-o kind=interval -o duration=1h -o timezone=UTC -m b0-el "$FIX/cambridge-b0-electricity-2019-01.csv"
	[ "$(echo "$output" | wc -l)" -eq "$(awk 'END { print NR - 1 }' "$FIX/cambridge-b0-electricity-2019-01.csv")" ]
	[ "$(echo "$output" | value_sum)" = "$(awk -F, 'NR > 1 { s += $2 } END { printf "%.6f\n", s }' "$FIX/cambridge-b0-electricity-2019-01.csv")" ]
	[ "$(echo "$output" | head -1 | jq -r '[.meter,.ts,.unit,.value] | @tsv')" = "$(printf 'b0-el\t2019-01-01T00:00:00Z\tkWh\t10.9')" ]
}

@test "csv: naive local times in a zone; the repeated hour by order, a skipped one rejected" {
	printf 'time;value\n2026-10-25 01:30:00;1\n2026-10-25 02:30:00;2\n2026-10-25 02:30:00;3\n2026-10-25 03:30:00;4\n2026-03-29 02:30:00;5\n' > ams.csv
	run -1 meter-fetch -t csv -o delimiter=";" -o ts-column=time -o kind=instant -o unit=degC \
		-o timezone=Europe/Amsterdam -r rej.ndjson ams.csv
	[ "$(echo "$output" | grep '"ts"' | jq -r '[.ts,.value] | @tsv' | tr '\t\n' ' ;')" = \
		"2026-10-24T23:30:00Z 1;2026-10-25T00:30:00Z 2;2026-10-25T01:30:00Z 3;2026-10-25T02:30:00Z 4;" ]
	[ "$(jq -r '[.line, .error] | @tsv' rej.ndjson)" = "$(printf '6\tlocal time 2026-03-29 02:30:00 does not exist (skipped by a DST change)')" ]
	[ "$(jq -r .record rej.ndjson)" = "2026-03-29 02:30:00;5" ]
}

@test "csv: decimal comma, skipped lines, columns by number, no header, sentinels" {
	printf 'export of meter 7\n\n01-03-2026 x;2026-03-01T00:00:00Z;1,5\nx;2026-03-01T01:00:00Z;\nx;2026-03-01T02:00:00Z;NA\nx;2026-03-01T03:00:00Z;2,25\nx;2026-03-01T04:00:00Z;abc\n' > m.csv
	run -1 meter-fetch -t csv -Q electricity -o skip=2 -o header=false -o delimiter=';' -o decimal=, \
		-o ts-column=2 -o value-column=3 -o kind=cumulative -o unit=MWh -r rej.ndjson --stats m.csv
	[ "$(echo "$output" | grep '"ts"' | jq -r '[.ts,.value,.unit] | @tsv' | tr '\t\n' ' ;')" = \
		"2026-03-01T00:00:00Z 1.5 MWh;2026-03-01T03:00:00Z 2.25 MWh;" ]
	[[ "$output" == *'readings 2 rejected 1 (value "..." is not a number 1) skipped 2 filtered 0'* ]]
	[ "$(jq -r '[.source, .line, .error] | @tsv' rej.ndjson)" = "$(printf 'm.csv\t7\tvalue "abc" is not a number')" ]
}

@test "csv: epoch seconds and milliseconds, a unit column" {
	printf 't,v,u\n1772323200,5,Wh\n1772326800,7,kWh\n' > e.csv
	run -0 meter-fetch -t csv -Q electricity -o time-format=epoch -o ts-column=t -o value-column=v \
		-o unit-column=u -o kind=interval -o duration=1h e.csv
	[ "$(echo "$output" | jq -r '[.ts,.value,.unit] | @tsv' | tr '\t\n' ' ;')" = \
		"2026-03-01T00:00:00Z 5 Wh;2026-03-01T01:00:00Z 7 kWh;" ]
	printf 't,v\n1772323200500,5\n' > ms.csv
	run -0 meter-fetch -t csv -Q electricity -o time-format=epoch-ms -o kind=instant -o unit=kW ms.csv
	[ "$(echo "$output" | jq -r .ts)" = "2026-03-01T00:00:00.500Z" ]
}

@test "standard input is a source named -" {
	run -0 bash -c "printf 'ts,value\n2026-03-01T00:00:00Z,1\n' | meter-fetch -t csv -Q electricity -o kind=instant -o unit=kW -"
	[ "$(echo "$output" | jq -r '[.meter, .source] | @tsv')" = "$(printf 'stdin\t-')" ]
}

@test "csv: a truncated body (open quote at the end) emits nothing" {
	printf 'ts,value\n2026-03-01T00:00:00Z,1\n2026-03-01T01:00:00Z,"2\n' > t.csv
	run -1 meter-fetch -t csv -Q electricity -o kind=instant -o unit=kW t.csv
	[[ "$output" != *'"ts"'* ]]
	[[ "$output" == *"meter-fetch: t.csv:3: meter t: unterminated quoted field at the end (truncated body?)"* ]]
}

@test "csv: a column the header lacks, and a row too short" {
	printf 'ts,value\n2026-03-01T00:00:00Z,1\n' > c.csv
	run -1 meter-fetch -t csv -Q electricity -o ts-column=time -o kind=instant -o unit=kW c.csv
	[ "$output" = 'meter-fetch: c.csv:1: meter c: no column "time" in the header; it has "ts", "value" (name one, or give its number from 1)' ]
	printf 'ts,value\n2026-03-01T00:00:00Z\n2026-03-01T01:00:00Z,4\n' > s.csv
	run -1 meter-fetch -t csv -Q electricity -o kind=instant -o unit=kW -r rej.ndjson s.csv
	[ "$(echo "$output" | grep -c '"ts"')" -eq 1 ]
	[ "$(jq -r '[.line,.error] | @tsv' rej.ndjson)" = "$(printf '2\trow has 1 fields, column 2 is missing')" ]
}

@test "json: items by path, fields by path, strings as numbers, null skipped, a missing value and bad elements rejected" {
	cat > api.json <<-'JSON'
	{"result":{"data":[
	 {"t":{"at":"2026-03-01T00:00:00Z"},"reading":{"v":21.5},"u":"degC"},
	 {"t":{"at":"2026-03-01T01:00:00+01:00"},"reading":{"v":"22"},"u":"degC"},
	 {"t":{"at":"2026-03-01T02:00:00Z"},"reading":{"v":null},"u":"degC"},
	 {"t":{"at":"2026-03-01T03:00:00Z"},"reading":{"w":4},"u":"degC"},
	 7,
	 {"reading":{"v":1}}
	]}}
	JSON
	run -1 meter-fetch -t json -Q electricity -o items=result.data -o ts=t.at -o value=reading.v \
		-o unit-field=u -o kind=instant -Q temperature -m room -r rej.ndjson --stats api.json
	[ "$(echo "$output" | grep '"ts"' | jq -r '[.ts,.value,.unit,.quantity] | @tsv' | tr '\t\n' ' ;')" = \
		"2026-03-01T00:00:00Z 21.5 degC temperature;2026-03-01T00:00:00Z 22 degC temperature;" ]
	[[ "$output" == *"readings 2 rejected 3 ("*") skipped 1"* ]]
	[ "$(jq -r '[.line,.record,.error] | @tsv' rej.ndjson)" = "$(printf '%s\n' \
		'4	{"t":{"at":"2026-03-01T03:00:00Z"},"reading":{"w":4},"u":"degC"}	element 4 has no value "reading.v" (give its path with value="...")' \
		'5	7	element 5 is not an object' '6	{"reading":{"v":1}}	element 6 has no time "t.at"')" ]
}

@test "json: a malformed body or one without the array emits nothing" {
	printf '{"data":[{"ts":"2026-03-01T00:00:00Z","value":1},' > bad.json
	run -1 meter-fetch -t json -Q electricity -o items=data -o kind=instant -o unit=kW bad.json
	[[ "$output" != *'"ts"'* ]]
	[[ "$output" == *"bad.json: meter bad: malformed JSON"* ]]
	printf '{"data":{"x":1}}' > obj.json
	run -1 meter-fetch -t json -Q electricity -o items=data -o kind=instant -o unit=kW obj.json
	[[ "$output" == *'obj.json: meter obj: no array of readings at "data"'* ]]
	printf '[{"ts":"2026-03-01T00:00:00Z","value":1}]' > top.json
	run -0 meter-fetch -t json -Q electricity -o kind=instant -o unit=kW top.json
	[ "$(echo "$output" | jq -r .value)" = 1 ]
}

# The expected dumps print "YYYY-MM-DD HH:MM:SS+00:00, [N days, ]H:MM:SS: V UNIT($cost)".
expected_readings() {
	awk '/\+00:00/ {
		split($0, a, ", "); ts = a[1]; sub(/^ +/, "", ts); sub(/\+00:00$/, "Z", ts); sub(/ /, "T", ts)
		days = 0; rest = a[2]
		if (rest ~ /day/) { split(rest, d, " "); days = d[1]; rest = a[3] }
		split(rest, hms, ":"); dur = days * 86400 + hms[1] * 3600 + hms[2] * 60 + substr(hms[3], 1, 2)
		match($0, /: [0-9.]+ [A-Za-z0-9]+\(/); vu = substr($0, RSTART + 2, RLENGTH - 3); split(vu, v, " ")
		print ts, dur, v[1], v[2] }' "$1"
}

@test "greenbutton: readings equal the expected dumps of another parser" {
	for f in TestGBDataHourlyNineDaysBinnedDaily gas_direct; do
		run -0 meter-fetch -t greenbutton "$FIX/greenbutton/$f.xml"
		got=$(echo "$output" | jq -r '"\(.ts) \(.duration) \(.value) \(.unit)"')
		want=$(expected_readings "$FIX/greenbutton/$f.expected.txt")
		[ -n "$want" ]
		[ "$got" = "$want" ]
	done
}

@test "greenbutton: every sample file reads; metadata-only feeds give nothing and exit 0" {
	for f in "$FIX"/greenbutton/*.xml "$FIX"/greenbutton/*.gz; do
		run -0 meter-fetch -t greenbutton -m m "$f"
		want=$(zcat -f "$f" | grep -c '<\([a-z0-9]*:\)\?IntervalReading>' || true)
		[ "$(echo -n "$output" | grep -c '"ts"' || true)" -eq "$want" ]
	done
	run -0 meter-fetch -t greenbutton "$FIX/greenbutton/usage_point.xml"
	[ -z "$output" ]
}

@test "greenbutton: namespace prefixes, gzip, 10^-8 therms, quality codes" {
	run -0 meter-fetch -t greenbutton "$FIX/greenbutton/espi_natural_gas.xml.gz"
	[ "$(echo "$output" | jq -r '[.quantity,.ts,.value,.unit,.duration] | @tsv' | sed -n 2p)" = \
		"$(printf 'gas\t2012-05-03T07:00:01Z\t1.03513077\ttherm\t86400')" ]
	run -0 meter-fetch -t greenbutton "$FIX/greenbutton/test_usage_data.xml"
	# quality 8 is estimated, 7 (edited) is not
	est=$(echo "$output" | jq -r 'select(.quality == "estimated") | .ts')
	[ "$est" = "2012-03-01T05:00:00Z" ]
	grep -B8 '<quality>8</quality>' "$FIX/greenbutton/test_usage_data.xml" | grep -q '<start>1330578000</start>'
}

@test "greenbutton: billing periods an hour too long at the DST change are trimmed, and the bill arrives whole" {
	f="$FIX/greenbutton/ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml"
	run --separate-stderr -0 meter-fetch -t greenbutton -m gas "$f"
	echo "$output" > raw.ndjson
	[ "$(grep -c 'overlaps the previous one by 3600 s (a DST change): trimmed' <<<"$stderr")" -eq 3 ]
	[[ "$stderr" == *":112: period starting 2021-11-25T00:00:00Z overlaps"* ]]
	run --separate-stderr -0 meter-standardize raw.ndjson
	[ -z "$stderr" ]
	# the file's total: the values times 10^-3 (its powerOfTenMultiplier),
	# therms of 29.307107 kWh (meter-records(5))
	want=$(grep -o '<value>[0-9]*</value>' "$f" | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.3f", s / 1000 * 29.307107 }')
	[ "$want" = 102105.961 ]
	[ "$(jq -s 'map(.value) | add * 1000 | round / 1000' <<<"$output")" = "$want" ]
}

# Two reading types, import and export, tied by links.
two_way_feed() {
	cat <<-'XML'
	<feed xmlns="http://www.w3.org/2005/Atom">
	 <entry><link rel="self" href="/MR/1"/><link rel="related" href="/RT/imp"/>
	  <content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
	 <entry><link rel="self" href="/MR/2"/><link rel="related" href="/RT/exp"/>
	  <content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
	 <entry><link rel="self" href="/RT/imp"/><content><ReadingType xmlns="http://naesb.org/espi">
	  <flowDirection>1</flowDirection><powerOfTenMultiplier>-3</powerOfTenMultiplier><uom>72</uom></ReadingType></content></entry>
	 <entry><link rel="self" href="/RT/exp"/><content><ReadingType xmlns="http://naesb.org/espi">
	  <flowDirection>19</flowDirection><powerOfTenMultiplier>0</powerOfTenMultiplier><uom>72</uom></ReadingType></content></entry>
	 <entry><link rel="self" href="/MR/1/IntervalBlock/1"/><content><IntervalBlock xmlns="http://naesb.org/espi">
	  <IntervalReading><timePeriod><duration>3600</duration><start>1772323200</start></timePeriod><value>1500</value></IntervalReading>
	 </IntervalBlock></content></entry>
	 <entry><link rel="up" href="/MR/2/IntervalBlock"/><content><IntervalBlock xmlns="http://naesb.org/espi">
	  <IntervalReading><timePeriod><duration>3600</duration><start>1772323200</start></timePeriod><value>400</value></IntervalReading>
	 </IntervalBlock></content></entry>
	</feed>
	XML
}

@test "greenbutton: import and export are different meters, never summed" {
	two_way_feed > both.xml
	run -0 meter-fetch -t greenbutton -m imp --stats both.xml
	[ "$(echo "$output" | grep '"ts"' | jq -r '[.meter,.value,.unit] | @tsv')" = "$(printf 'imp\t1.5\tWh')" ]
	[[ "$output" == *"readings 1 rejected 0 skipped 1"* ]]
	run -0 meter-fetch -t greenbutton -o flow-direction=export -m exp both.xml
	[ "$(echo "$output" | jq -r '[.meter,.value,.quantity] | @tsv')" = "$(printf 'exp\t400\telectricity_export')" ]
	# without links two reading types cannot be told apart
	two_way_feed | sed '/rel="related"/s/<link rel="related"[^>]*>//' > nolinks.xml
	run -1 meter-fetch -t greenbutton -m imp nolinks.xml
	[[ "$output" == *"cannot tell the ReadingType of this IntervalBlock"* ]]
	[[ "$output" != *'"ts"'* ]]
}

@test "greenbutton: an XXE payload is refused and nothing leaks" {
	printf '<?xml version="1.0"?>\n<!DOCTYPE feed [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>\n<feed><entry>&x;</entry></feed>\n' > xxe.xml
	run -1 meter-fetch -t greenbutton xxe.xml
	[[ "$output" == *"xxe.xml:2: meter xxe: DOCTYPE declarations are not allowed"* ]]
	[[ "$output" != *root:* ]]
}

@test "configured: file: source archived by content hash before its readings, cursor saved" {
	participant
	# the day is taken before the run: a run across midnight is dated by
	# its start or its end, and the check allows both
	day=$(date -u +%Y/%m/%d)
	run -0 meter-fetch -c p/participant.xml
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	arch=$(cd p && find raw -type f)
	[ "$(echo "$arch" | wc -l)" -eq 1 ]
	sum=$(sha256sum < p/data/el.csv | cut -c1-64)
	[ "$arch" = "raw/$day/hq-el/$sum.csv" ] || [ "$arch" = "raw/$(date -u +%Y/%m/%d)/hq-el/$sum.csv" ]
	cmp p/data/el.csv "p/$arch"
	[ "$(echo "$output" | jq -r .source | sort -u)" = "$arch" ]
	[ "$(echo "$output" | head -1 | jq -c 'del(.source)')" = \
		'{"participant":"acme","property":"hq","meter":"hq-el","quantity":"electricity","ts":"2026-03-01T10:00:00Z","value":100,"unit":"kWh","kind":"cumulative"}' ]
	[ "$(cat p/state/fetch-cursors.ndjson)" = '{"meter":"hq-el","cursor":"2026-03-01T11:00:00Z"}' ]
}

@test "configured: the cursor lets only new readings through" {
	participant
	run -0 meter-fetch -c p/participant.xml
	run -0 meter-fetch -c p/participant.xml --stats
	# an empty fetch says why, and how to fetch the readings again
	[ "$output" = "meter-fetch: data/el.csv: meter hq-el: no reading after the cursor (2026-03-01T11:00:00Z); 2 earlier readings were held back: --since TIME fetches them again
meter-fetch: meters 1 fetched 1 failed 0 readings 0 rejected 0 skipped 0 filtered 2" ]
	# --since takes a bare date (midnight UTC), as meter-records(5) times do
	run -0 meter-fetch -c p/participant.xml --since 2026-03-01
	[ "$(echo "$output" | jq -r .ts | tr '\n' ' ')" = "2026-03-01T10:00:00Z 2026-03-01T11:00:00Z " ]
	run -0 meter-fetch -c p/participant.xml --since 2026-03-02
	[ -z "$output" ]
	run -2 meter-fetch -c p/participant.xml --since '2026-03-01 10:00'
	[[ "$output" == 'meter-fetch: bad value for --since: "2026-03-01 10:00" (a date, or an RFC 3339 time with Z or an offset: 2026-03-01 or 2026-03-01T10:00:00Z)'* ]]
	echo '2026-03-01T12:00:00Z,130' >> p/data/el.csv
	run -0 meter-fetch -c p/participant.xml
	[ "$(echo "$output" | jq -r '[.ts,.value] | @tsv')" = "$(printf '2026-03-01T12:00:00Z\t130')" ]
	[ "$(jq -r .cursor p/state/fetch-cursors.ndjson)" = 2026-03-01T12:00:00Z ]
	# --since overrides the cursor, --until holds back what is later
	run -0 meter-fetch -c p/participant.xml --since 2026-03-01T11:00:00Z --until 2026-03-01T12:00:00Z
	[ "$(echo "$output" | jq -r .ts)" = 2026-03-01T11:00:00Z ]
}

@test "configured: a bad payload is named by its source and its archived copy" {
	participant
	sed -i -e 's|type="csv" url="file:data/el.csv"|type="json" url="file:data/el.json"|' \
		-e 's|ts-column="ts" value-column="kwh"||' p/participant.xml
	printf '[{"ts": "2026-03-01T10:00:00Z", "value": 1},\n{"ts": ' > p/data/el.json
	run -1 meter-fetch -c p/participant.xml --archive p/raw
	arch=$(cd p && find raw -type f)
	[ "$output" = "meter-fetch: data/el.json: meter hq-el: malformed JSON: parse error: premature EOF (archived as $arch)" ]
	cmp p/data/el.json "p/$arch"
}

@test "configured: each payload gives its own readings: a long one, then a broken one, then one newest first" {
	# The payloads are parsed through one temporary file in turn; what the
	# long one and the broken one wrote must not reach the next meter.
	participant '<meter id="hq-bad" quantity="electricity">
	  <connector type="json" url="file:data/bad.json" kind="cumulative" unit="kWh"/></meter>
	<meter id="hq-late" quantity="electricity">
	  <connector type="csv" url="file:data/late.csv" kind="cumulative" unit="kWh"
	             ts-column="ts" value-column="kwh"/></meter>'
	awk 'BEGIN { print "ts,kwh"; for (h = 0; h < 24; h++) printf "2026-03-01T%02d:00:00Z,%d\n", h, 100 + h }' > p/data/el.csv
	printf '[{"ts": "2026-03-01T10:00:00Z", "value": 1},\n{"ts": ' > p/data/bad.json
	printf 'ts,kwh\n2026-03-02T01:00:00Z,7\n2026-03-02T00:00:00Z,5\n' > p/data/late.csv
	run -1 --separate-stderr meter-fetch -c p/participant.xml
	[ "$(echo "$output" | jq -r '[.meter,.ts,.value] | @tsv' | awk '$1 == "hq-el"' | wc -l)" -eq 24 ]
	[ "$(echo "$output" | jq -r 'select(.meter == "hq-el") | .value' | awk '{ s += $1 } END { print s }')" = 2676 ]
	[ "$(echo "$output" | jq -r 'select(.meter != "hq-el") | [.meter,.ts,.value] | @tsv')" = \
		"$(printf 'hq-late\t2026-03-02T00:00:00Z\t5\nhq-late\t2026-03-02T01:00:00Z\t7')" ]
	[[ "$stderr" == *"data/bad.json: meter hq-bad: malformed JSON"* ]]
}

@test "ad hoc: messages that say what to do (columns, kind, duration, decimal comma, attributes, units)" {
	printf 't,v\n2019-01-01 00:00,"1,5"\n' > dec.csv
	run -1 meter-fetch -t csv -Q electricity -o kind=interval -o unit=kWh -o duration=3600 -o ts-column=Time dec.csv
	[ "$output" = 'meter-fetch: dec.csv:1: meter dec: no column "Time" in the header; it has "t", "v" (name one, or give its number from 1)' ]
	run -2 meter-fetch -t csv -Q electricity dec.csv
	[ "$output" = 'meter-fetch: meter dec: no kind (cumulative, interval or instant) on the connector or the meter: say which with -o kind=..., or kind="..." in the configuration' ]
	run -2 meter-fetch -t csv -Q electricity -o kind=interval -o unit=kWh dec.csv
	[ "$output" = "meter-fetch: meter dec: interval readings need a duration: give the interval's seconds with -o duration=900, or duration=\"900\" in the configuration" ]
	run --separate-stderr -1 meter-fetch -t csv -Q electricity -o kind=interval -o unit=kWh -o duration=3600 dec.csv
	[ "$stderr" = 'meter-fetch: dec.csv:2: value "1,5" is not a number (a decimal comma? give -o decimal=, or decimal="," on the connector)
meter-fetch: 1 record rejected' ]
	run -0 meter-fetch -t csv -Q electricity -o kind=interval -o unit=kWh -o duration=3600 -o decimal=, dec.csv
	[ "$(jq -r .value <<<"$output")" = 1.5 ]
	run -2 meter-fetch -t csv -o time-column=t dec.csv
	[[ "$output" == 'meter-fetch: unknown connector attribute "time-column": did you mean "ts-column"? (see meter-config(5))'* ]]
	run -2 meter-fetch -t csv -Q electricity -o kind=interval -o duration=3600 -o unit=kwh dec.csv
	[ "$output" = 'meter-fetch: meter dec: unknown unit "kwh": did you mean "kWh"?' ]
	# in a configuration, the same suggestion with file and line
	participant
	sed -i 's|ts-column="ts"|time-column="ts"|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[ "$output" = 'meter-fetch: p/participant.xml:5: <connector>: unknown attribute "time-column" for a csv connector: did you mean "ts-column"? (see meter-config(5))' ]
}

@test "configured: --replay of the archive writes exactly what the fetch wrote" {
	participant
	cp "$FIX/cambridge-b0-gas-2019-01.csv" p/data/gas.csv
	participant '<meter id="hq-gas" quantity="gas"><connector type="csv" url="file:data/gas.csv" kind="interval" duration="3600" timezone="UTC" ts-column="datetime" value-column="heating load"/></meter>'
	cp "$FIX/cambridge-b0-gas-2019-01.csv" p/data/gas.csv
	meter-fetch -c p/participant.xml --meter hq-gas > fetched.ndjson
	[ "$(wc -l < fetched.ndjson)" -eq "$(awk 'END { print NR - 1 }' p/data/gas.csv)" ]
	meter-fetch -c p/participant.xml --replay p/raw/*/*/*/hq-gas/* > replayed.ndjson
	cmp fetched.ndjson replayed.ndjson
	# a replay never moves cursors
	before=$(cat p/state/fetch-cursors.ndjson)
	meter-fetch -c p/participant.xml --replay p/raw/*/*/*/hq-gas/* > /dev/null
	[ "$(cat p/state/fetch-cursors.ndjson)" = "$before" ]
	run -2 meter-fetch -c p/participant.xml --replay fetched.ndjson
	[[ "$output" == *"fetched.ndjson: not an archived payload"* ]]
}

@test "configured: file: URLs never leave the participant directory" {
	echo 'ts,kwh' > secret.csv
	for url in file:../secret.csv file:/etc/passwd file:///etc/passwd file:data/../../secret.csv; do
		participant
		sed -i "s|file:data/el.csv|$url|" p/participant.xml
		run -2 meter-fetch -c p/participant.xml
		[[ "$output" == *"participant.xml:5: <connector>: meter hq-el: "*"is outside the participant directory"* ]]
	done
	participant
	ln -s ../../secret.csv p/data/link.csv
	participant '<meter id="hq-link" quantity="electricity"><connector type="csv" url="file:data/link.csv" kind="cumulative" unit="kWh"/></meter>'
	run -1 meter-fetch -c p/participant.xml
	[[ "$output" == *"meter-fetch: data/link.csv: meter hq-link: a symbolic link on the way (links are not followed in a participant's paths)"* ]]
	[ "$(echo "$output" | grep -c '"meter":"hq-el"')" -eq 2 ]
}

@test "configured: ids with / or .. are refused, other schemes and URL credentials too" {
	participant
	sed -i 's|id="hq-el"|id="../hq-el"|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[[ "$output" == *'participant.xml:3: <meter>: bad id "../hq-el"'* ]]
	participant
	sed -i 's|file:data/el.csv|ftp://example.org/el.csv|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[[ "$output" == *"meter hq-el: only http, https and file URLs are fetched"* ]]
	participant
	sed -i 's|file:data/el.csv|https://user:pw@example.org/el.csv|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[[ "$output" == *"meter hq-el: credentials in a URL are refused"* ]]
	[[ "$output" != *pw* ]]
}

@test "configured: a failed meter stops no other and keeps its cursor" {
	participant '<meter id="hq-gone" quantity="gas"><connector type="csv" url="file:data/gone.csv" kind="cumulative" unit="kWh"/></meter>'
	run -1 meter-fetch -c p/participant.xml
	[[ "$output" == *"meter-fetch: data/gone.csv: meter hq-gone: cannot open: No such file or directory"* ]]
	[ "$(echo "$output" | grep -c '"meter":"hq-el"')" -eq 2 ]
	[ "$(jq -r .meter p/state/fetch-cursors.ndjson)" = hq-el ]
}

@test "configured: --dry-run, --meter and --property select, unknown names are usage errors" {
	participant '<meter id="hq-api" quantity="electricity"><connector type="json" url="https://api.example/m?from={since}&amp;to={until}" kind="interval" duration="900" unit="kWh"/></meter>'
	run -0 meter-fetch -c p/participant.xml --dry-run --until 2026-03-02T00:00:00Z
	[ "$output" = "$(printf 'hq-el\tcsv\tdata/el.csv\tcursor -\nhq-api\tjson\thttps://api.example/m?from=1970-01-01T00:00:00Z&to=2026-03-02T00:00:00Z\tcursor -')" ]
	[ ! -e p/raw ]
	run -0 meter-fetch -c p/participant.xml --meter hq-el
	[ "$(echo "$output" | jq -r .meter | sort -u)" = hq-el ]
	run -2 meter-fetch -c p/participant.xml --meter nope
	[[ "$output" == *"participant.xml: no meter nope"* ]]
	run -2 meter-fetch -c p/participant.xml --property nope
	[[ "$output" == *"no property nope"* ]]
}

@test "configured: bad connector settings are configuration errors with file and line" {
	participant
	sed -i 's|kind="cumulative"|kind="cumulative" delimiter="ab"|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[ "$output" = 'meter-fetch: p/participant.xml:5: <connector>: attribute "delimiter" must be one character (or "tab"), not "ab"' ]
	participant
	sed -i 's|kind="cumulative"|kind="interval"|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[[ "$output" == *"participant.xml:5: <connector>: meter hq-el: interval readings need a duration: give the interval's seconds with -o duration=900, or duration=\"900\" in the configuration" ]]
	participant
	sed -i 's|unit="kWh"|unit="degC"|' p/participant.xml
	run -2 meter-fetch -c p/participant.xml
	[[ "$output" == *'meter hq-el: unit "degC" cannot be converted to kWh (electricity)' ]]
	run -2 meter-fetch -t csv -Q electricity -o colour=red x.csv
	[[ "$output" == *'unknown connector attribute "colour"'* ]]
}

# One validator: every program that reads a configuration refuses the same
# mistakes with the same message, file:line and exit 2, and --check says
# what a good one holds.
@test "configured: every program validates the whole configuration the same way" {
	for change in 's|type="csv"|type="xls"|' 's|kind="cumulative"|kind="interval" duration="1x"|' \
	    's|unit="kWh"|unit="kwh"|' 's|kind="cumulative"|kind="cumulative" retries="lots"|' \
	    's|kind="cumulative"|kind="cumulative" items="data"|' 's|file:data/el.csv|file:../x.csv|'; do
		participant
		sed -i "$change" p/participant.xml
		run -2 meter-fetch -c p/participant.xml
		want=$(echo "$output" | sed 's/^meter-fetch: //')
		[[ "$want" == "p/participant.xml:5: <connector>: "* ]]
		for prog in "meter-load -c p/participant.xml w.db" "meter-aggregate -c p/participant.xml /dev/null" \
		    "meter-enrich -c p/participant.xml /dev/null" "meter-fetch -c p/participant.xml --check"; do
			run -2 $prog
			[ "$(echo "$output" | sed 's/^meter-[a-z]*: //')" = "$want" ]
		done
	done
	participant
	[ "$(meter-fetch -c p/participant.xml --check 2>&1)" = "$(meter-fetch -c p/participant.xml --check 2>&1)" ]
	for prog in meter-fetch meter-load meter-aggregate meter-enrich; do
		run -0 $prog -c p/participant.xml --check
		[ "$output" = "p/participant.xml: participant acme: 1 property, 1 meter, 1 connector (csv), 0 contracts: good" ]
	done
	[ ! -e w.db ]
}

@test "configured: an archive that cannot be written fails the run and keeps the cursor" {
	participant
	meter-fetch -c p/participant.xml > /dev/null
	echo '2026-03-01T12:00:00Z,130' >> p/data/el.csv
	before=$(cat p/state/fetch-cursors.ndjson)
	mkdir ro && chmod 555 ro
	if [ -w ro ]; then chmod 755 ro; touch ro/raw; fi   # root ignores modes: a file where a directory must go
	run -3 meter-fetch -c p/participant.xml --archive ro/raw
	[[ "$output" == *"meter hq-el: cannot create directory"* ]]
	[[ "$output" != *'"ts"'* ]]
	[ "$(cat p/state/fetch-cursors.ndjson)" = "$before" ]
}

@test "configured: a full stdout fails the run and keeps the cursor" {
	participant
	run -3 bash -c 'meter-fetch -c p/participant.xml > /dev/full'
	[ "$output" = "meter-fetch: write error on standard output: No space left on device" ]
	[ ! -e p/state/fetch-cursors.ndjson ]
}

@test "standardize takes meter-fetch's records as they are" {
	run -0 bash -c "meter-fetch ${ADHOC_IL[*]} '$FIX/il-electricity-2016-03.csv' | meter-standardize"
	[ "$(echo "$output" | wc -l)" -eq "$(awk 'END { print NR - 1 }' "$FIX/il-electricity-2016-03.csv")" ]
	[ "$(echo "$output" | value_sum)" = "$(awk -F, 'NR > 1 { s += $2 } END { printf "%.6f\n", s }' "$FIX/il-electricity-2016-03.csv")" ]
}
