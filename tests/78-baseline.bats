#!/usr/bin/env bats
# meter-baseline: CalTRACK's daily model against an independent reference
# (tests/baseline_ref.py: numpy's least squares over the same design,
# written from the specification alone) on the OpenEEmeter Illinois home
# (its real hourly kWh and station temperatures), a synthetic building with
# known coefficients and savings (tests/baseline_synth.py), the statistics
# against their definitions, standard input, data sufficiency, bad input,
# the report.  The hourly model's fits are in 79-baseline-hourly.bats.
load helper
load baseline

setup_file() {
	il_setup
}

@test "the daily model of the Illinois home equals the reference: balance points, coefficients, statistics, savings, every day" {
	il_warehouse
	reference daily > want.json
	run -0 --separate-stderr meter-baseline -m daily --expected \
		--baseline "$BASE" --reporting "$REP" w.db
	printf '%s\n' "$output" > out.ndjson
	head -1 out.ndjson > fit.json
	same_fit fit.json want.json
	# CalTRACK's choice here: both terms, the grid's 53 and 67 degF
	[ "$(jq -r '[.model_type, .heating_balance_f, .cooling_balance_f] | @tsv' fit.json)" = "$(printf 'hdd_cdd\t53\t67')" ]
	# every reporting day's expectation, and the stored days
	jq -r 'select(.period == "reporting") | [.local_date, .expected] | @tsv' out.ndjson > got
	jq -r '.days[] | @tsv' want.json > want
	[ "$(wc -l < got)" -eq 399 ]
	join got want | awk '{ d = $2 - $3; if (d < 0) d = -d; if (d > 1e-6 * ($3 < 0 ? -$3 : $3) + 1e-8) bad++ }
		END { exit bad > 0 || NR != 399 }'
	[ "$(sqlite3 w.db "SELECT count(*), sum(period = 'baseline') FROM baseline_day")" = "765|366" ]
	[ "$(sqlite3 w.db "SELECT status, model_type, n, parameters FROM baseline_fit WHERE model = 'daily'")" = "fitted|hdd_cdd|366|3" ]
	[[ "$stderr" == *"il/home electricity: daily model hdd_cdd on 366 days: R2 0.775, CVRMSE 25.1%, NMBE 0.00%; savings 937.3 +/- 294.2"* ]]
}

@test "CVRMSE, NMBE and R2 equal their definitions, and the savings view adds up to the fit's savings" {
	il_warehouse
	run -0 meter-baseline -q -m daily --expected --baseline "$BASE" --reporting "$REP" w.db
	printf '%s\n' "$output" > out.ndjson
	# the days' actual usage summed by Python from the source file
	zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | python3 -c '
import csv, json, math, sys
from datetime import datetime
from zoneinfo import ZoneInfo
tz = ZoneInfo("America/Chicago")
use = {}
for row in csv.DictReader(sys.stdin):
    if row["value"]:
        d = datetime.fromisoformat(row["start"]).astimezone(tz).date().isoformat()
        use[d] = use.get(d, 0) + float(row["value"])
lines = [json.loads(l) for l in open("out.ndjson")]
fit = lines[0]
base = [(use[r["local_date"]], r["expected"]) for r in lines[1:] if r["period"] == "baseline"]
n, k = len(base), fit["parameters"]
mean = sum(y for y, _ in base) / n
sse = sum((y - e) ** 2 for y, e in base)
sst = sum((y - mean) ** 2 for y, _ in base)
want = {"cvrmse": math.sqrt(sse / (n - k)) / mean,
        "nmbe": sum(y - e for y, e in base) / ((n - k) * mean),
        "r2": 1 - sse / sst}
for key, w in want.items():
    # the expectations as written carry nine decimals
    if abs(fit[key] - w) > 1e-7 * max(abs(w), 1e-3):
        sys.exit("%s: %r, by its definition %r" % (key, fit[key], w))
print(n)' > n
	[ "$(cat n)" -eq 366 ]
	# the view: the reporting days' savings sum to the fit's, cumulatively
	jq -r 'select(.status) | .savings' out.ndjson > want
	sqlite3 w.db "SELECT round(sum(savings), 2), count(*) FROM baseline_savings
		WHERE model = 'daily' AND period = 'reporting'" > got
	awk -F'|' -v w="$(cat want)" '{ d = $1 - w; exit !((d < 0 ? -d : d) < 0.5 && $2 == 399) }' got
	sqlite3 w.db "SELECT cumulative_savings FROM baseline_savings
		WHERE model = 'daily' AND period = 'reporting' ORDER BY local_date DESC LIMIT 1" > last
	awk -v w="$(cat want)" '{ d = $1 - w; exit !((d < 0 ? -d : d) < 0.01) }' last
}

