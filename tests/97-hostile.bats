#!/usr/bin/env bats
# A hostile participant: "evil", beside the demo's participants in one data
# root, controls everything in its directory (configuration, files, inbox
# names and contents, URLs, header names).  Each test performs an attack
# and checks the refusal, and that nothing of the victim (cambridge) was
# read, written or changed.  meter(7) SECURITY is the model these hold to.
load helper

HOURLY="$BATS_TEST_DIRNAME/../scripts/meter-hourly"
INIT="$BATS_TEST_DIRNAME/../scripts/meter-init"
DEMO="$BATS_TEST_DIRNAME/../examples/demo"
EVIL_GID=4321      # the participant's group; no entry in /etc/group needed

setup_file() {
	python3 "$BATS_TEST_DIRNAME/server.py" --root "$BATS_TEST_DIRNAME/fixtures" \
		--port-file "$BATS_FILE_TMPDIR/port" --log "$BATS_FILE_TMPDIR/log" 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/pid"
	for _ in $(seq 100); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.05; done
	[ -s "$BATS_FILE_TMPDIR/port" ]
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/pid")" 2>/dev/null || true
}

PORT() { cat "$BATS_FILE_TMPDIR/port"; }
# what the loopback server saw: "PATH<TAB>Header: value|..." lines
seen() { touch "$BATS_FILE_TMPDIR/log"; awk -F'\t' -v p="$1" 'index($1, p) == 1' "$BATS_FILE_TMPDIR/log"; }
# any request whose line holds TEXT
seen_any() { grep -F "$1" "$BATS_FILE_TMPDIR/log" || true; }

E=r/participants/evil
C=r/participants/cambridge

# the attacker's configuration: one CSV meter of its own; $1 more XML
evil_xml() {
	cat > $E/participant.xml <<EOF
<participant id="evil" name="Evil" timezone="UTC">
  <contract id="grid" co2-kg-per-kwh="0.2"/>
  <property id="e0" type="office" area-m2="100" region="GB">
    <meter id="e0-el" quantity="electricity" contract="grid">
      <connector type="csv" url="file:data/el.csv" kind="interval" duration="1h"
                 timezone="UTC" ts-column="datetime" value-column="kwh" unit="kWh"/>
    </meter>
    <meter id="e0-push" quantity="electricity" external="true"/>
    ${1:-}
  </property>
</participant>
EOF
}

# A copy of the demo root, run once, plus "evil" made by meter-init with
# its own group.  Cambridge's warehouse rows and files are kept in
# victim.before to compare with after each attack.
evil_root() {
	cp -R "$DEMO" r
	chmod -R go-w r
	sh "$HOURLY" r 2>/dev/null || true
	sh "$INIT" r > /dev/null
	sh "$INIT" --participant evil --group "$EVIL_GID" r > /dev/null
	mkdir $E/data
	printf 'datetime,kwh\n2019-01-02 10:00:00,1.5\n2019-01-02 11:00:00,2.5\n' > $E/data/el.csv
	evil_xml "${1:-}"
	victim > victim.before
}

# everything of cambridge: its warehouse rows, its files
victim() {
	sqlite3 r/warehouse.db "SELECT * FROM participant WHERE id = 'cambridge';
		SELECT * FROM property WHERE participant = 'cambridge';
		SELECT * FROM meter WHERE participant = 'cambridge';
		SELECT participant, meter, hour, value, quality FROM meter_hour
			WHERE participant = 'cambridge' ORDER BY 1, 2, 3;
		SELECT participant, property, quantity, hour, value, local FROM property_hour
			WHERE participant = 'cambridge' ORDER BY 1, 2, 3, 4;"
	(cd $C && find . -path ./log -prune -o -path ./rejects -prune -o -type f -print |
		grep -v '^./state/' | sort | xargs md5sum)
}

victim_untouched() {
	victim > victim.after
	diff victim.before victim.after
}

evil_status() {
	sqlite3 r/warehouse.db "SELECT status FROM runs WHERE participant = 'evil' ORDER BY started DESC, run DESC LIMIT 1"
}

