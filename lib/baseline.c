/* baseline.c - expected consumption from weather and time of week, fitted
 * over a baseline period (meter-baseline's engine, meter-baseline(1)).
 *
 * Two models after the CalTRACK methods: the daily model (usage per day
 * against heating and cooling degree days, balance points searched over
 * CalTRACK's grid of whole degrees Fahrenheit) and the hourly model (time
 * of week and outdoor-temperature bins, by occupancy, one model per month
 * of the year weighted with its neighbours).  The least squares are GSL's;
 * the fit statistics are ASHRAE Guideline 14's.
 *
 * The hours live on a grid of UTC hours from the baseline's first local
 * midnight to the end of the reporting period, so that missing hours count
 * against the data sufficiency rules. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F_TO_C(f) (((f) - 32.0) * 5.0 / 9.0)
#define GRID_LO_F 30            /* CalTRACK's balance point range, degF */
#define GRID_HI_F 90
#define GRID_N (GRID_HI_F - GRID_LO_F + 1)
#define DD_MIN_DAYS 10          /* days with degree days a term needs */
#define DD_MIN_TOTAL_F 20.0     /* and degF-days in all */
#define SUFFICIENT 0.9          /* share of days (hours) with data */
#define PERIOD_MIN_DAYS 365
#define OCCUPIED_SHARE 0.65     /* hours above the occupancy fit */
#define BIN_MIN_HOURS 20
#define HOURS_OF_WEEK 168
#define NBIN_ENDS 6
/* beyond the coldest and hottest air ever measured: no outside temperature */
#define TEMP_MIN_C -90.0
#define TEMP_MAX_C 60.0

static const double bin_ends_f[NBIN_ENDS] = { 30, 45, 55, 65, 75, 90 };

struct mt_baseline {
	struct mt_baseline_opts o;
	mt_time_t start;          /* the grid's first hour */
	size_t n;                 /* its hours */
	double *use, *temp;       /* NAN where missing */
	int64_t *day;             /* local date of each hour */
	uint8_t *month, *how;     /* 1..12; hour of week, Monday 00 local = 0 */
	long implausible;         /* temperatures taken as missing */
};

struct mt_baseline *mt_baseline_new(const struct mt_baseline_opts *o)
{
	struct mt_baseline *b = mt_xcalloc(1, sizeof *b);
	int64_t last = o->rep_to > o->base_to ? o->rep_to : o->base_to;
	struct mt_local lt;
	mt_time_t t;
	size_t cap;

	b->o = *o;
	/* a failed fit is a result, never an abort */
	gsl_set_error_handler_off();
	/* no zone is more than 15 hours off UTC */
	t = mt_hour_floor((o->base_from * 86400 - 15 * 3600) * 1000);
	for (mt_local_time(o->zone, t, &lt); lt.day < o->base_from;
	    mt_local_time(o->zone, t, &lt))
		t += MT_HOUR_MS;
	b->start = t;
	cap = (size_t)(last - o->base_from + 2) * 25;
	b->use = mt_xmalloc(cap * sizeof *b->use);
	b->temp = mt_xmalloc(cap * sizeof *b->temp);
	b->day = mt_xmalloc(cap * sizeof *b->day);
	b->month = mt_xmalloc(cap);
	b->how = mt_xmalloc(cap);
	for (; lt.day <= last && b->n < cap; t += MT_HOUR_MS) {
		int y;
		unsigned m, d;

		mt_local_time(o->zone, t, &lt);
		if (lt.day > last)
			break;
		mt_civil_from_days(lt.day, &y, &m, &d);
		b->use[b->n] = b->temp[b->n] = NAN;
		b->day[b->n] = lt.day;
		b->month[b->n] = (uint8_t)m;
		b->how[b->n] = (uint8_t)((lt.weekday - 1) * 24 + lt.minute / 60);
		b->n++;
	}
	return b;
}

void mt_baseline_free(struct mt_baseline *b)
{
	if (b == NULL)
		return;
	free(b->use);
	free(b->temp);
	free(b->day);
	free(b->month);
	free(b->how);
	free(b);
}

