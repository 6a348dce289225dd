/* nem12.c - the nem12 connector: AEMO's Meter Data File Format (NEM12),
 * what every Australian meter data provider sends.  A 100 header, a 200
 * record per data stream (NMI, suffix, unit, interval length), a 300
 * record per day of interval values with its quality method, 400 records
 * giving the quality of interval ranges when the method is V, 500 B2B
 * details and a 900 end.  Times are market time, UTC+10 all year, and a
 * day's first value is its first interval (00:00-00:30 for 30 minutes).
 * Fields never hold commas or quotes (the specification forbids them), so
 * a line is split at its commas. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELDS_MAX (2 + 288 + 5 + 8)   /* a 5-minute day and some slack */
#define AEST_MS (10 * 3600 * 1000LL)

struct stream {
	int open;                 /* a 200 record was read */
	int selected;             /* its values are this meter's */
	int named;                /* by nmi=: they carry the meter's id */
	long line;                /* of the 200 record */
	char why[300];            /* why its days are rejected, or "" */
	char nmi[16], suffix[8], unit[16], meter[MT_ID_MAX + 1];
	int minutes;              /* interval length */
	const struct mt_quantity *q;
};

struct day {
	int pending;
	long line;                /* of the 300 record */
	char *text;               /* the 300 record, for the rejects */
	size_t len;
	mt_time_t start;          /* the day's first interval, UTC */
	int n;                    /* intervals */
	double *values;
	char *quality;            /* per interval: A, E, S, F, N or 0 */
	char method;              /* the 300 record's, V: see the 400s */
	long bad_line;            /* a 400 record that spoiled the day */
	char why[200];
};

struct nem {
	const struct mt_conn *c;
	struct mt_emit *e;
	struct mt_err *err;
	long line;
	int header, ended;
	struct stream s;
	struct day d;
	long selected;            /* streams read */
	char seen[200];           /* streams in the file, NMI/suffix */
	char *f[FIELDS_MAX];
	int nf;
};

static void reject_line(struct nem *p, long line, const char *text, size_t len,
    const char *why)
{
	p->e->rejected++;
	mt_reject(p->e->rj, p->e->source, line, text, len, why);
}

/* Split at commas in place; more fields than a record can have are one
 * field too many, which the records' checks refuse. */
static void split(struct nem *p, char *s)
{
	p->nf = 0;
	for (;;) {
		p->f[p->nf++] = s;
		if ((s = strchr(s, ',')) == NULL || p->nf == FIELDS_MAX)
			break;
		*s++ = '\0';
	}
}

static const char *field(const struct nem *p, int i)
{
	return i < p->nf ? p->f[i] : "";
}

/* YYYYMMDD as a day count, or -1. */
static int64_t date8(const char *s, int64_t *days)
{
	int y, m, d, yy;
	unsigned mm, dd;

	if (strlen(s) != 8 || strspn(s, "0123456789") != 8)
		return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	d = (s[6] - '0') * 10 + (s[7] - '0');
	if (y < 1900 || y > 9998)
		return -2;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*days = mt_days_from_civil(y, (unsigned)m, (unsigned)d);
	mt_civil_from_days(*days, &yy, &mm, &dd);
	return yy == y && (int)mm == m && (int)dd == d ? 0 : -1;
}

/* ---- a day's values out ---- */

static void day_clear(struct day *d)
{
	free(d->text);
	free(d->values);
	free(d->quality);
	memset(d, 0, sizeof *d);
}

static int estimated(char q)
{
	return q == 'E' || q == 'S' || q == 'F';
}