# a meter hour of evil's own
evil_hour() {
	printf '{"participant":"evil","property":"e0","meter":"e0-push","quantity":"electricity","hour":"2019-01-02T%s:00:00Z","value":%s,"unit":"kWh"}\n' "$1" "$2"
}

@test "hostile: inbox links to the environment, a root-only file and another participant's data are refused unread" {
	evil_root
	in=$E/inbox
	echo "root-only-line-$$" > rootonly.txt
	chmod 600 rootonly.txt
	ln -s /proc/self/environ $in/env.ndjson
	ln -s "$PWD/rootonly.txt" $in/root.ndjson
	ln -s ../../cambridge/inbox/done/b1-gas-2019-01.ndjson $in/victim.ndjson
	evil_hour 10 4 > $in/good.ndjson
	CAMBRIDGE_API_TOKEN="tok-$$-secret" run -1 sh "$HOURLY" r evil
	for f in env root victim; do
		[ -L $in/failed/$f.ndjson ]
		grep -q "a symbolic link: links are never followed in an inbox" $in/failed/$f.ndjson.reason
	done
	[ -f $in/done/good.ndjson ]
	! grep -rqs -e "tok-$$-secret" -e "root-only-line-$$" -e '"b1-gas"' r/participants/evil
	[ "$(sqlite3 r/warehouse.db "SELECT group_concat(x) FROM (SELECT meter || '=' || value AS x
		FROM meter_hour WHERE participant = 'evil' ORDER BY meter, hour)")" = "e0-el=1.5,e0-el=2.5,e0-push=4.0" ]
	victim_untouched
}

@test "hostile: a FIFO, a directory, a hard link and names with newlines or a leading dash in the inbox are refused unread" {
	evil_root
	in=$E/inbox
	mkfifo $in/fifo.ndjson
	mkdir $in/dir.ndjson
	evil_hour 10 1 > own.txt
	ln own.txt $in/linked.ndjson
	echo "secret-of-the-dispatcher-$$" > secret.txt
	evil_hour 11 2 > "$in/a
-rpwned.txt
b.ndjson"
	evil_hour 12 3 > "$in/a
secret.txt
b.ndjson"
	evil_hour 13 4 > "$in/-rfoo.ndjson"
	run -1 timeout 60 sh "$HOURLY" r evil
	[ ! -e pwned.txt ] && [ ! -e "$E/pwned.txt" ]
	! grep -rqs "secret-of-the-dispatcher-$$" r
	grep -q "not a regular file" $in/failed/fifo.ndjson.reason
	grep -q "not a regular file" $in/failed/dir.ndjson.reason
	grep -q "a file with other hard links" $in/failed/linked.ndjson.reason
	grep -q "a file name of letters, digits" $in/failed/-rfoo.ndjson.reason
	[ "$(find $in/failed -name '*.reason' -print0 | tr -cd '\0' | wc -c)" -eq 6 ]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM meter_hour WHERE participant = 'evil' AND meter = 'e0-push'")" -eq 0 ]
	victim_untouched
}

@test "hostile: what the participant leaves in failed/ cannot keep a refused link in the stage; a killed take's leftovers are judged first" {
	evil_root
	in=$E/inbox
	echo "root-only-line-$$" > rootonly.txt
	chmod 600 rootonly.txt
	# a directory of the participant's lands in failed/ under the name the
	# link will have; then the link cannot be moved onto it
	mkdir $in/a.ndjson
	touch $in/a.ndjson/keep
	chown -R "$EVIL_GID" $in/a.ndjson
	run -1 sh "$HOURLY" r evil
	[ -d $in/failed/a.ndjson ]
	ln -s "$PWD/rootonly.txt" $in/failed/a.ndjson/t
	ln -s ../../inbox/failed/a.ndjson/t $in/a.ndjson
	run -1 sh "$HOURLY" r evil
	run sh "$HOURLY" r evil
	[ -L $in/failed/a.ndjson.1 ]
	grep -q "a symbolic link" $in/failed/a.ndjson.1.reason
	! grep -rqs "root-only-line-$$" r/participants/evil
	# a take killed between its rename and its judgement left a link in
	# state/inbox/new/: the next take judges it before anything is loaded
	ln -s "$PWD/rootonly.txt" $E/state/inbox/new/left.ndjson
	run -1 sh "$HOURLY" r evil
	[ -L $in/failed/left.ndjson ]
	[ -z "$(ls $E/state/inbox/new)" ]
	! grep -rqs "root-only-line-$$" r/participants/evil
	victim_untouched
}

