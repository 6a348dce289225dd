/* enrich.c - property hours in context: the engine of meter-enrich.
 *
 * Context is indexed once: each property's place (its configuration, zone
 * clock, holidays, weather and CO2 sources, its constant fields rendered
 * as JSON) is looked up on its first hour and cached; a zone's local clock
 * and a region's weather fields are rendered once per hour, since input
 * comes grouped by hour and the properties of one zone or region share
 * them.  Per record the work is lookups and copying rendered fields; the
 * record's own text is kept when it is already canonical.  Memory is the
 * places and clocks, not the input.  The fields are in meter-enrich(1). */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zone's local clock for the last hour asked, with its fields rendered:
 * input comes grouped by hour, so the properties of one zone share it. */
struct clock {
	struct mt_zone *zone;
	const char *name;          /* borrowed from a configuration */
	mt_time_t hour;
	int valid;
	struct mt_local lt;
	char fields[128];          /* "local":...,"local_date":...,"weekday":N */
	size_t nfields;
};

/* The same for a region's weather: outside_temp_c, then hdd and cdd. */
struct weather {
	const struct mt_series *s;
	mt_time_t hour;
	int valid, known;
	double t;
	char temp[64], degrees[96];
	size_t ntemp, ndegrees;
};

/* What a property's hours need, looked up once per property. */
struct place {
	const struct mt_config *cfg;
	const struct mt_property_cfg *p;
	struct clock *clock;
	const struct mt_series *holidays;
	struct weather *weather;   /* NULL: no weather for its region */
	struct mt_map *co2;        /* quantity -> struct co2 */
	const struct mt_quantity *co2_q;   /* the last one looked up */
	struct co2 *co2_k;
	char *fixed;               /* its constant fields, rendered once */
	size_t nfixed;
};

struct co2 {
	double factor;             /* -1 unknown */
	const struct mt_series *series;
};

struct mt_enrich {
	struct mt_enrich_opts o;
	struct mt_uncovered *uncovered;
	size_t nuncovered;
	struct mt_rejects *rj;
	struct mt_out *out;
	struct mt_map *places;     /* participant\0property -> place */
	struct mt_named *co2;      /* "participant/contract" -> series */
	size_t nco2;
	struct clock **clocks;
	size_t nclocks;
	struct weather *weathers;  /* one per weather series */
	struct co2 **co2s;         /* owned; the places' maps borrow them */
	size_t nco2s;
	struct mt_enrich_stats st;
};

/* ---- life ---- */

/* A contract's co2-series: a file of the participant's, confined to the
 * directory of its configuration. */
static int load_co2(struct mt_enrich *c, const struct mt_config *cfg,
    struct mt_err *err)
{
	for (size_t i = 0; i < cfg->ncontracts; i++) {
		const struct mt_contract *k = &cfg->contracts[i];
		char name[2 * MT_ID_MAX + 2];
		struct mt_series *s;

		if (k->co2_series == NULL)
			continue;
		if ((s = mt_series_load(cfg->dir, k->co2_series, err)) == NULL) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%.200s: %.300s", err->file, err->msg);
			mt_err_set(err, cfg->path, k->line, "co2-series %s", why);
			err->status = err->status == MT_EXIT_IO ? MT_EXIT_IO : MT_EXIT_USAGE;
			return -1;
		}
		snprintf(name, sizeof name, "%s/%s", cfg->id, k->id);
		c->co2 = mt_xrealloc(c->co2, (c->nco2 + 1) * sizeof *c->co2);
		c->co2[c->nco2].name = mt_xstrdup(name);
		c->co2[c->nco2++].s = s;
	}
	return 0;
}

struct mt_enrich *mt_enrich_new(const struct mt_enrich_opts *o,
    struct mt_rejects *rj, struct mt_out *out, struct mt_err *err)
{
	struct mt_enrich *c = mt_xcalloc(1, sizeof *c);

	c->o = *o;
	c->rj = rj;
	c->out = out;
	c->places = mt_map_new();
	c->weathers = mt_xcalloc(o->nweather + 1, sizeof *c->weathers);
	for (size_t i = 0; i < o->ncfgs; i++)
		if (load_co2(c, o->cfgs[i], err) < 0) {
			mt_enrich_free(c);
			return NULL;
		}
	return c;
}

static void free_place(void *ctx, const char *key, size_t klen, void *val)
{
	struct place *pl = val;

	(void)ctx, (void)key, (void)klen;
	free(pl->fixed);
	mt_map_free(pl->co2);
	free(pl);
}

