/* agg.c - meter hours to property hours: the engine of meter-aggregate.
 *
 * A group is one participant, property, quantity and hour; it holds the
 * latest value of each of its meters.  Groups stay open until the newest
 * hour read is a window past them, then they are written (completed from
 * the warehouse first, when there is one).  Memory is the groups of one
 * window, not the input.  The rules are in meter-aggregate(1). */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct member {
	char *meter;
	double value, coverage;
	enum mt_quality quality;
};

struct group {
	char *key;
	size_t klen;
	char *participant, *property;
	const struct mt_quantity *q;
	mt_time_t hour;
	struct member *m;
	size_t n, cap;
	long expected;       /* configured meters, -1 unknown */
	int mean;
};

struct mt_agg {
	struct mt_agg_opts o;
	struct mt_rejects *rj;
	struct mt_out *out;
	struct mt_map *groups;       /* key -> open group */
	struct group **open;
	size_t nopen, capopen;
	mt_time_t newest, closed_before;
	struct mt_map *meters;       /* participant\0meter -> mt_meter_cfg */
	struct mt_map *expected;     /* participant\0property\0quantity -> n + 1 */
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
	char key[512];

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
	a->groups = mt_map_new();
	a->meters = mt_map_new();
	a->expected = mt_map_new();
	a->newest = INT64_MIN;
	a->closed_before = INT64_MIN;
	for (size_t i = 0; i < o->ncfgs; i++)
		index_config(a, o->cfgs[i]);
	return a;
}

static void group_free(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->m[i].meter);
	free(g->m);
	free(g->key);
	free(g->participant);
	free(g->property);
	free(g);
}

void mt_agg_free(struct mt_agg *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nopen; i++)
		group_free(a->open[i]);
	free(a->open);
	mt_map_free(a->groups);
	mt_map_free(a->meters);
	mt_map_free(a->expected);
	free(a);
}

const struct mt_agg_stats *mt_agg_stats(const struct mt_agg *a) { return &a->st; }