int mt_baseline_add(struct mt_baseline *b, mt_time_t hour, double use,
    double temp)
{
	size_t i;

	if (hour < b->start || hour % MT_HOUR_MS != b->start % MT_HOUR_MS)
		return 0;
	i = (size_t)((hour - b->start) / MT_HOUR_MS);
	if (i >= b->n)
		return 0;
	if (isfinite(use))
		b->use[i] = use;
	if (isfinite(temp) && temp >= TEMP_MIN_C && temp <= TEMP_MAX_C)
		b->temp[i] = temp;
	else if (!isnan(temp))
		b->implausible++;
	return 1;
}

long mt_baseline_implausible(const struct mt_baseline *b)
{
	return b->implausible;
}

void mt_baseline_fit_free(struct mt_baseline_fit *f)
{
	free(f->pred);
	f->pred = NULL;
	f->npred = 0;
}

static void fit_init(struct mt_baseline_fit *f, const char *model)
{
	memset(f, 0, sizeof *f);
	f->model = model;
	f->heating_f = f->cooling_f = -1;
	f->intercept = f->beta_hdd = f->beta_cdd = NAN;
	f->r2 = f->adj_r2 = f->cvrmse = f->nmbe = NAN;
	f->expected = f->actual = f->savings = f->fsu = NAN;
}

static void add_pred(struct mt_baseline_fit *f, size_t *cap, mt_time_t hour,
    int64_t day, int hours, int reporting, double expected)
{
	if (f->npred == *cap) {
		*cap = *cap ? 2 * *cap : 1024;
		f->pred = mt_xrealloc(f->pred, *cap * sizeof *f->pred);
	}
	f->pred[f->npred++] = (struct mt_baseline_pred){ hour, day, hours,
	    reporting, expected };
}

static int in_baseline(const struct mt_baseline *b, int64_t day)
{
	return day >= b->o.base_from && day <= b->o.base_to;
}

static int in_reporting(const struct mt_baseline *b, int64_t day)
{
	return b->o.rep_from <= b->o.rep_to && day >= b->o.rep_from &&
	    day <= b->o.rep_to;
}

/* ---- data sufficiency (CalTRACK): a year, 90 % overall and by month ---- */

/* have[m] of want[m] units (days or hours) of month m with data */
static int enough(const struct mt_baseline *b, const long want[13],
    const long have[13], const char *units, char *why, size_t cap)
{
	long days = b->o.base_to - b->o.base_from + 1, w = 0, h = 0;

	if (days < PERIOD_MIN_DAYS) {
		snprintf(why, cap, "baseline period of %ld days: at least %d are "
		    "needed; give --baseline a year", days, PERIOD_MIN_DAYS);
		return 0;
	}
	for (int m = 1; m <= 12; m++) {
		w += want[m];
		h += have[m];
	}
	if (h < SUFFICIENT * w) {
		snprintf(why, cap, "%.1f%% of the baseline's %s have data: at least "
		    "%.0f%% are needed", 100.0 * h / w, units, 100 * SUFFICIENT);
		return 0;
	}
	for (int m = 1; m <= 12; m++)
		if (want[m] > 0 && have[m] < SUFFICIENT * want[m]) {
			snprintf(why, cap, "month %02d: %.1f%% of its baseline %s have "
			    "data: at least %.0f%% are needed", m, 100.0 * have[m] /
			    want[m], units, 100 * SUFFICIENT);
			return 0;
		}
	return 1;
}

/* no_temp: the units with usage that lack only the temperature, the
 * likely cause when the weather was never joined */
static int sufficient(const struct mt_baseline *b, const long want[13],
    const long have[13], long no_temp, const char *units, char *why,
    size_t cap)
{
	size_t n;

	if (enough(b, want, have, units, why, cap))
		return 1;
	n = strlen(why);
	if (no_temp > 0 && n < cap)
		snprintf(why + n, cap - n, " (%ld %s have usage but no outside "
		    "temperature: load the hours enriched with meter-enrich --weather "
		    "for the building's region)", no_temp, units);
	return 0;
}

