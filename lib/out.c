/* out.c - NDJSON writer: compact objects, shortest round-trip numbers,
 * RFC 8259 string escaping, buffered, write errors remembered. */
#define _GNU_SOURCE   /* memrchr */
#include "meter_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OUT_BUF (64 * 1024)
#define OUT_FIELD_MAX 4096     /* keys and small values go straight in */

struct mt_out {
	FILE *fp;
	char *buf;
	size_t len;
	int first;     /* no field yet in the current object */
	int failed;
};

struct mt_out *mt_out_new(FILE *fp)
{
	struct mt_out *o = mt_xcalloc(1, sizeof *o);
	o->fp = fp;
	o->buf = mt_xmalloc(OUT_BUF);
	return o;
}

void mt_out_free(struct mt_out *o)
{
	if (o == NULL)
		return;
	free(o->buf);
	free(o);
}

static void drain(struct mt_out *o)
{
	if (o->len > 0 && fwrite(o->buf, 1, o->len, o->fp) != o->len)
		o->failed = 1;
	o->len = 0;
}

static void put(struct mt_out *o, const char *s, size_t n)
{
	if (o->len + n > OUT_BUF)
		drain(o);
	if (n > OUT_BUF) {
		if (fwrite(s, 1, n, o->fp) != n)
			o->failed = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

int mt_out_flush(struct mt_out *o)
{
	drain(o);
	if (fflush(o->fp) != 0 || ferror(o->fp))
		o->failed = 1;
	return o->failed ? -1 : 0;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

static int plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* A zero byte in x: exact as a test of the whole word (a borrow can set
 * the flag of a byte only above one that is zero). */
static uint64_t zero_byte(uint64_t x)
{
	return (x - 0x0101010101010101u) & ~x & 0x8080808080808080u;
}

/* The length of the part of s that needs no escaping, eight bytes at a
 * time while no byte of a word is a control, a quote, a backslash or
 * above ASCII; a word that has one is looked at byte by byte. */
static size_t plain_prefix(const unsigned char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		/* a control has its top three bits zero */
		if (zero_byte(x & ones * 0xe0) | (x & ones * 0x80) |
		    zero_byte(x ^ ones * '"') | zero_byte(x ^ ones * '\\'))
			break;
	}
	while (i < n && plain_byte(s[i]))
		i++;
	return i;
}

size_t mt_json_escape(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;
	size_t plain = plain_prefix(s, n);   /* most strings: all of them */

	*d++ = '"';
	memcpy(d, s, plain);
	d += plain;
	for (size_t i = plain; i < n;) {
		unsigned char c = s[i];
		size_t l;

		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
			i++;
		} else if (c < 0x20) {
			const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" :
			    c == '\r' ? "\\r" : NULL;
			if (esc != NULL) {
				memcpy(d, esc, 2);
				d += 2;
			} else {
				memcpy(d, "\\u00", 4);
				d[4] = hex[c >> 4];
				d[5] = hex[c & 15];
				d += 6;
			}
			i++;
		} else if (c < 0x80) {
			*d++ = (char)c;
			i++;
		} else if ((l = utf8_len(s + i, n - i)) > 0) {
			memcpy(d, s + i, l);
			d += l;
			i += l;
		} else {
			memcpy(d, "\xEF\xBF\xBD", 3);   /* U+FFFD */
			d += 3;
			i++;
		}
	}
	*d++ = '"';
	return (size_t)(d - dst);
}

/* Decimal digits of v into buf; returns the length. */
static int format_int(char *buf, int64_t v)
{
	char tmp[24];
	int n = 0, len = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

/* x / 10^d as decimal text: "-0.025" for (-25, 3). */
static int point_int(char *buf, int64_t x, int d)
{
	char digits[24];
	int n = format_int(digits, x < 0 ? -x : x), len = 0;

	if (x < 0)
		buf[len++] = '-';
	if (n <= d) {
		buf[len++] = '0';
		buf[len++] = '.';
		for (int i = n; i < d; i++)
			buf[len++] = '0';
		memcpy(buf + len, digits, (size_t)n);
		len += n;
	} else {
		memcpy(buf + len, digits, (size_t)(n - d));
		len += n - d;
		buf[len++] = '.';
		memcpy(buf + len, digits + n - d, (size_t)d);
		len += d;
	}
	buf[len] = '\0';
	return len;
}

int mt_format_double(char *buf, size_t size, double v)
{
	/* Integers print exactly; others take the fewest digits (15..17) that
	 * read back to the same double.  The programs never call setlocale, so
	 * the decimal point is always '.'. */
	if (v == 0)
		return snprintf(buf, size, signbit(v) ? "-0" : "0");
	if (fabs(v) < 1e15 && v == (double)(int64_t)v && size >= 24)
		return format_int(buf, (int64_t)v);
	if (fabs(v) < 1e9 && size >= 32) {
		/* Few decimals (most meter values): the integer v * 10^d with the
		 * point put back reads back exactly when the division does. */
		static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
			1e7, 1e8, 1e9 };
		for (int d = 1; d <= 9; d++) {
			double x = round(v * p10[d]);
			if (x / p10[d] == v)
				return point_int(buf, (int64_t)x, d);
		}
	}
	for (int prec = 15; prec <= 17; prec++) {
		int n = snprintf(buf, size, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			return n;
	}
	return 0;
}

/* Room for n more bytes at the end of the buffer (n <= OUT_BUF), draining
 * it first when short: fields are written in place, not copied twice. */
static char *room(struct mt_out *o, size_t n)
{
	if (o->len + n > OUT_BUF)
		drain(o);
	return o->buf + o->len;
}

static void commit(struct mt_out *o, const char *end)
{
	o->len = (size_t)(end - o->buf);
}

/* The key of a field and room for `value` bytes of its value after it.
 * Keys are the programs' own literals, plain ASCII: no escaping needed. */
static char *key(struct mt_out *o, const char *k, size_t value)
{
	size_t klen = strnlen(k, 128);
	char *p = room(o, klen + 4 + value);

	if (!o->first)
		*p++ = ',';
	o->first = 0;
	*p++ = '"';
	memcpy(p, k, klen);
	p += klen;
	*p++ = '"';
	*p++ = ':';
	return p;
}

void mt_out_begin(struct mt_out *o)
{
	put(o, "{", 1);
	o->first = 1;
}

void mt_out_begin_with(struct mt_out *o, const char *obj, size_t n)
{
	const char *close = n ? memrchr(obj, '}', n) : NULL;
	const char *p = obj + 1;

	if (close == NULL) {
		mt_out_begin(o);
		return;
	}
	put(o, obj, (size_t)(close - obj));
	while (p < close && (*p == ' ' || *p == '\t'))
		p++;
	o->first = p == close;
}

void mt_out_raw(struct mt_out *o, const char *fields, size_t n)
{
	if (n == 0)
		return;
	if (!o->first)
		put(o, ",", 1);
	o->first = 0;
	put(o, fields, n);
}

void mt_out_end(struct mt_out *o)
{
	put(o, "}\n", 2);
	if (o->len > OUT_BUF - OUT_FIELD_MAX)
		drain(o);
}

void mt_out_strn(struct mt_out *o, const char *k, const char *val, size_t n)
{
	if (MT_ESCAPED_MAX(n) <= OUT_FIELD_MAX) {
		char *p = key(o, k, MT_ESCAPED_MAX(n));
		commit(o, p + mt_json_escape(p, val, n));
	} else {
		char *tmp = mt_xmalloc(MT_ESCAPED_MAX(n));
		commit(o, key(o, k, 0));
		put(o, tmp, mt_json_escape(tmp, val, n));
		free(tmp);
	}
}

void mt_out_str(struct mt_out *o, const char *k, const char *val)
{
	mt_out_strn(o, k, val, strlen(val));
}

void mt_out_num(struct mt_out *o, const char *k, double v)
{
	char *p = key(o, k, 40);

	if (!isfinite(v)) {
		memcpy(p, "null", 4);
		commit(o, p + 4);
		return;
	}
	commit(o, p + mt_format_double(p, 40, v));
}

void mt_out_int(struct mt_out *o, const char *k, int64_t v)
{
	char *p = key(o, k, 24);

	commit(o, p + format_int(p, v));
}

void mt_out_bool(struct mt_out *o, const char *k, int v)
{
	char *p = key(o, k, 5);

	memcpy(p, v ? "true" : "false", v ? 4 : 5);
	commit(o, p + (v ? 4 : 5));
}

void mt_out_time(struct mt_out *o, const char *k, int64_t ms)
{
	char *p = key(o, k, 40);
	size_t n;

	*p = '"';
	n = mt_time_format(p + 1, ms);
	p[n + 1] = '"';
	commit(o, p + n + 2);
}