void mt_agg_reject(struct mt_agg *a, const struct mt_rec *rec, const char *why)
{
	a->st.rejected++;
	mt_reject_rec(a->rj, rec, why);
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

/* ---- writing a group ---- */

static void set_member(struct group *g, const char *meter, double value,
    double coverage, enum mt_quality quality, int replace)
{
	struct member *m = NULL;

	for (size_t i = 0; i < g->n && m == NULL; i++)
		if (strcmp(g->m[i].meter, meter) == 0)
			m = &g->m[i];
	if (m != NULL && !replace)
		return;
	if (m == NULL) {
		if (g->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 4;
			g->m = mt_xrealloc(g->m, g->cap * sizeof *g->m);
		}
		m = &g->m[g->n++];
		m->meter = mt_xstrdup(meter);
	}
	m->value = value;
	m->coverage = coverage;
	m->quality = quality;
}

struct completion {
	struct mt_agg *a;
	struct group *g;
};

static const char *property_of(struct mt_agg *a, const char *participant,
    const char *meter, const char *stated)
{
	char key[512];
	const char *k[] = { participant, meter };
	size_t n = a->o.ncfgs ? make_key(key, sizeof key, k, 2) : 0;
	const struct mt_meter_cfg *m = n ? mt_map_get(a->meters, key, n) : NULL;

	return m != NULL ? m->property : config_of(a, participant) ? NULL : stated;
}

static void complete_one(void *ctx, const struct mt_meter_hour *h)
{
	struct completion *c = ctx;
	const char *prop = property_of(c->a, h->participant, h->meter, h->property);
	size_t before = c->g->n;

	if (prop == NULL || strcmp(prop, c->g->property) != 0)
		return;
	set_member(c->g, h->meter, h->value, h->coverage, h->quality, 0);
	c->a->st.completed += c->g->n > before;
}

static void write_group(struct mt_agg *a, const struct group *g)
{
	struct mt_property_hour h = {
		.participant = g->participant, .property = g->property, .q = g->q,
		.unit = g->q->unit, .hour = g->hour, .meters = (long)g->n,
		.meters_expected = g->expected, .quality = MT_MEASURED,
	};
	double sum = 0, weighted = 0, cov = 0;

	for (size_t i = 0; i < g->n; i++) {
		sum += g->m[i].value;
		weighted += g->m[i].value * g->m[i].coverage;
		cov += g->m[i].coverage;
		if (g->m[i].quality > h.quality)
			h.quality = g->m[i].quality;
	}
	h.value = !g->mean ? sum : cov > 0 ? weighted / cov : sum / (double)g->n;
	h.value = mt_round_value(h.value);
	h.coverage = g->expected > 0 ? cov / (double)g->expected : cov / (double)g->n;
	h.coverage = mt_round_coverage(h.coverage > 1 ? 1 : h.coverage);
	if (g->expected > 0 && (long)g->n < g->expected)
		h.quality = MT_PARTIAL;
	mt_property_hour_write(a->out, &h);
	a->st.out++;
}

static int emit(struct mt_agg *a, struct group *g, struct mt_err *err)
{
	struct completion c = { a, g };

	if (a->o.db != NULL && mt_db_meter_hours_at(a->o.db, g->participant, g->q,
	    g->hour, complete_one, &c, err) < 0)
		return -1;
	write_group(a, g);
	return 0;
}

static int by_hour_then_key(const void *x, const void *y)
{
	const struct group *a = *(struct group *const *)x, *b = *(struct group *const *)y;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	c = memcmp(a->key, b->key, n);
	return c ? c : a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* Write and forget every open group before hour `before`, oldest first. */
static int close_before(struct mt_agg *a, mt_time_t before, struct mt_err *err)
{
	size_t keep = 0, nclose = 0;
	struct group **closing = mt_xmalloc((a->nopen + 1) * sizeof *closing);
	int rc = 0;

	for (size_t i = 0; i < a->nopen; i++) {
		struct group *g = a->open[i];
		if (g->hour < before)
			closing[nclose++] = g;
		else
			a->open[keep++] = g;
	}
	a->nopen = keep;
	qsort(closing, nclose, sizeof *closing, by_hour_then_key);
	for (size_t i = 0; i < nclose; i++) {
		if (rc == 0 && emit(a, closing[i], err) < 0)
			rc = -1;
		mt_map_del(a->groups, closing[i]->key, closing[i]->klen);
		group_free(closing[i]);
	}
	free(closing);
	if (before > a->closed_before)
		a->closed_before = before;
	return rc;
}

/* ---- taking meter hours in ---- */

static struct group *group_for(struct mt_agg *a, const struct mt_meter_hour *h,
    const char *property)
{
	char key[600], ts[32];
	const char *k[] = { h->participant, property, h->q->name, ts };
	const char *ek[] = { h->participant, property, h->q->name };
	size_t n, en;
	struct group *g;
	intptr_t expected;

	mt_time_format(ts, h->hour);
	n = make_key(key, sizeof key, k, 4);
	if ((g = mt_map_get(a->groups, key, n)) != NULL)
		return g;
	g = mt_xcalloc(1, sizeof *g);
	g->key = mt_xstrndup(key, n);
	g->klen = n;
	g->participant = mt_xstrdup(h->participant);
	g->property = mt_xstrdup(property);
	g->q = h->q;
	g->hour = h->hour;
	g->mean = is_mean(config_of(a, h->participant), h->q);
	en = make_key(key, sizeof key, ek, 3);
	expected = (intptr_t)mt_map_get(a->expected, key, en);
	g->expected = config_of(a, h->participant) ? (long)(expected ? expected - 1 : 0) : -1;
	mt_map_put(a->groups, g->key, n, g);
	if (a->nopen == a->capopen) {
		a->capopen = a->capopen ? 2 * a->capopen : 256;
		a->open = mt_xrealloc(a->open, a->capopen * sizeof *a->open);
	}
	a->open[a->nopen++] = g;
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
	char why[400];
	const char *prop;

	a->st.in++;
	if (mt_hour_kind(rec) != 'h') {
		mt_agg_reject(a, rec, "not a meter hour (no \"meter\")");
		return 0;
	}
	if (mt_meter_hour_parse(rec, &h, &verr) < 0 ||
	    mt_meter_hour_canonical(&h, &verr) < 0) {
		mt_agg_reject(a, rec, verr.msg);
		return 0;
	}
	if ((prop = resolve_property(a, &h, why, sizeof why)) == NULL) {
		mt_agg_reject(a, rec, why);
		return 0;
	}
	if (h.hour < a->closed_before && a->o.db == NULL) {
		a->st.late++;
		mt_agg_reject(a, rec, "late: its property hour was written already "
		    "(give --db to complete it from the warehouse)");
		return 0;
	}
	set_member(group_for(a, &h, prop), h.meter, h.value, h.coverage, h.quality, 1);
	a->st.merged++;
	if (h.hour > a->newest) {
		a->newest = h.hour;
		if (a->newest - a->o.window_ms > a->closed_before)
			return close_before(a, a->newest - a->o.window_ms, err);
	}
	return 0;
}

int mt_agg_finish(struct mt_agg *a, struct mt_err *err)
{
	return close_before(a, INT64_MAX, err);
}