/* CVRMSE and NMBE divide by the mean usage: a baseline whose mean is not
 * above zero (a meter exporting, or all zeros) has no meaningful fit. */
static int positive_mean(const double *y, size_t n, char *why, size_t cap)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += y[i];
	if (n > 0 && sum / (double)n > 0)
		return 1;
	snprintf(why, cap, "the baseline's mean usage is %g: a model needs usage "
	    "above zero (its CVRMSE and NMBE divide by the mean)",
	    n > 0 ? sum / (double)n : 0.0);
	return 0;
}

/* ---- the fit statistics (ASHRAE Guideline 14) ---- */

struct stats_in {
	const double *y, *yhat;   /* the baseline, in time order */
	size_t n;
	int k;                    /* the model's coefficients */
};

static void fit_stats(const struct stats_in *s, struct mt_baseline_fit *f)
{
	double sum = 0, sse = 0, sst = 0, bias = 0, mean;

	for (size_t i = 0; i < s->n; i++)
		sum += s->y[i];
	mean = sum / (double)s->n;
	for (size_t i = 0; i < s->n; i++) {
		double e = s->y[i] - s->yhat[i];
		sse += e * e;
		bias += e;
		sst += (s->y[i] - mean) * (s->y[i] - mean);
	}
	f->n = (long)s->n;
	f->k = s->k;
	f->r2 = sst > 0 ? 1 - sse / sst : 0;
	if (s->k == 1 && f->r2 < 1e-12)
		f->r2 = 0;       /* the mean: no variance explained */
	f->adj_r2 = 1 - (1 - f->r2) * (double)(s->n - 1) / (double)(s->n - (size_t)s->k);
	f->cvrmse = sqrt(sse / (double)(s->n - (size_t)s->k)) / mean;
	f->nmbe = bias / ((double)(s->n - (size_t)s->k) * mean);
}

/* Savings over the reporting period and their fractional uncertainty at
 * 90 % confidence: ASHRAE Guideline 14's
 *   t * 1.26 * CVRMSE * sqrt(n/n' * (1 + 2/n) / m) / F
 * with n' the baseline's points corrected for the lag-1 autocorrelation
 * of its residuals, m the reporting points and F the savings fraction. */
static void savings(const struct stats_in *s, double expected, double actual,
    long m, struct mt_baseline_fit *f)
{
	double num = 0, den = 0, rho, nprime, frac, n = (double)s->n;

	f->reporting_n = m;
	if (m == 0)
		return;
	f->expected = expected;
	f->actual = actual;
	f->savings = expected - actual;
	for (size_t i = 0; i < s->n; i++) {
		double e = s->y[i] - s->yhat[i];
		den += e * e;
		if (i > 0)
			num += e * (s->y[i - 1] - s->yhat[i - 1]);
	}
	rho = den > 0 ? num / den : 0;
	nprime = n * (1 - rho) / (1 + rho);
	frac = expected != 0 ? f->savings / expected : 0;
	if (nprime <= 0 || frac == 0 || !(f->cvrmse >= 0))
		return;
	f->fsu = gsl_cdf_tdist_Pinv(0.95, n - s->k) * 1.26 * f->cvrmse *
	    sqrt(n / nprime * (1 + 2 / n) / (double)m) / fabs(frac);
}

/* ---- least squares ---- */

/* Ordinary (w NULL) or weighted least squares of y on the n x p design X
 * (row major); c gets the coefficients, se (when not NULL) their standard
 * errors.  GSL's SVD drops the directions a rank-deficient design lacks. */