@test "property hours on standard input give the warehouse's fits, and the counts add up" {
	il_warehouse
	run -0 meter-baseline -q -n -m daily --baseline "$BASE" --reporting "$REP" w.db
	printf '%s\n' "$output" > from-db
	run -0 meter-baseline -q -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < ph.ndjson
	printf '%s\n' "$output" > from-stdin
	cmp from-db from-stdin
	# -n stored nothing
	[ "$(sqlite3 w.db 'SELECT count(*) FROM baseline_fit')" -eq 0 ]
	# a full standard output is said, exit 3
	run -3 bash -c 'meter-baseline -q -m daily -c il.xml --baseline "$1" - < ph.ndjson > /dev/full' _ "$BASE"
	[ "$output" = "meter-baseline: write error on standard output: No space left on device" ]
	# a reading, a line that is no JSON, another participant's building,
	# a gas hour (-Q electricity): rejected with reasons, or counted apart
	{ cat ph.ndjson
	  raw m1 2016-01-01T00:00:00Z 5
	  echo '{"participant":'
	  sed -n 1p ph.ndjson | sed 's/"property":"home"/"property":"shed"/'
	  sed -n 2p ph.ndjson | sed 's/"electricity"/"gas"/'
	} > mixed.ndjson
	run -1 --separate-stderr meter-baseline -m daily -Q electricity -c il.xml --baseline "$BASE" --reporting "$REP" - < mixed.ndjson
	[ "$(printf '%s\n' "$output" | head -1)" = "$(head -1 from-db)" ]
	n=$(wc -l < ph.ndjson)
	[[ "$stderr" == *"read $((n + 4)) records: $n property hours taken, 1 of other quantities or buildings, 3 rejected"* ]]
	[[ "$stderr" == *"-:$((n + 1)): a raw reading (it has \"ts\"): run meter-standardize first"* ]]
	[[ "$stderr" == *"-:$((n + 2)): truncated JSON object"* ]]
	[[ "$stderr" == *"-:$((n + 3)): property not in the configurations (-c): its time zone is unknown"* ]]
	[[ "$stderr" == *"3 records rejected"* ]]
}

@test "a synthetic building's balance points, coefficients and savings are recovered by the daily model" {
	syn_config
	python3 "$BATS_TEST_DIRNAME/baseline_synth.py" daily > syn.ndjson
	run -0 meter-baseline -q -m daily -c syn.xml --baseline 2021-01-01..2021-12-31 - < syn.ndjson
	printf '%s\n' "$output" > fit.json
	# made with 20 + 1.5 HDD(59 degF) + 2.5 CDD(72 degF), 10 % saved in 2022
	jq -e '.model_type == "hdd_cdd" and .heating_balance_f == 59 and .cooling_balance_f == 72
		and (.intercept - 20 | fabs) < 0.2 and (.beta_hdd - 1.5 | fabs) < 0.03
		and (.beta_cdd - 2.5 | fabs) < 0.05 and .r2 > 0.98 and .n == 365
		and .reporting_from == "2022-01-01" and .reporting_n == 365
		and (.savings / .expected - 0.10 | fabs) < 0.005
		and .fsu_90 > 0 and .fsu_90 < 0.1' fit.json
}

