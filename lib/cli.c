/* cli.c - what the programs share to talk to their users: diagnostics in one
 * shape ("prog: FILE:LINE: reason"), the reject stream, and the final check
 * that standard output really was written.  This file is the only part of
 * the library that writes to stderr, and only when a program calls it. */
#define _POSIX_C_SOURCE 200809L
#include "meter.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>

static const char *progname = "meter";

void mt_cli_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	progname = slash ? slash + 1 : argv0 ? argv0 : "meter";
}

const char *mt_prog(void) { return progname; }

void mt_warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void mt_diag(const char *file, long line, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		fprintf(stderr, "%s: %s:%ld: ", progname, file, line);
	else if (file != NULL && *file != '\0')
		fprintf(stderr, "%s: %s: ", progname, file);
	else
		fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
	memset(rj, 0, sizeof *rj);
	if (path == NULL)
		return 0;
	rj->fp = fopen(path, "a");
	if (rj->fp == NULL) {
		mt_err_set(err, path, 0, "cannot open rejects file: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int mt_rejects_close(struct mt_rejects *rj)
{
	int rc = 0;

	if (rj->fp != NULL && (fclose(rj->fp) != 0 || rj->failed))
		rc = -1;
	rj->fp = NULL;
	return rc;
}

void mt_reject(struct mt_rejects *rj, const char *source, long line,
    const char *text, size_t len, const char *reason)
{
	rj->count++;
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
		if (fwrite(buf, 1, (size_t)(p - buf), rj->fp) != (size_t)(p - buf))
			rj->failed = 1;
		free(buf);
	} else if (!rj->quiet) {
		mt_diag(source, line, "%s", reason);
	}
}

void mt_reject_rec(struct mt_rejects *rj, const struct mt_rec *rec,
    const char *reason)
{
	mt_reject(rj, rec->source, rec->line, rec->text, rec->textlen, reason);
}

static int each_in_file(const char *path, mt_record_fn fn, mt_badline_fn bad,
    void *ctx)
{
	struct mt_err err;
	struct mt_ndjson *rd = mt_ndjson_open(path, &err);
	struct mt_rec *rec;
	int rc, status = 0;

	if (rd == NULL) {
		mt_diag_err(&err);
		return -1;
	}
	rec = mt_xmalloc(sizeof *rec);
	while (status == 0 && (rc = mt_ndjson_next(rd, rec, &err)) != 0) {
		if (rc == -2) {
			mt_diag_err(&err);
			status = -1;
		} else if (rc == -1) {
			bad(ctx, rec, err.msg);
		} else if (fn(ctx, rec) < 0) {
			status = -1;
		}
	}
	free(rec);
	mt_ndjson_close(rd);
	return status;
}

int mt_cli_each_record(int nfiles, char **files, mt_record_fn fn,
    mt_badline_fn bad, void *ctx)
{
	if (nfiles == 0)
		return each_in_file("-", fn, bad, ctx);
	for (int i = 0; i < nfiles; i++)
		if (each_in_file(files[i], fn, bad, ctx) < 0)
			return -1;
	return 0;
}
