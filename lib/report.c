/* report.c - meter-report's page: the benchmark figures of the warehouse
 * (the view benchmark, or its formulas over a date range) as one HTML file
 * with a ranking table, findings and per-building charts, and the same
 * tables as CSV.  The numbers come from SQL only; this file selects,
 * arranges and formats them. */
#define _POSIX_C_SOURCE 200809L
#include "meter.h"
#include "meter_priv.h"


#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENERGY "('electricity', 'gas', 'heat', 'cooling')"

/* ---- query results kept as text ---- */

struct table {
	int ncols;
	char **names;
	char ***rows;
	size_t nrows, cap;
};

static int collect(void *ctx, int n, const char *const *cols,
    const char *const *names)
{
	struct table *t = ctx;
	int i;

	if (names != NULL) {
		t->ncols = n;
		t->names = mt_xcalloc((size_t)n, sizeof *t->names);
		for (i = 0; i < n; i++)
			t->names[i] = mt_xstrdup(names[i]);
		return 0;
	}
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->rows = mt_xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->rows[t->nrows] = mt_xcalloc((size_t)n, sizeof **t->rows);
	for (i = 0; i < n; i++)
		t->rows[t->nrows][i] = cols[i] ? mt_xstrdup(cols[i]) : NULL;
	t->nrows++;
	return 0;
}

static void table_free(struct table *t)
{
	size_t r;
	int i;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			free(t->rows[r][i]);
		free(t->rows[r]);
	}
	for (i = 0; i < t->ncols; i++)
		free(t->names[i]);
	free(t->rows);
	free(t->names);
	memset(t, 0, sizeof *t);
}

static int col(const struct table *t, const char *name)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->names[i], name) == 0)
			return i;
	return -1;
}

static const char *cell(const struct table *t, size_t r, const char *name)
{
	int i = col(t, name);

	return i < 0 ? NULL : t->rows[r][i];
}

static double num(const struct table *t, size_t r, const char *name)
{
	const char *s = cell(t, r, name);

	return s == NULL ? NAN : strtod(s, NULL);
}

static int run(struct mt_db *db, struct table *t, const char *sql,
    const char *const *params, int n, struct mt_err *err)
{
	memset(t, 0, sizeof *t);
	return mt_db_select(db, sql, params, n, collect, t, err);
}

/* ---- CSV ---- */

struct csvdir {
	const char *dir;
	int failed;
	struct mt_err err;
};

/* A field as CSV (always quoted, by libcsv).  Text that a spreadsheet
 * would run as a formula (=, +, -, @ first, and not a number) gets a
 * leading apostrophe: a participant names its properties and types. */
static void csv_field(FILE *fp, const char *v)
{
	double ignored;
	char *text;
	size_t n, len = 0, k;

	if (v == NULL)
		return;
	/* an apostrophe first, and U+FFFD for what is not text */
	text = mt_xmalloc(3 * strlen(v) + 2);
	if (strchr("=+-@\t\r", v[0]) != NULL && v[0] != '\0' &&
	    mt_parse_double(v, &ignored) < 0)
		text[len++] = '\'';
	for (; *v; v += n ? n : 1) {
		if ((n = mt_utf8_char(v)) == 0) {
			memcpy(text + len, "\xef\xbf\xbd", 3);
			len += 3;
			continue;
		}
		for (k = 0; k < n; k++)
			text[len++] = v[k];
	}
	csv_fwrite(fp, text, len);
	free(text);
}

/* One table as DIR/NAME.csv, replaced atomically; the first failure is
 * kept and reported at the end. */
static void csv_table(struct csvdir *c, const char *name, const struct table *t)
{
	char path[4096], *tmp;
	FILE *fp;
	size_t r;
	int i;

	if (c->dir == NULL || c->failed)
		return;
	snprintf(path, sizeof path, "%s/%s.csv", c->dir, name);
	if ((fp = mt_atomic_open(path, &tmp, &c->err)) == NULL) {
		c->failed = 1;
		return;
	}
	for (i = 0; i < t->ncols; i++) {
		if (i)
			fputc(',', fp);
		csv_field(fp, t->names[i]);
	}
	fputc('\n', fp);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			if (i)
				fputc(',', fp);
			csv_field(fp, t->rows[r][i]);
		}
		fputc('\n', fp);
	}
	if (mt_atomic_commit(fp, tmp, path, &c->err) < 0)
		c->failed = 1;
}

/* Rows of one building's chart data, gathered for the CSV of every
 * building: participant and property first. */
static void append_rows(struct table *all, const struct table *t,
    const char *participant, const char *property)
{
	size_t r;
	int i;

	if (all->names == NULL) {
		all->ncols = t->ncols + 2;
		all->names = mt_xcalloc((size_t)all->ncols, sizeof *all->names);
		all->names[0] = mt_xstrdup("participant");
		all->names[1] = mt_xstrdup("property");
		for (i = 0; i < t->ncols; i++)
			all->names[i + 2] = mt_xstrdup(t->names[i]);
	}
	for (r = 0; r < t->nrows; r++) {
		const char *row[64];

		if (t->ncols + 2 > 64)
			return;
		row[0] = participant;
		row[1] = property;
		for (i = 0; i < t->ncols; i++)
			row[i + 2] = t->rows[r][i];
		collect(all, all->ncols, row, NULL);
	}
}

/* ---- the selection ---- */

static const char *const quantity_order[] = { "total", "electricity", "gas",
    "heat", "cooling" };

/* Every benchmark row of the period, ordered for the tables: by quantity,
 * type, rank by intensity (unranked last), then id.  The whole
 * population, since findings compare a building with all of its type. */
