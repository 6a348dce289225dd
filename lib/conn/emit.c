/* emit.c - the one place a reading becomes a raw-reading record: times and
 * numbers as connectors find them, the quantity from the unit, the
 * cursor and --since/--until filters, and rejects.  Below every connector,
 * above nothing but the core. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- readings ---- */

/* Values that mean "no reading here": empty cells, end sentinels. */
static int is_missing(const char *v, size_t n)
{
	static const char *const words[] = { "NA", "N/A", "n/a", "null", "NULL",
		"NaN", "nan", "-", "--", NULL };

	while (n > 0 && isspace((unsigned char)*v))
		v++, n--;
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == 0)
		return 1;
	for (int i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && memcmp(words[i], v, n) == 0)
			return 1;
	return 0;
}

static void reject(struct mt_emit *e, const struct mt_row *row, const char *why)
{
	e->rejected++;
	mt_reject(e->rj, e->source, row->line, row->text, row->len, why);
}

int mt_emit(struct mt_emit *e, const struct mt_raw *r, const struct mt_row *row)
{
	struct mt_reading rd = { 0 };
	struct mt_conv conv;
	struct mt_err err;

	rd.q = e->q ? e->q : mt_quantity_for_unit(r->unit);
	if (rd.q == NULL) {
		char why[300], which[120];
		mt_quantities_of_unit(r->unit, which, sizeof which);
		if (which[0] != '\0')
			snprintf(why, sizeof why, "unit \"%.40s\" may be %s: say which with "
			    "-Q (or quantity on the meter)", r->unit, which);
		else
			snprintf(why, sizeof why, "cannot tell the quantity of unit "
			    "\"%.40s\": say it with -Q", r->unit);
		reject(e, row, why);
		return -1;
	}
	if (mt_unit_convert(rd.q, r->unit, &conv, &err) < 0) {
		reject(e, row, err.msg);
		return -1;
	}
	if (!isfinite(r->value) || fabs(r->value) > MT_VALUE_MAX) {
		reject(e, row, "value is out of range (beyond " MT_VALUE_MAX_TEXT ")");
		return -1;
	}
	/* -2208988800000: 1900-01-01, the first time the records take */
	if (r->ts < -2208988800000LL || r->ts >= MT_TIME_END) {
		reject(e, row, "time out of range: years 1900 to 9998");
		return -1;
	}
	if (r->ts <= e->after || r->ts < e->since || r->ts >= e->until) {
		e->filtered++;
		return 0;
	}
	rd.participant = e->participant;
	rd.property = e->property;
	rd.meter = e->meter;
	rd.unit = r->unit;
	rd.kind = r->kind;
	rd.ts = r->ts;
	rd.value = r->value;
	rd.duration = r->duration;
	rd.estimated = r->estimated;
	rd.rollover = e->rollover;
	rd.calorific = e->calorific;
	mt_reading_write(e->out, &rd, e->source);
	if (e->readings++ > 0 && r->ts < e->last)
		e->unsorted = 1;
	if (r->ts > e->last)
		e->last = r->ts;
	return 0;
}

/* A wall-clock time held as if UTC, as "YYYY-MM-DD HH:MM:SS". */
static void naive_text(char *buf, size_t cap, mt_time_t wall)
{
	int64_t days = wall >= 0 ? wall / 86400000 : -((-wall + 86399999) / 86400000);
	int64_t ms = wall - days * 86400000;
	unsigned m, d;
	int y;

	mt_civil_from_days(days, &y, &m, &d);
	snprintf(buf, cap, "%04d-%02u-%02u %02d:%02d:%02d", y, m, d,
	    (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60));
}

/* Digits and a point only: an epoch time given where ISO is expected. */
static int is_number_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return 0;
	return n > 0;
}

