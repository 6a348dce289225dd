#!/usr/bin/env bats
# The BigQuery contract (meter-warehouse(5), BIGQUERY): every field the
# programs write into meter hours and property hours is in the shipped
# table schemas with a type BigQuery's NDJSON load takes, and every
# schema field is written by some program, so the two cannot drift.

load helper

BQ="$BATS_TEST_DIRNAME/../lib/warehouse/bigquery"

# the demo's participants through the programs, and the hours of the
# quantities and records the demo lacks: a participant's own meter, a
# temperature (temp_delta_c)
hours_of_every_kind() {
	demo="$BATS_TEST_DIRNAME/../examples/demo"
	cp -R "$demo" demo
	for p in cambridge greenbutton; do
		meter-fetch -q -c demo/participants/$p/participant.xml > raw-$p.ndjson || true
		meter-standardize -q raw-$p.ndjson > mh-$p.ndjson
		meter-aggregate -q -c demo/participants/$p/participant.xml mh-$p.ndjson > ph-$p.ndjson
		(cd demo/context && meter-enrich -q --shared-context -c ../participants/$p/participant.xml \
			$(grep -v '^#' enrich.args) "$OLDPWD/ph-$p.ndjson") > en-$p.ndjson
	done
	{ raw t-1 2019-01-07T08:00:00Z 21.5 instant degC temperature
	  raw t-1 2019-01-07T09:00:00Z 22.5 instant degC temperature
	  raw loose 2019-01-07T08:00:00Z 1 cumulative m3 water
	  raw loose 2019-01-07T09:00:00Z 3 cumulative m3 water; } |
		sed 's/"participant":"acme","property":"hq"/"participant":"uni","property":"main"/; s/"property":"main","meter":"loose"/"meter":"loose"/' > raw-uni.ndjson
	meter-standardize -q raw-uni.ndjson > mh-uni.ndjson
	# the participant's own meter is no property's: aggregated it is rejected
	meter-aggregate -q -c "$FIX/campus.xml" mh-uni.ndjson > ph-uni.ndjson || [ $? -eq 1 ]
	meter-enrich -q -c "$FIX/campus.xml" --weather "GB=$FIX/bedford-weather-2019-01.csv" \
		--holidays "GB=$FIX/bank-holidays.json#england-and-wales" ph-uni.ndjson > en-uni.ndjson
}

@test "bigquery: meter hours and property hours, enriched or not, fit the shipped schemas" {
	hours_of_every_kind
	# a participant's own meter has no property: NULLABLE in the schema
	[ "$(jq -r 'select(.meter == "loose") | has("property")' mh-uni.ndjson | sort -u)" = false ]
	[ "$(jq -r 'select(.quantity == "temperature") | has("temp_delta_c")' en-uni.ndjson | sort -u)" = true ]
	run python3 "$BATS_TEST_DIRNAME/bigquery_check.py" "$BQ/meter_hour.json" mh-*.ndjson
	[ "$status" -eq 0 ]
	[[ "$output" == *" records, 9 fields used of 9" ]]
	run python3 "$BATS_TEST_DIRNAME/bigquery_check.py" "$BQ/property_hour.json" ph-*.ndjson en-*.ndjson
	[ "$status" -eq 0 ]
	[[ "$output" == *" records, 25 fields used of 25" ]]
}

@test "bigquery: the check fails on a field the schema lacks, a wrong type, a missing required field" {
	echo '{"participant":"a","meter":"m","quantity":"gas","hour":"2019-01-01T00:00:00Z","value":1,"unit":"kWh","quality":"measured","coverage":1,"extra":1}' > a.ndjson
	run python3 "$BATS_TEST_DIRNAME/bigquery_check.py" "$BQ/meter_hour.json" a.ndjson
	[ "$status" -eq 1 ]
	[[ "$output" == *"a.ndjson:1: field extra is not in the schema"* ]]
	echo '{"participant":"a","property":"p","meter":"m","quantity":"gas","hour":"2019-01-01 00:00","value":"1","unit":"kWh","quality":"measured"}' > b.ndjson
	run python3 "$BATS_TEST_DIRNAME/bigquery_check.py" "$BQ/meter_hour.json" b.ndjson
	[[ "$output" == *"field hour = '2019-01-01 00:00' is not TIMESTAMP"* ]]
	[[ "$output" == *"field value = '1' is not FLOAT"* ]]
	[[ "$output" == *"REQUIRED field coverage is missing"* ]]
}
