/* meter-enrich - put property hours into context: the property, local
 * time, holidays, office hours, outside temperature, CO2 and derived
 * metrics.  Context files are read once and indexed; per record the work
 * is lookups. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 256

struct named {            /* REGION=FILE or CONTRACT=FILE */
	char *name;
	struct mt_series *s;
};

struct opts {
	const char *rejects, *participant;
	const char *configs[LIST_MAX], *holidays[LIST_MAX], *weather[LIST_MAX];
	size_t nconfigs, nholidays, nweather;
	double hdd_base, cdd_base;
	int quiet, stats, check;
};

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

struct ctx {
	struct mt_map *places;     /* participant\0property -> place */
	struct mt_config *cfgs[LIST_MAX];
	size_t ncfgs;
	struct named holidays[LIST_MAX], weather[LIST_MAX], co2[LIST_MAX];
	size_t nholidays, nweather, nco2;
	struct clock **clocks;
	size_t nclocks;
	struct weather *weathers;  /* one per --weather */
	struct co2 **co2s;         /* owned; the places' maps borrow them */
	size_t nco2s;
	double hdd_base, cdd_base;
	long in, out, rejected;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-enrich [-q] -c participant.xml ... [-p participant] [--check]\n"
	    "                    [--holidays region=file]...\n"
	    "                    [--weather region=file]... [--hdd-base c] [--cdd-base c]\n"
	    "                    [-r rejects] [--stats] [file ...]\n");
}

