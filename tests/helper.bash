# Shared by every test file: programs from $METER_BIN, a scratch directory,
bats_require_minimum_version 1.5.0
# and small makers of input records.
export PATH="${METER_BIN:?run the tests through make check}:$PATH"
export LC_ALL=C TZ=UTC
FIX="$BATS_TEST_DIRNAME/fixtures"
# make check-valgrind sets METER_QUICK: loops of many runs get fewer, since
# every program start costs a second there; what each test checks is the same
QUICK=${METER_QUICK:-}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

# raw METER TS VALUE [KIND [UNIT [QUANTITY [EXTRA_JSON]]]]
# One raw reading of participant "acme", property "hq".
raw() {
	printf '{"participant":"acme","property":"hq","meter":"%s","quantity":"%s","ts":"%s","value":%s,"unit":"%s","kind":"%s"%s}\n' \
		"$1" "${6:-electricity}" "$2" "$3" "${5:-kWh}" "${4:-cumulative}" "${7:+,$7}"
}

# hours FILE: "HOUR VALUE QUALITY COVERAGE" per output record, one meter.
hours() {
	jq -r '[.hour, .value, .quality, .coverage] | @tsv' "$@" | tr '\t' ' '
}

# sum of .value over a file of records, by awk
value_sum() {
	jq -r '.value' "$@" | awk '{ s += $1 } END { printf "%.6f\n", s }'
}
