/* queries.sql.h - the queries meter-report runs, in the SQL of the
 * backend that includes this (dialect.sql.h), by enum mt_sql (meter.h):
 * a program asks its warehouse for them with mt_db_sql. */

#include "benchmark.sql.h"

static const char *const mt_queries[] = {
	/* the benchmark figures over a date range: ?1 its name, ?2 and ?3 its
	 * first and last day */
	[MT_SQL_RANGE_FIGURES] =
	"(WITH periods AS (SELECT DISTINCT participant,"
	" property, ?1 AS period, ?2 AS first_date, ?3 AS last_date,"
	" " SQL_HOURS_BETWEEN("?2", SQL_DATE("?3", "'+1 day'", "+1 day"))
	" AS hours_expected FROM property_hour"
	" WHERE quantity IN " MT_ENERGY ")," MT_BENCHMARK_FIGURES ") AS range_figures",
	/* A building's charts, from the figures the tables use: suspect hours
	 * left out.  ?1 participant, ?2 property, ?3 and ?4 the period's dates,
	 * ?5 the average week's quantity, ?6 the signature's, ?7 -Q. */
	/* energy by local month and quantity */
	[MT_SQL_MONTHS] =
	"SELECT month, quantity, " SQL_ROUND("sum(kwh)", "3") " AS kwh,"
	" sum(hours_present) AS hours FROM benchmark_day"
	" WHERE participant = ?1 AND property = ?2"
	" AND local_date BETWEEN ?3 AND ?4"
	" AND (?7 IS NULL OR ?7 = 'total' OR quantity = ?7)"
	" GROUP BY month, quantity ORDER BY month, quantity",
	/* the average week of one quantity */
	[MT_SQL_WEEK] =
	"SELECT weekday, local_hour, " SQL_ROUND("avg(value)", "4") " AS mean_kwh,"
	" count(*) AS hours FROM property_hour ph"
	" WHERE participant = ?1 AND property = ?2 AND quantity = ?5"
	" AND month BETWEEN substr(?3, 1, 7) AND substr(?4, 1, 7)"
	" AND substr(local, 1, 10) BETWEEN ?3 AND ?4"
	" AND NOT EXISTS (SELECT 1 FROM meter_hour mh"
	"   WHERE mh.participant = ph.participant AND mh.property = ph.property"
	"   AND mh.quantity = ph.quantity AND mh.hour = ph.hour"
	"   AND mh.suspect IS NOT NULL)"
	" GROUP BY weekday, local_hour ORDER BY weekday, local_hour",
	/* the complete days the energy signature was fitted on */
	[MT_SQL_SIGNATURE] =
	"SELECT local_date, hdd, kwh FROM benchmark_day"
	" WHERE participant = ?1 AND property = ?2 AND quantity = ?6"
	" AND local_date BETWEEN ?3 AND ?4 AND complete = 1 ORDER BY local_date",
	/* hours present per local day (suspect ones left out): the least of
	 * the building's energy quantities in the period, none for a quantity
	 * without hours that day; and the day's length, 24, 23 or 25 by the
	 * offsets of its hours */
	[MT_SQL_CALENDAR] =
	"SELECT d.local_date,"
	" CASE WHEN count(*) < (SELECT count(DISTINCT quantity) FROM property_day"
	"   WHERE participant = ?1 AND property = ?2"
	"   AND local_date BETWEEN ?3 AND ?4) THEN 0"
	"   ELSE min(d.hours_present) END AS hours,"
	" max(24 + (" MT_OFFSET_MIN("p.first_local") " - "
	MT_OFFSET_MIN("p.last_local") ") / 60) AS day_hours"
	" FROM benchmark_day d JOIN property_day p ON p.participant = d.participant"
	" AND p.property = d.property AND p.quantity = d.quantity"
	" AND p.local_date = d.local_date"
	" WHERE d.participant = ?1 AND d.property = ?2"
	" AND d.local_date BETWEEN ?3 AND ?4"
	" GROUP BY d.local_date ORDER BY d.local_date",
};
