#!/usr/bin/env bats
# The meter formats of the field: DSMR P1 telegrams, NEM12 files, CSV with
# hour-ending labels and CSV with a row per day (meter-fetch(1)).  Every
# expected value is worked out by hand from the files, or by awk and Python
# over the same input.

load helper

D="$BATS_TEST_DIRNAME/fixtures/dsmr"
N="$BATS_TEST_DIRNAME/fixtures/nem12"

# dsmr FILE REGISTER: "ts value unit kind quantity" per reading
dsmr() {
	meter-fetch -q -t dsmr -o register="$2" "$1" |
		jq -r '"\(.ts) \(.value) \(.unit) \(.kind) \(.quantity)"'
}

@test "dsmr: every shared telegram, each register, as the telegram's text says" {
	# times: W is UTC+1, S UTC+2 (Europe/Amsterdam); sums by hand
	[ "$(dsmr "$D/TELEGRAM_V4_2.txt" import)" = "2016-11-13T19:57:57Z 3016.829 kWh cumulative electricity" ]
	[ "$(dsmr "$D/TELEGRAM_V4_2.txt" import-2)" = "2016-11-13T19:57:57Z 1435.706 kWh cumulative electricity" ]
	[ "$(dsmr "$D/TELEGRAM_V4_2.txt" gas)" = "2016-11-29T19:00:00Z 981.443 m3 cumulative gas" ]
	# what goes back to the grid is electricity_export, never consumption
	[ "$(dsmr "$D/TELEGRAM_V5.txt" export)" = "2017-01-02T18:20:02Z 2.444 kWh cumulative electricity_export" ]
	[ "$(dsmr "$D/TELEGRAM_V5.txt" power)" = "2017-01-02T18:20:02Z 0.244 kW instant electricity" ]
	[ "$(dsmr "$D/TELEGRAM_V5.txt" gas)" = "2017-01-02T15:10:05Z 0.107 m3 cumulative gas" ]
	# Fluvius: gas on 24.2.3, water (device type 007) on another channel
	[ "$(dsmr "$D/TELEGRAM_FLUVIUS_V171.txt" gas)" = "2020-05-12T11:45:58Z 112.384 m3 cumulative gas" ]
	[ "$(dsmr "$D/TELEGRAM_FLUVIUS_V171.txt" water)" = "2020-05-12T11:45:58Z 872.234 m3 cumulative water" ]
	[ "$(dsmr "$D/TELEGRAM_FLUVIUS_V171_ALT.txt" import)" = "2023-11-02T11:15:48Z 571.562 kWh cumulative electricity" ]
	[ "$(dsmr "$D/TELEGRAM_FLUVIUS_V171_ALT.txt" export-1)" = "2023-11-02T11:15:48Z 0.005 kWh cumulative electricity_export" ]
	# Wh and W as written; the 1.8.0 total before the tariffs
	[ "$(dsmr "$D/TELEGRAM_SAGEMCOM_T210_D_R.txt" import)" = "2022-10-06T13:50:14Z 6545766 Wh cumulative electricity" ]
	[ "$(dsmr "$D/TELEGRAM_SAGEMCOM_T210_D_R.txt" power)" = "2022-10-06T13:50:14Z 286 W instant electricity" ]
	[ "$(dsmr "$D/TELEGRAM_V5_EON_HU.txt" import)" = "2023-07-24T13:07:30Z 173.64 kWh cumulative electricity" ]
	[ "$(dsmr "$D/TELEGRAM_V5_EON_HU.txt" power-export)" = "2023-07-24T13:07:30Z 2.601 kW instant electricity_export" ]
	[ "$(dsmr "$D/TELEGRAM_ISKRA_IE.txt" import)" = "2023-02-02T12:27:47Z 20.363 kWh cumulative electricity" ]
	# a 3-digit CRC and GJ of heat
	[ "$(dsmr "$D/TELEGRAM_UNPADDED_CRC.txt" heat)" = "2026-02-15T19:05:23Z 240.86 GJ cumulative heat" ]
	# v2.2/v3: the gas value on the line after 24.3.0, its time without W/S
	[ "$(dsmr "$D/TELEGRAM_V2_2.txt" gas)" = "2016-11-07T18:00:00Z 1.001 m3 cumulative gas" ]
	[ "$(dsmr "$D/TELEGRAM_V3.txt" gas)" = "2009-02-12T15:00:00Z 1.001 m3 cumulative gas" ]
	# two M-Bus gas channels, the first unused: the second is read
	[ "$(dsmr "$D/TELEGRAM_V5_TWO_MBUS.txt" gas)" = "2020-04-26T20:30:01Z 246.138 m3 cumulative gas" ]
}