static void day_emit(struct nem *p)
{
	struct day *d = &p->d;
	struct mt_row row = { d->line, d->text, d->len };
	const struct mt_quantity *q = p->e->q;
	const char *meter = p->e->meter;

	for (int k = 0; k < d->n && d->method == 'V'; k++)
		if (d->quality[k] == 0) {
			char why[160];
			snprintf(why, sizeof why, "quality method V without quality "
			    "records: no 400 record gives the quality of interval %d", k + 1);
			reject_line(p, d->line, d->text, d->len, why);
			return;
		}
	if (p->e->q == NULL)
		p->e->q = p->s.q;
	p->e->meter = p->s.named ? meter : p->s.meter;
	for (int k = 0; k < d->n; k++) {
		char qual = d->method == 'V' ? d->quality[k] : d->method;
		struct mt_raw r = { 0 };
		if (qual == 'N') {          /* null data: no reading */
			p->e->skipped++;
			continue;
		}
		r.ts = d->start + (mt_time_t)k * p->s.minutes * 60000;
		r.value = d->values[k];
		r.unit = p->s.unit;
		r.kind = MT_INTERVAL;
		r.duration = p->s.minutes * 60;
		r.estimated = estimated(qual);
		mt_emit(p->e, &r, &row);
	}
	p->e->q = q;
	p->e->meter = meter;
}

/* A day goes out once the records that may qualify it (400s) are read. */
static void day_flush(struct nem *p)
{
	struct day *d = &p->d;

	if (!d->pending)
		return;
	if (d->why[0] != '\0')
		reject_line(p, d->bad_line, d->text, d->len, d->why);
	else
		day_emit(p);
	day_clear(d);
}

/* ---- records ---- */

static int quality_method(const char *s)
{
	return *s && strchr("AEFSNV", *s) ? *s : 0;
}

/* The energy streams are read unless the meter names another; reactive
 * ones (kvarh) only when named. */
static void stream_select(struct nem *p)
{
	struct stream *s = &p->s;
	const struct mt_conn *c = p->c;
	const char *want = c->suffix ? c->suffix : "E1";

	s->q = mt_quantity_find(mt_nem12_quantity(field(p, 4)));
	if (c->nmi != NULL) {
		s->named = 1;
		s->selected = strcmp(c->nmi, field(p, 1)) == 0 &&
		    strcmp(want, field(p, 4)) == 0;
		return;
	}
	/* without a NMI, each stream is a meter of its own */
	s->selected = c->suffix ? strcmp(c->suffix, field(p, 4)) == 0 :
	    strchr("EeBb", *field(p, 4)) != NULL && *field(p, 4) != '\0';
	snprintf(s->meter, sizeof s->meter, "%s-%s", s->nmi, s->suffix);
}

/* NMIs and suffixes are letters and digits: "ABC-E1"/"E2" and "ABC"/
 * "E1-E2" can never make the same meter id. */
static int alnum(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return 0;
	return 1;
}

/* A unit the meter's quantity is not measured in rejects each day once,
 * not each of its values. */
static void unit_check(struct nem *p)
{
	struct stream *s = &p->s;
	const struct mt_quantity *q = p->e->q ? p->e->q : s->q;
	struct mt_conv conv;
	struct mt_err err;

	if (mt_unit_convert(q, s->unit, &conv, &err) < 0)
		snprintf(s->why, sizeof s->why, "unit of measure wrong for the meter: "
		    "%.200s (the 200 record at line %ld)", err.msg, s->line);
}

/* Which streams a file holds, for the notice when none is the meter's. */
static void stream_seen(struct nem *p)
{
	size_t n = strlen(p->seen);
	char one[24];

	snprintf(one, sizeof one, "%.15s/%.4s", field(p, 1), field(p, 4));
	for (const char *at = p->seen; (at = strstr(at, one)) != NULL; at++)
		if ((at == p->seen || at[-1] == ' ') && (at[strlen(one)] == ',' ||
		    at[strlen(one)] == '\0'))
			return;             /* each day has its 200 record again */
	if (n + 40 < sizeof p->seen)
		snprintf(p->seen + n, sizeof p->seen - n, "%s%.15s/%.4s",
		    n ? ", " : "", field(p, 1), field(p, 4));
	else if (n + 5 < sizeof p->seen && strcmp(p->seen + n - 3, "...") != 0)
		strcat(p->seen, ", ...");
}

