/* chart.c - the report's charts as inline SVG, and the formatting of
 * numbers and text for it.  No script and no external file: the page
 * reads offline, in a mail, and prints.  Colours are the Okabe-Ito
 * palette (series) and viridis (scales), both readable with the common
 * colour-vision deficiencies; every chart has axes, units and a legend. */
#define _POSIX_C_SOURCE 200809L
#include "meter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 640          /* every chart's width in SVG units */
#define FONT "font-size=\"11\""

/* The length of the well-formed UTF-8 sequence at s of a character XML
 * allows (no C0 control but tab and newline, no surrogate, no U+FFFE or
 * U+FFFF, nothing overlong or past U+10FFFF), or 0. */
size_t mt_utf8_char(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	size_t n, i;

	if (p[0] < 0x80)
		return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' ? 1 : 0;
	n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 :
	    (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0)
		return 0;
	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
		return 0;
	return n;
}

/* Text escaped for HTML content and attribute values; a byte that is not
 * part of a character XML allows becomes U+FFFD, so that no name from a
 * configuration or the command line can make the page ill-formed. */
void mt_html_text(FILE *out, const char *s)
{
	size_t n;

	for (; s != NULL && *s; s += n ? n : 1) {
		if ((n = mt_utf8_char(s)) == 0) {
			fputs("\xef\xbf\xbd", out);
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, out);
			continue;
		}
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* Four significant digits, at most four decimals, thousands grouped with
 * commas: 4,571  1.387  0.2704  39.90. */
int mt_fmt_decimals(double v)
{
	int mag;

	if (v == 0 || !isfinite(v))
		return 0;
	mag = (int)floor(log10(fabs(v)));
	return mag >= 3 ? 0 : mag <= -1 ? 4 : 3 - mag;
}

char *mt_fmt_num(char *buf, size_t cap, double v, int decimals)
{
	char digits[64], *p = buf, *end = buf + cap - 1;
	const char *d, *dot;
	size_t intlen, i;

	if (!isfinite(v)) {
		snprintf(buf, cap, "\xe2\x80\x93");     /* an en dash: no value */
		return buf;
	}
	snprintf(digits, sizeof digits, "%.*f", decimals, v);
	if (strspn(digits, "-0.") == strlen(digits) && digits[0] == '-')
		memmove(digits, digits + 1, strlen(digits));   /* no "-0.0" */
	d = digits;
	if (*d == '-' && p < end)
		*p++ = *d++;
	dot = strchr(d, '.');
	intlen = dot ? (size_t)(dot - d) : strlen(d);
	for (i = 0; i < intlen && p < end; i++) {
		*p++ = d[i];
		if ((intlen - i - 1) % 3 == 0 && i + 1 < intlen && p < end)
			*p++ = ',';
	}
	for (d += intlen; *d && p < end; d++)
		*p++ = *d;
	*p = '\0';
	return buf;
}

char *mt_fmt_auto(char *buf, size_t cap, double v)
{
	return mt_fmt_num(buf, cap, v, mt_fmt_decimals(v));
}

/* ---- scales and axes ---- */

/* 1, 2 or 5 times a power of ten, about range / 5. */
static double nice_step(double range)
{
	double p, f;

	if (!(range > 0))
		return 1;
	p = pow(10, floor(log10(range / 5)));
	f = range / 5 / p;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

struct axis {
	double lo, hi, step;
	int x0, x1;     /* pixels of lo and hi */
};

static void axis_fit(struct axis *a, double lo, double hi, int from_zero)
{
	if (from_zero && lo > 0)
		lo = 0;
	if (!(hi > lo))
		hi = lo + 1;
	a->step = nice_step(hi - lo);
	a->lo = floor(lo / a->step) * a->step;
	a->hi = ceil(hi / a->step) * a->step;
}

static double axis_px(const struct axis *a, double v)
{
	return a->x0 + (v - a->lo) / (a->hi - a->lo) * (a->x1 - a->x0);
}

static void tick_label(char *buf, size_t cap, const struct axis *a, double v)
{
	int dec = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);

	mt_fmt_num(buf, cap, v, dec);
}

/* The left margin a y axis needs: its widest tick label (about 6.5 units
 * a character at the charts' font size) and the rotated title beside. */
static int axis_left(const struct axis *y)
{
	char lab[64];
	size_t w = 0;
	double v;

	for (v = y->lo; v <= y->hi + y->step / 2; v += y->step) {
		tick_label(lab, sizeof lab, y, v);
		if (strlen(lab) > w)
			w = strlen(lab);
	}
	return w * 13 / 2 + 30 > 64 ? (int)(w * 13 / 2 + 30) : 64;
}

/* The y axis on the left with grid lines across the plot, and its title. */
static void y_axis(FILE *out, const struct axis *y, int left, int right,
    const char *title)
{
	char lab[64];
	double v;

	for (v = y->lo; v <= y->hi + y->step / 2; v += y->step) {
		double py = axis_px(y, v);

		tick_label(lab, sizeof lab, y, v);
		fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#ddd\"/>", left, right, py, py);
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" " FONT
		    ">%s</text>", left - 4, py + 4, lab);
	}
	fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
	    left, left, y->x0, y->x1);
	fprintf(out, "<text transform=\"translate(12 %d) rotate(-90)\" "
	    "text-anchor=\"middle\" " FONT ">", (y->x0 + y->x1) / 2);
	mt_html_text(out, title);
	fputs("</text>", out);
}