@test "dsmr: telegrams without a time, unused channels and absent registers are counted, not lost" {
	for f in TELEGRAM_ESY5Q3DA1004_V304 TELEGRAM_ESY5Q3DB1024_V304 TELEGRAM_V3; do
		run meter-fetch --stats -t dsmr "$D/$f.txt"
		[ "$status" -eq 1 ]
		[[ "$output" == *"$f.txt:1: the telegram has no time (0-0:1.0.0)"* ]]
		[[ "$output" == *"readings 0 rejected 1 "* ]]
	done
	# channel 1 of two: an epoch time, value 0: skipped
	run meter-fetch --stats -t dsmr -o register=gas -o channel=1 "$D/TELEGRAM_V5_TWO_MBUS.txt"
	[ "$status" -eq 0 ]
	[[ "$output" == *"readings 0 rejected 0 skipped 1 "* ]]
	# a heat meter's telegram has no electricity
	run meter-fetch --stats -t dsmr "$D/TELEGRAM_UNPADDED_CRC.txt"
	[[ "$output" == *"readings 0 rejected 0 skipped 1 "* ]]
}

@test "dsmr: a bad CRC rejects its telegram and the stream goes on; garbage, LF endings and cut telegrams" {
	# the second of three copies loses a digit of a register: its CRC fails
	{ printf 'partial line from the middle of a telegram\r\n!1234\r\n'
	  cat "$D/TELEGRAM_V5.txt"
	  sed 's/000004.426/000004.427/' "$D/TELEGRAM_V5.txt"
	  printf '\377\377\377'
	  tr -d '\r' < "$D/TELEGRAM_V4_2.txt"
	  head -5 "$D/TELEGRAM_V5.txt"; } > p1.log
	run meter-fetch --stats -t dsmr p1.log
	[ "$status" -eq 1 ]
	[[ "$output" == *"p1.log:"*": CRC mismatch: the telegram says 6EEE, its bytes give "*"(the next one is read)"* ]]
	[[ "$output" == *"telegram without its end: the capture stops before its '!'"* ]]
	[[ "$output" == *"readings 2 rejected 2 "* ]]
 	# readings go out in time order: the 2016 telegram first
	[ "$(meter-fetch -q -t dsmr p1.log | jq -r .value | tr '\n' ' ')" = "3016.829 6.825 " ]
	# a DSMR 5 telegram whose CRC is cut off
	sed 's/^!6EEE/!/' "$D/TELEGRAM_V5.txt" > nocrc.txt
	run meter-fetch -t dsmr nocrc.txt
	[[ "$output" == *"CRC missing: a DSMR 4 or 5 telegram has one after its '!'"* ]]
}

@test "dsmr: W and S tell the two passes of the repeated hour apart, in the configured zone" {
	# 27 October 2019, Amsterdam: 02:30 S is 00:30 UTC, 02:30 W is 01:30 UTC;
	# written in reverse order, so that row order alone would get them wrong
	python3 "$BATS_TEST_DIRNAME/dsmr_gen.py" one 191027023000W 10 20 > p1
	python3 "$BATS_TEST_DIRNAME/dsmr_gen.py" one 191027023000S 9 20 >> p1
	[ "$(meter-fetch -q -t dsmr p1 | jq -r '"\(.ts) \(.value)"' | tr '\n' ' ')" = "2019-10-27T00:30:00Z 29 2019-10-27T01:30:00Z 30 " ]
	# another zone: Brussels has the same rules, Helsinki is an hour ahead
	[ "$(meter-fetch -q -t dsmr -o timezone=Europe/Helsinki p1 | jq -r .ts | head -1)" = 2019-10-26T23:30:00Z ]
	# a time the spring change skips is rejected
	python3 "$BATS_TEST_DIRNAME/dsmr_gen.py" one 190331023000S 9 20 > gap
	run meter-fetch -t dsmr gap
	[[ "$output" == *"local time \"190331023000S\" does not exist"* ]]
}

@test "dsmr: a day of telegrams every 10 s gives hours equal to the register differences" {
	python3 "$BATS_TEST_DIRNAME/dsmr_gen.py" day day.p1 want
	[ "$(wc -l < want)" -eq 24 ]
	meter-fetch -t dsmr -p home -m el day.p1 | meter-standardize > hours.ndjson
	jq -r '"\(.hour) \(.value)"' hours.ndjson | awk '{ printf "%s %.3f\n", $1, $2 }' > got
	diff want got
	[ "$(jq -r .quality hours.ndjson | sort -u)" = measured ]
}