static void record_200(struct nem *p)
{
	struct stream *s = &p->s;
	const char *len = field(p, 8), *nmi = field(p, 1), *suffix = field(p, 4);

	memset(s, 0, sizeof *s);
	s->open = 1;
	s->line = p->line;
	/* NMIs are 10 characters and suffixes 2: longer ones are refused, not
	 * cut (two cut alike would be one meter) */
	snprintf(s->nmi, sizeof s->nmi, "%s", nmi);
	snprintf(s->suffix, sizeof s->suffix, "%s", suffix);
	/* KWH and KVARH are how many providers write them */
	snprintf(s->unit, sizeof s->unit, "%s", mt_unit_suggest(field(p, 7)) ?
	    mt_unit_suggest(field(p, 7)) : field(p, 7));
	s->minutes = atoi(len);
	stream_seen(p);
	stream_select(p);
	if (!s->selected)           /* another meter's stream: its faults too */
		return;
	if (p->nf < 9 || *nmi == '\0' || *suffix == '\0' || *s->unit == '\0')
		snprintf(s->why, sizeof s->why, "stream without its %s: the 200 record "
		    "at line %ld leaves it empty", p->nf < 9 ? "interval length (too few "
		    "fields)" : *nmi == '\0' ? "NMI" : *suffix == '\0' ? "NMI suffix" :
		    "unit of measure", s->line);
	else if (!alnum(nmi) || !alnum(suffix))
		snprintf(s->why, sizeof s->why, "NMI or suffix not letters and digits: "
		    "\"%.20s\", \"%.10s\" in the 200 record at line %ld", nmi, suffix,
		    s->line);
	else if (strlen(nmi) >= sizeof s->nmi || strlen(suffix) >= sizeof s->suffix)
		snprintf(s->why, sizeof s->why, "NMI or suffix too long: \"%.20s\", "
		    "\"%.10s\" in the 200 record at line %ld (10 and 2 characters)",
		    nmi, suffix, s->line);
	else if (strcmp(len, "5") && strcmp(len, "15") && strcmp(len, "30"))
		snprintf(s->why, sizeof s->why, "interval length unknown: \"%.10s\" "
		    "minutes in the 200 record at line %ld (5, 15 or 30)", len, s->line);
	else if (!s->named && !mt_id_valid(s->meter))
		snprintf(s->why, sizeof s->why, "NMI and suffix make no meter id: \"%.40s\" "
		    "(letters, digits, '.', '_', '-')", s->meter);
	else
		unit_check(p);
	p->selected++;
}

/* NEM12 values are plain decimals: no 0x10, inf or nan. */
static int decimal(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789.-+eE") == strlen(s) &&
	    strpbrk(s, "0123456789") != NULL;
}

/* Leading numbers after the date: the values a 300 record holds. */
static int count_values(const struct nem *p)
{
	int k = 2;
	double v;

	while (k < p->nf && decimal(p->f[k]) && mt_parse_double(p->f[k], &v) == 0)
		k++;
	return k - 2;
}

