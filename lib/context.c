/* context.c - the context files meter-enrich reads once and indexes:
 * hourly series (weather, CO2 intensity) from CSV (libcsv, gzip through
 * zlib) or NDJSON meter hours, and holiday calendars from JSON (yajl) or
 * iCalendar (libical).  Lookups are binary searches. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <libical/ical.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#define FILE_MAX (64 * 1024 * 1024)

struct point {
	int64_t key;     /* hour (ms) or day (days since 1970) */
	double value;
	char *name;
};

struct mt_series {
	struct point *p;
	size_t n, cap;
	int64_t first_day, last_day;   /* holidays: the whole years listed */
};

static void add_point(struct mt_series *s, int64_t key, double v, const char *name)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->p = mt_xrealloc(s->p, s->cap * sizeof *s->p);
	}
	s->p[s->n].key = key;
	s->p[s->n].value = v;
	s->p[s->n].name = name ? mt_xstrdup(name) : NULL;
	s->n++;
}

static int by_key(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Sorted; a key given twice keeps its first value (names joined by "; "). */
static void finish(struct mt_series *s)
{
	size_t w = 0;

	qsort(s->p, s->n, sizeof *s->p, by_key);
	for (size_t i = 0; i < s->n; i++) {
		if (w > 0 && s->p[w - 1].key == s->p[i].key) {
			struct point *d = &s->p[w - 1];
			if (d->name && s->p[i].name && strstr(d->name, s->p[i].name) == NULL) {
				size_t n = strlen(d->name) + strlen(s->p[i].name) + 3;
				char *j = mt_xmalloc(n);
				snprintf(j, n, "%s; %s", d->name, s->p[i].name);
				free(d->name);
				d->name = j;
			}
			free(s->p[i].name);
			continue;
		}
		s->p[w++] = s->p[i];
	}
	s->n = w;
}

void mt_series_free(struct mt_series *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->p[i].name);
	free(s->p);
	free(s);
}