@test "dsmr: archived payloads replay to the same readings" {
	cp "$D/TELEGRAM_V5.txt" meter.txt
	meter-fetch -t dsmr -o register=gas --archive arch meter.txt > first
	[ "$(find arch -name '*.p1' | wc -l)" -eq 1 ]
	meter-fetch -t dsmr -o register=gas -m meter --replay "$(find arch -name '*.p1')" > again
	[ "$(jq -c 'del(.source)' first)" = "$(jq -c 'del(.source)' again)" ]
}

# nem12_awk FILE: "METER DAY KWH" summed from the 300 records of the E and B
# streams (interval values between the date and the quality method), by awk
nem12_awk() {
	tr -d '\r' < "$1" | awk -F, '
		$1 == 200 { id = $2 "-" $5; n = 1440 / $9; keep = ($5 ~ /^[EB]/) }
		$1 == 300 && keep && NF >= n + 3 { for (i = 3; i < 3 + n; i++) s[id " " $2] += $i }
		END { for (k in s) printf "%s %.6f\n", k, s[k] }' | sort
}

# nem12_got FILE: the same from meter-fetch, by the AEST day of each interval
nem12_got() {
	meter-fetch -q -t nem12 "$1" |
		jq -r '"\(.meter) \((.ts | fromdateiso8601) + 36000 | strftime("%Y%m%d")) \(.value)"' |
		awk '{ s[$1 " " $2] += $3 } END { for (k in s) printf "%s %.6f\n", k, s[k] }' | sort
}

@test "nem12: every shared file gives per NMI, suffix and day the sums awk takes of its 300 records" {
	n=0 some=0
	for f in "$N"/NEM12*; do
		nem12_awk "$f" > want
		nem12_got "$f" > got
		diff want got
		n=$((n + 1))
		[ -s want ] && some=$((some + 1))
	done
	# two files hold only reactive (kvarh) streams
	[ "$n" -eq 20 ] && [ "$some" -eq 18 ]
}

@test "nem12: intervals end on the AEST day, quality from the 300 and 400 records, reactive streams skipped" {
	f="$N/NEM12#000000000000002#CNRGYMDP#NEMMCO.csv"
	# the first E1 value of 1 April 2005 is 00:00-00:30 AEST: 31 March 14:00 UTC
	meter-fetch -q -t nem12 "$f" > out
	[ "$(jq -r 'select(.meter == "NEM1202022-E1") | "\(.ts) \(.value) \(.duration)"' out | head -1)" = "2005-03-31T14:00:00Z 1804.511 1800" ]
	[ "$(jq -r .unit out | sort -u)" = kWh ]
	[ "$(jq -r .meter out | sort -u | tr '\n' ' ')" = "NEM1202022-B1 NEM1202022-E1 " ]
	# the Q1 and K1 streams are counted as skipped, and read when named
	run meter-fetch --stats -t nem12 "$f"
	[[ "$output" == *"readings 384 rejected 0 skipped 384 "* ]]
	[ "$(meter-fetch -q -t nem12 -o suffix=Q1 "$f" | jq -r '"\(.meter) \(.quantity) \(.unit)"' | sort -u)" = "NEM1202022-Q1 reactive_energy kvarh" ]
	# V with 400 ranges: intervals 21-48 estimated, 1-20 actual, N none
	{ echo '100,NEM12,200506081149,UNITEDDP,NEMMCO'
	  echo '200,NEM1201009,E1,1,E1,N1,01009,kWh,30,'
	  printf '300,20050301'; for i in $(seq 48); do printf ',%s' "$i"; done; echo ',V,,,20050310121004,'
	  echo '400,1,20,A,,'; echo '400,21,46,E52,,'; echo '400,47,48,N,,'
	  echo '900'; } > v.csv
	run meter-fetch --stats -t nem12 -p a -o nmi=NEM1201009 v.csv
	[[ "$output" == *"readings 46 rejected 0 skipped 2 "* ]]
	[ "$(meter-fetch -q -t nem12 -o nmi=NEM1201009 v.csv | jq -r 'select(.quality == "estimated") | .value' | wc -l)" -eq 26 ]
	# a stream named ad hoc is its meter, as without nmi
	[ "$(meter-fetch -q -t nem12 -o nmi=NEM1201009 v.csv | jq -r '.meter' | sort -u)" = NEM1201009-E1 ]
	[ "$(meter-fetch -q -t nem12 -o nmi=NEM1201009 -m main v.csv | jq -r '.meter' | sort -u)" = main ]
}