static int period_rows(struct mt_db *db, const struct mt_report_opts *o,
    const char *period, struct table *t, struct mt_err *err)
{
	const char *params[] = { period, o->from, o->to };
	const char *from = o->from != NULL ? mt_db_sql(db, MT_SQL_RANGE_FIGURES) :
	    "benchmark";
	size_t cap = strlen(from) + 1024;
	char *sql;
	int rc;

	sql = mt_xmalloc(cap);
	snprintf(sql, cap, "SELECT * FROM %s%s ORDER BY CASE quantity"
	    " WHEN 'total' THEN 0 WHEN 'electricity' THEN 1 WHEN 'gas' THEN 2"
	    " WHEN 'heat' THEN 3 ELSE 4 END, type, rank_kwh_per_m2 IS NULL,"
	    " rank_kwh_per_m2, kwh_per_m2, participant, property", from,
	    o->from != NULL ? "" : " WHERE period = ?1 AND coalesce(?2, ?3) IS NULL");
	rc = run(db, t, sql, params, 3, err);
	free(sql);
	return rc;
}

static int selected(const struct table *t, size_t r, const struct mt_report_opts *o)
{
	const char *type = cell(t, r, "type");
	size_t i;

	if (o->type != NULL && (type == NULL || strcmp(type, o->type) != 0))
		return 0;
	if (o->quantity != NULL && strcmp(cell(t, r, "quantity"), o->quantity) != 0)
		return 0;
	for (i = 0; i < o->nparticipants; i++)
		if (strcmp(cell(t, r, "participant"), o->participants[i]) == 0)
			return 1;
	return o->nparticipants == 0;
}

/* The rows of all that the options select, copied into t. */
static void select_rows(const struct table *all, const struct mt_report_opts *o,
    struct table *t)
{
	size_t r;

	memset(t, 0, sizeof *t);
	collect(t, all->ncols, NULL, (const char *const *)all->names);
	for (r = 0; r < all->nrows; r++)
		if (selected(all, r, o))
			collect(t, all->ncols, (const char *const *)all->rows[r], NULL);
}

/* ---- findings: sentences computed from the selected rows ---- */

#define MAX_FINDINGS 12
/* a heating slope is a finding only when the degree days explain at
 * least this much of the daily energy */
#define MIN_R2 0.5

struct findings {
	char *line[MAX_FINDINGS];
	int n;
};

static void finding(struct findings *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void finding(struct findings *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->n == MAX_FINDINGS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	f->line[f->n] = mt_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(f->line[f->n++], (size_t)n + 1, fmt, ap);
	va_end(ap);
}

static void findings_free(struct findings *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->line[i]);
	f->n = 0;
}

/* "participant/property": ids are unique only within a participant */
static const char *who(const struct table *t, size_t r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", cell(t, r, "participant"), cell(t, r, "property"));
	return buf;
}

static const char *type_name(const char *type)
{
	return type && *type ? type : "untyped";
}

/* Whether row r of the selection has the last rank (the most) in column
 * rank among the rows of its type and quantity in the population all, and
 * with how many ranked rows; ties share it. */
static int is_last(const struct table *all, const struct table *t, size_t r,
    const char *rank, int *of, int *tied)
{
	const char *type = cell(t, r, "type"), *q = cell(t, r, "quantity");
	double k = num(t, r, rank), max = 0;
	size_t i;

	*of = *tied = 0;
	if (!isfinite(k))
		return 0;
	for (i = 0; i < all->nrows; i++) {
		const char *ty = cell(all, i, "type");
		double v = num(all, i, rank);

		if (!isfinite(v) || strcmp(cell(all, i, "quantity"), q) != 0 ||
		    strcmp(ty ? ty : "", type ? type : "") != 0)
			continue;
		(*of)++;
		if (v > max) {
			max = v;
			*tied = 0;
		}
		*tied += v == max;
	}
	/* when every one shares it, nobody stands out */
	return *of > 1 && k == max && *tied < *of;
}

static void find_row(struct findings *f, const struct table *all,
    const struct table *t, size_t r)
{
	const char *q = cell(t, r, "quantity"), *type = type_name(cell(t, r, "type"));
	char w[256], a[64], b[64], tie[64];
	int of, tied;

	who(t, r, w, sizeof w);
#define TIE (snprintf(tie, sizeof tie, tied > 2 ? ", with %d others" : \
	tied > 1 ? ", with %d other" : "", tied - 1), tie)
	if (strcmp(q, "total") == 0) {
		if (is_last(all, t, r, "rank_kwh_per_m2", &of, &tied))
			finding(f, "%s uses the most energy per m\xc2\xb2 of the %d %s "
			    "buildings ranked%s: %s kWh/m\xc2\xb2.", w, of, type, TIE,
			    mt_fmt_auto(a, sizeof a, num(t, r, "kwh_per_m2")));
		return;
	}
	if (is_last(all, t, r, "rank_outside_office", &of, &tied))
		finding(f, "%s uses %s%% of its %s outside office hours, the most "
		    "among the %d %s buildings ranked%s.", w, mt_fmt_num(a, sizeof a,
		    100 * num(t, r, "outside_office_share"), 1), q, of, type, TIE);
	/* a slope that falls with the cold is not a heating one */
	if (is_last(all, t, r, "rank_heating", &of, &tied) &&
	    num(t, r, "hdd_slope_kwh_per_dd") > 0 && num(t, r, "hdd_r2") >= MIN_R2)
		finding(f, "%s's %s rises the most with the cold for its floor area "
		    "among the %d %s buildings ranked%s: %s kWh a day per heating "
		    "degree day (R\xc2\xb2 %s).", w, q, of, type, TIE,
		    mt_fmt_auto(a, sizeof a, num(t, r, "hdd_slope_kwh_per_dd")),
		    mt_fmt_num(b, sizeof b, num(t, r, "hdd_r2"), 2));
	if (is_last(all, t, r, "rank_baseload", &of, &tied))
		finding(f, "%s has the highest %s baseload for its floor area among "
		    "the %d %s buildings ranked%s: %s kW at night.", w, q, of, type,
		    TIE, mt_fmt_auto(a, sizeof a, num(t, r, "baseload_kw")));