static const struct point *lookup(const struct mt_series *s, int64_t key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->p[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->p[lo].key == key ? &s->p[lo] : NULL;
}

int mt_series_get(const struct mt_series *s, mt_time_t hour, double *v)
{
	const struct point *p = lookup(s, hour);

	if (p == NULL)
		return -1;
	*v = p->value;
	return 0;
}

int mt_series_span(const struct mt_series *s, mt_time_t *first, mt_time_t *last)
{
	if (s->n == 0)
		return 0;
	*first = s->p[0].key;
	*last = s->p[s->n - 1].key;
	return 1;
}

/* A calendar speaks for the whole years it lists, and no others. */
int mt_holiday_known(const struct mt_series *s, int64_t day)
{
	return s->n > 0 && day >= s->first_day && day <= s->last_day;
}

void mt_holiday_years(const struct mt_series *s, int *first, int *last)
{
	unsigned m, d;

	*first = *last = 0;
	if (s->n == 0)
		return;
	mt_civil_from_days(s->first_day, first, &m, &d);
	mt_civil_from_days(s->last_day, last, &m, &d);
}

const char *mt_holiday_get(const struct mt_series *s, int64_t day)
{
	const struct point *p = lookup(s, day);
	return p ? p->name : NULL;
}

/* ---- reading whole files (gzip or not) ---- */

static char *slurp(const char *base, const char *path, size_t *len,
    struct mt_err *err)
{
	char *buf;

	if (mt_slurp(base, path, FILE_MAX, &buf, len, err) < 0) {
		if (strstr(err->msg, "larger than") != NULL)
			mt_err_set(err, path, 0, "larger than 64 MiB");
		return NULL;
	}
	return buf;
}

/* ---- hourly series from CSV ---- */

struct csv_state {
	struct mt_series *s;
	const char *path;
	struct mt_err *err;
	long line;
	int col, failed;
	int unit;                 /* 'C', 'F', 'K' or 0: the value column's */
	int temperature;          /* the series must be one (weather) */
	char ts[64];
	char value[64];
	int has_ts, has_value;
};

/* The temperature unit a value column's header names ("air_temperature
 * [degC]", "tempF", "T (K)"), or 0 when it names none. */
static int temperature_unit(const char *h)
{
	size_t n = strlen(h);

	if (strstr(h, "degF") || strstr(h, "tempF") ||
	    strstr(h, "\xc2\xb0" "F"))
		return 'F';
	if (strstr(h, "degC") || strstr(h, "tempC") || strstr(h, "\xc2\xb0" "C"))
		return 'C';
	if (n >= 3 && (strcmp(h + n - 3, "[K]") == 0 || strcmp(h + n - 3, "(K)") == 0))
		return 'K';
	return 0;
}

static double to_celsius(int unit, double v)
{
	return unit == 'F' ? (v - 32) * 5 / 9 : unit == 'K' ? v - 273.15 : v;
}

/* A weather series whose column says no temperature unit is refused:
 * read as one, a CO2 intensity of 0.096 became 0.096 degC. */
static void check_header(struct csv_state *c, const char *h)
{
	if (c->unit == 0)
		c->unit = temperature_unit(h);
	if (c->temperature && c->unit == 0 && !c->failed) {
		mt_err_set(c->err, c->path, 1, "column \"%.60s\" is not a temperature: "
		    "its header must name degC, degF or K (as \"air_temperature "
		    "[degC]\" does), or give the unit after the file: "
		    "REGION=FILE#degC", h);
		c->failed = 1;
	}
}

static void csv_field(void *data, size_t n, void *ctx)
{
	struct csv_state *c = ctx;

	if (c->line == 1) {
		/* the value column's header names its unit */
		if (c->col == 1) {
			char h[256];
			n = n < sizeof h ? n : sizeof h - 1;
			memcpy(h, data, n);
			h[n] = '\0';
			check_header(c, h);
		}
	} else if (c->col == 0 && n < sizeof c->ts) {
		memcpy(c->ts, data, n);
		c->ts[n] = '\0';
		c->has_ts = 1;
	} else if (c->col == 1 && n < sizeof c->value) {
		memcpy(c->value, data, n);
		c->value[n] = '\0';
		c->has_value = 1;
	}
	c->col++;
}

static void csv_row(int term, void *ctx)
{
	struct csv_state *c = ctx;
	enum mt_tsform form;
	mt_time_t t;
	double v;
	struct mt_err terr;

	(void)term;
	if (c->line++ > 1 && !c->failed) {
		if (!c->has_ts || mt_time_parse(c->ts, strlen(c->ts), &t, &form, &terr) < 0) {
			mt_err_set(c->err, c->path, c->line - 1, "%s",
			    c->has_ts ? terr.msg : "missing time");
			c->failed = 1;
		} else if (c->has_value && c->value[0] != '\0') {
			if (mt_parse_double(c->value, &v) < 0) {
				mt_err_set(c->err, c->path, c->line - 1, "bad number \"%s\"",
				    c->value);
				c->failed = 1;
			} else if (t == mt_hour_floor(t)) {
				add_point(c->s, t, to_celsius(c->unit, v), NULL);
			}
		}
	}
	c->col = 0;
	c->has_ts = c->has_value = 0;
}

static int load_csv(struct mt_series *s, const char *base, const char *path,
    int unit, int temperature, struct mt_err *err)
{
	struct csv_state c = { .s = s, .path = path, .err = err, .line = 1,
		.unit = unit, .temperature = temperature };
	struct csv_parser p;
	size_t len;
	char *buf = slurp(base, path, &len, err);

	if (buf == NULL)
		return -1;
	csv_init(&p, CSV_APPEND_NULL);
	if (csv_parse(&p, buf, len, csv_field, csv_row, &c) != len) {
		mt_err_set(err, path, c.line, "malformed CSV: %s",
		    csv_strerror(csv_error(&p)));
		c.failed = 1;
	}
	csv_fini(&p, csv_field, csv_row, &c);
	csv_free(&p);
	free(buf);
	return c.failed ? -1 : 0;
}

/* ---- hourly series from NDJSON meter hours ---- */

static int load_ndjson(struct mt_series *s, const char *base, const char *path,
    int temperature, struct mt_err *err)
{
	int fd = base ? mt_open_inside(base, path, err) : -1;
	struct mt_ndjson *rd = base == NULL ? mt_ndjson_open(path, err) :
	    fd >= 0 ? mt_ndjson_open_fd(fd, path, err) : NULL;
	struct mt_rec *rec;
	struct mt_meter_hour h;
	int rc, bad = 0;

	if (rd == NULL)
		return -1;
	rec = mt_xmalloc(sizeof *rec);
	while (!bad && (rc = mt_ndjson_next(rd, rec, err)) != 0) {
		if (rc == 1 && (mt_meter_hour_parse(rec, &h, err) < 0 ||
		    mt_meter_hour_canonical(&h, err) < 0))
			rc = -1;
		else if (rc == 1 && temperature && strcmp(h.q->unit, "degC") != 0)
			rc = -1, mt_err_set(err, NULL, 0, "a meter hour of %s, not of "
			    "temperature", h.q->name);
		if (rc < 0) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "%s", err->msg);
			mt_err_set(err, path, rec->line, "%s", msg);
			bad = 1;
		} else {
			add_point(s, h.hour, h.value, NULL);
		}
	}
	free(rec);
	mt_ndjson_close(rd);
	return bad ? -1 : 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static struct mt_series *series_load(const char *base, const char *path,
    int unit, int temperature, struct mt_err *err)
{
	struct mt_series *s = mt_xcalloc(1, sizeof *s);
	int rc = ends_with(path, ".ndjson") || ends_with(path, ".jsonl") ?
	    load_ndjson(s, base, path, temperature, err) :
	    load_csv(s, base, path, unit, temperature, err);

	if (rc < 0) {
		err->status = err->status == MT_EXIT_IO && strstr(err->msg, "cannot") ?
		    MT_EXIT_IO : MT_EXIT_USAGE;
		mt_series_free(s);
		return NULL;
	}
	finish(s);
	return s;
}

