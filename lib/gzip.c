/* gzip.c - gzip undone in memory with a cap on what it may expand to (a
 * payload or a context file may be a compression bomb), and whole files
 * read that way. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

int mt_gunzip(const char *body, size_t n, size_t max, char **out,
    size_t *outn, struct mt_err *err)
{
	z_stream zs;
	size_t cap = n * 4 + 4096, len = 0;
	char *buf;
	int rc = Z_OK;

	*out = (char *)body;
	*outn = n;
	if (n < 2 || (unsigned char)body[0] != 0x1f || (unsigned char)body[1] != 0x8b)
		return 0;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		mt_err_set(err, NULL, 0, "cannot start gzip decoding");
		return -1;
	}
	if (cap > max + 1)
		cap = max + 1;
	buf = mt_xmalloc(cap + 1);
	zs.next_in = (unsigned char *)body;
	zs.avail_in = (uInt)n;   /* bodies are capped far below 4 GiB */
	while (rc != Z_STREAM_END) {
		if (len == cap) {
			if (cap > max) {
				mt_err_set(err, NULL, 0, "gzip body expands beyond %zu bytes "
				    "(max-size)", max);
				goto fail;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = mt_xrealloc(buf, cap + 1);
		}
		zs.next_out = (unsigned char *)buf + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (rc == Z_STREAM_END && zs.avail_in > 0) {
			/* Concatenated members, as gzip(1) writes them. */
			if (inflateReset(&zs) != Z_OK)
				break;
			rc = Z_OK;
		} else if (rc != Z_OK && !(rc == Z_BUF_ERROR && len == cap)) {
			if (rc == Z_STREAM_END)
				break;
			mt_err_set(err, NULL, 0, "corrupt or truncated gzip body%s%s",
			    zs.msg ? ": " : "", zs.msg ? zs.msg : "");
			goto fail;
		}
	}
	if (len > max) {
		mt_err_set(err, NULL, 0, "gzip body expands beyond %zu bytes (max-size)", max);
		goto fail;
	}
	inflateEnd(&zs);
	buf[len] = '\0';
	*out = buf;
	*outn = len;
	return 0;
fail:
	inflateEnd(&zs);
	free(buf);
	err->status = MT_EXIT_REJECTS;
	return -1;
}

int mt_slurp(const char *base, const char *path, size_t max, char **buf,
    size_t *len, struct mt_err *err)
{
	int fd = base ? mt_open_inside(base, path, err) :
	    open(path, O_RDONLY | O_CLOEXEC);
	char *raw, *plain;
	size_t n;
	int rc;

	if (fd < 0) {
		if (base == NULL) {
			mt_err_set(err, path, 0, "cannot open: %s", strerror(errno));
			err->status = MT_EXIT_IO;
		}
		return -1;
	}
	rc = mt_read_fd(fd, max, &raw, &n, err);
	close(fd);
	if (rc == 0 && (rc = mt_gunzip(raw, n, max, &plain, len, err)) == 0) {
		if (plain != raw)
			free(raw);
		*buf = plain;
		return 0;
	}
	if (rc == 0)
		free(raw);
	snprintf(err->file, sizeof err->file, "%s", path);
	return -1;
}
