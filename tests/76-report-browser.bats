#!/usr/bin/env bats
# meter-report as a person sees it: the demo's report, written by
# meter-hourly --report, rendered by headless Chromium (Debian's chromium).
# The screenshot is decoded by tests/png_stats.py; the DOM Chromium built
# is read back with --dump-dom.  Runs in the plain stage only (Makefile):
# the C code it reaches is covered under the sanitizers and valgrind by
# tests/75-report.bats.
load helper

HOURLY="$BATS_TEST_DIRNAME/../scripts/meter-hourly"
DEMO="$BATS_TEST_DIRNAME/../examples/demo"
# the palette's electricity blue and gas orange, and viridis' darkest
BLUE='#0072b2' ORANGE='#e69f00' VIRIDIS0='#440154'

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	cp -R "$DEMO" root
	chmod -R go-w root
	sh "$HOURLY" --report report.html root 2> hourly.err || true
}

setup() {
	cd "$BATS_FILE_TMPDIR" || return 1
}

# render PAGE PNG: a screenshot; exits with chromium's status.  Chromium
# stops by itself once the screenshot is written; timeout stops it if not.
render() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$BATS_FILE_TMPDIR/chromium" --window-size=1000,3200 \
		--screenshot="$2" "file://$PWD/$1" 2> chromium.err
}

dom() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--user-data-dir="$BATS_FILE_TMPDIR/chromium" --dump-dom "file://$PWD/$1" 2> chromium.err
}

@test "meter-hourly --report: the demo's report is written after the run, well-formed and under 2 MB" {
	[ -s report.html ]
	xmllint --noout report.html
	[ "$(wc -c < report.html)" -lt 2000000 ]
	# the five buildings of the demo, each in a section of its own
	[ "$(grep -c '<section class="building">' report.html)" -eq 5 ]
	run sh "$HOURLY" --report /nonexistent/r.html root
	[ "$status" -eq 3 ]
	[[ "$output" == *"meter-report: -o /nonexistent/r.html: no such directory /nonexistent/"* ]]
	[[ "$output" == *"meter-hourly: the report /nonexistent/r.html was not written"* ]]
}

@test "chromium renders the report: a screenshot with the charts' colours, every chart an SVG with non-empty paths" {
	render report.html shot.png
	read -r w h ink blue orange dark <<< "$(python3 "$BATS_TEST_DIRNAME/png_stats.py" shot.png "$BLUE" "$ORANGE" "$VIRIDIS0")"
	[ "$w" -eq 1000 ] && [ "$h" -eq 3200 ]
	# not blank: text, tables and charts cover a good part of the page
	awk -v i="$ink" 'BEGIN { exit !(i > 0.05) }'
	# the first building's bars (electricity) and heat map are on screen
	[ "$blue" -gt 1000 ] && [ "$dark" -gt 100 ]
	dom report.html > dom.html
	python3 - dom.html <<'PY'
import sys
from html.parser import HTMLParser

class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.in_svg, self.paths = [], 0, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append([])
        elif tag == "svg":
            self.in_svg, self.paths = 1, 0
            self.label = a.get("aria-label", "")
        elif tag == "path" and self.in_svg and a.get("d", "").strip():
            self.paths += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.sections[-1].append((self.label, self.paths))
            self.in_svg = 0

p = Charts()
p.feed(open(sys.argv[1]).read())
assert len(p.sections) == 5, len(p.sections)
for charts in p.sections:
    kinds = [label.split(" ")[0] for label, _ in charts]
    # every building: months, the average week, coverage; the signature
    # where it could be fitted
    assert kinds[0] == "Energy" and kinds[1] == "Average" and kinds[-1] == "Share", kinds
    for label, paths in charts:
        assert paths > 0, label
print("ok")
PY
}

@test "chromium renders a page with one building and one day, and one with no data, each with its message" {
	meter-load -c root/participants/cambridge/participant.xml one.db
	sqlite3 -json root/warehouse.db "SELECT * FROM property_hour WHERE property = 'b1'
		AND quantity = 'electricity' AND local LIKE '2019-01-03%'" | jq -c '.[]' > day.ndjson
	[ "$(wc -l < day.ndjson)" -eq 24 ]
	meter-load one.db day.ndjson
	meter-report -q -o one.html one.db
	render one.html one.png
	read -r _ _ ink blue <<< "$(python3 "$BATS_TEST_DIRNAME/png_stats.py" one.png "$BLUE")"
	awk -v i="$ink" 'BEGIN { exit !(i > 0.02) }'
	[ "$blue" -gt 100 ]
	dom one.html | grep -q 'No energy signature: it needs 7 complete days'
	meter-load -c root/participants/cambridge/participant.xml empty.db
	meter-report -q -o empty.html empty.db
	render empty.html empty.png
	read -r _ _ ink <<< "$(python3 "$BATS_TEST_DIRNAME/png_stats.py" empty.png)"
	awk -v i="$ink" 'BEGIN { exit !(i > 0.005) }'
	dom empty.html | grep -q 'No energy data for this selection'
	[ "$(dom empty.html | grep -c '<svg')" -eq 0 ]
}