static void x_axis_numeric(FILE *out, const struct axis *x, int bottom,
    const char *title)
{
	char lab[64];
	double v;

	fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
	    x->x0, x->x1, bottom, bottom);
	for (v = x->lo; v <= x->hi + x->step / 2; v += x->step) {
		tick_label(lab, sizeof lab, x, v);
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" " FONT
		    ">%s</text>", axis_px(x, v), bottom + 14, lab);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" " FONT ">",
	    (x->x0 + x->x1) / 2, bottom + 30);
	mt_html_text(out, title);
	fputs("</text>", out);
}

static void svg_open(FILE *out, int h, const char *label)
{
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
	    "aria-label=\"", W, h, W, h);
	mt_html_text(out, label);
	fputs("\"><title>", out);
	mt_html_text(out, label);
	fputs("</title>", out);
}

/* ---- the four charts ---- */

const char *mt_chart_colour(const char *quantity)
{
	static const struct { const char *q, *c; } pal[] = {
		{ "electricity", "#0072B2" }, { "gas", "#E69F00" },
		{ "heat", "#D55E00" }, { "cooling", "#56B4E9" },
		{ "total", "#000000" },
	};
	size_t i;

	for (i = 0; i < sizeof pal / sizeof pal[0]; i++)
		if (strcmp(pal[i].q, quantity) == 0)
			return pal[i].c;
	return "#009E73";
}

