/* dsmr.c - the dsmr connector: the text telegrams of a smart meter's P1
 * port (DSMR 2.2 to 5, Fluvius, and the IEC 62056-21 meters that share
 * the form), one or many of them as a capture of the port holds them:
 *
 *	/ISk5\2MT382-1000            identification
 *	                             empty line
 *	0-0:1.0.0(170102192002W)     time, local, W winter or S summer
 *	1-0:1.8.1(000004.426*kWh)    registers: OBIS code, (value*unit)
 *	0-1:24.2.1(170102161005W)(00000.107*m3)   an M-Bus channel's reading
 *	!6EEE                        end, CRC16 of '/' to '!' (DSMR 4 on)
 *
 * A meter reads one register (register="..."): a telegram gives it one
 * reading, at the telegram's time for the electricity registers, at the
 * channel's own time for gas, water and heat.  Whatever lies between
 * telegrams (a capture's start, 0xFF noise, lines after the end) is not
 * read; a telegram whose CRC is wrong, or that is cut off, is rejected
 * with the reason and the stream goes on. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHANNELS 9

/* What one telegram says, as far as a meter reads it. */
struct value {
	int has;
	int bad;                  /* written, but not a number and unit */
	double v;
	int decimals;             /* as written: a sum is rounded to them */
	char unit[12];
};

struct channel {
	int type;                 /* M-Bus device type, -1 not given */
	int has;                  /* a reading */
	char ts[16];              /* YYMMDDhhmmss and W, S or nothing */
	struct value val;
};

struct telegram {
	long line;                /* of the identification */
	const char *text;         /* from '/' */
	size_t len;               /* to the end of the CRC's line */
	char ts[16];              /* 0-0:1.0.0, "" when not given */
	int version;              /* 1-3:0.2.8, 0 when not given */
	struct value tariff[2][10];   /* [import, export][0 total, 1..9] */
	struct value power[2];        /* 1.7.0, 2.7.0 */
	struct channel ch[CHANNELS + 1];
};

/* CRC-16/ARC (reflected 0x8005, start 0), as DSMR 4 and 5 specify. */
static unsigned crc_byte(unsigned crc, unsigned char c)
{
	crc ^= c;
	for (int k = 0; k < 8; k++)
		crc = crc & 1 ? (crc >> 1) ^ 0xA001 : crc >> 1;
	return crc;
}

/* The meter sends CRLF; a capture saved with bare LFs (a terminal
 * program, a text-mode copy) is checked as the meter sent it. */
static unsigned crc16(const char *s, size_t n)
{
	int bare_lf = memchr(s, '\r', n) == NULL;
	unsigned crc = 0;

	for (size_t i = 0; i < n; i++) {
		if (bare_lf && s[i] == '\n')
			crc = crc_byte(crc, '\r');
		crc = crc_byte(crc, (unsigned char)s[i]);
	}
	return crc;
}

/* "(00004.426*kWh)": the value and the unit, which may be absent. */
static int parse_value(const char *s, size_t n, struct value *v)
{
	char buf[48];
	const char *star = memchr(s, '*', n);
	size_t k = star ? (size_t)(star - s) : n;

	if (k == 0 || k >= sizeof buf)
		return -1;
	memcpy(buf, s, k);
	buf[k] = '\0';
	/* registers are written as digits and a point: no sign, exponent,
	 * hexadecimal or space, which a parser of numbers would take */
	if (strspn(buf, "0123456789.") != k || mt_parse_double(buf, &v->v) < 0)
		return -1;
	v->decimals = strchr(buf, '.') ? (int)strlen(strchr(buf, '.') + 1) : 0;
	v->unit[0] = '\0';
	if (star != NULL) {
		size_t u = n - k - 1;
		if (u == 0 || u >= sizeof v->unit)
			return -1;
		memcpy(v->unit, star + 1, u);
		v->unit[u] = '\0';
	}
	v->has = 1;
	return 0;
}

/* A value as a register holds it; one that does not parse is kept as
 * bad, so that a meter reading it is told, not skipped. */
static int read_value(const char *s, size_t n, struct value *v)
{
	memset(v, 0, sizeof *v);
	if (parse_value(s, n, v) == 0)
		return 0;
	memset(v, 0, sizeof *v);
	v->bad = 1;
	return -1;
}

/* The groups "(...)" after an OBIS code: up to max of them. */
static int groups(const char *s, const char *end, const char **g, size_t *gl,
    int max)
{
	int n = 0;

	while (s < end && *s == '(' && n < max) {
		const char *close = memchr(s, ')', (size_t)(end - s));
		if (close == NULL)
			break;
		g[n] = s + 1;
		gl[n++] = (size_t)(close - s - 1);
		s = close + 1;
	}
	return n;
}