static int lsq(const double *X, const double *y, const double *w, size_t n,
    size_t p, double *c, double *se)
{
	gsl_matrix_const_view xv = gsl_matrix_const_view_array(X, n, p);
	gsl_vector_const_view yv = gsl_vector_const_view_array(y, n);
	gsl_vector *cv = gsl_vector_alloc(p);
	gsl_matrix *cov = gsl_matrix_alloc(p, p);
	gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n, p);
	double chisq;
	int rc;

	if (w == NULL)
		rc = gsl_multifit_linear(&xv.matrix, &yv.vector, cv, cov, &chisq, ws);
	else {
		gsl_vector_const_view wv = gsl_vector_const_view_array(w, n);
		rc = gsl_multifit_wlinear(&xv.matrix, &wv.vector, &yv.vector, cv,
		    cov, &chisq, ws);
	}
	for (size_t j = 0; j < p; j++) {
		c[j] = gsl_vector_get(cv, j);
		/* GSL scales the ordinary fit's covariance by sigma^2 itself */
		if (se != NULL)
			se[j] = sqrt(gsl_matrix_get(cov, j, j));
	}
	gsl_multifit_linear_free(ws);
	gsl_matrix_free(cov);
	gsl_vector_free(cv);
	return rc == GSL_SUCCESS ? 0 : -1;
}

/* ---- the daily model ---- */

struct day {
	int64_t day;
	size_t first;              /* its first hour in the grid */
	int hours, nuse, ntemp, month;
	double use, temp;          /* the day's sum and mean temperature */
};

static struct day *days_of(const struct mt_baseline *b, size_t *nd)
{
	struct day *d = mt_xcalloc(b->n + 1, sizeof *d);
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (n == 0 || d[n - 1].day != b->day[i]) {
			d[n].day = b->day[i];
			d[n].first = i;
			d[n].month = b->month[i];
			n++;
		}
		struct day *x = &d[n - 1];
		x->hours++;
		if (!isnan(b->use[i])) {
			x->nuse++;
			x->use += b->use[i];
		}
		if (!isnan(b->temp[i])) {
			x->ntemp++;
			x->temp += b->temp[i];
		}
	}
	for (size_t i = 0; i < n; i++)
		if (d[i].ntemp > 0)
			d[i].temp /= d[i].ntemp;
	*nd = n;
	return d;
}

/* half the day's temperatures make its mean; all its hours its usage */
static int has_temp(const struct day *d)
{
	return d->ntemp * 2 >= d->hours;
}

static int day_usable(const struct day *d)
{
	return d->nuse == d->hours && has_temp(d);
}

static double hdd(double t, double bp)
{
	return t < bp ? bp - t : 0;
}

static double cdd(double t, double bp)
{
	return t > bp ? t - bp : 0;
}

struct daily_data {
	double *y, *t;
	size_t n;
	double max_p;
};

/* A degree-day column may enter a model: enough days and degrees. */
static int dd_enough(const struct daily_data *d, int heating, double bp)
{
	long nonzero = 0;
	double total = 0;

	for (size_t i = 0; i < d->n; i++) {
		double v = heating ? hdd(d->t[i], bp) : cdd(d->t[i], bp);
		nonzero += v > 0;
		total += v;
	}
	return nonzero >= DD_MIN_DAYS && total * 1.8 >= DD_MIN_TOTAL_F;
}

struct candidate {
	int hbp, cbp;              /* degF, -1 when not in the model */
	double c[3], adj_r2;
	int k;
};

static double predict_day(const struct candidate *m, double t)
{
	double v = m->c[0];
	int j = 1;

	if (m->hbp >= 0)
		v += m->c[j++] * hdd(t, F_TO_C(m->hbp));
	if (m->cbp >= 0)
		v += m->c[j] * cdd(t, F_TO_C(m->cbp));
	return v;
}

/* Fit one candidate: 1 when it qualifies (its degree-day coefficients
 * positive and significant), with its adjusted R^2. */