/* Grouped bars: one group per category (month), a bar per series. */
void mt_chart_bars(FILE *out, const char *label, const char *const *cats,
    size_t ncat, const struct mt_chart_series *s, size_t ns, const char *unit)
{
	const int h = 260, right = W - 10, top = 30, bottom = h - 50;
	struct axis y = { .x0 = bottom, .x1 = top };
	double hi = 0, lo = 0, group, bar, zero;
	char lab[64];
	size_t c, i;
	int left;

	for (i = 0; i < ns; i++)
		for (c = 0; c < ncat; c++)
			if (isfinite(s[i].v[c])) {
				hi = fmax(hi, s[i].v[c]);
				lo = fmin(lo, s[i].v[c]);
			}
	/* a negative value (export, a correction) goes below the zero line */
	axis_fit(&y, lo, hi, 1);
	left = axis_left(&y);
	zero = axis_px(&y, 0);
	svg_open(out, h, label);
	y_axis(out, &y, left, right, unit);
	group = (double)(right - left) / (ncat ? ncat : 1);
	bar = group * 0.8 / (ns ? ns : 1);
	for (c = 0; c < ncat; c++) {
		double gx = left + c * group + group * 0.1;

		for (i = 0; i < ns; i++) {
			double v = s[i].v[c], py;

			if (!isfinite(v))
				continue;
			py = axis_px(&y, v);
			fprintf(out, "<path d=\"M%.1f %.1f V%.1f h%.1f V%.1f Z\" fill=\"%s\">"
			    "<title>", gx + i * bar, zero, py, bar * 0.9, zero,
			    s[i].colour);
			mt_html_text(out, s[i].name);
			fprintf(out, " %s: %s ", cats[c], mt_fmt_auto(lab, sizeof lab, v));
			mt_html_text(out, unit);
			fputs("</title></path>", out);
		}
		/* a label where it fits: every n-th, about 48 units apart */
		if (c % (size_t)ceil(48 / group) == 0)
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
			    FONT ">%s</text>", left + c * group + group / 2, bottom + 14,
			    cats[c]);
	}
	fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
	    left, right, bottom, bottom);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" " FONT
	    ">month (local)</text>", (left + right) / 2, bottom + 30);
	for (i = 0; i < ns; i++) {
		fprintf(out, "<rect x=\"%zu\" y=\"8\" width=\"12\" height=\"12\" "
		    "fill=\"%s\"/><text x=\"%zu\" y=\"18\" " FONT ">",
		    (size_t)left + i * 110, s[i].colour, (size_t)left + i * 110 + 16);
		mt_html_text(out, s[i].name);
		fputs("</text>", out);
	}
	fputs("</svg>\n", out);
}

/* viridis at t in [0, 1], from nine of its stops */
static void viridis(double t, char *rgb, size_t cap)
{
	static const unsigned char stop[9][3] = {
		{ 68, 1, 84 }, { 71, 44, 122 }, { 59, 81, 139 }, { 44, 113, 142 },
		{ 33, 144, 141 }, { 39, 173, 129 }, { 92, 200, 99 },
		{ 170, 220, 50 }, { 253, 231, 37 },
	};
	double f;
	int i, k, c[3];

	t = t < 0 ? 0 : t > 1 ? 1 : t;
	f = t * 8;
	i = f >= 8 ? 7 : (int)f;
	f -= i;
	for (k = 0; k < 3; k++)
		c[k] = (int)lround(stop[i][k] + (stop[i + 1][k] - stop[i][k]) * f);
	snprintf(rgb, cap, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* A colour scale's legend: a gradient bar labelled at both ends. */
static void scale_legend(FILE *out, int x, int y, double lo, double hi,
    const char *unit)
{
	char a[64], b[64], rgb[16];
	int i;

	for (i = 0; i < 20; i++) {
		viridis(i / 19.0, rgb, sizeof rgb);
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"10\" "
		    "fill=\"%s\"/>", x + i * 8, y, rgb);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" " FONT ">%s"
	    "</text><text x=\"%d\" y=\"%d\" " FONT ">%s ", x - 4, y + 9,
	    mt_fmt_auto(a, sizeof a, lo), x + 164, y + 9,
	    mt_fmt_auto(b, sizeof b, hi));
	mt_html_text(out, unit);
	fputs("</text>", out);
}

/* The average week: a row per weekday (ISO, Monday first), a column per
 * local hour, the mean value coloured on viridis. */
void mt_chart_heatmap(FILE *out, const char *label, const double v[7][24],
    const char *unit)
{
	static const char *const day[7] = { "Mon", "Tue", "Wed", "Thu", "Fri",
	    "Sat", "Sun" };
	const int h = 230, left = 44, top = 36, cw = 24, ch = 20;
	double lo = INFINITY, hi = -INFINITY;
	char rgb[16], lab[64];
	int d, k;

	for (d = 0; d < 7; d++)
		for (k = 0; k < 24; k++)
			if (isfinite(v[d][k])) {
				lo = fmin(lo, v[d][k]);
				hi = fmax(hi, v[d][k]);
			}
	/* the scale starts at zero (or below): a flat load looks flat */
	if (lo > 0)
		lo = 0;
	svg_open(out, h, label);
	for (d = 0; d < 7; d++) {
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" " FONT
		    ">%s</text>", left - 4, top + d * ch + 14, day[d]);
		for (k = 0; k < 24; k++) {
			int x = left + k * cw, y = top + d * ch;

			if (!isfinite(v[d][k])) {
				fprintf(out, "<path d=\"M%d %d h%d v%d h-%d Z\" fill=\"#fff\" "
				    "stroke=\"#ccc\"><title>%s %02d:00 no data</title></path>",
				    x, y, cw - 1, ch - 1, cw - 1, day[d], k);
				continue;
			}
			viridis(hi > lo ? (v[d][k] - lo) / (hi - lo) : 0, rgb, sizeof rgb);
			fprintf(out, "<path d=\"M%d %d h%d v%d h-%d Z\" fill=\"%s\"><title>"
			    "%s %02d:00 %s ", x, y, cw - 1, ch - 1, cw - 1, rgb, day[d], k,
			    mt_fmt_auto(lab, sizeof lab, v[d][k]));
			mt_html_text(out, unit);
			fputs("</title></path>", out);
		}
	}
	for (k = 0; k < 24; k += 3)
		fprintf(out, "<text x=\"%d\" y=\"%d\" " FONT ">%02d</text>",
		    left + k * cw + 4, top + 7 * ch + 14, k);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" " FONT
	    ">local hour</text>", left + 12 * cw, top + 7 * ch + 30);
	if (hi >= lo)
		scale_legend(out, left + 60, 10, lo, hi, unit);
	fputs("</svg>\n", out);
}