/* "A-B:C.D.E" and an optional "*F" (ESY meters write "*255"). */
static const char *obis(const char *s, const char *end, int o[5])
{
	static const char seps[] = "-:..";
	for (int i = 0; i < 5; i++) {
		if (s >= end || !isdigit((unsigned char)*s))
			return NULL;
		o[i] = 0;
		while (s < end && isdigit((unsigned char)*s) && o[i] < 1000)
			o[i] = o[i] * 10 + (*s++ - '0');
		if (i < 4) {
			if (s >= end || *s != seps[i])
				return NULL;
			s++;
		}
	}
	if (s < end && *s == '*')
		for (s++; s < end && isdigit((unsigned char)*s); s++)
			;
	return s;
}

static void copy_ts(char *dst, const char *g, size_t n)
{
	if (n > 15)
		n = 15;             /* longer than YYMMDDhhmmssX: refused as such */
	memcpy(dst, g, n);
	dst[n] = '\0';
}

/* One line of a telegram; next is the line after it, for the v2.2/v3
 * M-Bus form whose value stands on a line of its own. */
static void read_line(struct telegram *t, const char *s, const char *end,
    const char *next, const char *next_end)
{
	const char *g[8];
	size_t gl[8];
	int o[5], n;

	if ((s = obis(s, end, o)) == NULL)
		return;
	n = groups(s, end, g, gl, 8);
	if (n == 0)
		return;
	if (o[0] == 0 && o[2] == 1 && o[3] == 0 && o[4] == 0)
		copy_ts(t->ts, g[0], gl[0]);
	else if (o[0] == 1 && o[1] == 3 && o[2] == 0 && o[3] == 2 && o[4] == 8)
		t->version = atoi(g[0]);
	else if (o[0] == 1 && (o[2] == 1 || o[2] == 2) && o[3] == 8 && o[4] <= 9)
		read_value(g[0], gl[0], &t->tariff[o[2] - 1][o[4]]);
	else if (o[0] == 1 && (o[2] == 1 || o[2] == 2) && o[3] == 7 && o[4] == 0)
		read_value(g[0], gl[0], &t->power[o[2] - 1]);
	else if (o[0] == 0 && o[1] >= 1 && o[1] <= CHANNELS && o[2] == 24) {
		struct channel *c = &t->ch[o[1]];
		if (o[3] == 1 && o[4] == 0)
			c->type = (int)strtol(g[0], NULL, 16);
		else if (o[3] == 2 && (o[4] == 1 || o[4] == 3) && n >= 2) {
			copy_ts(c->ts, g[0], gl[0]);
			c->has = read_value(g[1], gl[1], &c->val) == 0;
		} else if (o[3] == 3 && o[4] == 0 && n >= 6 && next != NULL &&
		    next < next_end && *next == '(') {
			/* v2.2/v3: (ts)(00)(60)(1)(0-n:24.2.1)(m3), then (value) */
			const char *vg[1];
			size_t vl[1];
			char val[64];
			if (groups(next, next_end, vg, vl, 1) == 1 && vl[0] + gl[5] + 2 < sizeof val) {
				snprintf(val, sizeof val, "%.*s*%.*s", (int)vl[0], vg[0],
				    (int)gl[5], g[5]);
				copy_ts(c->ts, g[0], gl[0]);
				c->has = read_value(val, strlen(val), &c->val) == 0;
			}
		}
	}
}

static const char *line_end(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	return nl ? nl : end;
}

static void read_telegram(struct telegram *t)
{
	const char *s = t->text, *end = t->text + t->len;

	for (int i = 0; i <= CHANNELS; i++)
		t->ch[i].type = -1;
	s = line_end(s, end);          /* past the identification */
	while (s < end) {
		const char *ls = s + 1, *le = line_end(ls, end), *ne = NULL, *nx = NULL;
		const char *trim = le;
		while (trim > ls && (trim[-1] == '\r' || trim[-1] == ' '))
			trim--;
		if (le < end) {
			nx = le + 1;
			ne = line_end(nx, end);
		}
		read_line(t, ls, trim, nx, ne);
		s = le;
	}
}

/* ---- a reading out of a telegram ---- */

struct dsmr {
	const struct mt_conn *c;
	struct mt_emit *e;
	struct mt_zone *zone;     /* e's, else Europe/Amsterdam */
	long unused;              /* M-Bus channels without a meter */
	long telegrams, absent;   /* read; without the meter's register */
};