static int parse_time(const struct mt_conn *c, struct mt_emit *e,
    const char *s, size_t n, mt_time_t *ts, mt_time_t *wall, struct mt_err *err)
{
	enum mt_tsform form;
	mt_time_t utc[2], shift = c->ts_end ? c->duration * 1000 : 0;
	double d;
	char buf[40];
	int k;

	if (c->tf != MT_TF_ISO) {
		if (n >= sizeof buf)
			n = sizeof buf - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (mt_parse_double(buf, &d) < 0 || fabs(d) > 253402300799e3) {
			mt_err_set(err, NULL, 0, "time \"%s\" is not %s", buf,
			    c->tf == MT_TF_EPOCH ? "epoch seconds" : "epoch milliseconds");
			return -1;
		}
		*ts = (mt_time_t)llround(c->tf == MT_TF_EPOCH ? d * 1000 : d) - shift;
		*wall = MT_TIME_MIN;
		return 0;
	}
	*wall = MT_TIME_MIN;
	if (mt_time_parse(s, n, ts, &form, err) < 0) {
		if (is_number_text(s, n)) {
			size_t at = strlen(err->msg);
			snprintf(err->msg + at, sizeof err->msg - at, " (a number: give "
			    "time-format=\"epoch\" or \"epoch-ms\")");
		}
		return -1;
	}
	/* An end label moves back by the interval on the clock it is written
	 * in: "hour ending 02:00" on the day clocks go back is 01:00-02:00,
	 * whichever pass of it the row order says. */
	*ts -= shift;
	if (form == MT_TS_UTC || e->zone == NULL)
		return 0;
	k = mt_zone_to_utc(e->zone, *ts, utc);
	if (k == 0 && shift) {
		char start[24];
		naive_text(start, sizeof start, *ts);
		mt_err_set(err, NULL, 0, "end label %.*s begins its interval at %s, "
		    "which the DST change skips: end labels run from the label before "
		    "the gap to the one an interval after it (meter-config(5), ts-label)",
		    (int)(n < 40 ? n : 40), s, start);
		return -1;
	}
	if (k == 0) {
		mt_err_set(err, NULL, 0, "local time %.*s does not exist (skipped by "
		    "a DST change)", (int)(n < 40 ? n : 40), s);
		return -1;
	}
	/* A repeated hour: the second pass once the first was read. */
	*wall = *ts;
	*ts = k == 2 && e->prev >= utc[0] ? utc[1] : utc[0];
	return 0;
}

/* -?[0-9]+(.[0-9]+)?: what meters write, and what mt_strtod reads as
 * strtod does, without its cost */
static int plain_decimal(const char *s, size_t n)
{
	size_t i = s[0] == '-', digits = 0, point = 0;

	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '.' && !point && digits > 0)
			point = i;
		else
			return 0;
	}
	return digits > 0 && (!point || point < n - 1);
}

static int parse_value(const struct mt_conn *c, const char *s, size_t n,
    double *v)
{
	char buf[64];

	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= sizeof buf)
		return -1;
	/* a decimal number: not strtod's hexadecimal, inf or nan */
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !strchr("+-.,eE", s[i]))
			return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = c->decimal == ',' && s[i] == ',' ? '.' :
		    c->decimal == ',' && s[i] == '.' ? 'x' : s[i];
	buf[n] = '\0';
	if (n > 0 && plain_decimal(buf, n)) {
		*v = mt_strtod(buf, n);
		return 0;
	}
	return mt_parse_double(buf, v);
}

/* A reading of whole local days lasts from its local midnight to the one
 * it ends on: 23 or 25 hours over a DST change, not a fixed 86,400 s. */
static int64_t local_days(const struct mt_conn *c, const struct mt_emit *e,
    mt_time_t start, mt_time_t wall)
{
	mt_time_t utc[2];

	if (wall == MT_TIME_MIN || e->zone == NULL || c->duration % 86400 != 0 ||
	    mt_zone_to_utc(e->zone, wall + c->duration * 1000, utc) == 0 ||
	    utc[0] <= start)
		return c->duration;
	return (utc[0] - start) / 1000;
}

int mt_emit_text(const struct mt_conn *c, struct mt_emit *e,
    const struct mt_row *row, const char *ts, size_t tslen, const char *value,
    size_t vlen, const char *unit)
{
	struct mt_err err;
	mt_time_t t, wall;

	if (is_missing(value, vlen)) {
		e->skipped++;
		return 0;
	}
	if (parse_time(c, e, ts, tslen, &t, &wall, &err) < 0) {
		reject(e, row, err.msg);
		return -1;
	}
	e->prev = t;
	return mt_emit_at(c, e, row, t, local_days(c, e, t, wall), value, vlen, unit);
}

int mt_emit_at(const struct mt_conn *c, struct mt_emit *e,
    const struct mt_row *row, mt_time_t ts, int64_t duration, const char *value,
    size_t vlen, const char *unit)
{
	struct mt_raw r = { .ts = ts };
	const char *kind = c->kind ? c->kind : e->kind;
	char why[160];

	if (is_missing(value, vlen)) {
		e->skipped++;
		return 0;
	}
	if (parse_value(c, value, vlen, &r.value) < 0) {
		snprintf(why, sizeof why, "value \"%.*s\" is not a number%s",
		    (int)(vlen < 40 ? vlen : 40), value, c->decimal != ',' &&
		    memchr(value, ',', vlen) != NULL ? " (a decimal comma? give "
		    "-o decimal=, or decimal=\",\" on the connector)" : "");
		reject(e, row, why);
		return -1;
	}
	if ((r.unit = unit ? unit : c->unit ? c->unit : e->unit) == NULL) {
		reject(e, row, "no unit (give unit=, unit-column= or a unit in the header)");
		return -1;
	}
	r.kind = kind == NULL || strcmp(kind, "interval") == 0 ? MT_INTERVAL :
	    strcmp(kind, "cumulative") == 0 ? MT_CUMULATIVE : MT_INSTANT;
	r.duration = duration;
	return mt_emit(e, &r, row);
}

