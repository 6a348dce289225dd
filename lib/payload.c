/* payload.c - what every connector shares: its settings read from the
 * <connector> attributes, gzip undone in memory with a size cap, and the
 * one place a reading becomes a raw-reading record (filters, quantity,
 * rejects).  The formats themselves live in csvconn.c, jsonconn.c and
 * greenbutton.c. */
#define _POSIX_C_SOURCE 200809L
#include "meter.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


static const char *const attr_names[] = { "type", "url", "kind", "unit",
	"duration", "ts-column", "value-column", "unit-column", "timezone",
	"delimiter", "quote", "decimal", "time-format", "skip", "header",
	"items", "ts", "value", "unit-field", "netrc", "ca-file", "timeout",
	"connect-timeout", "retries", "max-size", "flow-direction", NULL };

const char *const *mt_conn_attr_names(void)
{
	return attr_names;
}

static int bad_attr(struct mt_err *err, const struct mt_connector *a,
    const char *name, const char *v, const char *want)
{
	mt_err_set(err, NULL, a->line, "<connector>: attribute \"%s\" must be %s, not \"%.40s\"",
	    name, want, v);
	err->status = MT_EXIT_USAGE;
	return -1;
}

static int one_char(const struct mt_connector *a, const char *name, char *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);

	if (v == NULL)
		return 0;
	if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
		v = "\t";
	if (strlen(v) != 1 || *v == '\n' || *v == '\r')
		return bad_attr(err, a, name, v, "one character (or \"tab\")");
	*out = *v;
	return 0;
}

static int whole(const struct mt_connector *a, const char *name, long lo,
    long hi, long *out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	double d;

	if (v == NULL)
		return 0;
	if (mt_parse_double(v, &d) < 0 || d != floor(d) || d < lo || d > hi) {
		char want[64];
		snprintf(want, sizeof want, "a whole number from %ld to %ld", lo, hi);
		return bad_attr(err, a, name, v, want);
	}
	*out = (long)d;
	return 0;
}

static int millis(const struct mt_connector *a, const char *name, long *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	int64_t s;

	if (v == NULL)
		return 0;
	if (mt_parse_duration(v, &s) < 0 || s < 1 || s > 86400)
		return bad_attr(err, a, name, v, "a duration from 1s to 1d");
	*out = (long)s * 1000;
	return 0;
}

static int size_attr(const struct mt_connector *a, size_t *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "max-size");

	if (v != NULL && mt_parse_size(v, out) < 0)
		return bad_attr(err, a, "max-size", v, "a size such as 500k, 64M or 1G (up to 4G)");
	return 0;
}

static int enum_attr(const struct mt_connector *a, const char *name,
    const char *const *names, int *out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	char want[160] = "";

	if (v == NULL)
		return 0;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], v) == 0) {
			*out = i;
			return 0;
		}
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
		    i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	}
	return bad_attr(err, a, name, v, want);
}

static int flow_attr(const struct mt_connector *a, int *flow, struct mt_err *err)
{
	static const char *const names[] = { "import", "export", "net", NULL };
	static const int codes[] = { 1, 19, 4 };
	const char *v = mt_connector_attr(a, "flow-direction");
	long n;
	int i = 0;

	if (v != NULL && isdigit((unsigned char)*v)) {
		if (whole(a, "flow-direction", 0, 100, &n, err) < 0)
			return -1;
		*flow = (int)n;
		return 0;
	}
	if (enum_attr(a, "flow-direction", names, &i, err) < 0)
		return -1;
	*flow = codes[i];
	return 0;
}

static int zone_attr(const struct mt_connector *a, const char *dflt,
    const char **out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "timezone");
	struct mt_zone *z;

	*out = v ? v : dflt;
	if (v == NULL)
		return 0;
	if ((z = mt_zone_open(v, err)) == NULL)
		return bad_attr(err, a, "timezone", v, "an IANA time zone");
	mt_zone_free(z);
	return 0;
}

static int duration_attr(const struct mt_connector *a, int64_t *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "duration");

	if (v == NULL)
		return 0;
	if (mt_parse_duration(v, out) < 0 || *out < 1 || *out > 400 * 86400LL)
		return bad_attr(err, a, "duration", v, "a duration from 1s to 400d");
	return 0;
}

