/* input.c - what the programs read: the records of their files, or of
 * standard input, as one stream.
 *
 * Several files are one input: their records are merged by time, as
 * sort -m merges sorted files, so the order of the arguments and the time
 * spans of the files do not matter, and memory is one record per file.
 * Each file is taken to be in time order (every fetch and every program's
 * output is); a regular file that runs newest first (its first record is
 * later than its last) is read backwards, as tac(1) does.  For the
 * programs that read in a window (mt_cli_each_record_in_time), a regular
 * file whose records go back in time (a fetch of many meters writes one
 * meter's readings after another's) is read as its runs in time order
 * merged the same way: the meters are read together, hour by hour, so
 * meter-standardize writes every meter's hours in step, and the loads and
 * completions after it go through the warehouse's hour-keyed tables in
 * order instead of a year for each meter.  Standard input is read as it
 * comes.  The time of a record is its "ts" (a raw reading) or its "hour";
 * a line without one (or not a record at all) goes first.
 * A record of another participant than -p's is turned away here, before
 * a program does anything with it (meter(7) SECURITY). */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* What the readers of runs may hold together, over all the files of a
 * program: about 1,800 runs of short lines.  A file whose runs would take
 * more is read as it is. */
#define RUNS_BUDGET (64u << 20)
/* Times sampled across a larger file before it is read line by line for
 * its runs: a file in time order, the usual one, is not read twice. */
#define PROBES 64
#define PROBE_ALL (1 << 20)

struct source {
	struct mt_ndjson *rd;
	struct mt_rec *rec;
	int state;           /* 1 a record, -1 a bad line, 0 done */
	mt_time_t key;
	char why[sizeof ((struct mt_err *)0)->msg];
};

/* A source in the heap with its key beside it: the sift compares keys
 * without a visit to each source (a thousand runs' are far apart). */
struct entry {
	mt_time_t key;
	size_t i;
};

struct merge {
	struct source *src;
	size_t n, cap;
	int *fds;            /* files read as runs, each shared by its parts */
	size_t nfds;
	size_t budget;       /* for more runs' readers, of RUNS_BUDGET */
	struct entry *heap;  /* sources with something, earliest first */
	size_t nheap;
};

static struct source *new_source(struct merge *m)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->src = mt_xrealloc(m->src, m->cap * sizeof *m->src);
	}
	memset(&m->src[m->n], 0, sizeof m->src[m->n]);
	m->src[m->n].rec = mt_xmalloc(sizeof *m->src[m->n].rec);
	return &m->src[m->n++];
}

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

/* A line's time, and whether it is a wall-clock time without an offset. */
static mt_time_t line_time(const char *line, size_t n, int *local)
{
	static const char *const keys[] = { "\"ts\":", "\"hour\":" };
	enum mt_tsform form;
	mt_time_t t;

	*local = 0;
	for (int k = 0; k < 2; k++) {
		const char *p = memmem(line, n, keys[k], strlen(keys[k]));
		const char *end = line + n;
		if (p == NULL)
			continue;
		for (p += strlen(keys[k]); p < end && *p == ' '; p++)
			;
		if (p < end && *p == '"') {
			const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
			if (q != NULL && mt_time_parse(p + 1, (size_t)(q - p - 1), &t, &form, NULL) == 0) {
				*local = form == MT_TS_LOCAL;
				return t;
			}
		} else if (p < end && (*p == '-' || (*p >= '0' && *p <= '9'))) {
			return (mt_time_t)(strtod(p, NULL) * 1000);
		}
	}
	return MT_TIME_MIN;
}

