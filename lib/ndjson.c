/* ndjson.c - streaming NDJSON reader on yajl.
 *
 * One JSON object per line (https://github.com/ndjson/ndjson-spec).  Lines
 * are read into a fixed buffer, so memory stays bounded whatever the input:
 * a line longer than MT_LINE_MAX is reported and skipped, not held.  A UTF-8
 * byte order mark on the first line and a CR before the LF are accepted;
 * blank lines carry no record and are skipped.  Strings must be valid UTF-8
 * (yajl checks), and a key may appear only once in the top-level object.
 *
 * A regular file can be read backwards too, last line first, as tac(1)
 * does: for a file that runs newest first.  Line numbers stay those of the
 * file. */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>

#define READ_CHUNK (64 * 1024)
#define PREVIEW 256

struct parse_ctx {
	struct mt_rec *rec;
	char *arena;        /* unescaped strings (and escaped keys) of this record */
	const unsigned char *line, *line_end;   /* the line being parsed */
	size_t used, cap;
	int depth;          /* 0 outside, 1 inside the top-level object */
	int objects;        /* top-level objects completed on this line */
	const char *why;    /* our own reason when a callback cancels */
	char whybuf[128];
};

struct mt_ndjson {
	FILE *fp;
	int owned;
	char *source;
	char *buf;
	size_t start, end, cap;
	int eof;
	long lineno;
	/* read backwards (a file that runs newest first): the unread part of
	 * the file is [0, rpos), of which buf holds the last `end` bytes */
	int reverse;
	off_t rpos;
	/* a part of a file, [ppos, pend) of the descriptor pfd (shared with
	 * the other parts, not owned): one run of a file read as its runs */
	int pfd;
	off_t ppos, pend;
	char preview[PREVIEW];
	yajl_handle yh;
	struct parse_ctx ctx;
};

