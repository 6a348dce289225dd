#!/usr/bin/env bats
# The NDJSON reader, record validation and the reject stream, through
# meter-standardize: every bad line is named with file, line and reason,
# and the good lines around it are still processed.

load helper

good() { raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T11:00:00Z 5; }

# run meter-standardize on FILE with --rejects; check the one reject's reason
expect_reject() {
	rm -f rej.ndjson
	run meter-standardize -r rej.ndjson "$1"
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson)" = "$2" ]
	[ "$(jq -r .line rej.ndjson)" = "${3:-2}" ]
	[ "$(jq -r .value <<<"$output")" = 5 ]
}

@test "a malformed line is rejected with file, line and reason; the rest is processed" {
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"participant": oops}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	run --separate-stderr meter-standardize in.ndjson
	[ "$status" -eq 1 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
	[[ "$stderr" == *"meter-standardize: in.ndjson:2: malformed JSON"* ]]
	[[ "$stderr" == *"1 record rejected"* ]]
}

@test "the rejects file holds error, source, line and the original record" {
	{ raw m1 2026-03-01T10:00:00Z 0; echo '[1,2]'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	run --separate-stderr meter-standardize --rejects rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ -z "$stderr" ]
	[ "$(jq -c . rej.ndjson)" = '{"error":"line is not a JSON object","source":"in.ndjson","line":2,"record":"[1,2]"}' ]
}

@test "a rejects file is appended to, never truncated" {
	echo '{"old":"reject"}' > rej.ndjson
	{ echo 'x'; good; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(wc -l < rej.ndjson)" -eq 2 ]
	[ "$(head -1 rej.ndjson)" = '{"old":"reject"}' ]
}

@test "scalars, strings and arrays are not records" {
	printf '42\n"text"\ntrue\n[]\nnull\n' > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(wc -l < rej.ndjson)" -eq 5 ]
	[ "$(jq -r .line rej.ndjson | tr '\n' ' ')" = "1 2 3 4 5 " ]
}

@test "a truncated object and two objects on a line are rejected" {
	{ echo '{"participant":"acme"'; echo '{}{}'; good; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r .error rej.ndjson | head -1)" = "truncated JSON object" ]
	[ "$(jq -r .error rej.ndjson | tail -1)" = "more than one JSON value on the line" ]
	[ "$(jq -r .value <<<"$output")" = 5 ]
}

@test "invalid UTF-8 is rejected and the rejects file stays valid JSON" {
	{ raw m1 2026-03-01T10:00:00Z 0; printf '{"participant":"ac\xffme"}\n'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$status" -eq 1 ]
	[[ "$(jq -r .error rej.ndjson)" == *"UTF8"* ]]
	# the bad byte comes back as U+FFFD
	[ "$(jq -r .record rej.ndjson)" = "$(printf '{"participant":"ac\xef\xbf\xbdme"}')" ]
}

@test "a duplicate key is rejected" {
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"meter":"a","meter":"b"}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'duplicate key "meter"'
}

@test "NaN and Infinity are not JSON" {
	for bad in NaN Infinity -Infinity; do
		{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z "$bad"; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
		run meter-standardize -r rej.ndjson in.ndjson
		[ "$status" -eq 1 ]
		[[ "$(tail -1 rej.ndjson | jq -r .error)" == "malformed JSON"* ]]
	done
}

@test "a number beyond the range of a double is rejected" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1e400; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'field "value" is out of range'
}

@test "wrong types are rejected by field" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z '"3"'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'field "value" must be a number'
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"participant":7,"meter":"m1","ts":"2026-03-01T10:10:00Z"}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'field "participant" must be a string'
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 bogus; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'field "kind" must be cumulative, interval or instant, not "bogus"'
}

@test "missing fields are named" {
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"participant":"acme","quantity":"electricity","ts":"2026-03-01T10:10:00Z","value":1,"unit":"kWh","kind":"cumulative"}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'missing field "meter"'
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"participant":"acme","meter":"m1"}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'missing field "hour" (or "ts" for a raw reading): not a record of meter-records(5)'
	# a property hour is not for meter-standardize, and the message says which field it lacks
	{ raw m1 2026-03-01T10:00:00Z 0; echo '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-03-01T10:00:00Z","value":1,"unit":"kWh"}'; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'missing field "meter": this is a property hour, which meter-enrich and meter-load take'
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:10:00Z 1 interval; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	rm rej.ndjson
	run meter-standardize -r rej.ndjson in.ndjson
	[ "$(jq -r .error rej.ndjson)" = 'missing field "duration"' ]
}

