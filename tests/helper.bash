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

# kill_running PID [TARGET]: SIGKILL to TARGET (default PID), only while
# PID is still running (neither finished nor a zombie); true when the kill
# landed, so a loop can count the kills that really interrupted something
kill_running() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	kill -9 -- "${2:-$1}" 2>/dev/null
}

# seconds a command takes, as a decimal: kill tests sleep fractions of it,
# so that their kills land mid-run on a fast machine and under valgrind
seconds_of() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" > /dev/null
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
# fraction K/10 of seconds S
tenths() { awk -v s="$1" -v k="$2" 'BEGIN { printf "%.3f\n", s * k / 10 }'; }

# sum of .value over a file of records, by awk
value_sum() {
	jq -r '.value' "$@" | awk '{ s += $1 } END { printf "%.6f\n", s }'
}
