#!/usr/bin/env bats
# meter-baseline's hourly model (time of week and temperature by occupancy)
# against the independent reference on the Illinois home, and a synthetic
# building's known hours of the week, heating slope and savings recovered.
# Its fits take seconds each, a minute under valgrind: the Makefile says
# which stages run this file.
load helper
load baseline

setup_file() {
	il_setup
}

@test "the hourly model of the Illinois home equals the reference: statistics, savings, every reporting hour" {
	il_warehouse
	reference hourly > want.json
	run -0 --separate-stderr meter-baseline -q -m hourly --expected \
		--baseline "$BASE" --reporting "$REP" w.db
	printf '%s\n' "$output" > out.ndjson
	head -1 out.ndjson > fit.json
	same_fit fit.json want.json
	jq -r 'select(.period == "reporting") | [.hour, .expected] | @tsv' out.ndjson | sort > got
	jq -r '.hours[] | @tsv' want.json | sort > want
	[ "$(wc -l < got)" -eq 9576 ]
	# nine decimals as written: 1e-6 of the value, or 1e-8 near zero
	join got want | awk '{ d = $2 - $3; if (d < 0) d = -d; w = $3 < 0 ? -$3 : $3;
		if (d > 1e-6 * (w > 1 ? w : 1)) bad++ } END { exit bad > 0 || NR != 9576 }'
	[ "$(sqlite3 w.db "SELECT count(*), sum(period = 'reporting') FROM baseline_hour")" = "18360|9576" ]
}

@test "a synthetic building's hours of the week, heating slope and savings are recovered by the hourly model" {
	syn_config
	python3 "$BATS_TEST_DIRNAME/baseline_synth.py" hourly > syn.ndjson
	run -0 meter-baseline -q -m hourly --expected -c syn.xml --baseline 2021-01-01..2021-12-31 - < syn.ndjson
	printf '%s\n' "$output" > out.ndjson
	# made with 2 (weekdays 08-18) or 0.5, + 0.3 per degC below 55 degF,
	# noise of 0.05, and 10 % saved in 2022
	head -1 out.ndjson | jq -e '.model_type == "tow_temperature" and .n == 8760
		and .r2 > 0.99 and .cvrmse < 0.03 and .reporting_n == 8760
		and (.savings / .expected - 0.10 | fabs) < 0.002'
	# a reporting hour's expectation is the model without the savings
	jq -r 'select(.period == "reporting") | [.hour, .expected] | @tsv' out.ndjson | sort > got
	jq -r 'select(.local | startswith("2022")) | [.hour, .value / 0.9, .outside_temp_c, .local] | @tsv' syn.ndjson |
		sort | join got - | python3 -c '
import sys
from datetime import datetime
worst = 0
for line in sys.stdin:
    hour, expected, actual, temp, local = line.split()
    t = datetime.fromisoformat(local)
    base = 2 if t.isoweekday() <= 5 and 8 <= t.hour < 18 else 0.5
    truth = base + 0.3 * max((55 - 32) * 5 / 9 - float(temp), 0)
    worst = max(worst, abs(float(expected) - truth))
print(worst)
sys.exit(worst > 0.1)'
}
