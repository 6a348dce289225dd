# Helpers of the data-quality suites (tests/58-quality.bats and the
# PostgreSQL suite): the Cambridge estate's b0 and b1, and their hours.

CAM="$BATS_TEST_DIRNAME/fixtures/cambridge"

# cam.xml: b0 and b1 with their floor areas (building_floor_roof_areas.csv)
cam_config() {
	cat > cam.xml <<-'XML'
	<participant id="cam" timezone="Europe/London">
	  <property id="b0" type="university" area-m2="3296.5" region="GB">
	    <meter id="b0-electricity" quantity="electricity"/>
	    <meter id="b0-gas" quantity="gas"/>
	  </property>
	  <property id="b1" type="university" area-m2="856.7" region="GB">
	    <meter id="b1-electricity" quantity="electricity"/>
	    <meter id="b1-gas" quantity="gas"/>
	    <meter id="b1-water" quantity="water"/>
	  </property>
	</participant>
	XML
}

# meter hours of one Cambridge meter for 2019 (b0-gas, ...)
cam_hours() {
	col="equipment load"
	[ "${1#*-}" = gas ] && col="heating load"
	meter-fetch -t csv -p cam -P "${1%%-*}" -m "$1" -Q "${1#*-}" \
		-o ts-column=datetime -o "value-column=$col" -o kind=interval \
		-o duration=1h -o timezone=UTC "$CAM/$1-2019.csv.gz" | meter-standardize
}
