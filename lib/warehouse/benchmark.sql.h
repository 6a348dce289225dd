/* benchmark.sql.h - the benchmark figures, in SQL shared by the schema,
 * the loader and meter-report.
 *
 * property_day is the daily roll-up of the energy property hours, kept by
 * every load (a sort of every hour is what makes a year of a thousand
 * buildings slow, so it is paid once, a day at a time, at load).
 * MT_DAY_FIGURES(keep) is its one definition: a day's figures from its
 * property hours ph, of the hours where keep holds (benchmark_day gives
 * it "no suspect meter hour" for the rare days that have one).
 *
 * MT_BENCHMARK_FIGURES follows a WITH clause that defines
 *   periods (participant, property, period, first_date, last_date,
 *            hours_expected)
 * and yields one row per property, period and energy quantity, and one
 * 'total' row per property and period.  The view benchmark gives it the
 * calendar years and the trailing 12 months (MT_BENCHMARK_YEARS);
 * meter-report gives it a date range of its own.  One text for each, so
 * no two places can differ.  meter-warehouse(5) gives each formula. */

#include "dialect.sql.h"

#define MT_ENERGY "('electricity', 'gas', 'heat', 'cooling')"

/* night hours: 00:00 to 05:00 local */
#define MT_DAY_FIGURES(keep) \
	" ph.participant, ph.property, ph.quantity," \
	" substr(ph.local, 1, 10) AS local_date, substr(min(ph.local), 1, 7) AS month," \
	" sum(ph.value) FILTER (WHERE " keep ") AS kwh," \
	" sum(ph.co2_kg) FILTER (WHERE " keep ") AS co2_kg," \
	" count(*) FILTER (WHERE " keep ") AS hours_present," \
	" max(ph.value) FILTER (WHERE " keep ") AS peak_kwh," \
	" sum(ph.value) FILTER (WHERE " keep " AND ph.office_hours IS NOT NULL)" \
	"   AS office_known_kwh," \
	" sum(ph.value) FILTER (WHERE " keep " AND ph.office_hours = 0)" \
	"   AS outside_office_kwh," \
	" sum(ph.value) FILTER (WHERE " keep \
	"   AND (ph.weekday >= 6 OR ph.holiday = '1')) AS weekend_holiday_kwh," \
	" sum(ph.value) FILTER (WHERE " keep " AND ph.local_hour < 5) AS night_kwh," \
	" count(*) FILTER (WHERE " keep " AND ph.local_hour < 5) AS night_hours," \
	" sum(ph.hdd) / 24.0 AS hdd, sum(ph.cdd) / 24.0 AS cdd," \
	" count(ph.hdd) AS hours_with_temperature, max(ph.area_m2) AS area_m2," \
	" count(*) AS hours, min(ph.local) AS first_local, max(ph.local) AS last_local"
#define MT_DAY_GROUP \
	" GROUP BY ph.participant, ph.property, ph.quantity, substr(ph.local, 1, 10)"

#define MT_PROPERTY_DAY_TABLE \
	" CREATE TABLE property_day (" \
	"  participant TEXT NOT NULL, property TEXT NOT NULL, quantity TEXT NOT NULL," \
	"  local_date TEXT NOT NULL, month TEXT NOT NULL, kwh " SQL_REAL "," \
	"  co2_kg " SQL_REAL ", hours_present INTEGER, peak_kwh " SQL_REAL "," \
	"  office_known_kwh " SQL_REAL ", outside_office_kwh " SQL_REAL "," \
	"  weekend_holiday_kwh " SQL_REAL ", night_kwh " SQL_REAL "," \
	"  night_hours INTEGER, hdd " SQL_REAL ", cdd " SQL_REAL "," \
	"  hours_with_temperature INTEGER, area_m2 " SQL_REAL ", hours INTEGER," \
	"  first_local TEXT, last_local TEXT," \
	"  PRIMARY KEY (participant, property, quantity, local_date))" SQL_NO_ROWID ";"

/* A local time's UTC offset in minutes (its last six characters). */
#define MT_OFFSET_MIN(t) \
	"((CASE substr(" t ", 20, 1) WHEN '-' THEN -1 ELSE 1 END)" \
	" * (CAST(substr(" t ", 21, 2) AS INTEGER) * 60" \
	"   + CAST(substr(" t ", 24, 2) AS INTEGER)))"