static void record_300(struct nem *p, const char *text, size_t len)
{
	struct stream *s = &p->s;
	struct day *d = &p->d;
	int64_t days;
	int n, have, bad;
	char why[240];

	if (!s->open) {
		reject_line(p, p->line, text, len, "values without a stream: a 300 record "
		    "before any 200 record (which NMI is it?)");
		return;
	}
	if (s->why[0] != '\0') {
		reject_line(p, p->line, text, len, s->why);
		return;
	}
	if (!s->selected) {
		p->e->skipped += count_values(p);
		return;
	}
	n = 1440 / s->minutes;
	have = count_values(p);
	if (p->nf == FIELDS_MAX) {
		reject_line(p, p->line, text, len, "too many fields: a 300 record has at "
		    "most 288 values and 7 other fields");
		return;
	}
	if (have < n && p->nf >= 2 + n + 1) {
		snprintf(why, sizeof why, "value not a decimal number: \"%.20s\" for "
		    "interval %d", field(p, 2 + have), have + 1);
		reject_line(p, p->line, text, len, why);
		return;
	}
	if (have == n && p->nf < 2 + n + 1) {
		reject_line(p, p->line, text, len, "quality method missing: the 300 "
		    "record ends after its values");
		return;
	}
	if (have != n || p->nf < 2 + n + 1) {
		snprintf(why, sizeof why, "value count does not fit the interval "
		    "length: the 300 record holds %d values, not the %d that %d-minute "
		    "intervals make (200 record at line %ld)", have, n, s->minutes, s->line);
		reject_line(p, p->line, text, len, why);
		return;
	}
	if ((bad = date8(field(p, 1), &days)) < 0) {
		snprintf(why, sizeof why, bad == -2 ? "interval date out of range: "
		    "\"%.20s\" is not in the years 1900 to 9998" : "interval date not "
		    "a date: \"%.20s\" is not YYYYMMDD", field(p, 1));
		reject_line(p, p->line, text, len, why);
		return;
	}
	if ((d->method = (char)quality_method(field(p, 2 + n))) == 0) {
		snprintf(why, sizeof why, "unknown quality method: \"%.10s\" is "
		    "none of A, E, F, N, S or V", field(p, 2 + n));
		reject_line(p, p->line, text, len, why);
		return;
	}
	d->pending = 1;
	d->line = p->line;
	d->text = mt_xmalloc(len + 1);
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	d->len = len;
	d->start = days * 86400000LL - AEST_MS;
	d->n = n;
	d->values = mt_xmalloc((size_t)n * sizeof *d->values);
	d->quality = mt_xcalloc((size_t)n, 1);
	for (int k = 0; k < n; k++)
		mt_parse_double(p->f[2 + k], &d->values[k]);
}

/* Whether a 400 record gave any of intervals from..to already. */
static int qualified(const struct day *d, long from, long to)
{
	for (long k = from - 1; k < to; k++)
		if (d->quality[k] != 0)
			return 1;
	return 0;
}

static void record_400(struct nem *p, const char *text, size_t len)
{
	struct day *d = &p->d;
	char *end1, *end2;
	long from = strtol(field(p, 1), &end1, 10), to = strtol(field(p, 2), &end2, 10);
	int q = quality_method(field(p, 3));

	if (!d->pending) {
		/* a day rejected already, or a stream not read: nothing to qualify */
		if (!p->s.open)
			reject_line(p, p->line, text, len, "quality without values: a 400 record before any 300 record");
		return;
	}
	if (d->why[0] != '\0')
		return;
	d->bad_line = p->line;
	if (*end1 || *end2 || end1 == field(p, 1) || end2 == field(p, 2) ||
	    from < 1 || to < from)
		snprintf(d->why, sizeof d->why, "interval range not two numbers: "
		    "\"%.10s\"-\"%.10s\" in the 400 record", field(p, 1),
		    field(p, 2));
	else if (to > d->n)
		snprintf(d->why, sizeof d->why, "interval range past the end of the "
		    "day: the 400 record gives %ld-%ld, the day has %d intervals of %d "
		    "minutes (300 record at line %ld)", from, to, d->n, p->s.minutes, d->line);
	else if (q == 0 || q == 'V')
		snprintf(d->why, sizeof d->why, "unknown quality method: \"%.10s\" in "
		    "the 400 record is none of A, E, F, N or S", field(p, 3));
	else if (qualified(d, from, to))
		snprintf(d->why, sizeof d->why, "interval ranges overlap: the 400 "
		    "record's %ld-%ld covers intervals an earlier one gave", from, to);
	else
		memset(d->quality + from - 1, q, (size_t)(to - from + 1));
}