@test "data sufficiency: a short baseline and a month with too few days are not fitted, the reason printed and stored" {
	il_warehouse
	run -1 --separate-stderr meter-baseline --baseline 2016-01-01..2016-10-26 w.db
	[ "$(printf '%s\n' "$output" | jq -r '[.model, .status, .reason] | @tsv')" = "$(printf 'daily\tinsufficient\tbaseline period of 300 days: at least 365 are needed; give --baseline a year\nhourly\tinsufficient\tbaseline period of 300 days: at least 365 are needed; give --baseline a year')" ]
	[[ "$stderr" == *"il/home electricity: daily model not fitted: baseline period of 300 days"* ]]
	[ "$(sqlite3 w.db "SELECT model, status, reason IS NOT NULL, n IS NULL FROM baseline_fit ORDER BY model")" = "$(printf 'daily|insufficient|1|1\nhourly|insufficient|1|1')" ]
	[ "$(sqlite3 w.db 'SELECT count(*) FROM baseline_day')" -eq 0 ]
	# four days of February 2016 gone: 25 of its 29 days, 600 of 696 hours
	sqlite3 w.db "DELETE FROM property_hour WHERE local >= '2016-02-10' AND local < '2016-02-14'"
	python3 -c 'print("%.1f%%" % (100 * 25 / 29))' > pct
	[ "$(cat pct)" = "86.2%" ]
	run -1 meter-baseline -q --baseline "$BASE" w.db
	[ "$(printf '%s\n' "$output" | jq -r '.reason')" = "$(printf 'month 02: %s of its baseline days have data: at least 90%% are needed\nmonth 02: %s of its baseline hours have data: at least 90%% are needed' "$(cat pct)" "$(python3 -c 'print("%.1f%%" % (100 * 600 / 696))')")" ]
	# a replaced fit leaves no expectation of the one before
	[ "$(sqlite3 w.db "SELECT count(*) FROM baseline_fit WHERE status = 'insufficient'")" -eq 2 ]
	# hours loaded without their weather: the reason says what is missing
	meter-load -c il.xml nw.db
	jq -c 'del(.outside_temp_c, .hdd, .cdd)' ph.ndjson | meter-load nw.db
	run -1 meter-baseline -q --baseline "$BASE" nw.db
	[ "$(printf '%s\n' "$output" | jq -r '.reason')" = "$(printf '%s\n' \
		"0.0% of the baseline's days have data: at least 90% are needed (366 days have usage but no outside temperature: load the hours enriched with meter-enrich --weather for the building's region)" \
		"0.0% of the baseline's hours have data: at least 90% are needed (8784 hours have usage but no outside temperature: load the hours enriched with meter-enrich --weather for the building's region)")" ]
}

@test "a second fit replaces the first; without --reporting it runs to the last day with data" {
	il_warehouse
	run -0 meter-baseline -q -m daily --baseline "$BASE" --reporting 2017-01-05..2017-01-31 w.db
	run -0 meter-baseline -q -m daily --baseline "$BASE" w.db
	printf '%s\n' "$output" > fit.json
	# the file's last hour begins 2018-02-08T00:00-06:00; that day has one
	# hour of temperature, too few for a mean: no expectation
	[ "$(zcat "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | tail -1 | cut -c1-10)" = 2018-02-08 ]
	[ "$(jq -r '[.reporting_from, .reporting_to] | @tsv' fit.json)" = "$(printf '2016-12-26\t2018-02-08')" ]
	[ "$(sqlite3 w.db "SELECT count(*), max(reporting_to) FROM baseline_fit")" = "1|2018-02-08" ]
	[ "$(sqlite3 w.db "SELECT count(*), min(local_date), max(local_date) FROM baseline_day")" = "775|2015-12-26|2018-02-07" ]
}