void mt_enrich_free(struct mt_enrich *c)
{
	if (c == NULL)
		return;
	mt_map_each(c->places, free_place, NULL);
	mt_map_free(c->places);
	free(c->uncovered);
	for (size_t i = 0; i < c->nco2s; i++)
		free(c->co2s[i]);
	free(c->co2s);
	for (size_t i = 0; i < c->nco2; i++)
		free(c->co2[i].name), mt_series_free(c->co2[i].s);
	free(c->co2);
	for (size_t i = 0; i < c->nclocks; i++) {
		mt_zone_free(c->clocks[i]->zone);
		free(c->clocks[i]);
	}
	free(c->clocks);
	free(c->weathers);
	free(c);
}

/* ---- per record ---- */

static const struct mt_series *named(const struct mt_named *list, size_t n,
    const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return list[i].s;
	return NULL;
}

/* Zone names come from validated configurations, so opening one does not
 * fail (UTC stands in should the tz database change under us). */
static struct clock *clock_of(struct mt_enrich *c, const char *name)
{
	struct mt_err err;
	struct clock *k;

	for (size_t i = 0; i < c->nclocks; i++)
		if (strcmp(c->clocks[i]->name, name) == 0)
			return c->clocks[i];
	k = mt_xcalloc(1, sizeof *k);
	k->name = name;
	if ((k->zone = mt_zone_open(name, &err)) == NULL)
		k->zone = mt_zone_open("UTC", &err);
	c->clocks = mt_xrealloc(c->clocks, (c->nclocks + 1) * sizeof *c->clocks);
	c->clocks[c->nclocks++] = k;
	return k;
}

static const struct mt_local *clock_at(struct clock *k, mt_time_t hour)
{
	if (k->valid && k->hour == hour)
		return &k->lt;
	mt_local_time(k->zone, hour, &k->lt);
	k->nfields = (size_t)snprintf(k->fields, sizeof k->fields,
	    "\"local\":\"%s\",\"local_date\":\"%.10s\",\"weekday\":%d",
	    k->lt.text, k->lt.text, k->lt.weekday);
	k->hour = hour;
	k->valid = 1;
	return &k->lt;
}

static struct weather *weather_of(struct mt_enrich *c, const char *region)
{
	for (size_t i = 0; region && i < c->o.nweather; i++)
		if (strcmp(c->o.weather[i].name, region) == 0) {
			c->weathers[i].s = c->o.weather[i].s;
			return &c->weathers[i];
		}
	return NULL;
}

static int in_office(const struct mt_property_cfg *p, int weekday, int minute,
    int64_t day)
{
	for (size_t i = 0; i < p->nclosures; i++)
		if (day >= p->closures[i].from_day && day <= p->closures[i].to_day)
			return 0;
	for (size_t i = 0; i < p->nhours; i++)
		if ((p->hours[i].days >> (weekday - 1) & 1) &&
		    minute >= p->hours[i].from && minute < p->hours[i].to)
			return 1;
	return 0;
}

static void co2_keep(struct mt_enrich *c, struct co2 *k)
{
	c->co2s = mt_xrealloc(c->co2s, (c->nco2s + 1) * sizeof *c->co2s);
	c->co2s[c->nco2s++] = k;
}

/* The CO2 source of the property's meters of a quantity: the contract of
 * the first of them that has one. */
static struct co2 co2_source(struct mt_enrich *c, const struct mt_config *cfg,
    const char *property, const struct mt_quantity *q)
{
	struct co2 r = { -1, NULL };

	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		char key[2 * MT_ID_MAX + 2];

		if (m->contract == NULL || m->q != q || m->property == NULL ||
		    strcmp(m->property, property) != 0)
			continue;
		snprintf(key, sizeof key, "%s/%s", cfg->id, m->contract);
		if ((r.series = named(c->co2, c->nco2, key)) != NULL)
			return r;
		for (size_t k = 0; k < cfg->ncontracts; k++)
			if (strcmp(cfg->contracts[k].id, m->contract) == 0)
				r.factor = cfg->contracts[k].co2_kg_per_kwh;
		return r;
	}
	return r;
}

/* kg CO2 per kWh for the hour, -1 when unknown. */
static double co2_factor(struct mt_enrich *c, struct place *pl,
    const struct mt_property_hour *h)
{
	struct co2 *k = pl->co2_q == h->q ? pl->co2_k :
	    mt_map_get(pl->co2, h->q->name, strlen(h->q->name));
	double v;

	if (k == NULL) {
		k = mt_xmalloc(sizeof *k);
		*k = co2_source(c, pl->cfg, pl->p->id, h->q);
		mt_map_put(pl->co2, h->q->name, strlen(h->q->name), k);
		co2_keep(c, k);
	}
	pl->co2_q = h->q;
	pl->co2_k = k;
	if (k->series != NULL)
		return mt_series_get(k->series, h->hour, &v) == 0 ? v : -1;
	return k->factor;
}

