/* file.c - the files a participant names, and the files the platform makes.
 *
 * A path from a participant's configuration is confined to the
 * participant's directory twice: by its letters when the configuration is
 * read (mt_path_inside: not absolute, no ".." above the directory), and
 * when it is opened (mt_open_inside: component by component with openat(2)
 * and O_NOFOLLOW, so a symbolic link anywhere on the way is refused, also
 * one swapped in between a check and the open).  Only regular files are
 * read, opened with O_NONBLOCK so that a FIFO or a device never stalls the
 * caller.
 *
 * Files and directories the platform creates get explicit modes, 0640 and
 * 0750, whatever the umask of whoever started the program: the group of a
 * participant's directory may read them, nobody else. */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int mt_path_inside(const char *rel)
{
	int depth = 0;

	if (*rel == '/' || *rel == '\0')
		return 0;
	for (const char *p = rel; *p; ) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return 0;
		p += n;
		while (*p == '/')
			p++;
	}
	return 1;
}

/* rel's components with "." and ".." resolved by their letters, as a
 * NUL-separated list in parts; returns the count, or -1 when it climbs out
 * or is empty. */
static int components(const char *rel, char *parts, size_t cap, size_t *ends,
    int max)
{
	int n = 0;
	size_t used = 0;

	if (!mt_path_inside(rel) || strlen(rel) >= cap)
		return -1;
	for (const char *p = rel; *p; ) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			n--;
			used = n > 0 ? ends[n - 1] : 0;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n == max)
				return -1;
			memcpy(parts + used, p, len);
			parts[used + len] = '\0';
			used += len + 1;
			ends[n++] = used;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	return n > 0 ? n : -1;
}

static int refuse(struct mt_err *err, const char *rel, const char *why, int e)
{
	if (why != NULL)
		mt_err_set(err, rel, 0, "%s", why);
	else
		mt_err_set(err, rel, 0, "cannot open: %s", strerror(e));
	err->status = e == ENOENT || e == EACCES ? MT_EXIT_IO : MT_EXIT_REJECTS;
	return -1;
}

/* Why opening a component failed: a link is named as such. */
static int open_failed(int dir, const char *part, const char *rel,
    struct mt_err *err)
{
	int e = errno;
	struct stat st;