#define MT_BENCHMARK_DAY_VIEW \
	" CREATE VIEW benchmark_day AS" \
	" WITH suspect AS (" \
	"   SELECT DISTINCT ph.participant, ph.property, ph.quantity, ph.hour," \
	"     ph.month, substr(ph.local, 1, 10) AS local_date" \
	/* CROSS JOIN keeps the order: from the few suspect meter hours (the \
	 * partial index), never from every property hour */ \
	"   FROM meter_hour mh CROSS JOIN property_hour ph" \
	"   WHERE mh.suspect IS NOT NULL AND mh.quantity IN " MT_ENERGY \
	"     AND ph.hour = mh.hour AND ph.participant = mh.participant" \
	"     AND ph.property = mh.property AND ph.quantity = mh.quantity)," \
	" suspect_day AS (" \
	"   SELECT DISTINCT participant, property, quantity, month, local_date" \
	"   FROM suspect)," \
	" days AS (" \
	"   SELECT d.*, 0 AS suspect_hours, NULL AS suspect_kwh FROM property_day d" \
	"   WHERE NOT EXISTS (SELECT 1 FROM suspect_day s" \
	"     WHERE s.participant = d.participant AND s.property = d.property" \
	"     AND s.quantity = d.quantity AND s.local_date = d.local_date)" \
	"   UNION ALL" \
	"   SELECT" MT_DAY_FIGURES("s.hour IS NULL") "," \
	"     count(s.hour), sum(ph.value) FILTER (WHERE s.hour IS NOT NULL)" \
	"   FROM suspect_day sd CROSS JOIN property_hour ph" \
	"   LEFT JOIN suspect s ON s.hour = ph.hour" \
	"     AND s.participant = ph.participant AND s.property = ph.property" \
	"     AND s.quantity = ph.quantity" \
	"   WHERE ph.participant = sd.participant AND ph.property = sd.property" \
	"     AND ph.quantity = sd.quantity AND ph.month = sd.month" \
	"     AND substr(ph.local, 1, 10) = sd.local_date" \
	"   " MT_DAY_GROUP ")" \
	" SELECT participant, property, quantity, local_date, month, kwh, co2_kg," \
	"   hours_present, suspect_hours, suspect_kwh, peak_kwh, office_known_kwh," \
	"   outside_office_kwh, weekend_holiday_kwh," \
	"   night_kwh / nullif(night_hours, 0) AS night_kw, hdd, cdd, area_m2," \
	/* every hour of the local day (23 or 25 when the clocks change), none \
	 * suspect, each with an outside temperature */ \
	"   " SQL_NUM("suspect_hours = 0 AND hours_with_temperature = hours" \
	"     AND substr(first_local, 12, 2) = '00' AND substr(last_local, 12, 2) = '23'" \
	"     AND hours = 24 + (" MT_OFFSET_MIN("first_local") " - " \
	"       " MT_OFFSET_MIN("last_local") ") / 60") " AS complete" \
	" FROM days;"

/* the years a property has energy hours in, and its last 12 months */
#define MT_BENCHMARK_YEARS \
	" energy_months AS (" \
	"   SELECT participant, property, min(month) AS first_month," \
	"     max(month) AS last_month, max(local_date) AS last_day" \
	"   FROM property_day" \
	"   GROUP BY participant, property)," \
	" years(participant, property, year, last_year) AS (" \
	"   SELECT participant, property, CAST(substr(first_month, 1, 4) AS INTEGER)," \
	"     CAST(substr(last_month, 1, 4) AS INTEGER) FROM energy_months" \
	"   UNION ALL SELECT participant, property, year + 1, last_year FROM years" \
	"   WHERE year < last_year)," \
	" periods AS (" \
	"   SELECT participant, property, CAST(year AS TEXT) AS period," \
	"     year || '-01-01' AS first_date, year || '-12-31' AS last_date," \
	"     " SQL_HOURS_BETWEEN("year || '-01-01'", "(year + 1) || '-01-01'") \
	"       AS hours_expected" \
	"   FROM years" \
	"   UNION ALL" \
	/* the year up to a property's last day of energy data: every \
	 * property's trailing period is a whole year */ \
	"   SELECT participant, property, 'trailing-12m'," \
	"     " SQL_DATE("last_day", "'-1 year', '+1 day'", "-1 year +1 day") ", last_day," \
	"     " SQL_HOURS_BETWEEN(SQL_DATE("last_day", "'-1 year', '+1 day'", "-1 year +1 day"), \
	    SQL_DATE("last_day", "'+1 day'", "+1 day")) \
	"   FROM energy_months),"

