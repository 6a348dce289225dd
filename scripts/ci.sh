#!/bin/sh
# make ci: everything CI runs, one stage after another, each stage's
# "N passed, N failed" kept, and a closing line that sums them.  A stage
# that fails does not stop the others, so one run shows every failure.
set -u
total_pass=0 total_fail=0 status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

stage() {
	name=$1
	shift
	echo "== $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=$?
	# the pipeline's status is tee's: look at the summary line instead
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	else
		p=0 f=1
	fi
	grep -q '^make: \*\*\*' "$log" && [ "$f" -eq 0 ] && f=1
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -eq 0 ] || status=1
	echo "== $name: $p passed, $f failed"
	: "$rc"
}

stage lint make lint
stage tests make check
stage sanitizers make check SAN=1
stage valgrind make check-valgrind
stage fuzz make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
echo "$total_pass passed, $total_fail failed"
exit "$status"
