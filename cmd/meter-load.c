/* meter-load - load meter hours and property hours into the warehouse,
 * replacing by natural key, in batched transactions. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define PROGRESS_EVERY 100000L

struct opts {
	const char *rejects, *config, *participant;
	long batch;
	int quiet, stats, progress, runs, check, warn_stale;
};

struct counts {
	long in, loaded, rejected;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-load [-q] [-p participant] [-r rejects] [--batch n] [--stats]\n"
	    "                  [--progress] database [file ...]\n"
	    "       meter-load -c participant.xml [-p participant] database\n"
	    "       meter-load -c participant.xml [-p participant] --check\n"
	    "       meter-load --runs database [file ...]\n"
	    "       meter-load --warn-stale -p participant database\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_BATCH = 256, O_STATS, O_PROG, O_VERS, O_RUNS, O_CHECK, O_STALE };
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, O_BATCH },
		{ "check", no_argument, NULL, O_CHECK },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "participant", required_argument, NULL, 'p' },
		{ "progress", no_argument, NULL, O_PROG },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "runs", no_argument, NULL, O_RUNS },
		{ "stats", no_argument, NULL, O_STATS },
		{ "version", no_argument, NULL, O_VERS },
		{ "warn-stale", no_argument, NULL, O_STALE },
		{ NULL, 0, NULL, 0 }
	};
	double v;
	int c;

	o->batch = 10000;
	while ((c = getopt_long(argc, argv, "c:hqr:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'p': o->participant = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'r': o->rejects = optarg; break;
		case O_BATCH:
			if (mt_parse_double(optarg, &v) < 0 || v < 1 || v > 1e7 ||
			    v != (long)v) {
				mt_warnx("bad value for --batch: \"%s\"", optarg);
				return -1;
			}
			o->batch = (long)v;
			break;
		case O_STATS: o->stats = 1; break;
		case O_PROG: o->progress = 1; break;
		case O_RUNS: o->runs = 1; break;
		case O_CHECK: o->check = 1; break;
		case O_STALE: o->warn_stale = 1; break;
		case O_VERS:
			printf("meter-load %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	if (o->warn_stale && (o->participant == NULL || o->config != NULL ||
	    argc - optind != 1)) {
		mt_warnx("--warn-stale tells about one participant's meters: give -p "
		    "and the warehouse only");
		return -1;
	}
	if (o->check && o->config == NULL) {
		mt_warnx("--check checks a configuration: give -c");
		return -1;
	}
	if (optind >= argc && !o->check) {
		mt_warnx("no database given");
		return -1;
	}
	if (o->config != NULL && optind + 1 < argc) {
		mt_warnx("-c loads a configuration: no record files with it");
		return -1;
	}
	return optind;
}

static mt_time_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (mt_time_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* -p: a participant's data root may hold only its own records. */
static int of_participant(const struct mt_rec *rec, const char *id)
{
	const struct mt_field *f = mt_rec_get(rec, "participant");

	return f != NULL && f->type == MT_STRING && strcmp(f->str, id) == 0;
}

/* One record into the open transaction: 1 loaded, 0 rejected, -1 the
 * database failed. */
static int load_record(struct mt_db *db, const struct mt_rec *rec,
    const struct opts *o, struct mt_rejects *rj)
{
	struct mt_meter_hour mh;
	struct mt_property_hour ph;
	struct mt_err err;
	int rc;

	if (o->participant != NULL && !of_participant(rec, o->participant)) {
		mt_err_set(&err, NULL, 0, "not a record of participant %s (-p)",
		    o->participant);
		rc = 0;
	} else if ((mt_rec_get(rec, "run") != NULL) != o->runs) {
		/* the runs table is the dispatcher's account: no pushed record
		 * may rewrite it */
		mt_err_set(&err, NULL, 0, o->runs ? "not a run record (--runs)" :
		    "a run record: only meter-hourly writes runs (--runs)");
		rc = 0;
	} else if (o->runs) {
		if ((rc = mt_db_put_run(db, rec, &err)) < 0 &&
		    err.status != MT_EXIT_REJECTS) {
			mt_diag_err(&err);
			return -1;
		}
		rc = rc == 0;
	} else if (mt_rec_misplaced(rec, "hp") != NULL) {
		mt_err_set(&err, NULL, 0, "%s", mt_rec_misplaced(rec, "hp"));
		rc = 0;
	} else if (mt_rec_get(rec, "meter") != NULL) {
		rc = mt_meter_hour_parse(rec, &mh, &err) < 0 ||
		    mt_meter_hour_canonical(&mh, &err) < 0 ? 0 : 1;
		if (rc == 1 && mt_db_put_meter_hour(db, &mh, &err) < 0)
			rc = -1;
	} else {
		rc = mt_property_hour_parse(rec, &ph, &err) < 0 ? 0 : 1;
		if (rc == 1 && mt_db_put_property_hour(db, &ph, &err) < 0)
			rc = -1;
	}
	if (rc == 0)
		mt_reject_rec(rj, rec, err.msg);
	else if (rc < 0)
		mt_diag_err(&err);
	return rc;
}

/* Commit every batch: a kill loses at most the open batch, which a
 * re-run loads again.  The write lock is taken at the first record of a
 * batch, not while waiting for input, so a loader at the end of a slow
 * pipeline does not hold up the others. */