/* A figure as it is ranked: to eight decimals, so that buildings whose
 * figures are equal but for the order their hours were summed in (which
 * PostgreSQL's parallel plans vary) tie, as they do on SQLite. */
#define MT_RANK_KEY(x) SQL_ROUND(x, "8")

#define MT_BENCHMARK_FIGURES \
	" per_quantity AS (" \
	"   SELECT p.participant, p.property, p.period, p.first_date, p.last_date," \
	"     d.quantity, p.hours_expected," \
	"     sum(d.kwh) AS kwh, sum(d.co2_kg) AS co2_kg," \
	"     sum(d.hours_present) AS hours_present, sum(d.suspect_hours) AS suspect_hours," \
	"     sum(d.suspect_kwh) AS suspect_kwh, max(d.peak_kwh) AS peak_kw," \
	"     sum(d.office_known_kwh) AS office_known_kwh," \
	"     sum(d.outside_office_kwh) AS outside_office_kwh," \
	"     sum(d.weekend_holiday_kwh) AS weekend_holiday_kwh, max(d.area_m2) AS record_area," \
	"     count(*) FILTER (WHERE d.complete = 1) AS sig_n," \
	"     sum(d.hdd) FILTER (WHERE d.complete = 1) AS sig_x," \
	"     sum(d.kwh) FILTER (WHERE d.complete = 1) AS sig_y," \
	"     sum(d.hdd * d.hdd) FILTER (WHERE d.complete = 1) AS sig_xx," \
	"     sum(d.hdd * d.kwh) FILTER (WHERE d.complete = 1) AS sig_xy," \
	"     sum(d.kwh * d.kwh) FILTER (WHERE d.complete = 1) AS sig_yy" \
	"   FROM periods p JOIN benchmark_day d ON d.participant = p.participant" \
	"     AND d.property = p.property AND d.local_date BETWEEN p.first_date AND p.last_date" \
	"   GROUP BY p.participant, p.property, p.period, p.first_date, p.last_date," \
	"     p.hours_expected, d.quantity)," \
	" night AS (" \
	"   SELECT p.participant, p.property, p.period, d.quantity, d.night_kw," \
	"     row_number() OVER w AS r, count(*) OVER (PARTITION BY p.participant," \
	"       p.property, p.period, d.quantity) AS n" \
	"   FROM periods p JOIN benchmark_day d ON d.participant = p.participant" \
	"     AND d.property = p.property" \
	"     AND d.local_date BETWEEN p.first_date AND p.last_date" \
	"   WHERE d.night_kw IS NOT NULL" \
	"   WINDOW w AS (PARTITION BY p.participant, p.property, p.period, d.quantity" \
	"     ORDER BY d.night_kw))," \
	" baseload AS (" \
	"   SELECT participant, property, period, quantity, night_kw AS baseload_kw" \
	/* the nearest rank: ceil(n p), at least 1 (x, n p rounded to nine \
	 * decimals, so that 30 x 0.1 is 3) */ \
	"   FROM (SELECT *, " SQL_ROUND("n * (SELECT value FROM settings" \
	"     WHERE name = 'baseload_percentile')", "9") " AS x FROM night) nx" \
	"   WHERE r = " SQL_GREATEST "(1, " SQL_TRUNC("x") " + " \
	    SQL_NUM("x > " SQL_TRUNC("x")) "))," \
	/* a configured quantity without hours is missing from when it was \
	 * first configured, not before */ \
	" configured AS (" \
	"   SELECT m.participant, m.property, m.quantity," \
	"     min(substr(coalesce(s.first_configured, '0000'), 1, 10)) AS since" \
	"   FROM meter m LEFT JOIN meter_seen s" \
	"     ON s.participant = m.participant AND s.meter = m.id" \
	"   WHERE m.quantity IN ('electricity', 'gas', 'heat', 'cooling')" \
	"   GROUP BY m.participant, m.property, m.quantity)," \
	" total AS (" \
	"   SELECT q.participant, q.property, q.period, q.first_date, q.last_date," \
	"     'total' AS quantity," \
	"     max(q.hours_expected) AS hours_expected, sum(q.kwh) AS kwh," \
	/* the total's CO2 only when every quantity has one */ \
	"     CASE WHEN count(q.co2_kg) = count(*) THEN sum(q.co2_kg) END AS co2_kg," \
	"     CASE WHEN EXISTS (SELECT 1 FROM configured c WHERE c.participant = q.participant" \
	"       AND c.property = q.property AND c.since <= q.last_date" \
	"       AND c.quantity NOT IN (SELECT quantity" \
	"       FROM per_quantity q2 WHERE q2.participant = q.participant" \
	"       AND q2.property = q.property AND q2.period = q.period))" \
	"       THEN 0 ELSE min(q.hours_present) END AS hours_present," \
	"     sum(q.suspect_hours) AS suspect_hours, sum(q.suspect_kwh) AS suspect_kwh," \
	"     CAST(NULL AS " SQL_REAL ") AS peak_kw," \
	"     sum(q.office_known_kwh) AS office_known_kwh," \
	"     sum(q.outside_office_kwh) AS outside_office_kwh," \
	"     sum(q.weekend_holiday_kwh) AS weekend_holiday_kwh," \
	"     max(q.record_area) AS record_area, CAST(NULL AS " SQL_INT ") AS sig_n," \
	"     CAST(NULL AS " SQL_REAL ") AS sig_x, CAST(NULL AS " SQL_REAL ") AS sig_y," \
	"     CAST(NULL AS " SQL_REAL ") AS sig_xx, CAST(NULL AS " SQL_REAL ") AS sig_xy," \
	"     CAST(NULL AS " SQL_REAL ") AS sig_yy" \
	"   FROM per_quantity q" \
	"   GROUP BY q.participant, q.property, q.period, q.first_date, q.last_date)," \
	" figures AS (" \
	"   SELECT q.*, b.baseload_kw, pr.type," \
	"     coalesce(pr.area_m2, q.record_area) AS area_m2," \
	"     CASE WHEN q.sig_n >= (SELECT value FROM settings WHERE name = 'signature_min_days')" \
	"       AND q.sig_n * q.sig_xx - q.sig_x * q.sig_x > 1e-9 * q.sig_n * q.sig_xx" \
	"       THEN (q.sig_n * q.sig_xy - q.sig_x * q.sig_y)" \
	"         / (q.sig_n * q.sig_xx - q.sig_x * q.sig_x) END AS hdd_slope" \
	"   FROM (SELECT * FROM per_quantity UNION ALL SELECT * FROM total) q" \
	"   LEFT JOIN baseload b ON b.participant = q.participant" \
	"     AND b.property = q.property AND b.period = q.period AND b.quantity = q.quantity" \
	"   LEFT JOIN property pr ON pr.participant = q.participant AND pr.id = q.property)," \
	" judged AS (" \
	"   SELECT *, kwh / nullif(area_m2, 0) AS kwh_per_m2," \
	"     co2_kg / nullif(area_m2, 0) AS co2_kg_per_m2," \
	"     1000 * baseload_kw / nullif(area_m2, 0) AS baseload_w_per_m2," \
	"     1000 * peak_kw / nullif(area_m2, 0) AS peak_w_per_m2," \
	"     kwh / nullif(hours_present, 0) / nullif(peak_kw, 0) AS load_factor," \
	"     coalesce(outside_office_kwh, 0) / nullif(office_known_kwh, 0)" \
	"       AS outside_office_share," \
	"     coalesce(weekend_holiday_kwh, 0) / nullif(kwh, 0) AS weekend_holiday_share," \
	"     (sig_y - hdd_slope * sig_x) / sig_n AS hdd_intercept," \
	"     CASE WHEN hdd_slope IS NOT NULL AND sig_n * sig_yy - sig_y * sig_y > 0 THEN" \
	"       (sig_n * sig_xy - sig_x * sig_y) * (sig_n * sig_xy - sig_x * sig_y)" \
	"       / ((sig_n * sig_xx - sig_x * sig_x) * (sig_n * sig_yy - sig_y * sig_y))" \
	"     END AS hdd_r2," \
	"     hdd_slope / nullif(area_m2, 0) AS hdd_slope_per_m2," \
	"     CASE WHEN area_m2 IS NULL OR area_m2 = 0 THEN 'no floor area'" \
	"       WHEN hours_present < hours_expected" \
	"         * (SELECT value FROM settings WHERE name = 'coverage_min')" \
	"       THEN " SQL_COVERAGE_TEXT("floor(1000.0 * hours_present / hours_expected) / 10", \
	    "100 * (SELECT value FROM settings WHERE name = 'coverage_min')") \
	"     END AS not_ranked" \
	"   FROM figures)" \
	" SELECT participant, property, type, period, first_date, last_date, quantity," \
	"   " SQL_ROUND("kwh", "3") " AS energy_kwh, area_m2," \
	"   " SQL_ROUND("kwh_per_m2", "4") " AS kwh_per_m2," \
	"   " SQL_ROUND("co2_kg", "3") " AS co2_kg," \
	"   " SQL_ROUND("co2_kg_per_m2", "4") " AS co2_kg_per_m2," \
	"   " SQL_ROUND("baseload_kw", "4") " AS baseload_kw," \
	"   " SQL_ROUND("peak_kw", "4") " AS peak_kw," \
	"   " SQL_ROUND("load_factor", "4") " AS load_factor," \
	"   " SQL_ROUND("outside_office_share", "4") " AS outside_office_share," \
	"   " SQL_ROUND("weekend_holiday_share", "4") " AS weekend_holiday_share," \
	"   sig_n AS signature_days," \
	"   " SQL_ROUND("hdd_slope", "4") " AS hdd_slope_kwh_per_dd," \
	"   " SQL_ROUND("hdd_intercept", "3") " AS hdd_intercept_kwh," \
	"   " SQL_ROUND("hdd_r2", "4") " AS hdd_r2," \
	"   hours_present, hours_expected," \
	"   " SQL_ROUND("hours_present * 1.0 / hours_expected", "4") " AS coverage," \
	"   coalesce(suspect_hours, 0) AS suspect_hours," \
	"   " SQL_ROUND("coalesce(suspect_kwh, 0)", "3") " AS suspect_kwh," \
	"   CASE WHEN not_ranked IS NULL AND kwh_per_m2 IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, kwh_per_m2 IS NULL" \
	"     ORDER BY " MT_RANK_KEY("kwh_per_m2") ") END AS rank_kwh_per_m2," \
	"   CASE WHEN not_ranked IS NULL AND co2_kg_per_m2 IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, co2_kg_per_m2 IS NULL" \
	"     ORDER BY " MT_RANK_KEY("co2_kg_per_m2") ") END AS rank_co2_per_m2," \
	"   CASE WHEN not_ranked IS NULL AND baseload_w_per_m2 IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, baseload_w_per_m2 IS NULL" \
	"     ORDER BY " MT_RANK_KEY("baseload_w_per_m2") ") END AS rank_baseload," \
	"   CASE WHEN not_ranked IS NULL AND peak_w_per_m2 IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, peak_w_per_m2 IS NULL" \
	"     ORDER BY " MT_RANK_KEY("peak_w_per_m2") ") END AS rank_peak," \
	"   CASE WHEN not_ranked IS NULL AND load_factor IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, load_factor IS NULL" \
	"     ORDER BY " MT_RANK_KEY("load_factor") " DESC) END AS rank_load_factor," \
	"   CASE WHEN not_ranked IS NULL AND outside_office_share IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, outside_office_share IS NULL" \
	"     ORDER BY " MT_RANK_KEY("outside_office_share") ") END AS rank_outside_office," \
	"   CASE WHEN not_ranked IS NULL AND weekend_holiday_share IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, weekend_holiday_share IS NULL" \
	"     ORDER BY " MT_RANK_KEY("weekend_holiday_share") ") END AS rank_weekend_holiday," \
	"   CASE WHEN not_ranked IS NULL AND hdd_slope_per_m2 IS NOT NULL THEN rank() OVER (" \
	"     PARTITION BY type, period, quantity, not_ranked IS NULL, hdd_slope_per_m2 IS NULL" \
	"     ORDER BY " MT_RANK_KEY("hdd_slope_per_m2") ") END AS rank_heating," \
	"   count(*) FILTER (WHERE not_ranked IS NULL) OVER (" \
	"     PARTITION BY type, period, quantity) AS ranked_in_type," \
	"   not_ranked" \
	" FROM judged"