	if ((e == ELOOP || e == ENOTDIR || e == ENXIO) &&
	    fstatat(dir, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return refuse(err, rel, "a symbolic link on the way (links are not "
		    "followed in a participant's paths)", e);
	return refuse(err, rel, NULL, e);
}

int mt_open_inside(const char *base, const char *rel, struct mt_err *err)
{
	char parts[PATH_MAX];
	size_t ends[PATH_MAX / 2];
	int n = components(rel, parts, sizeof parts, ends, PATH_MAX / 2);
	int dir, fd = -1;
	struct stat st;

	if (n < 0)
		return refuse(err, rel, "outside the participant directory", 0);
	/* the base itself is the operator's: it may be reached through links */
	if ((dir = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return refuse(err, base, NULL, errno);
	for (int i = 0; i < n; i++) {
		const char *part = parts + (i ? ends[i - 1] : 0);
		int flags = i + 1 < n ? O_RDONLY | O_DIRECTORY :
		    O_RDONLY | O_NONBLOCK | O_NOCTTY;
		fd = openat(dir, part, flags | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			open_failed(dir, part, rel, err);
			close(dir);
			return -1;
		}
		close(dir);
		dir = fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(err, rel, "not a regular file", 0);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int mt_read_fd(int fd, size_t max, char **buf, size_t *len, struct mt_err *err)
{
	size_t cap = 0;
	ssize_t got;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (*len + 65536 + 1 > cap) {
			cap = (*len + 65536 + 1) * 2;
			*buf = mt_xrealloc(*buf, cap);
		}
		got = read(fd, *buf + *len, cap - *len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || (*len += (size_t)got) > max)
			break;
	}
	if (got < 0 || *len > max) {
		if (got < 0)
			mt_err_set(err, NULL, 0, "read error: %s", strerror(errno));
		else
			mt_err_set(err, NULL, 0, "larger than %zu bytes", max);
		err->status = got < 0 ? MT_EXIT_IO : MT_EXIT_REJECTS;
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* ---- what the platform creates ---- */

static int set_mode(int fd, mode_t mode)
{
	struct stat st;

	/* a directory keeps its inherited setgid bit: files made inside keep
	 * the participant's group */
	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		mode |= st.st_mode & S_ISGID;
	return fchmod(fd, mode);
}

int mt_create_fd(const char *path, int flags, struct mt_err *err)
{
	int fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd >= 0) {
		set_mode(fd, 0640);
		return fd;
	}
	if (errno == EEXIST && !(flags & O_EXCL))
		fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		mt_err_set(err, path, 0, "cannot create: %s", strerror(errno));
	return fd;
}

static int make_dir(const char *path)
{
	int fd;

	if (mkdir(path, 0750) < 0)
		return errno == EEXIST ? 0 : -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		set_mode(fd, 0750);
		close(fd);
	}
	return 0;
}

/* mkdir -p, from the deepest directory up: in a day's archive all but
 * the meter's directory usually exist already. */
int mt_mkdirs(char *path, struct mt_err *err)
{
	char *slash;
	int rc;

	if (make_dir(path) == 0)
		return 0;
	if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL || slash == path)
		goto fail;
	*slash = '\0';
	rc = mt_mkdirs(path, err);
	*slash = '/';
	if (rc < 0)
		return -1;
	if (make_dir(path) == 0)
		return 0;
fail:
	mt_err_set(err, path, 0, "cannot create directory: %s", strerror(errno));
	err->status = MT_EXIT_IO;
	return -1;
}

/* ---- the operator's secrets for a participant ---- */

struct mt_secrets {
	char **names, **values;
	size_t n;
};

static int secret_line(struct mt_secrets *s, char *line, const char *path,
    long no, struct mt_err *err)
{
	char *eq = strchr(line, '=');
	size_t n = eq ? (size_t)(eq - line) : 0;

	if (*line == '\0' || *line == '#')
		return 0;
	if (n == 0 || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != n) {
		mt_err_set(err, path, no, "want NAME=value (a name of letters, digits "
		    "and _)");
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	s->names = mt_xrealloc(s->names, (s->n + 1) * sizeof *s->names);
	s->values = mt_xrealloc(s->values, (s->n + 1) * sizeof *s->values);
	s->names[s->n] = mt_xstrndup(line, n);
	s->values[s->n++] = mt_xstrdup(eq + 1);
	return 0;
}

/* Readable by others, a file of secrets is no secret: refused, as ssh(1)
 * refuses such a key. */
static int secrets_mode(int fd, const char *path, struct mt_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mt_err_set(err, path, 0, "not a regular file");
	} else if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
		mt_err_set(err, path, 0, "refusing a secrets file that others can read "
		    "or write (chmod 600)");
	} else {
		return 0;
	}
	err->status = MT_EXIT_USAGE;
	return -1;
}

struct mt_secrets *mt_secrets_load(const char *path, struct mt_err *err)
{
	struct mt_secrets *s = mt_xcalloc(1, sizeof *s);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char *buf, *line, *next;
	size_t len;
	long no = 0;

	if (fd < 0 && errno == ENOENT)
		return s;     /* a participant with no secrets */
	if (fd < 0 || secrets_mode(fd, path, err) < 0 ||
	    mt_read_fd(fd, 1024 * 1024, &buf, &len, err) < 0) {
		if (fd < 0) {
			mt_err_set(err, path, 0, "cannot open: %s", strerror(errno));
			err->status = MT_EXIT_IO;
		}
		snprintf(err->file, sizeof err->file, "%s", path);
		if (fd >= 0)
			close(fd);
		mt_secrets_free(s);
		return NULL;
	}
	close(fd);
	for (line = buf; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (secret_line(s, line, path, ++no, err) < 0) {
			free(buf);
			mt_secrets_free(s);
			return NULL;
		}
	}
	free(buf);
	return s;
}

const char *mt_secrets_get(const struct mt_secrets *s, const char *name)
{
	for (size_t i = s->n; i-- > 0; )
		if (strcmp(s->names[i], name) == 0)
			return s->values[i];
	return NULL;
}

void mt_secrets_free(struct mt_secrets *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->names[i]);
		explicit_bzero(s->values[i], strlen(s->values[i]));
		free(s->values[i]);
	}
	free(s->names);
	free(s->values);
	free(s);
}
