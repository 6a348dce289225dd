#!/usr/bin/env bats
# The benchmark figures (views benchmark_day and benchmark) and meter-report.
# Real data: a year of the Cambridge estate's b0 and b1, electricity and
# gas (fixtures/cambridge/), with the Met Office's Bedford temperatures of
# 2019 and England's 2019 bank holidays.  The expected figures come from
# tests/benchmark_ref.py, a second computation in plain Python over the
# same enriched hours, written from meter-warehouse(5)'s definitions.
load helper

CAM="$BATS_TEST_DIRNAME/fixtures/cambridge"
METERS="b0-electricity b0-gas b1-electricity b1-gas"
AREAS="cambridge/b0=3296.5 cambridge/b1=856.7"

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	cat > cam.xml <<'XML'
<participant id="cambridge" timezone="Europe/London">
  <contract id="grid" co2-kg-per-kwh="0.233"/>
  <contract id="gas" co2-kg-per-kwh="0.184"/>
  <property id="b0" type="university" area-m2="3296.5" region="GB">
    <office-hours days="mon-fri" from="08:00" to="18:00"/>
    <meter id="b0-electricity" quantity="electricity" contract="grid"/>
    <meter id="b0-gas" quantity="gas" contract="gas"/>
  </property>
  <property id="b1" type="university" area-m2="856.7" region="GB">
    <office-hours days="mon-fri" from="07:30" to="17:30"/>
    <meter id="b1-electricity" quantity="electricity" contract="grid"/>
    <meter id="b1-gas" quantity="gas" contract="gas"/>
  </property>
</participant>
XML
	for m in $METERS; do
		col="equipment load"
		[ "${m#*-}" = gas ] && col="heating load"
		meter-fetch -t csv -p cambridge -P "${m%%-*}" -m "$m" -Q "${m#*-}" \
			-o ts-column=datetime -o "value-column=$col" -o kind=interval \
			-o duration=1h -o timezone=UTC "$CAM/$m-2019.csv.gz" |
			meter-standardize > "std-$m.ndjson"
	done
	meter-aggregate -c cam.xml std-*.ndjson |
		meter-enrich -c cam.xml --holidays "GB=$FIX/GB_ENG-2019.json" \
			--weather "GB=$FIX/bedford-weather-2019.csv.gz" > ph.ndjson
	meter-load -c cam.xml w.db
	meter-load w.db ph.ndjson
	[ "$(wc -l < ph.ndjson)" -eq $((4 * 8760)) ]
}

setup() {
	cd "$BATS_FILE_TMPDIR" || return 1
}

# rollup_matches DB: property_day equals its recomputation from the hours,
# written here from meter-warehouse(5), not from the loader's SQL
rollup_matches() {
	sqlite3 "$1" "SELECT * FROM property_day ORDER BY 1, 2, 3, 4" > rolled
	sqlite3 "$1" "SELECT ph.participant, ph.property, ph.quantity, substr(local, 1, 10), substr(local, 1, 7),
		sum(value), sum(co2_kg), count(*), max(value), sum(value) FILTER (WHERE office_hours IS NOT NULL),
		sum(value) FILTER (WHERE office_hours = 0), sum(value) FILTER (WHERE weekday >= 6 OR holiday = '1'),
		sum(value) FILTER (WHERE local_hour < 5), count(*) FILTER (WHERE local_hour < 5),
		sum(hdd) / 24.0, sum(cdd) / 24.0, count(hdd), max(area_m2), count(*), min(local), max(local)
		FROM property_hour ph GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4" > recomputed
	diff recomputed rolled
}

# decimals the view rounds a column to
decimals() {
	case $1 in
	energy_kwh|co2_kg|hdd_intercept_kwh) echo 3 ;;
	hours_present|signature_days) echo 0 ;;
	*) echo 4 ;;
	esac
}

# agree EXPECTED GOT: "key column value" lines, the same keys, each value
# within half a unit of the view's last decimal
agree() {
	join -j1 <(awk '{ print $1 "|" $2, $3 }' "$1" | sort) \
		<(awk '{ print $1 "|" $2, $3 }' "$2" | sort) > joined
	[ "$(wc -l < joined)" -eq "$(wc -l < "$1")" ] || { echo "keys differ"; diff <(cut -d' ' -f1-2 "$1" | sort) <(cut -d' ' -f1-2 "$2" | sort); return 1; }
	while read -r key want got; do
		d=$(decimals "${key##*|}")
		awk -v w="$want" -v g="$got" -v d="$d" -v k="$key" 'BEGIN {
			e = w - g; if (e < 0) e = -e
			if (e > 0.5 * 10 ^ -d + 1e-9) { print "differs: " k " want " w " got " g; exit 1 } }' || return 1
	done < joined
}