int mt_conn_parse(struct mt_conn *c, const struct mt_connector *a,
    const char *zone_default, struct mt_err *err)
{
	static const char *const types[] = { "csv", "json", "greenbutton", NULL };
	static const char *const kinds[] = { "cumulative", "interval", "instant", NULL };
	static const char *const formats[] = { "iso", "epoch", "epoch-ms", NULL };
	static const char *const bools[] = { "false", "true", NULL };
	static const char *const decimals[] = { ".", ",", NULL };
	int type = -1, kind, tf = 0, header = 1, decimal = 0;
	long skip = 0, retries = 3;

	memset(c, 0, sizeof *c);
	if (enum_attr(a, "type", types, &type, err) < 0 ||
	    enum_attr(a, "kind", kinds, &kind, err) < 0 ||
	    enum_attr(a, "time-format", formats, &tf, err) < 0 ||
	    enum_attr(a, "header", bools, &header, err) < 0 ||
	    enum_attr(a, "decimal", decimals, &decimal, err) < 0)
		return -1;
	if (type < 0)
		return bad_attr(err, a, "type", "", "csv, json or greenbutton");
	c->type = (enum mt_conn_type)type;
	c->tf = (enum mt_time_format)tf;
	c->header = header;
	c->decimal = decimal ? ',' : '.';
	c->delimiter = ',';
	c->quote = '"';
	c->timeout_ms = 60000;
	c->connect_timeout_ms = 10000;
	c->max_size = 64 * 1024 * 1024;
	c->flow = 1;
	if (one_char(a, "delimiter", &c->delimiter, err) < 0 ||
	    one_char(a, "quote", &c->quote, err) < 0 ||
	    whole(a, "skip", 0, 1000000, &skip, err) < 0 ||
	    whole(a, "retries", 0, 20, &retries, err) < 0 ||
	    millis(a, "timeout", &c->timeout_ms, err) < 0 ||
	    millis(a, "connect-timeout", &c->connect_timeout_ms, err) < 0 ||
	    size_attr(a, &c->max_size, err) < 0 ||
	    flow_attr(a, &c->flow, err) < 0 ||
	    zone_attr(a, zone_default, &c->zone_name, err) < 0 ||
	    duration_attr(a, &c->duration, err) < 0)
		return -1;
	c->skip = skip;
	c->retries = (int)retries;
	c->url = mt_connector_attr(a, "url");
	c->kind = mt_connector_attr(a, "kind");
	c->unit = mt_connector_attr(a, "unit");
	c->ts_col = mt_connector_attr(a, "ts-column");
	c->value_col = mt_connector_attr(a, "value-column");
	c->unit_col = mt_connector_attr(a, "unit-column");
	c->items = mt_connector_attr(a, "items");
	c->ts = mt_connector_attr(a, "ts");
	c->value = mt_connector_attr(a, "value");
	c->unit_field = mt_connector_attr(a, "unit-field");
	c->netrc = mt_connector_attr(a, "netrc");
	c->ca_file = mt_connector_attr(a, "ca-file");
	c->headers = a->headers;
	c->nheaders = a->nheaders;
	return 0;
}

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
		char why[128];
		snprintf(why, sizeof why, "cannot tell the quantity of unit \"%.40s\"",
		    r->unit);
		reject(e, row, why);
		return -1;
	}
	if (mt_unit_convert(rd.q, r->unit, &conv, &err) < 0) {
		reject(e, row, err.msg);
		return -1;
	}
	if (!isfinite(r->value) || fabs(r->value) > 1e15) {
		reject(e, row, "value is out of range (beyond 1e15)");
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
	e->readings++;
	if (r->ts > e->last)
		e->last = r->ts;
	return 0;
}

static int parse_time(const struct mt_conn *c, struct mt_emit *e,
    const char *s, size_t n, mt_time_t *ts, struct mt_err *err)
{
	enum mt_tsform form;
	mt_time_t utc[2];
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
		*ts = (mt_time_t)llround(c->tf == MT_TF_EPOCH ? d * 1000 : d);
		return 0;
	}
	if (mt_time_parse(s, n, ts, &form, err) < 0)
		return -1;
	if (form == MT_TS_UTC || e->zone == NULL)
		return 0;
	k = mt_zone_to_utc(e->zone, *ts, utc);
	if (k == 0) {
		mt_err_set(err, NULL, 0, "local time %.*s does not exist (skipped by "
		    "a DST change)", (int)(n < 40 ? n : 40), s);
		return -1;
	}
	/* A repeated hour: the second pass once the first was read. */
	*ts = k == 2 && e->prev >= utc[0] ? utc[1] : utc[0];
	return 0;
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
	for (size_t i = 0; i < n; i++)
		buf[i] = c->decimal == ',' && s[i] == ',' ? '.' :
		    c->decimal == ',' && s[i] == '.' ? 'x' : s[i];
	buf[n] = '\0';
	return mt_parse_double(buf, v);
}

int mt_emit_text(const struct mt_conn *c, struct mt_emit *e,
    const struct mt_row *row, const char *ts, size_t tslen, const char *value,
    size_t vlen, const char *unit)
{
	struct mt_raw r = { 0 };
	struct mt_err err;
	const char *kind = c->kind ? c->kind : e->kind;
	char why[160];

	if (is_missing(value, vlen)) {
		e->skipped++;
		return 0;
	}
	if (parse_time(c, e, ts, tslen, &r.ts, &err) < 0) {
		reject(e, row, err.msg);
		return -1;
	}
	e->prev = r.ts;
	if (parse_value(c, value, vlen, &r.value) < 0) {
		snprintf(why, sizeof why, "value \"%.*s\" is not a number",
		    (int)(vlen < 40 ? vlen : 40), value);
		reject(e, row, why);
		return -1;
	}
	if ((r.unit = unit ? unit : c->unit ? c->unit : e->unit) == NULL) {
		reject(e, row, "no unit (give unit=, unit-column= or a unit in the header)");
		return -1;
	}
	r.kind = kind == NULL || strcmp(kind, "interval") == 0 ? MT_INTERVAL :
	    strcmp(kind, "cumulative") == 0 ? MT_CUMULATIVE : MT_INSTANT;
	r.duration = c->duration;
	return mt_emit(e, &r, row);
}

int mt_payload_parse(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err)
{
	switch (c->type) {
	case MT_CONN_CSV: return mt_parse_csv(c, e, body, n, err);
	case MT_CONN_JSON: return mt_parse_json(c, e, body, n, err);
	case MT_CONN_GREENBUTTON: return mt_parse_greenbutton(c, e, body, n, err);
	}
	return -1;
}