/* Daily use against heating degree days, and the least-squares line. */
void mt_chart_scatter(FILE *out, const char *label, const double *x,
    const double *y, size_t n, const struct mt_chart_fit *fit,
    const char *xunit, const char *yunit, const char *colour)
{
	static int clip_ids;      /* clip paths need ids unique in the page */
	const int h = 300, right = W - 20, top = 30, bottom = h - 50;
	struct axis ax = { .x1 = right }, ay = { .x0 = bottom, .x1 = top };
	double xlo = INFINITY, xhi = -INFINITY, yhi = 0;
	char a[64], b[64], c[64];
	size_t i;
	int left, clip = ++clip_ids;

	for (i = 0; i < n; i++) {
		xlo = fmin(xlo, x[i]);
		xhi = fmax(xhi, x[i]);
		yhi = fmax(yhi, y[i]);
	}
	axis_fit(&ax, fmin(xlo, 0), xhi, 1);
	axis_fit(&ay, 0, yhi, 1);
	left = ax.x0 = axis_left(&ay);
	svg_open(out, h, label);
	y_axis(out, &ay, left, right, yunit);
	x_axis_numeric(out, &ax, bottom, xunit);
	for (i = 0; i < n; i++)
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"none\" "
		    "stroke=\"%s\"/>", axis_px(&ax, x[i]), axis_px(&ay, y[i]), colour);
	if (fit != NULL) {
		double y0 = fit->intercept + fit->slope * ax.lo;
		double y1 = fit->intercept + fit->slope * ax.hi;

		/* the line stays inside the plot, whatever its intercept */
		fprintf(out, "<clipPath id=\"fit%d\"><rect x=\"%d\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\"/></clipPath>", clip, left, top,
		    right - left, bottom - top);
		fprintf(out, "<path d=\"M%.1f %.1f L%.1f %.1f\" stroke=\"#000\" "
		    "stroke-width=\"2\" stroke-dasharray=\"6 3\" fill=\"none\" "
		    "clip-path=\"url(#fit%d)\"/>", axis_px(&ax, ax.lo),
		    axis_px(&ay, y0), axis_px(&ax, ax.hi), axis_px(&ay, y1), clip);
		fprintf(out, "<path d=\"M%d 14 h24\" stroke=\"#000\" stroke-width=\"2\" "
		    "stroke-dasharray=\"6 3\"/><text x=\"%d\" y=\"18\" " FONT ">"
		    "fit: %s + %s \xc3\x97 degree days, R\xc2\xb2 %s</text>",
		    left, left + 30, mt_fmt_auto(a, sizeof a, fit->intercept),
		    mt_fmt_auto(b, sizeof b, fit->slope),
		    mt_fmt_num(c, sizeof c, fit->r2, 2));
	}
	fprintf(out, "<circle cx=\"%d\" cy=\"14\" r=\"3\" fill=\"none\" stroke=\"%s\"/>"
	    "<text x=\"%d\" y=\"18\" " FONT ">a day (%zu)</text>", right - 90, colour,
	    right - 82, n);
	fputs("</svg>\n", out);
}

