/* csvconn.c - the csv connector: libcsv over a payload, fed a line at a
 * time so that rejects can name their line.  Columns are picked by header
 * name (a unit in brackets after the name is allowed: "load [kWh]") or by
 * number from 1; the unit can come from the connector, a unit column, or
 * the value column's header. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#define COLS_MAX 512      /* a day of 5-minute columns, and a date */

struct csvc {
	const struct mt_conn *c;
	struct mt_emit *e;
	long line, row_line;      /* current line; where the row began */
	long rows;                /* rows after the header */
	char *buf;                /* the row's fields, NUL-separated */
	size_t len, cap;
	size_t off[COLS_MAX];
	int nf, too_many;
	int ts_col, value_col, unit_col;   /* 0-based, -1 none */
	char header_unit[32];
	int need_header;
	struct mt_err *err;
	int failed;
};

static void on_field(void *data, size_t n, void *ctx)
{
	struct csvc *s = ctx;

	if (s->nf == 0)
		s->row_line = s->line;
	if (s->nf == COLS_MAX) {
		s->too_many = 1;
		return;
	}
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->buf = mt_xrealloc(s->buf, s->cap);
	}
	s->off[s->nf++] = s->len;
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len++] = '\0';
}

static const char *field(const struct csvc *s, int i)
{
	return s->buf + s->off[i];
}

/* "equipment load [kWh]" -> name "equipment load", unit "kWh". */
static size_t split_unit(const char *h, char *unit, size_t usize)
{
	size_t n = strlen(h), open;
	char close;

	*unit = '\0';
	while (n > 0 && isspace((unsigned char)h[n - 1]))
		n--;
	if (n < 3 || (h[n - 1] != ']' && h[n - 1] != ')'))
		return n;
	close = h[n - 1];
	for (open = n - 1; open > 0 && h[open - 1] != (close == ']' ? '[' : '('); open--)
		;
	if (open == 0 || n - 1 - open >= usize || n - 1 == open)
		return n;
	memcpy(unit, h + open, n - 1 - open);
	unit[n - 1 - open] = '\0';
	n = open - 1;
	while (n > 0 && isspace((unsigned char)h[n - 1]))
		n--;
	return n;
}

static int fail(struct csvc *s, const char *what, const char *name)
{
	if (!s->failed++) {
		mt_err_set(s->err, s->e->source, s->row_line, "%s%s%s%s", what,
		    name ? " \"" : "", name ? name : "", name ? "\"" : "");
		s->err->status = MT_EXIT_REJECTS;
	}
	return -1;
}

/* A row read as one field that holds another common delimiter: the
 * file is likely separated by it, which the message says how to give. */
static const char *delimiter_hint(const struct csvc *s)
{
	if (s->nf != 1 || s->c->delimiter != ',')
		return "";
	if (strchr(field(s, 0), ';') != NULL)
		return " (the row is one field holding ';': give -o 'delimiter=;', "
		    "or delimiter=\";\" on the connector)";
	if (strchr(field(s, 0), '\t') != NULL)
		return " (the row is one field holding tabs: give -o delimiter=tab, "
		    "or delimiter=\"tab\" on the connector)";
	return "";
}

/* A column the header lacks: the message lists the ones it has. */
static int no_column(struct csvc *s, const char *spec)
{
	char have[400] = "";
	size_t n = 0;

	for (int i = 0; i < s->nf && n + 1 < sizeof have; i++)
		n += (size_t)snprintf(have + n, sizeof have - n, "%s\"%.60s\"",
		    i ? ", " : "", field(s, i));
	if (!s->failed++) {
		mt_err_set(s->err, s->e->source, s->row_line, "no column \"%.60s\" in "
		    "the header; it has %s (name one, or give its number from 1)%s",
		    spec, n ? have : "no columns", delimiter_hint(s));
		s->err->status = MT_EXIT_REJECTS;
	}
	return -1;
}

