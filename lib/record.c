/* record.c - the record contracts between the programs (meter-records(5)):
 * raw readings and meter hours, validated field by field. */
#include "meter_priv.h"

#include <math.h>
#include <string.h>

/* A field and its name, for the helpers below; a literal key lets the
 * inline lookup hash it at compile time. */
#define FIELD(rec, key) mt_rec_get(rec, key), key

static const char *kind_names[] = { "cumulative", "interval", "instant" };
static const char *quality_names[] = { "measured", "interpolated", "estimated",
	"partial" };

const char *mt_kind_name(enum mt_kind k) { return kind_names[k]; }
const char *mt_quality_name(enum mt_quality q) { return quality_names[q]; }

int mt_quality_parse(const char *s, enum mt_quality *q)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, quality_names[i]) == 0) {
			*q = (enum mt_quality)i;
			return 0;
		}
	return -1;
}

static int fail(struct mt_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct mt_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->file[0] = '\0';
	err->line = 0;
	return -1;
}

/* A string field: 1 present, 0 absent and optional, -1 error. */
static int get_str(const struct mt_field *f, const char *key, int required,
    const char **out, struct mt_err *err)
{
	*out = NULL;
	if (f == NULL || f->type == MT_NULL)
		return required ? fail(err, "missing field \"%s\"", key) : 0;
	if (f->type != MT_STRING)
		return fail(err, "field \"%s\" must be a string", key);
	*out = f->str;
	return 1;
}

static int get_id(const struct mt_field *f, const char *key, int required,
    const char **out, struct mt_err *err)
{
	int rc = get_str(f, key, required, out, err);
	size_t n;

	if (rc <= 0)
		return rc;
	n = f->len;
	if (n == 0)
		return fail(err, "field \"%s\" is empty", key);
	/* the rule of configurations: an id becomes part of keys and paths */
	if (!mt_id_validn(*out, n) || strlen(*out) != n)
		return fail(err, "field \"%s\" is not an id (" MT_ID_RULE ")", key);
	return 1;
}


static int get_value(const struct mt_field *f, const char *key, double *out,
    struct mt_err *err);

static int get_num(const struct mt_field *f, const char *key, int required,
    double *out, struct mt_err *err)
{
	if (f == NULL || f->type == MT_NULL)
		return required ? fail(err, "missing field \"%s\"", key) : 0;
	if (f->type != MT_NUMBER)
		return fail(err, "field \"%s\" must be a number", key);
	if (!isfinite(f->num))
		return fail(err, "field \"%s\" is out of range", key);
	*out = f->num;
	return 1;
}

static int get_value(const struct mt_field *f, const char *key, double *out,
    struct mt_err *err)
{
	if (get_num(f, key, 1, out, err) < 0)
		return -1;
	if (fabs(*out) > MT_VALUE_MAX)
		return fail(err, "field \"%s\" is out of range (beyond " MT_VALUE_MAX_TEXT ")", key);
	return 0;
}

static int get_quantity(const struct mt_rec *rec,
    const struct mt_quantity **q, struct mt_err *err)
{
	const char *name;

	if (get_str(FIELD(rec, "quantity"), 1, &name, err) < 0)
		return -1;
	if ((*q = mt_quantity_find(name)) == NULL) {
		mt_err_set(err, NULL, 0, "unknown quantity \"%.40s\"", name);
		return -1;
	}
	return 0;
}

/* "ts": an RFC 3339 string, or Unix seconds as a number. */
static int get_ts(const struct mt_field *f, const char *key, mt_time_t *ts,
    enum mt_tsform *form, struct mt_err *err)
{
	if (f == NULL || f->type == MT_NULL)
		return fail(err, "missing field \"%s\"", key);
	if (f->type == MT_STRING)
		return mt_time_parse(f->str, f->len, ts, form, err);
	if (f->type != MT_NUMBER)
		return fail(err, "field \"%s\" must be a time", key);
	/* 1900-01-01 .. 9998-12-31T23:59:59, as for strings */
	if (!(f->num >= -2208988800.0 && f->num < MT_TIME_END / 1000.0))
		return fail(err, "field \"%s\" is out of range", key);
	*ts = (mt_time_t)llround(f->num * 1000);
	*form = MT_TS_UTC;
	return 0;
}

