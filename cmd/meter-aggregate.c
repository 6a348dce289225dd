/* meter-aggregate - meter hours to property hours, one per participant,
 * property, quantity and UTC hour.  The rules live in lib/agg.c and
 * meter-aggregate(1). */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIGS_MAX 256

struct opts {
	const char *rejects, *db, *participant;
	const char *configs[CONFIGS_MAX];
	size_t nconfigs;
	int quiet, stats, check;
	int64_t window_ms;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-aggregate [-q] [-c participant.xml]... [-p participant] [--check]\n"
	    "                       [--db database] [-r rejects] [--window dur]\n"
	    "                       [--stats] [file ...]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_DB = 256, O_WINDOW, O_STATS, O_VERS, O_CHECK };
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, O_CHECK },
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, O_DB },
		{ "help", no_argument, NULL, 'h' },
		{ "participant", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "stats", no_argument, NULL, O_STATS },
		{ "version", no_argument, NULL, O_VERS },
		{ "window", required_argument, NULL, O_WINDOW },
		{ NULL, 0, NULL, 0 }
	};
	int64_t sec;
	int c;

	o->window_ms = 2 * 86400 * 1000LL;
	while ((c = getopt_long(argc, argv, "c:hp:qr:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o->nconfigs == CONFIGS_MAX) {
				mt_warnx("more than %d configurations", CONFIGS_MAX);
				return -1;
			}
			o->configs[o->nconfigs++] = optarg;
			break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'p': o->participant = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'r': o->rejects = optarg; break;
		case O_DB: o->db = optarg; break;
		case O_WINDOW:
			if (mt_parse_duration(optarg, &sec) < 0 || sec < 3600 ||
			    sec > 366 * 86400LL) {
				mt_warnx("bad value for --window: \"%s\" (1h to 366d)", optarg);
				return -1;
			}
			o->window_ms = sec * 1000;
			break;
		case O_STATS: o->stats = 1; break;
		case O_CHECK: o->check = 1; break;
		case O_VERS:
			printf("meter-aggregate %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	return optind;
}

static int load_configs(const struct opts *o, struct mt_config **cfgs)
{
	struct mt_err err;

	for (size_t i = 0; i < o->nconfigs; i++) {
		if ((cfgs[i] = mt_config_load_for(o->configs[i], o->participant,
		    &err)) == NULL) {
			mt_diag_err(&err);
			return err.status;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfgs[k]->id, cfgs[i]->id) == 0) {
				mt_diag(o->configs[i], 0, "participant \"%s\" given twice",
				    cfgs[i]->id);
				return MT_EXIT_USAGE;
			}
	}
	return MT_EXIT_OK;
}

static int on_record(void *ctx, const struct mt_rec *rec)
{
	struct mt_err err;

	if (mt_agg_add(ctx, rec, &err) < 0) {
		mt_diag_err(&err);
		return -1;
	}
	return 0;
}

static void on_bad_line(void *ctx, const struct mt_rec *rec, const char *why)
{
	mt_agg_reject(ctx, rec, why);
}

static int run(struct mt_agg *a, struct mt_out *out, const char *participant,
    int nfiles, char **files)
{
	struct mt_err err;

	if (mt_cli_each_record_in_time(nfiles, files, participant, on_record, on_bad_line,
	    a) < 0)
		return MT_EXIT_IO;
	if (mt_agg_finish(a, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	if (mt_out_flush(out) < 0) {
		mt_stdout_error();
		return MT_EXIT_IO;
	}
	return mt_agg_stats(a)->rejected > 0 ? MT_EXIT_REJECTS : MT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct mt_config *cfgs[CONFIGS_MAX] = { 0 };
	struct mt_agg_opts ao = { 0 };
	struct mt_rejects rj;
	struct mt_err err;
	struct mt_out *out = NULL;
	struct mt_agg *a = NULL;
	int first, status;

	mt_cli_init(argv);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	argc -= first;
	argv += first;
	if (o.check)
		return mt_finish_stdout(o.nconfigs == 0 ? MT_EXIT_USAGE :
		    mt_cli_check(o.nconfigs, o.configs, o.participant));
	if ((status = load_configs(&o, cfgs)) != MT_EXIT_OK)
		goto done;
	if (mt_rejects_open(&rj, o.rejects, &err) < 0) {
		mt_diag_err(&err);
		status = MT_EXIT_IO;
		goto done;
	}
	rj.quiet = o.quiet;
	ao = (struct mt_agg_opts){ o.window_ms, cfgs, o.nconfigs, NULL };
	if (o.db != NULL && (ao.db = mt_db_open(o.db, &err)) == NULL) {
		mt_diag_err(&err);
		status = err.status;
	} else {
		out = mt_out_new(stdout);
		a = mt_agg_new(&ao, &rj, out);
		status = run(a, out, o.participant, argc, argv);
		if (o.stats)
			mt_warnx("in %ld out 0 merged %ld rejected %ld%s hours %ld "
			    "completed %ld", mt_agg_stats(a)->in, mt_agg_stats(a)->merged,
			    mt_agg_stats(a)->rejected, mt_rejects_by_reason(&rj),
			    mt_agg_stats(a)->out, mt_agg_stats(a)->completed);
	}
	status = mt_cli_finish(&rj, o.rejects, status);
done:
	mt_agg_free(a);
	mt_out_free(out);
	mt_db_close(ao.db);
	for (size_t i = 0; i < o.nconfigs; i++)
		mt_config_free(cfgs[i]);
	return mt_finish_stdout(status);
}
