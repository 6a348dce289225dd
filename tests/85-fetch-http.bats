#!/usr/bin/env bats
# meter-fetch over HTTP against a loopback server the tests start
# (tests/server.py): retries, timeouts, caps, broken bodies, secrets.
load helper

setup_file() {
	python3 "$BATS_TEST_DIRNAME/server.py" --root "$BATS_TEST_DIRNAME/fixtures" \
		--port-file "$BATS_FILE_TMPDIR/port" --log "$BATS_FILE_TMPDIR/log" 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 100); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.05; done
	[ -s "$BATS_FILE_TMPDIR/port" ]
}

teardown() {
	[ ! -s tls.pid ] || kill "$(cat tls.pid)" 2>/dev/null || true
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
}

URL() { echo "http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")/$1"; }
# requests the server saw whose path starts with $1
requests() { cut -f1 "$BATS_FILE_TMPDIR/log" | grep -c "^/$1" || true; }

CAM='type="csv" kind="interval" duration="3600" timezone="UTC" ts-column="datetime" value-column="equipment load"'
CAM_FILE=cambridge-b0-electricity-2019-01.csv

# meters: "ID URL [EXTRA_ATTRS]" lines, csv Cambridge connectors
participant() {
	mkdir -p p
	{
		echo '<participant id="acme"><property id="hq">'
		while read -r id url extra; do
			echo "<meter id=\"$id\" quantity=\"electricity\"><connector $CAM url=\"$url\" $extra/></meter>"
		done
		echo '</property></participant>'
	} > p/participant.xml
}

rows() { awk 'END { print NR - 1 }' "$FIX/$CAM_FILE"; }

