/* time.c - RFC 3339 / ISO 8601 timestamps, UTC formatting, and local wall
 * times in IANA zones.
 *
 * Civil-date arithmetic is Howard Hinnant's days_from_civil algorithm, so no
 * call into libc (and no global TZ) sits on the per-record path.  Zones come
 * from the system tz database through localtime_r; each answer is cached as
 * a period of constant offset, so later lookups are a binary search. */
#define _DEFAULT_SOURCE   /* tm_gmtoff */
#include "meter_priv.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mt_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void mt_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, unsigned m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : dim[m - 1];
}

/* n digits at s[*i] as a number, or -1. */
static int digits(const char *s, size_t len, size_t *i, int n)
{
	int v = 0;

	if (*i + (size_t)n > len)
		return -1;
	for (int k = 0; k < n; k++) {
		char c = s[*i + (size_t)k];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)n;
	return v;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i < len && s[*i] == c) {
		(*i)++;
		return 1;
	}
	return 0;
}

static int parse_offset(const char *s, size_t n, size_t *i, int *off_s)
{
	int sign, hh, mm;

	if (expect(s, n, i, 'Z') || expect(s, n, i, 'z')) {
		*off_s = 0;
		return 0;
	}
	if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
		return -1;
	sign = s[(*i)++] == '-' ? -1 : 1;
	if ((hh = digits(s, n, i, 2)) < 0)
		return -1;
	expect(s, n, i, ':');
	if ((mm = digits(s, n, i, 2)) < 0 || hh > 23 || mm > 59)
		return -1;
	*off_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int bad_time(struct mt_err *err, const char *s, size_t n,
    const char *why)
{
	mt_err_set(err, NULL, 0, "bad timestamp \"%.*s\": %s",
	    (int)(n > 64 ? 64 : n), s, why);
	return -1;
}

/* The clock part "hh:mm[:ss[.fff]]" after the date; *ms gets its length. */
static int parse_clock(const char *s, size_t n, size_t *i, int64_t *ms,
    const char **why)
{
	int hh, mi, ss = 0, frac = 0;

	if ((hh = digits(s, n, i, 2)) < 0 || !expect(s, n, i, ':') ||
	    (mi = digits(s, n, i, 2)) < 0)
		return *why = "expected hh:mm", -1;
	if (expect(s, n, i, ':') && (ss = digits(s, n, i, 2)) < 0)
		return *why = "expected seconds", -1;
	if (expect(s, n, i, '.') || expect(s, n, i, ',')) {
		int scale = 100, any = 0;
		while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
			frac += (s[(*i)++] - '0') * scale;
			scale /= 10;
			any = 1;
		}
		if (!any)
			return *why = "expected fraction digits", -1;
	}
	if (hh > 23 || mi > 59 || ss > 60)
		return *why = "time of day out of range", -1;
	/* A leap second (:60, RFC 3339 5.7) reads as the next second. */
	*ms = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac;
	return 0;
}

int mt_time_parse(const char *s, size_t n, mt_time_t *ms, enum mt_tsform *form,
    struct mt_err *err)
{
	size_t i = 0;
	int y, mo, d, off_s = 0;
	int64_t clock = 0;
	const char *why = NULL;

	if ((y = digits(s, n, &i, 4)) < 0 || !expect(s, n, &i, '-') ||
	    (mo = digits(s, n, &i, 2)) < 0 || !expect(s, n, &i, '-') ||
	    (d = digits(s, n, &i, 2)) < 0)
		return bad_time(err, s, n, "expected YYYY-MM-DD");
	if (y < 1900)
		return bad_time(err, s, n, "year before 1900");
	/* the year after every hour must exist in the warehouse's calendar
	 * (SQLite's and PostgreSQL's date arithmetic end with 9999) */
	if (y > 9998)
		return bad_time(err, s, n, "year after 9998");
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
		return bad_time(err, s, n, "no such date");
	*form = MT_TS_LOCAL;
	if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
		i++;
		if (parse_clock(s, n, &i, &clock, &why) < 0)
			return bad_time(err, s, n, why);
		if (i < n) {
			if (parse_offset(s, n, &i, &off_s) < 0)
				return bad_time(err, s, n, "bad UTC offset");
			*form = MT_TS_UTC;
		}
	}
	if (i != n)
		return bad_time(err, s, n, "unexpected text after the time");
	*ms = mt_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + clock -
	    (int64_t)off_s * 1000;
	if (*ms >= MT_TIME_END)
		return bad_time(err, s, n, "year after 9998 in UTC");
	return 0;
}

static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

size_t mt_time_format(char *buf, mt_time_t ms)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	int y;
	unsigned m, d, secs, frac;
	char *p = buf;

	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	mt_civil_from_days(days, &y, &m, &d);
	secs = (unsigned)(rem / 1000);
	frac = (unsigned)(rem % 1000);
	if (y < 0 || y > 9999)
		return (size_t)snprintf(buf, 32, "%d-01-01T00:00:00Z", y);
	p = put2(p, (unsigned)y / 100);
	p = put2(p, (unsigned)y % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, secs / 3600);
	*p++ = ':';
	p = put2(p, secs / 60 % 60);
	*p++ = ':';
	p = put2(p, secs % 60);
	if (frac != 0) {
		*p++ = '.';
		*p++ = (char)('0' + frac / 100);
		p = put2(p, frac % 100);
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

/* ---- zones ---- */

struct zperiod {
	int64_t from, to;   /* UTC seconds, [from, to) */
	int offset;         /* seconds east of UTC */
};

struct mt_zone {
	char *name;
	struct zperiod *p;  /* sorted, disjoint */
	size_t n, cap;
};

/* localtime_r under TZ=name.  The caller has switched TZ already. */
static int raw_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int)tm.tm_gmtoff;
}