@test "hostile: an inbox file beyond the size limit is refused unread, and the inbox's loads run within the run's time limit" {
	evil_root
	truncate -s 1T $E/inbox/huge.ndjson
	evil_hour 10 1 > $E/inbox/ok.ndjson
	run -1 sh "$HOURLY" --run-limit 60s r evil
	grep -q "larger than the inbox's limit (meter-inbox --max-size)" $E/inbox/failed/huge.ndjson.reason
	[ -f $E/inbox/done/ok.ndjson ]
	# one under the limit that takes long to load still meets the limit
	awk 'BEGIN { for (i = 0; i < 2000000; i++) printf "{\"participant\":\"evil\",\"property\":\"e0\",\"meter\":\"e0-push\",\"quantity\":\"electricity\",\"hour\":%d,\"value\":1,\"unit\":\"kWh\"}\n", 1546300800 + i * 3600 }' > $E/inbox/slow.ndjson
	run -1 sh "$HOURLY" --run-limit 2s r evil
	[[ "$output" == *"evil: failed: the run's time limit (2 s) ran out"* ]]
	victim_untouched
}

@test "hostile: header names and prefixes cannot smuggle headers, nor can a secret's value" {
	evil_root
	for hdr in 'name="X-A: 1&#13;&#10;X-Injected: yes&#13;&#10;X-B" env="K"' 'name="Host" env="K" prefix="other.example&#13;&#10;X-P: "' \
	    'name="X A" env="K"'; do
		evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$(PORT)/files/inj-$$.csv\" kind=\"interval\" duration=\"1h\" unit=\"kWh\"><header $hdr/></connector></meter>"
		run -2 meter-fetch -p evil -c $E/participant.xml
		[[ "$output" == *"<header>: attribute \""*"\" must be an HTTP header name"* ]] ||
			[[ "$output" == *'<header>: attribute "prefix" has a control character'* ]]
		run -2 meter-load -p evil -c $E/participant.xml r/warehouse.db
	done
	evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$(PORT)/files/inj-$$.csv\" kind=\"interval\" duration=\"1h\" unit=\"kWh\"><header name=\"X-Key\" env=\"K\"/></connector></meter>"
	K=$'v\r\nX-Injected: yes' run -1 meter-fetch -p evil -c $E/participant.xml --allow-net 127.0.0.0/8
	[[ "$output" == *"meter e0-api: K holds a control character (header X-Key)"* ]]
	[ -z "$(seen "/files/inj-$$")" ]
}

@test "hostile: a large payload's readings are not held in memory" {
	mb=40
	[ -z "$QUICK" ] || mb=4
	mkdir -p p/data
	echo '<participant id="acme"><meter id="m" quantity="electricity"><connector type="csv" url="file:data/big.csv" kind="interval" duration="1h" unit="kWh" ts-column="ts" value-column="v" time-format="epoch"/></meter></participant>' > p/participant.xml
	awk -v n=$((mb * 1000000 / 13)) 'BEGIN { print "ts,v"; for (i = 0; i < n; i++) printf "%d,1\n", 1546300800 + i * 3600 }' > p/data/big.csv
	/usr/bin/time -f '%M' -o kb meter-fetch -c p/participant.xml --archive arc --state st > out.ndjson
	[ "$(wc -l < out.ndjson)" -eq "$(($(wc -l < p/data/big.csv) - 1))" ]
	# the body once in memory, and once in the archive's hashing: not the
	# readings, which are ten times its size (the sanitizers' own
	# bookkeeping gets the suite's larger bound)
	limit=$((mb * 1024 * 3 + 32768))
	[ -z "${METER_MEM_KB:-}" ] || limit=$METER_MEM_KB
	[ "$(tail -1 kb)" -lt "$limit" ]
	[ "$(stat -c %s out.ndjson)" -gt $((mb * 1000000 * 8)) ]
}

