/* meter-baseline - expected consumption per building from weather and time
 * of week (CalTRACK's daily and hourly models), fitted over a baseline
 * period; predictions, savings and fit statistics into the warehouse. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONFIGS 32
/* the hours of both periods are held on one grid: twenty years at most */
#define SPAN_DAYS 7305

struct opts {
	const char *participant, *property, *quantity;
	const char *configs[MAX_CONFIGS];
	size_t nconfigs;
	int64_t base_from, base_to, rep_from, rep_to;
	int has_baseline, has_reporting, daily, hourly, dry_run, expected, quiet;
	double max_p;
	const char *source;        /* the warehouse, or "-" */
};

/* The hours of one building and quantity, as read. */
struct hour {
	mt_time_t t;
	double use, temp;
	size_t seq;                /* input order: of two, the later is taken */
};

struct series {
	char participant[MT_ID_MAX + 1], property[MT_ID_MAX + 1], quantity[32];
	char zone[64];
	struct hour *h;
	size_t n, cap;
};

static const char *const energy[] = { "electricity", "gas", "heat", "cooling" };

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-baseline [-nq] [-p participant] [-P property] [-Q quantity]\n"
	    "                      --baseline yyyy-mm-dd..yyyy-mm-dd\n"
	    "                      [--reporting yyyy-mm-dd..yyyy-mm-dd]\n"
	    "                      [-m daily|hourly|both] [--max-p p] [--expected]\n"
	    "                      warehouse\n"
	    "       meter-baseline -c participant.xml ... [options] -\n");
}

static int bad(const char *opt, const char *val, const char *want)
{
	mt_warnx("bad value for %s: \"%s\" (%s)", opt, val, want);
	return -1;
}

static int parse_day(const char *s, size_t n, int64_t *day)
{
	struct mt_err ignored;
	enum mt_tsform form;
	mt_time_t t;

	if (n != 10 || mt_time_parse(s, n, &t, &form, &ignored) < 0)
		return -1;
	*day = t / 86400000;
	return 0;
}

/* FROM..TO, local dates, inclusive */
static int parse_period(const char *opt, const char *s, int64_t *from,
    int64_t *to)
{
	const char *dots = strstr(s, "..");

	if (dots == NULL || parse_day(s, (size_t)(dots - s), from) < 0 ||
	    parse_day(dots + 2, strlen(dots + 2), to) < 0)
		return bad(opt, s, "two dates, first and last day: "
		    "2024-01-01..2024-12-31");
	if (*from > *to) {
		mt_warnx("%s %s: the first day is after the last", opt, s);
		return -1;
	}
	return 0;
}