int mt_rec_kind(const struct mt_rec *rec)
{
	if (mt_rec_get(rec, "ts") != NULL)
		return 'r';
	if (mt_rec_get(rec, "hour") != NULL && mt_rec_get(rec, "meter") != NULL)
		return 'h';
	return 0;
}

static int get_kind(const struct mt_rec *rec, enum mt_kind *kind,
    struct mt_err *err)
{
	const char *s;

	if (get_str(FIELD(rec, "kind"), 1, &s, err) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum mt_kind)i;
			return 0;
		}
	mt_err_set(err, NULL, 0,
	    "field \"kind\" must be cumulative, interval or instant, not \"%.40s\"",
	    s);
	return -1;
}

static int get_duration(const struct mt_rec *rec, struct mt_reading *r,
    struct mt_err *err)
{
	double d = 0;
	int rc = get_num(FIELD(rec, "duration"), r->kind == MT_INTERVAL, &d, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	if (d != floor(d) || d < 1 || d > (double)MT_SPAN_MAX_S)
		return fail(err, "field \"%s\" must be whole seconds from 1 to "
		    MT_SPAN_MAX_TEXT, "duration");
	r->duration = (int64_t)d;
	return 0;
}

static int get_positive(const struct mt_field *f, const char *key, double *out,
    struct mt_err *err)
{
	int rc = get_num(f, key, 0, out, err);

	if (rc > 0 && *out <= 0)
		return fail(err, "field \"%s\" must be positive", key);
	return rc < 0 ? -1 : 0;
}

int mt_reading_parse(const struct mt_rec *rec, struct mt_reading *r,
    struct mt_err *err)
{
	memset(r, 0, sizeof *r);
	if (get_id(FIELD(rec, "participant"), 1, &r->participant, err) < 0 ||
	    get_id(FIELD(rec, "property"), 0, &r->property, err) < 0 ||
	    get_id(FIELD(rec, "meter"), 1, &r->meter, err) < 0 ||
	    get_quantity(rec, &r->q, err) < 0 ||
	    get_ts(FIELD(rec, "ts"), &r->ts, &r->form, err) < 0 ||
	    get_value(FIELD(rec, "value"), &r->value, err) < 0 ||
	    get_str(FIELD(rec, "unit"), 1, &r->unit, err) < 0 ||
	    get_kind(rec, &r->kind, err) < 0 ||
	    get_duration(rec, r, err) < 0 ||
	    get_str(FIELD(rec, "quality"), 0, &r->source_quality, err) < 0 ||
	    get_positive(FIELD(rec, "rollover"), &r->rollover, err) < 0 ||
	    get_positive(FIELD(rec, "calorific_value"), &r->calorific, err) < 0)
		return -1;
	r->estimated = r->source_quality != NULL &&
	    strcmp(r->source_quality, "estimated") == 0;
	return 0;
}

/* An hour holds an amount or a level: a rate, or gas in m3 without its
 * calorific value, cannot be one. */
static int canonical_amount(const struct mt_quantity *q, const char **unit,
    double *value, struct mt_err *err)
{
	struct mt_conv c;

	if (mt_unit_convert(q, *unit, &c, err) < 0)
		return -1;
	if (c.rate || c.needs_cv)
		return fail(err, "unit \"%s\" cannot be an hour's unit of %s",
		    *unit, q->name);
	*value = *value * c.factor + c.offset;
	*unit = q->unit;
	return 0;
}

/* What meter hours and property hours share: a UTC whole hour, a known
 * quality, a coverage fraction. */
static int check_hour(mt_time_t hour, enum mt_tsform form, const char *quality,
    enum mt_quality *q, double coverage, struct mt_err *err)
{
	if (form != MT_TS_UTC)
		return fail(err, "field \"%s\" must carry Z or a UTC offset", "hour");
	if (hour != mt_hour_floor(hour))
		return fail(err, "field \"%s\" is not on a whole hour", "hour");
	if (quality != NULL && mt_quality_parse(quality, q) < 0)
		return fail(err, "field \"%s\" must be measured, interpolated, estimated "
		    "or partial", "quality");
	if (!(coverage >= 0 && coverage <= 1))
		return fail(err, "field \"%s\" must be between 0 and 1", "coverage");
	return 0;
}

int mt_meter_hour_parse(const struct mt_rec *rec, struct mt_meter_hour *h,
    struct mt_err *err)
{
	const char *quality = NULL;
	enum mt_tsform form;

