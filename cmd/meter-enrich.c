/* meter-enrich - put property hours into context: the property, local
 * time, holidays, office hours, outside temperature, CO2 and derived
 * metrics.  The engine is lib/enrich.c; here the options, the context
 * files and the loop. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 256

struct opts {
	const char *rejects, *participant;
	const char *configs[LIST_MAX], *holidays[LIST_MAX], *weather[LIST_MAX];
	size_t nconfigs, nholidays, nweather;
	double hdd_base, cdd_base;
	int quiet, stats, check, shared_context;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-enrich [-q] -c participant.xml ... [-p participant] [--check]\n"
	    "                    [--holidays region=file]...\n"
	    "                    [--weather region=file]... [--hdd-base c] [--cdd-base c]\n"
	    "                    [--shared-context] [-r rejects] [--stats] [file ...]\n");
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
	enum { O_HOL = 256, O_WEA, O_HDD, O_CDD, O_STATS, O_VERS, O_CHECK, O_SHARED };
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
		{ "shared-context", no_argument, NULL, O_SHARED },
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
		case O_SHARED: o->shared_context = 1; break;
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

/* ---- the context ---- */

struct context {
	struct mt_config *cfgs[LIST_MAX];
	struct mt_named holidays[LIST_MAX], weather[LIST_MAX];
	struct mt_enrich_opts eo;
};

static int load_named(struct mt_named *dst, size_t *n, const char *spec,
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

/* A region no property has is a typo (UK for GB): its context would
 * apply to nothing, silently.  A context shared by many participants'
 * runs (meter-hourly) names regions of others, and is checked there. */
static int region_used(const struct context *c, const char *region)
{
	for (size_t i = 0; i < c->eo.ncfgs; i++)
		for (size_t k = 0; k < c->cfgs[i]->nproperties; k++)
			if (c->cfgs[i]->properties[k].region != NULL &&
			    strcmp(c->cfgs[i]->properties[k].region, region) == 0)
				return 1;
	return 0;
}

static void regions_text(const struct context *c, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < c->eo.ncfgs; i++)
		for (size_t k = 0; k < c->cfgs[i]->nproperties; k++) {
			const char *r = c->cfgs[i]->properties[k].region;
			char quoted[80];
			snprintf(quoted, sizeof quoted, "\"%.60s\"", r ? r : "");
			if (r != NULL && strstr(buf, quoted) == NULL)
				snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
				    buf[0] ? ", " : "", quoted);
		}
}

static int check_regions(const struct context *c, const char *opt,
    const struct mt_named *list, size_t n)
{
	char have[400];

	for (size_t i = 0; i < n; i++) {
		if (region_used(c, list[i].name))
			continue;
		regions_text(c, have, sizeof have);
		mt_warnx("%s %s=...: no property has region \"%s\" (the properties' "
		    "regions: %s); the region is the property's region attribute "
		    "(meter-config(5))", opt, list[i].name, list[i].name,
		    have[0] ? have : "none");
		return MT_EXIT_USAGE;
	}
	return MT_EXIT_OK;
}

static int load_context(struct context *c, const struct opts *o)
{
	struct mt_enrich_opts *eo = &c->eo;
	struct mt_err err;
	int st = MT_EXIT_OK;

	*eo = (struct mt_enrich_opts){ c->cfgs, 0, c->holidays, 0, c->weather, 0,
		o->hdd_base, o->cdd_base };
	for (size_t i = 0; i < o->nconfigs; i++) {
		if ((c->cfgs[i] = mt_config_load_for(o->configs[i], o->participant,
		    &err)) == NULL) {
			mt_diag_err(&err);
			return err.status;
		}
		eo->ncfgs++;
	}
	for (size_t i = 0; st == MT_EXIT_OK && i < o->nholidays; i++)
		st = load_named(c->holidays, &eo->nholidays, o->holidays[i], mt_holidays_load);
	for (size_t i = 0; st == MT_EXIT_OK && i < o->nweather; i++)
		st = load_named(c->weather, &eo->nweather, o->weather[i], mt_weather_load);
	if (st == MT_EXIT_OK && !o->shared_context)
		st = check_regions(c, "--holidays", c->holidays, eo->nholidays);
	if (st == MT_EXIT_OK && !o->shared_context)
		st = check_regions(c, "--weather", c->weather, eo->nweather);
	return st;
}

static void free_context(struct context *c)
{
	for (size_t i = 0; i < c->eo.ncfgs; i++)
		mt_config_free(c->cfgs[i]);
	for (size_t i = 0; i < c->eo.nholidays; i++)
		free(c->holidays[i].name), mt_series_free(c->holidays[i].s);
	for (size_t i = 0; i < c->eo.nweather; i++)
		free(c->weather[i].name), mt_series_free(c->weather[i].s);
}