static int try_candidate(const struct daily_data *d, struct candidate *m)
{
	size_t n = d->n;
	double *X = mt_xmalloc(n * 3 * sizeof *X), se[3], sse = 0, sst = 0,
	    mean = 0;
	int k = 1 + (m->hbp >= 0) + (m->cbp >= 0), ok = 1;

	for (size_t i = 0; i < n; i++) {
		int j = 0;
		X[i * k + j++] = 1;
		if (m->hbp >= 0)
			X[i * k + j++] = hdd(d->t[i], F_TO_C(m->hbp));
		if (m->cbp >= 0)
			X[i * k + j] = cdd(d->t[i], F_TO_C(m->cbp));
		mean += d->y[i];
	}
	mean /= (double)n;
	if (lsq(X, d->y, NULL, n, (size_t)k, m->c, se) < 0)
		ok = 0;
	free(X);
	for (int j = 1; ok && j < k; j++) {
		double p = se[j] > 0 ? 2 * gsl_cdf_tdist_Q(fabs(m->c[j] / se[j]),
		    (double)(n - (size_t)k)) : 0;
		if (!(m->c[j] > 0) || !(p < d->max_p))
			ok = 0;
	}
	if (!ok)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double e = d->y[i] - predict_day(m, d->t[i]);
		sse += e * e;
		sst += (d->y[i] - mean) * (d->y[i] - mean);
	}
	m->k = k;
	m->adj_r2 = k == 1 || sst == 0 ? 0 :
	    1 - (sse / sst) * (double)(n - 1) / (double)(n - (size_t)k);
	return 1;
}

static void consider(const struct daily_data *d, struct candidate *best,
    int hbp, int cbp)
{
	struct candidate m = { .hbp = hbp, .cbp = cbp };

	if (try_candidate(d, &m) && (best->k == 0 || m.adj_r2 > best->adj_r2))
		*best = m;
}

/* CalTRACK's candidates in order, the best adjusted R^2 winning (the
 * earlier on a tie): the mean, HDD, CDD, then HDD and CDD together. */
static struct candidate select_daily(const struct daily_data *d)
{
	struct candidate best = { .k = 0 };
	int hok[GRID_N], cok[GRID_N];

	consider(d, &best, -1, -1);
	for (int i = 0; i < GRID_N; i++) {
		hok[i] = dd_enough(d, 1, F_TO_C(GRID_LO_F + i));
		cok[i] = dd_enough(d, 0, F_TO_C(GRID_LO_F + i));
	}
	for (int i = 0; i < GRID_N; i++)
		if (hok[i])
			consider(d, &best, GRID_LO_F + i, -1);
	for (int i = 0; i < GRID_N; i++)
		if (cok[i])
			consider(d, &best, -1, GRID_LO_F + i);
	for (int i = 0; i < GRID_N; i++)
		for (int j = i; j < GRID_N; j++)
			if (hok[i] && cok[j])
				consider(d, &best, GRID_LO_F + i, GRID_LO_F + j);
	return best;
}

static const char *daily_type(const struct candidate *m)
{
	if (m->hbp >= 0 && m->cbp >= 0)
		return "hdd_cdd";
	if (m->hbp >= 0)
		return "hdd_only";
	return m->cbp >= 0 ? "cdd_only" : "intercept_only";
}

static void daily_result(const struct mt_baseline *b, const struct day *days,
    size_t nd, const struct daily_data *d, const struct candidate *m,
    struct mt_baseline_fit *f)
{
	double *yhat = mt_xmalloc((d->n + 1) * sizeof *yhat), expected = 0,
	    actual = 0;
	size_t cap = 0;
	long nrep = 0;
	int j = 1;

	f->fitted = 1;
	f->type = daily_type(m);
	f->heating_f = m->hbp;
	f->cooling_f = m->cbp;
	f->intercept = m->c[0];
	if (m->hbp >= 0)
		f->beta_hdd = m->c[j++];
	if (m->cbp >= 0)
		f->beta_cdd = m->c[j];
	for (size_t i = 0; i < d->n; i++)
		yhat[i] = predict_day(m, d->t[i]);
	struct stats_in s = { d->y, yhat, d->n, m->k };
	fit_stats(&s, f);
	for (size_t i = 0; i < nd; i++) {
		int rep = in_reporting(b, days[i].day);
		double e;

		if (!has_temp(&days[i]) || (!rep && !in_baseline(b, days[i].day)))
			continue;
		e = predict_day(m, days[i].temp);
		add_pred(f, &cap, b->start + (mt_time_t)days[i].first * MT_HOUR_MS,
		    days[i].day, days[i].hours, rep, e);
		if (rep && day_usable(&days[i])) {
			expected += e;
			actual += days[i].use;
			nrep++;
		}
	}
	savings(&s, expected, actual, nrep, f);
	free(yhat);
}