static int check_args(struct opts *o)
{
	size_t i;

	if (!o->has_baseline) {
		mt_warnx("no --baseline given: name the baseline period, such as "
		    "--baseline 2023-01-01..2023-12-31");
		return -1;
	}
	if (o->has_reporting && o->rep_from <= o->base_to) {
		mt_warnx("the reporting period must begin after the baseline ends");
		return -1;
	}
	if ((o->has_reporting ? o->rep_to : o->base_to) - o->base_from >= SPAN_DAYS) {
		mt_warnx("from the baseline's first day to the reporting period's last "
		    "is more than %d years: give shorter periods", SPAN_DAYS / 365);
		return -1;
	}
	for (i = 0; o->quantity != NULL && i < 4; i++)
		if (strcmp(o->quantity, energy[i]) == 0)
			break;
	if (i == 4)
		return bad("-Q", o->quantity, "electricity, gas, heat or cooling");
	if (o->participant != NULL && !mt_id_valid(o->participant))
		return bad("-p", o->participant, "a participant id");
	if (o->property != NULL && !mt_id_valid(o->property))
		return bad("-P", o->property, "a property id");
	if ((strcmp(o->source, "-") == 0) != (o->nconfigs > 0)) {
		mt_warnx(o->nconfigs > 0 ? "-c goes with property hours on standard "
		    "input (-): a warehouse knows its buildings' time zones" :
		    "property hours on standard input need -c participant.xml for "
		    "their buildings' time zones");
		return -1;
	}
	if (o->dry_run && strcmp(o->source, "-") == 0) {
		mt_warnx("-n is for a warehouse: standard input stores nothing anyway");
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_BASE = 256, O_REP, O_MAXP, O_EXPECTED, O_VERS };
	static const struct option longopts[] = {
		{ "baseline", required_argument, NULL, O_BASE },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "expected", no_argument, NULL, O_EXPECTED },
		{ "help", no_argument, NULL, 'h' },
		{ "max-p", required_argument, NULL, O_MAXP },
		{ "model", required_argument, NULL, 'm' },
		{ "participant", required_argument, NULL, 'p' },
		{ "property", required_argument, NULL, 'P' },
		{ "quantity", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reporting", required_argument, NULL, O_REP },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->daily = o->hourly = 1;
	o->max_p = 0.1;
	while ((c = getopt_long(argc, argv, "c:hm:nP:p:Q:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o->nconfigs == MAX_CONFIGS) {
				mt_warnx("at most %d configurations (-c)", MAX_CONFIGS);
				return -1;
			}
			o->configs[o->nconfigs++] = optarg;
			break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'm':
			o->daily = strcmp(optarg, "hourly") != 0;
			o->hourly = strcmp(optarg, "daily") != 0;
			if (strcmp(optarg, "daily") != 0 && strcmp(optarg, "hourly") != 0 &&
			    strcmp(optarg, "both") != 0)
				return bad("-m", optarg, "daily, hourly or both");
			break;
		case 'n': o->dry_run = 1; break;
		case 'P': o->property = optarg; break;
		case 'p': o->participant = optarg; break;
		case 'Q': o->quantity = optarg; break;
		case 'q': o->quiet = 1; break;
		case O_BASE:
			if (parse_period("--baseline", optarg, &o->base_from, &o->base_to) < 0)
				return -1;
			o->has_baseline = 1;
			break;
		case O_REP:
			if (parse_period("--reporting", optarg, &o->rep_from, &o->rep_to) < 0)
				return -1;
			o->has_reporting = 1;
			break;
		case O_MAXP:
			if (mt_parse_double(optarg, &o->max_p) < 0 || !(o->max_p > 0) ||
			    o->max_p > 1)
				return bad("--max-p", optarg, "a p-value above 0, at most 1");
			break;
		case O_EXPECTED: o->expected = 1; break;
		case O_VERS:
			printf("meter-baseline %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	if (optind != argc - 1) {
		mt_warnx(optind >= argc ? "no warehouse given (or - for property "
		    "hours on standard input)" : "one warehouse at a time");
		return -1;
	}
	o->source = argv[optind];
	return check_args(o);
}

/* ---- the series ---- */

static void series_add(struct series *s, mt_time_t t, double use, double temp)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->h = mt_xrealloc(s->h, s->cap * sizeof *s->h);
	}
	s->h[s->n] = (struct hour){ t, use, temp, s->n };
	s->n++;
}

static void day_text(char *buf, int64_t day)
{
	int y;
	unsigned m, d;

	mt_civil_from_days(day, &y, &m, &d);
	snprintf(buf, 11, "%04d-%02u-%02u", y, m % 100, d % 100);
}

/* ---- the results ---- */

static void put_num(char *buf, size_t cap, double v)
{
	if (!isfinite(v))
		buf[0] = '\0';
	else
		mt_format_double(buf, cap, v);
}

struct period_text {
	char fitted_at[32], base_from[11], base_to[11], rep_from[11], rep_to[11];
};

static void write_fit(struct mt_out *out, const struct series *s,
    const struct mt_baseline_fit *f, const struct period_text *p)
{
	mt_out_begin(out);
	mt_out_str(out, "participant", s->participant);
	mt_out_str(out, "property", s->property);
	mt_out_str(out, "quantity", s->quantity);
	mt_out_str(out, "model", f->model);
	mt_out_str(out, "status", f->fitted ? "fitted" : "insufficient");
	if (!f->fitted)
		mt_out_str(out, "reason", f->reason);
	mt_out_str(out, "baseline_from", p->base_from);
	mt_out_str(out, "baseline_to", p->base_to);
	if (p->rep_from[0] != '\0') {
		mt_out_str(out, "reporting_from", p->rep_from);
		mt_out_str(out, "reporting_to", p->rep_to);
	}
	if (f->fitted) {
		mt_out_str(out, "model_type", f->type);
		if (f->heating_f >= 0) {
			mt_out_int(out, "heating_balance_f", f->heating_f);
			mt_out_num(out, "heating_balance_c", (f->heating_f - 32) * 5.0 / 9.0);
		}
		if (f->cooling_f >= 0) {
			mt_out_int(out, "cooling_balance_f", f->cooling_f);
			mt_out_num(out, "cooling_balance_c", (f->cooling_f - 32) * 5.0 / 9.0);
		}
		if (!isnan(f->intercept))
			mt_out_num(out, "intercept", f->intercept);
		if (!isnan(f->beta_hdd))
			mt_out_num(out, "beta_hdd", f->beta_hdd);
		if (!isnan(f->beta_cdd))
			mt_out_num(out, "beta_cdd", f->beta_cdd);
		mt_out_int(out, "n", f->n);
		mt_out_int(out, "parameters", f->k);
		mt_out_num(out, "r2", f->r2);
		mt_out_num(out, "adj_r2", f->adj_r2);
		mt_out_num(out, "cvrmse", f->cvrmse);
		mt_out_num(out, "nmbe", f->nmbe);
		mt_out_int(out, "reporting_n", f->reporting_n);
		if (f->reporting_n > 0) {
			mt_out_num(out, "expected", f->expected);
			mt_out_num(out, "actual", f->actual);
			mt_out_num(out, "savings", f->savings);
			mt_out_num(out, "fsu_90", f->fsu);
		}
	}
	mt_out_end(out);
}

static void write_expected(struct mt_out *out, const struct series *s,
    const struct mt_baseline_fit *f)
{
	char day[11];

	for (size_t i = 0; i < f->npred; i++) {
		const struct mt_baseline_pred *e = &f->pred[i];
		mt_out_begin(out);
		mt_out_str(out, "participant", s->participant);
		mt_out_str(out, "property", s->property);
		mt_out_str(out, "quantity", s->quantity);
		mt_out_str(out, "model", f->model);
		if (e->hours == 1)
			mt_out_time(out, "hour", e->hour);
		else {
			day_text(day, e->day);
			mt_out_str(out, "local_date", day);
		}
		mt_out_str(out, "period", e->reporting ? "reporting" : "baseline");
		mt_out_num(out, "expected", mt_round_value(e->expected));
		mt_out_end(out);
	}
}

/* The expected days (hours) of a fit, in its table. */
static int store_expected(struct mt_db *db, const struct series *s,
    const struct mt_baseline_fit *f, struct mt_err *err)
{
	int daily = strcmp(f->model, "daily") == 0;

	for (size_t i = 0; i < f->npred; i++) {
		const struct mt_baseline_pred *e = &f->pred[i];
		char when[32], hours[8], val[40];
		const char *pv[7] = { s->participant, s->property, s->quantity, when,
		    e->reporting ? "reporting" : "baseline", val, hours };

		mt_format_double(val, sizeof val, mt_round_value(e->expected));
		if (daily) {
			day_text(when, e->day);
			snprintf(hours, sizeof hours, "%d", e->hours);
		} else
			mt_time_format(when, e->hour);
		if (mt_db_exec(db, daily ? "INSERT INTO baseline_day (participant,"
		    " property, quantity, local_date, period, expected, hours)"
		    " VALUES (?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION),"
		    " CAST(? AS BIGINT))" :
		    "INSERT INTO baseline_hour (participant, property, quantity, hour,"
		    " period, expected) VALUES (?, ?, ?, ?, ?,"
		    " CAST(? AS DOUBLE PRECISION))", pv, daily ? 7 : 6, err) < 0)
			return -1;
	}
	return 0;
}

/* The fit and its predictions replace what the warehouse held of them. */
static int store_fit(struct mt_db *db, const struct series *s,
    const struct mt_baseline_fit *f, const struct period_text *p,
    struct mt_err *err)
{
	const char *key[4] = { s->participant, s->property, s->quantity, f->model };
	char num[16][40], hb[40], cb[40], ints[4][24];
	const char *v[30];
	double stats[] = { f->intercept, f->beta_hdd, f->beta_cdd, f->r2,
	    f->adj_r2, f->cvrmse, f->nmbe, f->expected, f->actual, f->savings,
	    f->fsu };

	if (mt_db_exec(db, strcmp(f->model, "daily") == 0 ? "DELETE FROM"
	    " baseline_day WHERE participant = ? AND property = ? AND quantity = ?" :
	    "DELETE FROM baseline_hour WHERE participant = ? AND property = ? AND"
	    " quantity = ?", key, 3, err) < 0 ||
	    mt_db_exec(db, "DELETE FROM baseline_fit WHERE participant = ? AND"
	    " property = ? AND quantity = ? AND model = ?", key, 4, err) < 0)
		return -1;
	put_num(hb, sizeof hb, f->heating_f >= 0 ? (f->heating_f - 32) * 5.0 / 9.0 : NAN);
	put_num(cb, sizeof cb, f->cooling_f >= 0 ? (f->cooling_f - 32) * 5.0 / 9.0 : NAN);
	for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
		put_num(num[i], sizeof num[i], f->fitted ? stats[i] : NAN);
	snprintf(ints[0], sizeof ints[0], "%ld", f->n);
	snprintf(ints[1], sizeof ints[1], "%d", f->k);
	snprintf(ints[2], sizeof ints[2], "%ld", f->reporting_n);
	const char *row[] = { s->participant, s->property, s->quantity, f->model,
	    p->fitted_at, p->base_from, p->base_to, p->rep_from[0] ? p->rep_from : NULL,
	    p->rep_from[0] ? p->rep_to : NULL, f->fitted ? "fitted" : "insufficient",
	    f->fitted ? NULL : f->reason, f->fitted ? f->type : NULL, hb, cb,
	    num[0], num[1], num[2], f->fitted ? ints[0] : NULL,
	    f->fitted ? ints[1] : NULL, num[3], num[4], num[5], num[6],
	    f->fitted ? ints[2] : NULL, num[7], num[8], num[9], num[10] };
	/* an empty text is SQL NULL: no figure */
	for (size_t i = 0; i < sizeof row / sizeof row[0]; i++)
		v[i] = row[i] != NULL && row[i][0] != '\0' ? row[i] : NULL;
	if (mt_db_exec(db, "INSERT INTO baseline_fit (participant, property,"
	    " quantity, model, fitted_at, baseline_from, baseline_to,"
	    " reporting_from, reporting_to, status, reason, model_type,"
	    " heating_balance_c, cooling_balance_c, intercept, beta_hdd, beta_cdd,"
	    " n, parameters, r2, adj_r2, cvrmse, nmbe, reporting_n, expected,"
	    " actual, savings, fsu_90) VALUES (?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT),"
	    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
	    " CAST(? AS DOUBLE PRECISION))", v, 28, err) < 0)
		return -1;
	return store_expected(db, s, f, err);
}

/* ---- fitting one building ---- */

struct run {
	const struct opts *o;
	struct mt_db *db;          /* NULL: standard input */
	struct mt_out *out;
	long fitted, insufficient;
};

static void say_fit(const struct series *s, const struct mt_baseline_fit *f,
    const struct period_text *p)
{
	char a[64], b[64];

	if (!f->fitted) {
		mt_warnx("%s/%s %s: %s model not fitted: %s", s->participant,
		    s->property, s->quantity, f->model, f->reason);
		return;
	}
	mt_warnx("%s/%s %s: %s model %s on %ld %s: R2 %.3f, CVRMSE %.1f%%, "
	    "NMBE %.2f%%%s%s%s%s%s%s%s%s", s->participant, s->property, s->quantity,
	    f->model, f->type, f->n, strcmp(f->model, "daily") == 0 ? "days" :
	    "hours", f->r2, 100 * f->cvrmse, 100 * f->nmbe,
	    f->reporting_n > 0 ? "; savings " : "",
	    f->reporting_n > 0 ? mt_fmt_num(a, sizeof a, f->savings, 1) : "",
	    f->reporting_n > 0 && !isnan(f->fsu) ? " +/- " : "",
	    f->reporting_n > 0 && !isnan(f->fsu) ?
	    mt_fmt_num(b, sizeof b, fabs(f->fsu * f->savings), 1) : "",
	    f->reporting_n > 0 ? " over " : "", f->reporting_n > 0 ? p->rep_from : "",
	    f->reporting_n > 0 ? ".." : "", f->reporting_n > 0 ? p->rep_to : "");
}

static int fit_series(struct run *r, struct series *s, struct mt_err *err)
{
	const struct opts *o = r->o;
	struct mt_baseline_opts bo = { NULL, o->base_from, o->base_to, o->rep_from,
	    o->rep_to, o->max_p };
	struct period_text p;
	struct mt_baseline *b;
	int64_t last = o->base_to;

	if ((bo.zone = mt_zone_open(s->zone, err)) == NULL)
		return -1;
	if (!o->has_reporting) {
		/* the day after the baseline to the last day with usage */
		struct mt_local lt;
		for (size_t i = 0; i < s->n; i++)
			if (!isnan(s->h[i].use)) {
				mt_local_time(bo.zone, s->h[i].t, &lt);
				if (lt.day > last)
					last = lt.day;
			}
		bo.rep_from = o->base_to + 1;
		bo.rep_to = last < o->base_from + SPAN_DAYS ? last :
		    o->base_from + SPAN_DAYS - 1;
	}
	memset(&p, 0, sizeof p);
	mt_time_format(p.fitted_at, (mt_time_t)time(NULL) * 1000);
	day_text(p.base_from, o->base_from);
	day_text(p.base_to, o->base_to);
	if (bo.rep_from <= bo.rep_to) {
		day_text(p.rep_from, bo.rep_from);
		day_text(p.rep_to, bo.rep_to);
	}
	b = mt_baseline_new(&bo);
	for (size_t i = 0; i < s->n; i++)
		mt_baseline_add(b, s->h[i].t, s->h[i].use, s->h[i].temp);
	if (mt_baseline_implausible(b) > 0 && !o->quiet)
		mt_warnx("%s/%s %s: %ld outside temperature%s beyond -90..60 degC "
		    "taken as missing", s->participant, s->property, s->quantity,
		    mt_baseline_implausible(b), mt_baseline_implausible(b) == 1 ?
		    "" : "s");
	for (int model = 0; model < 2; model++) {
		struct mt_baseline_fit f;
		if (!(model == 0 ? o->daily : o->hourly))
			continue;
		if (model == 0)
			mt_baseline_daily(b, &f);
		else
			mt_baseline_hourly(b, &f);
		if (f.fitted)
			r->fitted++;
		else
			r->insufficient++;
		write_fit(r->out, s, &f, &p);
		if (o->expected)
			write_expected(r->out, s, &f);
		if (!o->quiet)
			say_fit(s, &f, &p);
		if (r->db != NULL && !o->dry_run && store_fit(r->db, s, &f, &p, err) < 0) {
			mt_baseline_fit_free(&f);
			mt_baseline_free(b);
			mt_zone_free(bo.zone);
			return -1;
		}
		mt_baseline_fit_free(&f);
	}
	mt_baseline_free(b);
	mt_zone_free(bo.zone);
	return mt_out_flush(r->out) < 0 ? -2 : 0;
}

/* ---- the warehouse's buildings ---- */

struct list {
	struct series *s;
	size_t n;
};

static int list_row(void *ctx, int ncols, const char *const *cols,
    const char *const *names)
{
	struct list *l = ctx;
	struct series *s;

	if (names != NULL)
		return 0;
	if (ncols < 4 || cols[0] == NULL || cols[1] == NULL || cols[2] == NULL)
		return 0;
	l->s = mt_xrealloc(l->s, (l->n + 1) * sizeof *l->s);
	s = memset(&l->s[l->n++], 0, sizeof *s);
	snprintf(s->participant, sizeof s->participant, "%s", cols[0]);
	snprintf(s->property, sizeof s->property, "%s", cols[1]);
	snprintf(s->quantity, sizeof s->quantity, "%s", cols[2]);
	snprintf(s->zone, sizeof s->zone, "%s", cols[3] ? cols[3] : "UTC");
	return 0;
}

static int hour_row(void *ctx, int ncols, const char *const *cols,
    const char *const *names)
{
	struct series *s = ctx;
	struct mt_err ignored;
	enum mt_tsform form;
	mt_time_t t;
	double use = NAN, temp = NAN;

	if (names != NULL || ncols < 4 || cols[0] == NULL ||
	    mt_time_parse(cols[0], strlen(cols[0]), &t, &form, &ignored) < 0)
		return 0;
	/* a suspect hour's usage is not trusted: missing for the fit */
	if (cols[1] != NULL && (cols[3] == NULL || strcmp(cols[3], "0") == 0))
		mt_parse_double(cols[1], &use);
	if (cols[2] != NULL)
		mt_parse_double(cols[2], &temp);
	series_add(s, t, use, temp);
	return 0;
}

static int from_warehouse(struct run *r, struct mt_err *err)
{
	const struct opts *o = r->o;
	const char *params[6] = { o->participant, o->participant, o->property,
	    o->property, o->quantity, o->quantity };
	char since[32];
	struct list l = { NULL, 0 };
	int rc = 0;

	if (mt_db_read_begin(r->db, err) < 0 || mt_db_select(r->db,
	    "SELECT DISTINCT participant, property, quantity, timezone"
	    " FROM property_hour WHERE quantity IN"
	    " ('electricity', 'gas', 'heat', 'cooling')"
	    " AND (? IS NULL OR participant = ?) AND (? IS NULL OR property = ?)"
	    " AND (? IS NULL OR quantity = ?)"
	    " ORDER BY participant, property, quantity", params, 6, list_row, &l,
	    err) < 0)
		return -1;
	if (l.n == 0) {
		mt_err_set(err, r->o->source, 0, "no energy hours of %s%s%s%s%s in the "
		    "warehouse: load them first (meter-load), or check -p, -P and -Q",
		    o->participant ? o->participant : "any participant",
		    o->property ? ", property " : "", o->property ? o->property : "",
		    o->quantity ? ", " : "", o->quantity ? o->quantity : "");
		err->status = MT_EXIT_USAGE;
		mt_db_commit(r->db, err);
		return -1;
	}
	mt_time_format(since, (o->base_from - 1) * 86400000);
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		struct series *s = &l.s[i];
		const char *p[4] = { s->participant, s->property, s->quantity, since };
		rc = mt_db_select(r->db, "SELECT hour, value, outside_temp_c, suspect"
		    " FROM property_hour_checked WHERE participant = ? AND property = ?"
		    " AND quantity = ? AND hour >= ? ORDER BY hour", p, 4, hour_row, s,
		    err);
	}
	if (rc == 0)
		rc = mt_db_commit(r->db, err);
	/* fitting writes: one transaction per building */
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		if (!o->dry_run && mt_db_begin(r->db, err) < 0) {
			rc = -1;
			break;
		}
		rc = fit_series(r, &l.s[i], err);
		if (rc == 0 && !o->dry_run)
			rc = mt_db_commit(r->db, err);
		else if (!o->dry_run)
			mt_db_rollback(r->db);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.s[i].h);
	free(l.s);
	return rc;
}

