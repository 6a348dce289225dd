#!/bin/sh
# make demo: standardize the example readings and summarise the hours.
# Usage: demo.sh BINDIR
set -eu
BIN=${1:-bin}
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/meter-demo
rm -rf "$out"
mkdir -p "$out"

echo "== meter-standardize -z UTC -r rejects.ndjson --stats examples/readings.ndjson"
status=0
"$BIN/meter-standardize" -z UTC -r "$out/rejects.ndjson" --stats \
	examples/readings.ndjson > "$out/hours.ndjson" || status=$?
[ "$status" -le 1 ] || exit "$status"

echo
echo "== hours per meter"
jq -rs 'group_by(.meter)[] | [.[0].participant + "/" + .[0].meter, .[0].quantity,
	length, (map(.value) | add | . * 1000 | round / 1000), .[0].unit,
	(map(.coverage) | min), (map(.quality) | unique | join(","))] | @tsv' "$out/hours.ndjson" |
	awk -F'\t' 'BEGIN { printf "%-24s %-20s %5s %12s %-5s %8s %s\n", "meter", "quantity", "hours", "total/mean", "unit", "min cov", "quality" }
		{ v = $4; if ($2 ~ /temperature/) v = v / $3
		  printf "%-24s %-20s %5d %12.3f %-5s %8s %s\n", $1, $2, $3, v, $5, $6, $7 }'

echo
echo "== rejected (exit status $status):"
jq -r '"\(.source):\(.line): \(.error)"' "$out/rejects.ndjson"
echo
echo "== meter-load: configurations, then the hours, into $out/warehouse.db"
"$BIN/meter-load" -c examples/cambridge.xml "$out/warehouse.db"
"$BIN/meter-load" -c examples/illinois.xml "$out/warehouse.db"
"$BIN/meter-load" --stats "$out/warehouse.db" "$out/hours.ndjson"
echo
echo "== meter-aggregate --db | meter-enrich | meter-load: buildings in context"
# the Bedford air temperature is context, no building's meter: it goes to
# meter-enrich as weather, not to meter-aggregate
grep -v '"bedford-air"' "$out/hours.ndjson" |
	"$BIN/meter-aggregate" -c examples/cambridge.xml -c examples/illinois.xml \
	--db "$out/warehouse.db" |
	"$BIN/meter-enrich" -c examples/cambridge.xml -c examples/illinois.xml \
	--holidays "GB=examples/context/bank-holidays.json#england-and-wales" \
	--holidays "US-IL=examples/context/US_IL-2015-2017.json" \
	--weather "GB=examples/context/bedford-weather-2019-01.csv" \
	--weather "US-IL=examples/context/il-tempF-2016-03.csv.gz" > "$out/property-hours.ndjson"
"$BIN/meter-load" --stats "$out/warehouse.db" "$out/property-hours.ndjson"
echo
echo "== building_comparison (energy per m2, where the floor area is known)"
sqlite3 -column -header "$out/warehouse.db" "SELECT participant, property, type, year,
	round(energy_kwh, 1) AS energy_kwh, area_m2, round(kwh_per_m2, 3) AS kwh_per_m2,
	rank_in_type FROM building_comparison WHERE year != 'trailing-12m'
	ORDER BY participant, property"
echo
echo "== monthly_consumption"
sqlite3 -column -header "$out/warehouse.db" "SELECT participant, property, quantity, month,
	round(value, 2) AS value, unit, hours, hours_in_month FROM monthly_consumption
	ORDER BY participant, property, quantity"
echo
echo "== data_quality (a view of the warehouse)"
sqlite3 -column -header "$out/warehouse.db" "SELECT participant, meter, quantity,
	first_hour, last_hour, hours_present AS present, hours_missing AS missing
	FROM data_quality ORDER BY participant, meter"
echo
echo "output in $out/hours.ndjson and $out/warehouse.db"
