/* archive.c - the raw archive and the fetch cursors.
 *
 * Every payload is kept exactly as fetched under
 * ARCHIVE/YYYY/MM/DD/METER/SHA256.EXT, dated by the fetch (UTC), named by
 * its content: the same bytes fetched twice on a day are one file, and a
 * name can never carry anything but an id and a hash.  Readings name their
 * payload as "raw/YYYY/MM/DD/METER/SHA256.EXT" wherever the archive lives,
 * so a replay writes the same records as the fetch did.
 *
 * Cursors (the latest reading time per meter) live in one NDJSON file,
 * replaced atomically. */
/* syncfs(2): one flush of the archive's file system per run */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static void sha256_hex(const char *body, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(body, n, md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

int mt_archive_put(const char *dir, const char *meter, const char *ext,
    mt_time_t when, const char *body, size_t n, char **name, struct mt_err *err)
{
	char hex[65], date[16], *rel, *path, *tmp;
	size_t rlen, plen;
	struct stat st;
	FILE *fp;
	int y;
	unsigned m, d;

	mt_civil_from_days(when / 86400000, &y, &m, &d);
	snprintf(date, sizeof date, "%04d/%02u/%02u", y, m, d);
	sha256_hex(body, n, hex);
	rlen = strlen(date) + strlen(meter) + strlen(ext) + 80;
	rel = mt_xmalloc(rlen);
	snprintf(rel, rlen, "%s/%s/%s%s%s", date, meter, hex, *ext ? "." : "", ext);
	plen = strlen(dir) + rlen + 2;
	path = mt_xmalloc(plen);
	snprintf(path, plen, "%s/%s/%s", dir, date, meter);
	*name = NULL;
	if (mt_mkdirs(path, err) < 0)
		goto fail;
	snprintf(path, plen, "%s/%s", dir, rel);
	if (stat(path, &st) == 0 && st.st_size == (off_t)n)
		goto done;        /* the same bytes, by their name */
	if ((fp = mt_atomic_open(path, &tmp, err)) == NULL)
		goto fail;
	/* Renamed into place unsynced: mt_archive_sync makes the whole run's
	 * payloads durable at once before any cursor moves, instead of two
	 * fsyncs per payload.  A crash before then leaves the cursors where
	 * they were, so the payload is fetched again, and a file cut short by
	 * the crash is rewritten (its size is wrong for its name). */
	if (fwrite(body, 1, n, fp) != n || fflush(fp) != 0) {
		mt_err_set(err, path, 0, "cannot write: %s", strerror(errno));
		fclose(fp);
		remove(tmp);
		free(tmp);
		goto fail;
	}
	if (fclose(fp) != 0 || rename(tmp, path) < 0) {
		mt_err_set(err, path, 0, "cannot write: %s", strerror(errno));
		remove(tmp);
		free(tmp);
		goto fail;
	}
	free(tmp);
done:
	*name = mt_xmalloc(rlen + 8);
	snprintf(*name, rlen + 8, "raw/%s", rel);
	free(rel);
	free(path);
	return 0;
fail:
	err->status = MT_EXIT_IO;
	free(rel);
	free(path);
	return -1;
}

int mt_archive_sync(const char *dir, struct mt_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;     /* nothing archived */
		mt_err_set(err, dir, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	rc = syncfs(fd);
	close(fd);
	if (rc < 0) {
		mt_err_set(err, dir, 0, "cannot sync: %s", strerror(errno));
		return -1;
	}
	return 0;
}

char *mt_archive_name(const char *path, char **meter)
{
	const char *part[5], *end = path + strlen(path);
	int k = 0;
	size_t n;

	/* The last five components: YYYY MM DD METER FILE. */
	for (const char *p = end; p > path && k < 5; p--)
		if (p[-1] == '/')
			part[k++] = p;
	*meter = NULL;
	if (k < 5)
		return mt_xstrdup(path);
	n = (size_t)(part[0] - part[1]) - 1;
	*meter = mt_xstrndup(part[1], n);
	n = strlen(part[4]) + 8;
	{
		char *name = mt_xmalloc(n);
		snprintf(name, n, "raw/%s", part[4]);
		return name;
	}
}

/* ---- cursors ---- */

struct mt_cursors {
	char **meter;
	mt_time_t *at;
	size_t n;
};

static long find(const struct mt_cursors *c, const char *meter)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->meter[i], meter) == 0)
			return (long)i;
	return -1;
}

void mt_cursor_set(struct mt_cursors *c, const char *meter, mt_time_t at)
{
	long i = find(c, meter);

	if (i < 0) {
		c->meter = mt_xrealloc(c->meter, (c->n + 1) * sizeof *c->meter);
		c->at = mt_xrealloc(c->at, (c->n + 1) * sizeof *c->at);
		c->meter[c->n] = mt_xstrdup(meter);
		i = (long)c->n++;
	}
	c->at[i] = at;
}

int mt_cursor_get(const struct mt_cursors *c, const char *meter, mt_time_t *at)
{
	long i = find(c, meter);

	if (i < 0)
		return 0;
	*at = c->at[i];
	return 1;
}

struct mt_cursors *mt_cursors_load(const char *path, struct mt_err *err)
{
	struct mt_cursors *c = mt_xcalloc(1, sizeof *c);
	struct mt_ndjson *r;
	struct mt_rec *rec;
	int rc;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return c;
	if ((r = mt_ndjson_open(path, err)) == NULL) {
		mt_cursors_free(c);
		return NULL;
	}
	rec = mt_xmalloc(sizeof *rec);
	while ((rc = mt_ndjson_next(r, rec, err)) == 1) {
		const struct mt_field *m = mt_rec_get(rec, "meter");
		const struct mt_field *t = mt_rec_get(rec, "cursor");
		mt_time_t at;
		enum mt_tsform form;
		if (m == NULL || t == NULL || m->type != MT_STRING || t->type != MT_STRING ||
		    mt_time_parse(t->str, t->len, &at, &form, err) < 0 || form != MT_TS_UTC) {
			mt_err_set(err, path, rec->line, "bad cursor record");
			rc = -1;
			break;
		}
		mt_cursor_set(c, m->str, at);
	}
	free(rec);
	mt_ndjson_close(r);
	if (rc != 0) {
		if (rc == -1)
			mt_err_set(err, path, err->line, "corrupt cursor file: %s", err->msg);
		err->status = MT_EXIT_IO;
		mt_cursors_free(c);
		return NULL;
	}
	return c;
}

int mt_cursors_save(const struct mt_cursors *c, const char *path,
    struct mt_err *err)
{
	char *tmp, *dir = mt_xstrdup(path), *slash = strrchr(dir, '/');
	FILE *fp;
	struct mt_out *o;
	int failed;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mt_mkdirs(dir, err) < 0) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	if ((fp = mt_atomic_open(path, &tmp, err)) == NULL)
		return -1;
	o = mt_out_new(fp);
	for (size_t i = 0; i < c->n; i++) {
		mt_out_begin(o);
		mt_out_str(o, "meter", c->meter[i]);
		mt_out_time(o, "cursor", c->at[i]);
		mt_out_end(o);
	}
	failed = mt_out_flush(o) < 0;
	mt_out_free(o);
	if (failed) {
		mt_err_set(err, tmp, 0, "cannot write: %s", strerror(errno));
		fclose(fp);
		remove(tmp);
		free(tmp);
		return -1;
	}
	return mt_atomic_commit(fp, tmp, path, err);
}

void mt_cursors_free(struct mt_cursors *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->meter[i]);
	free(c->meter);
	free(c->at);
	free(c);
}
