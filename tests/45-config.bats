#!/usr/bin/env bats
# The participant configuration (meter-config(5)) through meter-load -c:
# what a good file stores, and that every bad one is refused with file,
# line and element before the warehouse is touched.

load helper

# bad XML -> meter-load -c must exit 2 with exactly this message, no database
refused() {
	printf '%s\n' "$1" > bad.xml
	run meter-load -c bad.xml w.db
	[ "$status" -eq 2 ]
	[ "$output" = "meter-load: bad.xml:$2" ]
	[ ! -e w.db ]
}

@test "a configuration is stored: participant, contracts, properties, meters" {
	run meter-load -c "$FIX/acme.xml" w.db
	[ "$status" -eq 0 ]
	[ "$(sqlite3 w.db 'SELECT * FROM participant')" = "acme|ACME Offices|Europe/Amsterdam" ]
	[ "$(sqlite3 w.db 'SELECT id, co2_kg_per_kwh FROM contract ORDER BY id')" = "green|0.0
grey|0.328" ]
	[ "$(sqlite3 w.db 'SELECT id, type, area_m2, region, timezone FROM property ORDER BY id')" = "depot|warehouse|1200.0|NL|
hq|office|5400.0|NL|Europe/Amsterdam
lab|office|800.0|NL|America/Chicago" ]
	[ "$(sqlite3 w.db 'SELECT id, property, quantity, unit, contract, external FROM meter ORDER BY id')" = "depot-el|depot|electricity|kWh|green|0
hq-el|hq|electricity|kWh|grey|0
hq-gas|hq|gas|m3|grey|0
hq-temp|hq|temperature|degC||1
lab-el|lab|electricity|kWh|grey|0" ]
}

@test "reloading a changed configuration replaces the old one, and re-localizes hours" {
	# property hours loaded before any configuration are on UTC
	echo '{"participant":"acme","property":"hq","quantity":"electricity","hour":"2026-07-01T00:00:00Z","value":5,"unit":"kWh"}' > ph.ndjson
	meter-load w.db ph.ndjson
	[ "$(sqlite3 w.db 'SELECT timezone, local, month, weekday, local_hour FROM property_hour')" = "UTC|2026-07-01T00:00:00+00:00|2026-07|3|0" ]
	meter-load -c "$FIX/acme.xml" w.db
	[ "$(sqlite3 w.db 'SELECT timezone, local, month, weekday, local_hour FROM property_hour')" = "Europe/Amsterdam|2026-07-01T02:00:00+02:00|2026-07|3|2" ]
	sed -e '/hq-gas/d' -e 's/area-m2="5400"/area-m2="6000"/' "$FIX/acme.xml" > changed.xml
	meter-load -c changed.xml w.db
	[ "$(sqlite3 w.db "SELECT count(*) FROM meter WHERE id = 'hq-gas'")" -eq 0 ]
	[ "$(sqlite3 w.db "SELECT area_m2 FROM property WHERE id = 'hq'")" = 6000.0 ]
	[ "$(sqlite3 w.db 'SELECT count(*) FROM meter')" -eq 4 ]
}

@test "an unknown element or attribute is refused with its line" {
	refused '<participant id="a">
  <property id="p" colour="blue"/>
</participant>' '2: <property>: unknown attribute "colour"'
	refused '<participant id="a">
  <building id="p"/>
</participant>' '2: <building>: unknown element in <participant>'
	refused '<meters/>' '1: <meters>: the root element must be <participant>'
}

@test "missing, duplicate and malformed values are refused" {
	refused '<participant id="a"><meter quantity="gas"/></participant>' '1: <meter>: missing attribute "id"'
	refused '<participant id="a">
<meter id="m" quantity="gas"/>
<meter id="m" quantity="water"/>
</participant>' '3: <meter>: duplicate meter id "m"'
	refused '<participant id="a"><property id="p" area-m2="big"/></participant>' '1: <property>: attribute "area-m2" must be a number above 0, not "big"'
	refused '<participant id="a" timezone="Europe/Atlantis"/>' '1: <participant>: unknown time zone "Europe/Atlantis"'
	refused '<participant id="a"><meter id="m" quantity="steam"/></participant>' '1: <meter>: unknown quantity "steam"'
	refused '<participant id="a"><meter id="m" quantity="gas" unit="degF"/></participant>' '1: <meter>: unit "degF" cannot be converted to kWh (gas)'
	refused '<participant id="a">

<meter id="m" quantity="gas" contract="nope"/></participant>' '3: <meter>: unknown contract "nope"'
	refused '<participant id="a"><property id="p"><office-hours days="mon-fri" from="18:00" to="08:00"/></property></participant>' \
		'1: <office-hours>: attributes "from" and "to" must be HH:MM, from before to'
	refused '<participant id="a"><property id="p"><closure from="2026-12-31" to="2026-12-24"/></property></participant>' \
		'1: <closure>: attributes "from" and "to" must be dates YYYY-MM-DD, from not after to'
	refused '<participant id="a"><meter id="m" quantity="gas" external="yes"/></participant>' '1: <meter>: attribute "external" must be true or false'
}

@test "ids that could escape a directory are refused" {
	for id in ../x a/b .hidden 'a b' "$(head -c 65 /dev/zero | tr '\0' x)"; do
		printf '<participant id="a"><meter id="%s" quantity="gas"/></participant>\n' "$id" > bad.xml
		run meter-load -c bad.xml w.db
		[ "$status" -eq 2 ]
		[[ "$output" == *"<meter>: bad id"* ]]
	done
}

@test "malformed XML is refused with the parser's line" {
	refused '<participant id="a">
<meter id="m" quantity="gas">
</participant>' '3: malformed XML: Opening and ending tag mismatch: meter line 2 and participant'
}

@test "XXE: an external entity is never read" {
	cat > xxe.xml <<-'EOF'
	<?xml version="1.0"?>
	<!DOCTYPE participant [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
	<participant id="a" name="&secret;"/>
	EOF
	run meter-load -c xxe.xml w.db
	[ "$status" -eq 2 ]
	[[ "$output" == "meter-load: xxe.xml:2: "*"DOCTYPE declarations are not allowed" ]]
	[[ "$output" != *root:* ]]
	[ ! -e w.db ]
}

@test "billion laughs: entity expansion is refused at once" {
	{ echo '<?xml version="1.0"?>'
	  echo '<!DOCTYPE participant ['
	  echo '<!ENTITY l0 "ha">'
	  for i in $(seq 1 12); do echo "<!ENTITY l$i \"&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));&l$((i-1));\">"; done
	  echo ']>'
	  echo '<participant id="a" name="&l12;"/>'; } > lol.xml
	run timeout 10 meter-load -c lol.xml w.db
	[ "$status" -eq 2 ]
	[[ "$output" == *"DOCTYPE declarations are not allowed"* ]]
}

@test "an unreadable configuration is an I/O error" {
	run meter-load -c missing.xml w.db
	[ "$status" -eq 3 ]
	[ "$output" = "meter-load: missing.xml: cannot read configuration: No such file or directory" ]
}