mt_time_t mt_line_time(const char *line, size_t n)
{
	int local;

	return line_time(line, n, &local);
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

/* The time of the first whole line at or after byte `at`. */
static mt_time_t probe(int fd, off_t at)
{
	char buf[4096];
	ssize_t got = pread(fd, buf, sizeof buf, at);
	char *start = buf, *nl;

	if (got <= 0)
		return MT_TIME_MIN;
	if (at > 0) {
		if ((nl = memchr(buf, '\n', (size_t)got)) == NULL)
			return MT_TIME_MIN;
		start = nl + 1;
	}
	nl = memchr(start, '\n', (size_t)(buf + got - start));
	return mt_line_time(start, (size_t)((nl ? nl : buf + got) - start));
}

/* The time of the file's last line (within its last 4 KB). */
static mt_time_t last_time(int fd, off_t size)
{
	char buf[4096];
	off_t at = size > (off_t)sizeof buf ? size - (off_t)sizeof buf : 0;
	ssize_t got = pread(fd, buf, sizeof buf, at);
	size_t n = got > 0 ? (size_t)got : 0;
	char *nl;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	nl = memrchr(buf, '\n', n);
	return nl == NULL ? MT_TIME_MIN : mt_line_time(nl + 1, n - (size_t)(nl + 1 - buf));
}

/* Whether the times of lines spread over the file, and of its last line
 * (a short run at the end), never go back. */
static int probes_in_order(int fd, off_t size)
{
	mt_time_t prev = MT_TIME_MIN, t;

	for (int i = 0; i <= PROBES; i++) {
		t = i < PROBES ? probe(fd, size / PROBES * i) : last_time(fd, size);
		if (t == MT_TIME_MIN)
			continue;
		if (prev != MT_TIME_MIN && t < prev)
			return 0;
		prev = t;
	}
	return 1;
}

struct runs {
	off_t *at;           /* where each run starts */
	long *lines_before;  /* and the lines before it */
	size_t n, cap, max;
	size_t longest;      /* the longest line, for the buffers' sizes */
	off_t end;           /* where the scan ended: the last run's end */
	/* why the file is read as it is: a wall-clock time (its order is its
	 * meaning), a meter in two runs (merging would reorder its records),
	 * a meter that a quick look cannot read as the parser will, too
	 * many runs */
	int refuse;
	struct mt_map *meters;  /* meter -> its run + 1 */
	char last[MT_ID_MAX + 1];
	size_t lastlen, lastrun;
};

static void add_run(struct runs *r, off_t at, long lines_before)
{
	if (r->n == r->max) {
		r->refuse = 1;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->at = mt_xrealloc(r->at, r->cap * sizeof *r->at);
		r->lines_before = mt_xrealloc(r->lines_before, r->cap * sizeof *r->lines_before);
	}
	r->at[r->n] = at;
	r->lines_before[r->n++] = lines_before;
}

/* The meter a line names, as its parser will read it: 1 and the id, 0
 * when it names none, -1 when a quick look cannot tell (an escape,
 * spacing, the key twice or as a value). */
static int line_meter(const char *p, size_t n, const char **id, size_t *len)
{
	const char *end = p + n, *k, *q, *e;

	/* an escape anywhere can spell a key or a value the parser reads
	 * otherwise ("m\u0065ter") */
	if (memchr(p, '\\', n) != NULL)
		return -1;
	if ((k = memmem(p, n, "\"meter\"", 7)) == NULL)
		return 0;
	if (memmem(k + 7, (size_t)(end - k - 7), "\"meter\"", 7) != NULL)
		return -1;
	for (q = k + 7; q < end && *q == ' '; q++)
		;
	if (q == end || *q != ':')
		return -1;
	for (q++; q < end && *q == ' '; q++)
		;
	if (q == end || *q != '"' ||
	    (e = memchr(q + 1, '"', (size_t)(end - q - 1))) == NULL ||
	    memchr(q + 1, '\\', (size_t)(e - q - 1)) != NULL || e - q - 1 > MT_ID_MAX)
		return -1;
	*id = q + 1;
	*len = (size_t)(e - q - 1);
	return 1;
}

/* Each meter in one run only: then merging the runs keeps every meter's
 * records in the order of the file, whatever their times. */
static void note_meter(struct runs *r, const char *p, size_t n)
{
	const char *id;
	size_t len;
	int rc = line_meter(p, n, &id, &len);
	uintptr_t run;

	if (rc <= 0) {
		r->refuse |= rc < 0;
		return;
	}
	if (len == r->lastlen && r->lastrun == r->n && memcmp(id, r->last, len) == 0)
		return;
	run = (uintptr_t)mt_map_get(r->meters, id, len);
	if (run == 0)
		mt_map_put(r->meters, id, len, (void *)(uintptr_t)r->n);
	else if (run != r->n)
		r->refuse = 1;
	memcpy(r->last, id, len);
	r->lastlen = len;
	r->lastrun = r->n;
}

/* A line's part in the runs: a time earlier than the time before it
 * starts a run; a line without a time stays in the run it is in. */
static void run_line(struct runs *r, const char *p, size_t n, off_t at,
    long line, mt_time_t *prev)
{
	int local;
	mt_time_t t = line_time(p, n, &local);

	if (local)
		r->refuse = 1;
	if (t != MT_TIME_MIN) {
		if (*prev != MT_TIME_MIN && t < *prev)
			add_run(r, at, line);
		*prev = t;
	}
	note_meter(r, p, n);
}

/* The runs of the file's first `size` bytes, which the runs' readers
 * then read, not what is written after the scan.  A file with a line
 * longer than the buffer is read as it is. */
static int find_runs(int fd, off_t size, struct runs *r)
{
	char *buf = mt_xmalloc(1 << 16);
	size_t have = 0, cap = 1 << 16;
	off_t pos = 0, line_at = 0;
	long line = 0;
	mt_time_t prev = MT_TIME_MIN;
	int rc = 0;

	add_run(r, 0, 0);
	while (!r->refuse) {
		size_t want = cap - have;
		ssize_t got = pos < size ? pread(fd, buf + have,
		    (off_t)want < size - pos ? want : (size_t)(size - pos), pos) : 0;
		char *p = buf, *nl, *end;

		if (got < 0) {
			rc = -1;
			break;
		}
		pos += got;
		end = buf + have + got;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			run_line(r, p, (size_t)(nl - p), line_at, line, &prev);
			if ((size_t)(pos - (end - nl) - line_at) > r->longest)
				r->longest = (size_t)(pos - (end - nl) - line_at);
			line_at = pos - (end - nl) + 1;
			line++;
			p = nl + 1;
		}
		if (got == 0) {
			if (p < end)
				run_line(r, p, (size_t)(end - p), line_at, line, &prev);
			break;
		}
		if (p == buf && end == buf + cap) {
			/* a line longer than the buffer: its meter and time could
			 * be anywhere in it */
			r->refuse = 1;
			break;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	if ((size_t)(pos - line_at) > r->longest)
		r->longest = (size_t)(pos - line_at);
	r->end = pos;
	free(buf);
	return rc;
}

/* What a run's reader holds at most (ndjson.c): its buffer, which
 * doubles until a line fits; its arena, a line's strings; yajl's buffer
 * for a string with escapes; its record; the parser itself. */
static size_t run_cost(size_t longest)
{
	size_t buf = 2 * longest > 2 * PART_CHUNK ? 2 * longest : 2 * PART_CHUNK;
	size_t arena = longest + 256 > PART_CHUNK ? longest + 256 : PART_CHUNK;

	return buf + arena + longest + sizeof (struct mt_rec) + 8192;
}

/* The runs of a regular file in time order, when it has more than one and
 * their buffers fit what is left of the program's budget for them: each
 * becomes a source of the merge.  Opened without blocking: a FIFO named
 * as a file is never waited on here. */
static int add_runs(struct merge *m, const char *path)
{
	struct runs r = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ok;

	if (fd < 0)
		return 0;
	r.max = m->budget / run_cost(0);
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && r.max >= 2 &&
	    !(st.st_size > PROBE_ALL && probes_in_order(fd, st.st_size));
	if (ok) {
		r.meters = mt_map_new();
		ok = find_runs(fd, st.st_size, &r) == 0 && !r.refuse && r.n >= 2 &&
		    r.n * run_cost(r.longest) <= m->budget;
		mt_map_free(r.meters);
	}
	if (ok) {
		m->budget -= r.n * run_cost(r.longest);
		for (size_t i = 0; i < r.n; i++)
			new_source(m)->rd = mt_ndjson_open_part(fd, path, r.at[i],
			    i + 1 < r.n ? r.at[i + 1] : r.end, r.lines_before[i]);
		m->fds = mt_xrealloc(m->fds, (m->nfds + 1) * sizeof *m->fds);
		m->fds[m->nfds++] = fd;
	} else {
		close(fd);
	}
	free(r.at);
	free(r.lines_before);
	return ok;
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

static int before(const struct entry *a, const struct entry *b)
{
	return a->key < b->key || (a->key == b->key && a->i < b->i);
}

static void sift_down(struct merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		struct entry t;
		if (l < m->nheap && before(&m->heap[l], &m->heap[best]))
			best = l;
		if (r < m->nheap && before(&m->heap[r], &m->heap[best]))
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
			m->heap[m->nheap++] = (struct entry){ m->src[i].key, i };
	for (size_t i = m->nheap / 2; i-- > 0; )
		sift_down(m, i);
}

/* Hand the earliest thing of any source to the program, then move that
 * source on. */
static int deliver(struct merge *m, const char *participant, mt_record_fn fn,
    mt_badline_fn bad, void *ctx)
{
	struct source *s = &m->src[m->heap[0].i];
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
	else
		m->heap[0].key = s->key;
	sift_down(m, 0);
	return 0;
}

static void close_all(struct merge *m)
{
	for (size_t i = 0; i < m->n; i++) {
		mt_ndjson_close(m->src[i].rd);
		free(m->src[i].rec);
	}
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m->fds);
	free(m->src);
	free(m->heap);
}

static int each_record(int nfiles, char **files, const char *participant,
    int in_time, mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	static char *dash[] = { "-" };
	struct merge m = { .budget = RUNS_BUDGET };
	int rc = 0;

	if (nfiles == 0) {
		nfiles = 1;
		files = dash;
	}
	/* every input opens before any is read: a typo fails the run first */
	for (int i = 0; i < nfiles; i++) {
		struct mt_ndjson *rd = open_file(files[i]);
		if (rd == NULL) {
			close_all(&m);
			return -1;
		}
		if (in_time && strcmp(files[i], "-") != 0 && !mt_ndjson_is_reverse(rd) &&
		    add_runs(&m, files[i])) {
			mt_ndjson_close(rd);
			continue;
		}
		new_source(&m)->rd = rd;
	}
	m.heap = mt_xcalloc(m.n, sizeof *m.heap);
	for (size_t i = 0; rc == 0 && i < m.n; i++)
		rc = advance(&m.src[i], m.n > 1);
	if (rc == 0)
		heapify(&m);
	while (rc == 0 && m.nheap > 0)
		rc = deliver(&m, participant, fn, bad, ctx);
	close_all(&m);
	return rc;
}

int mt_cli_each_record(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	return each_record(nfiles, files, participant, 0, fn, bad, ctx);
}

int mt_cli_each_record_in_time(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	return each_record(nfiles, files, participant, 1, fn, bad, ctx);
}