# the view's figures as "participant/property/period/quantity column value"
view_figures() {
	for c in energy_kwh kwh_per_m2 co2_kg_per_m2 peak_kw load_factor \
		outside_office_share weekend_holiday_share baseload_kw \
		hdd_slope_kwh_per_dd hdd_intercept_kwh hdd_r2 signature_days \
		hours_present coverage; do
		sqlite3 -separator ' ' "$1" "SELECT participant || '/' || property || '/'
			|| period || '/' || quantity, '$c', $c FROM benchmark
			WHERE $c IS NOT NULL AND period = '$2'"
	done
}

ref_figures() {
	python3 "$BATS_TEST_DIRNAME/benchmark_ref.py" ph.ndjson "$1" "$2" "$3" $AREAS |
		awk -F'\t' '{ print $1 "/" $2 "/" $3 "/" $4, $5, $6 }'
}

@test "benchmark: every figure of 2019 equals a second computation in Python over the same hours" {
	ref_figures 2019-01-01 2019-12-31 2019 > want
	view_figures w.db 2019 > got
	# 2 buildings x (2 quantities x 14 + total x 7 figures)
	[ "$(wc -l < want)" -eq $((2 * (2 * 14 + 7))) ]
	agree want got
	# the figures a reader checks by eye: b0's year of electricity, and the
	# gas signature is a heating one (positive, days with temperatures)
	[ "$(sqlite3 w.db "SELECT energy_kwh FROM benchmark WHERE property = 'b0' AND period = '2019' AND quantity = 'electricity'")" = \
		"$(zcat "$CAM/b0-electricity-2019.csv.gz" | awk -F, 'NR > 1 { s += $2 } END { printf "%.3f", s }' | sed 's/0*$//; s/\.$//')" ]
	[ "$(sqlite3 w.db "SELECT hdd_slope_kwh_per_dd > 0 AND signature_days > 300 FROM benchmark WHERE property = 'b0' AND period = '2019' AND quantity = 'gas'")" = 1 ]
}

@test "benchmark: a date range of meter-report's own (--from/--to) gives the Python figures of that range" {
	meter-report -q --from 2019-03-01 --to 2019-05-31 --csv range -o range.html w.db
	ref_figures 2019-03-01 2019-05-31 2019-03-01..2019-05-31 > want
	python3 - range/ranking.csv > got <<'PY'
import csv, sys
cols = ["energy_kwh", "kwh_per_m2", "co2_kg_per_m2", "peak_kw", "load_factor",
        "outside_office_share", "weekend_holiday_share", "baseload_kw",
        "hdd_slope_kwh_per_dd", "hdd_intercept_kwh", "hdd_r2", "signature_days",
        "hours_present", "coverage"]
for r in csv.DictReader(open(sys.argv[1])):
    for c in cols:
        if r[c] != "":
            print(f"{r['participant']}/{r['property']}/{r['period']}/{r['quantity']} {c} {r[c]}")
PY
	agree want got
	# 92 days of 24 hours; March 31st has 23 in London
	[ "$(python3 -c 'import csv, sys; print(next(csv.DictReader(open(sys.argv[1])))["hours_expected"])' range/ranking.csv)" -eq $((92 * 24)) ]
}

