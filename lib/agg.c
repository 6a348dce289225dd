/* agg.c - meter hours to property hours: the engine of meter-aggregate.
 *
 * A series is one participant, property and quantity; a group is one hour
 * of a series and holds the latest value of each of its meters.  Each
 * series keeps its own window: its groups stay open until the newest hour
 * of that series is a window past them, then they are written, oldest
 * first (completed from the warehouse first, when there is one).  So
 * series that arrive one after the other (the files of several meters
 * concatenated, or read one after the other) do not close each other's
 * hours, and memory is one window of groups per series, not the input.
 *
 * Completion from the warehouse reads the meter hours of a participant and
 * quantity for a day at a time, and serves every property's groups of that
 * day from it, instead of one query per group.  The rules are in
 * meter-aggregate(1). */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SPAN (24 * MT_HOUR_MS)   /* warehouse hours read at once */

struct member {
	const char *meter;   /* the series' copy of the name */
	double value, coverage;
	enum mt_quality quality;
};

struct group {
	mt_time_t hour;
	struct member *m;
	size_t n, cap;
};

struct series {
	char *participant, *property;
	const struct mt_quantity *q;
	long expected;         /* configured meters, -1 unknown */
	int mean;
	mt_time_t newest, closed_before;
	struct group **open;   /* by hour */
	size_t nopen, cap;
	/* one copy of each meter name for all the series' hours, so that a
	 * group's members are told apart by pointer; meters come round in
	 * the same order hour after hour, so the one after the last found is
	 * looked at first */
	char **meters;
	size_t nmeters, last;
};

/* A warehouse meter hour, with the property its meter belongs to. */
struct stored {
	const char *property, *meter;   /* interned in the cache's names */
	mt_time_t hour;
	double value, coverage;
	enum mt_quality quality;
};

/* The warehouse's meter hours of a participant and quantity, for hours
 * [from, to), sorted by hour and property. */
struct cache {
	const struct mt_quantity *q;
	mt_time_t from, to;
	struct stored *rows;
	size_t n, cap;
	struct mt_map *names;  /* name -> its copy, owned */
};

struct mt_agg {
	struct mt_agg_opts o;
	struct mt_rejects *rj;
	struct mt_out *out;
	struct mt_map *series;       /* participant\0property\0quantity */
	struct series **all;
	size_t nall;
	struct mt_map *meters;       /* participant\0meter -> mt_meter_cfg */
	struct mt_map *expected;     /* participant\0property\0quantity -> n + 1 */
	struct mt_map *caches;       /* participant\0quantity -> cache */
	struct mt_agg_stats st;
};

/* key of NUL-separated parts into buf; returns its length */
static size_t make_key(char *buf, size_t cap, const char *const *parts, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		if (len + l + 1 > cap)
			return 0;
		memcpy(buf + len, parts[i], l + 1);
		len += l + 1;
	}
	return len;
}

static void index_config(struct mt_agg *a, const struct mt_config *cfg)
{
	char key[3 * MT_ID_MAX + 32];

	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		const char *mk[] = { cfg->id, m->id };
		const char *ek[] = { cfg->id, m->property ? m->property : "", m->q->name };
		size_t n = make_key(key, sizeof key, mk, 2);
		intptr_t count;

		mt_map_put(a->meters, key, n, (void *)m);
		if (m->property == NULL)
			continue;
		n = make_key(key, sizeof key, ek, 3);
		count = (intptr_t)mt_map_get(a->expected, key, n);
		mt_map_put(a->expected, key, n, (void *)(count ? count + 1 : 2));
	}
}

struct mt_agg *mt_agg_new(const struct mt_agg_opts *o, struct mt_rejects *rj,
    struct mt_out *out)
{
	struct mt_agg *a = mt_xcalloc(1, sizeof *a);

	a->o = *o;
	a->rj = rj;
	a->out = out;
	a->series = mt_map_new();
	a->meters = mt_map_new();
	a->expected = mt_map_new();
	a->caches = mt_map_new();
	for (size_t i = 0; i < o->ncfgs; i++)
		index_config(a, o->cfgs[i]);
	return a;
}

static void group_free(struct group *g)
{
	free(g->m);
	free(g);
}

static void free_value(void *ctx, const char *key, size_t klen, void *val)
{
	(void)ctx, (void)key, (void)klen;
	free(val);
}

static void free_cache(void *ctx, const char *key, size_t klen, void *val)
{
	struct cache *c = val;

	(void)ctx, (void)key, (void)klen;
	free(c->rows);
	mt_map_each(c->names, free_value, NULL);
	mt_map_free(c->names);
	free(c);
}