/* ---- the loop ---- */

static int on_record(void *ctx, const struct mt_rec *rec)
{
	mt_enrich_add(ctx, rec);
	return 0;
}

static void on_bad_line(void *ctx, const struct mt_rec *rec, const char *why)
{
	mt_enrich_reject(ctx, rec, why);
}

static int run(struct mt_enrich *e, const char *participant, int n, char **files)
{
	if (mt_cli_each_record(n, files, participant, on_record, on_bad_line, e) < 0)
		return MT_EXIT_IO;
	if (mt_enrich_finish(e) < 0) {
		mt_stdout_error();
		return MT_EXIT_IO;
	}
	return MT_EXIT_OK;
}

/* Hours before or after a region's weather series: said once per region
 * and year, as the holidays' are. */
static void warn_no_weather(const struct context *c, const struct mt_uncovered *u)
{
	char from[32] = "", to[32] = "";
	mt_time_t first, last;

	for (size_t k = 0; k < c->eo.nweather; k++)
		if (strcmp(c->weather[k].name, u->region) == 0 &&
		    mt_series_span(c->weather[k].s, &first, &last)) {
			mt_time_format(from, first);
			mt_time_format(to, last);
		}
	mt_warnx("warning: --weather %s runs from %s to %s: %ld hour%s of %d "
	    "%s outside it, without outside_temp_c, hdd or cdd; give a series "
	    "that covers %d", u->region, from, to, u->hours,
	    u->hours == 1 ? "" : "s", u->year, u->hours == 1 ? "is" : "are", u->year);
}

/* Data of a year the holiday calendar does not list is enriched without
 * holidays: said once per region and year, even with -q, since the
 * office hours of those years count holidays as working days. */
static void warn_uncovered(const struct context *c, const struct mt_enrich_stats *st)
{
	for (size_t i = 0; i < st->nuncovered; i++) {
		const struct mt_uncovered *u = &st->uncovered[i];
		int first = 0, last = 0;
		if (u->weather) {
			warn_no_weather(c, u);
			continue;
		}
		for (size_t k = 0; k < c->eo.nholidays; k++)
			if (strcmp(c->holidays[k].name, u->region) == 0)
				mt_holiday_years(c->holidays[k].s, &first, &last);
		mt_warnx("warning: --holidays %s lists the years %d to %d, not %d: "
		    "%ld hour%s of %d %s no holiday field, and office_hours counts "
		    "their holidays as working days; give a calendar that covers %d",
		    u->region, first, last, u->year, u->hours, u->hours == 1 ? "" : "s",
		    u->year, u->hours == 1 ? "has" : "have", u->year);
	}
}

static int enrich(const struct opts *o, struct context *c, int argc, char **argv)
{
	struct mt_out *out = mt_out_new(stdout);
	struct mt_rejects rj;
	struct mt_enrich *e;
	struct mt_err err;
	int status;

	if (mt_rejects_open(&rj, o->rejects, &err) < 0) {
		mt_diag_err(&err);
		mt_out_free(out);
		return MT_EXIT_IO;
	}
	rj.quiet = o->quiet;
	if ((e = mt_enrich_new(&c->eo, &rj, out, &err)) == NULL) {
		mt_diag_err(&err);
		status = err.status;
	} else {
		status = run(e, o->participant, argc, argv);
		warn_uncovered(c, mt_enrich_stats(e));
		if (o->stats)
			mt_warnx("in %ld out %ld merged 0 rejected %ld%s "
			    "holidays-unknown %ld weather-unknown %ld", mt_enrich_stats(e)->in,
			    mt_enrich_stats(e)->out, mt_enrich_stats(e)->rejected,
			    mt_rejects_by_reason(&rj), mt_enrich_stats(e)->uncovered_hours,
			    mt_enrich_stats(e)->no_weather_hours);
	}
	status = mt_cli_finish(&rj, o->rejects, status);
	mt_enrich_free(e);
	mt_out_free(out);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct context c;
	int first, status;

	mt_cli_init(argv);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	argc -= first;
	argv += first;
	if (o.check)
		return mt_finish_stdout(mt_cli_check(o.nconfigs, o.configs, o.participant));
	memset(&c, 0, sizeof c);
	if ((status = load_context(&c, &o)) == MT_EXIT_OK)
		status = enrich(&o, &c, argc, argv);
	free_context(&c);
	return mt_finish_stdout(status);
}