struct mt_series *mt_series_load(const char *base, const char *path,
    struct mt_err *err)
{
	return series_load(base, path, 0, 0, err);
}

struct mt_series *mt_weather_load(const char *spec, struct mt_err *err)
{
	char *path = mt_xstrdup(spec), *unit = strrchr(path, '#');
	struct mt_series *s = NULL;
	int u = 0;

	if (unit != NULL) {
		*unit++ = '\0';
		u = strcmp(unit, "degC") == 0 ? 'C' : strcmp(unit, "degF") == 0 ? 'F' :
		    strcmp(unit, "K") == 0 ? 'K' : -1;
	}
	if (u < 0) {
		mt_err_set(err, path, 0, "unknown temperature unit \"#%.20s\" (degC, "
		    "degF or K)", unit);
		err->status = MT_EXIT_USAGE;
	} else {
		s = series_load(NULL, path, u, 1, err);
	}
	free(path);
	return s;
}

/* ---- holidays ---- */

static int add_day(struct mt_series *s, const char *date, const char *name)
{
	enum mt_tsform form;
	mt_time_t t;

	if (strlen(date) != 10 || mt_time_parse(date, 10, &t, &form, NULL) < 0)
		return -1;
	add_point(s, t / 86400000, 1, name);
	return 0;
}

/* GOV.UK's file: every member an object with an "events" array. */
static int divisions_only(yajl_val root)
{
	const char *p[] = { "events", NULL };

	for (size_t i = 0; i < YAJL_GET_OBJECT(root)->len; i++)
		if (yajl_tree_get(YAJL_GET_OBJECT(root)->values[i], p,
		    yajl_t_array) == NULL)
			return 0;
	return YAJL_GET_OBJECT(root)->len > 0;
}

static void division_names(yajl_val root, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < YAJL_GET_OBJECT(root)->len; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%.40s",
		    i ? ", " : "", YAJL_GET_OBJECT(root)->keys[i]);
}

/* {"YYYY-MM-DD": "Name", ...}, or GOV.UK's {division: {events: [{title,
 * date}]}} with the division named after '#'. */
