/* cli.c - what the programs share to talk to their users: diagnostics in one
 * shape ("prog: FILE:LINE: reason"), the reject stream, and the final check
 * that standard output really was written.  This file is the only part of
 * the library that writes to stderr, and only when a program calls it. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

static const char *progname = "meter";

/* argv[0] becomes the bare name too: getopt's own messages then say
 * "meter-fetch: unrecognized option", as every other message does. */
void mt_cli_init(char **argv)
{
	char *slash = argv[0] ? strrchr(argv[0], '/') : NULL;

	if (slash != NULL)
		argv[0] = slash + 1;
	progname = argv[0] ? argv[0] : "meter";
}

const char *mt_prog(void) { return progname; }

/* Length of a valid UTF-8 sequence at s that is not a C1 control, or 0. */
static size_t printable_utf8(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
	    s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;                       /* U+0080..U+009F */
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
	    (n == 4 && s[0] == 0xf4 && s[1] > 0x8f))
		return 0;                       /* overlong, beyond U+10FFFF */
	return n;
}

/* Diagnostics quote names and lines of participants' files: a control byte
 * there must not reach a terminal or a log as itself (an escape sequence
 * could rewrite the screen), so it is shown as \xNN. */
static void put_escaped(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (*s) {
		size_t n = *s >= 0x20 && *s < 0x7f ? 1 : *s >= 0x80 ? printable_utf8(s) : 0;
		if (n == 0) {
			fprintf(stderr, "\\x%02x", *s++);
			continue;
		}
		fwrite(s, 1, n, stderr);
		s += n;
	}
}

static void vsay(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	char small[1024], *msg = small;
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small) {
		msg = mt_xmalloc((size_t)n + 1);
		vsnprintf(msg, (size_t)n + 1, fmt, copy);
	}
	va_end(copy);
	fprintf(stderr, "%s: ", progname);
	if (prefix != NULL)
		put_escaped(prefix);
	put_escaped(msg);
	fputc('\n', stderr);
	if (msg != small)
		free(msg);
}

void mt_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(NULL, fmt, ap);
	va_end(ap);
}

void mt_diag(const char *file, long line, const char *fmt, ...)
{
	char where[600] = "";
	va_list ap;

	if (line > 0)
		snprintf(where, sizeof where, "%s:%ld: ", file, line);
	else if (file != NULL && *file != '\0')
		snprintf(where, sizeof where, "%s: ", file);
	va_start(ap, fmt);
	vsay(where, fmt, ap);
	va_end(ap);
}

void mt_diag_err(const struct mt_err *err)
{
	mt_diag(err->file, err->line, "%s", err->msg);
}

static int stdout_reported;

void mt_stdout_error(void)
{
	if (!stdout_reported++)
		mt_warnx("write error on standard output: %s", strerror(errno));
}

int mt_finish_stdout(int status)
{
	/* A full disk or a closed pipe shows only here (STYLE.md, lesson 8). */
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		mt_stdout_error();
		return MT_EXIT_IO;
	}
	return status;
}