@test "nem12: the broken files are rejected with the record's line and reason" {
	I="$N/invalid"
	run meter-fetch --stats -t nem12 "$I/Example_NEM12_15min_200_30min_300.csv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Example_NEM12_15min_200_30min_300.csv:3: value count does not fit the interval length: the 300 record holds 48 values, not the 96 that 15-minute intervals make (200 record at line 2)"* ]]
	run meter-fetch -t nem12 "$I/Example_NEM12_30min_200_15min_300.csv"
	[[ "$output" == *":3: value count does not fit the interval length: the 300 record holds 96 values, not the 48"* ]]
	run meter-fetch -t nem12 "$I/Example_NEM12_15min_200_30min_400.csv"
	[[ "$output" == *":3: quality method V without quality records: no 400 record gives the quality of interval 49"* ]]
	run meter-fetch -t nem12 "$I/Example_NEM12_incomplete_interval.csv"
	[[ "$output" == *":3: value count does not fit the interval length: the 300 record holds 0 values"* ]]
	for f in missing_header powercor powercor_missing_fields; do
		run meter-fetch -t nem12 "$I/Example_NEM12_$f.csv"
		[ "$status" -eq 1 ]
		[[ "$output" == *"Example_NEM12_$f.csv:2: meter Example_NEM12_$f: no 100 header record before this 200 record: not a NEM12 file, or its first line is missing"* ]]
	done
	run meter-fetch -t nem12 "$I/Example_empty_file.csv"
	[[ "$output" == *"Example_empty_file.csv:1: meter Example_empty_file: no 100 header record: an empty file, or not NEM12"* ]]
	# a header and an end, no data: nothing, and no error
	run meter-fetch --stats -t nem12 "$I/Example_NEM12_empty.csv"
	[ "$status" -eq 0 ]
	# a 400 range past the day's 48 intervals
	{ echo '100,NEM12,200506081149,UNITEDDP,NEMMCO'; echo '200,N1,E1,1,E1,N1,1,kWh,30,'
	  printf '300,20050301'; for i in $(seq 48); do printf ',1'; done; echo ',V,,,,'
	  echo '400,1,96,A,,'; echo 900; } > past.csv
	run meter-fetch --stats -t nem12 past.csv
	[[ "$output" == *"past.csv:4: interval range past the end of the day: the 400 record gives 1-96, the day has 48 intervals of 30 minutes (300 record at line 3)"* ]]
	[[ "$output" == *"readings 0 rejected 1 "* ]]
}

@test "nem12: a configuration names its stream; replay of the archived file" {
	mkdir -p p/data
	cp "$N/NEM12#000000000000002#CNRGYMDP#NEMMCO.csv" p/data/nem.csv
	cat > p/participant.xml <<-'X'
	<participant id="au">
	  <property id="site" timezone="Australia/Sydney">
	    <meter id="import" quantity="electricity">
	      <connector type="nem12" url="file:data/nem.csv" nmi="NEM1202022"/>
	    </meter>
	    <meter id="export" quantity="electricity_export">
	      <connector type="nem12" url="file:data/nem.csv" nmi="NEM1202022" suffix="B1"/>
	    </meter>
	  </property>
	</participant>
	X
	meter-fetch -c p/participant.xml --archive arch > out
	[ "$(jq -r 'select(.meter == "import") | .value' out | awk '{ s += $1 } END { printf "%.3f", s }')" = "$(nem12_awk p/data/nem.csv | awk '$1 == "NEM1202022-E1" { s += $3 } END { printf "%.3f", s }')" ]
	[ "$(jq -r 'select(.meter == "export") | .value' out | awk '{ s += $1 } END { printf "%.3f", s }')" = "$(nem12_awk p/data/nem.csv | awk '$1 == "NEM1202022-B1" { s += $3 } END { printf "%.3f", s }')" ]
	[ "$(find arch -path '*/import/*.csv' | wc -l)" -eq 1 ]
	# export is electricity_export: the property's electricity is the import alone
	meter-standardize out | meter-aggregate -c p/participant.xml > ph
	[ "$(jq -r 'select(.quantity == "electricity") | .value' ph | awk '{ s += $1 } END { printf "%.3f", s }')" = "$(nem12_awk p/data/nem.csv | awk '$1 == "NEM1202022-E1" { s += $3 } END { printf "%.3f", s }')" ]
	[ "$(jq -r .quantity ph | sort -u | tr '\n' ' ')" = "electricity electricity_export " ]
	meter-fetch -c p/participant.xml --replay "$(find arch -path '*/import/*.csv')" > again
	[ "$(jq -c 'select(.meter == "import") | del(.source)' out)" = "$(jq -c 'del(.source)' again)" ]
	# without nmi a configuration is refused: the file holds many meters
	sed -i 's/ nmi="NEM1202022"\/>/\/>/' p/participant.xml
	run meter-fetch -c p/participant.xml --check
	[ "$status" -eq 2 ]
	[[ "$output" == *"meter import: a nem12 file holds many meters: name this one's with nmi=\"...\""* ]]
}

PJM="-t csv -o ts-label=end -o kind=interval -o duration=3600 -o unit=MWh -o timezone=America/New_York -Q electricity"