#undef TIE
}

/* One sentence for the buildings the period does not cover enough, by
 * the rows of the first table (the total, or the quantity of -Q). */
static void unranked(struct findings *f, const struct table *t)
{
	char *names = NULL, w[256];
	size_t r, len = 0;
	int n = 0, all = 0;

	for (r = 0; r < t->nrows; r++) {
		if (strcmp(cell(t, r, "quantity"), cell(t, 0, "quantity")) != 0)
			continue;
		all++;
		if (cell(t, r, "not_ranked") == NULL || n++ >= 5)
			continue;
		who(t, r, w, sizeof w);
		names = mt_xrealloc(names, len + strlen(w) +
		    strlen(cell(t, r, "not_ranked")) + 8);
		len += (size_t)sprintf(names + len, "%s%s: %s", n > 1 ? "; " : "", w,
		    cell(t, r, "not_ranked"));
	}
	if (n > 0)
		finding(f, "%d of the %d buildings shown %s not ranked (%s%s).", n,
		    all, n == 1 ? "is" : "are", names, n > 5 ? "; ..." : "");
	free(names);
}

static void find_all(struct findings *f, const struct table *all,
    const struct table *t)
{
	char w[256], a[64], b[64];
	size_t r;

	for (r = 0; r < t->nrows; r++)
		find_row(f, all, t, r);
	unranked(f, t);
	for (r = 0; r < t->nrows; r++)
		if (strcmp(cell(t, r, "quantity"), cell(t, 0, "quantity")) == 0 &&
		    num(t, r, "suspect_hours") > 0)
			finding(f, "%s has %s suspect hours (%s kWh) left out of its "
			    "figures (meter-warehouse(5), Suspect hours).",
			    who(t, r, w, sizeof w), mt_fmt_num(a, sizeof a,
			    num(t, r, "suspect_hours"), 0), mt_fmt_auto(b, sizeof b,
			    num(t, r, "suspect_kwh")));
}

/* ---- the page ---- */

