/* meter-standardize - raw meter readings to one record per meter per UTC
 * hour.  The rules live in lib/std.c and meter-standardize(1). */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRESS_EVERY 100000L

struct opts {
	const char *rejects, *state, *zone, *participant;
	int flush, quiet, stats, progress;
	struct mt_std_opts std;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-standardize [-fq] [-p participant] [-r rejects] [-s statedir]\n"
	    "                         [-z zone] [--lateness dur] [--max-gap dur]\n"
	    "                         [--noise x] [--rollover max] [--calorific-value mj]\n"
	    "                         [--stats] [--progress] [file ...]\n");
}

static int bad_value(const char *opt, const char *val)
{
	mt_warnx("bad value for %s: \"%s\"", opt, val);
	return -1;
}

static int parse_dur(const char *opt, const char *val, int64_t *ms)
{
	int64_t sec;

	/* a century is beyond any meter's history and keeps time sums in range */
	if (mt_parse_duration(val, &sec) < 0 || sec > 36500 * 86400LL)
		return bad_value(opt, val);
	*ms = sec * 1000;
	return 0;
}

static int parse_num(const char *opt, const char *val, double *out)
{
	if (mt_parse_double(val, out) < 0 || *out < 0)
		return bad_value(opt, val);
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_LATE = 256, O_GAP, O_NOISE, O_ROLL, O_CV, O_STATS, O_PROG, O_VERS };
	static const struct option longopts[] = {
		{ "calorific-value", required_argument, NULL, O_CV },
		{ "flush", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "lateness", required_argument, NULL, O_LATE },
		{ "max-gap", required_argument, NULL, O_GAP },
		{ "noise", required_argument, NULL, O_NOISE },
		{ "participant", required_argument, NULL, 'p' },
		{ "progress", no_argument, NULL, O_PROG },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "rollover", required_argument, NULL, O_ROLL },
		{ "state", required_argument, NULL, 's' },
		{ "stats", no_argument, NULL, O_STATS },
		{ "timezone", required_argument, NULL, 'z' },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	int c, rc = 0;

	o->std.lateness_ms = 2 * 86400 * 1000LL;
	o->std.max_gap_ms = 6 * MT_HOUR_MS;
	o->std.noise = 0.01;
	while (rc == 0 && (c = getopt_long(argc, argv, "fhp:qr:s:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->flush = 1; break;
		case 'p': o->participant = optarg; break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'q': o->quiet = 1; break;
		case 'r': o->rejects = optarg; break;
		case 's': o->state = optarg; break;
		case 'z': o->zone = optarg; break;
		case O_LATE: rc = parse_dur("--lateness", optarg, &o->std.lateness_ms); break;
		case O_GAP: rc = parse_dur("--max-gap", optarg, &o->std.max_gap_ms); break;
		case O_NOISE: rc = parse_num("--noise", optarg, &o->std.noise); break;
		case O_ROLL: rc = parse_num("--rollover", optarg, &o->std.rollover); break;
		case O_CV: rc = parse_num("--calorific-value", optarg, &o->std.calorific); break;
		case O_STATS: o->stats = 1; break;
		case O_PROG: o->progress = 1; break;
		case O_VERS:
			printf("meter-standardize %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: rc = -1;
		}
	}
	if (rc < 0) {
		usage(stderr);
		return -1;
	}
	return optind;
}

/* Every input can be read before any is processed, so a typo in a file
 * name does not leave half a run behind. */
static int check_inputs(int n, char **files)
{
	for (int i = 0; i < n; i++)
		if (strcmp(files[i], "-") != 0 && access(files[i], R_OK) < 0) {
			mt_diag(files[i], 0, "cannot open: %s", strerror(errno));
			return -1;
		}
	return 0;
}

struct feed {
	struct mt_std *s;
	int progress;
};

static int on_record(void *ctx, const struct mt_rec *rec)
{
	struct feed *f = ctx;

	mt_std_add(f->s, rec);
	if (f->progress && mt_std_stats(f->s)->in % PROGRESS_EVERY == 0)
		mt_warnx("%s: %ld records read", rec->source, mt_std_stats(f->s)->in);
	return 0;
}

static void on_bad_line(void *ctx, const struct mt_rec *rec, const char *why)
{
	struct feed *f = ctx;

	mt_std_reject(f->s, rec, why);
	if (f->progress && mt_std_stats(f->s)->in % PROGRESS_EVERY == 0)
		mt_warnx("%s: %ld records read", rec->source, mt_std_stats(f->s)->in);
}

static char *state_path(const char *dir)
{
	size_t n = strlen(dir) + sizeof "/standardize.state";
	char *p = mt_xmalloc(n);
	struct mt_err err;

	snprintf(p, n, "%s", dir);
	if (mt_mkdirs(p, &err) < 0) {
		mt_diag(dir, 0, "cannot create state directory: %s", strerror(errno));
		free(p);
		return NULL;
	}
	snprintf(p, n, "%s/standardize.state", dir);
	return p;
}

static int load_state(struct mt_std *s, const char *path)
{
	struct mt_err err;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (mt_std_load_state(s, path, &err) < 0) {
		mt_diag_err(&err);
		return -1;
	}
	return 0;
}

/* Each record counted once: out (meter hours passed through) + merged
 * (readings taken into hours) + rejected = in; then what came of them. */
static void print_stats(const struct mt_std_stats *st, struct mt_rejects *rj)
{
	mt_warnx("in %ld out %ld merged %ld rejected %ld%s hours %ld duplicates %ld "
	    "superseded %ld late-in-window %ld corrections %ld resets %ld "
	    "rollovers %ld noise %ld gaps %ld", st->in, st->passed, st->merged,
	    st->rejected, mt_rejects_by_reason(rj), st->hours, st->duplicates,
	    st->superseded, st->late, st->corrections, st->resets, st->rollovers,
	    st->noise, st->gaps);
}

/* Inputs, then output, then state: state moves only once output is out. */
static int run(struct mt_std *s, struct mt_out *out, int nfiles, char **files,
    const char *statefile, const struct opts *o)
{
	struct feed f = { s, o->progress };
	struct mt_err err;

	if (mt_cli_each_record_in_time(nfiles, files, o->participant, on_record, on_bad_line, &f) < 0)
		return MT_EXIT_IO;
	mt_std_finish(s, o->flush);
	if (mt_out_flush(out) < 0) {
		mt_stdout_error();
		return MT_EXIT_IO;
	}
	if (statefile != NULL && mt_std_save_state(s, statefile, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	return mt_std_stats(s)->rejected > 0 ? MT_EXIT_REJECTS : MT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct mt_rejects rj;
	struct mt_err err;
	struct mt_out *out = NULL;
	struct mt_std *s = NULL;
	char *statefile = NULL;
	int first, status = MT_EXIT_USAGE;

	mt_cli_init(argv);
	if ((first = parse_args(argc, argv, &o)) < 0)
		return MT_EXIT_USAGE;
	argc -= first;
	argv += first;
	if (mt_rejects_open(&rj, o.rejects, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	rj.quiet = o.quiet;
	if (isatty(STDERR_FILENO) && !o.quiet)
		o.progress = 1;
	if (o.zone != NULL && (o.std.zone = mt_zone_open(o.zone, &err)) == NULL) {
		mt_warnx("%s", err.msg);
		goto done;
	}
	status = MT_EXIT_IO;
	if (check_inputs(argc, argv) < 0 ||
	    (o.state != NULL && (statefile = state_path(o.state)) == NULL))
		goto done;
	out = mt_out_new(stdout);
	s = mt_std_new(&o.std, &rj, out);
	if (statefile == NULL || load_state(s, statefile) == 0)
		status = run(s, out, argc, argv, statefile, &o);
	if (o.stats)
		print_stats(mt_std_stats(s), &rj);
done:
	status = mt_cli_finish(&rj, o.rejects, status);
	mt_std_free(s);
	mt_out_free(out);
	mt_zone_free(o.std.zone);
	free(statefile);
	return mt_finish_stdout(status);
}