/* Where the offset first differs from off, searching (lo, hi]. */
static int64_t find_change(int64_t lo, int64_t hi, int off)
{
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (raw_offset(mid) == off)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* The period of constant offset around t, probing a day at a time up to a
 * year either way: DST rules never change twice within a day. */
static struct zperiod probe_period(int64_t t)
{
	const int64_t day = 86400, span = 370 * 86400;
	struct zperiod zp = { t - span, t + span, raw_offset(t) };
	int64_t x;

	for (x = t + day; x <= t + span; x += day)
		if (raw_offset(x) != zp.offset) {
			zp.to = find_change(x - day, x, zp.offset);
			break;
		}
	for (x = t - day; x >= t - span; x -= day)
		if (raw_offset(x) != zp.offset) {
			zp.from = find_change(x, x + day, raw_offset(x));
			break;
		}
	return zp;
}

static void with_tz(const char *name, char **saved)
{
	const char *old = getenv("TZ");

	*saved = old ? mt_xstrdup(old) : NULL;
	setenv("TZ", name, 1);
	tzset();
}

static void restore_tz(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static int zone_exists(const char *name)
{
	char path[512];
	const char *dir = getenv("TZDIR");
	FILE *fp;

	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo",
	    name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return 0;
	fclose(fp);
	return 1;
}

struct mt_zone *mt_zone_open(const char *name, struct mt_err *err)
{
	struct mt_zone *z;

	if (!zone_exists(name)) {
		mt_err_set(err, NULL, 0, "unknown time zone \"%s\"", name);
		return NULL;
	}
	z = mt_xcalloc(1, sizeof *z);
	z->name = mt_xstrdup(name);
	return z;
}

void mt_zone_free(struct mt_zone *z)
{
	if (z == NULL)
		return;
	free(z->p);
	free(z->name);
	free(z);
}

static void insert_period(struct mt_zone *z, struct zperiod zp)
{
	size_t i = 0;

	while (i < z->n && z->p[i].from < zp.from)
		i++;
	if (z->n == z->cap) {
		z->cap = z->cap ? 2 * z->cap : 16;
		z->p = mt_xrealloc(z->p, z->cap * sizeof *z->p);
	}
	memmove(z->p + i + 1, z->p + i, (z->n - i) * sizeof *z->p);
	z->p[i] = zp;
	z->n++;
}

int mt_zone_offset(struct mt_zone *z, mt_time_t utc)
{
	int64_t t = utc >= 0 ? utc / 1000 : (utc - 999) / 1000;
	size_t lo = 0, hi = z->n;
	struct zperiod zp;
	char *saved;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (z->p[mid].to <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < z->n && z->p[lo].from <= t)
		return z->p[lo].offset;
	with_tz(z->name, &saved);
	zp = probe_period(t);
	restore_tz(saved);
	/* Clip to neighbours so periods stay disjoint. */
	if (lo < z->n && zp.to > z->p[lo].from)
		zp.to = z->p[lo].from;
	if (lo > 0 && zp.from < z->p[lo - 1].to)
		zp.from = z->p[lo - 1].to;
	insert_period(z, zp);
	return zp.offset;
}

int mt_zone_to_utc(struct mt_zone *z, mt_time_t wall, mt_time_t utc[2])
{
	/* Any offset in force near this wall time is in force a day either
	 * side of it; try both, keep those that map back. */
	int cand[2] = {
		mt_zone_offset(z, wall - 86400000),
		mt_zone_offset(z, wall + 86400000)
	};
	int n = 0, ncand = cand[0] == cand[1] ? 1 : 2;

	for (int k = 0; k < ncand; k++) {
		mt_time_t u = wall - (mt_time_t)cand[k] * 1000;
		if (mt_zone_offset(z, u) == cand[k])
			utc[n++] = u;
	}
	if (n == 2 && utc[0] > utc[1]) {
		mt_time_t t = utc[0];
		utc[0] = utc[1];
		utc[1] = t;
	}
	return n;
}

void mt_local_time(struct mt_zone *z, mt_time_t utc, struct mt_local *lt)
{
	int off = mt_zone_offset(z, utc), aoff = off < 0 ? -off : off;
	mt_time_t wall = utc + (mt_time_t)off * 1000;

	lt->day = wall >= 0 ? wall / 86400000 : (wall - 86399999) / 86400000;
	lt->weekday = (int)(((lt->day % 7) + 7 + 3) % 7) + 1;   /* 1970-01-01: Thursday */
	lt->minute = (int)((wall - lt->day * 86400000) / 60000);
	mt_time_format(lt->text, wall - wall % 1000);
	lt->text[19] = off < 0 ? '-' : '+';
	lt->text[20] = (char)('0' + aoff / 36000);
	lt->text[21] = (char)('0' + aoff / 3600 % 10);
	lt->text[22] = ':';
	lt->text[23] = (char)('0' + aoff / 600 % 6);
	lt->text[24] = (char)('0' + aoff / 60 % 10);
	lt->text[25] = '\0';
}