static const char *const css =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;"
    "color:#222;padding:0 1em}"
    "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;"
    "border-bottom:1px solid #ccc}h3{font-size:1.05em}"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "th,td{padding:.25em .5em;border-bottom:1px solid #e4e4e4;text-align:left}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".rank{color:#555;font-size:.85em}.muted{color:#666}"
    ".empty{padding:1em;background:#f4f4f4;border-left:4px solid #999}"
    "svg.chart{display:block;margin:.5em 0;max-width:100%;height:auto}"
    "div.wide{overflow-x:auto}"
    "section.building{page-break-inside:avoid}"
    "@media print{body{margin:0;max-width:none}div.wide{overflow:visible}"
    "table{font-size:6.5pt}th,td{padding:.1em .2em}}"
    "@page{size:A4 landscape;margin:10mm}";

static void head(FILE *out, const char *title)
{
	/* polyglot markup: HTML5 that is also well-formed XML, so an XML
	 * parser can check every page */
	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
	    "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	    "<title>", out);
	mt_html_text(out, title);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
	mt_html_text(out, title);
	fputs("</h1>\n", out);
}

static void td_num(FILE *out, double v, int decimals, const char *suffix,
    const char *rank)
{
	char b[64];

	fprintf(out, "<td class=\"num\">%s%s", mt_fmt_num(b, sizeof b, v, decimals),
	    isfinite(v) ? suffix : "");
	if (rank != NULL)
		fprintf(out, " <span class=\"rank\">#%s</span>", rank);
	fputs("</td>", out);
}

static void td_auto(FILE *out, double v, const char *rank)
{
	td_num(out, v, mt_fmt_decimals(v), "", rank);
}

struct column {
	const char *heading, *name, *rank;
	int percent;        /* shown as a percentage, one decimal */
	int per_quantity;   /* not shown for the total */
};

static const struct column columns[] = {
	{ "Area m\xc2\xb2", "area_m2", NULL, 0, 0 },
	{ "Coverage", "coverage", NULL, 1, 0 },
	{ "Energy kWh", "energy_kwh", NULL, 0, 0 },
	{ "kWh/m\xc2\xb2", "kwh_per_m2", "rank_kwh_per_m2", 0, 0 },
	{ "CO\xe2\x82\x82 kg/m\xc2\xb2", "co2_kg_per_m2", "rank_co2_per_m2", 0, 0 },
	{ "Baseload kW (# per m\xc2\xb2)", "baseload_kw", "rank_baseload", 0, 1 },
	{ "Peak kW (# per m\xc2\xb2)", "peak_kw", "rank_peak", 0, 1 },
	{ "Load factor", "load_factor", "rank_load_factor", 0, 1 },
	{ "Outside office hours", "outside_office_share", "rank_outside_office", 1, 0 },
	{ "Weekends &amp; holidays", "weekend_holiday_share", "rank_weekend_holiday", 1, 0 },
	{ "Heating kWh/DD (# per m\xc2\xb2)", "hdd_slope_kwh_per_dd", "rank_heating", 0, 1 },
	{ "R\xc2\xb2", "hdd_r2", NULL, 0, 1 },
	{ "Suspect hours", "suspect_hours", NULL, 0, 0 },
};

static void ranking_row(FILE *out, const struct table *t, size_t r, int total)
{
	const char *why = cell(t, r, "not_ranked");
	size_t k;

	fputs("<tr><td>", out);
	mt_html_text(out, cell(t, r, "participant"));
	fputs(" / <b>", out);
	mt_html_text(out, cell(t, r, "property"));
	fputs("</b></td><td>", out);
	mt_html_text(out, cell(t, r, "type"));
	fputs("</td>", out);
	for (k = 0; k < sizeof columns / sizeof columns[0]; k++) {
		const struct column *c = &columns[k];
		double v = num(t, r, c->name);

		if (total && c->per_quantity)
			continue;
		if (c->percent)
			td_num(out, 100 * v, 1, "%", NULL);
		else
			td_auto(out, v, c->rank ? cell(t, r, c->rank) : NULL);
	}
	fputs("<td class=\"muted\">", out);
	mt_html_text(out, why ? why : "");
	fputs("</td></tr>\n", out);
}

static void ranking_tables(FILE *out, const struct table *t, long max_rows)
{
	size_t q, r, k;

	for (q = 0; q < sizeof quantity_order / sizeof quantity_order[0]; q++) {
		const char *name = quantity_order[q];
		int total = q == 0;
		long shown = 0, rows = 0;

		for (r = 0; r < t->nrows; r++)
			rows += strcmp(cell(t, r, "quantity"), name) == 0;
		if (rows == 0)
			continue;
		fprintf(out, "<h3>%s</h3>\n<div class=\"wide\"><table class=\"ranking\" "
		    "data-quantity=\"%s\">"
		    "\n<tr><th>Building</th><th>Type</th>", total ? "All energy" : name,
		    name);
		for (k = 0; k < sizeof columns / sizeof columns[0]; k++)
			if (!(total && columns[k].per_quantity))
				fprintf(out, "<th class=\"num\">%s</th>", columns[k].heading);
		fputs("<th>Not ranked</th></tr>\n", out);
		for (r = 0; r < t->nrows && shown < max_rows; r++)
			if (strcmp(cell(t, r, "quantity"), name) == 0) {
				ranking_row(out, t, r, total);
				shown++;
			}
		fputs("</table></div>\n", out);
		if (rows > shown)
			fprintf(out, "<p class=\"muted\">%ld more building%s not shown "
			    "(--max-rows %ld): narrow the selection with -p or -t, or "
			    "see every row with --csv.</p>\n", rows - shown,
			    rows - shown == 1 ? "" : "s", max_rows);
	}
}

/* ---- a building's charts ---- */

struct building {
	const char *participant, *property, *first, *last;
	double slope, intercept, r2;
	const char *heating;      /* the quantity of its energy signature */
};

struct gathered {
	struct table monthly, profile, signature, coverage, baseline;
};

/* A building's charts (queries.sql.h, in the warehouse's SQL): ?1
 * participant, ?2 property, ?3 and ?4 the period's dates, ?5 the average
 * week's quantity, ?6 the signature's, ?7 -Q. */
static const enum mt_sql detail_sql[] = { MT_SQL_MONTHS, MT_SQL_WEEK,
	MT_SQL_SIGNATURE, MT_SQL_CALENDAR };

/* months since year 0 of a "YYYY-MM..." text, or -1 */
static long month_number(const char *s)
{
	int y, m;

	return s != NULL && sscanf(s, "%4d-%2d", &y, &m) == 2 ? y * 12L + m - 1 : -1;
}

/* Every month of the period is a category, those without data too: a
 * gap shows as a gap. */
static void monthly_chart(FILE *out, const struct building *b,
    const struct table *t)
{
	enum { MAX_MONTHS = 480 };
	char months[MAX_MONTHS][24], label[256];
	const char *cats[MAX_MONTHS], *names[8];
	double *v[8];
	struct mt_chart_series s[8];
	long first = month_number(b->first), nm = month_number(b->last) - first + 1;
	size_t ns = 0, r, k;
	long i;

	if (first < 0 || nm < 1 || nm > MAX_MONTHS) {
		fprintf(out, "<h4>Energy by month</h4>\n<p class=\"empty\">The period "
		    "has %ld months: the chart shows at most %d (forty years); choose a "
		    "shorter one with --year or --from and --to.</p>\n", nm, MAX_MONTHS);
		return;
	}
	for (i = 0; i < nm; i++) {
		snprintf(months[i], sizeof months[i], "%04ld-%02ld", (first + i) / 12,
		    (first + i) % 12 + 1);
		cats[i] = months[i];
	}
	for (r = 0; r < t->nrows; r++) {
		for (k = 0; k < ns && strcmp(names[k], t->rows[r][1]) != 0; k++)
			;
		if (k == ns && ns < 8)
			names[ns++] = t->rows[r][1];
	}
	for (k = 0; k < ns; k++) {
		v[k] = mt_xmalloc((size_t)(nm ? nm : 1) * sizeof *v[k]);
		for (i = 0; i < nm; i++)
			v[k][i] = NAN;
		s[k] = (struct mt_chart_series){ names[k], mt_chart_colour(names[k]), v[k] };
	}
	for (r = 0; r < t->nrows; r++) {
		i = month_number(t->rows[r][0]) - first;
		for (k = 0; k < ns && strcmp(names[k], t->rows[r][1]) != 0; k++)
			;
		if (i >= 0 && i < nm && k < ns)
			v[k][i] = strtod(t->rows[r][2], NULL);
	}
	snprintf(label, sizeof label, "Energy by month at %s, kWh", b->property);
	fputs("<h4>Energy by month</h4>\n", out);
	mt_chart_bars(out, label, cats, (size_t)nm, s, ns, "kWh");
	for (k = 0; k < ns; k++)
		free(v[k]);
}

static void profile_chart(FILE *out, const struct building *b, const char *q,
    const struct table *t)
{
	double v[7][24];
	char label[256];
	size_t r;
	int d, h;

	for (d = 0; d < 7; d++)
		for (h = 0; h < 24; h++)
			v[d][h] = NAN;
	for (r = 0; r < t->nrows; r++) {
		d = atoi(t->rows[r][0]);
		h = atoi(t->rows[r][1]);
		if (d >= 1 && d <= 7 && h >= 0 && h < 24)
			v[d - 1][h] = strtod(t->rows[r][2], NULL);
	}
	snprintf(label, sizeof label, "Average %s use by weekday and hour at %s, "
	    "kWh per hour", q, b->property);
	fprintf(out, "<h4>The average week: %s, kWh per hour (mean kW)</h4>\n", q);
	mt_chart_heatmap(out, label, (const double (*)[24])v, "kW");
}

static void signature_chart(FILE *out, const struct building *b,
    const struct table *t, long min_days)
{
	struct mt_chart_fit fit = { b->slope, b->intercept, b->r2 };
	double *x, *y;
	char label[256];
	size_t r;

	fprintf(out, "<h4>Energy signature: daily %s against heating degree days"
	    "</h4>\n", b->heating ? b->heating : "energy");
	if (b->heating == NULL || t->nrows == 0 || !isfinite(b->slope)) {
		if (t->nrows >= (size_t)min_days)
			fprintf(out, "<p class=\"empty\">No energy signature: the heating "
			    "degree days do not vary over its %zu complete days (no "
			    "heating weather in the period).</p>\n", t->nrows);
		else
			fprintf(out, "<p class=\"empty\">No energy signature: it needs %ld "
			    "complete days with outside temperatures (meter-enrich "
			    "--weather); this building has %zu.</p>\n", min_days, t->nrows);
		return;
	}
	x = mt_xmalloc(t->nrows * sizeof *x);
	y = mt_xmalloc(t->nrows * sizeof *y);
	for (r = 0; r < t->nrows; r++) {
		x[r] = t->rows[r][1] ? strtod(t->rows[r][1], NULL) : NAN;
		y[r] = t->rows[r][2] ? strtod(t->rows[r][2], NULL) : NAN;
	}
	snprintf(label, sizeof label, "Daily %s at %s against heating degree days, "
	    "with the least-squares line", b->heating, b->property);
	mt_chart_scatter(out, label, x, y, t->nrows, &fit,
	    "heating degree days (\xc2\xb0" "C\xc2\xb7" "day)", "kWh per day",
	    mt_chart_colour(b->heating));
	free(x);
	free(y);
}

/* A local date's day number (days since 1970-01-01), or -1. */
static int64_t day_number(const char *date)
{
	int y;
	unsigned m, d;

	if (date == NULL || sscanf(date, "%d-%u-%u", &y, &m, &d) != 3)
		return -1;
	return mt_days_from_civil(y, m, d);
}

static void coverage_chart(FILE *out, const struct building *b,
    const struct table *t)
{
	int64_t first = day_number(b->first), n = day_number(b->last) - first + 1, i;
	char **dates, label[256];
	double *cover;
	size_t r = 0;

	fputs("<h4>Data coverage by day</h4>\n", out);
	/* 1,100 days keep a cell two units wide in the chart's width */
	if (first < 0 || n <= 0 || n > 1100) {
		char days[64];

		fprintf(out, "<p class=\"empty\">The period has %s days: the calendar "
		    "shows at most 1,100 (three years); choose a shorter one with "
		    "--year or --from and --to.</p>\n", mt_fmt_num(days, sizeof days,
		    (double)n, 0));
		return;
	}
	dates = mt_xcalloc((size_t)n, sizeof *dates);
	cover = mt_xmalloc((size_t)n * sizeof *cover);
	for (i = 0; i < n; i++) {
		int y;
		unsigned m, d;

		mt_civil_from_days(first + i, &y, &m, &d);
		dates[i] = mt_xmalloc(16);
		snprintf(dates[i], 16, "%04d-%02u-%02u", y, m, d);
		cover[i] = NAN;
		while (r < t->nrows && strcmp(t->rows[r][0], dates[i]) < 0)
			r++;
		if (r < t->nrows && strcmp(t->rows[r][0], dates[i]) == 0)
			cover[i] = fmin(1, atof(t->rows[r][1]) / atof(t->rows[r][2]));
	}
	snprintf(label, sizeof label, "Share of hours present per day at %s, %s to %s",
	    b->property, b->first, b->last);
	/* 1970-01-01, day 0, was a Thursday (ISO 4) */
	mt_chart_calendar(out, label, (const char *const *)dates, cover, (size_t)n,
	    (int)(((first % 7) + 7 + 3) % 7) + 1);
	for (i = 0; i < n; i++)
		free(dates[i]);
	free(dates);
	free(cover);
}

/* The quantity of the building's average week (-Q, else electricity, else
 * its first) and of its energy signature (-Q, else the one with a fit,
 * heating fuels first), from every row of the building in the period. */
static void pick_quantities(const struct table *t, const char *only,
    struct building *b, const char **profile_q)
{
	static const char *const heating_order[] = { "gas", "heat", "electricity",
	    "cooling" };
	const char *q;
	size_t r, k;

	if (only != NULL && strcmp(only, "total") == 0)
		only = NULL;
	*profile_q = NULL;
	b->heating = NULL;
	b->slope = b->intercept = b->r2 = NAN;
	for (k = 0; k < 4 && b->heating == NULL; k++)
		for (r = 0; r < t->nrows; r++) {
			if (strcmp(cell(t, r, "participant"), b->participant) != 0 ||
			    strcmp(cell(t, r, "property"), b->property) != 0)
				continue;
			q = cell(t, r, "quantity");
			if (strcmp(q, "total") == 0 || (only != NULL && strcmp(q, only) != 0))
				continue;
			if (*profile_q == NULL || strcmp(q, "electricity") == 0)
				*profile_q = q;
			if (strcmp(q, heating_order[k]) == 0 &&
			    isfinite(num(t, r, "hdd_slope_kwh_per_dd"))) {
				b->heating = heating_order[k];
				b->slope = num(t, r, "hdd_slope_kwh_per_dd");
				b->intercept = num(t, r, "hdd_intercept_kwh");
				b->r2 = num(t, r, "hdd_r2");
			}
		}
	if (b->heating == NULL)
		b->heating = *profile_q;
}

/* ---- a building's baseline: expected against actual (meter-baseline) ---- */

static const char *const baseline_fit_sql =
    "SELECT quantity, model, status, reason, model_type, baseline_from,"
    " baseline_to, reporting_from, reporting_to, heating_balance_c,"
    " cooling_balance_c, n, r2, cvrmse, nmbe, expected, actual, savings, fsu_90"
    " FROM baseline_fit WHERE participant = ?1 AND property = ?2"
    " ORDER BY quantity, model";
/* the reporting period's days compared, by month */
static const char *const baseline_month_sql =
    "SELECT quantity, model, month, sum(actual) AS actual,"
    " sum(expected) AS expected, sum(savings) AS savings, count(*) AS days"
    " FROM baseline_savings WHERE participant = ?1 AND property = ?2"
    " AND period = 'reporting' GROUP BY quantity, model, month"
    " ORDER BY quantity, model, month";

static void balance_point(FILE *out, const char *what, double c)
{
	if (isfinite(c))
		fprintf(out, " %s balance point %.1f \xc2\xb0" "C (%ld \xc2\xb0" "F).",
		    what, c, lround(c * 9 / 5 + 32));
}

static void baseline_fit_text(FILE *out, const struct table *f, size_t r)
{
	char a[64], b[64], c[64], d[64];
	int daily = strcmp(cell(f, r, "model"), "daily") == 0;
	double saved = num(f, r, "savings"), expected = num(f, r, "expected");

	fprintf(out, "<p>Fitted on %s %s from %s to %s (%s): R\xc2\xb2 %.3f, "
	    "CVRMSE %.1f%%, NMBE %.2f%%.", mt_fmt_num(a, sizeof a, num(f, r, "n"), 0),
	    daily ? "days" : "hours", cell(f, r, "baseline_from"),
	    cell(f, r, "baseline_to"), cell(f, r, "model_type"), num(f, r, "r2"),
	    100 * num(f, r, "cvrmse"), 100 * num(f, r, "nmbe"));
	balance_point(out, "Heating", num(f, r, "heating_balance_c"));
	balance_point(out, "Cooling", num(f, r, "cooling_balance_c"));
	fputs("</p>\n", out);
	if (!isfinite(saved) || cell(f, r, "reporting_from") == NULL)
		return;
	fprintf(out, "<p class=\"savings\">From %s to %s: %s kWh used against %s "
	    "kWh expected, savings of <strong>%s kWh</strong> (%.1f%% of expected)",
	    cell(f, r, "reporting_from"), cell(f, r, "reporting_to"),
	    mt_fmt_num(a, sizeof a, num(f, r, "actual"), 0),
	    mt_fmt_num(b, sizeof b, expected, 0), mt_fmt_num(c, sizeof c, saved, 0),
	    expected != 0 ? 100 * saved / expected : NAN);
	if (isfinite(num(f, r, "fsu_90")))
		fprintf(out, " \xc2\xb1 %s kWh at 90%% confidence", mt_fmt_num(d,
		    sizeof d, fabs(num(f, r, "fsu_90") * saved), 0));
	fputs(".</p>\n", out);
}

static int same_fit(const struct table *m, size_t r, const struct table *f,
    size_t fr)
{
	return strcmp(m->rows[r][0], cell(f, fr, "quantity")) == 0 &&
	    strcmp(m->rows[r][1], cell(f, fr, "model")) == 0;
}

static void baseline_chart(FILE *out, const struct building *b,
    const struct table *m, const struct table *f, size_t fr)
{
	enum { MAX_MONTHS = 480 };
	const char *cats[MAX_MONTHS];
	double *actual = mt_xmalloc(MAX_MONTHS * sizeof *actual),
	    *expected = mt_xmalloc(MAX_MONTHS * sizeof *expected);
	struct mt_chart_series s[2] = {
		{ "actual", mt_chart_colour(cell(f, fr, "quantity")), actual },
		{ "expected", "#999999", expected } };
	char label[256];
	size_t n = 0;

	for (size_t r = 0; r < m->nrows && n < MAX_MONTHS; r++)
		if (same_fit(m, r, f, fr)) {
			cats[n] = m->rows[r][2];
			actual[n] = num(m, r, "actual");
			expected[n++] = num(m, r, "expected");
		}
	snprintf(label, sizeof label, "%s at %s by month, actual and expected "
	    "by its baseline, kWh", cell(f, fr, "quantity"), b->property);
	if (n > 0)
		mt_chart_bars(out, label, cats, n, s, 2, "kWh");
	free(actual);
	free(expected);
}

static void baseline_table(FILE *out, const struct table *m,
    const struct table *f, size_t fr)
{
	double cumulative = 0;

	fputs("<div class=\"wide\"><table class=\"baseline\">\n<tr><th>Month</th>"
	    "<th class=\"num\">Actual kWh</th><th class=\"num\">Expected kWh</th>"
	    "<th class=\"num\">Savings kWh</th><th class=\"num\">Cumulative kWh</th>"
	    "<th class=\"num\">Days compared</th></tr>\n", out);
	for (size_t r = 0; r < m->nrows; r++) {
		if (!same_fit(m, r, f, fr))
			continue;
		cumulative += num(m, r, "savings");
		fputs("<tr><td>", out);
		mt_html_text(out, m->rows[r][2]);
		fputs("</td>", out);
		td_num(out, num(m, r, "actual"), 1, "", NULL);
		td_num(out, num(m, r, "expected"), 1, "", NULL);
		td_num(out, num(m, r, "savings"), 1, "", NULL);
		td_num(out, cumulative, 1, "", NULL);
		td_num(out, num(m, r, "days"), 0, "", NULL);
		fputs("</tr>\n", out);
	}
	fputs("</table></div>\n", out);
}

/* Each fit of the building: how well it fits, the savings with their
 * uncertainty, actual against expected by month; nothing when none. */
static int baseline_section(FILE *out, struct mt_db *db,
    const struct building *b, struct gathered *all, struct mt_err *err)
{
	const char *params[2] = { b->participant, b->property };
	struct table f, m;
	int rc;

	if ((rc = run(db, &f, baseline_fit_sql, params, 2, err)) == 0)
		rc = run(db, &m, baseline_month_sql, params, 2, err);
	for (size_t r = 0; rc == 0 && r < f.nrows; r++) {
		fprintf(out, "<h4>Baseline: %s, %s model</h4>\n",
		    cell(&f, r, "quantity"), cell(&f, r, "model"));
		if (strcmp(cell(&f, r, "status"), "fitted") != 0) {
			fputs("<p class=\"empty\">Not fitted: ", out);
			mt_html_text(out, cell(&f, r, "reason"));
			fputs(".</p>\n", out);
			continue;
		}
		baseline_fit_text(out, &f, r);
		baseline_chart(out, b, &m, &f, r);
		baseline_table(out, &m, &f, r);
	}
	if (rc == 0)
		append_rows(&all->baseline, &m, b->participant, b->property);
	table_free(&f);
	table_free(&m);
	return rc;
}

static int building_section(FILE *out, struct mt_db *db, const struct table *t,
    size_t row, const struct table *pop, const char *quantity,
    struct gathered *all, long min_days, struct mt_err *err)
{
	struct building b = { .participant = cell(t, row, "participant"),
	    .property = cell(t, row, "property"), .first = cell(t, row, "first_date"),
	    .last = cell(t, row, "last_date") };
	struct table d[4];
	const char *profile_q, *params[7];
	int i, rc = 0;

	/* the quantities come from every row of the building, whatever -Q
	 * shows in the tables (-Q total has none of its own) */
	pick_quantities(pop, quantity, &b, &profile_q);
	params[0] = b.participant;
	params[1] = b.property;
	params[2] = b.first;
	params[3] = b.last;
	params[4] = profile_q;
	params[5] = b.heating;
	params[6] = quantity;
	for (i = 0; i < 4; i++)
		memset(&d[i], 0, sizeof d[i]);
	for (i = 0; i < 4 && rc == 0; i++)
		rc = run(db, &d[i], mt_db_sql(db, detail_sql[i]), params, 7, err);
	if (rc == 0) {
		fputs("<section class=\"building\">\n<h3>", out);
		mt_html_text(out, b.participant);
		fputs(" / ", out);
		mt_html_text(out, b.property);
		fprintf(out, " <span class=\"muted\">%s to %s</span></h3>\n", b.first,
		    b.last);
		monthly_chart(out, &b, &d[0]);
		if (profile_q != NULL)
			profile_chart(out, &b, profile_q, &d[1]);
		signature_chart(out, &b, &d[2], min_days);
		coverage_chart(out, &b, &d[3]);
		rc = baseline_section(out, db, &b, all, err);
		fputs("</section>\n", out);
		append_rows(&all->monthly, &d[0], b.participant, b.property);
		append_rows(&all->profile, &d[1], b.participant, b.property);
		append_rows(&all->signature, &d[2], b.participant, b.property);
		append_rows(&all->coverage, &d[3], b.participant, b.property);
	}
	for (i = 0; i < 4; i++)
		table_free(&d[i]);
	return rc;
}

/* The buildings in the order of the first table (the total's), each once. */
static int buildings(FILE *out, struct mt_db *db, const struct table *t,
    const struct table *pop, const struct mt_report_opts *o,
    struct gathered *all, long min_days, struct mt_err *err)
{
	long shown = 0, count = 0;
	size_t r, k;

	for (r = 0; r < t->nrows; r++) {
		for (k = 0; k < r; k++)
			if (strcmp(cell(t, k, "participant"), cell(t, r, "participant")) == 0 &&
			    strcmp(cell(t, k, "property"), cell(t, r, "property")) == 0)
				break;
		if (k < r)
			continue;
		count++;
		if (shown < o->max_buildings) {
			if (building_section(out, db, t, r, pop, o->quantity, all,
			    min_days, err) < 0)
				return -1;
			shown++;
		}
	}
	if (count > shown)
		fprintf(out, "<p class=\"muted\">Charts of %ld more building%s not "
		    "shown (--max-buildings %ld): narrow the selection with -p or "
		    "-t.</p>\n", count - shown, count - shown == 1 ? "" : "s",
		    o->max_buildings);
	return 0;
}

/* What the page covers, in words: the warehouse by its file name only
 * (the page is mailed; the server's paths stay on the server). */
static void selection_text(FILE *out, const struct mt_report_opts *o)
{
	size_t i;

	if (o->from != NULL)
		fprintf(out, "from %s to %s", o->from, o->to);
	else if (o->year != NULL)
		fprintf(out, "the year %s", o->year);
	else
		fputs("the last 12 months of each building's data", out);
	if (o->nparticipants) {
		fputs(o->nparticipants > 1 ? "; participants " : "; participant ", out);
		for (i = 0; i < o->nparticipants; i++) {
			fputs(i ? ", " : "", out);
			mt_html_text(out, o->participants[i]);
		}
	}
	if (o->type) {
		fputs("; property type ", out);
		mt_html_text(out, o->type);
	}
	if (o->quantity) {
		fputs("; quantity ", out);
		mt_html_text(out, o->quantity);
	}
}

static void selection_line(FILE *out, const struct mt_report_opts *o)
{
	const char *base = strrchr(o->source, '/');
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
	fputs("<p class=\"muted\">Warehouse <code>", out);
	mt_html_text(out, base ? base + 1 : o->source);
	fputs("</code>; ", out);
	selection_text(out, o);
	fprintf(out, ". Written %s.</p>\n", when);
}

static void methods(FILE *out, long percentile)
{
	fprintf(out, "<h2>How the figures are computed</h2>\n<p class=\"muted\">"
	    "Per building, period and energy quantity, from its hourly values "
	    "in the warehouse; suspect hours are left out. kWh/m\xc2\xb2 and "
	    "CO\xe2\x82\x82 kg/m\xc2\xb2 over the property's floor area. "
	    "Baseload: percentile %ld (nearest rank) of the days' mean night load, the "
	    "hours starting 00:00 to 04:00 local time (kWh in an hour = mean kW). Peak: the largest hour. "
	    "Load factor: mean over peak. Outside office hours: the share of "
	    "the energy of hours outside the property's office hours. Weekends "
	    "&amp; holidays: the share on Saturdays, Sundays and holidays. "
	    "Heating kWh/DD: the least-squares slope of daily energy against "
	    "heating degree days (\xc2\xb0" "C\xc2\xb7" "day below the base "
	    "temperature) over complete days, with its R\xc2\xb2. "
	    "# is the rank among buildings of the same type in the warehouse "
	    "(1 the lowest; for load factor the highest; baseload, peak and "
	    "heating ranked per m\xc2\xb2 of floor area, so that size does not "
	    "rank), given when the period is covered enough. Baseline: the "
	    "expected use of meter-baseline(1)'s fit (CalTRACK's daily or hourly "
	    "model) against the actual use of the reporting period's days with "
	    "every hour in; the savings' uncertainty is ASHRAE Guideline 14's at "
	    "90%% confidence. meter-warehouse(5) gives every formula and "
	    "setting.</p>\n", percentile);
}

static void findings_list(FILE *out, const struct findings *f)
{
	int i;

	fputs("<h2>Findings</h2>\n", out);
	if (f->n == 0) {
		fputs("<p class=\"muted\">Nothing stands out.</p>\n", out);
		return;
	}
	fputs("<ul class=\"findings\">\n", out);
	for (i = 0; i < f->n; i++) {
		fputs("<li>", out);
		mt_html_text(out, f->line[i]);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void findings_table(const struct findings *f, struct table *t)
{
	const char *name = "finding";
	int i;

	collect(t, 1, NULL, &name);
	for (i = 0; i < f->n; i++) {
		const char *line = f->line[i];

		collect(t, 1, &line, NULL);
	}
}

static double setting_value(struct mt_db *db, const char *name, double dflt)
{
	struct table t;
	struct mt_err ignored;
	double v = dflt;

	if (run(db, &t, "SELECT value FROM settings WHERE name = ?1", &name, 1,
	    &ignored) == 0 && t.nrows == 1 && t.rows[0][0] != NULL)
		v = strtod(t.rows[0][0], NULL);
	table_free(&t);
	return v;
}

static void no_data(FILE *out, const struct mt_report_opts *o)
{
	fputs("<p class=\"empty\">No energy data for this selection (", out);
	selection_text(out, o);
	fprintf(out, "): the warehouse has no %s hours of such buildings in "
	    "this period. Check the participant ids (-p), the property type "
	    "(-t) and the quantity (-Q) against the configurations loaded, "
	    "choose another period (--year, --from and --to), or load property "
	    "hours with meter-load (or run meter-hourly).</p>\n",
	    o->quantity == NULL || strcmp(o->quantity, "total") == 0 ?
	    "electricity, gas, heat or cooling" : o->quantity);
}

/* --csv: each table of the page; the first failure is the one said. */
static int write_csvs(const char *dir, const struct table *rows,
    const struct table *found, const struct gathered *all, struct mt_err *err)
{
	struct csvdir csv = { .dir = dir, .failed = 0 };

	csv_table(&csv, "ranking", rows);
	csv_table(&csv, "findings", found);
	csv_table(&csv, "monthly", &all->monthly);
	csv_table(&csv, "profile", &all->profile);
	csv_table(&csv, "signature", &all->signature);
	csv_table(&csv, "coverage", &all->coverage);
	csv_table(&csv, "baseline", &all->baseline);
	if (csv.failed)
		*err = csv.err;
	return csv.failed ? -1 : 0;
}

int mt_report_write(struct mt_db *db, const struct mt_report_opts *o, FILE *out,
    struct mt_err *err)
{
	char period[64];
	struct table population = { 0 }, rows = { 0 }, found = { 0 };
	struct gathered all = { { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
	struct findings f = { .n = 0 };
	long min_days;
	int rc = -1;

	if (o->from != NULL)
		snprintf(period, sizeof period, "%s..%s", o->from, o->to);
	else
		snprintf(period, sizeof period, "%s", o->year ? o->year : "trailing-12m");
	if (mt_db_read_begin(db, err) < 0)
		return -1;
	min_days = lround(setting_value(db, "signature_min_days", 7));
	if (period_rows(db, o, period, &population, err) < 0)
		goto done;
	select_rows(&population, o, &rows);
	head(out, o->title ? o->title : "Energy benchmarking report");
	selection_line(out, o);
	if (rows.nrows == 0) {
		no_data(out, o);
	} else {
		find_all(&f, &population, &rows);
		findings_list(out, &f);
		fputs("<h2>Ranking</h2>\n", out);
		ranking_tables(out, &rows, o->max_rows);
		fputs("<h2>Buildings</h2>\n", out);
		if (buildings(out, db, &rows, &population, o, &all, min_days, err) < 0)
			goto done;
	}
	methods(out, lround(100 * setting_value(db, "baseload_percentile", 0.1)));
	fputs("</body>\n</html>\n", out);
	findings_table(&f, &found);
	rc = write_csvs(o->csv_dir, &rows, &found, &all, err);
done:
	mt_db_rollback(db);
	findings_free(&f);
	table_free(&population);
	table_free(&rows);
	table_free(&found);
	table_free(&all.monthly);
	table_free(&all.profile);
	table_free(&all.signature);
	table_free(&all.coverage);
	table_free(&all.baseline);
	return rc;
}