static int fail(struct nem *p, const char *why)
{
	mt_err_set(p->err, p->e->source, p->line, "%s", why);
	p->err->status = MT_EXIT_REJECTS;
	return -1;
}

static int record(struct nem *p, char *line, size_t len)
{
	char *text = mt_xmalloc(len + 1);
	const char *type;
	char why[200];
	int rc = 0;

	memcpy(text, line, len);
	text[len] = '\0';
	split(p, line);
	type = p->f[0];
	if (!p->header && strcmp(type, "100") != 0) {
		snprintf(why, sizeof why, "no 100 header record before this %.10s "
		    "record: not a NEM12 file, or its first line is missing", type);
		rc = fail(p, why);
	} else if (strcmp(type, "100") == 0) {
		snprintf(why, sizeof why, "the 100 header says \"%.20s\", not NEM12 "
		    "(NEM13 accumulation files are not read)", field(p, 1));
		if (strcmp(field(p, 1), "NEM12") != 0)
			rc = fail(p, why);
		p->header = 1;
	} else if (strcmp(type, "200") == 0) {
		day_flush(p);
		record_200(p);
	} else if (strcmp(type, "300") == 0) {
		day_flush(p);
		record_300(p, text, len);
	} else if (strcmp(type, "400") == 0) {
		record_400(p, text, len);
	} else if (strcmp(type, "500") == 0 || strcmp(type, "550") == 0) {
		day_flush(p);
	} else if (strcmp(type, "900") == 0) {
		day_flush(p);
		p->ended = 1;
	} else {
		reject_line(p, p->line, text, len, "unknown record type: NEM12 has 100, "
		    "200, 300, 400, 500 and 900 records");
	}
	free(text);
	return rc;
}

/* A meter that finds nothing of its own in a file says so: a mistyped
 * NMI would otherwise fetch nothing, every run, without a word. */
static void no_stream(struct nem *p)
{
	char msg[400];

	snprintf(msg, sizeof msg, "no stream for meter %s: the file holds %s%s%s%s",
	    p->e->meter, p->seen[0] ? p->seen : "no 200 record",
	    p->c->nmi ? " (nmi=\"" : "", p->c->nmi ? p->c->nmi : "",
	    p->c->nmi ? "\" and suffix= name one of them)" : "");
	mt_notice(p->e->rj, p->e->source, 0, msg);
}

int mt_parse_nem12(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err)
{
	struct nem p = { .c = c, .e = e, .err = err };
	const char *at = body, *end = body + n;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (n >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		at += 3;
	while (at < end && rc == 0) {
		const char *nl = at;
		size_t len;

		/* LF, CRLF or a lone CR ends a line */
		while (nl < end && *nl != '\n' && *nl != '\r')
			nl++;
		len = (size_t)(nl - at);
		if (nl < end && *nl == '\r' && nl + 1 < end && nl[1] == '\n')
			nl++;
		nl = nl < end ? nl : NULL;

		p.line++;
		if (len + 1 > cap)
			line = mt_xrealloc(line, cap = len + 1);
		memcpy(line, at, len);
		while (len > 0 && (line[len - 1] == '\r' || isspace((unsigned char)line[len - 1])))
			len--;
		line[len] = '\0';
		at = nl ? nl + 1 : end;
		if (len > 0 && p.ended)
			reject_line(&p, p.line, line, len, "record after the end: the 900 "
			    "record closes the file");
		else if (len > 0)
			rc = record(&p, line, len);
	}
	if (rc == 0 && !p.header) {
		p.line = p.line ? p.line : 1;
		rc = fail(&p, "no 100 header record: an empty file, or not NEM12");
	}
	if (rc == 0)
		day_flush(&p);
	if (rc == 0 && p.selected == 0)
		no_stream(&p);
	day_clear(&p.d);
	free(line);
	return rc;
}
