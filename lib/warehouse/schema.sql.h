/* schema.sql.h - the warehouse schema, one migration per version, in
 * the SQL both backends run (dialect.sql.h spells their differences).
 * Migration N takes a database from schema version N-1 to N; they are
 * applied in order in one transaction (sqlite.c, postgres.c).
 * meter-warehouse(5) documents the tables and views. */

#include "benchmark.sql.h"

/* The quantities a SQLite warehouse stores by number since schema 7:
 * code, name, canonical unit, in units.c's order (a meter hour is always
 * in its quantity's canonical unit, so the code gives both). */
#define MT_WH_QUANTITIES(X) \
	X("0", "electricity", "kWh") X("1", "electricity_export", "kWh") \
	X("2", "gas", "kWh") X("3", "heat", "kWh") X("4", "cooling", "kWh") \
	X("5", "water", "m3") X("6", "reactive_energy", "kvarh") \
	X("7", "temperature", "degC") X("8", "outside_temperature", "degC") \
	X("9", "humidity", "%") X("10", "occupancy", "people") \
	X("11", "co2", "ppm")
/* the qualities by number: enum mt_quality's order */
#define MT_WH_QUALITIES(X) \
	X("0", "measured") X("1", "interpolated") X("2", "estimated") \
	X("3", "partial")
#define MT_WH_Q_NAME(code, name, unit) " WHEN " code " THEN '" name "'"
#define MT_WH_Q_UNIT(code, name, unit) " WHEN " code " THEN '" unit "'"
#define MT_WH_Q_CODE(code, name, unit) " WHEN '" name "/" unit "' THEN " code
#define MT_WH_QUALITY_NAME(code, name) " WHEN " code " THEN '" name "'"
#define MT_WH_QUALITY_CODE(code, name) " WHEN '" name "' THEN " code
/* the code of a quantity in a unit, NULL unless the unit is its canonical
 * one; the code of a quality, NULL for no quality */
#define MT_WH_QUANTITY_CODE_OF(q, u) \
	"(CASE " q " || '/' || " u MT_WH_QUANTITIES(MT_WH_Q_CODE) " END)"
#define MT_WH_QUALITY_CODE_OF(q) "(CASE " q MT_WH_QUALITIES(MT_WH_QUALITY_CODE) " END)"
#define MT_WH_NEW_CHECKED \
	" SELECT RAISE(ABORT, 'meter_hour: the quantity must be one of" \
	" meter-records(5) and the unit its canonical unit')" \
	" WHERE " MT_WH_QUANTITY_CODE_OF("NEW.quantity", "NEW.unit") " IS NULL;" \
	" SELECT RAISE(ABORT, 'meter_hour: the quality must be measured," \
	" interpolated, estimated or partial')" \
	" WHERE " MT_WH_QUALITY_CODE_OF("NEW.quality") " IS NULL;"
#define MT_WH_OLD_KEY \
	" WHERE hour = OLD.hour AND participant = OLD.participant" \
	" AND meter = OLD.meter AND quantity_code = " \
	MT_WH_QUANTITY_CODE_OF("OLD.quantity", "OLD.unit")