/* ---- property hours on standard input ---- */

struct input {
	struct run *r;
	struct mt_config **cfgs;
	size_t ncfgs;
	struct list l;
	size_t cap;
	struct mt_map *index;      /* participant, property, quantity -> l + 1 */
	long read, other, rejected;
	struct mt_rejects *rj;
};

static const char *zone_of(const struct input *in, const char *participant,
    const char *property)
{
	for (size_t i = 0; i < in->ncfgs; i++) {
		const struct mt_config *c = in->cfgs[i];
		const struct mt_property_cfg *p;

		if (strcmp(c->id, participant) != 0)
			continue;
		if ((p = mt_config_property(c, property)) == NULL)
			return NULL;
		return p->timezone ? p->timezone : c->timezone ? c->timezone : "UTC";
	}
	return NULL;
}

/* A building's series, found by its key (many buildings stay cheap). */
static struct series *series_of(struct input *in, const struct mt_property_hour *h,
    const char *zone)
{
	char key[3 * (MT_ID_MAX + 1) + 32];
	int n = snprintf(key, sizeof key, "%s\n%s\n%s", h->participant,
	    h->property, h->q->name);
	size_t at = (size_t)(uintptr_t)mt_map_get(in->index, key, (size_t)n);
	struct series *s;

	if (at > 0)
		return &in->l.s[at - 1];
	if (in->l.n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 16;
		in->l.s = mt_xrealloc(in->l.s, in->cap * sizeof *in->l.s);
	}
	s = memset(&in->l.s[in->l.n++], 0, sizeof *s);
	mt_map_put(in->index, key, (size_t)n, (void *)(uintptr_t)in->l.n);
	snprintf(s->participant, sizeof s->participant, "%s", h->participant);
	snprintf(s->property, sizeof s->property, "%s", h->property);
	snprintf(s->quantity, sizeof s->quantity, "%s", h->q->name);
	snprintf(s->zone, sizeof s->zone, "%s", zone);
	return s;
}

