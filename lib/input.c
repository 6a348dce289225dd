/* input.c - what the programs read: the records of their files, or of
 * standard input, as one stream.
 *
 * Several files are one input: their records are merged by time, as
 * sort -m merges sorted files, so the order of the arguments and the time
 * spans of the files do not matter, and memory is one record per file.
 * Each file is taken to be in time order (every fetch and every program's
 * output is); a regular file that runs newest first (its first record is
 * later than its last) is read backwards, as tac(1) does.  Standard input
 * is read as it comes.  The time of a record is its "ts" (a raw reading)
 * or its "hour"; a line without one (or not a record at all) goes first.
 * A record of another participant than -p's is turned away here, before
 * a program does anything with it (meter(7) SECURITY). */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct source {
	struct mt_ndjson *rd;
	struct mt_rec *rec;
	int state;           /* 1 a record, -1 a bad line, 0 done */
	mt_time_t key;
	char why[sizeof ((struct mt_err *)0)->msg];
};

struct merge {
	struct source *src;
	size_t n;
	size_t *heap;        /* sources with something, earliest first */
	size_t nheap;
};

/* The record's time for ordering, or MT_TIME_MIN when it has none. */
static mt_time_t record_time(const struct mt_rec *rec)
{
	const struct mt_field *f = mt_rec_get(rec, "ts");
	enum mt_tsform form;
	mt_time_t t;

	if (f == NULL)
		f = mt_rec_get(rec, "hour");
	if (f == NULL)
		return MT_TIME_MIN;
	if (f->type == MT_STRING)
		return mt_time_parse(f->str, f->len, &t, &form, NULL) == 0 ? t : MT_TIME_MIN;
	if (f->type == MT_NUMBER && isfinite(f->num) && fabs(f->num) < 9e12)
		return (mt_time_t)(f->num * 1000);
	return MT_TIME_MIN;
}

/* The first and last times a file holds (of the first and last records
 * that have one, up to a few lines in). */
static int end_time(struct mt_ndjson *rd, mt_time_t *t)
{
	struct mt_rec *rec = mt_xmalloc(sizeof *rec);
	struct mt_err err;
	int rc, tries = 0;

	*t = MT_TIME_MIN;
	while (*t == MT_TIME_MIN && tries++ < 16 && (rc = mt_ndjson_next(rd, rec, &err)) != 0)
		if (rc == 1)
			*t = record_time(rec);
	free(rec);
	return *t != MT_TIME_MIN;
}

mt_time_t mt_line_time(const char *line, size_t n)
{
	static const char *const keys[] = { "\"ts\":", "\"hour\":" };
	enum mt_tsform form;
	mt_time_t t;

	for (int k = 0; k < 2; k++) {
		const char *p = memmem(line, n, keys[k], strlen(keys[k]));
		const char *end = line + n;
		if (p == NULL)
			continue;
		for (p += strlen(keys[k]); p < end && *p == ' '; p++)
			;
		if (p < end && *p == '"') {
			const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
			if (q != NULL && mt_time_parse(p + 1, (size_t)(q - p - 1), &t, &form, NULL) == 0)
				return t;
		} else if (p < end && (*p == '-' || (*p >= '0' && *p <= '9'))) {
			return (mt_time_t)(strtod(p, NULL) * 1000);
		}
	}
	return MT_TIME_MIN;
}

/* Adjacent lines of the file that go back in time, less those that go
 * forward: a file that runs newest first has far more of the first. */
static long descents(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char buf[65536], head[1024];
	size_t hn = 0, got;
	long d = 0;
	int skipping = 0;
	mt_time_t prev = MT_TIME_MIN, t;

	if (fp == NULL)
		return 0;
	while ((got = fread(buf, 1, sizeof buf, fp)) > 0)
		for (size_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				if (hn < sizeof head && !skipping)
					head[hn++] = buf[i];
				continue;
			}
			if ((t = mt_line_time(head, hn)) != MT_TIME_MIN) {
				if (prev != MT_TIME_MIN)
					d += t < prev ? 1 : t > prev ? -1 : 0;
				prev = t;
			}
			hn = 0;
		}
	fclose(fp);
	return d;
}

/* A regular file whose first record is later than its last, and whose
 * records mostly go back in time (not one late record at the end of a
 * file in time order). */
static int newest_first(const char *path)
{
	struct mt_ndjson *rd;
	struct mt_err err;
	mt_time_t first, last;
	struct stat st;
	int ok;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((rd = mt_ndjson_open(path, &err)) == NULL)
		return 0;
	ok = end_time(rd, &first);
	mt_ndjson_close(rd);
	if (!ok || (rd = mt_ndjson_open_reverse(path, 0, &err)) == NULL)
		return 0;
	ok = end_time(rd, &last);
	mt_ndjson_close(rd);
	return ok && last < first && descents(path) > 0;
}