/* The identification line, which names the telegram in the rejects (the
 * payload is not NUL-terminated). */
static size_t first_line(const struct telegram *t)
{
	size_t n = 0;

	while (n < t->len && t->text[n] != '\r' && t->text[n] != '\n')
		n++;
	return n;
}

static void reject(struct dsmr *d, const struct telegram *t, const char *why)
{
	size_t n = first_line(t);

	d->e->rejected++;
	mt_reject(d->e->rj, d->e->source, t->line, t->text, n, why);
}

/* YYMMDDhhmmss with W (winter time) or S (summer time): the flag says
 * which pass of a repeated hour it is, which row order cannot. */
static int dsmr_time(struct dsmr *d, const char *s, mt_time_t *ts, char *why,
    size_t cap)
{
	int f[6];
	mt_time_t wall, utc[2];
	char flag = strlen(s) == 13 ? s[12] : 0;
	int64_t days;
	unsigned m, dd;
	int k, y;

	if ((strlen(s) != 12 && strlen(s) != 13) || strspn(s, "0123456789") != 12 ||
	    (flag && flag != 'W' && flag != 'S')) {
		snprintf(why, cap, "time \"%.16s\" is not YYMMDDhhmmss with W or S", s);
		return -1;
	}
	for (int i = 0; i < 6; i++)
		f[i] = (s[2 * i] - '0') * 10 + (s[2 * i + 1] - '0');
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
	    f[5] > 60) {
		snprintf(why, cap, "time \"%.16s\" is not a date and time", s);
		return -1;
	}
	days = mt_days_from_civil(2000 + f[0], (unsigned)f[1], (unsigned)f[2]);
	mt_civil_from_days(days, &y, &m, &dd);
	if ((int)m != f[1] || (int)dd != f[2]) {
		snprintf(why, cap, "time \"%.16s\" is not a date and time", s);
		return -1;
	}
	wall = ((days * 24 + f[3]) * 60 + f[4]) * 60000LL + f[5] * 1000LL;
	k = mt_zone_to_utc(d->zone, wall, utc);
	if (k == 0) {
		snprintf(why, cap, "local time \"%.16s\" does not exist (skipped by a "
		    "DST change)", s);
		return -1;
	}
	if (k == 1)
		*ts = utc[0];
	else if (flag)
		*ts = flag == 'S' ? utc[0] : utc[1];
	else
		*ts = d->e->prev >= utc[0] ? utc[1] : utc[0];
	return 0;
}

/* The total register, else the sum of the tariffs (in one unit). */
static int register_sum(const struct value *r, int from, int to, struct value *out)
{
	memset(out, 0, sizeof *out);
	if (from == 1 && to == 9 && r[0].has) {
		*out = r[0];
		return 0;
	}
	for (int i = from; i <= to; i++) {
		if (!r[i].has)
			continue;
		if (out->has && strcmp(out->unit, r[i].unit) != 0)
			return -1;
		if (!out->has)
			snprintf(out->unit, sizeof out->unit, "%s", r[i].unit);
		out->v += r[i].v;
		out->has = 1;
		if (r[i].decimals > out->decimals)
			out->decimals = r[i].decimals;
	}
	/* 1581.123 + 1435.706 is 3016.829, not 3016.8289999999997 */
	if (out->has && out->decimals <= 9) {
		double scale = pow(10, out->decimals);
		out->v = round(out->v * scale) / scale;
	}
	return 0;
}

/* An M-Bus channel no meter is on: an epoch time, a bare 0. */
static int unused_channel(const struct channel *c)
{
	return strncmp(c->ts, "000000000000", 12) == 0 ||
	    strncmp(c->ts, "700101010000", 12) == 0 ||
	    (c->val.v == 0 && c->val.unit[0] == '\0');
}

static int medium_matches(int reg, int type)
{
	switch (reg) {
	case MT_DSMR_GAS:
		return type == 0x03;
	case MT_DSMR_WATER:
		return type == 0x06 || type == 0x07 || type == 0x16;
	default:
		return type == 0x04 || type == 0x0C || type == 0x0D;
	}
}

/* The channel a gas, water or heat meter reads: the one named, else the
 * first of its medium, else (no device types given) the first. */
static const struct channel *pick_channel(const struct dsmr *d,
    const struct telegram *t)
{
	const struct channel *first = NULL;
	int typed = 0;

	if (d->c->channel > 0)
		return &t->ch[d->c->channel];
	/* a meter's channel with a reading before an unused one of its kind */
	for (int i = 1; i <= CHANNELS; i++) {
		const struct channel *c = &t->ch[i];
		typed |= c->type >= 0;
		if (c->type < 0 || !medium_matches(d->c->reg, c->type))
			continue;
		if (c->has && !unused_channel(c))
			return c;
		if (first == NULL)
			first = c;
	}
	if (first != NULL)
		return first;
	for (int i = 1; i <= CHANNELS && !typed; i++)
		if (t->ch[i].has)
			return &t->ch[i];
	return NULL;
}