static int wanted(const struct opts *o, const struct mt_property_hour *h)
{
	size_t i;

	for (i = 0; i < 4 && strcmp(h->q->name, energy[i]) != 0; i++)
		;
	return i < 4 && (o->property == NULL || strcmp(o->property, h->property) == 0)
	    && (o->quantity == NULL || strcmp(o->quantity, h->q->name) == 0);
}

static int take_record(void *ctx, const struct mt_rec *rec)
{
	struct input *in = ctx;
	struct mt_property_hour h;
	struct mt_err err;
	const struct mt_field *t;
	const char *why, *zone;
	double temp = NAN;

	in->read++;
	if ((why = mt_rec_misplaced(rec, "p")) != NULL) {
		mt_reject_rec(in->rj, rec, why);
		return 0;
	}
	if (mt_property_hour_parse(rec, &h, &err) < 0) {
		mt_reject_rec(in->rj, rec, err.msg);
		return 0;
	}
	if (!wanted(in->r->o, &h)) {
		in->other++;
		return 0;
	}
	if ((zone = zone_of(in, h.participant, h.property)) == NULL) {
		mt_reject_rec(in->rj, rec, "property not in the configurations (-c): "
		    "its time zone is unknown");
		return 0;
	}
	if ((t = mt_rec_get(rec, "outside_temp_c")) != NULL && t->type == MT_NUMBER)
		temp = t->num;
	series_add(series_of(in, &h, zone), h.hour, h.value, temp);
	return 0;
}