/* An hour of a year its region's calendar does not list, counted per
 * region and year for the warning at the end. */
static void count_uncovered(struct mt_enrich *c, const char *region, int64_t day,
    int weather)
{
	int year;
	unsigned m, d;
	size_t i;

	mt_civil_from_days(day, &year, &m, &d);
	if (weather)
		c->st.no_weather_hours++;
	else
		c->st.uncovered_hours++;
	for (i = 0; i < c->nuncovered; i++)
		if (c->uncovered[i].year == year && c->uncovered[i].weather == weather &&
		    strcmp(c->uncovered[i].region, region) == 0)
			break;
	if (i == c->nuncovered) {
		c->uncovered = mt_xrealloc(c->uncovered, (i + 1) * sizeof *c->uncovered);
		c->uncovered[c->nuncovered++] = (struct mt_uncovered){ region, year, 0, weather };
	}
	c->uncovered[i].hours++;
}

static void add_calendar(struct mt_enrich *c, struct mt_out *o,
    struct place *pl, const struct mt_property_hour *h)
{
	const struct mt_series *hol = pl->holidays;
	const char *holiday;
	const struct mt_local *lt = clock_at(pl->clock, h->hour);

	if (hol != NULL && !mt_holiday_known(hol, lt->day)) {
		hol = NULL;   /* a year the calendar does not list: unknown */
		count_uncovered(c, pl->p->region, lt->day, 0);
	}
	holiday = hol ? mt_holiday_get(hol, lt->day) : NULL;
	mt_out_raw(o, pl->clock->fields, pl->clock->nfields);
	if (hol != NULL) {
		mt_out_bool(o, "holiday", holiday != NULL);
		if (holiday != NULL)
			mt_out_str(o, "holiday_name", holiday);
	}
	if (pl->p->nhours > 0)
		mt_out_bool(o, "office_hours", holiday == NULL &&
		    in_office(pl->p, lt->weekday, lt->minute, lt->day));
}

/* Nine decimals: far below any meter's resolution, no binary noise. */
static double metric(double v)
{
	return mt_round_value(v);
}

static void put_metric(struct mt_out *o, const char *key, double v)
{
	mt_out_num(o, key, metric(v));
}

static size_t render_metric(char *buf, const char *key, double v, int first)
{
	size_t n = (size_t)sprintf(buf, "%s\"%s\":", first ? "" : ",", key);

	return n + (size_t)mt_format_double(buf + n, 32, metric(v));
}

/* The hour's weather fields, rendered once per region and hour. */
static const struct weather *weather_at(struct mt_enrich *c, struct weather *w,
    mt_time_t hour)
{
	double t;

	if (w->valid && w->hour == hour)
		return w;
	w->hour = hour;
	w->valid = 1;
	w->known = mt_series_get(w->s, hour, &w->t) == 0;
	if (!w->known)
		return w;   /* no weather for the hour: nothing invented */
	t = w->t;
	w->ntemp = render_metric(w->temp, "outside_temp_c", t, 1);
	w->ndegrees = render_metric(w->degrees, "hdd", t < c->o.hdd_base ? c->o.hdd_base - t : 0, 1);
	w->ndegrees += render_metric(w->degrees + w->ndegrees, "cdd",
	    t > c->o.cdd_base ? t - c->o.cdd_base : 0, 0);
	return w;
}

static void add_metrics(struct mt_enrich *c, struct mt_out *o, struct place *pl,
    const struct mt_property_hour *h)
{
	int energy = strcmp(h->q->dimension, "energy") == 0;
	const struct weather *w;
	double f;

	if (pl->p->area_m2 > 0 && energy)
		put_metric(o, "kwh_per_m2", h->value / pl->p->area_m2);
	if (energy && (f = co2_factor(c, pl, h)) >= 0)
		put_metric(o, "co2_kg", h->value * f);
	if (pl->weather == NULL)
		return;
	if (!(w = weather_at(c, pl->weather, h->hour))->known) {
		mt_time_t first, last;
		/* a gap inside the series is the weather station's; an hour
		 * outside it, a file of other years */
		if (mt_series_span(w->s, &first, &last) && (h->hour < first || h->hour > last))
			count_uncovered(c, pl->p->region, h->hour / 86400000, 1);
		return;
	}
	mt_out_raw(o, w->temp, w->ntemp);
	if (strcmp(h->q->name, "temperature") == 0)
		put_metric(o, "temp_delta_c", h->value - w->t);
	mt_out_raw(o, w->degrees, w->ndegrees);
}

