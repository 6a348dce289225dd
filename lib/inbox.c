/* inbox.c - a participant's inbox, handled without ever following its
 * links (meter-inbox(1), meter(7) SECURITY).
 *
 * The inbox is the one directory a participant's group may write.  So
 * nothing in it is opened where it lies: a complete entry (NAME.ndjson) is
 * first renamed into stage/new/, a directory only the platform writes, and
 * judged there, where the participant can no longer swap it: opened with
 * O_NOFOLLOW, a regular file with one link, not larger than the limit, its
 * name made of id characters.  Only an entry that passes is renamed on
 * into the stage itself, the one place the dispatcher loads from; anything
 * else goes to inbox/failed/ with a reason (under a name of its own, should
 * the participant have put something there first) and is never read.  An
 * entry a killed take left in new/ is judged by the next one.  After the run's commit the staged files move to
 * inbox/done/.  Every move is a renameat(2) between directories opened
 * without following links, and done/ and failed/ must be the platform's
 * own: a participant that replaces them with a link to another
 * participant's inbox gets a refusal, not a delivery.
 *
 * A run killed after the take leaves its files in the stage; the next
 * take keeps them, so nothing is lost and the idempotent loads make the
 * second delivery harmless. */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 200

struct mt_inbox {
	int inbox, stage, fresh, done, failed;   /* fresh: stage/new/ */
	char *path;
	off_t max_size;
};

static int fail_errno(struct mt_err *err, const char *path, const char *what)
{
	mt_err_set(err, path, 0, "%s: %s", what, strerror(errno));
	err->status = MT_EXIT_IO;
	return -1;
}

/* A directory the platform moves files into: not a link, and its own. */
static int own_dir(int at, const char *name, const char *shown, int create,
    struct mt_err *err)
{
	struct stat st;
	int fd;