@test "ts-label=end: a PJM-shaped year converts with every row kept and the energy preserved" {
	python3 "$BATS_TEST_DIRNAME/pjm_year.py" pjm.csv want
	[ "$(wc -l < want)" -eq 8760 ]
	# the fall-back day's 02:00 twice, the spring day's 03:00 never
	[ "$(grep -c '^2019-11-03 02:00:00' pjm.csv)" -eq 2 ]
	[ "$(grep -c '^2019-03-10 03:00:00' pjm.csv)" -eq 0 ]
	run meter-fetch --stats $PJM pjm.csv
	[[ "$output" == *"readings 8760 rejected 0 skipped 0 "* ]]
	meter-fetch -q $PJM pjm.csv | jq -r '"\(.ts) \(.value)"' | awk '{ printf "%s %.1f\n", $1, $2 }' > got
	diff want got
	# through meter-standardize: 8,760 distinct hours, the same MWh as kWh
	meter-fetch -q $PJM pjm.csv | meter-standardize > hours
	[ "$(jq -r .hour hours | sort -u | wc -l)" -eq 8760 ]
	[ "$(value_sum hours)" = "$(awk '{ s += $2 * 1000 } END { printf "%.6f\n", s }' want)" ]
}

@test "ts-label=end: the label the spring change shifts is rejected; an end label needs intervals" {
	printf 'Datetime,MW\n2019-03-10 02:00:00,1\n2019-03-10 03:00:00,2\n2019-03-10 04:00:00,3\n' > gap.csv
	run meter-fetch --stats $PJM gap.csv
	[ "$status" -eq 1 ]
	[[ "$output" == *"gap.csv:3: end label 2019-03-10 03:00:00 begins its interval at 2019-03-10 02:00:00, which the DST change skips"* ]]
	[[ "$output" == *"readings 2 rejected 1 "* ]]
	# offsets and UTC times move back by the interval too
	printf 'ts,load [kWh]\n2019-01-01T01:00:00Z,5\n2019-01-01T01:00:00-05:00,6\n' > utc.csv
	[ "$(meter-fetch -q -t csv -o ts-label=end -o kind=interval -o duration=1h -Q electricity utc.csv | jq -r .ts | tr '\n' ' ')" = "2019-01-01T00:00:00Z 2019-01-01T05:00:00Z " ]
	# JSON takes it as well
	echo '[{"ts":"2019-01-01T00:15:00Z","value":1}]' > r.json
	[ "$(meter-fetch -q -t json -o ts-label=end -o kind=interval -o duration=900 -o unit=kWh -Q electricity r.json | jq -r .ts)" = 2019-01-01T00:00:00Z ]
	run meter-fetch -t csv -o ts-label=end -o kind=cumulative -Q electricity utc.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"ts-label=end is for interval readings, not cumulative ones"* ]]
	run meter-fetch -t csv -o ts-label=end -o kind=interval -Q electricity utc.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"interval readings need a duration"* || "$output" == *"ts-label=end needs the interval's length"* ]]
	run meter-fetch -t csv -o ts-label=middle -o kind=interval -o duration=1h utc.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"attribute \"ts-label\" must be start or end, not \"middle\""* ]]
}