/* type, region and area_m2 as JSON fields, once per property */
static void render_fixed(struct place *pl)
{
	FILE *fp = open_memstream(&pl->fixed, &pl->nfixed);
	struct mt_out *o = mt_out_new(fp);

	mt_out_begin(o);
	if (pl->p->type)
		mt_out_str(o, "type", pl->p->type);
	if (pl->p->region)
		mt_out_str(o, "region", pl->p->region);
	if (pl->p->area_m2 > 0)
		mt_out_num(o, "area_m2", pl->p->area_m2);
	mt_out_flush(o);
	mt_out_free(o);
	fclose(fp);
	/* keep the fields only: without the opening brace */
	memmove(pl->fixed, pl->fixed + 1, pl->nfixed);
	pl->nfixed--;
}

/* The property's place, found and cached on its first hour; NULL for a
 * property no configuration has. */
static struct place *place_of(struct mt_enrich *c, const char *participant,
    const char *property)
{
	char key[2 * MT_ID_MAX + 2];
	size_t a = strlen(participant), b = strlen(property), n = a + 1 + b;
	struct place *pl;

	if (n > sizeof key)
		return NULL;   /* ids follow the id rule: this never happens */
	memcpy(key, participant, a + 1);
	memcpy(key + a + 1, property, b);
	pl = mt_map_get(c->places, key, n);
	const struct mt_config *cfg = NULL;
	const struct mt_property_cfg *p = NULL;

	if (pl != NULL)
		return pl;
	for (size_t i = 0; i < c->o.ncfgs && cfg == NULL; i++)
		if (strcmp(c->o.cfgs[i]->id, participant) == 0)
			cfg = c->o.cfgs[i];
	if (cfg == NULL || (p = mt_config_property(cfg, property)) == NULL)
		return NULL;
	pl = mt_xcalloc(1, sizeof *pl);
	pl->cfg = cfg;
	pl->p = p;
	pl->clock = clock_of(c, p->timezone ? p->timezone : cfg->timezone ? cfg->timezone : "UTC");
	pl->holidays = named(c->o.holidays, c->o.nholidays, p->region);
	pl->weather = weather_of(c, p->region);
	pl->co2 = mt_map_new();
	render_fixed(pl);
	mt_map_put(c->places, key, n, pl);
	return pl;
}

/* The record as it came, when it is already in canonical units and not
 * enriched before: re-writing its fields would only cost time.  Otherwise
 * its property-hour fields rewritten. */
static void open_record(struct mt_out *o, const struct mt_rec *rec,
    const struct mt_property_hour *h)
{
	const struct mt_field *unit = mt_rec_get(rec, "unit");

	if (!rec->truncated && unit != NULL && strcmp(unit->str, h->unit) == 0 &&
	    mt_rec_get(rec, "local") == NULL && mt_rec_get(rec, "type") == NULL)
		mt_out_begin_with(o, rec->text, rec->textlen);
	else
		mt_property_hour_fields(o, h);
}

void mt_enrich_add(struct mt_enrich *c, const struct mt_rec *rec)
{
	struct mt_property_hour h;
	struct mt_err err;
	struct place *pl;
	char why[300];
	const char *misplaced;

	c->st.in++;
	if ((misplaced = mt_rec_misplaced(rec, "p")) != NULL ||
	    mt_property_hour_parse(rec, &h, &err) < 0) {
		c->st.rejected++;
		mt_reject_rec(c->rj, rec, misplaced ? misplaced : err.msg);
		return;
	}
	if ((pl = place_of(c, h.participant, h.property)) == NULL) {
		snprintf(why, sizeof why, "property %s/%s is not in the configuration",
		    h.participant, h.property);
		c->st.rejected++;
		mt_reject_rec(c->rj, rec, why);
		return;
	}
	open_record(c->out, rec, &h);
	mt_out_raw(c->out, pl->fixed, pl->nfixed);
	add_calendar(c, c->out, pl, &h);
	add_metrics(c, c->out, pl, &h);
	mt_out_end(c->out);
	c->st.out++;
}

void mt_enrich_reject(struct mt_enrich *c, const struct mt_rec *rec,
    const char *why)
{
	c->st.in++;
	c->st.rejected++;
	mt_reject_rec(c->rj, rec, why);
}

int mt_enrich_finish(struct mt_enrich *c)
{
	return mt_out_flush(c->out);
}

const struct mt_enrich_stats *mt_enrich_stats(struct mt_enrich *c)
{
	c->st.uncovered = c->uncovered;
	c->st.nuncovered = c->nuncovered;
	return &c->st;
}