/* One copy of each property and meter name, for the rows of every day. */
static const char *intern(struct mt_map *names, const char *s)
{
	size_t n = strlen(s);
	char *v = mt_map_get(names, s, n);

	if (v == NULL) {
		v = mt_xstrdup(s);
		mt_map_put(names, s, n, v);
	}
	return v;
}

void mt_agg_free(struct mt_agg *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nall; i++) {
		struct series *s = a->all[i];
		for (size_t k = 0; k < s->nopen; k++)
			group_free(s->open[k]);
		free(s->open);
		for (size_t k = 0; k < s->nmeters; k++)
			free(s->meters[k]);
		free(s->meters);
		free(s->participant);
		free(s->property);
		free(s);
	}
	free(a->all);
	mt_map_each(a->caches, free_cache, NULL);
	mt_map_free(a->caches);
	mt_map_free(a->series);
	mt_map_free(a->meters);
	mt_map_free(a->expected);
	free(a);
}

const struct mt_agg_stats *mt_agg_stats(const struct mt_agg *a) { return &a->st; }

static void reject(struct mt_agg *a, const struct mt_rec *rec, const char *why)
{
	a->st.rejected++;
	mt_reject_rec(a->rj, rec, why);
}

/* A line that is no record is still a record read: in = out + merged +
 * rejected. */
void mt_agg_reject(struct mt_agg *a, const struct mt_rec *rec, const char *why)
{
	a->st.in++;
	reject(a, rec, why);
}

static const struct mt_config *config_of(const struct mt_agg *a,
    const char *participant)
{
	for (size_t i = 0; i < a->o.ncfgs; i++)
		if (strcmp(a->o.cfgs[i]->id, participant) == 0)
			return a->o.cfgs[i];
	return NULL;
}

/* Energy, water and occupancy add up across meters; other levels are
 * coverage-weighted means; a participant's configuration may say otherwise. */
static int is_mean(const struct mt_config *cfg, const struct mt_quantity *q)
{
	for (size_t i = 0; cfg && i < cfg->nrules; i++)
		if (cfg->rules[i].q == q)
			return cfg->rules[i].mean;
	return q->qclass == MT_Q_LEVEL && strcmp(q->name, "occupancy") != 0;
}

/* The meter's property: the configuration's, when the participant has one. */
static const char *property_of(struct mt_agg *a, const char *participant,
    const char *meter, const char *stated)
{
	char key[2 * MT_ID_MAX + 2];
	const char *k[] = { participant, meter };
	size_t n = a->o.ncfgs ? make_key(key, sizeof key, k, 2) : 0;
	const struct mt_meter_cfg *m = n ? mt_map_get(a->meters, key, n) : NULL;

	return m != NULL ? m->property : config_of(a, participant) ? NULL : stated;
}

static const char *series_meter(struct series *s, const char *meter)
{
	for (size_t k = 0; k < s->nmeters; k++) {
		size_t i = (s->last + 1 + k) % s->nmeters;
		if (strcmp(s->meters[i], meter) == 0)
			return s->meters[s->last = i];
	}
	s->meters = mt_xrealloc(s->meters, (s->nmeters + 1) * sizeof *s->meters);
	s->last = s->nmeters;
	return s->meters[s->nmeters++] = mt_xstrdup(meter);
}

static void set_member(struct series *s, struct group *g, const char *meter,
    double value, double coverage, enum mt_quality quality, int replace)
{
	const char *name = series_meter(s, meter);
	struct member *m = NULL;

	for (size_t i = 0; i < g->n && m == NULL; i++)
		if (g->m[i].meter == name)
			m = &g->m[i];
	if (m != NULL && !replace)
		return;
	if (m == NULL) {
		if (g->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 4;
			g->m = mt_xrealloc(g->m, g->cap * sizeof *g->m);
		}
		m = &g->m[g->n++];
		m->meter = name;
	}
	m->value = value;
	m->coverage = coverage;
	m->quality = quality;
}

/* ---- completion from the warehouse ---- */

static void cache_row(void *ctx, const struct mt_meter_hour *h)
{
	struct mt_agg *a = ((void **)ctx)[0];
	struct cache *c = ((void **)ctx)[1];
	const char *prop = property_of(a, h->participant, h->meter, h->property);
	struct stored *r;

	if (prop == NULL)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->rows = mt_xrealloc(c->rows, c->cap * sizeof *c->rows);
	}
	r = &c->rows[c->n++];
	r->property = intern(c->names, prop);
	r->meter = intern(c->names, h->meter);
	r->hour = h->hour;
	r->value = h->value;
	r->coverage = h->coverage;
	r->quality = h->quality;
}

static int by_hour_property(const void *x, const void *y)
{
	const struct stored *a = x, *b = y;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	return strcmp(a->property, b->property);
}