@test "layout=wide: a row per day, 23 and 25 hours on the DST days, a value past the day's end rejected" {
	# hour columns H1..H25; the 25th is empty but on the fall-back day
	python3 - <<-'PY'
	from datetime import date, timedelta
	with open("wide.csv", "w") as f:
	    f.write("Date," + ",".join(f"H{h + 1}" for h in range(25)) + "\n")
	    for d, n in ((date(2019, 3, 9), 24), (date(2019, 3, 10), 23), (date(2019, 3, 11), 24), (date(2019, 11, 3), 25)):
	        f.write(d.isoformat() + "," + ",".join(str(h + 1) for h in range(n)) + "," * (25 - n) + "\n")
	    f.write("2019-11-04," + ",".join("1" for h in range(25)) + "\n")
	PY
	W="-t csv -o layout=wide -o kind=interval -o duration=3600 -o unit=kWh -o timezone=America/New_York -Q electricity"
	run meter-fetch --stats $W wide.csv
	[ "$status" -eq 1 ]
	# 24 + 23 + 24 + 25 + 24 readings; the 4 November row's 25th value rejected
	[[ "$output" == *"wide.csv:6: column past the end of the day: column 26 (the day's interval 25) holds \"1\", the day has 24 intervals"* ]]
	[[ "$output" == *"readings 120 rejected 1 "* ]]
	meter-fetch -q $W wide.csv > out || [ $? -eq 1 ]
	# columns run from local midnight in elapsed time: 10 March's 3rd column is 03:00 EDT
	[ "$(jq -r 'select(.ts >= "2019-03-10T05:00:00Z" and .ts < "2019-03-11T04:00:00Z") | "\(.ts) \(.value)"' out | sed -n '1p;3p;23p' | tr '\n' ' ')" = "2019-03-10T05:00:00Z 1 2019-03-10T07:00:00Z 3 2019-03-11T03:00:00Z 23 " ]
	# 3 November's 25 columns cover 04:00Z to 05:00Z the next day, each once
	[ "$(jq -r 'select(.ts >= "2019-11-03T04:00:00Z" and .ts < "2019-11-04T05:00:00Z") | .ts' out | sort -u | wc -l)" -eq 25 ]
	# through meter-standardize: the energy awk sums over the kept cells
	meter-fetch -q $W wide.csv | meter-standardize > hours
	[ "$(value_sum hours)" = "$(awk -F, 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "" && !(NR == 6 && i == 26)) s += $i } END { printf "%.6f\n", s }' wide.csv)" ]
	# half hours, a date that is no day, a length that does not divide a day
	printf 'day,v1,v2\n2019-01-01,1,2\n2019-01-01T10:00:00,1,2\n' > half.csv
	run meter-fetch --stats -t csv -o layout=wide -o kind=interval -o duration=30m -o unit=kWh -Q electricity half.csv
	[[ "$output" == *"half.csv:3: row date not a day: \"2019-01-01T10:00:00\" (YYYY-MM-DD)"* ]]
	[ "$(meter-fetch -q -t csv -o layout=wide -o kind=interval -o duration=30m -o unit=kWh -Q electricity half.csv | jq -r .ts | tr '\n' ' ')" = "2019-01-01T00:00:00Z 2019-01-01T00:30:00Z " ]
	run meter-fetch -t csv -o layout=wide -o kind=interval -o duration=7m -o unit=kWh -Q electricity half.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"layout=wide needs a duration that divides a day into whole intervals"* ]]
}

@test "formats under attack: merged, cut, malformed and over-long input is rejected with its reason, never read wrong" {
	# a cut-off telegram before one whose '/' follows noise: two telegrams, not one sum
	printf '/ISk5\\2MT382-1000\r\n\r\n0-0:1.0.0(190115120000W)\r\n1-0:1.8.1(000010.000*kWh)\r\n\377/ISk5\\2MT382-1000\r\n\r\n0-0:1.0.0(190115130000W)\r\n1-0:1.8.2(000020.000*kWh)\r\n!\r\n' > cut
	run meter-fetch --stats -t dsmr cut
	[[ "$output" == *'"value":20,'* ]]
	[[ "$output" == *"cut:1: telegram cut off: another begins before its '!'"* ]]
	# a '!' inside a text message does not end the telegram
	printf '/ISk5\\2MT382-1000\r\n\r\n0-0:1.0.0(190115120000W)\r\n0-0:96.13.0(Hello! world)\r\n1-0:1.8.1(000010.000*kWh)\r\n!\r\n' > bang
	[ "$(meter-fetch -q -t dsmr bang | jq -r .value)" = 10 ]
	# an unreadable register value and a 30 February are rejected, not skipped or moved
	sed 's/1-0:1.8.1(000010.000\*kWh)/1-0:1.8.1(abc*kWh)/' bang > badv
	run meter-fetch --stats -t dsmr badv
	[[ "$output" == *"register value not a number and unit"* && "$output" == *"readings 0 rejected 1 ("* && "$output" == *") skipped 0 "* ]]
	sed 's/190115120000W/190230120000W/' bang > feb30
	run meter-fetch -t dsmr feb30
	[[ "$output" == *"time \"190230120000W\" is not a date and time"* ]]
	# a register of another quantity than its meter's is refused at --check
	mkdir -p p && touch p/p1.txt
	echo '<participant id="x"><property id="p"><meter id="el" quantity="electricity"><connector type="dsmr" url="file:p1.txt" register="gas"/></meter></property></participant>' > p/participant.xml
	run meter-fetch -c p/participant.xml --check
	[ "$status" -eq 2 ]
	[[ "$output" == *"register=\"gas\" is gas, not electricity"* ]]
	# NEM12: NMIs too long to be told apart, CR line ends, hexadecimal values,
	# overlapping 400 ranges, records after 900, a broken stream not asked for
	day() { printf '300,%s' "$1"; for i in $(seq 48); do printf ',%s' "${2:-1}"; done; echo ",$3,,,,"; }
	# a day in 9999: no year after it in the warehouse's calendar
	{ echo 100,NEM12,x,y,z; echo 200,N1,E1,1,E1,N1,1,kWh,30,; day 99991231 1 A; } > y9999.csv
	run meter-fetch --stats -t nem12 y9999.csv
	[[ "$output" == *"interval date out of range: \"99991231\" is not in the years 1900 to 9998"* ]]
	{ echo 100,NEM12,x,y,z; echo 200,ABCDEFGHIJKLMNOP1,E1,1,E1,N1,1,kWh,30,; day 20050301 1 A; } > long.csv
	run meter-fetch --stats -t nem12 long.csv
	[[ "$output" == *"NMI or suffix too long"* && "$output" == *"readings 0 rejected 1 ("* ]]
	{ echo 100,NEM12,x,y,z; echo 200,N1,E1,1,E1,N1,1,kWh,30,; day 20050301 1 A; echo 900; } | tr '\n' '\r' > cr.csv
	run meter-fetch --stats -t nem12 cr.csv
	[[ "$output" == *"readings 48 rejected 0"* ]]
	{ echo 100,NEM12,x,y,z; echo 200,N1,E1,1,E1,N1,1,kWh,30,; day 20050301 0x10 A; day 20050302 1 V; echo 400,1,30,A,,; echo 400,20,48,N,,
	  echo 900; day 20050303 1 A; echo 200,N1,Q1,1,Q1,,1,kvarh,7,; day 20050301 1 A; } > odd.csv
	run meter-fetch --stats -t nem12 -o nmi=N1 odd.csv
	[[ "$output" == *"odd.csv:3: value not a decimal number: \"0x10\" for interval 1"* ]]
	[[ "$output" == *"odd.csv:6: interval ranges overlap: the 400 record's 20-48 covers intervals an earlier one gave"* ]]
	[[ "$output" == *"odd.csv:8: record after the end: the 900 record closes the file"* ]]
	[[ "$output" != *"interval length unknown"* ]]
	[[ "$output" == *"readings 0 rejected 5 ("* ]]
	# wide: a date per row, so no epoch times and no end labels
	run meter-fetch -t csv -o layout=wide -o ts-label=end -o kind=interval -o duration=1h -o unit=kWh -Q electricity odd.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"layout=wide reads a date per row: it takes no ts-label and no epoch time-format"* ]]
}

