/* input.c - what the programs read: the records of their files (or of
 * standard input), turned away when they are another participant's. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -p: a record of another participant is turned away before the program
 * does anything with it (meter(7) SECURITY). */
static int foreign(const struct mt_rec *rec, const char *participant)
{
	const struct mt_field *f;

	if (participant == NULL)
		return 0;
	f = mt_rec_get(rec, "participant");
	return f == NULL || f->type != MT_STRING || strcmp(f->str, participant) != 0;
}

static int each_in_file(const char *path, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	char why[128];

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
		} else if (foreign(rec, participant)) {
			snprintf(why, sizeof why, "not a record of participant %s (-p)",
			    participant);
			bad(ctx, rec, why);
		} else if (fn(ctx, rec) < 0) {
			status = -1;
		}
	}
	free(rec);
	mt_ndjson_close(rd);
	return status;
}

int mt_cli_each_record(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx)
{
	if (nfiles == 0)
		return each_in_file("-", participant, fn, bad, ctx);
	for (int i = 0; i < nfiles; i++)
		if (each_in_file(files[i], participant, fn, bad, ctx) < 0)
			return -1;
	return 0;
}