@test "hostile: done/ replaced by a link into another participant's inbox: the group cannot, and the platform would not deliver" {
	evil_root
	in=$E/inbox
	if [ "$(id -u)" -eq 0 ]; then
		chmod 755 "$BATS_TEST_TMPDIR"
		# as a member of the participant's group: the sticky inbox keeps
		# the platform's done/ where it is
		[ "$(stat -c %a $in)" = 3770 ]
		as_evil="setpriv --reuid=$EVIL_GID --regid=$EVIL_GID --clear-groups"
		run $as_evil mv $in/done $in/done.old
		[ "$status" -ne 0 ]
		[[ "$output" == *"Operation not permitted"* ]]
		[ -d $in/done ] && [ ! -L $in/done ]
		# while its own files are its to write and remove
		run -0 $as_evil sh -c "echo x > $in/mine.ndjson.tmp && mv $in/mine.ndjson.tmp $in/mine.tmp2 && rm $in/mine.tmp2"
	fi
	# had it been replaced (an inbox without the sticky bit): no delivery
	rm -rf $in/done
	ln -s ../../cambridge/inbox $in/done
	evil_hour 10 7 > $in/forged.ndjson
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *"evil: failed: meter-inbox exited 2: meter-inbox: $PWD/$in/done: not a directory of the platform's (a link or a file): remove it"* ]]
	[ ! -e $C/inbox/forged.ndjson ] && [ -f $in/forged.ndjson ]
	run sh "$HOURLY" r cambridge
	victim_untouched
	# nor into a directory the participant made itself
	rm $in/done
	mkdir $in/done
	chown "$EVIL_GID" $in/done
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *"evil: failed: meter-inbox exited 2: meter-inbox: $PWD/$in/done: not the platform's own (owner uid $EVIL_GID, not $(id -u)): files are never moved into a directory a participant controls; remove it"* ]]
	[ -f $in/forged.ndjson ]
	victim_untouched
}

@test "hostile: a configuration that claims another participant's id is refused before anything is written" {
	evil_root
	sed -i 's|<participant id="evil" name="Evil" timezone="UTC">|<participant id="cambridge" name="PWNED" timezone="Pacific/Kiritimati">|' $E/participant.xml
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *'evil: failed: meter-load -c exited 2: meter-load: '*'participant.xml: the configuration is of participant "cambridge", not evil (-p): a participant'"'"'s configuration carries the id of its directory'* ]]
	[ "$(evil_status)" = failed ]
	[ "$(sqlite3 r/warehouse.db "SELECT name, timezone FROM participant WHERE id = 'cambridge'")" = "University of Cambridge estate|Europe/London" ]
	run -2 meter-load -p evil -c $E/participant.xml r/warehouse.db
	run -2 meter-fetch -p evil -c $E/participant.xml
	run -2 meter-aggregate -p evil -c $E/participant.xml /dev/null
	run -2 meter-enrich -p evil -c $E/participant.xml /dev/null
	victim_untouched
}

