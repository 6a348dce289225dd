/* util.c - allocation, errors, number and duration parsing, atomic writes,
 * and a string-keyed hash map. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mt_out_of_memory(void)
{
	fputs("out of memory\n", stderr);
	abort();
}

static void *check_alloc(void *p)
{
	if (p == NULL)
		mt_out_of_memory();
	return p;
}

double mt_round_value(double v)
{
	return fabs(v) < 1e9 ? round(v * 1e9) / 1e9 : v;
}

double mt_round_coverage(double c)
{
	return round(c * 10000) / 10000;
}

void *mt_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
void *mt_xcalloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1)); }
void *mt_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }
char *mt_xstrdup(const char *s) { return check_alloc(strdup(s)); }

char *mt_xstrndup(const char *s, size_t n)
{
	char *p = mt_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void mt_err_set(struct mt_err *err, const char *file, long line,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	err->line = line;
	err->status = MT_EXIT_IO;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

int mt_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int mt_parse_duration(const char *s, int64_t *seconds)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > (long long)(INT64_MAX / 1000 / mult))
		return -1;
	*seconds = (int64_t)v * mult;
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

FILE *mt_atomic_open(const char *path, char **tmp, struct mt_err *err)
{
	size_t n = strlen(path) + 32;
	int fd;
	FILE *fp;

	*tmp = mt_xmalloc(n);
	snprintf(*tmp, n, "%s.tmp.%ld", path, (long)getpid());
	unlink(*tmp);     /* a leftover of a killed run with this pid */
	fd = mt_create_fd(*tmp, O_WRONLY | O_TRUNC | O_EXCL, err);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		mt_err_set(err, *tmp, 0, "cannot create: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		free(*tmp);
		*tmp = NULL;
		return NULL;
	}
	return fp;
}

int mt_atomic_commit(FILE *fp, char *tmp, const char *path, struct mt_err *err)
{
	int ok = fflush(fp) == 0 && !ferror(fp) && fsync(fileno(fp)) == 0;

	if (!ok)
		mt_err_set(err, tmp, 0, "cannot write: %s", strerror(errno));
	if (fclose(fp) != 0 && ok) {
		mt_err_set(err, tmp, 0, "cannot write: %s", strerror(errno));
		ok = 0;
	}
	if (ok && rename(tmp, path) < 0) {
		mt_err_set(err, path, 0, "cannot replace: %s", strerror(errno));
		ok = 0;
	}
	if (!ok)
		unlink(tmp);
	free(tmp);
	if (ok && fsync_dir_of(path) < 0) {
		mt_err_set(err, path, 0, "cannot sync directory: %s", strerror(errno));
		ok = 0;
	}
	return ok ? 0 : -1;
}

void mt_atomic_abandon(FILE *fp, char *tmp)
{
	fclose(fp);
	unlink(tmp);
	free(tmp);
}

/* Open addressing with linear probing.  Keys are hashed eight bytes at a
 * time with a multiply-xorshift mix: keys here are ids and times, tens of
 * bytes, and the map sits on the per-record path. */
struct mt_map_slot {
	char *key;
	size_t klen;
	uint64_t hash;
	void *val;
};

struct mt_map {
	struct mt_map_slot *slots;
	size_t cap, count;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t key_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = mix(h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, s + i, n - i);
		h = mix(h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	return mix(h);
}

struct mt_map *mt_map_new(void)
{
	struct mt_map *m = mt_xcalloc(1, sizeof *m);
	m->cap = 64;
	m->slots = mt_xcalloc(m->cap, sizeof *m->slots);
	return m;
}

void mt_map_free(struct mt_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct mt_map_slot *find_slot(const struct mt_map *m, const char *key,
    size_t klen, uint64_t h)
{
	size_t i = h & (m->cap - 1);

	for (;;) {
		struct mt_map_slot *s = &m->slots[i];
		if (s->key == NULL || (s->hash == h && s->klen == klen &&
		    memcmp(s->key, key, klen) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void grow(struct mt_map *m)
{
	struct mt_map_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	m->slots = mt_xcalloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			*find_slot(m, old[i].key, old[i].klen, old[i].hash) = old[i];
	free(old);
}

void *mt_map_get(const struct mt_map *m, const char *key, size_t klen)
{
	return find_slot(m, key, klen, key_hash(key, klen))->val;
}

void mt_map_put(struct mt_map *m, const char *key, size_t klen, void *val)
{
	uint64_t h = key_hash(key, klen);
	struct mt_map_slot *s;

	if (2 * (m->count + 1) > m->cap)
		grow(m);
	s = find_slot(m, key, klen, h);
	if (s->key == NULL) {
		s->key = mt_xstrndup(key, klen);
		s->klen = klen;
		s->hash = h;
		m->count++;
	}
	s->val = val;
}

/* Backward-shift deletion keeps probe runs unbroken without tombstones. */
void *mt_map_del(struct mt_map *m, const char *key, size_t klen)
{
	struct mt_map_slot *s = find_slot(m, key, klen, key_hash(key, klen));
	size_t i = (size_t)(s - m->slots), j = i;
	void *val = s->val;

	if (s->key == NULL)
		return NULL;
	free(s->key);
	for (;;) {
		size_t home;
		j = (j + 1) & (m->cap - 1);
		if (m->slots[j].key == NULL)
			break;
		home = m->slots[j].hash & (m->cap - 1);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	memset(&m->slots[i], 0, sizeof m->slots[i]);
	m->count--;
	return val;
}

/* Ids become parts of keys and of paths: letters, digits, '.', '_', '-',
 * not starting with '.', at most MT_ID_MAX bytes.  A table, since every
 * record's ids pass through here. */
int mt_id_validn(const char *id, size_t n)
{
	static unsigned char ok[256];

	if (!ok['a']) {
		for (int c = 0; c < 256; c++)
			ok[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
	}
	if (n == 0 || n > MT_ID_MAX || id[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ok[(unsigned char)id[i]])
			return 0;
	return 1;
}

int mt_id_valid(const char *id)
{
	return mt_id_validn(id, strlen(id));
}

int mt_parse_size(const char *s, size_t *out)
{
	char *end;
	double d, mult = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	d = strtod(s, &end);
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'M')
		mult = 1024 * 1024, end++;
	else if (*end == 'G')
		mult = 1024.0 * 1024 * 1024, end++;
	if (end == s || *end != '\0' || !(d * mult >= 1) ||
	    d * mult > 4.0 * 1024 * 1024 * 1024)
		return -1;
	*out = (size_t)(d * mult);
	return 0;
}

void mt_map_each(const struct mt_map *m, void (*fn)(void *ctx, const char *key,
    size_t klen, void *val), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL)
			fn(ctx, m->slots[i].key, m->slots[i].klen, m->slots[i].val);
}

int mt_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}