	memset(h, 0, sizeof *h);
	h->coverage = 1;
	if (get_id(FIELD(rec, "participant"), 1, &h->participant, err) < 0 ||
	    get_id(FIELD(rec, "property"), 0, &h->property, err) < 0 ||
	    get_id(FIELD(rec, "meter"), 1, &h->meter, err) < 0 ||
	    get_quantity(rec, &h->q, err) < 0 ||
	    get_ts(FIELD(rec, "hour"), &h->hour, &form, err) < 0 ||
	    get_value(FIELD(rec, "value"), &h->value, err) < 0 ||
	    get_str(FIELD(rec, "unit"), 1, &h->unit, err) < 0 ||
	    get_str(FIELD(rec, "quality"), 0, &quality, err) < 0 ||
	    get_num(FIELD(rec, "coverage"), 0, &h->coverage, err) < 0)
		return -1;
	if (check_hour(h->hour, form, quality, &h->quality, h->coverage, err) < 0)
		return -1;
	if (h->quality == MT_PARTIAL)
		return fail(err, "field \"%s\" of a meter hour cannot be partial", "quality");
	return 0;
}

int mt_meter_hour_canonical(struct mt_meter_hour *h, struct mt_err *err)
{
	return canonical_amount(h->q, &h->unit, &h->value, err);
}

int mt_hour_kind(const struct mt_rec *rec)
{
	if (mt_rec_get(rec, "meter") != NULL)
		return 'h';
	if (mt_rec_get(rec, "property") != NULL && mt_rec_get(rec, "hour") != NULL)
		return 'p';
	return 0;
}

/* Records flow raw reading -> meter-standardize -> meter hour ->
 * meter-aggregate -> property hour -> meter-enrich -> meter-load.  A record
 * given to a program that does not take its kind is told where it goes. */
const char *mt_rec_misplaced(const struct mt_rec *rec, const char *takes)
{
	int raw = mt_rec_get(rec, "ts") != NULL, hour = mt_rec_get(rec, "hour") != NULL;
	int meter = mt_rec_get(rec, "meter") != NULL;
	int prop = mt_rec_get(rec, "property") != NULL;
	int kind = raw ? 'r' : hour && meter ? 'h' : hour && prop ? 'p' : 0;

	if (kind != 0 && strchr(takes, kind) != NULL)
		return NULL;
	switch (kind) {
	case 'r':
		return "a raw reading (it has \"ts\"): run meter-standardize first, "
		    "which turns readings into meter hours";
	case 'h':
		return "a meter hour: run meter-aggregate first, which sums meter "
		    "hours into property hours";
	case 'p':
		return strchr(takes, 'h') != NULL ? "missing field \"meter\": this "
		    "is a property hour, which meter-enrich and meter-load take" :
		    "a property hour: it goes to meter-enrich or meter-load";
	}
	if (!hour)
		return "missing field \"hour\" (or \"ts\" for a raw reading): "
		    "not a record of meter-records(5)";
	if (strchr(takes, 'h') != NULL && strchr(takes, 'p') != NULL)
		return "missing field \"meter\" (for a meter hour) or \"property\" "
		    "(for a property hour)";
	return strchr(takes, 'h') != NULL ? "missing field \"meter\"" :
	    "missing field \"property\"";
}

static int get_count(const struct mt_field *f, const char *key, long *out,
    struct mt_err *err)
{
	double v = 0;
	int rc = get_num(f, key, 0, &v, err);