@test "hostile: records naming another participant are refused before any warehouse read" {
	evil_root
	probe='{"participant":"cambridge","property":"b0","meter":"probe","quantity":"electricity","hour":"2019-01-02T12:00:00Z","value":0,"unit":"kWh"}'
	echo "$probe" > $E/inbox/probe.ndjson
	run -1 sh "$HOURLY" r evil
	rej=$(ls $E/rejects/*.ndjson)
	[ "$(jq -r .record $rej | sort -u)" = "$probe" ]
	[ "$(jq -r .error $rej | sort -u)" = "not a record of participant evil (-p)" ]
	! grep -q b0-el $rej
	# each program alone, with -p
	for prog in "meter-aggregate --db r/warehouse.db" meter-standardize "meter-enrich -c $E/participant.xml"; do
		run -1 $prog -p evil -r rej.ndjson <<< "$probe"
		[ -z "$output" ]
		[ "$(jq -r .error rej.ndjson)" = "not a record of participant evil (-p)" ]
		rm rej.ndjson
	done
	victim_untouched
}

@test "hostile: headers can name only the operator's secrets for the participant, never the dispatcher's environment" {
	evil_root "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$(PORT)/files/stolen-$$.csv\" kind=\"interval\" duration=\"1h\" unit=\"kWh\"><header name=\"X-Stolen\" env=\"CAMBRIDGE_API_TOKEN\"/><header name=\"X-Path\" env=\"PATH\"/></connector></meter>"
	echo "--allow-net 127.0.0.0/8" > r/context/fetch.args
	CAMBRIDGE_API_TOKEN="tok-$$-secret" run -1 sh "$HOURLY" r evil
	grep -q "meter e0-api: CAMBRIDGE_API_TOKEN is not in the secrets file $PWD/r/secrets/evil (header X-Stolen)" $E/log/*.stderr
	[ -z "$(seen "/files/stolen-$$")" ]
	# what the operator assigned is sent, and only that
	sed -i "s|env=\"CAMBRIDGE_API_TOKEN\"/><header name=\"X-Path\" env=\"PATH\"/>|env=\"EVIL_TOKEN\"/>|" $E/participant.xml
	printf 'EVIL_TOKEN=evil-%s\n' $$ > r/secrets/evil
	chmod 600 r/secrets/evil
	CAMBRIDGE_API_TOKEN="tok-$$-secret" run sh "$HOURLY" r evil
	[[ "$(seen "/files/stolen-$$")" == *"X-Stolen: evil-$$"* ]]
	[[ "$(seen "/files/stolen-$$")" != *"tok-$$-secret"* ]]
	# a secrets file others can read is refused
	chmod 644 r/secrets/evil
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *"refusing a secrets file that others can read or write (chmod 600)"* ]]
	victim_untouched
}

@test "hostile: co2-series and every other path stay inside the participant's directory" {
	evil_root
	for path in /etc/passwd ../cambridge/data/carbon-intensity-2019-01.csv data/../../cambridge/x.csv; do
		sed -i "s|<contract id=\"grid\"[^>]*>|<contract id=\"grid\" co2-series=\"$path\"/>|" $E/participant.xml
		run -1 sh "$HOURLY" r evil
		[[ "$output" == *"co2-series \"$path\" is outside the participant directory"* ]]
		! grep -rqs "root:x:0:0" r/participants/evil
	done
	ln -s ../../cambridge/data/carbon-intensity-2019-01.csv $E/data/co2.csv
	sed -i "s|<contract id=\"grid\"[^>]*>|<contract id=\"grid\" co2-series=\"data/co2.csv\"/>|" $E/participant.xml
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *"co2-series data/co2.csv: a symbolic link on the way"* ]]
	[ "$(evil_status)" = failed ]
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM property_hour WHERE participant = 'evil' AND co2_kg IS NOT NULL")" -eq 0 ]
	for attr in 'netrc="/etc/passwd"' 'ca-file="../cambridge/x"'; do
		evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:1/x\" kind=\"interval\" duration=\"1h\" unit=\"kWh\" $attr/></meter>"
		run -2 meter-fetch -p evil -c $E/participant.xml
		[[ "$output" == *"is outside the participant directory"* ]]
	done
	victim_untouched
}

@test "hostile: a file source swapped for a link in a tight loop never reads outside (openat, O_NOFOLLOW)" {
	evil_root
	printf 'datetime,kwh\n2019-01-02 10:00:00,999999\n' > $C/data/victim-secret.csv
	victim > victim.before
	cp $E/data/el.csv own.csv
	( cd $E/data
	  while :; do
		ln -sf ../../cambridge/data/victim-secret.csv tmp && mv -T tmp el.csv
		cp ../../../../own.csv tmp2 && mv -T tmp2 el.csv
	  done ) &
	swapper=$!
	runs=400
	[ -z "$QUICK" ] || runs=30
	refused=0
	for i in $(seq "$runs"); do
		out=$(meter-fetch -q -p evil -c $E/participant.xml --state st --archive arc 2>&1 || true)
		[[ "$out" != *999999* ]]
		[[ "$out" != *"a symbolic link on the way"* ]] || refused=$((refused + 1))
	done
	kill "$swapper"
	wait "$swapper" 2>/dev/null || true
	echo "refused $refused of $runs" >&3
	[ "$refused" -gt 0 ]
	victim_untouched
}

@test "hostile: secret headers are not sent across a redirect to another origin" {
	evil_root
	port=$(PORT)
	printf 'EVIL_KEY=key-%s\n' $$ > r/secrets/evil
	chmod 600 r/secrets/evil
	for to in "http://127.0.0.1:$port/files/same-$$.csv" "http://localhost:$port/files/other-$$.csv"; do
		evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$port/redirect?to=$to\" kind=\"interval\" duration=\"1h\" unit=\"kWh\"><header name=\"X-Api-Key\" env=\"EVIL_KEY\"/></connector></meter>"
		run meter-fetch -p evil -c $E/participant.xml --secrets r/secrets/evil --allow-net 127.0.0.0/8 --allow-net ::1
	done
	[[ "$(seen "/files/same-$$")" == *"X-Api-Key: key-$$"* ]]
	[ -n "$(seen "/files/other-$$")" ]
	[[ "$(seen "/files/other-$$")" == *"Host: localhost:$port"* ]]
	[[ "$(seen "/files/other-$$")" != *"key-$$"* ]]
	[ "$(seen "/redirect?to=http://localhost:$port/files/other-$$" | grep -c "X-Api-Key: key-$$")" -eq 1 ]
}

@test "hostile: loopback, private and link-local addresses are refused unless the operator allows them" {
	evil_root
	port=$(PORT)
	# and this host's own addresses, whatever their range
	own=$(ip -o addr | awk '{ sub("/.*", "", $4); print $4 }' | grep -v '^fe80' |
		sed -e "s|^\(.*:.*\)$|http://[\1]:$port/status/200?internal-$$|" -e "s|^\([0-9.]*\)$|http://\1:$port/status/200?internal-$$|")
	for url in "http://127.0.0.1:$port/status/200?internal-$$" "http://localhost:$port/status/200?internal-$$" \
	    "http://2130706433:$port/status/200?internal-$$" "http://[::1]:$port/status/200?internal-$$" \
	    "http://169.254.169.254/latest/meta-data/" "http://192.0.2.1/x" "http://[64:ff9b::7f00:1]/x" \
	    "http://[2002:7f00:1::]/x" $own; do
		evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"$url\" kind=\"interval\" duration=\"1h\" unit=\"kWh\" timeout=\"5s\" retries=\"0\"/></meter>"
		run -1 meter-fetch -p evil -c $E/participant.xml
		[[ "$output" == *"meter e0-api: the address is internal (loopback, private or link-local): refused unless the operator allows it (--allow-net)"* ]] ||
			[[ "$output" == *"meter e0-api: "*"Could not connect"* ]]
	done
	[ -z "$(seen_any "internal-$$")" ]
	# the dispatcher passes the operator's ranges from context/fetch.args
	evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$port/status/404?allowed-$$\" kind=\"interval\" duration=\"1h\" unit=\"kWh\" retries=\"0\"/></meter>"
	echo "--allow-net 127.0.0.0/8" > r/context/fetch.args
	run -1 sh "$HOURLY" r evil
	[ -n "$(seen "/status/404?allowed-$$")" ]
	# a typo there fails the run, it does not silently drop the line
	echo "--allow-nett 127.0.0.0/8" > r/context/fetch.args
	run -1 sh "$HOURLY" r evil
	[[ "$output" == *"evil: failed: "*"fetch.args: unknown option --allow-nett"* ]]
	# a URL a user types on the command line is the user's own
	run -0 meter-fetch -t csv -Q electricity -o ts-column=datetime -o "value-column=equipment load" -o kind=interval \
		-o duration=3600 -o unit=kWh "http://127.0.0.1:$port/files/cambridge-b0-electricity-2019-01.csv"
}

@test "hostile: a FIFO source, settings beyond the operator's ceilings and a stalling source stall nothing" {
	evil_root
	rm $E/data/el.csv
	mkfifo $E/data/el.csv
	run -1 timeout 20 meter-fetch -p evil -c $E/participant.xml
	[[ "$output" == *"data/el.csv: meter e0-el: not a regular file"* ]]
	for attrs in 'timeout="1d"' 'retries="20"' 'max-size="4G"' 'connect-timeout="11m"'; do
		evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://example.org/x\" kind=\"interval\" duration=\"1h\" unit=\"kWh\" $attrs/></meter>"
		run -2 meter-fetch -p evil -c $E/participant.xml
		[[ "$output" == *"meter e0-api: "*"operator's limit"* ]]
	done
	run -0 meter-fetch -p evil -c $E/participant.xml --max-timeout 1d --max-retries 20 --max-size 4G --dry-run
	# a source that stalls: the run's time limit ends evil's run, the others
	# (here one with a meter of its own, quick on any machine) go on
	evil_xml "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$(PORT)/slow/300/cambridge-b0-electricity-2019-01.csv\" kind=\"interval\" duration=\"1h\" unit=\"kWh\" timeout=\"5m\"/></meter>"
	echo "--allow-net 127.0.0.0/8" > r/context/fetch.args
	sh "$INIT" --participant calm r > /dev/null
	mkdir r/participants/calm/data
	echo 'datetime,kwh' > r/participants/calm/data/el.csv
	sed -e 's/"evil" name="Evil"/"calm" name="Calm"/' -e '/e0-api/d' $E/participant.xml > r/participants/calm/participant.xml
	run -1 sh "$HOURLY" -j 2 --run-limit 10s r evil calm
	[[ "$output" == *"evil: failed: the run's time limit (10 s) ran out in meter-fetch"* ]]
	[[ "$output" == *"calm: ok"* ]]
	[ "$(evil_status)" = failed ]
	victim_untouched
}

@test "hostile: files the platform creates are 0640 and directories 0750 whatever the umask" {
	evil_root
	umask 022
	meter-load -c $E/participant.xml w.db
	meter-fetch -p evil -c $E/participant.xml --archive arc --state st -r rej.ndjson |
		meter-standardize -s std -r rej2.ndjson > /dev/null
	echo 'not json' | meter-load -r rej3.ndjson w.db || true
	[ "$(stat -c %a w.db)" = 640 ]
	for f in st/fetch-cursors.ndjson std/standardize.state rej3.ndjson $(find arc -type f); do
		[ "$(stat -c %a "$f")" = 640 ]
	done
	for d in std $(find arc -type d); do
		[ "$(stat -c %a "$d")" = 750 ]
	done
	[ "$(stat -c %a r/participants)" = 711 ]
	[ "$(stat -c %a r/secrets)" = 700 ]
	[ "$(stat -c %a $E/inbox)" = 3770 ]
	[ "$(stat -c %g $E/inbox)" = "$EVIL_GID" ]
}

@test "hostile: a run record pushed into the inbox cannot rewrite the runs table" {
	evil_root
	sh "$HOURLY" r evil || true
	before=$(sqlite3 r/warehouse.db "SELECT * FROM runs ORDER BY run")
	printf '{"run":"%s","participant":"evil","started":"x","finished":"y","status":"ok","fetched":0,"loaded":0,"rejected":0,"message":"forged"}\n' \
		"$(sqlite3 r/warehouse.db "SELECT run FROM runs WHERE participant = 'cambridge' LIMIT 1")" > $E/inbox/run.ndjson
	run -1 sh "$HOURLY" r evil
	grep -q "a run record: only meter-hourly writes runs (--runs)" $E/rejects/*.ndjson
	[ "$(sqlite3 r/warehouse.db "SELECT count(*) FROM runs WHERE message = 'forged'")" -eq 0 ]
	[ "$(sqlite3 r/warehouse.db "SELECT * FROM runs WHERE participant = 'cambridge' ORDER BY run")" = \
		"$(echo "$before" | grep '|cambridge|')" ]
}

@test "hostile: terminal escapes in a participant's files reach no terminal or log raw" {
	evil_root
	printf 'datetime,kwh\n2019-01-02 10:00:00,\033]0;pwned\007\033[2J\n' > $E/data/el.csv
	printf '{"participant":"evil","meter":"\033[31m","quantity":"electricity","hour":"2019-01-02T10:00:00Z","value":1,"unit":"kWh"}\n' > $E/inbox/esc.ndjson
	run -1 sh "$HOURLY" r evil
	[[ "$output" != *$'\033'* ]]
	! grep -rq $'\033' $E/log $E/rejects
	# the rejects keep the lines, escaped as JSON does
	[ "$(jq -r .record $E/rejects/*.ndjson | grep -c $'\033')" -eq 2 ]
	run -1 meter-fetch -p evil -c $E/participant.xml
	[[ "$output" == *'value "\x1b]0;pwned\x07\x1b[2J" is not a number'* ]]
	[[ "$output" != *$'\033'* ]]
	run -1 meter-load -p evil w.db $E/inbox/failed/esc.ndjson
	[[ "$output" != *$'\033'* ]]
}

@test "hostile: a meter-fetch holding header secrets can leave no core file" {
	evil_root "<meter id=\"e0-api\" quantity=\"electricity\"><connector type=\"csv\" url=\"http://127.0.0.1:$(PORT)/slow/3/cambridge-b0-electricity-2019-01.csv\" kind=\"interval\" duration=\"1h\" unit=\"kWh\"><header name=\"X-Key\" env=\"K\"/></connector></meter>"
	ulimit -c unlimited
	K=secret meter-fetch -p evil -c $E/participant.xml --allow-net 127.0.0.0/8 > /dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do grep -q "^Max core file size *0 *0" /proc/$pid/limits 2>/dev/null && break; sleep 0.1; done
	grep -q "^Max core file size *0 *0" /proc/$pid/limits
	[ "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" -ge 0 ]
	kill -SEGV "$pid"
	wait "$pid" || true
	[ -z "$(find . -maxdepth 1 -name 'core*')" ]
}

@test "hostile: configurations anyone could have written or moved are refused; secret-looking URL values are never shown" {
	mkdir -p sticky && chmod 1777 sticky
	echo '<participant id="acme"/>' > sticky/participant.xml
	run -2 meter-load -c sticky/participant.xml w.db
	[[ "$output" == *"refusing a configuration in a world-writable directory"* ]]
	mkdir -p open/acme && chmod 777 open && chmod 755 open/acme
	echo '<participant id="acme"/>' > open/acme/participant.xml
	run -2 meter-load -c open/acme/participant.xml w.db
	[[ "$output" == *"refusing a configuration below a world-writable directory, $PWD/open (chmod o-w, or +t)"* ]]
	chmod 1777 open
	run -0 meter-load -c open/acme/participant.xml w.db
	mkdir -p p
	echo '<participant id="acme"><meter id="m" quantity="electricity"><connector type="csv" url="http://127.0.0.1:1/x?access_token=A1&amp;code=C2&amp;jwt=J3&amp;session=S4&amp;pwd=P5&amp;bearer=B6&amp;day=2019" kind="interval" duration="1h" unit="kWh" retries="0"/></meter></participant>' > p/participant.xml
	run -0 meter-fetch -c p/participant.xml --dry-run
	[[ "$output" == *"?access_token=*&code=*&jwt=*&session=*&pwd=*&bearer=*&day=2019"* ]]
}

@test "hostile: a configuration of 100,000 meters loads in one pass (no quadratic work)" {
	n=100000
	[ -z "$QUICK" ] || n=10000
	awk -v n="$n" 'BEGIN { print "<participant id=\"big\"><property id=\"p\">"
		for (i = 0; i < n; i++) printf "<meter id=\"m%d\" quantity=\"electricity\"/>\n", i
		print "</property></participant>" }' > big.xml
	run -0 meter-load -c big.xml w.db
	[ "$(sqlite3 w.db "SELECT count(*) FROM meter WHERE participant = 'big'")" -eq "$n" ]
	sed -i 's|<meter id="m5"|<meter id="m7"|' big.xml
	run -2 meter-load -c big.xml w.db
	[[ "$output" == *'<meter>: duplicate meter id "m7"'* ]]
}