void mt_baseline_daily(struct mt_baseline *b, struct mt_baseline_fit *f)
{
	size_t nd;
	struct day *days = days_of(b, &nd);
	struct daily_data d = { mt_xmalloc((nd + 1) * sizeof *d.y),
	    mt_xmalloc((nd + 1) * sizeof *d.t), 0, b->o.max_p };
	long want[13] = { 0 }, have[13] = { 0 }, no_temp = 0;

	fit_init(f, "daily");
	for (size_t i = 0; i < nd; i++) {
		if (!in_baseline(b, days[i].day))
			continue;
		want[days[i].month]++;
		no_temp += days[i].nuse == days[i].hours && !has_temp(&days[i]);
		if (!day_usable(&days[i]))
			continue;
		have[days[i].month]++;
		d.y[d.n] = days[i].use;
		d.t[d.n++] = days[i].temp;
	}
	if (sufficient(b, want, have, no_temp, "days", f->reason, sizeof f->reason) &&
	    positive_mean(d.y, d.n, f->reason, sizeof f->reason)) {
		struct candidate m = select_daily(&d);
		daily_result(b, days, nd, &d, &m, f);
	}
	free(d.y);
	free(d.t);
	free(days);
}

/* ---- the hourly model ---- */

struct segment {
	int fitted;
	int nends;
	double ends[NBIN_ENDS];      /* degC */
	uint8_t occupied[HOURS_OF_WEEK];
	int how_col[HOURS_OF_WEEK];  /* -1: no column */
	int bin_col[NBIN_ENDS + 1][2];   /* [bin][occupied] */
	double *coef;
	int ncols;
};

static int usable_hour(const struct mt_baseline *b, size_t i)
{
	return !isnan(b->use[i]) && !isnan(b->temp[i]);
}

static double seg_weight(int month, int target)
{
	if (month == target)
		return 1;
	if (month == target % 12 + 1 || target == month % 12 + 1)
		return 0.5;
	return 0;
}

/* The hours of month m's segment: the month's, and its neighbours' at
 * half weight. */
static size_t segment_rows(const struct mt_baseline *b, int m, size_t *rows,
    double *w, int *own)
{
	size_t n = 0;

	*own = 0;
	for (size_t i = 0; i < b->n; i++) {
		double wt;
		if (!in_baseline(b, b->day[i]) || !usable_hour(b, i) ||
		    (wt = seg_weight(b->month[i], m)) == 0)
			continue;
		*own += b->month[i] == m;
		rows[n] = i;
		w[n++] = wt;
	}
	return n;
}

/* Occupied hours of the week: above a simple degree-hour fit (cooling
 * above 65 degF, heating below 50 degF) more than 65 % of the time. */
static void occupancy(const struct mt_baseline *b, const size_t *rows,
    const double *w, size_t n, struct segment *s)
{
	double *X = mt_xmalloc(n * 3 * sizeof *X), *y = mt_xmalloc(n * sizeof *y),
	    c[3] = { 0, 0, 0 };
	long above[HOURS_OF_WEEK] = { 0 }, count[HOURS_OF_WEEK] = { 0 };

	for (size_t r = 0; r < n; r++) {
		double t = b->temp[rows[r]];
		X[r * 3] = 1;
		X[r * 3 + 1] = cdd(t, F_TO_C(65));
		X[r * 3 + 2] = hdd(t, F_TO_C(50));
		y[r] = b->use[rows[r]];
	}
	lsq(X, y, w, n, 3, c, NULL);
	for (size_t r = 0; r < n; r++) {
		int h = b->how[rows[r]];
		count[h]++;
		above[h] += y[r] > c[0] + c[1] * X[r * 3 + 1] + c[2] * X[r * 3 + 2];
	}
	for (int h = 0; h < HOURS_OF_WEEK; h++)
		s->occupied[h] = count[h] > 0 &&
		    (double)above[h] / (double)count[h] > OCCUPIED_SHARE;
	free(X);
	free(y);
}