@test "timestamps that are out of range or malformed are rejected" {
	while IFS='|' read -r ts why; do
		{ raw m1 2026-03-01T10:00:00Z 0; raw m1 "$ts" 1; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
		expect_reject in.ndjson "bad timestamp \"$ts\": $why"
	done <<-'EOF'
	2026-13-01T00:00Z|no such date
	2026-02-29T10:00:00Z|no such date
	1899-12-31T23:00:00Z|year before 1900
	2026-03-01T24:00:00Z|time of day out of range
	2026-03-01T10:61:00Z|time of day out of range
	2026-03-01T10:00:00+25:00|bad UTC offset
	2026-03-01T10:00:00Zjunk|unexpected text after the time
	03/01/2026 10:00|expected YYYY-MM-DD
	EOF
}

@test "an unknown unit, quantity or unconvertible unit is rejected" {
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 cumulative furlong; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'unknown unit "furlong" (meter-records(5) lists the units)'
	# a known unit in another case is named
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 cumulative kwh; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'unknown unit "kwh": did you mean "kWh"?'
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 cumulative degC; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'unit "degC" cannot be converted to kWh (electricity)'
	{ raw m1 2026-03-01T10:00:00Z 0; raw m1 2026-03-01T10:30:00Z 1 cumulative kWh plutonium; raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson 'unknown quantity "plutonium"'
}

@test "a line over 1 MiB is rejected without stopping the stream" {
	{ raw m1 2026-03-01T10:00:00Z 0
	  printf '{"pad":"'; head -c 2000000 /dev/zero | tr '\0' a; printf '"}\n'
	  raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
	expect_reject in.ndjson "line longer than 1048576 bytes"
	[ "$(jq -r .record rej.ndjson | head -c 10)" = '{"pad":"aa' ]
}

@test "CRLF line ends and a UTF-8 byte order mark are accepted" {
	good > lf.ndjson
	{ printf '\xef\xbb\xbf'; good | sed 's/$/\r/'; } > crlf.ndjson
	run meter-standardize crlf.ndjson
	[ "$status" -eq 0 ]
	[ "$output" = "$(meter-standardize lf.ndjson)" ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
}

@test "empty input and blank lines give no output and exit 0" {
	: > empty.ndjson
	run --separate-stderr meter-standardize --stats empty.ndjson
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == "meter-standardize: in 0 out 0 merged 0 rejected 0 "* ]]
	{ echo; good; echo '   '; } > blank.ndjson
	run meter-standardize blank.ndjson
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
}

@test "stdin is read when no file or - is given" {
	good > in.ndjson
	run sh -c 'meter-standardize < in.ndjson'
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
	run sh -c 'meter-standardize - < in.ndjson'
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 5 measured 1" ]
}

@test "--stats counts add up: in = out + merged + rejected, rejects by reason" {
	{ good; echo 'bad'; raw m1 2026-02-01T11:00:00Z 5; raw m1 2026-03-01T11:00:00Z 5
	  echo '{"participant":"acme","meter":"x","quantity":"water","hour":"2026-03-01T10:00:00Z","value":1,"unit":"l"}'; } > in.ndjson
	# standard input, read as it comes: a file would be read in time order
	run --separate-stderr sh -c 'meter-standardize --stats < in.ndjson'
	[ "$status" -eq 1 ]
	stats=$(grep 'in [0-9]' <<<"$stderr")
	read -r _ _ in _ out _ merged _ rejected _ <<<"$stats"
	# 3 readings merged, 1 meter hour passed through, 1 bad line, 1 late reading
	[ "$in" -eq 6 ] && [ "$out" -eq 1 ] && [ "$merged" -eq 3 ] && [ "$rejected" -eq 2 ]
	[ $((out + merged + rejected)) -eq "$in" ]
	[[ "$stats" == *" rejected 2 (malformed JSON 1, late 1) hours 1 "* ]]
}

@test "usage errors exit 2, a missing file exits 3, --help and --version exit 0" {
	run meter-standardize --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: meter-standardize"* ]]
	run meter-standardize --lateness soon
	[ "$status" -eq 2 ]
	[[ "$output" == *'bad value for --lateness: "soon"'* ]]
	run meter-standardize -z Mars/Olympus_Mons
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown time zone "Mars/Olympus_Mons"'* ]]
	run meter-standardize no-such-file.ndjson
	[ "$status" -eq 3 ]
	[[ "$output" == "meter-standardize: no-such-file.ndjson: cannot open: No such file or directory" ]]
	run meter-standardize --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: meter-standardize"* ]]
	run meter-standardize --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^meter-standardize\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "a full disk on stdout is exit 3 with a message, never exit 0" {
	good > in.ndjson
	run sh -c 'meter-standardize in.ndjson > /dev/full'
	[ "$status" -eq 3 ]
	[[ "$output" == *"write error on standard output"* ]]
}

@test "a closed pipe ends the program quietly" {
	for h in 10 11 12 13 14 15; do raw m1 "2026-03-01T$h:00:00Z" "$h"; done > in.ndjson
	run sh -c 'meter-standardize in.ndjson | head -1'
	[ "$status" -eq 0 ]
	[ "$(hours <<<"$output")" = "2026-03-01T10:00:00Z 1 measured 1" ]
}

@test "identifiers follow the id rule: no control characters, spaces, slashes, leading dots, or more than 64 bytes" {
	for id in '""' '"a\u0000b"' '"a\tb"' '"a b"' '"../x"' '".hidden"' '"a\u001b[31m"' \
	    "\"$(head -c 65 /dev/zero | tr '\0' x)\""; do
		{ raw m1 2026-03-01T10:00:00Z 0
		  printf '{"participant":"acme","meter":%s,"quantity":"electricity","ts":"2026-03-01T10:30:00Z","value":1,"unit":"kWh","kind":"cumulative"}\n' "$id"
		  raw m1 2026-03-01T11:00:00Z 5; } > in.ndjson
		rm -f rej.ndjson
		run meter-standardize -r rej.ndjson in.ndjson
		[ "$status" -eq 1 ]
		case "$id" in
		'""') [ "$(jq -r .error rej.ndjson)" = 'field "meter" is empty' ] ;;
		*) [ "$(jq -r .error rej.ndjson)" = "field \"meter\" is not an id (letters, digits, '.', '_' and '-', not starting with '.', at most 64)" ] ;;
		esac
	done
	# 64 bytes is an id still
	printf '{"participant":"acme","meter":"%s","quantity":"electricity","hour":"2026-03-01T10:00:00Z","value":1,"unit":"kWh"}\n' \
		"$(head -c 64 /dev/zero | tr '\0' x)" > ok.ndjson
	run -0 meter-standardize ok.ndjson
}

@test "--progress reports records read on stderr" {
	awk 'BEGIN { for (i = 0; i < 200000; i++) printf "{\"participant\":\"p\",\"meter\":\"m%d\",\"quantity\":\"water\",\"ts\":%d,\"value\":1,\"unit\":\"l\",\"kind\":\"interval\",\"duration\":60}\n", i % 10, 1772323200 + int(i / 10) * 60 }' > in.ndjson
	run --separate-stderr meter-standardize --progress in.ndjson
	[ "$status" -eq 0 ]
	[ "$stderr" = "meter-standardize: in.ndjson: 100000 records read
meter-standardize: in.ndjson: 200000 records read" ]
	# 10 meters x 20,000 one-litre minutes: 333 closed hours each of 60 l
	[ "$(jq -r .value <<<"$output" | sort -u)" = 0.06 ]
	[ "$(wc -l <<<"$output")" -eq 3330 ]
}

@test "make install puts programs, man pages and examples under DESTDIR/PREFIX; make uninstall takes them back" {
	make -s -C "$BATS_TEST_DIRNAME/.." install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr > /dev/null
	[ -x root/usr/bin/meter-standardize ]
	[ -f root/usr/share/man/man1/meter-standardize.1 ]
	[ -f root/usr/share/man/man5/meter-records.5 ]
	[ -f root/usr/share/man/man7/meter.7 ]
	[ -f root/usr/share/doc/meter/examples/crontab ]
	[ -f root/usr/share/meter/bigquery/property_hour.json ]
	run root/usr/bin/meter-standardize --version
	[ "$status" -eq 0 ]
	# uninstall takes it all back, and the directories it made if empty,
	# but never a directory that holds something else
	mkdir -p root/usr/share/man/man1 && touch root/usr/share/man/man1/other.1
	make -s -C "$BATS_TEST_DIRNAME/.." uninstall DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr > /dev/null
	[ "$(cd root && find . | sort | tr '\n' ' ')" = ". ./usr ./usr/share ./usr/share/man ./usr/share/man/man1 ./usr/share/man/man1/other.1 " ]
	rm root/usr/share/man/man1/other.1
	make -s -C "$BATS_TEST_DIRNAME/.." install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr > /dev/null
	make -s -C "$BATS_TEST_DIRNAME/.." uninstall DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr > /dev/null
	[ "$(cd root && find . | sort | tr '\n' ' ')" = ". ./usr " ]
}