static int load_holiday_json(struct mt_series *s, const char *path,
    const char *division, struct mt_err *err)
{
	char ebuf[256];
	size_t len;
	char *buf = slurp(NULL, path, &len, err);
	yajl_val root, events;
	int rc = 0;

	if (buf == NULL)
		return -1;
	root = yajl_tree_parse(buf, ebuf, sizeof ebuf);
	free(buf);
	if (root == NULL || !YAJL_IS_OBJECT(root)) {
		mt_err_set(err, path, 0, "not a JSON object%s%s", root ? "" : ": ",
		    root ? "" : strtok(ebuf, "\n"));
		yajl_tree_free(root);
		return -1;
	}
	if (division != NULL) {
		const char *p[] = { division, "events", NULL };
		events = yajl_tree_get(root, p, yajl_t_array);
		if (events == NULL) {
			mt_err_set(err, path, 0, "no events for division \"%s\"", division);
			rc = -1;
		}
		for (size_t i = 0; rc == 0 && i < YAJL_GET_ARRAY(events)->len; i++) {
			yajl_val e = YAJL_GET_ARRAY(events)->values[i];
			const char *dp[] = { "date", NULL }, *tp[] = { "title", NULL };
			yajl_val d = yajl_tree_get(e, dp, yajl_t_string);
			yajl_val t = yajl_tree_get(e, tp, yajl_t_string);
			if (d == NULL || t == NULL || add_day(s, YAJL_GET_STRING(d),
			    YAJL_GET_STRING(t)) < 0) {
				mt_err_set(err, path, 0, "event %zu of \"%s\": needs a date "
				    "YYYY-MM-DD and a title", i + 1, division);
				rc = -1;
			}
		}
	} else if (divisions_only(root)) {
		char names[200];
		division_names(root, names, sizeof names);
		mt_err_set(err, path, 0, "a file of divisions (%s): name one after "
		    "'#', as in %s#%s", names, path, YAJL_GET_OBJECT(root)->keys[0]);
		rc = -1;
	} else {
		for (size_t i = 0; rc == 0 && i < YAJL_GET_OBJECT(root)->len; i++) {
			const char *date = YAJL_GET_OBJECT(root)->keys[i];
			yajl_val v = YAJL_GET_OBJECT(root)->values[i];
			if (!YAJL_IS_STRING(v) || add_day(s, date, YAJL_GET_STRING(v)) < 0) {
				mt_err_set(err, path, 0, "entry \"%.20s\": needs a date YYYY-MM-DD "
				    "and a name", date);
				rc = -1;
			}
		}
	}
	yajl_tree_free(root);
	return rc;
}

/* RFC 5545: every all-day VEVENT (DTSTART;VALUE=DATE) is a holiday on
 * each day from DTSTART up to, not including, DTEND. */
static int load_ics(struct mt_series *s, const char *path, struct mt_err *err)
{
	size_t len;
	char *buf = slurp(NULL, path, &len, err);
	icalcomponent *cal, *ev;
	int n = 0;

	if (buf == NULL)
		return -1;
	cal = icalparser_parse_string(buf);
	free(buf);
	if (cal == NULL) {
		mt_err_set(err, path, 0, "not an iCalendar file");
		return -1;
	}
	for (ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	    ev != NULL; ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
		struct icaltimetype st = icalcomponent_get_dtstart(ev);
		struct icaltimetype en = icalcomponent_get_dtend(ev);
		const char *name = icalcomponent_get_summary(ev);
		int64_t from, to;

		if (icaltime_is_null_time(st) || !st.is_date)
			continue;
		from = mt_days_from_civil(st.year, (unsigned)st.month, (unsigned)st.day);
		to = icaltime_is_null_time(en) ? from + 1 :
		    mt_days_from_civil(en.year, (unsigned)en.month, (unsigned)en.day);
		/* A closure runs weeks, not centuries: a typo must not fill
		 * memory with a day per day. */
		if (to - from > 366) {
			mt_err_set(err, path, 0, "event \"%.60s\" lasts %lld days, more than a year",
			    name ? name : "holiday", (long long)(to - from));
			icalcomponent_free(cal);
			return -1;
		}
		for (int64_t d = from; d < to || d == from; d++)
			add_point(s, d, 1, name ? name : "holiday");
		n++;
	}
	icalcomponent_free(cal);
	if (n == 0) {
		mt_err_set(err, path, 0, "no all-day events");
		return -1;
	}
	return 0;
}

struct mt_series *mt_holidays_load(const char *spec, struct mt_err *err)
{
	struct mt_series *s = mt_xcalloc(1, sizeof *s);
	char *path = mt_xstrdup(spec), *division = strchr(path, '#');
	int rc;

	if (division != NULL)
		*division++ = '\0';
	rc = ends_with(path, ".ics") ? load_ics(s, path, err) :
	    load_holiday_json(s, path, division, err);
	free(path);
	if (rc < 0) {
		err->status = strstr(err->msg, "cannot") ? MT_EXIT_IO : MT_EXIT_USAGE;
		mt_series_free(s);
		return NULL;
	}
	finish(s);
	if (s->n > 0) {
		int y0, y1;
		unsigned m, d;
		mt_civil_from_days(s->p[0].key, &y0, &m, &d);
		mt_civil_from_days(s->p[s->n - 1].key, &y1, &m, &d);
		s->first_day = mt_days_from_civil(y0, 1, 1);
		s->last_day = mt_days_from_civil(y1, 12, 31);
	}
	return s;
}