/* The cache of the participant and quantity, holding the hour. */
static struct cache *cache_for(struct mt_agg *a, const struct series *s,
    mt_time_t hour, struct mt_err *err)
{
	char key[2 * MT_ID_MAX + 32];
	const char *k[] = { s->participant, s->q->name };
	size_t n = make_key(key, sizeof key, k, 2);
	struct cache *c = mt_map_get(a->caches, key, n);
	void *ctx[2];

	if (c == NULL) {
		c = mt_xcalloc(1, sizeof *c);
		c->q = s->q;
		c->names = mt_map_new();
		c->from = c->to = MT_TIME_MIN;
		mt_map_put(a->caches, key, n, c);
	}
	if (hour >= c->from && hour < c->to)
		return c;
	c->n = 0;
	c->from = mt_hour_floor(hour);
	c->to = c->from + CACHE_SPAN;
	ctx[0] = a;
	ctx[1] = c;
	if (mt_db_meter_hours_range(a->o.db, s->participant, s->q, c->from, c->to,
	    cache_row, ctx, err) < 0)
		return NULL;
	/* no stored hour yet: rows is NULL, which qsort may not be given */
	if (c->n > 1)
		qsort(c->rows, c->n, sizeof *c->rows, by_hour_property);
	return c;
}

/* The stored meter hours of the group's property and hour fill in the
 * meters the input did not have. */
static int complete(struct mt_agg *a, struct series *s, struct group *g,
    struct mt_err *err)
{
	struct cache *c = cache_for(a, s, g->hour, err);
	struct stored key = { .property = s->property, .hour = g->hour };
	size_t lo = 0, hi, before;