@test "formats: what a meter cannot mean is refused before any fetch; a meter that finds nothing says so" {
	f="$N/NEM12#000000000000002#CNRGYMDP#NEMMCO.csv"
	# a mistyped NMI, a channel no telegram has: a notice naming what there is
	run meter-fetch -t nem12 -o nmi=NEM1202O22 "$f"
	[ "$status" -eq 0 ] && [ -z "$(meter-fetch -q -t nem12 -o nmi=NEM1202O22 "$f")" ]
	[[ "$output" == *"no stream for meter NEM1202O22-E1: the file holds NEM1202022/B1, NEM1202022/E1, NEM1202022/K1, NEM1202022/Q1 (nmi=\"NEM1202O22\" and suffix= name one of them)"* ]]
	run meter-fetch -t nem12 "$N/invalid/Example_NEM12_empty.csv"
	[[ "$output" == *"no stream for meter Example_NEM12_empty: the file holds no 200 record"* ]]
	run meter-fetch -t dsmr -o register=gas -o channel=2 "$D/TELEGRAM_V5.txt"
	[[ "$output" == *"no register for meter TELEGRAM_V5: none of the 1 telegram holds gas on channel 2"* ]]
	# attributes the payload itself settles, a channel without an M-Bus register, a key twice
	run meter-fetch -t nem12 -o timezone=Europe/London "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"a nem12 connector takes no \"timezone\": the file says it"* ]]
	run meter-fetch -t dsmr -o kind=interval "$D/TELEGRAM_V5.txt"
	[[ "$output" == *"a dsmr connector takes no \"kind\": the telegram says it"* ]]
	run meter-fetch -t dsmr -o channel=1 "$D/TELEGRAM_V5.txt"
	[[ "$output" == *"channel= picks an M-Bus channel: it goes with register=gas, water or heat, not import"* ]]
	run meter-fetch -t csv -o duration=30m -o duration=7m x.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o duration is given twice: give it once"* ]]
	run meter-fetch -t nem12 -o register=gas "$f"
	[[ "$output" == *"unknown attribute \"register\" for a nem12 connector"* ]]
	# a reactive stream on an energy meter is refused at --check
	mkdir -p p && touch p/n.csv
	echo '<participant id="x"><property id="p"><meter id="q" quantity="electricity"><connector type="nem12" url="file:n.csv" nmi="N1" suffix="Q1"/></meter></property></participant>' > p/participant.xml
	run meter-fetch -c p/participant.xml --check
	[ "$status" -eq 2 ]
	[[ "$output" == *"suffix=\"Q1\" is reactive_energy, not electricity"* ]]
	# ad hoc, a voltage stream is not a meter: the C123 file's V1 is skipped
	run meter-fetch --stats -t nem12 "$N/NEM12#C123_20040402_20040402#None#C123.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rejected 0 "* ]]
}