@test "benchmark: ranks within the property type, 1 the lowest (load factor: the highest)" {
	# both buildings cover 2019 whole: ranked; b1 uses more per m2 than b0?
	run sqlite3 w.db "SELECT property, quantity, kwh_per_m2, rank_kwh_per_m2, load_factor,
		rank_load_factor FROM benchmark WHERE period = '2019' AND quantity = 'electricity' ORDER BY property"
	b0=(${lines[0]//|/ }) b1=(${lines[1]//|/ })
	if awk -v a="${b0[2]}" -v b="${b1[2]}" 'BEGIN { exit !(a < b) }'; then
		[ "${b0[3]}" -eq 1 ] && [ "${b1[3]}" -eq 2 ]
	else
		[ "${b0[3]}" -eq 2 ] && [ "${b1[3]}" -eq 1 ]
	fi
	if awk -v a="${b0[4]}" -v b="${b1[4]}" 'BEGIN { exit !(a > b) }'; then
		[ "${b0[5]}" -eq 1 ] && [ "${b1[5]}" -eq 2 ]
	else
		[ "${b0[5]}" -eq 2 ] && [ "${b1[5]}" -eq 1 ]
	fi
	[ "$(sqlite3 w.db "SELECT count(*) FROM benchmark WHERE period = '2019' AND not_ranked IS NULL")" -eq 6 ]
}

@test "property_day: every load keeps the daily roll-up equal to a recomputation from the hours" {
	cp w.db r.db
	# replace a week of b0's electricity with other values, in two loads,
	# and move b1 to another zone: the roll-up follows each time
	jq -c 'select(.property == "b0" and .quantity == "electricity" and .hour >= "2019-06-03" and .hour < "2019-06-10") | .value = .value * 2' ph.ndjson > twice.ndjson
	head -50 twice.ndjson > part1.ndjson
	tail -n +51 twice.ndjson > part2.ndjson
	meter-load r.db part1.ndjson
	meter-load --batch 7 r.db part2.ndjson
	[ "$(sqlite3 r.db "SELECT printf('%.3f', kwh) FROM property_day WHERE property = 'b0' AND quantity = 'electricity' AND local_date = '2019-06-05'")" = \
		"$(jq -r 'select(.local_date == "2019-06-05") | .value' twice.ndjson | awk '{ s += $1 } END { printf "%.3f", s }')" ]
	sed 's|timezone="Europe/London"|timezone="Asia/Tokyo"|' cam.xml > tokyo.xml
	meter-load -c tokyo.xml r.db
	rollup_matches r.db
	[ "$(sqlite3 r.db "SELECT count(*) FROM property_day WHERE property = 'b1' AND last_local LIKE '%+09:00'")" -eq $((2 * 366)) ]
}

@test "benchmark_day: a suspect hour is left out of its day, and the day is not complete" {
	cp w.db s.db
	day_before=$(sqlite3 s.db "SELECT kwh, hours_present, complete FROM benchmark_day WHERE property = 'b1' AND quantity = 'gas' AND local_date = '2019-02-12'")
	[ "${day_before##*|}" = 1 ]
	hour=2019-02-12T09:00:00Z
	v=$(sqlite3 s.db "SELECT value FROM property_hour WHERE property = 'b1' AND quantity = 'gas' AND hour = '$hour'")
	# the judge's verdict on the meter hour behind it
	sqlite3 s.db "INSERT INTO meter_hour (participant, property, meter, quantity, hour, value, unit, quality, coverage, suspect)
		VALUES ('cambridge', 'b1', 'b1-gas', 'gas', '$hour', $v, 'kWh', 'measured', 1, 'spike')"
	run sqlite3 s.db "SELECT kwh, hours_present, suspect_hours, suspect_kwh, complete FROM benchmark_day
		WHERE property = 'b1' AND quantity = 'gas' AND local_date = '2019-02-12'"
	want=$(awk -v a="${day_before%%|*}" -v b="$v" 'BEGIN { printf "%.6f", a - b }')
	IFS='|' read -r kwh n ns skwh complete <<< "$output"
	[ "$(awk -v k="$kwh" 'BEGIN { printf "%.6f", k }')" = "$want" ]
	[ "$n" -eq 23 ] && [ "$ns" -eq 1 ] && [ "$skwh" = "$v" ] && [ "$complete" -eq 0 ]
	# the year's figures leave it out too
	[ "$(sqlite3 s.db "SELECT suspect_hours, hours_present FROM benchmark WHERE property = 'b1' AND quantity = 'gas' AND period = '2019'")" = "1|8759" ]
}

# the ranking tables' cells as "participant/property/period/quantity column value"
html_cells() {
	python3 - "$1" "$2" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
ns = {"h": "http://www.w3.org/1999/xhtml"}
doc = ET.parse(sys.argv[1]).getroot()
period = sys.argv[2]
heads = {"Area m²": "area_m2", "Coverage": "coverage", "Energy kWh": "energy_kwh",
         "kWh/m²": "kwh_per_m2", "CO₂ kg/m²": "co2_kg_per_m2", "Baseload kW (# per m²)": "baseload_kw",
         "Peak kW (# per m²)": "peak_kw", "Load factor": "load_factor",
         "Outside office hours": "outside_office_share",
         "Weekends & holidays": "weekend_holiday_share",
         "Heating kWh/DD (# per m²)": "hdd_slope_kwh_per_dd", "R²": "hdd_r2",
         "Suspect hours": "suspect_hours"}
for table in doc.iterfind(".//h:table", ns):
    q = table.get("data-quantity")
    rows = table.findall("h:tr", ns)
    cols = ["".join(th.itertext()) for th in rows[0]]
    for tr in rows[1:]:
        cells = ["".join(td.itertext()) for td in tr]
        who = cells[0].replace(" / ", "/")
        for name, text in zip(cols, cells):
            if name not in heads:
                continue
            m = re.match(r"\s*([-0-9,.]+)(%?)", text)
            if not m:
                print(f"{who}/{period}/{q} {heads[name]} -")
                continue
            v = float(m.group(1).replace(",", ""))
            if m.group(2):
                v /= 100
            decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
            print(f"{who}/{period}/{q} {heads[name]} {v!r} {decimals + (2 if m.group(2) else 0)}")
PY
}

@test "meter-report: well-formed, and every number of the ranking tables is the view's, as printed" {
	run meter-report --year 2019 -o r.html w.db
	[ "$status" -eq 0 ] && [ "$output" = "meter-report: wrote r.html" ]
	xmllint --noout r.html
	[ "$(grep -c '<script' r.html)" -eq 0 ]
	! grep -Eq '(src|href)="(https?:|//|file:)' r.html
	html_cells r.html 2019 > cells
	[ "$(wc -l < cells)" -eq $((2 * 8 + 4 * 13)) ]
	while read -r key col shown dec; do
		want=$(sqlite3 w.db "SELECT coalesce($col, 'null') FROM benchmark WHERE participant || '/' || property || '/' || period || '/' || quantity = '$key'")
		if [ "$shown" = - ]; then [ "$want" = null ] || { echo "$key $col: shown - but $want"; return 1; }; continue; fi
		awk -v w="$want" -v s="$shown" -v d="$dec" -v k="$key $col" 'BEGIN {
			e = w - s; if (e < 0) e = -e
			if (e > 0.5 * 10 ^ -d + 1e-12) { print k ": shown " s ", view " w; exit 1 } }'
	done < cells
	# numbers for people: 4,571 not 4571.4
	grep -q '>[0-9]\{1,3\},[0-9][0-9][0-9]<' r.html
}

@test "meter-report: the findings are computed from the figures and the ranks, and name the participant" {
	meter-report -q --year 2019 -o r.html w.db
	# the building ranked last (the most) of the two by each figure
	b=$(sqlite3 w.db "SELECT participant || '/' || property, printf('%.1f', 100 * outside_office_share) FROM benchmark
		WHERE period = '2019' AND quantity = 'electricity' AND rank_outside_office = 2")
	grep -q "<li>${b%%|*} uses ${b##*|}% of its electricity outside office hours, the most among the 2 university buildings ranked.</li>" r.html
	b=$(sqlite3 w.db "SELECT participant || '/' || property FROM benchmark WHERE period = '2019' AND quantity = 'total' AND rank_kwh_per_m2 = 2")
	grep -q "<li>$b uses the most energy per m² of the 2 university buildings ranked: [0-9.,]* kWh/m².</li>" r.html
	b=$(sqlite3 w.db "SELECT participant || '/' || property FROM benchmark WHERE period = '2019' AND quantity = 'gas' AND rank_heating = 2")
	grep -q "<li>$b&#39;s gas rises the most with the cold for its floor area among the 2 university buildings ranked: " r.html
	# both buildings' gas baseload is 0 kW: a tie of everyone is no finding
	[ "$(sqlite3 w.db "SELECT group_concat(baseload_kw) FROM benchmark WHERE period = '2019' AND quantity = 'gas'")" = "0.0,0.0" ]
	! grep -q 'highest gas baseload' r.html
	grep -q 'highest electricity baseload' r.html
	# a period neither building covers enough: no comparisons, only why
	meter-report -q --from 2019-07-01 --to 2020-06-30 --max-buildings 0 -o half.html w.db
	! grep -q 'the most' half.html
	# 184 days of 2019 (4,417 hours with October's 25-hour day) of 366 x 24:
	# 50.28%, cut (never rounded up to a threshold) to 50.2%
	grep -q '<li>2 of the 2 buildings shown are not ranked (cambridge/b[01]: coverage 50.2% &lt; 90%; cambridge/b[01]: coverage 50.2% &lt; 90%).</li>' half.html
}

@test "meter-report --csv: each table as a CSV file; the ranking is the view's rows" {
	meter-report -q --year 2019 --csv out -o r.html w.db
	[ "$(ls out | tr '\n' ' ')" = "baseline.csv coverage.csv findings.csv monthly.csv profile.csv ranking.csv signature.csv " ]
	python3 -c 'import csv, sys; [print("|".join(r)) for r in list(csv.reader(open(sys.argv[1])))[1:]]' out/ranking.csv | sort > got
	sqlite3 w.db "SELECT * FROM benchmark WHERE period = '2019'" | sort > want
	diff want got
	# the monthly chart's numbers: the sums of the hours by local month
	[ "$(python3 -c 'import csv, sys; [print(r["kwh"]) for r in csv.DictReader(open(sys.argv[1])) if r["property"] == "b0" and r["month"] == "2019-07" and r["quantity"] == "electricity"]' out/monthly.csv)" = \
		"$(jq -r 'select(.property == "b0" and .quantity == "electricity" and .local_date[0:7] == "2019-07") | .value' ph.ndjson | awk '{ s += $1 } END { printf "%.3f", s }' | sed 's/0*$//; s/\.$//')" ]
	[ "$(wc -l < out/coverage.csv)" -eq $((2 * 365 + 1)) ]
	[ "$(wc -l < out/profile.csv)" -eq $((2 * 168 + 1)) ]
}

@test "meter-report: -p, -t and -Q select; a selection without data says so" {
	meter-report -q --year 2019 -p cambridge -t university -Q gas -o g.html w.db
	[ "$(grep -c '<table class="ranking"' g.html)" -eq 1 ]
	grep -q 'data-quantity="gas"' g.html
	meter-report -q --year 2019 -t office -o none.html w.db
	xmllint --noout none.html
	grep -q 'class="empty">No energy data for this selection (the year 2019; property type office): the warehouse has no electricity, gas, heat or cooling hours' none.html
	meter-report -q --year 2019 -Q heat -o heat.html w.db
	grep -q 'No energy data for this selection (the year 2019; quantity heat): the warehouse has no heat hours of such buildings' heat.html
	[ "$(grep -c '<svg' none.html)" -eq 0 ]
	meter-report -q --year 2019 -p nobody -o none2.html w.db
	grep -q 'No energy data for this selection' none2.html
}

@test "meter-report: one building with one day of data gets its charts and a clear word where one cannot be drawn" {
	meter-load -c cam.xml one.db
	jq -c 'select(.property == "b1" and .quantity == "electricity" and .local_date == "2019-03-05")' ph.ndjson > day.ndjson
	[ "$(wc -l < day.ndjson)" -eq 24 ]
	meter-load one.db day.ndjson
	meter-report -q -o one.html one.db
	xmllint --noout one.html
	grep -q 'No energy signature: it needs 7 complete days with outside temperatures (meter-enrich --weather); this building has 1.' one.html
	[ "$(grep -c '<svg' one.html)" -eq 3 ]
	# the year up to its last day, 2018-03-06 to 2019-03-05: 24 of 8,760
	# hours (0.27%, cut to 0.2%); its gas meter, configured today, is not
	# missing from 2019
	grep -q '<li>1 of the 1 buildings shown is not ranked (cambridge/b1: coverage 0.2% &lt; 90%).</li>' one.html
	meter-report -q --csv onecsv -o one.html one.db
	[ "$(python3 -c 'import csv, sys; r = next(csv.DictReader(open(sys.argv[1]))); print(r["first_date"], r["last_date"], r["hours_expected"])' onecsv/ranking.csv)" = "2018-03-06 2019-03-05 8760" ]
}

@test "meter-report: bad options and a missing warehouse are refused with the reason" {
	run meter-report --year 19 w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for --year: "19" (a year such as 2024)'* ]]
	run meter-report --from 2019-03-01 w.db
	[ "$status" -eq 2 ] && [[ "$output" == *"--from and --to go together"* ]]
	run meter-report --from 2019-05-01 --to 2019-03-01 w.db
	[ "$status" -eq 2 ] && [[ "$output" == *"--from 2019-05-01 is after --to 2019-03-01"* ]]
	run meter-report --from 2019-02-30 --to 2019-03-01 w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for --from: "2019-02-30"'* ]]
	run meter-report -Q water w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for -Q: "water" (total, electricity, gas, heat or cooling)'* ]]
	run meter-report -p '../x' w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for -p'* ]]
	run meter-report nowhere.db
	[ "$status" -eq 2 ] && [[ "$output" == *"nowhere.db: no such warehouse"* ]]
	[ ! -e nowhere.db ]
	run meter-report -o /nonexistent/r.html w.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: -o /nonexistent/r.html: no such directory /nonexistent/" ]
	# never the warehouse itself, nor a database that is not one
	cp w.db same.db
	run meter-report -o same.db same.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: -o same.db is the warehouse itself: name another file" ]
	cmp w.db same.db
	sqlite3 other.db 'CREATE TABLE t (x)'
	run meter-report -o o.html other.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: other.db: not a meter warehouse (no meter tables in it): give the database meter-load or meter-hourly writes" ]
	[ "$(sqlite3 other.db .tables)" = t ]
	run meter-report "$BATS_FILE_TMPDIR"
	[ "$status" -eq 2 ] && [[ "$output" == *": not a meter warehouse (not a file): give the database meter-load or meter-hourly writes" ]]
	# the page is replaced, never written through a link, nor over the
	# warehouse by --csv
	ln -s same.db link.html
	run meter-report -o link.html same.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: -o link.html is not a regular file (a symbolic link): name a file; the page is replaced, never written through a link" ]
	mkdir csvw && cp w.db csvw/ranking.csv
	run meter-report --csv csvw csvw/ranking.csv
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: --csv csvw/ranking.csv is the warehouse itself: name another file" ]
	cmp w.db csvw/ranking.csv
	echo 'not a database at all, but long enough to be looked at by SQLite as one' > text.db
	run meter-report text.db
	[ "$status" -eq 2 ] && [[ "$output" == "meter-report: text.db: not a meter warehouse (file is not a database)"* ]]
	run meter-report --title "$(printf 'a\tb')" w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for --title: "a\x09b" (UTF-8 text without control characters)'* ]]
	run meter-report --max-rows -1 w.db
	[ "$status" -eq 2 ] && [[ "$output" == *"bad value for --max-rows"* ]]
}

@test "meter-report: beyond --max-rows and --max-buildings the page says what it leaves out" {
	meter-report -q --year 2019 --max-rows 1 --max-buildings 1 -o small.html w.db
	grep -q '1 more building not shown (--max-rows 1): narrow the selection with -p or -t, or see every row with --csv.' small.html
	grep -q 'Charts of 1 more building not shown (--max-buildings 1)' small.html
	[ "$(grep -c '<section class="building">' small.html)" -eq 1 ]
}

@test "schema 4: a warehouse of schema 3 gets its daily roll-up from the hours it holds when it is opened" {
	cp w.db old.db
	# what a schema 3 warehouse holds: meter_hour a table, no roll-up, no
	# benchmark views
	sqlite3 old.db "DROP VIEW meter_hour;
		CREATE TABLE meter_hour (participant TEXT NOT NULL, property TEXT,
		meter TEXT NOT NULL, quantity TEXT NOT NULL, hour TEXT NOT NULL,
		value REAL NOT NULL, unit TEXT NOT NULL, quality TEXT NOT NULL,
		coverage REAL NOT NULL, suspect TEXT,
		PRIMARY KEY (hour, participant, meter, quantity)) WITHOUT ROWID;
		INSERT INTO meter_hour SELECT participant, property, meter, quantity,
		hour, value, unit, quality, coverage, suspect FROM meter_hour_store;
		DROP TABLE meter_hour_store"
	sqlite3 old.db "DROP VIEW baseline_savings; DROP TABLE baseline_fit;
		DROP TABLE baseline_hour; DROP TABLE baseline_day;
		DROP VIEW benchmark; DROP VIEW benchmark_day; DROP TABLE property_day;
		DELETE FROM settings WHERE name IN
		('baseload_percentile', 'signature_min_days'); PRAGMA user_version = 3"
	meter-report -q --year 2019 -o old.html old.db
	[ "$(sqlite3 old.db 'PRAGMA user_version')" -eq 7 ]
	diff <(sqlite3 w.db "SELECT * FROM meter_hour ORDER BY 1, 3, 4, 5") \
		<(sqlite3 old.db "SELECT * FROM meter_hour ORDER BY 1, 3, 4, 5")
	diff <(sqlite3 w.db "SELECT * FROM property_day ORDER BY 1, 2, 3, 4") \
		<(sqlite3 old.db "SELECT * FROM property_day ORDER BY 1, 2, 3, 4")
	diff <(sqlite3 w.db "SELECT * FROM benchmark ORDER BY 1, 2, 4, 7") \
		<(sqlite3 old.db "SELECT * FROM benchmark ORDER BY 1, 2, 4, 7")
}

@test "benchmark: figures equal but for the last bits of their sums tie in rank (as summed in any order)" {
	cp w.db tie.db
	# b2: b0 again, each hour's energy a ten-trillionth more, as a sum in
	# another order may come out
	sed 's|</participant>|<property id="b2" type="university" area-m2="3296.5" region="GB"><office-hours days="mon-fri" from="08:00" to="18:00"/><meter id="b2-electricity" quantity="electricity" contract="grid"/><meter id="b2-gas" quantity="gas" contract="gas"/></property></participant>|' cam.xml > tie.xml
	meter-load -q -c tie.xml tie.db
	jq -c 'select(.property == "b0") | .property = "b2" | .value *= (1 + 1e-13)' ph.ndjson > b2.ndjson
	[ "$(wc -l < b2.ndjson)" -eq $((2 * 8760)) ]
	meter-load -q tie.db b2.ndjson
	ranks() {
		sqlite3 tie.db "SELECT group_concat(property || '=' || rank_kwh_per_m2 || '/' || rank_baseload, ' ') FROM (SELECT * FROM benchmark WHERE period = '2019' AND quantity = 'electricity' ORDER BY property)"
	}
	# the kWh differ, the ranks do not
	[ "$(sqlite3 tie.db "SELECT (SELECT sum(value) FROM property_hour WHERE property = 'b2' AND quantity = 'electricity') > (SELECT sum(value) FROM property_hour WHERE property = 'b0' AND quantity = 'electricity')")" -eq 1 ]
	[ "$(ranks)" = "b0=2/2 b1=1/1 b2=2/2" ]
}

@test "meter-report: a participant's names are text: escaped in the page, never a formula in the CSV" {
	# the type and the participant's own name come from its configuration
	sed 's|type="university"|type="=HYPERLINK(\&quot;http://x\&quot;)\&lt;script\&gt;"|' cam.xml > evil.xml
	meter-load -c evil.xml w2.db
	jq -c 'select(.local_date == "2019-03-05")' ph.ndjson | meter-load w2.db
	meter-report -q --csv evilcsv -o evil.html w2.db
	xmllint --noout evil.html
	! grep -q '<script' evil.html
	grep -q '=HYPERLINK(&quot;http://x&quot;)&lt;script&gt;' evil.html
	python3 -c 'import csv, sys; print({r["type"] for r in csv.DictReader(open(sys.argv[1]))})' evilcsv/ranking.csv > types
	[ "$(cat types)" = "{'\\'=HYPERLINK(\"http://x\")<script>'}" ]
}

@test "benchmark: over a range without weekends the share is 0, and R² is withheld with the slope" {
	meter-report -q --from 2019-01-07 --to 2019-01-11 --csv wk -o wk.html w.db
	python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["property"], r["quantity"], r["weekend_holiday_share"], r["signature_days"], r["hdd_slope_kwh_per_dd"] or "-", r["hdd_r2"] or "-")' wk/ranking.csv | sort > got
	# Monday to Friday: no weekend energy; five complete days, fewer than
	# the seven a signature needs
	[ "$(awk '$3 != "0.0" { print }' got)" = "" ]
	[ "$(awk '$2 != "total" && !($4 == 5 && $5 == "-" && $6 == "-") { print }' got)" = "" ]
	[ "$(wc -l < got)" -eq 6 ]
}

@test "benchmark: the total's CO2 only when every quantity has one" {
	sed 's| contract="gas"||' cam.xml > nogas.xml
	meter-load -c nogas.xml ng.db
	jq -c 'select(.local_date >= "2019-03-01" and .local_date <= "2019-03-10") | del(.co2_kg | select(false))' ph.ndjson |
		jq -c 'if .quantity == "gas" then del(.co2_kg) else . end' | meter-load ng.db
	run sqlite3 ng.db "SELECT quantity, co2_kg IS NULL FROM benchmark WHERE property = 'b0' AND period = '2019' ORDER BY quantity"
	[ "$output" = "electricity|0
gas|1
total|1" ]
}

@test "meter-report: a page while loaders write is one snapshot, never a failure" {
	cp w.db busy.db
	jq -c 'select(.local_date == "2019-03-05")' ph.ndjson > busy.ndjson
	( for _ in $(seq 30); do meter-load busy.db busy.ndjson; done ) &
	loaders=$!
	fails=0
	for i in $(seq 15); do
		meter-report -q -Q gas -p nobody -o "busy$i.html" busy.db || fails=$((fails + 1))
	done
	wait "$loaders"
	[ "$fails" -eq 0 ]
}

@test "meter-report: names a page cannot carry become U+FFFD, and a fall with the cold is no heating finding" {
	meter-load -c cam.xml ctl.db
	jq -c 'select(.local_date >= "2019-03-01" and .local_date <= "2019-03-20")' ph.ndjson | meter-load ctl.db
	# a type with a control character and a byte that is not UTF-8 (the
	# configuration refuses neither), and a warehouse named so
	sqlite3 ctl.db "UPDATE property SET type = 'uni' || char(1) || CAST(x'ff' AS TEXT)"
	cp ctl.db "$(printf 'w\001.db')"
	meter-report -q --from 2019-03-01 --to 2019-03-20 -o ctl.html "$(printf 'w\001.db')"
	xmllint --noout ctl.html
	grep -q 'uni��' ctl.html
	grep -q '<code>w�.db</code>' ctl.html
	# electricity exactly linear in the degree days: a finding (R2 1); the
	# same falling as it gets colder: negative slopes, ranked, no finding
	sqlite3 ctl.db "UPDATE property_day SET kwh = 1000 + 20 * hdd WHERE quantity = 'electricity' AND property = 'b0';
		UPDATE property_day SET kwh = 1000 + 40 * hdd WHERE quantity = 'electricity' AND property = 'b1'"
	meter-report -q --from 2019-03-01 --to 2019-03-20 -o pos.html ctl.db
	grep -q "<li>cambridge/b1&#39;s electricity rises the most with the cold for its floor area among the 2 uni�� buildings ranked: 40.00 kWh a day per heating degree day (R² 1.00).</li>" pos.html
	sqlite3 ctl.db "UPDATE property_day SET kwh = 1000 - 20 * hdd WHERE quantity = 'electricity' AND property = 'b0';
		UPDATE property_day SET kwh = 1000 - 40 * hdd WHERE quantity = 'electricity' AND property = 'b1'"
	meter-report -q --from 2019-03-01 --to 2019-03-20 --csv neg -o neg.html ctl.db
	[ "$(python3 -c 'import csv, sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if r["quantity"] == "electricity" and float(r["hdd_slope_kwh_per_dd"]) < 0 and r["rank_heating"]))' neg/ranking.csv)" -eq 2 ]
	! grep -q 'electricity rises' neg.html
}

@test "benchmark: a meter configured after a period does not make the period incomplete" {
	cp w.db newm.db
	sed 's|<meter id="b0-gas" quantity="gas" contract="gas"/>|&<meter id="b0-heat" quantity="heat"/>|' cam.xml > newm.xml
	meter-load -c newm.xml newm.db
	# configured now (2026), after 2019: b0's 2019 stays whole and ranked
	[ "$(sqlite3 newm.db "SELECT hours_present, not_ranked IS NULL FROM benchmark WHERE property = 'b0' AND period = '2019' AND quantity = 'total'")" = "8760|1" ]
	# configured before the period, it would count as missing
	sqlite3 newm.db "UPDATE meter_seen SET first_configured = '2018-06-01T00:00:00Z' WHERE meter = 'b0-heat'"
	[ "$(sqlite3 newm.db "SELECT hours_present, not_ranked FROM benchmark WHERE property = 'b0' AND period = '2019' AND quantity = 'total'")" = "0|coverage 0.0% < 90%" ]
}

@test "meter-report: the charts leave out suspect hours as the tables do; a day without one quantity is not covered" {
	cp w.db sus.db
	hour=2019-03-12T10:00:00Z
	v=$(sqlite3 sus.db "SELECT value FROM property_hour WHERE property = 'b0' AND quantity = 'electricity' AND hour = '$hour'")
	sqlite3 sus.db "INSERT INTO meter_hour (participant, property, meter, quantity, hour, value, unit, quality, coverage, suspect)
		VALUES ('cambridge', 'b0', 'b0-electricity', 'electricity', '$hour', $v, 'kWh', 'measured', 1, 'spike')"
	# and b1's gas of 2019-03-20 gone
	sqlite3 sus.db "DELETE FROM property_hour WHERE property = 'b1' AND quantity = 'gas' AND local LIKE '2019-03-20%';
		DELETE FROM property_day WHERE property = 'b1' AND quantity = 'gas' AND local_date = '2019-03-20'"
	meter-report -q --from 2019-03-01 --to 2019-03-31 --csv sus -o sus.html sus.db
	csvget() { python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if all(r[k] == v for k, v in (a.split("=") for a in sys.argv[3:])): print(r[sys.argv[2]])' "$@"; }
	[ "$(csvget sus/monthly.csv kwh property=b0 quantity=electricity)" = "$(csvget sus/ranking.csv energy_kwh property=b0 quantity=electricity)" ]
	[ "$(csvget sus/monthly.csv hours property=b0 quantity=electricity)" -eq $((31 * 24 - 1 - 1)) ]
	[ "$(csvget sus/coverage.csv hours property=b1 local_date=2019-03-20)" = 0 ]
	[ "$(csvget sus/coverage.csv hours property=b1 local_date=2019-03-21)" = 24 ]
	[ "$(csvget sus/coverage.csv day_hours property=b1 local_date=2019-03-31)" = 23 ]
	[ "$(csvget sus/coverage.csv hours property=b0 local_date=2019-03-12)" = 23 ]
}

@test "meter-report -Q total: the buildings keep their average week and energy signature" {
	meter-report -q -Q total --year 2019 -o tot.html w.db
	[ "$(grep -c 'No energy signature' tot.html)" -eq 0 ]
	[ "$(grep -c 'The average week: electricity' tot.html)" -eq 2 ]
	[ "$(grep -c 'Energy signature: daily gas against heating degree days' tot.html)" -eq 2 ]
}

@test "meter-report: command-line edges are said before any work, and nothing is made for a warehouse that is not there" {
	run meter-report --csv newdir nowhere.db
	[ "$status" -eq 2 ] && [ ! -e newdir ]
	run meter-report --csv w.db w.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: --csv w.db is not a directory: name one (it is made if missing)" ]
	mkdir -p adir
	run meter-report -o adir w.db
	[ "$status" -eq 2 ] && [ "$output" = "meter-report: -o adir is a directory: name a file" ]
	run meter-report --title '' w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for --title: ""'* ]]
	run meter-report -t '' w.db
	[ "$status" -eq 2 ] && [[ "$output" == *'bad value for -t: ""'* ]]
	meter-report -q --from 2015-01-01 --to 2019-12-31 --max-buildings 1 -o long.html w.db
	grep -q 'The period has 1,826 days: the calendar shows at most 1,100 (three years)' long.html
}

@test "property_day: a configuration moving a property while a loader runs leaves hours and roll-up in the new zone" {
	cp w.db zc.db
	jq -c 'select(.property == "b1") | .value += 7' ph.ndjson > kv.ndjson
	meter-load --batch 20 zc.db kv.ndjson &
	loader=$!
	sleep 0.3
	sed 's|<property id="b1" type="university"|<property id="b1" type="university" timezone="Pacific/Auckland"|' cam.xml > akl.xml
	meter-load -c akl.xml zc.db
	wait "$loader"
	# every hour of b1 in Auckland's calendar, whenever the loader wrote it
	[ "$(sqlite3 zc.db "SELECT DISTINCT timezone FROM property_hour WHERE property = 'b1'")" = Pacific/Auckland ]
	rollup_matches zc.db
}
