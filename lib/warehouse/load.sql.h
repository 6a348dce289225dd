/* load.sql.h - what a load runs besides its upserts, in the SQL both
 * backends run (dialect.sql.h): the suspect hours' judgement, the stale
 * meters, the daily roll-up of the days a load wrote.  Parameters are
 * written ?N; the PostgreSQL backend numbers them $N. */

#include "benchmark.sql.h"

#if defined(__GNUC__)
#define MT_UNUSED __attribute__((unused))
#else
#define MT_UNUSED
#endif

/* Each statement judges the hours from ?2 to ?3 (RFC 3339 strings compare
 * in time order) of the meters in temp.judged, against their history from
 * ?4, in one pass whatever the number of meters; the thresholds are the
 * settings table's (meter-warehouse(5)).  Levels such as temperatures are
 * never judged: below zero and far from usual they may well be. */
#define JUDGED "(participant, meter, quantity) IN" \
	" (SELECT participant, meter, quantity FROM " SQL_TEMP "judged)"
#define JUDGED_QUANTITY "quantity NOT IN ('temperature', 'outside_temperature', " \
	"'humidity', 'occupancy', 'co2')"
/* each meter's span, its mean, its hours before the load and its highest
 * hour of the load, from one pass over the history and the hours: the
 * table is made by judged_meter_sql and filled by SQL_JUDGED_METER on
 * PostgreSQL; SQLite, which has no hash aggregate and would sort every
 * hour of the range by meter to group them, fills it in C from the same
 * range (sqlite.c, measure_judged), and runs the statement only for a
 * row written by hand that C would not compare as SQL does */
static const char *const judged_meter_sql[] MT_UNUSED = {
	"DROP TABLE IF EXISTS " SQL_TEMP "judged_meter",
	"CREATE TEMP TABLE judged_meter (participant TEXT, meter TEXT,"
	" quantity TEXT, first_hour TEXT, last_hour TEXT, mean " SQL_REAL ","
	" n_before " SQL_INT ", max_new " SQL_REAL ")",
};
/* grouped by the meter's number in judged: an integer sorts faster than
 * three texts */
#define SQL_JUDGED_METER \
	"INSERT INTO judged_meter SELECT j.participant, j.meter, j.quantity," \
	" a.first_hour, a.last_hour, a.mean, a.n_before, a.max_new FROM" \
	" (SELECT k.id, min(m.hour) AS first_hour, max(m.hour) AS last_hour," \
	" avg(m.value) AS mean, count(*) FILTER (WHERE m.hour < ?2) AS n_before," \
	" max(m.value) FILTER (WHERE m.hour >= ?2) AS max_new FROM meter_hour m" \
	" JOIN " SQL_TEMP "judged k USING (participant, meter, quantity)" \
	" WHERE m.hour BETWEEN ?4 AND ?3 GROUP BY k.id) a" \
	" JOIN " SQL_TEMP "judged j ON j.id = a.id"

/* then, from judged_meter, the spans and the flags, in this order (the
 * PostgreSQL backend runs judge_sql; SQLite leaves out a statement that
 * its pass over the range, or SQL_SPIKE_CANDIDATES, showed has nothing
 * to do) */
#define SQL_JUDGE_SPANS \
	"INSERT INTO meter_span SELECT participant, meter, quantity, first_hour," \
	" last_hour FROM " SQL_TEMP "judged_meter WHERE true" \
	" ON CONFLICT (participant, meter, quantity) DO UPDATE SET" \
	" first_hour = " SQL_LEAST "(meter_span.first_hour, excluded.first_hour)," \
	" last_hour = " SQL_GREATEST "(meter_span.last_hour, excluded.last_hour)"
/* clear what is judged again: every flag of the loaded hours, and the
 * zero runs of the history (a run is judged whole); below zero no
 * meter of these quantities can read */
#define SQL_JUDGE_CLEAR \
	"UPDATE " SQL_MH_STORE " SET suspect = CASE WHEN value < 0 AND " JUDGED_QUANTITY \
	" THEN 'negative' END" \
	" WHERE hour BETWEEN ?4 AND ?3" \
	" AND ((hour >= ?2 AND (suspect IS NOT NULL OR value < 0))" \
	"   OR suspect = 'zero-run')" \
	/* last: SQLite tests the terms in this order, and the lookup in \
	 * judged costs more than the columns at hand */ \
	" AND " JUDGED