static int load_stream(struct mt_db *db, struct mt_ndjson *rd,
    const struct opts *o, struct mt_rejects *rj, struct counts *n, int *open)
{
	struct mt_rec *rec = mt_xmalloc(sizeof *rec);
	struct mt_err err;
	long in_batch = 0;
	int rc, status = 0;

	while (status == 0 && (rc = mt_ndjson_next(rd, rec, &err)) != 0) {
		n->in++;
		if (rc == -2) {
			mt_diag_err(&err);
			status = -1;
		} else if (rc == -1) {
			mt_reject_rec(rj, rec, err.msg);
			n->rejected++;
		} else if (!*open && mt_db_begin(db, &err) < 0) {
			mt_diag_err(&err);
			status = -1;
		} else if ((*open = 1, rc = load_record(db, rec, o, rj)) < 0) {
			status = -1;
		} else {
			n->loaded += rc;
			n->rejected += !rc;
			if (rc && ++in_batch == o->batch) {
				*open = 0;
				in_batch = 0;
				if (mt_db_commit(db, &err) < 0) {
					mt_diag_err(&err);
					status = -1;
				}
			}
		}
		if (o->progress && n->in % PROGRESS_EVERY == 0)
			mt_warnx("%ld records read", n->in);
	}
	free(rec);
	return status;
}

static int load_file(struct mt_db *db, const char *path, const struct opts *o,
    struct mt_rejects *rj, struct counts *total)
{
	struct mt_load_log log = { .source = path, .started = now_ms() };
	struct counts n = { 0, 0, 0 };
	struct mt_err err;
	struct mt_ndjson *rd = mt_ndjson_open(path, &err);
	int status, open = 0;

	if (rd == NULL) {
		mt_diag_err(&err);
		return -1;
	}
	status = load_stream(db, rd, o, rj, &n, &open);
	mt_ndjson_close(rd);
	log.finished = now_ms();
	log.in = n.in;
	log.loaded = n.loaded;
	log.rejected = n.rejected;
	if (status == 0 && ((!open && mt_db_begin(db, &err) < 0) ||
	    mt_db_judge_hours(db, &err) < 0 ||
	    mt_db_log_load(db, &log, &err) < 0 || mt_db_commit(db, &err) < 0)) {
		mt_diag_err(&err);
		status = -1;
	}
	if (status < 0)
		mt_db_rollback(db);
	total->in += n.in;
	total->loaded += n.loaded;
	total->rejected += n.rejected;
	return status;
}

/* The configuration replaces what the warehouse held of the participant,
 * in one transaction. */
static int load_config(struct mt_db *db, struct mt_config *cfg)
{
	struct mt_err err;

	if (mt_db_begin(db, &err) < 0 || mt_db_put_config(db, cfg, &err) < 0 ||
	    mt_db_commit(db, &err) < 0) {
		mt_diag_err(&err);
		mt_db_rollback(db);
		mt_config_free(cfg);
		return MT_EXIT_IO;
	}
	mt_config_free(cfg);
	return MT_EXIT_OK;
}

static void stale_meter(void *ctx, const char *meter, const char *quantity,
    const char *last_hour)
{
	if (meter == NULL)
		mt_warnx("warning: the warehouse %s has no meter of participant %s "
		    "(load its configuration with -c)", (const char *)ctx, quantity);
	else if (last_hour == NULL)
		mt_warnx("warning: meter %s (%s): never delivered", meter, quantity);
	else
		mt_warnx("warning: meter %s (%s): stale, its last hour is %s", meter,
		    quantity, last_hour);
}

/* One line per meter of the participant that never delivered an hour or
 * has not for longer than the warehouse's stale_hours (meter-hourly logs
 * them after each run). */
static int warn_stale(struct mt_db *db, const char *path, const char *participant)
{
	struct mt_err err;

	if (mt_db_stale_meters(db, participant, stale_meter, (void *)path, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	return MT_EXIT_OK;
}

int main(int argc, char **argv)
{
	static char *dash[] = { "-" };
	struct opts o = { 0 };
	struct counts n = { 0, 0, 0 };
	struct mt_rejects rj;
	struct mt_err err;
	struct mt_db *db;
	struct mt_config *cfg = NULL;
	int first, status = MT_EXIT_OK;

	mt_cli_init(argv);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	argc -= first;
	argv += first;
	if (o.check)
		return mt_finish_stdout(mt_cli_check(1, &o.config, o.participant));
	if (mt_rejects_open(&rj, o.rejects, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	rj.quiet = o.quiet;
	if (o.warn_stale && !mt_db_is_postgres(argv[0]) && access(argv[0], F_OK) != 0) {
		mt_warnx("%s: no such warehouse", argv[0]);
		mt_rejects_close(&rj);
		return MT_EXIT_USAGE;
	}
	/* a bad configuration is found before the warehouse is touched */
	if ((o.config != NULL &&
	    (cfg = mt_config_load_for(o.config, o.participant, &err)) == NULL) ||
	    (db = mt_db_open(argv[0], &err)) == NULL) {
		mt_diag_err(&err);
		mt_config_free(cfg);
		mt_rejects_close(&rj);
		return err.status;
	}
	if (cfg != NULL) {
		status = load_config(db, cfg);
		mt_db_close(db);
		return mt_finish_stdout(mt_cli_finish(&rj, o.rejects, status));
	}
	if (o.warn_stale) {
		status = warn_stale(db, argv[0], o.participant);
		mt_db_close(db);
		mt_rejects_close(&rj);
		return mt_finish_stdout(status);
	}
	if (argc == 1) {
		argc = 2;
		argv = dash - 1;
	}
	for (int i = 1; i < argc && status == MT_EXIT_OK; i++)
		if (load_file(db, argv[i], &o, &rj, &n) < 0)
			status = MT_EXIT_IO;
	mt_db_close(db);
	if (o.stats)
		mt_warnx("in %ld out %ld merged 0 rejected %ld%s", n.in, n.loaded,
		    n.rejected, mt_rejects_by_reason(&rj));
	return mt_finish_stdout(mt_cli_finish(&rj, o.rejects, status));
}