@test "http: a Cambridge CSV over HTTP reads as from the file" {
	echo "b0 $(URL files/$CAM_FILE)" | participant
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[ "$(echo "$output" | wc -l)" -eq "$(rows)" ]
	[ "$(echo "$output" | value_sum)" = "$(awk -F, 'NR > 1 { s += $2 } END { printf "%.6f\n", s }' "$FIX/$CAM_FILE")" ]
	cmp "$FIX/$CAM_FILE" p/raw/*/*/*/b0/*.csv
}

@test "http: gzip as Content-Encoding and as a gzip file body read the same" {
	gzip -c "$FIX/$CAM_FILE" > "$BATS_TEST_DIRNAME/fixtures/.gz-body.csv.gz"
	printf '%s\n' "enc $(URL gzip/$CAM_FILE)" "file $(URL files/.gz-body.csv.gz)" | participant
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	rm -f "$BATS_TEST_DIRNAME/fixtures/.gz-body.csv.gz"
	[ "$(echo "$output" | grep -c '"meter":"enc"')" -eq "$(rows)" ]
	[ "$(echo "$output" | grep '"meter":"enc"' | value_sum)" = "$(echo "$output" | grep '"meter":"file"' | value_sum)" ]
	# the archive keeps the body as it came: decoded transfer, gzip file as gzip
	cmp "$FIX/$CAM_FILE" p/raw/*/*/*/enc/*.csv
	ls p/raw/*/*/*/file/*.csv.gz
}

@test "http: 503 with Retry-After twice, then success: three requests" {
	echo "fl $(URL flaky/a503/2/503/$CAM_FILE)" | participant
	SECONDS=0
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --retry-wait 0.05
	# Retry-After: 1 is honoured over the 0.05 s backoff
	[ "$SECONDS" -ge 2 ]
	[ "$(echo "$output" | wc -l)" -eq "$(rows)" ]
	[ "$(requests flaky/a503)" -eq 3 ]
}

@test "http: a 429 storm beyond the retries fails that meter only, cursor kept" {
	printf '%s\n' "storm $(URL flaky/s429/9/429/$CAM_FILE) retries=\"1\"" "ok $(URL files/$CAM_FILE)" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --retry-wait 0.05 --retry-max 0.2
	[[ "$output" == *"/flaky/s429/9/429/$CAM_FILE: meter storm: HTTP status 429 (after 2 attempts)"* ]]
	[ "$(requests flaky/s429)" -eq 2 ]
	[ "$(echo "$output" | grep -c '"meter":"ok"')" -eq "$(rows)" ]
	[ "$(jq -r .meter p/state/fetch-cursors.ndjson)" = ok ]
}

@test "http: 500 is retried with backoff, 404 is not" {
	printf '%s\n' "e500 $(URL status/500) retries=\"2\"" "e404 $(URL status/404) retries=\"2\"" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --retry-wait 0.05
	[ "$(requests status/500)" -eq 3 ]
	[ "$(requests status/404)" -eq 1 ]
	[[ "$output" == *"meter e404: HTTP status 404 (after 1 attempt)"* ]]
}

@test "http: connection refused, a stall past the timeout, a reset and a truncated body" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf '%s\n' "refused http://127.0.0.1:$port/x retries=\"1\"" \
		"stall $(URL slow/5/$CAM_FILE) timeout=\"1s\" retries=\"0\"" \
		"reset $(URL reset/$CAM_FILE) retries=\"0\"" \
		"cut $(URL truncated/$CAM_FILE) retries=\"0\"" \
		"ok $(URL files/$CAM_FILE)" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --retry-wait 0.05
	[[ "$output" == *"meter refused: "*"onnect"*"(after 2 attempts)"* ]]
	# cut by the timeout, not by the end of the server's 5 s stall
	[[ "$output" == *"meter stall: "*"timed out after "*" milliseconds"*"(after 1 attempt)"* ]]
	[[ "$output" != *"meter stall: "*"timed out after "[5-9][0-9][0-9][0-9]" milliseconds"* ]]
	[[ "$output" == *"meter reset: "*"(after 1 attempt)"* ]]
	[[ "$output" == *"meter cut: truncated body"* ]]
	[ "$(echo "$output" | grep '"ts"' | jq -r .meter | sort -u)" = ok ]
	[ "$(jq -r .meter p/state/fetch-cursors.ndjson)" = ok ]
}

@test "http: bodies over max-size and gzip bombs stop at the cap" {
	printf '%s\n' "huge $(URL huge/8) max-size=\"1M\" retries=\"0\"" \
		"bomb $(URL bomb/64) max-size=\"1M\" retries=\"0\"" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[[ "$output" == *"meter huge: body larger than max-size (1048576 bytes)"* ]]
	[[ "$output" == *"meter bomb: body larger than max-size (1048576 bytes)"* ]]
	[[ "$output" != *'"ts"'* ]]
	[ ! -e p/raw ]
}

@test "http: a gzip file body that inflates past max-size is refused" {
	head -c 4000000 /dev/zero | gzip -c > "$BATS_TEST_DIRNAME/fixtures/.zeros.gz"
	echo "z $(URL files/.zeros.gz) max-size=\"1M\"" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	rm -f "$BATS_TEST_DIRNAME/fixtures/.zeros.gz"
	[[ "$output" == *"meter z: gzip body expands beyond 1048576 bytes (max-size)"* ]]
}

@test "http: {since} and {until} come from the cursor and the clock" {
	echo "cur $(URL "files/$CAM_FILE?from={since}&amp;to={until}")" | participant
	meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --until 2030-01-01T00:00:00Z > /dev/null
	meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --until 2030-01-01T00:00:00Z > /dev/null
	last=$(tail -1 "$FIX/$CAM_FILE" | cut -d, -f1 | tr ' ' T)Z
	grep -o "from=[^&]*&to=[^	]*" "$BATS_FILE_TMPDIR/log" | tail -2 > got
	[ "$(cat got)" = "$(printf 'from=1970-01-01T00:00:00Z&to=2030-01-01T00:00:00Z\nfrom=%s&to=2030-01-01T00:00:00Z' "$last")" ]
}

@test "http: secrets come from the environment, reach the server, and appear nowhere else" {
	mkdir -p p
	cat > p/participant.xml <<-XML
	<participant id="acme"><property id="hq">
	  <meter id="sec" quantity="electricity"><connector $CAM url="$(URL files/$CAM_FILE)?api_key=k3y">
	    <header name="Authorization" env="ACME_TOKEN" prefix="Bearer "/></connector></meter>
	  <meter id="nosec" quantity="electricity"><connector $CAM url="$(URL files/$CAM_FILE)">
	    <header name="X-Key" env="ACME_UNSET_VAR"/></connector></meter>
	</property></participant>
	XML
	export ACME_TOKEN=s3cr3t-t0ken
	unset ACME_UNSET_VAR
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml -r rej.ndjson --stats --progress
	grep -q "Authorization: Bearer s3cr3t-t0ken" "$BATS_FILE_TMPDIR/log"
	[[ "$output" == *"meter nosec: environment variable ACME_UNSET_VAR is not set (header X-Key)"* ]]
	[[ "$output" == *"meter-fetch: 2/2 meters, $(rows) readings, 1 failed"* ]]
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml --dry-run
	[[ "$output" == *"?api_key=*"* ]]
	! grep -rq -e s3cr3t -e k3y p/raw p/state rej.ndjson
	! find p -name '*s3cr3t*' -o -name '*k3y*' | grep -q .
	run meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[[ "$output" != *s3cr3t* ]]
}

@test "http: credentials from a netrc file in the participant directory" {
	echo "n $(URL files/$CAM_FILE) netrc=\"netrc\"" | participant
	printf 'machine 127.0.0.1 login acme password pa55w0rd\n' > p/netrc
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	grep -q "Authorization: Basic $(printf acme:pa55w0rd | base64)" "$BATS_FILE_TMPDIR/log"
	[[ "$output" != *pa55w0rd* ]]
	sed -i 's|netrc="netrc"|netrc="../netrc"|' p/participant.xml
	run -2 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[[ "$output" == *"meter n: ../netrc is outside the participant directory"* ]]
}

@test "http: 60 meters at once, all fetched, each archived once" {
	for i in $(seq 60); do echo "m$i $(URL files/$CAM_FILE?m=$i)"; done | participant
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml -j 8 --stats
	[[ "$output" == *"meters 60 fetched 60 failed 0 readings $((60 * $(rows))) rejected 0"* ]]
	[ "$(find p/raw -type f | wc -l)" -eq 60 ]
	[ "$(wc -l < p/state/fetch-cursors.ndjson)" -eq 60 ]
}

@test "http: ad hoc, a URL as the argument" {
	run -0 meter-fetch -t csv -Q electricity -o ts-column=datetime -o "value-column=equipment load" -o kind=interval \
		-o duration=1h -o timezone=UTC "$(URL files/$CAM_FILE)"
	[ "$(echo "$output" | wc -l)" -eq "$(rows)" ]
	[ "$(echo "$output" | head -1 | jq -r .meter)" = cambridge-b0-electricity-2019-01 ]
}

@test "https: certificates are verified; a CA file in the participant directory is trusted" {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
	python3 "$BATS_TEST_DIRNAME/server.py" --root "$FIX" --port-file tls.port --log tls.log \
		--tls cert.pem key.pem 3>&- &
	echo $! > tls.pid
	for _ in $(seq 100); do [ -s tls.port ] && break; sleep 0.05; done
	url="https://127.0.0.1:$(cat tls.port)/files/$CAM_FILE"
	echo "s $url retries=\"0\"" | participant
	run -1 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[[ "$output" == *"meter s: "*"certificate"* ]]
	cp cert.pem p/ca.pem
	echo "s $url ca-file=\"ca.pem\"" | participant
	run -0 meter-fetch --allow-net 127.0.0.0/8 -c p/participant.xml
	[ "$(echo "$output" | wc -l)" -eq "$(rows)" ]
}
