#!/usr/bin/env bats
# meter-enrich: each context field against values read off the source files
# or worked out by hand (in the comments).

load helper

# p PARTICIPANT PROPERTY QUANTITY HOUR VALUE: a property hour
p() {
	printf '{"participant":"%s","property":"%s","quantity":"%s","hour":"%s","value":%s,"unit":"%s"}\n' \
		"$1" "$2" "$3" "$4" "$5" "$(case $3 in temperature) echo degC;; *) echo kWh;; esac)"
}

# the fields named, from the one output record
get() { jq -r "[$1] | map(tostring) | join(\" \")"; }

@test "property fields and local time, across midnight and the repeated DST hour" {
	{ p acme hq electricity 2026-03-01T23:00:00Z 10      # Monday 00:00 CET
	  p acme hq electricity 2026-10-25T00:00:00Z 1       # 02:00 CEST, Sunday
	  p acme hq electricity 2026-10-25T01:00:00Z 1       # 02:00 CET again
	  p acme lab electricity 2026-03-08T08:00:00Z 1; } > in.ndjson   # 03:00 CDT
	run meter-enrich -c "$FIX/acme.xml" in.ndjson
	[ "$status" -eq 0 ]
	[ "$(get '.type, .region, .area_m2, .local, .local_date, .weekday' <<<"$output")" = "office NL 5400 2026-03-02T00:00:00+01:00 2026-03-02 1
office NL 5400 2026-10-25T02:00:00+02:00 2026-10-25 7
office NL 5400 2026-10-25T02:00:00+01:00 2026-10-25 7
office NL 800 2026-03-08T03:00:00-05:00 2026-03-08 7" ]
	# 10 kWh over 5400 m2; CO2 at the grey contract's 0.328 kg/kWh
	[ "$(head -1 <<<"$output" | get '.kwh_per_m2, .co2_kg')" = "0.001851852 3.28" ]
}

@test "holidays from a flat JSON calendar; years it does not list stay unknown" {
	{ p acme hq electricity 2026-12-25T10:00:00Z 1; p acme hq electricity 2026-04-27T10:00:00Z 1
	  p acme hq electricity 2026-04-28T10:00:00Z 1; p acme hq electricity 2030-12-25T10:00:00Z 1; } > in.ndjson
	run meter-enrich -c "$FIX/acme.xml" --holidays "NL=$FIX/NL_COMMON-2025-2027.json" in.ndjson
	[ "$(get '.holiday, .holiday_name' <<<"$output")" = "true Christmas Day
true King's Day
false null
null null" ]
}

@test "holidays from GOV.UK JSON by division, and from iCalendar all-day events" {
	{ p uni main electricity 2026-12-28T10:00:00Z 1; p uni main electricity 2026-12-29T10:00:00Z 1; } > in.ndjson
	run meter-enrich -c "$FIX/campus.xml" --holidays "GB=$FIX/bank-holidays.json#england-and-wales" in.ndjson
	[ "$(get '.holiday, .holiday_name' <<<"$output")" = "true Boxing Day
false null" ]
	{ p uni main electricity 2026-06-15T10:00:00Z 1; p uni main electricity 2026-06-16T10:00:00Z 1
	  p uni main electricity 2026-07-22T10:00:00Z 1; p uni main electricity 2026-07-23T10:00:00Z 1; } > in.ndjson
	run meter-enrich -c "$FIX/campus.xml" --holidays "GB=$FIX/holidays.ics" in.ndjson
	# a timed event is no holiday; DTEND is exclusive
	[ "$(get '.holiday, .holiday_name' <<<"$output")" = "true Founders Day
false null
true Summer closure
false null" ]
}

@test "office hours: the schedule in local time, never on holidays or closures" {
	# hq: mon-fri 08:00-18:00 Amsterdam, closed 24-31 December
	{ p acme hq electricity 2026-03-02T09:00:00Z 1     # Mon 10:00
	  p acme hq electricity 2026-03-02T16:00:00Z 1     # Mon 17:00
	  p acme hq electricity 2026-03-02T17:00:00Z 1     # Mon 18:00: closed
	  p acme hq electricity 2026-03-07T10:00:00Z 1     # Sat
	  p acme hq electricity 2026-04-27T10:00:00Z 1     # King's Day, a Monday
	  p acme hq electricity 2026-12-28T10:00:00Z 1     # Mon, in the closure
	  p acme depot electricity 2026-03-02T09:00:00Z 1; } > in.ndjson   # no schedule
	run meter-enrich -c "$FIX/acme.xml" --holidays "NL=$FIX/NL_COMMON-2025-2027.json" in.ndjson
	[ "$(get '.office_hours' <<<"$output")" = "true
true
false
false
false
false
null" ]
}

@test "outside temperature from CSV, degree hours, inside-outside difference; a missing hour stays absent" {
	# Bedford 2019-01-01 05:00 is 6.9 degC: hdd 15.5 - 6.9 = 8.6; 20 - 6.9 = 13.1
	{ p uni main temperature 2019-01-01T05:00:00Z 20; p uni main temperature 2019-03-01T05:00:00Z 20
	  p acme hq electricity 2019-01-01T05:00:00Z 1; } > in.ndjson
	run --separate-stderr meter-enrich -c "$FIX/campus.xml" -c "$FIX/acme.xml" --weather "GB=$FIX/bedford-weather-2019-01.csv" in.ndjson
	[ "$status" -eq 0 ]
	[ "$(grep -c . <<<"$output")" -eq 3 ]
	# March is after the January series: counted and said
	[[ "$stderr" == "meter-enrich: warning: --weather GB runs from 2019-01-01T00:00:00Z to 2019-01-08T00:00:00Z: 1 hour of 2019 is outside it"* ]]
	[ "$(get '.outside_temp_c, .temp_delta_c, .hdd, .cdd' <<<"$output")" = "6.9 13.1 8.6 0
null null null null
null null null null" ]
	# other bases
	run meter-enrich -q -c "$FIX/campus.xml" --weather "GB=$FIX/bedford-weather-2019-01.csv" --hdd-base 18 --cdd-base 5 in.ndjson
	[ "$(head -1 <<<"$output" | get '.hdd, .cdd')" = "11.1 1.9" ]
}

@test "degF in a gzipped CSV with offsets is read as degC; NDJSON weather works too" {
	cat > il.xml <<-'EOF'
	<participant id="il" timezone="America/Chicago">
	  <property id="house" type="residential" region="US-IL"/>
	</participant>
	EOF
	# 2016-03-10T00:00-06:00 is 53.96 degF: (53.96 - 32) x 5 / 9 = 12.2 degC
	p il house electricity 2016-03-10T06:00:00Z 1 > in.ndjson
	run meter-enrich -c il.xml --weather "US-IL=$FIX/il-tempF-2016-03.csv.gz" in.ndjson
	[ "$(get '.outside_temp_c' <<<"$output")" = 12.2 ]
	echo '{"participant":"ctx","meter":"ohare","quantity":"outside_temperature","hour":"2016-03-10T06:00:00Z","value":285.35,"unit":"K"}' > w.ndjson
	run meter-enrich -c il.xml --weather "US-IL=w.ndjson" in.ndjson
	[ "$(get '.outside_temp_c' <<<"$output")" = 12.2 ]
}

@test "CO2 from an hourly intensity series of the contract" {
	sed -e 's|<participant id="uni" name="University" timezone="Europe/London">|&\n  <contract id="grid" co2-series="carbon.csv"/>|' \
	    -e 's|<meter id="el-1" quantity="electricity"/>|<meter id="el-1" quantity="electricity" contract="grid"/>|' "$FIX/campus.xml" > uni.xml
	cp "$FIX/carbon-intensity-2019-01.csv" carbon.csv
	# 2019-01-01 01:00 is 0.094 kg/kWh: 10 kWh -> 0.94 kg
	{ p uni main electricity 2019-01-01T01:00:00Z 10; p uni main electricity 2019-06-01T01:00:00Z 10; } > in.ndjson
	run meter-enrich -c uni.xml in.ndjson
	[ "$(get '.co2_kg' <<<"$output")" = "0.94
null" ]
}

@test "an unknown property is rejected, never passed on half-enriched" {
	{ p acme nowhere electricity 2026-03-02T09:00:00Z 1; p other hq electricity 2026-03-02T09:00:00Z 1
	  echo '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-03-02T09:30:00Z","value":1,"unit":"kWh"}'
	  p acme hq electricity 2026-03-02T09:00:00Z 1; } > in.ndjson
	run --separate-stderr meter-enrich -c "$FIX/acme.xml" -r rej.ndjson --stats in.ndjson
	[ "$status" -eq 1 ]
	[ "$(grep -c . <<<"$output")" -eq 1 ]
	[ "$(jq -r .error rej.ndjson)" = 'property acme/nowhere is not in the configuration
property other/hq is not in the configuration
field "hour" is not on a whole hour' ]
	[ "$stderr" = "meter-enrich: in 4 out 1 merged 0 rejected 3 (property acme/nowhere is not in the configuration 1, property other/hq is not in the configuration 1, field \"...\" is not on a whole hour 1) holidays-unknown 0 weather-unknown 0" ]
}

@test "bad context files are errors naming the file and line; nothing is written" {
	p acme hq electricity 2026-03-02T09:00:00Z 1 > in.ndjson
	printf 'datetime,t [degC]\n2019-01-01 00:00:00,1\n2019-13-01 01:00:00,2\n' > bad.csv
	run meter-enrich -c "$FIX/acme.xml" --weather NL=bad.csv in.ndjson
	[ "$status" -eq 2 ]
	[ "$output" = 'meter-enrich: bad.csv:3: bad timestamp "2019-13-01 01:00:00": no such date' ]
	printf 'datetime,t [degC]\n2019-01-01 00:00:00,warm\n' > bad2.csv
	run meter-enrich -c "$FIX/acme.xml" --weather NL=bad2.csv in.ndjson
	[ "$output" = 'meter-enrich: bad2.csv:2: bad number "warm"' ]
	echo '{"2026-01-01": "New Year", "2026-13-01": "Nope"}' > bad.json
	run meter-enrich -c "$FIX/acme.xml" --holidays NL=bad.json in.ndjson
	[ "$status" -eq 2 ]
	[ "$output" = 'meter-enrich: bad.json: entry "2026-13-01": needs a date YYYY-MM-DD and a name' ]
	run meter-enrich -c "$FIX/acme.xml" --holidays "GB=$FIX/bank-holidays.json#wales" in.ndjson
	[ "$output" = "meter-enrich: $FIX/bank-holidays.json: no events for division \"wales\"" ]
	echo 'BEGIN:VCALENDAR' > bad.ics
	run meter-enrich -c "$FIX/acme.xml" --holidays NL=bad.ics in.ndjson
	[ "$status" -eq 2 ]
	[[ "$output" == "meter-enrich: bad.ics: "* ]]
	# found by fuzzing: an event over centuries filled memory a day at a time
	sed 's/DTEND;VALUE=DATE:20260723/DTEND;VALUE=DATE:40520104/' "$FIX/holidays.ics" > long.ics
	run -2 meter-enrich -c "$FIX/acme.xml" --holidays NL=long.ics in.ndjson
	[ "$output" = 'meter-enrich: long.ics: event "Summer closure" lasts 739784 days, more than a year' ]
	run meter-enrich -c "$FIX/acme.xml" --weather NL=missing.csv in.ndjson
	[ "$status" -eq 3 ]
	[[ "$output" == "meter-enrich: missing.csv: cannot open"* ]]
}

@test "context that would not apply is refused: a region no property has, a weather column that is no temperature" {
	p uni main electricity 2019-01-01T05:00:00Z 1 > in.ndjson
	# the properties of campus.xml are in GB; UK is a typo
	run -2 meter-enrich -c "$FIX/campus.xml" --holidays "UK=$FIX/bank-holidays.json#england-and-wales" in.ndjson
	[ "$output" = 'meter-enrich: --holidays UK=...: no property has region "UK" (the properties'"'"' regions: "GB"); the region is the property'"'"'s region attribute (meter-config(5))' ]
	run -2 meter-enrich -c "$FIX/campus.xml" --weather "UK=$FIX/bedford-weather-2019-01.csv" in.ndjson
	[[ "$output" == 'meter-enrich: --weather UK=...: no property has region "UK"'* ]]
	# a context shared by many participants (meter-hourly) may name others' regions
	run -0 meter-enrich --shared-context -c "$FIX/campus.xml" --holidays "UK=$FIX/bank-holidays.json#england-and-wales" in.ndjson
	# the shared carbon intensity file, header "Carbon Intensity [kg_CO2/kWh]",
	# once gave outside_temp_c 0.096
	run -2 meter-enrich -c "$FIX/campus.xml" --weather "GB=$FIX/carbon-intensity-2019-01.csv" in.ndjson
	[ "$output" = "meter-enrich: $FIX/carbon-intensity-2019-01.csv:1: column \"Carbon Intensity [kg_CO2/kWh]\" is not a temperature: its header must name degC, degF or K (as \"air_temperature [degC]\" does), or give the unit after the file: REGION=FILE#degC" ]
	# a header without a unit, with the unit given after the file: 41 degF is 5 degC
	printf 'time,outside\n2019-01-01T05:00:00Z,41\n' > plain.csv
	run -2 meter-enrich -c "$FIX/campus.xml" --weather GB=plain.csv in.ndjson
	[[ "$output" == *'column "outside" is not a temperature'* ]]
	run -0 meter-enrich -c "$FIX/campus.xml" --weather "GB=plain.csv#degF" in.ndjson
	[ "$(get '.outside_temp_c' <<<"$output")" = 5 ]
	run -0 meter-enrich -c "$FIX/campus.xml" --weather "GB=plain.csv#K" in.ndjson
	[ "$(get '.outside_temp_c' <<<"$output")" = -232.15 ]
	run -2 meter-enrich -c "$FIX/campus.xml" --weather "GB=plain.csv#kelvin" in.ndjson
	[ "$output" = 'meter-enrich: plain.csv: unknown temperature unit "#kelvin" (degC, degF or K)' ]
	# NDJSON weather must be meter hours of a temperature
	echo '{"participant":"ctx","meter":"grid","quantity":"co2","hour":"2019-01-01T05:00:00Z","value":400,"unit":"ppm"}' > w.ndjson
	run -2 meter-enrich -c "$FIX/campus.xml" --weather GB=w.ndjson in.ndjson
	[ "$output" = 'meter-enrich: w.ndjson:1: a meter hour of co2, not of temperature' ]
}

@test "a holiday calendar that does not cover the data's years: a counted warning naming the years" {
	# bank-holidays.json lists 2024 to 2027; Christmas 2019 would pass as an office day
	{ p uni main electricity 2019-12-25T10:00:00Z 1; p uni main electricity 2019-12-26T10:00:00Z 1
	  p uni main electricity 2026-12-25T10:00:00Z 1; p uni main electricity 2018-01-01T10:00:00Z 1; } > in.ndjson
	run --separate-stderr -0 meter-enrich -q --stats -c "$FIX/campus.xml" --holidays "GB=$FIX/bank-holidays.json#england-and-wales" in.ndjson
	[ "$(get '.holiday' <<<"$output")" = "null
null
true
null" ]
	[ "$stderr" = "meter-enrich: warning: --holidays GB lists the years 2024 to 2027, not 2019: 2 hours of 2019 have no holiday field, and office_hours counts their holidays as working days; give a calendar that covers 2019
meter-enrich: warning: --holidays GB lists the years 2024 to 2027, not 2018: 1 hour of 2018 has no holiday field, and office_hours counts their holidays as working days; give a calendar that covers 2018
meter-enrich: in 4 out 4 merged 0 rejected 0 holidays-unknown 3 weather-unknown 0" ]
}

@test "a weather series of other years: a counted warning naming its span" {
	# the Illinois temperatures (2016-03-10..17) given for GB, whose hours are of 2019
	{ p uni main electricity 2019-01-01T05:00:00Z 1; p uni main electricity 2019-01-01T06:00:00Z 1; } > in.ndjson
	run --separate-stderr -0 meter-enrich --stats -c "$FIX/campus.xml" --weather "GB=$FIX/il-tempF-2016-03.csv.gz" in.ndjson
	[ "$(get '.outside_temp_c, .hdd' <<<"$output")" = "null null
null null" ]
	first=$(zcat "$FIX/il-tempF-2016-03.csv.gz" | sed -n 2p | cut -d, -f1)
	[ "$first" = 2016-03-10T00:00:00-06:00 ]
	[ "$stderr" = "meter-enrich: warning: --weather GB runs from 2016-03-10T06:00:00Z to 2016-03-17T04:00:00Z: 2 hours of 2019 are outside it, without outside_temp_c, hdd or cdd; give a series that covers 2019
meter-enrich: in 2 out 2 merged 0 rejected 0 holidays-unknown 0 weather-unknown 2" ]
	# a gap inside the series is the station's, and no warning
	p uni main electricity 2019-01-05T05:00:00Z 1 > gap.ndjson
	sed '/^2019-01-05 05:00/d' "$FIX/bedford-weather-2019-01.csv" > bedford.csv
	run --separate-stderr -0 meter-enrich -c "$FIX/campus.xml" --weather "GB=bedford.csv" gap.ndjson
	[ -z "$stderr" ]
	[ "$(get '.outside_temp_c' <<<"$output")" = null ]
}

@test "a GOV.UK calendar without a division says how to name one" {
	p uni main electricity 2026-12-25T10:00:00Z 1 > in.ndjson
	run -2 meter-enrich -c "$FIX/campus.xml" --holidays "GB=$FIX/bank-holidays.json" in.ndjson
	[ "$output" = "meter-enrich: $FIX/bank-holidays.json: a file of divisions (england-and-wales, scotland, northern-ireland): name one after '#', as in $FIX/bank-holidays.json#england-and-wales" ]
}

@test "usage: a configuration is required; REGION=FILE is checked" {
	run meter-enrich /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"no configuration given (-c)"* ]]
	run meter-enrich -c "$FIX/acme.xml" --weather weather.csv
	[ "$status" -eq 2 ]
	[[ "$output" == *'bad value for --weather: "weather.csv" (want REGION=FILE)'* ]]
	run meter-enrich --version
	[[ "$output" =~ ^meter-enrich\ [0-9.]+$ ]]
}

@test "a record in other units is rewritten in canonical units; one in canonical units keeps its own fields" {
	{ echo '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-03-02T09:00:00Z","value":5400,"unit":"Wh","note":"x"}'
	  echo '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-03-02T10:00:00Z","value":5.4,"unit":"kWh","note":"y"}'; } > in.ndjson
	run meter-enrich -c "$FIX/acme.xml" in.ndjson
	[ "$status" -eq 0 ]
	# 5400 Wh = 5.4 kWh over 5400 m2 = 0.001 kWh/m2 either way
	[ "$(get '.value, .unit, .note, .kwh_per_m2' <<<"$output")" = "5.4 kWh null 0.001
5.4 kWh y 0.001" ]
}