	if (rc < 0)
		return -1;
	if (rc > 0 && (v != floor(v) || v < 0 || v > 1e9))
		return fail(err, "field \"%s\" must be a whole number", key);
	*out = rc > 0 ? (long)v : -1;
	return 0;
}

int mt_property_hour_parse(const struct mt_rec *rec, struct mt_property_hour *h,
    struct mt_err *err)
{
	const char *quality = NULL;
	enum mt_tsform form;

	memset(h, 0, sizeof *h);
	h->coverage = 1;
	h->rec = rec;
	if (get_id(FIELD(rec, "participant"), 1, &h->participant, err) < 0 ||
	    get_id(FIELD(rec, "property"), 1, &h->property, err) < 0 ||
	    get_quantity(rec, &h->q, err) < 0 ||
	    get_ts(FIELD(rec, "hour"), &h->hour, &form, err) < 0 ||
	    get_value(FIELD(rec, "value"), &h->value, err) < 0 ||
	    get_str(FIELD(rec, "unit"), 1, &h->unit, err) < 0 ||
	    get_str(FIELD(rec, "quality"), 0, &quality, err) < 0 ||
	    get_num(FIELD(rec, "coverage"), 0, &h->coverage, err) < 0 ||
	    get_count(FIELD(rec, "meters"), &h->meters, err) < 0 ||
	    get_count(FIELD(rec, "meters_expected"), &h->meters_expected, err) < 0)
		return -1;
	if (check_hour(h->hour, form, quality, &h->quality, h->coverage, err) < 0)
		return -1;
	return canonical_amount(h->q, &h->unit, &h->value, err);
}

void mt_meter_hour_write(struct mt_out *o, const struct mt_meter_hour *h)
{
	mt_out_begin(o);
	mt_out_str(o, "participant", h->participant);
	if (h->property != NULL)
		mt_out_str(o, "property", h->property);
	mt_out_str(o, "meter", h->meter);
	mt_out_str(o, "quantity", h->q->name);
	mt_out_time(o, "hour", h->hour);
	mt_out_num(o, "value", h->value);
	mt_out_str(o, "unit", h->unit);
	mt_out_str(o, "quality", mt_quality_name(h->quality));
	mt_out_num(o, "coverage", h->coverage);
	mt_out_end(o);
}

void mt_property_hour_fields(struct mt_out *o, const struct mt_property_hour *h)
{
	mt_out_begin(o);
	mt_out_str(o, "participant", h->participant);
	mt_out_str(o, "property", h->property);
	mt_out_str(o, "quantity", h->q->name);
	mt_out_time(o, "hour", h->hour);
	mt_out_num(o, "value", h->value);
	mt_out_str(o, "unit", h->unit);
	if (h->meters >= 0)
		mt_out_int(o, "meters", h->meters);
	if (h->meters_expected >= 0)
		mt_out_int(o, "meters_expected", h->meters_expected);
	mt_out_num(o, "coverage", h->coverage);
	mt_out_str(o, "quality", mt_quality_name(h->quality));
}

void mt_property_hour_write(struct mt_out *o, const struct mt_property_hour *h)
{
	mt_property_hour_fields(o, h);
	mt_out_end(o);
}

void mt_reading_write(struct mt_out *o, const struct mt_reading *r,
    const char *source)
{
	mt_out_begin(o);
	mt_out_str(o, "participant", r->participant);
	if (r->property != NULL)
		mt_out_str(o, "property", r->property);
	mt_out_str(o, "meter", r->meter);
	mt_out_str(o, "quantity", r->q->name);
	mt_out_time(o, "ts", r->ts);
	mt_out_num(o, "value", r->value);
	mt_out_str(o, "unit", r->unit);
	mt_out_str(o, "kind", mt_kind_name(r->kind));
	if (r->kind == MT_INTERVAL)
		mt_out_int(o, "duration", r->duration);
	if (r->estimated)
		mt_out_str(o, "quality", "estimated");
	if (r->rollover > 0)
		mt_out_num(o, "rollover", r->rollover);
	if (r->calorific > 0)
		mt_out_num(o, "calorific_value", r->calorific);
	if (source != NULL)
		mt_out_str(o, "source", source);
	mt_out_end(o);
}