/* CalTRACK's bin endpoints, merged until every bin holds 20 hours. */
static void fit_bins(const struct mt_baseline *b, const size_t *rows, size_t n,
    struct segment *s)
{
	s->nends = NBIN_ENDS;
	for (int i = 0; i < NBIN_ENDS; i++)
		s->ends[i] = F_TO_C(bin_ends_f[i]);
	while (s->nends > 0) {
		long count[NBIN_ENDS + 1] = { 0 };
		int low = -1;

		for (size_t r = 0; r < n; r++) {
			int bin = 0;
			while (bin < s->nends && b->temp[rows[r]] > s->ends[bin])
				bin++;
			count[bin]++;
		}
		for (int i = 0; i <= s->nends && low < 0; i++)
			if (count[i] < BIN_MIN_HOURS)
				low = i;
		if (low < 0)
			break;
		/* the last bin merges down, any other with the one above */
		int drop = low == s->nends ? s->nends - 1 : low;
		memmove(&s->ends[drop], &s->ends[drop + 1],
		    (size_t)(s->nends - drop - 1) * sizeof s->ends[0]);
		s->nends--;
	}
}

/* The temperature's share in each bin: they add up to t. */
static void bin_features(const struct segment *s, double t, double *f)
{
	int k = s->nends;

	if (k == 0) {
		f[0] = t;
		return;
	}
	f[0] = t < s->ends[0] ? t : s->ends[0];
	for (int i = 1; i < k; i++) {
		double v = t - s->ends[i - 1], width = s->ends[i] - s->ends[i - 1];
		f[i] = v < 0 ? 0 : v > width ? width : v;
	}
	f[k] = t > s->ends[k - 1] ? t - s->ends[k - 1] : 0;
}

/* The columns the segment's hours use: each hour of the week they have,
 * then each bin's temperature by occupancy, where not zero throughout. */
static void segment_columns(const struct mt_baseline *b, const size_t *rows,
    size_t n, struct segment *s)
{
	int used[NBIN_ENDS + 1][2] = { { 0 } }, has_how[HOURS_OF_WEEK] = { 0 };
	double f[NBIN_ENDS + 1];

	for (size_t r = 0; r < n; r++) {
		int h = b->how[rows[r]];
		has_how[h] = 1;
		bin_features(s, b->temp[rows[r]], f);
		for (int i = 0; i <= s->nends; i++)
			used[i][s->occupied[h]] |= f[i] != 0;
	}
	s->ncols = 0;
	for (int h = 0; h < HOURS_OF_WEEK; h++)
		s->how_col[h] = has_how[h] ? s->ncols++ : -1;
	for (int i = 0; i <= NBIN_ENDS; i++)
		for (int o = 0; o < 2; o++)
			s->bin_col[i][o] = i <= s->nends && used[i][o] ? s->ncols++ : -1;
}

static void design_row(const struct segment *s, int how, double t, double *x)
{
	double f[NBIN_ENDS + 1];
	int occ = s->occupied[how];

	memset(x, 0, (size_t)s->ncols * sizeof *x);
	x[s->how_col[how]] = 1;
	bin_features(s, t, f);
	for (int i = 0; i <= s->nends; i++)
		if (s->bin_col[i][occ] >= 0)
			x[s->bin_col[i][occ]] = f[i];
}

/* 1 and *v, or 0 when the segment cannot predict the hour */
static int predict_hour(const struct segment *s, int how, double t, double *v)
{
	double f[NBIN_ENDS + 1];
	int occ = s->occupied[how];

	if (!s->fitted || s->how_col[how] < 0)
		return 0;
	*v = s->coef[s->how_col[how]];
	bin_features(s, t, f);
	for (int i = 0; i <= s->nends; i++)
		if (s->bin_col[i][occ] >= 0)
			*v += f[i] * s->coef[s->bin_col[i][occ]];
	return 1;
}