/* A cell per day, a column per week (Monday on top): the share of the
 * day's hours that are present; an absent day is white with a border. */
void mt_chart_calendar(FILE *out, const char *label, const char *const *dates,
    const double *cover, size_t n, int first_weekday)
{
	const int left = 40, top = 28, cs = 11;
	int weeks = (int)((n + (size_t)first_weekday - 1 + 6) / 7);
	int h = top + 7 * cs + 34;
	char rgb[16];
	size_t i;

	svg_open(out, h, label);
	fprintf(out, "<text x=\"%d\" y=\"%d\" " FONT ">Mon</text><text x=\"%d\" "
	    "y=\"%d\" " FONT ">Sun</text>", 4, top + 9, 4, top + 6 * cs + 9);
	for (i = 0; i < n; i++) {
		size_t pos = i + (size_t)first_weekday - 1;
		int x = left + (int)(pos / 7) * (weeks > 52 ? (W - left - 10) / weeks : cs);
		int y = top + (int)(pos % 7) * cs;
		int cw = (weeks > 52 ? (W - left - 10) / weeks : cs) - 1;

		if (!isfinite(cover[i]) || cover[i] <= 0)
			fprintf(out, "<path d=\"M%d %d h%d v%d h-%d Z\" fill=\"#fff\" "
			    "stroke=\"#bbb\"><title>%s no data</title></path>", x, y,
			    cw - 1, cs - 2, cw - 1, dates[i]);
		else {
			viridis(1 - cover[i], rgb, sizeof rgb);
			fprintf(out, "<path d=\"M%d %d h%d v%d h-%d Z\" fill=\"%s\"><title>"
			    "%s %.0f%% of hours</title></path>", x, y, cw, cs - 1, cw, rgb,
			    dates[i], 100 * cover[i]);
		}
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" " FONT ">%s</text>", left, 16,
	    n ? dates[0] : "");
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" " FONT ">%s</text>",
	    W - 10, 16, n ? dates[n - 1] : "");
	/* the legend: full, half, none */
	viridis(0, rgb, sizeof rgb);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
	    "<text x=\"%d\" y=\"%d\" " FONT ">every hour</text>", left, h - 16, rgb,
	    left + 14, h - 7);
	viridis(0.5, rgb, sizeof rgb);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
	    "<text x=\"%d\" y=\"%d\" " FONT ">half of the hours</text>", left + 100,
	    h - 16, rgb, left + 114, h - 7);
	viridis(0.9, rgb, sizeof rgb);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
	    "<text x=\"%d\" y=\"%d\" " FONT ">a tenth of them</text>", left + 230,
	    h - 16, rgb, left + 244, h - 7);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"#fff\" "
	    "stroke=\"#bbb\"/><text x=\"%d\" y=\"%d\" " FONT ">no data</text>",
	    left + 350, h - 16, left + 364, h - 7);
	fputs("</svg>\n", out);
}