	if (c == NULL)
		return -1;
	hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (by_hour_property(&c->rows[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	before = g->n;
	for (; lo < c->n && by_hour_property(&c->rows[lo], &key) == 0; lo++) {
		const struct stored *r = &c->rows[lo];
		set_member(s, g, r->meter, r->value, r->coverage, r->quality, 0);
	}
	a->st.completed += (long)(g->n - before);
	return 0;
}

/* ---- writing a group ---- */

static void write_group(struct mt_agg *a, const struct series *s,
    const struct group *g)
{
	struct mt_property_hour h = {
		.participant = s->participant, .property = s->property, .q = s->q,
		.unit = s->q->unit, .hour = g->hour, .meters = (long)g->n,
		.meters_expected = s->expected, .quality = MT_MEASURED,
	};
	double sum = 0, weighted = 0, cov = 0;

	for (size_t i = 0; i < g->n; i++) {
		sum += g->m[i].value;
		weighted += g->m[i].value * g->m[i].coverage;
		cov += g->m[i].coverage;
		if (g->m[i].quality > h.quality)
			h.quality = g->m[i].quality;
	}
	h.value = !s->mean ? sum : cov > 0 ? weighted / cov : sum / (double)g->n;
	h.value = mt_round_value(h.value);
	h.coverage = s->expected > 0 ? cov / (double)s->expected : cov / (double)g->n;
	h.coverage = mt_round_coverage(h.coverage > 1 ? 1 : h.coverage);
	if (s->expected > 0 && (long)g->n < s->expected)
		h.quality = MT_PARTIAL;
	mt_property_hour_write(a->out, &h);
	a->st.out++;
}

/* Write and forget the series' open groups before hour `before`, oldest
 * first. */
static int close_before(struct mt_agg *a, struct series *s, mt_time_t before,
    struct mt_err *err)
{
	size_t k = 0;
	int rc = 0;

	while (k < s->nopen && s->open[k]->hour < before) {
		struct group *g = s->open[k];
		if (rc == 0 && a->o.db != NULL)
			rc = complete(a, s, g, err);
		if (rc == 0)
			write_group(a, s, g);
		group_free(g);
		k++;
	}
	memmove(s->open, s->open + k, (s->nopen - k) * sizeof *s->open);
	s->nopen -= k;
	if (before > s->closed_before)
		s->closed_before = before;
	return rc;
}

/* ---- taking meter hours in ---- */

static struct series *series_for(struct mt_agg *a, const struct mt_meter_hour *h,
    const char *property)
{
	char key[3 * MT_ID_MAX + 32];
	const char *k[] = { h->participant, property, h->q->name };
	size_t n = make_key(key, sizeof key, k, 3);
	struct series *s = mt_map_get(a->series, key, n);
	intptr_t expected;

	if (s != NULL)
		return s;
	s = mt_xcalloc(1, sizeof *s);
	s->participant = mt_xstrdup(h->participant);
	s->property = mt_xstrdup(property);
	s->q = h->q;
	s->mean = is_mean(config_of(a, h->participant), h->q);
	expected = (intptr_t)mt_map_get(a->expected, key, n);
	s->expected = config_of(a, h->participant) ? (long)(expected ? expected - 1 : 0) : -1;
	s->newest = s->closed_before = MT_TIME_MIN;
	mt_map_put(a->series, key, n, s);
	a->all = mt_xrealloc(a->all, (a->nall + 1) * sizeof *a->all);
	a->all[a->nall++] = s;
	return s;
}

/* The series' group of the hour, made in its place when new. */
static struct group *group_for(struct series *s, mt_time_t hour)
{
	size_t lo = 0, hi = s->nopen;
	struct group *g;

	/* the common case: the newest hour, or one after it */
	if (s->nopen > 0 && s->open[s->nopen - 1]->hour <= hour)
		lo = s->nopen - (s->open[s->nopen - 1]->hour == hour);
	else
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (s->open[mid]->hour < hour)
				lo = mid + 1;
			else
				hi = mid;
		}
	if (lo < s->nopen && s->open[lo]->hour == hour)
		return s->open[lo];
	if (s->nopen == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->open = mt_xrealloc(s->open, s->cap * sizeof *s->open);
	}
	memmove(s->open + lo + 1, s->open + lo, (s->nopen - lo) * sizeof *s->open);
	g = s->open[lo] = mt_xcalloc(1, sizeof *g);
	g->hour = hour;
	s->nopen++;
	return g;
}

/* The meter's property: the configuration's, when the participant has one. */
static const char *resolve_property(struct mt_agg *a, const struct mt_meter_hour *h,
    char *why, size_t cap)
{
	const struct mt_config *cfg = config_of(a, h->participant);
	const char *p = property_of(a, h->participant, h->meter, h->property);

	if (cfg != NULL && mt_config_meter(cfg, h->meter) == NULL)
		snprintf(why, cap, "meter %s/%s is not in the configuration",
		    h->participant, h->meter);
	else if (p == NULL)
		snprintf(why, cap, cfg ? "meter %s/%s belongs to no property" :
		    "meter %s/%s: no property (field \"property\" or -c)",
		    h->participant, h->meter);
	else if (h->property != NULL && strcmp(h->property, p) != 0)
		snprintf(why, cap, "property \"%s\" differs from the configuration (\"%s\")",
		    h->property, p);
	else
		return p;
	return NULL;
}

int mt_agg_add(struct mt_agg *a, const struct mt_rec *rec, struct mt_err *err)
{
	struct mt_meter_hour h;
	struct mt_err verr;
	struct series *s;
	char why[400];
	const char *prop, *misplaced;

	a->st.in++;
	if ((misplaced = mt_rec_misplaced(rec, "h")) != NULL) {
		reject(a, rec, misplaced);
		return 0;
	}
	if (mt_meter_hour_parse(rec, &h, &verr) < 0 ||
	    mt_meter_hour_canonical(&h, &verr) < 0) {
		reject(a, rec, verr.msg);
		return 0;
	}
	if ((prop = resolve_property(a, &h, why, sizeof why)) == NULL) {
		reject(a, rec, why);
		return 0;
	}
	s = series_for(a, &h, prop);
	if (h.hour < s->closed_before && a->o.db == NULL) {
		a->st.late++;
		reject(a, rec, "late: its property hour was written already: "
		    "give the files as arguments (they are read in time order), sort "
		    "the input by hour, widen --window, or give --db to complete it "
		    "from the warehouse");
		return 0;
	}
	set_member(s, group_for(s, h.hour), h.meter, h.value, h.coverage, h.quality, 1);
	a->st.merged++;
	if (h.hour > s->newest) {
		s->newest = h.hour;
		if (s->newest - a->o.window_ms > s->closed_before)
			return close_before(a, s, s->newest - a->o.window_ms, err);
	}
	return 0;
}

/* The groups still open, in hour order across series. */
struct open_ref {
	struct series *s;
	mt_time_t hour;
	size_t order;
};

static int by_hour_then_series(const void *x, const void *y)
{
	const struct open_ref *a = x, *b = y;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

int mt_agg_finish(struct mt_agg *a, struct mt_err *err)
{
	struct open_ref *refs;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < a->nall; i++)
		n += a->all[i]->nopen;
	refs = mt_xcalloc(n + 1, sizeof *refs);
	n = 0;
	for (size_t i = 0; i < a->nall; i++)
		for (size_t k = 0; k < a->all[i]->nopen; k++)
			refs[n++] = (struct open_ref){ a->all[i], a->all[i]->open[k]->hour, i };
	qsort(refs, n, sizeof *refs, by_hour_then_series);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = close_before(a, refs[i].s, refs[i].hour + 1, err);
	free(refs);
	return rc;
}