static void emit_value(struct dsmr *d, const struct telegram *t,
    const struct value *v, const char *ts, enum mt_kind kind)
{
	struct mt_row row = { t->line, t->text, first_line(t) };
	const struct mt_quantity *q = d->e->q;
	struct mt_raw r = { 0 };
	char why[160];

	if (dsmr_time(d, ts, &r.ts, why, sizeof why) < 0) {
		reject(d, t, why);
		return;
	}
	if (v->unit[0] == '\0') {
		reject(d, t, "value without a unit");
		return;
	}
	d->e->prev = r.ts;
	r.value = v->v;
	r.unit = v->unit;
	r.kind = kind;
	if (q == NULL)
		d->e->q = mt_quantity_find(mt_dsmr_quantity(d->c->reg));
	mt_emit(d->e, &r, &row);
	d->e->q = q;
}

/* A sum of tariffs is wrong if any of them is unreadable. */
static int bad_tariff(const struct value *r, int reg)
{
	if (reg != MT_DSMR_IMPORT && reg != MT_DSMR_EXPORT)
		return 0;
	for (int i = 0; i <= 9; i++)
		if (r[i].bad)
			return 1;
	return 0;
}

static void electricity(struct dsmr *d, const struct telegram *t)
{
	int reg = d->c->reg, dir = reg >= MT_DSMR_EXPORT && reg <= MT_DSMR_EXPORT_2;
	struct value v;

	if (reg == MT_DSMR_POWER || reg == MT_DSMR_POWER_EXPORT)
		v = t->power[reg == MT_DSMR_POWER_EXPORT];
	else if (reg == MT_DSMR_IMPORT || reg == MT_DSMR_EXPORT) {
		if (register_sum(t->tariff[dir], 1, 9, &v) < 0) {
			reject(d, t, "tariffs in different units");
			return;
		}
	} else
		v = t->tariff[dir][reg - (dir ? MT_DSMR_EXPORT : MT_DSMR_IMPORT)];
	if (v.bad || bad_tariff(t->tariff[dir], reg)) {
		reject(d, t, "register value not a number and unit: the telegram "
		    "holds a value like (abc*kWh) where the meter's register is");
		return;
	}
	if (!v.has) {
		d->e->skipped++;        /* a telegram without this register */
		d->absent++;
		return;
	}
	if (t->ts[0] == '\0') {
		reject(d, t, "the telegram has no time (0-0:1.0.0), as DSMR 2.2 and 3 "
		    "meters and EasyMeters write them: only their M-Bus readings carry "
		    "one");
		return;
	}
	emit_value(d, t, &v, t->ts, reg == MT_DSMR_POWER ||
	    reg == MT_DSMR_POWER_EXPORT ? MT_INSTANT : MT_CUMULATIVE);
}

static void mbus(struct dsmr *d, const struct telegram *t)
{
	const struct channel *c = pick_channel(d, t);

	if (c != NULL && c->val.bad) {
		reject(d, t, "register value not a number and unit: the M-Bus "
		    "channel's reading does not parse");
		return;
	}
	if (c == NULL || !c->has) {
		d->e->skipped++;
		d->absent++;
		return;
	}
	if (unused_channel(c)) {
		d->unused++;
		d->e->skipped++;
		return;
	}
	emit_value(d, t, &c->val, c->ts, MT_CUMULATIVE);
}