	if (create && mkdirat(at, name, 0750) == 0 &&
	    (fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		fchmod(fd, 02750);
		close(fd);
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		mt_err_set(err, shown, 0, "%s", errno == ELOOP || errno == ENOTDIR ?
		    "not a directory of the platform's (a link or a file): remove it" :
		    strerror(errno));
		err->status = errno == ELOOP || errno == ENOTDIR ? MT_EXIT_USAGE : MT_EXIT_IO;
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		mt_err_set(err, shown, 0, "not the platform's own (owner uid %ld, not "
		    "%ld): files are never moved into a directory a participant "
		    "controls; remove it", (long)st.st_uid, (long)geteuid());
		err->status = MT_EXIT_USAGE;
		close(fd);
		return -1;
	}
	return fd;
}

static char *joined(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = mt_xmalloc(n);

	snprintf(s, n, "%s/%s", a, b);
	return s;
}

struct mt_inbox *mt_inbox_open(const char *inbox, const char *stage,
    size_t max_size, struct mt_err *err)
{
	struct mt_inbox *ib = mt_xcalloc(1, sizeof *ib);
	char *done = joined(inbox, "done"), *failed = joined(inbox, "failed");

	ib->inbox = ib->stage = ib->done = ib->failed = -1;
	ib->path = mt_xstrdup(inbox);
	ib->fresh = -1;
	ib->max_size = (off_t)max_size;
	if ((ib->inbox = open(inbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		fail_errno(err, inbox, "cannot open the inbox");
	else if ((ib->stage = own_dir(AT_FDCWD, stage, stage, 1, err)) >= 0 &&
	    (ib->fresh = own_dir(ib->stage, "new", stage, 1, err)) >= 0 &&
	    (ib->done = own_dir(ib->inbox, "done", done, 1, err)) >= 0)
		ib->failed = own_dir(ib->inbox, "failed", failed, 1, err);
	free(done);
	free(failed);
	if (ib->failed < 0) {
		mt_inbox_close(ib);
		return NULL;
	}
	return ib;
}

void mt_inbox_close(struct mt_inbox *ib)
{
	if (ib == NULL)
		return;
	for (int *fd = &ib->inbox; fd <= &ib->failed; fd++)
		if (*fd >= 0)
			close(*fd);
	free(ib->path);
	free(ib);
}

/* Names the dispatcher may put on a command line: id characters, a letter
 * or digit first, ending in .ndjson. */
static int good_name(const char *name)
{
	size_t n = strlen(name);

	if (n <= 7 || n > NAME_MAX_LEN || strcmp(name + n - 7, ".ndjson") != 0)
		return 0;
	if (name[0] == '.' || name[0] == '-' || name[0] == '_')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Why a staged entry is refused, or NULL: judged on the opened file. */
static const char *judge(const struct mt_inbox *ib, const char *name)
{
	int stage = ib->fresh;
	struct stat st;
	int fd;

	if (!good_name(name))
		return "a file name of letters, digits, '.', '_' and '-' is needed "
		    "(starting with a letter or digit, at most 200 bytes)";
	fd = openat(stage, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? "a symbolic link: links are never followed "
		    "in an inbox" : "cannot be opened";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return "not a regular file";
	}
	close(fd);
	if (st.st_nlink != 1)
		return "a file with other hard links: write a file of its own";
	if (st.st_size > ib->max_size)
		return "larger than the inbox's limit (meter-inbox --max-size): split it";
	return NULL;
}

/* The reason beside a failed file, written by the platform; a name the
 * participant chose is never a path here, only a name in failed/. */
static int write_reason(struct mt_inbox *ib, const char *name, const char *why)
{
	char rname[NAME_MAX_LEN + 64];
	int fd;
	ssize_t n = (ssize_t)strlen(why);

	if (strlen(name) > NAME_MAX_LEN * 2)
		return -1;
	snprintf(rname, sizeof rname, "%.*s.reason", NAME_MAX_LEN, name);
	unlinkat(ib->failed, rname, 0);
	fd = openat(ib->failed, rname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	fchmod(fd, 0640);
	if (write(fd, why, (size_t)n) != n || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Into failed/ under NAME, or NAME.1, NAME.2 ... when the participant has
 * put something of that name there already: never onto what is there. */
static int move_failed(struct mt_inbox *ib, int from, const char *name,
    const char *why, struct mt_err *err)
{
	char target[NAME_MAX_LEN * 2 + 32];

	snprintf(target, sizeof target, "%s", name);
	for (int k = 1; renameat2(from, name, ib->failed, target, RENAME_NOREPLACE) < 0; k++) {
		if (errno != EEXIST || k > 100)
			return fail_errno(err, ib->path, "cannot move into failed/");
		snprintf(target, sizeof target, "%s.%d", name, k);
	}
	if (write_reason(ib, target, why) < 0)
		return fail_errno(err, ib->path, "cannot write the reason in failed/");
	return 0;
}

/* A fresh entry judged: on into the stage, or out to failed/.  One that
 * can move neither way stays in new/, which nothing loads from. */
static int judge_fresh(struct mt_inbox *ib, const char *name, long *taken,
    long *refused, struct mt_err *err)
{
	const char *why = judge(ib, name);

	if (why != NULL) {
		(*refused)++;
		return move_failed(ib, ib->fresh, name, why, err);
	}
	if (renameat2(ib->fresh, name, ib->stage, name, RENAME_NOREPLACE) < 0)
		return errno == EEXIST ? 0 :   /* its namesake is loaded first */
		    fail_errno(err, ib->path, "cannot move into the stage");
	(*taken)++;
	return 0;
}

static int take_one(struct mt_inbox *ib, const char *name, long *taken,
    long *refused, struct mt_err *err)
{
	/* moved before anything looks at it: in the stage the participant can
	 * no longer swap it for a link */
	if (renameat2(ib->inbox, name, ib->fresh, name, RENAME_NOREPLACE) < 0)
		return errno == EEXIST || errno == ENOENT ? 0 :
		    fail_errno(err, ib->path, "cannot move into the stage");
	return judge_fresh(ib, name, taken, refused, err);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Each entry of a directory that fn takes, read in one pass. */
static int each_entry(struct mt_inbox *ib, int dir, int all,
    int (*fn)(struct mt_inbox *, const char *, long *, long *, struct mt_err *),
    long *taken, long *refused, struct mt_err *err)
{
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return fail_errno(err, ib->path, "cannot read a directory");
	}
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    (all || (e->d_name[0] != '.' && ends_with(e->d_name, ".ndjson"))))
			rc = fn(ib, e->d_name, taken, refused, err);
	closedir(d);
	return rc;
}

int mt_inbox_take(struct mt_inbox *ib, long *taken, long *refused,
    struct mt_err *err)
{
	*taken = *refused = 0;
	/* what a killed take left unjudged first; then the inbox, where
	 * writers rename NAME.ndjson in when it is whole, and anything else
	 * (NAME.tmp, done/, failed/) is not a delivery */
	if (each_entry(ib, ib->fresh, 1, judge_fresh, taken, refused, err) < 0)
		return -1;
	return each_entry(ib, ib->inbox, 0, take_one, taken, refused, err);
}

/* Every staged file, in name order, to fn. */
static int each_staged(struct mt_inbox *ib, int (*fn)(struct mt_inbox *,
    const char *, struct mt_err *), struct mt_err *err)
{
	struct dirent **list;
	int n = scandirat(ib->stage, ".", &list, NULL, alphasort), rc = 0;

	if (n < 0)
		return fail_errno(err, ib->path, "cannot read the stage");
	for (int i = 0; i < n; i++) {
		/* new/ holds what is not judged yet: it stays */
		if (rc == 0 && list[i]->d_name[0] != '.' && strcmp(list[i]->d_name, "new") != 0)
			rc = fn(ib, list[i]->d_name, err);
		free(list[i]);
	}
	free(list);
	return rc;
}

static int to_done(struct mt_inbox *ib, const char *name, struct mt_err *err)
{
	if (renameat(ib->stage, name, ib->done, name) < 0)
		return fail_errno(err, ib->path, "cannot move into done/");
	return 0;
}

int mt_inbox_done(struct mt_inbox *ib, struct mt_err *err)
{
	return each_staged(ib, to_done, err);
}

int mt_inbox_fail(struct mt_inbox *ib, const char *name, const char *why,
    struct mt_err *err)
{
	if (strchr(name, '/') != NULL || !good_name(name)) {
		mt_err_set(err, name, 0, "not a staged file's name");
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	return move_failed(ib, ib->stage, name, why, err);
}