static int add_list(const char **list, size_t *n, const char *v, const char *opt)
{
	if (*n == LIST_MAX) {
		mt_warnx("too many %s", opt);
		return -1;
	}
	if (strcmp(opt, "-c") != 0 && (strchr(v, '=') == NULL || *v == '=')) {
		mt_warnx("bad value for %s: \"%s\" (want REGION=FILE)", opt, v);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_HOL = 256, O_WEA, O_HDD, O_CDD, O_STATS, O_VERS, O_CHECK };
	static const struct option longopts[] = {
		{ "cdd-base", required_argument, NULL, O_CDD },
		{ "check", no_argument, NULL, O_CHECK },
		{ "config", required_argument, NULL, 'c' },
		{ "hdd-base", required_argument, NULL, O_HDD },
		{ "help", no_argument, NULL, 'h' },
		{ "holidays", required_argument, NULL, O_HOL },
		{ "participant", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "stats", no_argument, NULL, O_STATS },
		{ "version", no_argument, NULL, O_VERS },
		{ "weather", required_argument, NULL, O_WEA },
		{ NULL, 0, NULL, 0 }
	};
	int c, rc = 0;

	o->hdd_base = 15.5;
	o->cdd_base = 22;
	while (rc == 0 && (c = getopt_long(argc, argv, "c:hp:qr:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': rc = add_list(o->configs, &o->nconfigs, optarg, "-c"); break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'p': o->participant = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'r': o->rejects = optarg; break;
		case O_HOL: rc = add_list(o->holidays, &o->nholidays, optarg, "--holidays"); break;
		case O_WEA: rc = add_list(o->weather, &o->nweather, optarg, "--weather"); break;
		case O_HDD: case O_CDD:
			if (mt_parse_double(optarg, c == O_HDD ? &o->hdd_base : &o->cdd_base) < 0) {
				mt_warnx("bad value for --%s-base: \"%s\"", c == O_HDD ? "hdd" : "cdd",
				    optarg);
				rc = -1;
			}
			break;
		case O_STATS: o->stats = 1; break;
		case O_CHECK: o->check = 1; break;
		case O_VERS:
			printf("meter-enrich %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: rc = -1;
		}
	}
	if (rc == 0 && o->nconfigs == 0) {
		mt_warnx("no configuration given (-c)");
		rc = -1;
	}
	return rc < 0 ? -1 : optind;
}

/* ---- loading the context ---- */

static struct mt_series *operator_series(const char *path, struct mt_err *err)
{
	return mt_series_load(NULL, path, err);
}

static int load_named(struct named *dst, size_t *n, const char *spec,
    struct mt_series *(*load)(const char *, struct mt_err *))
{
	const char *eq = strchr(spec, '=');
	struct mt_err err;
	struct mt_series *s = load(eq + 1, &err);

	if (s == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	dst[*n].name = mt_xstrndup(spec, (size_t)(eq - spec));
	dst[(*n)++].s = s;
	return MT_EXIT_OK;
}

/* A contract's co2-series: a file of the participant's, confined to the
 * directory of its configuration. */
static int load_co2(struct ctx *c, const struct mt_config *cfg)
{
	for (size_t i = 0; i < cfg->ncontracts && c->nco2 < LIST_MAX; i++) {
		const struct mt_contract *k = &cfg->contracts[i];
		struct mt_err err;
		struct mt_series *s;
		char name[200];

		if (k->co2_series == NULL)
			continue;
		if ((s = mt_series_load(cfg->dir, k->co2_series, &err)) == NULL) {
			mt_diag(cfg->path, k->line, "co2-series %s: %s", err.file, err.msg);
			return err.status == MT_EXIT_IO ? MT_EXIT_IO : MT_EXIT_USAGE;
		}
		snprintf(name, sizeof name, "%s/%s", cfg->id, k->id);
		c->co2[c->nco2].name = mt_xstrdup(name);
		c->co2[c->nco2++].s = s;
	}
	return MT_EXIT_OK;
}

static int load_context(struct ctx *c, const struct opts *o)
{
	struct mt_err err;
	int st = MT_EXIT_OK;

	c->hdd_base = o->hdd_base;
	c->cdd_base = o->cdd_base;
	c->places = mt_map_new();
	for (size_t i = 0; st == MT_EXIT_OK && i < o->nconfigs; i++) {
		if ((c->cfgs[i] = mt_config_load_for(o->configs[i], o->participant,
		    &err)) == NULL) {
			mt_diag_err(&err);
			return err.status;
		}
		c->ncfgs++;
		st = load_co2(c, c->cfgs[i]);
	}
	for (size_t i = 0; st == MT_EXIT_OK && i < o->nholidays; i++)
		st = load_named(c->holidays, &c->nholidays, o->holidays[i], mt_holidays_load);
	for (size_t i = 0; st == MT_EXIT_OK && i < o->nweather; i++)
		st = load_named(c->weather, &c->nweather, o->weather[i], operator_series);
	c->weathers = mt_xcalloc(c->nweather, sizeof *c->weathers);
	return st;
}

static void free_place(struct place *pl)
{
	free(pl->fixed);
	mt_map_free(pl->co2);
	free(pl);
}

static void free_context(struct ctx *c)
{
	if (c->places != NULL) {
		/* the map does not own its values: free them through their keys */
		for (size_t i = 0; i < c->ncfgs; i++)
			for (size_t k = 0; k < c->cfgs[i]->nproperties; k++) {
				char key[200];
				int n = snprintf(key, sizeof key, "%s%c%s", c->cfgs[i]->id, 0,
				    c->cfgs[i]->properties[k].id);
				struct place *pl = mt_map_del(c->places, key, (size_t)n);
				if (pl != NULL)
					free_place(pl);
			}
		mt_map_free(c->places);
	}
	for (size_t i = 0; i < c->nco2s; i++)
		free(c->co2s[i]);
	free(c->co2s);
	for (size_t i = 0; i < c->ncfgs; i++)
		mt_config_free(c->cfgs[i]);
	for (size_t i = 0; i < c->nholidays; i++)
		free(c->holidays[i].name), mt_series_free(c->holidays[i].s);
	for (size_t i = 0; i < c->nweather; i++)
		free(c->weather[i].name), mt_series_free(c->weather[i].s);
	for (size_t i = 0; i < c->nco2; i++)
		free(c->co2[i].name), mt_series_free(c->co2[i].s);
	for (size_t i = 0; i < c->nclocks; i++) {
		mt_zone_free(c->clocks[i]->zone);
		free(c->clocks[i]);
	}
	free(c->clocks);
	free(c->weathers);
}

/* ---- per record ---- */

static const struct mt_series *named(const struct named *list, size_t n,
    const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return list[i].s;
	return NULL;
}

/* Zone names come from validated configurations, so opening one does not
 * fail (UTC stands in should the tz database change under us). */
static struct clock *clock_of(struct ctx *c, const char *name)
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

static struct weather *weather_of(struct ctx *c, const char *region)
{
	for (size_t i = 0; region && i < c->nweather; i++)
		if (strcmp(c->weather[i].name, region) == 0) {
			c->weathers[i].s = c->weather[i].s;
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

static void co2_keep(struct ctx *c, struct co2 *k)
{
	c->co2s = mt_xrealloc(c->co2s, (c->nco2s + 1) * sizeof *c->co2s);
	c->co2s[c->nco2s++] = k;
}

/* The CO2 source of the property's meters of a quantity: the contract of
 * the first of them that has one. */
static struct co2 co2_source(struct ctx *c, const struct mt_config *cfg,
    const char *property, const struct mt_quantity *q)
{
	struct co2 r = { -1, NULL };

	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		char key[300];

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
static double co2_factor(struct ctx *c, struct place *pl,
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

static void add_calendar(struct mt_out *o, struct place *pl,
    const struct mt_property_hour *h)
{
	const struct mt_series *hol = pl->holidays;
	const char *holiday;
	const struct mt_local *lt = clock_at(pl->clock, h->hour);

	if (hol != NULL && !mt_holiday_known(hol, lt->day))
		hol = NULL;   /* a year the calendar does not list: unknown */
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
	return fabs(v) < 1e9 ? round(v * 1e9) / 1e9 : v;
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
static const struct weather *weather_at(struct ctx *c, struct weather *w,
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
	w->ndegrees = render_metric(w->degrees, "hdd", t < c->hdd_base ? c->hdd_base - t : 0, 1);
	w->ndegrees += render_metric(w->degrees + w->ndegrees, "cdd",
	    t > c->cdd_base ? t - c->cdd_base : 0, 0);
	return w;
}

static void add_metrics(struct ctx *c, struct mt_out *o, struct place *pl,
    const struct mt_property_hour *h)
{
	int energy = strcmp(h->q->dimension, "energy") == 0;
	const struct weather *w;
	double f;

	if (pl->p->area_m2 > 0 && energy)
		put_metric(o, "kwh_per_m2", h->value / pl->p->area_m2);
	if (energy && (f = co2_factor(c, pl, h)) >= 0)
		put_metric(o, "co2_kg", h->value * f);
	if (pl->weather == NULL || !(w = weather_at(c, pl->weather, h->hour))->known)
		return;
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
static struct place *place_of(struct ctx *c, const char *participant,
    const char *property)
{
	char key[300];
	size_t a = strlen(participant), b = strlen(property), n = a + 1 + b;
	struct place *pl;

	if (n > sizeof key)
		return NULL;   /* ids are at most 128 bytes each */
	memcpy(key, participant, a + 1);
	memcpy(key + a + 1, property, b);
	pl = mt_map_get(c->places, key, n);
	const struct mt_config *cfg = NULL;
	const struct mt_property_cfg *p = NULL;

	if (pl != NULL)
		return pl;
	for (size_t i = 0; i < c->ncfgs && cfg == NULL; i++)
		if (strcmp(c->cfgs[i]->id, participant) == 0)
			cfg = c->cfgs[i];
	if (cfg == NULL || (p = mt_config_property(cfg, property)) == NULL)
		return NULL;
	pl = mt_xcalloc(1, sizeof *pl);
	pl->cfg = cfg;
	pl->p = p;
	pl->clock = clock_of(c, p->timezone ? p->timezone : cfg->timezone ? cfg->timezone : "UTC");
	pl->holidays = named(c->holidays, c->nholidays, p->region);
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

static void enrich(struct ctx *c, struct mt_out *o, const struct mt_rec *rec,
    struct mt_rejects *rj)
{
	struct mt_property_hour h;
	struct mt_err err;
	struct place *pl;
	char why[300];

	c->in++;
	if (mt_property_hour_parse(rec, &h, &err) < 0) {
		c->rejected++;
		mt_reject_rec(rj, rec, err.msg);
		return;
	}
	if ((pl = place_of(c, h.participant, h.property)) == NULL) {
		snprintf(why, sizeof why, "property %s/%s is not in the configuration",
		    h.participant, h.property);
		c->rejected++;
		mt_reject_rec(rj, rec, why);
		return;
	}
	open_record(o, rec, &h);
	mt_out_raw(o, pl->fixed, pl->nfixed);
	add_calendar(o, pl, &h);
	add_metrics(c, o, pl, &h);
	mt_out_end(o);
	c->out++;
}

struct feed {
	struct ctx *c;
	struct mt_out *o;
	struct mt_rejects *rj;
};

static int on_record(void *ctx, const struct mt_rec *rec)
{
	struct feed *f = ctx;

	enrich(f->c, f->o, rec, f->rj);
	return 0;
}

static void on_bad_line(void *ctx, const struct mt_rec *rec, const char *why)
{
	struct feed *f = ctx;

	f->c->in++;
	f->c->rejected++;
	mt_reject_rec(f->rj, rec, why);
}

static int run(struct ctx *c, struct mt_out *o, const char *participant,
    int n, char **files, struct mt_rejects *rj)
{
	struct feed f = { c, o, rj };

	if (mt_cli_each_record(n, files, participant, on_record, on_bad_line, &f) < 0)
		return MT_EXIT_IO;
	if (mt_out_flush(o) < 0) {
		mt_stdout_error();
		return MT_EXIT_IO;
	}
	return MT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx c = { 0 };
	struct mt_rejects rj;
	struct mt_err err;
	struct mt_out *out;
	int first, status;

	mt_cli_init(argv[0]);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	argc -= first;
	argv += first;
	if (o.check)
		return mt_finish_stdout(mt_cli_check(o.nconfigs, o.configs, o.participant));
	if ((status = load_context(&c, &o)) != MT_EXIT_OK) {
		free_context(&c);
		return status;
	}
	if (mt_rejects_open(&rj, o.rejects, &err) < 0) {
		mt_diag_err(&err);
		free_context(&c);
		return MT_EXIT_IO;
	}
	rj.quiet = o.quiet;
	out = mt_out_new(stdout);
	status = run(&c, out, o.participant, argc, argv, &rj);
	if (o.stats)
		mt_warnx("in %ld out %ld merged 0 rejected %ld", c.in, c.out, c.rejected);
	status = mt_cli_finish(&rj, o.rejects, status);
	mt_out_free(out);
	free_context(&c);
	return mt_finish_stdout(status);
}