/* far above the meter's 99th percentile: of the history before the
 * load when it has enough hours, else of the history and the load
 * (a first load of a year); the percentile, a sort, is taken only of
 * meters with an hour above the factor times their mean (known from
 * judged_meter, without another pass over the hours); when there is
 * none, as in most loads, no percentile is taken (SQLite would still step
 * through the loaded hours, and asks SQL_SPIKE_CANDIDATES first) */
#define SQL_SPIKE_CANDIDATES \
	"SELECT participant, meter, quantity FROM " SQL_TEMP "judged_meter" \
	" WHERE " JUDGED_QUANTITY " AND max_new >" \
	" (SELECT value FROM settings WHERE name = 'spike_factor') * mean"
#define SQL_JUDGE_SPIKES \
	"WITH k AS (SELECT value FROM settings WHERE name = 'spike_factor')," \
	" least AS (SELECT value FROM settings WHERE name = 'spike_min_hours')," \
	" cand AS (" SQL_SPIKE_CANDIDATES ")," \
	" w AS (SELECT h.participant, h.meter, h.quantity, h.value," \
	"   percent_rank() OVER m AS pr, count(*) OVER m AS n FROM meter_hour h" \
	"   JOIN " SQL_TEMP "judged_meter j USING (participant, meter, quantity)" \
	"   WHERE EXISTS (SELECT 1 FROM cand) AND h.hour BETWEEN ?4 AND ?3" \
	"   AND (h.participant, h.meter, h.quantity) IN" \
	"   (SELECT participant, meter, quantity FROM cand)" \
	"   AND (h.hour < ?2 OR j.n_before < (SELECT value FROM least))" \
	"   WINDOW m AS (PARTITION BY h.participant, h.meter, h.quantity" \
	"   ORDER BY h.value))," \
	" p99 AS (SELECT participant, meter, quantity, min(value) AS v FROM w" \
	"   WHERE pr >= 0.99 AND n >= (SELECT value FROM least)" \
	"   GROUP BY participant, meter, quantity)" \
	" UPDATE " SQL_MH_STORE " AS m SET suspect = 'spike' FROM p99" \
	" WHERE EXISTS (SELECT 1 FROM p99) AND m.hour BETWEEN ?2 AND ?3" \
	" AND m.participant = p99.participant" \
	" AND m.meter = p99.meter AND m.quantity = p99.quantity AND p99.v > 0" \
	" AND m.value > p99.v * (SELECT value FROM k) AND m.suspect IS NULL"
/* a run of exact zeros longer than zero_run_hours where the week
 * before it was mostly above zero (a source that writes 0 for what it
 * lacks, not a gas meter's summer), or one that goes on from a run
 * judged so before the history */
#define SQL_JUDGE_ZERO_RUNS \
	"WITH z AS (SELECT participant, meter, quantity, hour," \
	"   " SQL_TRUNC("round(" SQL_JULIAN_HOURS("hour") ")") " AS hn FROM meter_hour" \
	"   WHERE hour BETWEEN ?4 AND ?3 AND value = 0 AND " JUDGED \
	"   AND " JUDGED_QUANTITY ")," \
	" runs AS (SELECT participant, meter, quantity, hour, hn - row_number()" \
	"   OVER (PARTITION BY participant, meter, quantity ORDER BY hn) AS run" \
	"   FROM z)," \
	/* MATERIALIZED: PostgreSQL would otherwise take the few runs for one \
	 * row and group them again for each hour it updates */ \
	" long AS MATERIALIZED (SELECT participant, meter, quantity, run, min(hour) AS first," \
	"   count(*) AS len FROM runs GROUP BY participant, meter, quantity, run" \
	"   HAVING count(*) > (SELECT value FROM settings WHERE name = 'zero_run_hours')" \
	"   OR min(hour) = ?4)," \
	" judged_runs AS MATERIALIZED (SELECT participant, meter, quantity, run FROM long l" \
	"   WHERE (len > (SELECT value FROM settings WHERE name = 'zero_run_hours')" \
	"   AND (SELECT avg(" SQL_NUM("b.value = 0") ") FROM meter_hour b" \
	"     WHERE b.hour >= " SQL_HOURS_BEFORE("l.first", "168") \
	"     AND b.hour < l.first AND b.participant = l.participant" \
	"     AND b.meter = l.meter AND b.quantity = l.quantity) < 0.5)" \
	"   OR EXISTS (SELECT 1 FROM meter_hour p" \
	"     WHERE p.hour = " SQL_HOURS_BEFORE("l.first", "1") \
	"     AND p.participant = l.participant AND p.meter = l.meter" \
	"     AND p.quantity = l.quantity AND p.suspect = 'zero-run'))" \
	" UPDATE " SQL_MH_STORE " AS m SET suspect = 'zero-run'" \
	" FROM runs r JOIN judged_runs USING (participant, meter, quantity, run)" \
	" WHERE m.hour = r.hour AND m.participant = r.participant" \
	" AND m.meter = r.meter AND m.quantity = r.quantity AND m.suspect IS NULL"