/* A column by number (from 1) or by header name; -1 when not given. */
static int find_column(struct csvc *s, const char *spec, int dflt)
{
	char unit[32];
	char *end;
	long k;

	if (spec == NULL)
		return dflt;
	k = strtol(spec, &end, 10);
	if (*spec != '\0' && *end == '\0') {
		if (k < 1 || k > COLS_MAX)
			return fail(s, "column number out of range:", spec);
		return (int)k - 1;
	}
	if (!s->c->header)
		return fail(s, "header=\"false\", yet a column is named:", spec);
	for (int i = 0; i < s->nf; i++) {
		const char *h = field(s, i);
		size_t n = split_unit(h, unit, sizeof unit);
		if (strcmp(h, spec) == 0 || (strlen(spec) == n && memcmp(h, spec, n) == 0))
			return i;
	}
	return no_column(s, spec);
}

static void read_header(struct csvc *s)
{
	char unit[32];

	s->ts_col = find_column(s, s->c->ts_col, 0);
	s->value_col = find_column(s, s->c->value_col, 1);
	s->unit_col = find_column(s, s->c->unit_col, -1);
	if (s->failed)
		return;
	if (s->c->header && s->value_col < s->nf) {
		split_unit(field(s, s->value_col), unit, sizeof unit);
		memcpy(s->header_unit, unit, sizeof unit);
	}
}

/* The row as text again, for the rejects. */
static char *row_text(const struct csvc *s, size_t *n)
{
	char *t = mt_xmalloc(s->len + 1);

	*n = 0;
	for (int i = 0; i < s->nf; i++) {
		size_t l = strlen(field(s, i));
		if (i > 0)
			t[(*n)++] = s->c->delimiter;
		memcpy(t + *n, field(s, i), l);
		*n += l;
	}
	t[*n] = '\0';
	return t;
}

/* The local midnights that begin and end a row's day, in UTC. */
static int day_bounds(struct csvc *s, const char *date, mt_time_t *start,
    mt_time_t *end, char *why, size_t cap)
{
	enum mt_tsform form;
	struct mt_err err;
	mt_time_t wall, utc[2];

	if (mt_time_parse(date, strlen(date), &wall, &form, &err) < 0 ||
	    form != MT_TS_LOCAL || wall % 86400000 != 0) {
		snprintf(why, cap, "row date not a day: \"%.40s\" (YYYY-MM-DD)", date);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		mt_time_t w = wall + i * 86400000LL;
		if (s->e->zone == NULL) {
			utc[0] = w;
		} else if (mt_zone_to_utc(s->e->zone, w, utc) == 0) {
			snprintf(why, cap, "day %.40s%s has no local midnight (a DST "
			    "change at 00:00): its columns have no times", date,
			    i ? "'s next day" : "");
			return -1;
		}
		*(i ? end : start) = utc[0];
	}
	return 0;
}

/* Where a row's interval columns end: after intervals= of them, before
 * a date or unit column that follows them, else at the row's end. */
static int wide_end(const struct csvc *s)
{
	int end = s->nf;

	if (s->c->intervals > 0 && s->value_col + s->c->intervals < end)
		end = s->value_col + (int)s->c->intervals;
	if (s->ts_col > s->value_col && s->ts_col < end)
		end = s->ts_col;
	if (s->unit_col > s->value_col && s->unit_col < end)
		end = s->unit_col;
	return end;
}

/* layout=wide: a date and the day's intervals in columns, the first at
 * local midnight and each the interval after the one before (a 23-hour
 * day's last column is empty, a 25-hour day's 25th holds the extra
 * hour). */