/* Keys are short: a plain loop beats a call to memcmp. */
static int same_key(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static const char *arena_copy(struct parse_ctx *c, const unsigned char *s,
    size_t n)
{
	char *p;

	if (c->used + n + 1 > c->cap)
		return NULL;   /* cannot happen: unescaped text <= the line */
	p = c->arena + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

static struct mt_field *value_slot(struct parse_ctx *c)
{
	if (c->depth != 1) {
		if (c->depth == 0)
			c->why = "line is not a JSON object";
		return NULL;
	}
	return &c->rec->f[c->rec->nfields - 1];
}

static int cb_null(void *ctx)
{
	struct parse_ctx *c = ctx;
	struct mt_field *f = value_slot(c);
	if (f == NULL)
		return c->depth > 1;
	f->type = MT_NULL;
	return 1;
}

static int cb_bool(void *ctx, int b)
{
	struct parse_ctx *c = ctx;
	struct mt_field *f = value_slot(c);
	if (f == NULL)
		return c->depth > 1;
	f->type = MT_BOOL;
	f->boolean = b;
	return 1;
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	struct parse_ctx *c = ctx;
	struct mt_field *f = value_slot(c);
	if (f == NULL)
		return c->depth > 1;
	f->type = MT_NUMBER;
	f->str = arena_copy(c, (const unsigned char *)s, n);
	f->len = n;
	/* strtod gives +-HUGE_VAL on overflow: callers reject non-finite */
	f->num = mt_strtod(f->str, n);
	return 1;
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct parse_ctx *c = ctx;
	struct mt_field *f = value_slot(c);
	if (f == NULL)
		return c->depth > 1;
	f->type = MT_STRING;
	f->str = arena_copy(c, s, n);
	f->len = n;
	return 1;
}

static int cb_start(void *ctx)
{
	struct parse_ctx *c = ctx;

	if (c->depth == 0) {
		if (c->objects > 0) {
			c->why = "more than one JSON value on the line";
			return 0;
		}
		c->depth = 1;
		return 1;
	}
	if (c->depth == 1)
		value_slot(c)->type = MT_NESTED;
	c->depth++;
	return 1;
}

static int cb_start_array(void *ctx)
{
	struct parse_ctx *c = ctx;

	if (c->depth == 0) {
		c->why = "line is not a JSON object";
		return 0;
	}
	if (c->depth == 1)
		value_slot(c)->type = MT_NESTED;
	c->depth++;
	return 1;
}

static int cb_end(void *ctx)
{
	struct parse_ctx *c = ctx;

	if (--c->depth == 0)
		c->objects++;
	return 1;
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
	struct parse_ctx *c = ctx;
	struct mt_rec *rec = c->rec;
	struct mt_field *f;
	uint32_t sig = mt_key_sig((const char *)k, n);
	unsigned h;

	if (c->depth != 1)
		return 1;
	for (h = mt_key_slot(sig); rec->slot[h] != 0; h = (h + 1) & 127) {
		f = &rec->f[rec->slot[h] - 1];
		if (f->sig == sig && f->klen == n &&
		    same_key(f->key, (const char *)k, n)) {
			snprintf(c->whybuf, sizeof c->whybuf,
			    "duplicate key \"%.*s\"", (int)(n > 40 ? 40 : n), k);
			c->why = c->whybuf;
			return 0;
		}
	}
	if (rec->nfields == MT_FIELDS_MAX) {
		c->why = "too many fields (more than 64)";
		return 0;
	}
	rec->slot[h] = (uint8_t)(rec->nfields + 1);
	f = &rec->f[rec->nfields++];
	f->type = MT_NULL;
	f->str = NULL;
	f->len = 0;
	/* a key without escapes is yajl's pointer into the line, which lives
	 * as long as the record (its text is the line too); keys are read
	 * with their length only, so need no terminating NUL */
	f->key = k >= c->line && k + n <= c->line_end ? (const char *)k :
	    arena_copy(c, k, n);
	f->klen = n;
	f->sig = sig;
	return 1;
}

static const yajl_callbacks callbacks = {
	cb_null, cb_bool, NULL, NULL, cb_number, cb_string,
	cb_start, cb_key, cb_end, cb_start_array, cb_end
};

static void new_handle(struct mt_ndjson *r)
{
	if (r->yh != NULL)
		yajl_free(r->yh);
	r->yh = yajl_alloc(&callbacks, NULL, &r->ctx);
	if (r->yh == NULL) {
		mt_out_of_memory();
	}
	yajl_config(r->yh, yajl_allow_multiple_values, 1);
}

static struct mt_ndjson *reader_sized(FILE *fp, int owned, const char *name,
    size_t chunk)
{
	struct mt_ndjson *r = mt_xcalloc(1, sizeof *r);

	r->fp = fp;
	r->owned = owned;
	r->pfd = -1;
	r->source = mt_xstrdup(name);
	/* both grow with the longest line met, up to MT_LINE_MAX: a program
	 * that reads many files at once holds little for each */
	r->cap = 2 * chunk < MT_LINE_MAX + chunk ? 2 * chunk : MT_LINE_MAX + chunk;
	r->buf = mt_xmalloc(r->cap);
	r->ctx.cap = chunk;
	r->ctx.arena = mt_xmalloc(r->ctx.cap);
	new_handle(r);
	return r;
}

static struct mt_ndjson *reader(FILE *fp, int owned, const char *name)
{
	return reader_sized(fp, owned, name, READ_CHUNK);
}

/* A part of a file: a reader per run of a file read as its runs merged,
 * so each holds little (PART_CHUNK, more only for a longer line). */
struct mt_ndjson *mt_ndjson_open_part(int fd, const char *name, off_t from,
    off_t to, long lines_before)
{
	struct mt_ndjson *r = reader_sized(NULL, 0, name, PART_CHUNK);

	r->pfd = fd;
	r->ppos = from;
	r->pend = to;
	r->lineno = lines_before;
	return r;
}

int mt_ndjson_is_reverse(const struct mt_ndjson *r)
{
	return r->reverse;
}

struct mt_ndjson *mt_ndjson_open(const char *path, struct mt_err *err)
{
	FILE *fp;
	int stdin_ = path == NULL || strcmp(path, "-") == 0;

	fp = stdin_ ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		mt_err_set(err, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	return reader(fp, !stdin_, stdin_ ? "-" : path);
}

struct mt_ndjson *mt_ndjson_open_fd(int fd, const char *name, struct mt_err *err)
{
	FILE *fp = fdopen(fd, "rb");

	if (fp == NULL) {
		mt_err_set(err, name, 0, "cannot open: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	return reader(fp, 1, name);
}

void mt_ndjson_close(struct mt_ndjson *r)
{
	if (r == NULL)
		return;
	if (r->owned && r->fp != NULL)
		fclose(r->fp);
	if (r->yh != NULL)
		yajl_free(r->yh);
	free(r->ctx.arena);
	free(r->buf);
	free(r->source);
	free(r);
}

/* Read more input behind what is buffered: 1 read something, 0 EOF, -1 error. */
static int fill(struct mt_ndjson *r)
{
	size_t n;

	if (r->eof)
		return 0;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		r->cap = r->cap * 2 < MT_LINE_MAX + READ_CHUNK ? r->cap * 2 :
		    MT_LINE_MAX + READ_CHUNK;
		r->buf = mt_xrealloc(r->buf, r->cap);
	}
	if (r->pfd >= 0) {
		off_t left = r->pend > r->ppos ? r->pend - r->ppos : 0;
		size_t want = r->cap - r->end < (size_t)left ? r->cap - r->end : (size_t)left;
		ssize_t got = want > 0 ? pread(r->pfd, r->buf + r->end, want, r->ppos) : 0;
		if (got < 0)
			return -1;
		n = (size_t)got;
		r->ppos += got;
	} else {
		n = fread(r->buf + r->end, 1, r->cap - r->end, r->fp);
	}
	r->end += n;
	if (n == 0) {
		if (r->pfd < 0 && ferror(r->fp))
			return -1;
		r->eof = 1;
		return 0;
	}
	return 1;
}

/* Skip the rest of an over-long line, keeping nothing of it. */
static int skip_line(struct mt_ndjson *r)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		int rc;
		if (nl != NULL) {
			r->start = (size_t)(nl - r->buf) + 1;
			return 0;
		}
		r->start = r->end = 0;
		if ((rc = fill(r)) <= 0)
			return rc;
	}
}

/* The next physical line: 1 and its extent, 0 at EOF, -1 read error,
 * 2 for a line that was too long (its first bytes are in r->preview). */
static int next_line(struct mt_ndjson *r, char **line, size_t *len)
{
	for (;;) {
		char *p = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(p, '\n', avail);
		int rc;

		if (nl != NULL && (size_t)(nl - p) <= MT_LINE_MAX) {
			*line = p;
			*len = (size_t)(nl - p);
			r->start += *len + 1;
			return 1;
		}
		if (nl != NULL || avail > MT_LINE_MAX) {
			memcpy(r->preview, p, PREVIEW);
			if (skip_line(r) < 0)
				return -1;
			return 2;
		}
		rc = fill(r);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (r->end == r->start)
				return 0;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			return 1;
		}
	}
}

/* Read the chunk of the file before the buffered part: 1 read, 0 nothing
 * before, -1 error. */
static int fill_back(struct mt_ndjson *r)
{
	off_t from = r->rpos - (off_t)r->end;
	size_t want = READ_CHUNK;

	if (from == 0)
		return 0;
	if ((off_t)want > from)
		want = (size_t)from;
	if (r->end + want > r->cap) {
		r->cap = r->end + want > r->cap * 2 ? r->end + want : r->cap * 2;
		r->buf = mt_xrealloc(r->buf, r->cap);
	}
	memmove(r->buf + want, r->buf, r->end);
	if (pread(fileno(r->fp), r->buf, want, from - (off_t)want) != (ssize_t)want)
		return -1;
	r->end += want;
	return 1;
}

/* An over-long line ending at line_end: find its start without keeping it,
 * keep its first bytes for the rejects. */
static int skip_back(struct mt_ndjson *r, off_t line_end)
{
	char chunk[4096];
	off_t pos = r->rpos - (off_t)r->end, lstart = 0;

	(void)line_end;
	while (pos > 0) {
		size_t want = pos < (off_t)sizeof chunk ? (size_t)pos : sizeof chunk;
		char *nl;
		if (pread(fileno(r->fp), chunk, want, pos - (off_t)want) != (ssize_t)want)
			return -1;
		if ((nl = memrchr(chunk, '\n', want)) != NULL) {
			lstart = pos - (off_t)want + (nl - chunk) + 1;
			break;
		}
		pos -= (off_t)want;
	}
	memset(r->preview, 0, PREVIEW);
	if (pread(fileno(r->fp), r->preview, PREVIEW, lstart) < 0)
		return -1;
	r->rpos = lstart;
	r->end = 0;
	return 2;
}

/* Where the line ending at line_end starts: after the newline before it in
 * the buffer, else at the buffer's start (the file's). */
static off_t nl_start(const struct mt_ndjson *r, off_t bstart, off_t line_end)
{
	size_t upto = (size_t)(line_end - bstart);
	char *nl = upto > 0 ? memrchr(r->buf, '\n', upto) : NULL;

	return nl ? bstart + (nl - r->buf) + 1 : bstart;
}

/* The line before what was read already, as next_line gives one. */
static int prev_line(struct mt_ndjson *r, char **line, size_t *len)
{
	off_t line_end, bstart, lstart;

	if (r->rpos == 0)
		return 0;
	if (r->end == 0 && fill_back(r) < 0)
		return -1;
	/* the unread part ends with its last line's newline, but at the end of
	 * a file without one */
	line_end = r->rpos - (r->buf[r->end - 1] == '\n');
	for (;;) {
		size_t upto;
		char *nl;

		bstart = r->rpos - (off_t)r->end;
		upto = (size_t)(line_end - bstart);
		nl = upto > 0 ? memrchr(r->buf, '\n', upto) : NULL;
		if (nl != NULL || bstart == 0)
			break;
		if (line_end - bstart > MT_LINE_MAX)
			return skip_back(r, line_end);
		if (fill_back(r) < 0)
			return -1;
	}
	lstart = nl_start(r, bstart, line_end);
	if (line_end - lstart > MT_LINE_MAX)
		return skip_back(r, line_end);
	*line = r->buf + (lstart - bstart);
	*len = (size_t)(line_end - lstart);
	r->end = (size_t)(lstart - bstart);
	r->rpos = lstart;
	return 1;
}

/* Lines in the file, for the numbers of a backward reading. */
static long count_lines(FILE *fp, struct mt_err *err, const char *path)
{
	char buf[READ_CHUNK];
	long n = 0;
	size_t got;
	int last = '\n';

	while ((got = fread(buf, 1, sizeof buf, fp)) > 0) {
		for (char *p = buf; (p = memchr(p, '\n', got - (size_t)(p - buf))) != NULL; p++)
			n++;
		last = buf[got - 1];
	}
	if (ferror(fp)) {
		mt_err_set(err, path, 0, "read error: %s", strerror(errno));
		return -1;
	}
	return n + (last != '\n');
}

struct mt_ndjson *mt_ndjson_open_reverse(const char *path, int numbered,
    struct mt_err *err)
{
	FILE *fp = fopen(path, "rb");
	struct mt_ndjson *r;
	long lines = 0;

	if (fp == NULL) {
		mt_err_set(err, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (numbered && (lines = count_lines(fp, err, path)) < 0) {
		fclose(fp);
		return NULL;
	}
	r = reader(fp, 1, path);
	r->reverse = 1;
	r->rpos = fseeko(fp, 0, SEEK_END) == 0 ? ftello(fp) : 0;
	r->end = 0;
	r->lineno = lines + 1;
	return r;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static void yajl_reason(struct mt_ndjson *r, const char *line, size_t len,
    struct mt_err *err)
{
	unsigned char *msg = yajl_get_error(r->yh, 0,
	    (const unsigned char *)line, len);
	size_t col = yajl_get_bytes_consumed(r->yh);
	char *nl = strchr((char *)msg, '\n');

	if (nl != NULL)
		*nl = '\0';
	mt_err_set(err, r->source, r->lineno, "malformed JSON (%s) at column %zu",
	    (char *)msg, col);
	yajl_free_error(r->yh, msg);
}

static int parse_line(struct mt_ndjson *r, struct mt_rec *rec, const char *line,
    size_t len, struct mt_err *err)
{
	struct parse_ctx *c = &r->ctx;
	yajl_status st;

	/* unescaped keys and strings never outgrow their line */
	if (c->cap < len + 2 * MT_FIELDS_MAX + 16) {
		c->cap = len + 2 * MT_FIELDS_MAX + 16;
		c->arena = mt_xrealloc(c->arena, c->cap);
	}
	c->rec = rec;
	c->line = (const unsigned char *)line;
	c->line_end = c->line + len;
	c->used = 0;
	c->depth = 0;
	c->objects = 0;
	c->why = NULL;
	rec->nfields = 0;
	memset(rec->slot, 0, sizeof rec->slot);
	st = yajl_parse(r->yh, (const unsigned char *)line, len);
	if (st == yajl_status_ok && c->objects == 1 && c->depth == 0)
		return 1;
	if (c->why != NULL)
		mt_err_set(err, r->source, r->lineno, "%s", c->why);
	else if (st == yajl_status_error)
		yajl_reason(r, line, len, err);
	else if (c->depth > 0)
		mt_err_set(err, r->source, r->lineno, "truncated JSON object");
	else
		mt_err_set(err, r->source, r->lineno, "line is not a JSON object");
	new_handle(r);
	return -1;
}

int mt_ndjson_next(struct mt_ndjson *r, struct mt_rec *rec, struct mt_err *err)
{
	char *line = NULL;
	size_t len = 0;

	for (;;) {
		int rc = r->reverse ? prev_line(r, &line, &len) : next_line(r, &line, &len);

		if (rc < 0) {
			mt_err_set(err, r->source, r->lineno + 1, "read error: %s",
			    strerror(errno));
			return -2;
		}
		if (rc == 0)
			return 0;
		r->lineno += r->reverse ? -1 : 1;
		rec->source = r->source;
		rec->line = r->lineno;
		rec->nfields = 0;
		memset(rec->slot, 0, sizeof rec->slot);
		if (rc == 2) {
			rec->text = r->preview;
			rec->textlen = PREVIEW;
			rec->truncated = 1;
			mt_err_set(err, r->source, r->lineno,
			    "line longer than %d bytes", MT_LINE_MAX);
			return -1;
		}
		if (r->lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			len -= 3;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		rec->text = line;
		rec->textlen = len;
		rec->truncated = 0;
		if (is_blank(line, len))
			continue;
		return parse_line(r, rec, line, len, err);
	}
}

/* Clinger's fast path: a decimal with at most 15 significant digits and at
 * most 22 after the point is an integer divided by an exact power of ten,
 * and one IEEE division rounds that correctly. */
double mt_strtod(const char *s, size_t n)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
		1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
		1e19, 1e20, 1e21, 1e22 };
	size_t i = 0;
	int neg = 0, digits = 0, frac = -1;
	uint64_t mant = 0;

	if (i < n && s[i] == '-')
		neg = 1, i++;
	for (; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			mant = mant * 10 + (uint64_t)(c - '0');
			if (mant != 0 && ++digits > 15)
				return strtod(s, NULL);
			if (frac >= 0)
				frac++;
		} else if (c == '.' && frac < 0) {
			frac = 0;
		} else {
			return strtod(s, NULL);   /* exponent */
		}
	}
	if (frac > 22)
		return strtod(s, NULL);
	double v = frac > 0 ? (double)mant / pow10[frac] : (double)mant;
	return neg ? -v : v;
}