@test "bad arguments are refused with what to do, before anything is read" {
	il_warehouse
	run -2 meter-baseline w.db
	[[ "$output" == *"no --baseline given: name the baseline period, such as --baseline 2023-01-01..2023-12-31"* ]]
	run -2 meter-baseline --baseline 2016-01-01 w.db
	[[ "$output" == *'bad value for --baseline: "2016-01-01" (two dates, first and last day: 2024-01-01..2024-12-31)'* ]]
	run -2 meter-baseline --baseline 2016-12-31..2016-01-01 w.db
	[[ "$output" == *"--baseline 2016-12-31..2016-01-01: the first day is after the last"* ]]
	run -2 meter-baseline --baseline 2016-02-30..2016-12-31 w.db
	[[ "$output" == *"bad value for --baseline"* ]]
	run -2 meter-baseline --baseline "$BASE" --reporting 2016-06-01..2016-12-31 w.db
	[[ "$output" == *"the reporting period must begin after the baseline ends"* ]]
	run -2 meter-baseline --baseline 2000-01-01..2000-12-31 --reporting 2001-01-01..2020-12-31 w.db
	[[ "$output" == *"from the baseline's first day to the reporting period's last is more than 20 years: give shorter periods"* ]]
	run -2 meter-baseline --baseline "$BASE" -Q water w.db
	[[ "$output" == *'bad value for -Q: "water" (electricity, gas, heat or cooling)'* ]]
	run -2 meter-baseline --baseline "$BASE" -m weekly w.db
	[[ "$output" == *'bad value for -m: "weekly" (daily, hourly or both)'* ]]
	run -2 meter-baseline --baseline "$BASE" --max-p 0 w.db
	[[ "$output" == *'bad value for --max-p: "0"'* ]]
	run -2 meter-baseline --baseline "$BASE" -p ../x w.db
	[[ "$output" == *'bad value for -p: "../x" (a participant id)'* ]]
	run -2 meter-baseline --baseline "$BASE" - < ph.ndjson
	[[ "$output" == *"property hours on standard input need -c participant.xml"* ]]
	run -2 meter-baseline --baseline "$BASE" -c il.xml w.db
	[[ "$output" == *"-c goes with property hours on standard input (-)"* ]]
	run -2 meter-baseline --baseline "$BASE" nowhere.db
	[[ "$output" == *"nowhere.db"* ]]
	[ ! -e nowhere.db ]
	run -2 meter-baseline --baseline "$BASE" -p nobody w.db
	[[ "$output" == *"no energy hours of nobody in the warehouse: load them first (meter-load), or check -p, -P and -Q"* ]]
	[ "$(sqlite3 w.db 'SELECT count(*) FROM baseline_fit')" -eq 0 ]
}