static void fit_segment(const struct mt_baseline *b, int m, size_t *rows,
    double *w, struct segment *s)
{
	int own;
	size_t n = segment_rows(b, m, rows, w, &own);
	double *X, *y;

	memset(s, 0, sizeof *s);
	if (own == 0)
		return;
	occupancy(b, rows, w, n, s);
	fit_bins(b, rows, n, s);
	segment_columns(b, rows, n, s);
	X = mt_xmalloc(n * (size_t)s->ncols * sizeof *X);
	y = mt_xmalloc(n * sizeof *y);
	for (size_t r = 0; r < n; r++) {
		design_row(s, b->how[rows[r]], b->temp[rows[r]], X + r * (size_t)s->ncols);
		y[r] = b->use[rows[r]];
	}
	s->coef = mt_xmalloc((size_t)s->ncols * sizeof *s->coef);
	s->fitted = lsq(X, y, w, n, (size_t)s->ncols, s->coef, NULL) == 0;
	free(X);
	free(y);
}

static void hourly_result(const struct mt_baseline *b, struct segment *seg,
    struct mt_baseline_fit *f)
{
	double *y = mt_xmalloc(b->n * sizeof *y), *yhat = mt_xmalloc(b->n * sizeof *yhat);
	double expected = 0, actual = 0, v;
	size_t n = 0, cap = 0;
	long nrep = 0;
	int k = 0;

	f->fitted = 1;
	f->type = "tow_temperature";
	for (int m = 1; m <= 12; m++)
		if (seg[m].ncols > k)
			k = seg[m].ncols;
	for (size_t i = 0; i < b->n; i++) {
		int rep = in_reporting(b, b->day[i]);
		if (isnan(b->temp[i]) || (!rep && !in_baseline(b, b->day[i])) ||
		    !predict_hour(&seg[b->month[i]], b->how[i], b->temp[i], &v))
			continue;
		add_pred(f, &cap, b->start + (mt_time_t)i * MT_HOUR_MS, b->day[i], 1,
		    rep, v);
		if (isnan(b->use[i]))
			continue;
		if (rep) {
			expected += v;
			actual += b->use[i];
			nrep++;
		} else {
			y[n] = b->use[i];
			yhat[n++] = v;
		}
	}
	struct stats_in s = { y, yhat, n, k };
	fit_stats(&s, f);
	savings(&s, expected, actual, nrep, f);
	free(y);
	free(yhat);
}

void mt_baseline_hourly(struct mt_baseline *b, struct mt_baseline_fit *f)
{
	long want[13] = { 0 }, have[13] = { 0 }, no_temp = 0;
	struct segment seg[13];
	size_t *rows;
	double *w;

	fit_init(f, "hourly");
	for (size_t i = 0; i < b->n; i++)
		if (in_baseline(b, b->day[i])) {
			want[b->month[i]]++;
			have[b->month[i]] += usable_hour(b, i);
			no_temp += !isnan(b->use[i]) && isnan(b->temp[i]);
		}
	if (!sufficient(b, want, have, no_temp, "hours", f->reason, sizeof f->reason))
		return;
	rows = mt_xmalloc(b->n * sizeof *rows);
	w = mt_xmalloc(b->n * sizeof *w);
	/* the usable baseline hours' usage, for the mean, in the weights'
	 * buffer before the segments take it */
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		if (in_baseline(b, b->day[i]) && usable_hour(b, i))
			w[n++] = b->use[i];
	if (!positive_mean(w, n, f->reason, sizeof f->reason)) {
		free(rows);
		free(w);
		return;
	}
	for (int m = 1; m <= 12; m++)
		fit_segment(b, m, rows, w, &seg[m]);
	hourly_result(b, seg, f);
	for (int m = 1; m <= 12; m++)
		free(seg[m].coef);
	free(rows);
	free(w);
}