static struct mt_ndjson *open_file(const char *path)
{
	struct mt_ndjson *rd;
	struct mt_err err;
	int stdin_ = strcmp(path, "-") == 0;

	rd = !stdin_ && newest_first(path) ? mt_ndjson_open_reverse(path, 1, &err) :
	    mt_ndjson_open(path, &err);
	if (rd == NULL)
		mt_diag_err(&err);
	return rd;
}

/* -p: a record of another participant is turned away before the program
 * does anything with it. */
static int foreign(const struct mt_rec *rec, const char *participant)
{
	const struct mt_field *f;

	if (participant == NULL)
		return 0;
	f = mt_rec_get(rec, "participant");
	return f == NULL || f->type != MT_STRING || strcmp(f->str, participant) != 0;
}

/* The source's next record or bad line: 0, or -1 on a read error. */
static int advance(struct source *s, int keyed)
{
	struct mt_err err;
	int rc = mt_ndjson_next(s->rd, s->rec, &err);

	if (rc == -2) {
		mt_diag_err(&err);
		return -1;
	}
	s->state = rc;
	if (rc == -1)
		snprintf(s->why, sizeof s->why, "%s", err.msg);
	s->key = rc == 1 && keyed ? record_time(s->rec) : MT_TIME_MIN;
	return 0;
}

/* ---- the heap of sources, earliest first (ties: argument order) ---- */

static int before(const struct merge *m, size_t a, size_t b)
{
	mt_time_t ka = m->src[a].key, kb = m->src[b].key;

	return ka < kb || (ka == kb && a < b);
}

static void sift_down(struct merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i, t;
		if (l < m->nheap && before(m, m->heap[l], m->heap[best]))
			best = l;
		if (r < m->nheap && before(m, m->heap[r], m->heap[best]))
			best = r;
		if (best == i)
			return;
		t = m->heap[i], m->heap[i] = m->heap[best], m->heap[best] = t;
		i = best;
	}
}

static void heapify(struct merge *m)
{
	m->nheap = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->src[i].state != 0)
			m->heap[m->nheap++] = i;
	for (size_t i = m->nheap / 2; i-- > 0; )
		sift_down(m, i);
}

/* Hand the earliest thing of any source to the program, then move that
 * source on. */
static int deliver(struct merge *m, const char *participant, mt_record_fn fn,
    mt_badline_fn bad, void *ctx)
{
	size_t i = m->heap[0];
	struct source *s = &m->src[i];
	char why[128];

	if (s->state == -1) {
		bad(ctx, s->rec, s->why);
	} else if (foreign(s->rec, participant)) {
		snprintf(why, sizeof why, "not a record of participant %s (-p)", participant);
		bad(ctx, s->rec, why);
	} else if (fn(ctx, s->rec) < 0) {
		return -1;
	}
	if (advance(s, m->n > 1) < 0)
		return -1;
	if (s->state == 0)
		m->heap[0] = m->heap[--m->nheap];
	sift_down(m, 0);
	return 0;
}

static void close_all(struct merge *m)
{
	for (size_t i = 0; i < m->n; i++) {
		mt_ndjson_close(m->src[i].rd);
		free(m->src[i].rec);
	}
	free(m->src);
	free(m->heap);
}

int mt_cli_each_record(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	static char *dash[] = { "-" };
	struct merge m = { 0 };
	int rc = 0;

	if (nfiles == 0) {
		nfiles = 1;
		files = dash;
	}
	m.src = mt_xcalloc((size_t)nfiles, sizeof *m.src);
	m.heap = mt_xcalloc((size_t)nfiles, sizeof *m.heap);
	/* every input opens before any is read: a typo fails the run first */
	for (m.n = 0; m.n < (size_t)nfiles; m.n++) {
		struct source *s = &m.src[m.n];
		if ((s->rd = open_file(files[m.n])) == NULL) {
			close_all(&m);
			return -1;
		}
		s->rec = mt_xmalloc(sizeof *s->rec);
	}
	for (size_t i = 0; rc == 0 && i < m.n; i++)
		rc = advance(&m.src[i], m.n > 1);
	if (rc == 0)
		heapify(&m);
	while (rc == 0 && m.nheap > 0)
		rc = deliver(&m, participant, fn, bad, ctx);
	close_all(&m);
	return rc;
}