@test "formats, second review: a '/' in a text is no telegram, many starts take linear time, registers are digits, whole days last their day" {
	# a text message with "/Onderhoud" inside a DSMR 4.2 telegram with its CRC
	python3 -c "
import sys; sys.path.insert(0, '$BATS_TEST_DIRNAME'); import dsmr_gen
t = dsmr_gen.telegram('191027023000S', 9, 20).replace(b'1-0:2.8.1', b'0-0:96.13.0(Storing/Onderhoud op 2 jan)\r\n1-0:2.8.1')
body = t[:t.index(b'!') + 1]
sys.stdout.buffer.write(body + b'%04X\r\n' % dsmr_gen.crc16(body))" > msg.p1
	grep -q 'Storing/Onderhoud' msg.p1
	[ "$(meter-fetch -q -t dsmr msg.p1 | jq -r .value)" = 29 ]
	# 200,000 starts before one end: each cut off by the next, the last read
	# (one scan for the end: a scan per start took minutes)
	python3 -c "import sys; sys.stdout.buffer.write(b'/a\n' * 200000 + b'\n!\n')" > starts.p1
	run meter-fetch --stats -t dsmr starts.p1
	[[ "$output" == *"readings 0 rejected 199999 (telegram cut off 199999) skipped 1 "* ]]
	# a register is digits and a point: no hexadecimal, exponent or sign
	for v in 0x1p4 1e3 -5 ' 7'; do
		printf '/ISk5\\2MT382-1000\r\n\r\n0-0:1.0.0(190115120000W)\r\n1-0:1.8.1(%s*kWh)\r\n!\r\n' "$v" > v.p1
		run meter-fetch --stats -t dsmr v.p1
		[[ "$output" == *"register value not a number and unit"* ]]
	done
	# NEM12: -m without nmi is refused, NMIs are letters and digits, matched exactly
	run meter-fetch -t nem12 -m mine "$N/NEM12#000000000000002#CNRGYMDP#NEMMCO.csv"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-m names one meter, and a NEM12 file holds many: give -o nmi="* ]]
	{ echo 100,NEM12,x,y,z; echo 200,ABC-E1,E1,1,E2,N1,1,kWh,30,; printf '300,20050301'; for i in $(seq 48); do printf ',1'; done; echo ',A,,,,'; } > coll.csv
	run meter-fetch --stats -t nem12 coll.csv
	[[ "$output" == *"NMI or suffix not letters and digits"* ]]
	[ -z "$(meter-fetch -q -t nem12 -o nmi=nem1202022 "$N/NEM12#000000000000002#CNRGYMDP#NEMMCO.csv")" ]
	# daily end-labelled rows in New York: 10 March lasts 23 hours, 3 November 25
	printf 'day,energy [kWh]\n2019-03-11 00:00:00,23\n2019-03-12 00:00:00,24\n2019-11-04 00:00:00,25\n' > daily.csv
	meter-fetch -q -t csv -o ts-label=end -o duration=1d -o kind=interval -Q electricity -o timezone=America/New_York daily.csv > d.ndjson
	[ "$(jq -r '"\(.ts) \(.duration)"' d.ndjson | tr '\n' ' ')" = "2019-03-10T05:00:00Z 82800 2019-03-11T04:00:00Z 86400 2019-11-03T04:00:00Z 90000 " ]
	meter-standardize d.ndjson > h.ndjson
	[ "$(jq -r .hour h.ndjson | wc -l)" -eq 72 ]
	[ "$(jq -r .value h.ndjson | sort -u)" = 1 ]
	# wide: a total column after the hours is no hour (intervals=), nor a date after them
	printf 'date,h1,h2,total\n2019-01-01,1,2,3\n' > tot.csv
	[ "$(meter-fetch -q -t csv -o layout=wide -o intervals=2 -o duration=1h -o kind=interval -o unit=kWh -Q electricity tot.csv | jq -r .value | tr '\n' ' ')" = "1 2 " ]
	printf 'h1,h2,date\n1,2,2019-01-01\n' > rev.csv
	[ "$(meter-fetch -q -t csv -o layout=wide -o ts-column=date -o value-column=1 -o duration=1h -o kind=interval -o unit=kWh -Q electricity rev.csv | jq -r .value | tr '\n' ' ')" = "1 2 " ]
	run meter-fetch -t csv -o intervals=2 -o duration=1h -o kind=interval tot.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *"intervals= counts the columns of layout=wide"* ]]
}