static const char *const judge_sql[] MT_UNUSED = {
	SQL_JUDGE_SPANS,
	SQL_JUDGE_CLEAR,
	SQL_JUDGE_SPIKES,
	SQL_JUDGE_ZERO_RUNS,
};


/* The days of history a load's hours are judged against; a negative
 * setting is none: the load's own hours, never fewer (meter-warehouse(5)) */
#define SQL_HISTORY_DAYS \
	"SELECT " SQL_GREATEST "(value, 0) FROM settings WHERE name = 'history_days'"

/* The meters the loaded hours belong to: a temporary table the judging
 * statements read. */
#define SQL_JUDGED_TABLE \
	"CREATE TEMP TABLE IF NOT EXISTS judged (id " SQL_SERIAL_KEY "," \
	" participant TEXT, meter TEXT, quantity TEXT," \
	" UNIQUE (participant, meter, quantity))"

/* The participant's configured meters, their last hour, and whether they
 * are stale: as data_quality has it, from the participant's last run, else
 * the hour after its latest hour. */
#define SQL_STALE \
	"WITH as_of AS (SELECT coalesce(" \
	"  (SELECT " SQL_JULIAN_HOURS("max(finished)") " FROM runs WHERE participant = ?1)," \
	"  (SELECT " SQL_JULIAN_HOURS("max(last_hour)") " + 1 FROM meter_span" \
	"   WHERE participant = ?1)) AS t)" \
	" SELECT m.id, m.quantity, s.last_hour, " SQL_NUM("s.last_hour IS NULL OR" \
	"  (SELECT t FROM as_of) - " SQL_JULIAN_HOURS("s.last_hour") " - 1 >" \
	"  (SELECT value FROM settings WHERE name = 'stale_hours')") \
	" FROM meter m LEFT JOIN meter_span s ON s.participant = m.participant" \
	" AND s.meter = m.id AND s.quantity = m.quantity WHERE m.participant = ?1" \
	" ORDER BY m.id"

/* A day of a property's energy quantity from its hours: ?1 participant,
 * ?2 property, ?3 quantity, ?4 local date, and the 27 hours from an hour
 * before its local midnight as ?5 to ?31 (primary-key seeks, cheaper than
 * a range over the day's local text). */
#define SQL_ROLL_HOURS "?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19," \
	"?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31"
#define SQL_ROLL_NHOURS 27
#define SQL_DAY_OF_HOURS \
	" SELECT" MT_DAY_FIGURES("true") " FROM property_hour ph WHERE ph.hour IN (" \
	SQL_ROLL_HOURS ") AND ph.participant = ?1 AND ph.property = ?2" \
	" AND ph.quantity = ?3 AND substr(ph.local, 1, 10) = ?4" MT_DAY_GROUP

/* A participant's days again, after its zones changed. */
#define SQL_DAYS_OF_PARTICIPANT \
	" SELECT" MT_DAY_FIGURES("true") " FROM property_hour ph" \
	" WHERE ph.participant = ?1 AND ph.quantity IN " MT_ENERGY MT_DAY_GROUP
