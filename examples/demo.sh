#!/bin/sh
# make demo: the hourly platform on the example data root (examples/demo/):
# two participants, five buildings, real public data, one external system
# pushing into an inbox and one meter deliberately broken.
# Usage: demo.sh BINDIR
set -eu
BIN=$(cd "${1:-bin}" && pwd)
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/meter-demo
rm -rf "$out"
mkdir -p "$out"
cp -R examples/demo "$out/root"
chmod -R go-w "$out/root"
root=$out/root

echo "== meter-hourly $root   (fetch, standardize, load, aggregate, enrich, load)"
status=0
METER_BIN=$BIN sh scripts/meter-hourly --report "$out/report.html" "$root" || status=$?
echo "(exit status $status: cambridge's b1-water meter points at a missing file on purpose)"
echo
echo "== the run log, one line per participant (participants/*/log/meter-hourly.log)"
cat "$root"/participants/*/log/meter-hourly.log | cut -c1-160
echo
echo "== building_comparison: energy per m2, and rank among buildings of a type"
echo "   (the demo holds a week or two per building: no year is complete enough to rank)"
sqlite3 -column -header "$root/warehouse.db" "SELECT participant, property, type, year,
	energy_kwh, area_m2, kwh_per_m2, round(co2_kg, 1) AS co2_kg, coverage,
	rank_in_type, not_ranked FROM building_comparison
	WHERE year != 'trailing-12m' ORDER BY participant, property"
echo
echo "== data_quality: every configured meter (the demo's data is of past years: stale now)"
sqlite3 -column -header "$root/warehouse.db" "SELECT participant, meter, quantity, last_hour,
	hours_present, hours_suspect, hours_zero, status FROM data_quality ORDER BY participant, meter"
echo
echo "== monthly_consumption"
sqlite3 -column -header "$root/warehouse.db" "SELECT participant, property, quantity, month,
	round(value, 1) AS value, unit, hours, hours_in_month FROM monthly_consumption
	ORDER BY participant, property, quantity, month LIMIT 20"
echo
echo "== a weekday at b0: local time, office hours, outside temperature, CO2"
sqlite3 -column -header "$root/warehouse.db" "SELECT local, quantity, round(value, 1) AS kwh,
	office_hours, outside_temp_c, round(co2_kg, 2) AS co2_kg FROM property_hour
	WHERE property = 'b0' AND substr(local, 1, 10) = '2019-01-02' AND local_hour IN (7, 8, 12, 18)
	ORDER BY local, quantity"
echo
echo "== the inbox file is in inbox/done; the raw archive keeps every payload"
ls "$root/participants/cambridge/inbox/done"
(cd "$root/participants" && find . -path '*/raw/*' -type f | sort | sed 's/^/  /')
echo
echo "== a second run changes nothing: the cursors let no reading through twice"
before=$(sqlite3 "$root/warehouse.db" "SELECT count(*), round(sum(value), 6) FROM property_hour")
METER_BIN=$BIN sh scripts/meter-hourly "$root" 2>/dev/null || true
after=$(sqlite3 "$root/warehouse.db" "SELECT count(*), round(sum(value), 6) FROM property_hour")
echo "property hours and their sum before: $before, after: $after"
echo
echo "== benchmark: the figures behind the report (view benchmark), the demo's weeks"
sqlite3 -column -header "$root/warehouse.db" "SELECT property, quantity, energy_kwh,
	kwh_per_m2, baseload_kw, peak_kw, round(outside_office_share, 3) AS outside_office,
	hdd_slope_kwh_per_dd AS kwh_per_dd, hdd_r2 FROM benchmark
	WHERE participant = 'cambridge' AND period = '2019' ORDER BY property, quantity"
echo
echo "== meter-baseline: the Illinois home's expected use (examples/baseline/: its meter's"
echo "   two years and the station's temperatures, loaded beside the demo's week)"
cfg=$root/participants/greenbutton/participant.xml
$BIN/meter-fetch -t csv -p greenbutton -P house-il -m il-el -Q electricity \
	-o ts-column=start -o value-column=value -o unit=kWh -o kind=interval -o duration=1h \
	examples/baseline/il-electricity-cdd-hdd-hourly.csv.gz | $BIN/meter-standardize > "$out/il-hours.ndjson"
$BIN/meter-aggregate -c "$cfg" "$out/il-hours.ndjson" |
	$BIN/meter-enrich -c "$cfg" --weather US-IL=examples/baseline/il-tempF.csv.gz |
	$BIN/meter-load "$root/warehouse.db" "$out/il-hours.ndjson" -
$BIN/meter-baseline -p greenbutton -P house-il --baseline 2015-12-26..2016-12-25 \
	--reporting 2017-01-05..2018-02-07 "$root/warehouse.db" > "$out/baseline.ndjson"
sqlite3 -column -header "$root/warehouse.db" "SELECT model, month, round(sum(actual), 1) AS actual,
	round(sum(expected), 1) AS expected, round(max(cumulative_savings), 1) AS cumulative_savings
	FROM baseline_savings WHERE property = 'house-il' AND period = 'reporting'
	AND month IN ('2017-01', '2017-07', '2018-01') GROUP BY model, month ORDER BY model, month"
$BIN/meter-report -q -o "$out/report.html" "$root/warehouse.db"
echo
echo "data root in $root, warehouse $root/warehouse.db"
echo "report: $out/report.html ($(wc -c < "$out/report.html") bytes; open it in a browser,"
echo "        or write it again with: $BIN/meter-report -o report.html $root/warehouse.db)"