static void wide_row(struct csvc *s, const struct mt_row *row, const char *unit)
{
	int64_t step = s->c->duration * 1000;
	mt_time_t start, end;
	char why[200];

	if (day_bounds(s, field(s, s->ts_col), &start, &end, why, sizeof why) < 0) {
		s->e->rejected++;
		mt_reject(s->e->rj, s->e->source, row->line, row->text, row->len, why);
		return;
	}
	for (int k = 0; s->value_col + k < wide_end(s); k++) {
		const char *v = field(s, s->value_col + k);
		mt_time_t ts = start + k * step;
		if (ts >= end && *v != '\0') {
			snprintf(why, sizeof why, "column past the end of the day: "
			    "column %d (the day's interval %d) holds \"%.20s\", the day "
			    "has %lld intervals", s->value_col + k + 1, k + 1, v,
			    (long long)((end - start) / step));
			s->e->rejected++;
			mt_reject(s->e->rj, s->e->source, row->line, row->text, row->len, why);
		} else if (ts < end) {
			/* a column of a whole day lasts the day, 23 to 25 hours */
			mt_emit_at(s->c, s->e, row, ts, step == 86400000 ? (end - ts) / 1000 :
			    s->c->duration, v, strlen(v), unit);
		}
	}
}

static void data_row(struct csvc *s)
{
	struct mt_row row = { s->row_line, NULL, 0 };
	const char *unit = NULL;
	char *text = row_text(s, &row.len);
	int need = s->ts_col > s->value_col ? s->ts_col : s->value_col;

	row.text = text;
	if (s->unit_col > need)
		need = s->unit_col;
	s->rows++;
	if (s->too_many) {
		s->e->rejected++;
		mt_reject(s->e->rj, s->e->source, row.line, text, row.len,
		    "too many columns: more than 512");
	} else if (s->nf <= need) {
		char why[200];
		snprintf(why, sizeof why, "row has %d fields, column %d is missing%s",
		    s->nf, need + 1, delimiter_hint(s));
		s->e->rejected++;
		mt_reject(s->e->rj, s->e->source, row.line, text, row.len, why);
	} else {
		if (s->unit_col >= 0 && *field(s, s->unit_col) != '\0')
			unit = field(s, s->unit_col);
		else if (s->c->unit == NULL && s->header_unit[0] != '\0')
			unit = s->header_unit;
		if (s->c->wide)
			wide_row(s, &row, unit);
		else
				mt_emit_text(s->c, s->e, &row, field(s, s->ts_col),
			    strlen(field(s, s->ts_col)), field(s, s->value_col),
			    strlen(field(s, s->value_col)), unit);
	}
	free(text);
}

static void on_row(int term, void *ctx)
{
	struct csvc *s = ctx;

	(void)term;
	if (s->failed)
		return;
	/* A blank line is not a row. */
	if (!(s->nf == 1 && s->buf[0] == '\0')) {
		if (s->need_header) {
			s->need_header = 0;
			read_header(s);
		} else {
			data_row(s);
		}
	}
	s->nf = 0;
	s->len = 0;
	s->too_many = 0;
}

int mt_parse_csv(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err)
{
	struct csvc s = { .c = c, .e = e, .err = err, .need_header = c->header };
	struct csv_parser p;
	const char *at = body, *end = body + n;

	if (!c->header) {
		s.ts_col = find_column(&s, c->ts_col, 0);
		s.value_col = find_column(&s, c->value_col, 1);
		s.unit_col = find_column(&s, c->unit_col, -1);
	}
	/* Strict: a stray quote is a broken payload, not a guess. */
	csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI);
	csv_set_delim(&p, (unsigned char)c->delimiter);
	csv_set_quote(&p, (unsigned char)c->quote);
	if (n >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		at += 3;
	while (at < end && !s.failed) {
		const char *nl = memchr(at, '\n', (size_t)(end - at));
		size_t len = nl ? (size_t)(nl - at) + 1 : (size_t)(end - at);

		s.line++;
		if (s.line > c->skip && csv_parse(&p, at, len, on_field, on_row, &s) != len) {
			s.row_line = s.line;
			fail(&s, csv_strerror(csv_error(&p)), NULL);
		}
		at += len;
	}
	if (!s.failed && csv_fini(&p, on_field, on_row, &s) != 0) {
		s.row_line = s.line;
		fail(&s, "unterminated quoted field at the end (truncated body?)", NULL);
	}
	if (!s.failed && s.need_header)
		fail(&s, "no header row", NULL);
	csv_free(&p);
	free(s.buf);
	return s.failed ? -1 : 0;
}