static const char *const migrations[] = {
	/* 1: configuration dimensions, the two fact tables, the load history
	 * and the views analysts query. */
	"CREATE TABLE participant ("
	"  id TEXT PRIMARY KEY, name TEXT, timezone TEXT);"
	"CREATE TABLE contract ("
	"  participant TEXT NOT NULL, id TEXT NOT NULL, co2_kg_per_kwh " SQL_REAL ","
	"  PRIMARY KEY (participant, id));"
	"CREATE TABLE property ("
	"  participant TEXT NOT NULL, id TEXT NOT NULL, name TEXT, type TEXT,"
	"  area_m2 " SQL_REAL ", region TEXT, timezone TEXT,"
	"  PRIMARY KEY (participant, id));"
	"CREATE TABLE meter ("
	"  participant TEXT NOT NULL, id TEXT NOT NULL, property TEXT,"
	"  quantity TEXT NOT NULL, unit TEXT, kind TEXT, contract TEXT,"
	"  external INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (participant, id));"
	"CREATE TABLE meter_hour ("
	"  participant TEXT NOT NULL, property TEXT, meter TEXT NOT NULL,"
	"  quantity TEXT NOT NULL, hour " SQL_TIME " NOT NULL,"
	"  value " SQL_REAL " NOT NULL,"
	"  unit TEXT NOT NULL, quality TEXT NOT NULL, coverage " SQL_REAL " NOT NULL,"
	"  PRIMARY KEY (hour, participant, meter, quantity))" SQL_NO_ROWID SQL_PARTITIONED ";"
	"CREATE TABLE property_hour ("
	"  participant TEXT NOT NULL, property TEXT NOT NULL,"
	"  quantity TEXT NOT NULL, hour " SQL_TIME " NOT NULL,"
	"  value " SQL_REAL " NOT NULL,"
	"  unit TEXT NOT NULL, meters INTEGER, meters_expected INTEGER,"
	"  coverage " SQL_REAL " NOT NULL, quality TEXT NOT NULL,"
	"  timezone TEXT NOT NULL, local TEXT NOT NULL, month TEXT NOT NULL,"
	"  weekday INTEGER NOT NULL, local_hour INTEGER NOT NULL,"
	"  holiday TEXT, office_hours INTEGER, outside_temp_c " SQL_REAL ","
	"  area_m2 " SQL_REAL ", kwh_per_m2 " SQL_REAL ", co2_kg " SQL_REAL ","
	"  temp_delta_c " SQL_REAL ", hdd " SQL_REAL ", cdd " SQL_REAL ","
	"  PRIMARY KEY (hour, participant, property, quantity))" SQL_NO_ROWID SQL_PARTITIONED ";"
	"CREATE INDEX property_hour_month ON property_hour"
	"  (participant, property, quantity, month);"
	"CREATE TABLE calendar_month ("
	"  timezone TEXT NOT NULL, month TEXT NOT NULL, hours INTEGER NOT NULL,"
	"  PRIMARY KEY (timezone, month))" SQL_NO_ROWID ";"
	"CREATE TABLE loads ("
	"  id " SQL_SERIAL_KEY ", started TEXT NOT NULL, finished TEXT NOT NULL,"
	"  source TEXT NOT NULL, records_in " SQL_INT " NOT NULL,"
	"  loaded " SQL_INT " NOT NULL, rejected " SQL_INT " NOT NULL,"
	"  duration_s " SQL_REAL " NOT NULL);"

	"CREATE VIEW monthly_consumption AS"
	" SELECT ph.participant, ph.property, ph.quantity, ph.month,"
	"   CASE WHEN ph.unit IN ('degC', '%', 'people', 'ppm')"
	"     THEN avg(ph.value) ELSE sum(ph.value) END AS value,"
	"   ph.unit, count(*) AS hours, cm.hours AS hours_in_month"
	" FROM property_hour ph"
	" LEFT JOIN calendar_month cm"
	"   ON cm.timezone = ph.timezone AND cm.month = ph.month"
	" GROUP BY ph.participant, ph.property, ph.quantity, ph.month, ph.unit,"
	"   cm.hours;"

	"CREATE VIEW building_comparison AS"
	" WITH energy_hours AS ("
	"   SELECT * FROM property_hour"
	"   WHERE quantity IN ('electricity', 'gas', 'heat', 'cooling')),"
	" last_month AS ("
	"   SELECT participant, property, max(month) AS month"
	"   FROM energy_hours GROUP BY participant, property),"
	" periods AS ("
	"   SELECT participant, property, substr(month, 1, 4) AS year,"
	"     sum(value) AS energy_kwh, sum(co2_kg) AS co2_kg,"
	"     max(area_m2) AS record_area"
	"   FROM energy_hours GROUP BY participant, property, substr(month, 1, 4)"
	"   UNION ALL"
	"   SELECT e.participant, e.property, 'trailing-12m', sum(e.value),"
	"     sum(e.co2_kg), max(e.area_m2)"
	"   FROM energy_hours e JOIN last_month l"
	"     ON l.participant = e.participant AND l.property = e.property"
	"   WHERE e.month > " SQL_MONTH_BEFORE("l.month", "12")
	"   GROUP BY e.participant, e.property, l.month),"
	" intensity AS ("
	"   SELECT pe.*, p.type, coalesce(p.area_m2, pe.record_area) AS area_m2,"
	"     pe.energy_kwh / nullif(coalesce(p.area_m2, pe.record_area), 0)"
	"       AS kwh_per_m2"
	"   FROM periods pe LEFT JOIN property p"
	"     ON p.participant = pe.participant AND p.id = pe.property)"
	" SELECT participant, property, type, year, energy_kwh, area_m2,"
	"   kwh_per_m2, co2_kg,"
	"   CASE WHEN kwh_per_m2 IS NOT NULL THEN rank() OVER ("
	"     PARTITION BY type, year, kwh_per_m2 IS NULL ORDER BY kwh_per_m2)"
	"   END AS rank_in_type"
	" FROM intensity;"

	"CREATE VIEW data_quality AS"
	" WITH h AS ("
	"   SELECT participant, property, meter, quantity, hour, quality,"
	"     round(" SQL_JULIAN_HOURS("hour") " - " SQL_JULIAN_HOURS("lag(hour) OVER ("
	"       PARTITION BY participant, meter, quantity ORDER BY hour)") ")"
	"       - 1 AS gap_before"
	"   FROM meter_hour)"
	" SELECT participant, max(property) AS property, meter, quantity,"
	"   min(hour) AS first_hour, max(hour) AS last_hour,"
	"   count(*) AS hours_present,"
	"   " SQL_TRUNC("round(" SQL_JULIAN_HOURS("max(hour)") " - " SQL_JULIAN_HOURS("min(hour)") ")")
	"     + 1 - count(*) AS hours_missing,"
	"   sum(" SQL_NUM("quality = 'interpolated'") ") AS hours_interpolated,"
	"   sum(" SQL_NUM("quality = 'estimated'") ") AS hours_estimated,"
	"   " SQL_TRUNC("coalesce(max(gap_before), 0)") " AS longest_gap_hours"
	" FROM h GROUP BY participant, meter, quantity;"

	"CREATE VIEW hourly_profile AS"
	" SELECT participant, property, quantity, weekday, local_hour,"
	"   avg(value) AS mean, unit, count(*) AS hours"
	" FROM property_hour"
	" GROUP BY participant, property, quantity, weekday, local_hour, unit;",

	/* 2: the dispatcher's runs, one row per participant and run. */
	"CREATE TABLE runs ("
	"  run TEXT NOT NULL, participant TEXT NOT NULL,"
	"  started TEXT NOT NULL, finished TEXT NOT NULL, status TEXT NOT NULL,"
	"  fetched INTEGER NOT NULL, loaded INTEGER NOT NULL,"
	"  rejected INTEGER NOT NULL, message TEXT,"
	"  PRIMARY KEY (participant, run))" SQL_NO_ROWID ";",

	/* 3: data quality the analyst can trust: suspect hours flagged (the
	 * value and quality kept), every configured meter accounted for,
	 * comparisons that say how complete they are, local days. */
	"ALTER TABLE meter_hour ADD COLUMN suspect TEXT;"
	/* a meter's first and last hour, kept by every load: meter_hour is
	 * keyed by hour first, and a dispatcher asking after one participant's
	 * meters each hour must not scan it */
	"CREATE TABLE meter_span ("
	"  participant TEXT NOT NULL, meter TEXT NOT NULL, quantity TEXT NOT NULL,"
	"  first_hour TEXT NOT NULL, last_hour TEXT NOT NULL,"
	"  PRIMARY KEY (participant, meter, quantity))" SQL_NO_ROWID ";"
	"INSERT INTO meter_span SELECT participant, meter, quantity, min(hour),"
	"  max(hour) FROM meter_hour GROUP BY participant, meter, quantity;"
	"CREATE TABLE meter_seen ("
	"  participant TEXT NOT NULL, meter TEXT NOT NULL,"
	"  first_configured TEXT NOT NULL, PRIMARY KEY (participant, meter));"
	SQL_INSERT_IGNORE " INTO meter_seen SELECT participant, id,"
	"  " SQL_NOW " FROM meter" SQL_ON_CONFLICT_IGNORE ";"
	"CREATE TABLE settings ("
	"  name TEXT PRIMARY KEY, value " SQL_REAL " NOT NULL, meaning TEXT NOT NULL);"
	"INSERT INTO settings VALUES"
	"  ('stale_hours', 26, 'a meter whose last hour is more than this many"
	" hours before the last run is stale'),"
	"  ('coverage_min', 0.9, 'a year (or month) with less of its hours present"
	" is not ranked, and a meter with less is gappy'),"
	"  ('spike_factor', 10, 'an hour above this many times the meter''s 99th"
	" percentile of the weeks before is a suspect spike'),"
	"  ('spike_min_hours', 168, 'hours a meter needs before spikes are judged'),"
	"  ('history_days', 28, 'the days before a load that spikes and zero runs"
	" are judged against'),"
	"  ('zero_run_hours', 24, 'a run of exact zeros longer than this on a"
	" meter usually above zero is suspect');"

	"DROP VIEW monthly_consumption;"
	"CREATE VIEW monthly_consumption AS"
	" SELECT ph.participant, ph.property, ph.quantity, ph.month,"
	"   " SQL_ROUND("CASE WHEN ph.unit IN ('degC', '%', 'people', 'ppm')"
	"     THEN avg(ph.value) ELSE sum(ph.value) END", "3") " AS value,"
	"   ph.unit, count(*) AS hours, cm.hours AS hours_in_month,"
	"   " SQL_ROUND("count(*) * 1.0 / cm.hours", "4") " AS coverage"
	" FROM property_hour ph"
	" LEFT JOIN calendar_month cm"
	"   ON cm.timezone = ph.timezone AND cm.month = ph.month"
	" GROUP BY ph.participant, ph.property, ph.quantity, ph.month, ph.unit,"
	"   cm.hours;"

	"CREATE VIEW daily_consumption AS"
	" SELECT participant, property, quantity, substr(local, 1, 10) AS local_date,"
	"   " SQL_ROUND("CASE WHEN unit IN ('degC', '%', 'people', 'ppm')"
	"     THEN avg(value) ELSE sum(value) END", "3") " AS value,"
	"   unit, count(*) AS hours, timezone"
	" FROM property_hour"
	" GROUP BY participant, property, quantity, substr(local, 1, 10), unit,"
	"   timezone;"

	/* A property hour is suspect when one of its meter hours is. */
	"CREATE VIEW property_hour_checked AS"
	" SELECT ph.*, " SQL_NUM("EXISTS (SELECT 1 FROM meter_hour mh"
	"   WHERE mh.hour = ph.hour AND mh.participant = ph.participant"
	"   AND mh.property = ph.property AND mh.quantity = ph.quantity"
	"   AND mh.suspect IS NOT NULL)") " AS suspect"
	" FROM property_hour ph;"

	"DROP VIEW building_comparison;"
	"CREATE VIEW building_comparison AS"
	" WITH energy_hours AS ("
	"   SELECT * FROM property_hour_checked"
	"   WHERE quantity IN ('electricity', 'gas', 'heat', 'cooling')),"
	" last_month AS ("
	"   SELECT participant, property, max(month) AS month"
	"   FROM energy_hours GROUP BY participant, property),"
	" hours AS ("
	"   SELECT participant, property, quantity, substr(month, 1, 4) AS year,"
	"     count(*) FILTER (WHERE suspect = 0) AS n FROM energy_hours"
	"   GROUP BY participant, property, quantity, substr(month, 1, 4)"
	"   UNION ALL"
	"   SELECT e.participant, e.property, e.quantity, 'trailing-12m',"
	"     count(*) FILTER (WHERE e.suspect = 0) FROM energy_hours e JOIN last_month l"
	"     ON l.participant = e.participant AND l.property = e.property"
	"   WHERE e.month > " SQL_MONTH_BEFORE("l.month", "12")
	"   GROUP BY e.participant, e.property, e.quantity),"
	" periods AS ("
	"   SELECT participant, property, substr(month, 1, 4) AS year,"
	"     sum(value) FILTER (WHERE suspect = 0) AS energy_kwh,"
	"     sum(co2_kg) FILTER (WHERE suspect = 0) AS co2_kg,"
	"     sum(suspect) AS suspect_hours,"
	"     sum(value) FILTER (WHERE suspect = 1) AS suspect_kwh,"
	"     max(area_m2) AS record_area,"
	"     " SQL_HOURS_BETWEEN("substr(month, 1, 4) || '-01-01'",
	"(CAST(substr(month, 1, 4) AS INTEGER) + 1) || '-01-01'") " AS hours_expected"
	"   FROM energy_hours GROUP BY participant, property, substr(month, 1, 4)"
	"   UNION ALL"
	"   SELECT e.participant, e.property, 'trailing-12m',"
	"     sum(e.value) FILTER (WHERE e.suspect = 0),"
	"     sum(e.co2_kg) FILTER (WHERE e.suspect = 0), sum(e.suspect),"
	"     sum(e.value) FILTER (WHERE e.suspect = 1), max(e.area_m2),"
	"     " SQL_HOURS_BETWEEN(SQL_DATE("l.month || '-01'", "'-11 months'", "-11 months"),
	SQL_DATE("l.month || '-01'", "'+1 month'", "+1 month"))
	"   FROM energy_hours e JOIN last_month l"
	"     ON l.participant = e.participant AND l.property = e.property"
	"   WHERE e.month > " SQL_MONTH_BEFORE("l.month", "12")
	"   GROUP BY e.participant, e.property, l.month),"
	" intensity AS ("
	"   SELECT pe.*, p.type, coalesce(p.area_m2, pe.record_area) AS area_m2,"
	"     pe.energy_kwh / nullif(coalesce(p.area_m2, pe.record_area), 0)"
	"       AS kwh_per_m2,"
	/* the fewest hours of its energy quantities, a configured meter's
	 * quantity without hours counting none */
	"     (SELECT min(coalesce(h.n, 0)) FROM ("
	"       SELECT quantity FROM meter m WHERE m.participant = pe.participant"
	"         AND m.property = pe.property"
	"         AND m.quantity IN ('electricity', 'gas', 'heat', 'cooling')"
	"       UNION SELECT quantity FROM hours h2 WHERE h2.participant ="
	"         pe.participant AND h2.property = pe.property AND h2.year = pe.year) q"
	"       LEFT JOIN hours h ON h.participant = pe.participant"
	"       AND h.property = pe.property AND h.year = pe.year"
	"       AND h.quantity = q.quantity) AS hours_present"
	"   FROM periods pe LEFT JOIN property p"
	"     ON p.participant = pe.participant AND p.id = pe.property),"
	" judged AS ("
	"   SELECT *, " SQL_ROUND("hours_present * 1.0 / hours_expected", "4") " AS coverage,"
	"     CASE WHEN kwh_per_m2 IS NULL THEN 'no floor area'"
	"       WHEN hours_present < hours_expected"
	"         * (SELECT value FROM settings WHERE name = 'coverage_min')"
	"       THEN " SQL_COVERAGE_TEXT("100.0 * hours_present / hours_expected",
	"100 * (SELECT value FROM settings WHERE name = 'coverage_min')")
	"     END AS not_ranked"
	"   FROM intensity)"
	" SELECT participant, property, type, year,"
	"   " SQL_ROUND("energy_kwh", "3") " AS energy_kwh,"
	"   area_m2, " SQL_ROUND("kwh_per_m2", "4") " AS kwh_per_m2,"
	"   " SQL_ROUND("co2_kg", "3") " AS co2_kg,"
	"   hours_present, hours_expected, coverage,"
	"   coalesce(suspect_hours, 0) AS suspect_hours,"
	"   " SQL_ROUND("coalesce(suspect_kwh, 0)", "3") " AS suspect_kwh,"
	"   CASE WHEN not_ranked IS NULL THEN rank() OVER ("
	"     PARTITION BY type, year, not_ranked IS NULL ORDER BY kwh_per_m2)"
	"   END AS rank_in_type, not_ranked"
	" FROM judged;"

	"DROP VIEW data_quality;"
	"CREATE VIEW data_quality AS"
	" WITH h AS ("
	"   SELECT participant, property, meter, quantity, hour, value, quality,"
	"     suspect, " SQL_TRUNC("round(" SQL_JULIAN_HOURS("hour") ")") " AS hn"
	"   FROM meter_hour),"
	" g AS ("
	"   SELECT *, hn - lag(hn) OVER ("
	"       PARTITION BY participant, meter, quantity ORDER BY hn) - 1"
	"       AS gap_before,"
	"     hn - row_number() OVER ("
	"       PARTITION BY participant, meter, quantity, value = 0 ORDER BY hn)"
	"       AS run"
	"   FROM h),"
	" zero_runs AS ("
	"   SELECT participant, meter, quantity, count(*) AS n FROM g"
	"   WHERE value = 0 GROUP BY participant, meter, quantity, run),"
	" delivered AS ("
	"   SELECT participant, max(property) AS property, meter, quantity,"
	"     min(hour) AS first_hour, max(hour) AS last_hour,"
	"     min(hn) AS first_hn, max(hn) AS last_hn, count(*) AS hours_present,"
	"     count(*) FILTER (WHERE quality = 'interpolated') AS hours_interpolated,"
	"     count(*) FILTER (WHERE quality = 'estimated') AS hours_estimated,"
	"     count(*) FILTER (WHERE suspect IS NOT NULL) AS hours_suspect,"
	"     count(*) FILTER (WHERE value = 0) AS hours_zero,"
	"     " SQL_TRUNC("coalesce(max(gap_before), 0)") " AS longest_gap_hours"
	"   FROM g GROUP BY participant, meter, quantity),"
	" meters AS ("
	"   SELECT participant, meter, quantity FROM delivered"
	"   UNION SELECT participant, id, quantity FROM meter),"
	" as_of AS ("
	"   SELECT pa.participant, coalesce("
	"     (SELECT " SQL_TRUNC(SQL_JULIAN_HOURS("max(finished)")) " FROM runs r"
	"       WHERE r.participant = pa.participant),"
	"     (SELECT max(last_hn) + 1 FROM delivered d"
	"       WHERE d.participant = pa.participant)) AS hn"
	"   FROM (SELECT DISTINCT participant FROM meters) pa),"
	" judged AS ("
	"   SELECT m.participant, coalesce(d.property, c.property) AS property,"
	"     m.meter, m.quantity, d.first_hour, d.last_hour,"
	"     coalesce(" SQL_GREATEST "(0, a.hn - coalesce(d.first_hn,"
	"       " SQL_TRUNC(SQL_JULIAN_HOURS("s.first_configured")) " + 1, a.hn)), 0)"
	"       AS hours_expected,"
	"     coalesce(d.hours_present, 0) AS hours_present,"
	"     coalesce(d.hours_interpolated, 0) AS hours_interpolated,"
	"     coalesce(d.hours_estimated, 0) AS hours_estimated,"
	"     coalesce(d.hours_suspect, 0) AS hours_suspect,"
	"     coalesce(d.hours_zero, 0) AS hours_zero,"
	"     coalesce((SELECT max(n) FROM zero_runs z WHERE z.participant ="
	"       m.participant AND z.meter = m.meter AND z.quantity = m.quantity), 0)"
	"       AS longest_zero_run_hours,"
	"     coalesce(d.longest_gap_hours, 0) AS longest_gap_hours,"
	"     a.hn - d.last_hn - 1 AS hours_since_last"
	"   FROM meters m"
	"   LEFT JOIN delivered d ON d.participant = m.participant"
	"     AND d.meter = m.meter AND d.quantity = m.quantity"
	"   LEFT JOIN meter c ON c.participant = m.participant AND c.id = m.meter"
	"   LEFT JOIN meter_seen s ON s.participant = m.participant"
	"     AND s.meter = m.meter"
	"   JOIN as_of a ON a.participant = m.participant)"
	" SELECT participant, property, meter, quantity, first_hour, last_hour,"
	"   hours_expected, hours_present,"
	"   " SQL_GREATEST "(0, hours_expected - hours_present) AS hours_missing,"
	"   hours_interpolated, hours_estimated, hours_suspect, hours_zero,"
	"   longest_zero_run_hours, longest_gap_hours,"
	"   CASE WHEN hours_present = 0 THEN 'never delivered'"
	"     WHEN hours_since_last > (SELECT value FROM settings"
	"       WHERE name = 'stale_hours') THEN 'stale'"
	"     WHEN hours_present < hours_expected * (SELECT value FROM settings"
	"       WHERE name = 'coverage_min') THEN 'gappy'"
	"     ELSE 'ok' END AS status"
	" FROM judged;",

	/* 4: the benchmark figures (benchmark.sql.h): the daily roll-up of
	 * the energy hours, filled here once and kept by every load; per day
	 * and per period the intensities, baseload, peak, shares and the
	 * energy signature, ranked within property type.  The partial index
	 * finds the rare suspect hours without a scan. */
	"CREATE INDEX meter_hour_suspect ON meter_hour"
	"  (participant, property, quantity, hour) WHERE suspect IS NOT NULL;"
	"INSERT INTO settings VALUES"
	"  ('baseload_percentile', 0.1, 'baseload is this percentile (nearest rank)"
	" of the days'' mean night load, 00:00 to 05:00 local'),"
	"  ('signature_min_days', 7, 'complete days an energy signature needs"
	" before it is fitted');"
	MT_PROPERTY_DAY_TABLE
	" INSERT INTO property_day SELECT" MT_DAY_FIGURES("true")
	" FROM property_hour ph WHERE ph.quantity IN " MT_ENERGY MT_DAY_GROUP ";"
	MT_BENCHMARK_DAY_VIEW
	" CREATE VIEW benchmark AS WITH " SQL_RECURSIVE
	MT_BENCHMARK_YEARS
	MT_BENCHMARK_FIGURES ";",

	/* 5: the benchmark's ranks of figures rounded to eight decimals
	 * (MT_RANK_KEY): equal figures summed in another order tie. */
	"DROP VIEW benchmark;"
	" CREATE VIEW benchmark AS WITH " SQL_RECURSIVE
	MT_BENCHMARK_YEARS
	MT_BENCHMARK_FIGURES ";",

	/* 6: baselines (meter-baseline): a fit per building, quantity and
	 * model, its expected hours and days, and actual against expected
	 * with the savings summed over each period. */
	"CREATE TABLE baseline_fit ("
	"  participant TEXT NOT NULL, property TEXT NOT NULL,"
	"  quantity TEXT NOT NULL, model TEXT NOT NULL, fitted_at TEXT NOT NULL,"
	"  baseline_from TEXT NOT NULL, baseline_to TEXT NOT NULL,"
	"  reporting_from TEXT, reporting_to TEXT,"
	"  status TEXT NOT NULL, reason TEXT, model_type TEXT,"
	"  heating_balance_c " SQL_REAL ", cooling_balance_c " SQL_REAL ","
	"  intercept " SQL_REAL ", beta_hdd " SQL_REAL ", beta_cdd " SQL_REAL ","
	"  n INTEGER, parameters INTEGER, r2 " SQL_REAL ", adj_r2 " SQL_REAL ","
	"  cvrmse " SQL_REAL ", nmbe " SQL_REAL ", reporting_n INTEGER,"
	"  expected " SQL_REAL ", actual " SQL_REAL ", savings " SQL_REAL ","
	"  fsu_90 " SQL_REAL ","
	"  PRIMARY KEY (participant, property, quantity, model));"
	"CREATE TABLE baseline_hour ("
	"  participant TEXT NOT NULL, property TEXT NOT NULL,"
	"  quantity TEXT NOT NULL, hour " SQL_TIME " NOT NULL,"
	"  period TEXT NOT NULL, expected " SQL_REAL " NOT NULL,"
	"  PRIMARY KEY (participant, property, quantity, hour))" SQL_NO_ROWID ";"
	"CREATE TABLE baseline_day ("
	"  participant TEXT NOT NULL, property TEXT NOT NULL,"
	"  quantity TEXT NOT NULL, local_date TEXT NOT NULL,"
	"  period TEXT NOT NULL, hours INTEGER NOT NULL,"
	"  expected " SQL_REAL " NOT NULL,"
	"  PRIMARY KEY (participant, property, quantity, local_date))" SQL_NO_ROWID ";"
	/* a day compares only when every one of its hours is in and none is
	 * suspect, an hour when it is not suspect: what meter-baseline's
	 * figures compare */
	"CREATE VIEW baseline_savings AS"
	" WITH compared AS ("
	"   SELECT d.participant, d.property, d.quantity, 'daily' AS model,"
	"     d.local_date, d.period, d.expected, sum(ph.value) AS actual"
	"   FROM baseline_day d JOIN property_hour_checked ph"
	"     ON ph.participant = d.participant AND ph.property = d.property"
	"     AND ph.quantity = d.quantity AND substr(ph.local, 1, 10) = d.local_date"
	"   GROUP BY d.participant, d.property, d.quantity, d.local_date,"
	"     d.period, d.expected, d.hours"
	"   HAVING count(*) = d.hours AND sum(ph.suspect) = 0"
	"   UNION ALL"
	"   SELECT h.participant, h.property, h.quantity, 'hourly',"
	"     substr(ph.local, 1, 10), h.period, sum(h.expected), sum(ph.value)"
	"   FROM baseline_hour h JOIN property_hour_checked ph"
	"     ON ph.participant = h.participant AND ph.property = h.property"
	"     AND ph.quantity = h.quantity AND ph.hour = h.hour"
	"   WHERE ph.suspect = 0"
	"   GROUP BY h.participant, h.property, h.quantity,"
	"     substr(ph.local, 1, 10), h.period)"
	" SELECT participant, property, quantity, model, local_date,"
	"   substr(local_date, 1, 7) AS month, period,"
	"   " SQL_ROUND("actual", "3") " AS actual,"
	"   " SQL_ROUND("expected", "3") " AS expected,"
	"   " SQL_ROUND("expected - actual", "3") " AS savings,"
	"   " SQL_ROUND("sum(expected - actual) OVER (PARTITION BY participant,"
	"     property, quantity, model, period ORDER BY local_date)", "3")
	" AS cumulative_savings"
	" FROM compared;",

	/* 7: meter hours compact in SQLite (PostgreSQL keeps its table): the
	 * quantity and the quality stored as numbers, the unit taken from
	 * the quantity, so that a meter hour takes about 56 bytes, not 84.
	 * meter_hour becomes a view of the same columns, which queries read
	 * as before and which INSTEAD OF triggers let write as before; the
	 * programs write meter_hour_store. */
	SQL_SQLITE_ONLY(
	"CREATE TABLE meter_hour_store ("
	"  participant TEXT NOT NULL, property TEXT, meter TEXT NOT NULL,"
	"  quantity_code INTEGER NOT NULL CHECK (quantity_code BETWEEN 0 AND 11),"
	"  hour TEXT NOT NULL, value REAL NOT NULL,"
	"  quality_code INTEGER NOT NULL CHECK (quality_code BETWEEN 0 AND 3),"
	"  coverage REAL NOT NULL, suspect TEXT,"
	"  quantity TEXT GENERATED ALWAYS AS"
	"    (CASE quantity_code" MT_WH_QUANTITIES(MT_WH_Q_NAME) " END) VIRTUAL,"
	"  unit TEXT GENERATED ALWAYS AS"
	"    (CASE quantity_code" MT_WH_QUANTITIES(MT_WH_Q_UNIT) " END) VIRTUAL,"
	"  quality TEXT GENERATED ALWAYS AS"
	"    (CASE quality_code" MT_WH_QUALITIES(MT_WH_QUALITY_NAME) " END) VIRTUAL,"
	"  PRIMARY KEY (hour, participant, meter, quantity_code)) WITHOUT ROWID;"
	/* an hour without codes (written by hand in another unit, say) is
	 * refused before this runs, by name (sqlite.c, uncodable_hours) */
	"INSERT INTO meter_hour_store (participant, property, meter,"
	"  quantity_code, hour, value, quality_code, coverage, suspect)"
	" SELECT participant, property, meter,"
	"   " MT_WH_QUANTITY_CODE_OF("quantity", "unit") ", hour, value,"
	"   " MT_WH_QUALITY_CODE_OF("quality") ", coverage, suspect"
	" FROM meter_hour ORDER BY hour, participant, meter, quantity;"
	"DROP TABLE meter_hour;"
	"CREATE VIEW meter_hour AS"
	" SELECT participant, property, meter, quantity, hour, value, unit,"
	"   quality, coverage, suspect"
	" FROM meter_hour_store;"
	"CREATE INDEX meter_hour_suspect ON meter_hour_store"
	"  (participant, property, quantity, hour) WHERE suspect IS NOT NULL;"
	"CREATE TRIGGER meter_hour_insert INSTEAD OF INSERT ON meter_hour BEGIN"
	MT_WH_NEW_CHECKED
	" INSERT INTO meter_hour_store (participant, property, meter,"
	"   quantity_code, hour, value, quality_code, coverage, suspect)"
	" VALUES (NEW.participant, NEW.property, NEW.meter,"
	"   " MT_WH_QUANTITY_CODE_OF("NEW.quantity", "NEW.unit") ", NEW.hour,"
	"   NEW.value, " MT_WH_QUALITY_CODE_OF("NEW.quality") ", NEW.coverage,"
	"   NEW.suspect);"
	" END;"
	"CREATE TRIGGER meter_hour_update INSTEAD OF UPDATE ON meter_hour BEGIN"
	MT_WH_NEW_CHECKED
	" UPDATE meter_hour_store SET participant = NEW.participant,"
	"   property = NEW.property, meter = NEW.meter,"
	"   quantity_code = " MT_WH_QUANTITY_CODE_OF("NEW.quantity", "NEW.unit") ","
	"   hour = NEW.hour, value = NEW.value,"
	"   quality_code = " MT_WH_QUALITY_CODE_OF("NEW.quality") ","
	"   coverage = NEW.coverage, suspect = NEW.suspect"
	MT_WH_OLD_KEY ";"
	" END;"
	"CREATE TRIGGER meter_hour_delete INSTEAD OF DELETE ON meter_hour BEGIN"
	" DELETE FROM meter_hour_store" MT_WH_OLD_KEY ";"
	" END;"),
};

#define SCHEMA_LATEST ((int)(sizeof migrations / sizeof migrations[0]))