/* A telegram's CRC: none before DSMR 4, else its hex after '!'. */
static int check_crc(struct dsmr *d, const struct telegram *t, const char *bang,
    const char *crc, size_t n)
{
	unsigned want, have;
	char hex[8], why[160];
	int hex_digits = n <= 4;

	if (n == 0) {
		if (t->version >= 40) {
			reject(d, t, "CRC missing: a DSMR 4 or 5 telegram has one "
			    "after its '!' (cut off?)");
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < n && hex_digits; i++)
		hex_digits = isxdigit((unsigned char)crc[i]) != 0;
	if (!hex_digits) {
		snprintf(why, sizeof why, "CRC not 1 to 4 hexadecimal digits: \"%.*s\" "
		    "after '!'", (int)(n < 12 ? n : 12), crc);
		reject(d, t, why);
		return -1;
	}
	memcpy(hex, crc, n);
	hex[n] = '\0';
	want = (unsigned)strtoul(hex, NULL, 16);
	have = crc16(t->text, (size_t)(bang - t->text) + 1);
	if (want != have) {
		snprintf(why, sizeof why, "CRC mismatch: the telegram says %s, its bytes "
		    "give %04X: it was corrupted on the way (the next one is read)", hex, have);
		reject(d, t, why);
		return -1;
	}
	return 0;
}

static void telegram(struct dsmr *d, struct telegram *t, const char *bang,
    const char *body_end)
{
	const char *crc = bang + 1, *le = line_end(crc, body_end);
	size_t n = (size_t)(le - crc);

	while (n > 0 && (crc[n - 1] == '\r' || crc[n - 1] == ' '))
		n--;
	t->len = (size_t)(le - t->text);
	read_telegram(t);
	if (check_crc(d, t, bang, crc, n) < 0)
		return;
	d->telegrams++;
	if (d->c->reg >= MT_DSMR_GAS)
		mbus(d, t);
	else
		electricity(d, t);
}

static long lines_in(const char *s, const char *end)
{
	long n = 0;

	while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		n++;
		s++;
	}
	return n;
}

/* A telegram begins with '/' and a letter at a line's start (or after an
 * STX or binary noise; a '/' inside a text message is no start); it ends
 * at a '!' that begins a line.  Another start before that '!' is a new
 * telegram: the one before was cut off. */
static const char *next_start(const char *from, const char *s, const char *end)
{
	for (; s < end; s++) {
		unsigned char before = s > from ? (unsigned char)s[-1] : '\n';
		if (*s == '/' && s + 1 < end && isalpha((unsigned char)s[1]) &&
		    (before == '\n' || before == '\r' || before < 0x20 || before >= 0x7f))
			return s;
	}
	return NULL;
}

static const char *cut_off_at(const char *body, const char *s, const char *limit)
{
	return next_start(body, s + 1, limit);
}

/* The end: a '!' that begins a line (a text message may hold one). */
static const char *end_of(const char *s, const char *end)
{
	for (const char *p = s; p < end && (p = memchr(p, '!', (size_t)(end - p))); p++)
		if (p[-1] == '\n' || p[-1] == '\r')
			return p;
	return NULL;
}

/* A meter whose register no telegram holds says so: a wrong register= or
 * channel= would otherwise read nothing, every run, without a word. */
static void no_register(struct dsmr *d)
{
	char msg[300], ch[24] = "";

	if (d->c->channel > 0)
		snprintf(ch, sizeof ch, " on channel %d", d->c->channel);
	snprintf(msg, sizeof msg, "no register for meter %s: none of the %ld "
	    "telegram%s holds %s%s (register= and channel= in meter-config(5))",
	    d->e->meter, d->telegrams, d->telegrams == 1 ? "" : "s",
	    mt_dsmr_registers[d->c->reg], ch);
	mt_notice(d->e->rj, d->e->source, 0, msg);
}

int mt_parse_dsmr(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err)
{
	struct dsmr d = { .c = c, .e = e, .zone = e->zone };
	const char *end = body + n, *s = body, *start, *bang = NULL;
	long line = 1;
	int no_end = 0;

	if (d.zone == NULL && (d.zone = mt_zone_open("Europe/Amsterdam", err)) == NULL)
		return -1;
	/* the end found for one start serves the starts before it: many
	 * starts before one '!' take one scan, not one each */
	while ((start = next_start(body, s, end)) != NULL) {
		struct telegram t = { 0 };
		const char *cut, *limit;

		if (bang != NULL && bang <= start)
			bang = NULL;
		if (bang == NULL && !no_end && (bang = end_of(start + 1, end)) == NULL)
			no_end = 1;
		limit = bang ? bang : end;
		line += lines_in(s, start);
		t.line = line;
		t.text = start;
		if ((cut = cut_off_at(body, start, limit)) != NULL) {
			t.len = (size_t)(cut - start);
			reject(&d, &t, "telegram cut off: another begins before its "
			    "'!'");
			line += lines_in(start, cut);
			s = cut;
			continue;
		}
		if (bang == NULL) {
			t.len = (size_t)(end - start);
			reject(&d, &t, "telegram without its end: the capture stops "
			    "before its '!'");
			break;
		}
		telegram(&d, &t, bang, end);
		s = start + t.len;
		line += lines_in(start, s);
	}
	if (d.telegrams > 0 && d.absent == d.telegrams)
		no_register(&d);
	if (d.zone != e->zone)
		mt_zone_free(d.zone);
	(void)err;
	return 0;
}