static void bad_line(void *ctx, const struct mt_rec *rec, const char *why)
{
	struct input *in = ctx;

	in->read++;
	mt_reject_rec(in->rj, rec, why);
}

static int by_time(const void *a, const void *b)
{
	const struct hour *x = a, *y = b;

	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* In time order; an hour given twice is taken as given last, and said. */
static void sort_hours(struct series *s, int quiet)
{
	size_t out = 0, twice = 0;

	qsort(s->h, s->n, sizeof *s->h, by_time);
	for (size_t i = 0; i < s->n; i++) {
		if (out > 0 && s->h[out - 1].t == s->h[i].t) {
			s->h[out - 1] = s->h[i];
			twice++;
			continue;
		}
		s->h[out++] = s->h[i];
	}
	s->n = out;
	if (twice > 0 && !quiet)
		mt_warnx("%s/%s %s: %zu hour%s given more than once: the last one "
		    "of each taken", s->participant, s->property, s->quantity, twice,
		    twice == 1 ? "" : "s");
}

static int from_stdin(struct run *r, struct mt_rejects *rj, struct mt_err *err)
{
	struct input in = { .r = r, .rj = rj, .index = mt_map_new() };
	char *files[] = { (char *)"-" };
	int rc = 0;

	in.cfgs = mt_xcalloc(r->o->nconfigs, sizeof *in.cfgs);
	for (size_t i = 0; i < r->o->nconfigs; i++) {
		if ((in.cfgs[i] = mt_config_load(r->o->configs[i], err)) == NULL) {
			rc = -1;
			goto done;
		}
		in.ncfgs++;
	}
	if (mt_cli_each_record(1, files, r->o->participant, take_record, bad_line,
	    &in) < 0) {
		rc = -2;
		goto done;
	}
	if (!r->o->quiet)
		mt_warnx("read %ld records: %ld property hours taken, %ld of other "
		    "quantities or buildings, %ld rejected", in.read,
		    in.read - in.other - rj->count, in.other, rj->count);
	if (in.l.n == 0) {
		mt_err_set(err, "-", 0, "no property hours of electricity, gas, heat or "
		    "cooling%s%s%s%s on standard input: give meter-enrich's output",
		    r->o->property ? " of property " : "", r->o->property ?
		    r->o->property : "", r->o->quantity ? " in " : "",
		    r->o->quantity ? r->o->quantity : "");
		err->status = MT_EXIT_USAGE;
		rc = -1;
	}
	for (size_t i = 0; i < in.l.n && rc == 0; i++) {
		sort_hours(&in.l.s[i], r->o->quiet);
		rc = fit_series(r, &in.l.s[i], err);
	}
done:
	mt_map_free(in.index);
	for (size_t i = 0; i < in.l.n; i++)
		free(in.l.s[i].h);
	free(in.l.s);
	for (size_t i = 0; i < in.ncfgs; i++)
		mt_config_free(in.cfgs[i]);
	free(in.cfgs);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct mt_err err;
	struct mt_rejects rj;
	struct run r;
	int rc, status;

	memset(&o, 0, sizeof o);
	memset(&r, 0, sizeof r);
	memset(&rj, 0, sizeof rj);
	mt_cli_init(argv);
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	rj.quiet = o.quiet;
	r.o = &o;
	r.out = mt_out_new(stdout);
	if (strcmp(o.source, "-") == 0)
		rc = from_stdin(&r, &rj, &err);
	else if ((r.db = mt_db_open_existing(o.source, &err)) == NULL)
		rc = -1;
	else {
		rc = from_warehouse(&r, &err);
		mt_db_close(r.db);
	}
	mt_out_free(r.out);
	if (rc == -1) {
		mt_diag_err(&err);
		return mt_finish_stdout(err.status == MT_EXIT_USAGE ? MT_EXIT_USAGE :
		    MT_EXIT_IO);
	}
	if (rc == -2)
		return mt_finish_stdout(MT_EXIT_IO);
	/* a building without a fit is a partial result, as a reject is */
	status = r.insufficient > 0 ? MT_EXIT_REJECTS : MT_EXIT_OK;
	return mt_finish_stdout(mt_cli_finish(&rj, NULL, status));
}