@test "meter-report shows a fitted building's actual against expected by month, the savings with their uncertainty, and why a model was not fitted" {
	il_warehouse
	meter-baseline -q -m daily --baseline "$BASE" --reporting "$REP" w.db > fit.json
	run -1 meter-baseline -q -m hourly --baseline 2016-01-01..2016-10-26 w.db
	meter-report -q --from 2017-01-01 --to 2018-02-07 --csv csv -o r.html w.db
	xmllint --noout r.html
	# the months by sqlite from the hours and the stored days, apart from
	# the view: days with every hour in, the reporting period's
	sqlite3 w.db "SELECT d.month, sum(d.actual), sum(d.expected), count(*) FROM (
		SELECT substr(b.local_date, 1, 7) AS month, b.expected,
		  (SELECT sum(value) FROM property_hour p WHERE substr(p.local, 1, 10) = b.local_date) AS actual,
		  (SELECT count(*) FROM property_hour p WHERE substr(p.local, 1, 10) = b.local_date) AS n, b.hours
		FROM baseline_day b WHERE b.period = 'reporting') d WHERE d.n = d.hours GROUP BY d.month" > want
	python3 - > got <<-'PY'
	import re
	page = open("r.html").read()
	part = page.split("<h4>Baseline: electricity, daily model</h4>")[1].split("</table>")[0]
	for row in re.findall(r"<tr><td>(\d{4}-\d\d)</td>(.*?)</tr>", part):
	    cells = re.findall(r'<td class="num">([^<]*)</td>', row[1])
	    print("%s|%s|%s|%s" % (row[0], cells[0], cells[1], cells[4]))
	PY
	[ "$(wc -l < want)" -eq 14 ]
	# the page's one decimal against the sums (the view rounds each day)
	paste -d'|' want got | tr -d , | awk -F'|' '$1 != $5 || $4 != $8 { bad++ }
		{ for (i = 2; i <= 3; i++) { d = $i - $(i + 4); if (d < 0) d = -d; if (d > 0.06) bad++ } }
		END { exit bad > 0 || NR != 14 }'
	# the savings line: the fit's figures, the uncertainty FSU x savings
	line=$(jq -r '"savings of <strong>\(.savings | round | tostring) kWh</strong> (\(.savings / .expected * 1000 | round / 10 | tostring)% of expected) ± \(.fsu_90 * .savings | round | tostring) kWh at 90% confidence"' fit.json)
	[ "$line" = "savings of <strong>937 kWh</strong> (8.3% of expected) ± 294 kWh at 90% confidence" ]
	grep -qF "$line" r.html
	grep -qF 'Heating balance point 11.7 °C (53 °F). Cooling balance point 19.4 °C (67 °F).' r.html
	grep -qF '<h4>Baseline: electricity, hourly model</h4>' r.html
	grep -qF '<p class="empty">Not fitted: baseline period of 300 days: at least 365 are needed; give --baseline a year.</p>' r.html
	# the CSV: the page's months
	[ "$(grep -c '"il","home","electricity","daily"' csv/baseline.csv)" -eq 14 ]
}

@test "hostile hours: an impossible temperature is missing, a repeated hour the last one given, nothing to fit is said; the fit is what clean hours give" {
	il_warehouse
	meter-baseline -q -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < ph.ndjson > clean.json
	# a baseline hour at 1e300 degC and one at -1e15: taken as missing,
	# which leaves their days with 23 of 24 temperatures, as without them
	hot=$(grep -n '"hour":"2016-03-01T12:00:00Z"' ph.ndjson | cut -d: -f1)
	cold=$(grep -n '"hour":"2017-07-01T12:00:00Z"' ph.ndjson | cut -d: -f1)
	awk -v a="$hot" -v b="$cold" 'NR == a { sub(/"outside_temp_c":[^,}]*/, "\"outside_temp_c\":1e300") }
		NR == b { sub(/"outside_temp_c":[^,}]*/, "\"outside_temp_c\":-1e15") } { print }' ph.ndjson > hostile.ndjson
	awk -v a="$hot" -v b="$cold" 'NR == a || NR == b { sub(/,"outside_temp_c":[^,}]*/, "") } { print }' ph.ndjson > without.ndjson
	[ "$(grep -c 1e300 hostile.ndjson)" -eq 1 ] && [ "$(grep -c -- -1e15 hostile.ndjson)" -eq 1 ]
	run -0 --separate-stderr meter-baseline -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < hostile.ndjson
	printf '%s\n' "$output" > hostile.json
	meter-baseline -q -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < without.ndjson > without.json
	cmp hostile.json without.json
	[[ "$stderr" == *"il/home electricity: 2 outside temperatures beyond -90..60 degC taken as missing"* ]]
	# an hour given again later with another value: the later one counts
	first=$(sed -n 100p ph.ndjson)
	{ cat ph.ndjson; sed 's/"value":[^,]*/"value":2400/' <<<"$first"; } > twice.ndjson
	{ sed '100d' ph.ndjson; sed 's/"value":[^,]*/"value":2400/' <<<"$first"; } > once.ndjson
	run -0 --separate-stderr meter-baseline -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < twice.ndjson
	printf '%s\n' "$output" > twice.json
	meter-baseline -q -m daily -c il.xml --baseline "$BASE" --reporting "$REP" - < once.ndjson > once.json
	cmp twice.json once.json
	! cmp -s twice.json clean.json
	[[ "$stderr" == *"il/home electricity: 1 hour given more than once: the last one of each taken"* ]]
	# a temperature as text is no temperature, in the warehouse too
	sed 's/"outside_temp_c":\([-0-9.e]*\)/"outside_temp_c":"\1"/' ph.ndjson | head -3 > text.ndjson
	meter-load -q -c il.xml t.db
	[ "$(grep -c '"outside_temp_c":"' text.ndjson)" -eq 3 ]
	meter-load -q t.db text.ndjson
	[ "$(sqlite3 t.db 'SELECT count(*), count(outside_temp_c) FROM property_hour')" = "3|0" ]
	# nothing to fit: said, exit 2, as for a warehouse without the hours
	run -2 meter-baseline -c il.xml --baseline "$BASE" - < /dev/null
	[[ "$output" == *"-: no property hours of electricity, gas, heat or cooling on standard input: give meter-enrich's output"* ]]
	# a baseline of 1970 is a baseline (day 0 is no "not given")
	run -1 meter-baseline -q -m daily --baseline 1970-01-01..1970-12-31 w.db
	[[ "$output" == *'"reason":"0.0% of the baseline'"'"'s days have data: at least 90% are needed"'* ]]
}