int mt_rejects_open(struct mt_rejects *rj, const char *path, struct mt_err *err)
{
	int fd;

	memset(rj, 0, sizeof *rj);
	if (path == NULL)
		return 0;
	fd = mt_create_fd(path, O_WRONLY | O_APPEND, err);
	if (fd >= 0 && (rj->fp = fdopen(fd, "a")) == NULL)
		close(fd);
	if (rj->fp == NULL) {
		mt_err_set(err, path, 0, "cannot open rejects file: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}



/* ---- rejects by reason ---- */

/* How many rejects of one reason came from one input. */
struct tally {
	char *source;
	char reason[96];
	long count;
	int notice;      /* a notice, not a reject */
};

struct mt_reasons {
	struct mt_map *index;    /* source\0reason -> tally number + 1 */
	struct tally *t;
	size_t n;
	char text[512];
};

/* What a reason is, for counting: its words before the first ':', '(' or
 * digit, quoted parts shown as "...", so that a flood of one mistake counts
 * as one however its details vary ("late", "malformed JSON", "value \"...\"
 * is not a number"). */
static void reason_of(const char *why, char *out, size_t cap)
{
	size_t k = 0;
	int quoted = 0;

	for (const char *p = why; *p && !strchr(":(0123456789", *p) && k + 4 < cap; p++) {
		if (*p == '"') {
			quoted = !quoted;
			if (quoted) {
				memcpy(out + k, "\"...", 4);
				k += 4;
			} else {
				out[k++] = '"';
			}
		} else if (!quoted) {
			out[k++] = *p;
		}
	}
	while (k > 0 && (out[k - 1] == ' ' || out[k - 1] == ','))
		k--;
	out[k] = '\0';
}

#define TALLIES_MAX 10000

static struct tally *tally(struct mt_rejects *rj, const char *source,
    const char *why, int notice)
{
	struct mt_reasons *r;
	char reason[96], key[600];
	size_t klen;
	uintptr_t i;

	if ((r = rj->reasons) == NULL) {
		r = rj->reasons = mt_xcalloc(1, sizeof *r);
		r->index = mt_map_new();
	}
	/* a notice about a meter says so first: "meter p/m1 reset: ..." */
	if (notice && strncmp(why, "meter ", 6) == 0) {
		why += 6 + strcspn(why + 6, " :");
		why += strspn(why, " :");
	}
	reason_of(why, reason, sizeof reason);
	klen = (size_t)snprintf(key, sizeof key, "%c%.500s%c%s", notice ? 'n' : 'r',
	    source, '\0', reason);
	if ((i = (uintptr_t)mt_map_get(r->index, key, klen)) != 0)
		return &r->t[i - 1];
	/* inputs past the cap share one tally: a listener's topics are many
	 * and chosen by whoever publishes */
	if (r->n >= TALLIES_MAX && strcmp(source, "(other inputs)") != 0)
		return tally(rj, "(other inputs)", why, notice);
	r->t = mt_xrealloc(r->t, (r->n + 1) * sizeof *r->t);
	r->t[r->n] = (struct tally){ mt_xstrdup(source), "", 0, notice };
	snprintf(r->t[r->n].reason, sizeof r->t[r->n].reason, "%s", reason);
	mt_map_put(r->index, key, klen, (void *)(uintptr_t)(r->n + 1));
	return &r->t[r->n++];
}

/* 10979 as "10,979": a count people read at a glance. */
static void thousands(char *buf, size_t cap, long v)
{
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%ld", v), k = 0;

	for (int i = 0; i < n && (size_t)k + 2 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
}

const char *mt_rejects_by_reason(struct mt_rejects *rj)
{
	struct mt_reasons *r = rj->reasons;
	size_t used = 0;

	if (r == NULL)
		return "";
	/* counted over every input: the same reason of two inputs is one */
	r->text[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		long sum = 0;
		size_t k;
		if (r->t[i].notice)
			continue;
		for (k = 0; k < i && (r->t[k].notice ||
		    strcmp(r->t[k].reason, r->t[i].reason) != 0); k++)
			;
		if (k < i)
			continue;
		for (k = i; k < r->n; k++)
			if (!r->t[k].notice && strcmp(r->t[k].reason, r->t[i].reason) == 0)
				sum += r->t[k].count;
		used += (size_t)snprintf(r->text + used, sizeof r->text - used, "%s%s %ld",
		    used ? ", " : " (", r->t[i].reason, sum);
		if (used >= sizeof r->text - 2)
			break;
	}
	if (used > 0 && used < sizeof r->text - 1)
		strcat(r->text, ")");
	return r->text;
}

/* The floods not shown, one line each. */
static void summarise(struct mt_rejects *rj)
{
	struct mt_reasons *r = rj->reasons;
	char more[32];

	for (size_t i = 0; r != NULL && i < r->n; i++) {
		if (r->t[i].count <= MT_REJECTS_SHOWN || rj->quiet ||
		    (rj->fp != NULL && !r->t[i].notice))
			continue;
		thousands(more, sizeof more, r->t[i].count - MT_REJECTS_SHOWN);
		mt_diag(r->t[i].source, 0, "... and %s more: %s", more, r->t[i].reason);
	}
}

static void free_reasons(struct mt_rejects *rj)
{
	if (rj->reasons == NULL)
		return;
	for (size_t i = 0; i < rj->reasons->n; i++)
		free(rj->reasons->t[i].source);
	free(rj->reasons->t);
	mt_map_free(rj->reasons->index);
	free(rj->reasons);
	rj->reasons = NULL;
}

void mt_reject(struct mt_rejects *rj, const char *source, long line,
    const char *text, size_t len, const char *reason)
{
	struct tally *t = tally(rj, source, reason, 0);

	rj->count++;
	t->count++;
	if (rj->fp != NULL) {
		size_t cap = MT_ESCAPED_MAX(len) + MT_ESCAPED_MAX(strlen(reason)) +
		    MT_ESCAPED_MAX(strlen(source)) + 64;
		char *buf = mt_xmalloc(cap), *p = buf;

		p += sprintf(p, "{\"error\":");
		p += mt_json_escape(p, reason, strlen(reason));
		p += sprintf(p, ",\"source\":");
		p += mt_json_escape(p, source, strlen(source));
		p += sprintf(p, ",\"line\":%ld,\"record\":", line);
		p += mt_json_escape(p, text, len);
		*p++ = '}';
		*p++ = '\n';
		if (fwrite(buf, 1, (size_t)(p - buf), rj->fp) != (size_t)(p - buf)) {
			rj->failed = 1;
			if (!rj->error)
				rj->error = errno;
		}
		free(buf);
	} else if (!rj->quiet && t->count <= MT_REJECTS_SHOWN) {
		mt_diag(source, line, "%s", reason);
	}
}

void mt_notice(struct mt_rejects *rj, const char *source, long line,
    const char *msg)
{
	struct tally *t;

	if (rj->quiet)
		return;
	t = tally(rj, source, msg, 1);
	if (++t->count <= MT_REJECTS_SHOWN)
		mt_diag(source, line, "%s", msg);
}

void mt_reject_rec(struct mt_rejects *rj, const struct mt_rec *rec,
    const char *reason)
{
	mt_reject(rj, rec->source, rec->line, rec->text, rec->textlen, reason);
}

int mt_rejects_close(struct mt_rejects *rj)
{
	free_reasons(rj);
	if (rj->fp == NULL)
		return 0;
	/* a failed flush leaves nothing for fclose to report: look at it */
	if (fflush(rj->fp) != 0 || ferror(rj->fp)) {
		if (!rj->error)
			rj->error = errno;
		rj->failed = 1;
	}
	if (fclose(rj->fp) != 0)
		rj->failed = 1;
	rj->fp = NULL;
	return rj->failed ? -1 : 0;
}

int mt_cli_finish(struct mt_rejects *rj, const char *path, int status)
{
	summarise(rj);
	if (rj->count > 0 && rj->fp == NULL && !rj->quiet)
		mt_warnx("%ld record%s rejected", rj->count, rj->count == 1 ? "" : "s");
	if (mt_rejects_close(rj) < 0) {
		mt_warnx("cannot write rejects file %s: %s", path,
		    rj->error ? strerror(rj->error) : "write error");
		if (status < MT_EXIT_IO)
			status = MT_EXIT_IO;
	}
	if (status == MT_EXIT_OK && rj->count > 0)
		status = MT_EXIT_REJECTS;
	return status;
}
