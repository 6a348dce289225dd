#!/bin/sh
# make bench: throughput and peak memory of the programs beside peer tools
# on the same data.  Usage: bench.sh BINDIR [YAJL_FLOOR]
set -eu
BIN=${1:-bin}
FLOOR=${2:-}
DATA=bench-data
mkdir -p "$DATA"
export LC_ALL=C TZ=UTC

# 1,000,000 raw readings: 1,000 meters, 15-minute cumulative registers over
# 1,000 intervals (10.4 days), in time order as a fetch of every meter gives.
RAW=$DATA/raw-1m.ndjson
if [ ! -s "$RAW" ]; then
	awk 'BEGIN {
		t0 = 1772323200
		for (i = 0; i < 1000; i++) {
			ts = strftime("%Y-%m-%dT%H:%M:%SZ", t0 + i * 900, 1)
			for (m = 0; m < 1000; m++) {
				v[m] += (m % 13) * 0.05 + (i % 4) * 0.125
				printf "{\"participant\":\"p%d\",\"property\":\"b%d\",\"meter\":\"m%d\",\"quantity\":\"electricity\",\"ts\":\"%s\",\"value\":%.3f,\"unit\":\"kWh\",\"kind\":\"cumulative\"}\n", m % 10, m % 250, m, ts, v[m]
			}
		}
	}' > "$RAW"
fi
N=$(wc -l < "$RAW")

# measure NAME COMMAND...: the best CPU time (user + system) of three runs,
# which a shared machine's stolen time does not inflate, and peak RSS
measure() {
	name=$1
	shift
	secs=999999 kib=0
	for run in 1 2 3; do
		/usr/bin/time -f '%U %S %M' -o "$DATA/time.out" "$@" > /dev/null
		read -r u sy k < "$DATA/time.out"
		s=$(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }')
		secs=$(awk -v a="$secs" -v b="$s" 'BEGIN { print (b < a ? b : a) }')
		kib=$(awk -v a="$kib" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
		rm -rf "$DATA/state"
	done
	awk -v n="$N" -v s="$secs" -v k="$kib" -v name="$name" 'BEGIN {
		if (s == 0) s = 0.01
		printf "%-34s %12.0f records/s %8.1f MB peak\n", name, n / s, k / 1024 }'
}

echo "input: $RAW ($N raw readings, 1,000 meters)"
echo "targets: >= 1,500,000 records/s, >= 10x jq, < 20 MB (where bare yajl does ~4,000,000/s)"
[ -n "$FLOOR" ] && measure "bare yajl parse (ceiling)" "$FLOOR" "$RAW"
measure "meter-standardize" "$BIN/meter-standardize" "$RAW"
measure "meter-standardize --state" "$BIN/meter-standardize" -s "$DATA/state" "$RAW"
if command -v jq > /dev/null; then
	measure "jq -c 'select(.value > 0)'" jq -c 'select(.value > 0)' "$RAW"
fi