@test "a baseline whose mean usage is not above zero is not fitted, with the reason" {
	il_warehouse
	jq -c '.value = 0' ph.ndjson > zero.ndjson
	run -1 meter-baseline -q -c il.xml --baseline "$BASE" - < zero.ndjson
	[ "$(printf '%s\n' "$output" | jq -r '[.model, .status, .reason] | @tsv')" = "$(printf 'daily\tinsufficient\t%s\nhourly\tinsufficient\t%s' \
		"the baseline's mean usage is 0: a model needs usage above zero (its CVRMSE and NMBE divide by the mean)" \
		"the baseline's mean usage is 0: a model needs usage above zero (its CVRMSE and NMBE divide by the mean)")" ]
	jq -c '.value = -.value' ph.ndjson > exported.ndjson
	run -1 meter-baseline -q -m daily -c il.xml --baseline "$BASE" - < exported.ndjson
	[[ "$(printf '%s\n' "$output" | jq -r .reason)" == "the baseline's mean usage is -"*": a model needs usage above zero"* ]]
}

@test "suspect hours count as missing in the fit and in the savings view alike" {
	il_warehouse
	# July 2017's 18:00 hours judged spikes: their days leave the comparison
	sqlite3 w.db "UPDATE meter_hour SET suspect = 'spike' WHERE hour >= '2017-07-10' AND hour < '2017-07-20' AND substr(hour, 12, 2) = '23'"
	[ "$(sqlite3 w.db "SELECT count(*) FROM meter_hour WHERE suspect IS NOT NULL")" -eq 10 ]
	run -0 meter-baseline -q -m daily --baseline "$BASE" --reporting "$REP" w.db
	printf '%s\n' "$output" > fit.json
	[ "$(jq .reporting_n fit.json)" -eq 389 ]
	sqlite3 w.db "SELECT count(*), sum(actual), sum(savings) FROM baseline_savings WHERE model = 'daily' AND period = 'reporting'" > view
	jq -r '[.actual, .savings] | @tsv' fit.json > fit
	awk -F'|' -v fit="$(cat fit)" 'BEGIN { split(fit, f, "\t") }
		{ d1 = $2 - f[1]; d2 = $3 - f[2]; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
		  exit !($1 == 389 && d1 < 0.01 && d2 < 0.5) }' view
}
