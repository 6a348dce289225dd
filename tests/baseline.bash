# Shared by the baseline suites (78-baseline.bats, 79-baseline-hourly.bats,
# the PostgreSQL one):
# the Illinois home's warehouse, the independent reference, the comparison.
BASE=2015-12-26..2016-12-25
REP=2017-01-05..2018-02-07

# il.xml, and the Illinois home through the programs with its weather:
# mh.ndjson its meter hours, ph.ndjson its property hours, in the current
# directory
il_hours() {
	cat > il.xml <<-'XML'
	<participant id="il" timezone="America/Chicago">
	  <property id="home" type="residential" area-m2="150" region="US-IL">
	    <meter id="el" quantity="electricity"/>
	  </property>
	</participant>
	XML
	meter-fetch -t csv -p il -P home -m el -Q electricity -o ts-column=start \
		-o value-column=value -o unit=kWh -o kind=interval -o duration=3600 \
		"$FIX/il-electricity-cdd-hdd-hourly.csv.gz" | meter-standardize | tee mh.ndjson |
		meter-aggregate -c il.xml |
		meter-enrich -c il.xml --weather "US-IL=$FIX/il-tempF.csv.gz" > ph.ndjson
}

# w.db of those hours, made once for a file's tests (setup_file: under
# valgrind the programs take a minute over them); il_warehouse copies it
il_setup() {
	cd "$BATS_FILE_TMPDIR" || return 1
	il_hours
	meter-load -c il.xml w.db
	meter-load w.db mh.ndjson ph.ndjson
}

# syn.xml: the synthetic building of baseline_synth.py
syn_config() {
	cat > syn.xml <<-'XML'
	<participant id="syn" timezone="Europe/Amsterdam">
	  <property id="lab" type="office" area-m2="500">
	    <meter id="el" quantity="electricity"/>
	  </property>
	</participant>
	XML
}

il_warehouse() {
	cp "$BATS_FILE_TMPDIR/il.xml" "$BATS_FILE_TMPDIR/w.db" "$BATS_FILE_TMPDIR/ph.ndjson" .
}

reference() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/baseline_ref.py" \
		--usage "$FIX/il-electricity-cdd-hdd-hourly.csv.gz" \
		--temp "$FIX/il-tempF.csv.gz" --tz America/Chicago \
		--baseline "$BASE" --reporting "$REP" --model "$1"
}

# same_fit GOT WANT: the fit's figures equal the reference's, 1e-6 relative
# (balance points and counts exactly; NMBE, about zero, to 1e-9 absolute)
same_fit() {
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	got = json.loads(open(sys.argv[1]).readline())
	want = json.load(open(sys.argv[2]))
	bad = []
	exact = {"heating_balance_f": "heating_balance_f", "cooling_balance_f":
	    "cooling_balance_f", "model_type": "model_type", "n": "n",
	    "parameters": "k", "reporting_n": "reporting_n", "status": "status"}
	for g, w in exact.items():
	    if w in want and want[w] is not None and got.get(g) != want[w]:
	        bad.append("%s: %r, reference %r" % (g, got.get(g), want[w]))
	for k in ("intercept", "beta_hdd", "beta_cdd", "r2", "adj_r2", "cvrmse",
	          "expected", "actual", "savings", "fsu_90"):
	    if k not in want or want[k] is None:
	        continue
	    g, w = got[k], want[k]
	    if abs(g - w) > 1e-6 * abs(w):
	        bad.append("%s: %r, reference %r" % (k, g, w))
	if abs(got["nmbe"] - want["nmbe"]) > 1e-9:
	    bad.append("nmbe: %r, reference %r" % (got["nmbe"], want["nmbe"]))
	print("\n".join(bad))
	sys.exit(1 if bad else 0)
	PY
}

