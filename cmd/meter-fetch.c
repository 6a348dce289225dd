/* meter-fetch - fetch a participant's raw meter readings from HTTP(S) APIs
 * and files, keep every payload in the raw archive, and write raw reading
 * records.  The engine is lib/fetch.c, the connectors lib/conn/, the
 * transport lib/http.c; meter-fetch(1) says how they fit. */
#define _GNU_SOURCE
#include "../lib/meter.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define SELECT_MAX 256
#define OPTS_MAX 64

struct opts {
	struct mt_fetcher_opts f;
	const char *rejects;
	char *attrs[2 * OPTS_MAX + 1];
	int nattrs;
	const char *select[SELECT_MAX];
	int dry_run, progress, stats, quiet, check;
	double progress_at;
};

/* Options with no letter. */
enum { O_ARCHIVE = 256, O_STATE, O_SINCE, O_UNTIL, O_DRY, O_PROGRESS,
	O_STATS, O_REPLAY, O_VERS, O_RETRY_WAIT, O_RETRY_MAX, O_SECRETS,
	O_ALLOW, O_MAX_TIMEOUT, O_MAX_RETRIES, O_MAX_SIZE, O_CHECK };

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-fetch -c participant.xml [--check] [--meter id]... [--property id]\n"
	    "                   [--since time] [--until time] [--archive dir] [--state dir]\n"
	    "                   [-j n] [--dry-run] [--progress] [--stats] [-q] [-r rejects]\n"
	    "                   [-p participant] [--secrets file] [--allow-net cidr]...\n"
	    "                   [--max-timeout dur] [--max-retries n] [--max-size size]\n"
	    "       meter-fetch -t csv|json|greenbutton|dsmr|nem12 [-o key=value]... [-p participant]\n"
	    "                   [-m meter] [-P property] [-Q quantity] url|file...\n"
	    "       meter-fetch (-c participant.xml | -t type ...) --replay file...\n");
}

static int parse_time_opt(const char *name, const char *v, mt_time_t *t)
{
	enum mt_tsform form;
	struct mt_err err;

	/* A bare date, as meter-records(5) allows, is its midnight in UTC:
	 * cursors and --until are UTC instants. */
	int bare_date = strlen(v) == 10;

	if (mt_time_parse(v, strlen(v), t, &form, &err) < 0 ||
	    (form != MT_TS_UTC && !bare_date)) {
		mt_warnx("bad value for --%s: \"%s\" (a date, or an RFC 3339 time "
		    "with Z or an offset: 2026-03-01 or 2026-03-01T10:00:00Z)", name, v);
		return -1;
	}
	return 0;
}

static int add_attr(struct opts *o, char *kv)
{
	char *eq = strchr(kv, '=');

	if (eq == NULL) {
		mt_warnx("-o wants key=value, not \"%s\"", kv);
		return -1;
	}
	*eq = '\0';
	if (!mt_conn_attr_known(-1, kv) || strcmp(kv, "type") == 0) {
		char near[40];
		if (mt_conn_attr_suggest(-1, kv, near, sizeof near))
			mt_warnx("unknown connector attribute \"%s\": did you mean "
			    "\"%s\"? (see meter-config(5))", kv, near);
		else
			mt_warnx("unknown connector attribute \"%s\" (see "
			    "meter-config(5))", kv);
		return -1;
	}
	for (int i = 0; i < o->nattrs; i++)
		if (strcmp(o->attrs[2 * i], kv) == 0) {
			mt_warnx("-o %s is given twice: give it once", kv);
			return -1;
		}
	if (o->nattrs == OPTS_MAX) {
		mt_warnx("too many -o options");
		return -1;
	}
	o->attrs[2 * o->nattrs] = kv;
	o->attrs[2 * o->nattrs + 1] = eq + 1;
	o->nattrs++;
	return 0;
}

static int bad(const char *opt, const char *v, const char *want)
{
	mt_warnx("bad value for %s: \"%s\" (%s)", opt, v, want);
	return -1;
}

/* The options with values to check. */
static int valued(struct opts *o, int c, const char *v)
{
	struct mt_fetcher_opts *f = &o->f;
	int64_t sec;
	double d;

	switch (c) {
	case 'j':
		if (mt_parse_double(v, &d) < 0 || d < 1 || d > 1000 || d != floor(d))
			return bad("-j", v, "1 to 1000");
		f->parallel = (int)d;
		return 0;
	case O_SINCE:
		f->has_since = 1;
		return parse_time_opt("since", v, &f->since);
	case O_UNTIL:
		f->has_until = 1;
		return parse_time_opt("until", v, &f->until);
	case O_RETRY_WAIT: case O_RETRY_MAX:
		if (mt_parse_double(v, &d) < 0 || d < 0 || d > 3600)
			return bad(c == O_RETRY_WAIT ? "--retry-wait" : "--retry-max", v,
			    "seconds, up to 3600");
		*(c == O_RETRY_WAIT ? &f->retry_base : &f->retry_max) = d;
		return 0;
	case O_ALLOW:
		if (mt_netlist_add((struct mt_netlist *)f->allow, v) < 0)
			return bad("--allow-net", v, "an address or a CIDR range such as "
			    "127.0.0.0/8 or fd00::/8");
		return 0;
	case O_MAX_TIMEOUT:
		if (mt_parse_duration(v, &sec) < 0 || sec < 1 || sec > 86400)
			return bad("--max-timeout", v, "1s to 1d");
		f->max_timeout_ms = (long)sec * 1000;
		return 0;
	case O_MAX_RETRIES:
		if (mt_parse_double(v, &d) < 0 || d < 0 || d > 20 || d != floor(d))
			return bad("--max-retries", v, "0 to 20");
		f->max_retries = (int)d;
		return 0;
	default:        /* O_MAX_SIZE */
		if (mt_parse_size(v, &f->max_size) < 0)
			return bad("--max-size", v, "a size such as 500k, 64M or 1G, up to 4G");
		return 0;
	}
}

static int option(struct opts *o, int c, char *v)
{
	struct mt_fetcher_opts *f = &o->f;

	switch (c) {
	case 'c': f->config = v; return 0;
	case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
	case 'm':
		if (f->nselect == SELECT_MAX) {
			mt_warnx("more than %d meters named", SELECT_MAX);
			return -1;
		}
		o->select[f->nselect++] = f->meter = v;
		return 0;
	case 'o': return add_attr(o, v);
	case 'p': f->participant = v; return 0;
	case 'P': f->property = v; return 0;
	case 'q': o->quiet = 1; return 0;
	case 'Q': f->quantity = v; return 0;
	case 'r': o->rejects = v; return 0;
	case 't': f->type = v; return 0;
	case O_ARCHIVE: f->archive = v; return 0;
	case O_STATE: f->state = v; return 0;
	case O_DRY: o->dry_run = 1; return 0;
	case O_PROGRESS: o->progress = 1; return 0;
	case O_STATS: o->stats = 1; return 0;
	case O_REPLAY: f->replay = 1; return 0;
	case O_CHECK: o->check = 1; return 0;
	case O_SECRETS: f->secrets = v; return 0;
	case O_VERS:
		printf("meter-fetch %s\n", MT_VERSION);
		exit(mt_finish_stdout(MT_EXIT_OK));
	case 'j': case O_SINCE: case O_UNTIL: case O_RETRY_WAIT: case O_RETRY_MAX:
	case O_ALLOW: case O_MAX_TIMEOUT: case O_MAX_RETRIES: case O_MAX_SIZE:
		return valued(o, c, v);
	default: return -1;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "allow-net", required_argument, NULL, O_ALLOW },
		{ "archive", required_argument, NULL, O_ARCHIVE },
		{ "check", no_argument, NULL, O_CHECK },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "help", no_argument, NULL, 'h' },
		{ "max-retries", required_argument, NULL, O_MAX_RETRIES },
		{ "max-size", required_argument, NULL, O_MAX_SIZE },
		{ "max-timeout", required_argument, NULL, O_MAX_TIMEOUT },
		{ "meter", required_argument, NULL, 'm' },
		{ "option", required_argument, NULL, 'o' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "participant", required_argument, NULL, 'p' },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "property", required_argument, NULL, 'P' },
		{ "quantity", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "replay", no_argument, NULL, O_REPLAY },
		{ "retry-wait", required_argument, NULL, O_RETRY_WAIT },
		{ "retry-max", required_argument, NULL, O_RETRY_MAX },
		{ "secrets", required_argument, NULL, O_SECRETS },
		{ "since", required_argument, NULL, O_SINCE },
		{ "state", required_argument, NULL, O_STATE },
		{ "stats", no_argument, NULL, O_STATS },
		{ "type", required_argument, NULL, 't' },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hj:m:o:p:P:qQ:r:t:", longopts, NULL)) != -1)
		if (option(o, c, optarg) < 0)
			return -1;
	if (o->check && o->f.config == NULL) {
		mt_warnx("--check checks a configuration: give -c");
		return -1;
	}
	if ((o->f.config == NULL) == (o->f.type == NULL)) {
		mt_warnx(o->f.config ? "-c and -t do not go together" :
		    "give a configuration (-c) or a connector type (-t)");
		return -1;
	}
	o->f.attrs = o->attrs;
	o->f.select = o->select;
	/* with -c, -m selects meters; without, it names the readings' meter */
	if (o->f.config == NULL)
		o->f.nselect = 0;
	else
		o->f.meter = NULL;
	return optind;
}

static void defaults(struct opts *o, struct mt_netlist *allow)
{
	o->f.allow = allow;
	o->f.parallel = 8;
	o->f.retry_base = 1;
	o->f.retry_max = 60;
	o->f.max_timeout_ms = 10 * 60 * 1000L;
	o->f.max_retries = 5;
	o->f.max_size = 256 * 1024 * 1024;
}

/* ---- what the engine reports ---- */

static void on_failed(void *ctx, const char *where, long line, const char *meter,
    const char *why)
{
	(void)ctx;
	mt_diag(where, line, "meter %s: %s", meter, why);
}

static void on_progress(void *ctx, const struct mt_fetcher_stats *st, int last)
{
	struct opts *o = ctx;
	struct timespec ts;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (!o->progress || (!last && t - o->progress_at < 1))
		return;
	o->progress_at = t;
	fprintf(stderr, "%s: %ld/%ld meters, %ld readings, %ld failed%s",
	    mt_prog(), st->done, st->meters, st->readings, st->failed,
	    isatty(2) && !last ? "\r" : "\n");
}

static void dry_run(const struct mt_fetcher *f)
{
	for (size_t i = 0; i < mt_fetcher_count(f); i++) {
		struct mt_fetcher_job d;
		char c[32] = "-";
		mt_fetcher_describe(f, i, &d);
		if (d.has_cursor)
			mt_time_format(c, d.cursor);
		printf("%s\t%s\t%s\tcursor %s\n", d.meter, d.type, d.shown, c);
	}
}

/* Fetch, then move the cursors only once standard output is flushed. */
static int execute(struct mt_fetcher *f, const struct opts *o,
    struct mt_rejects *rj)
{
	const struct mt_fetcher_stats *st = mt_fetcher_stats(f);
	struct mt_err err;
	int status = MT_EXIT_OK;

	if (mt_fetcher_run(f, stdout, &err) < 0) {
		mt_diag_err(&err);
		status = MT_EXIT_IO;
	}
	/* a failed stdout is reported once, by mt_finish_stdout */
	if (fflush(stdout) != 0 || ferror(stdout))
		status = MT_EXIT_IO;
	else if (mt_fetcher_commit(f, &err) < 0) {
		mt_diag_err(&err);
		status = MT_EXIT_IO;
	}
	if (o->stats)
		mt_warnx("meters %ld fetched %ld failed %ld readings %ld rejected %ld%s "
		    "skipped %ld filtered %ld", st->meters, st->meters - st->failed,
		    st->failed, st->readings, rj->count, mt_rejects_by_reason(rj),
		    st->skipped, st->filtered);
	if (status == MT_EXIT_OK && mt_fetcher_io_failed(f))
		status = MT_EXIT_IO;
	if (status == MT_EXIT_OK && st->failed > 0)
		status = MT_EXIT_REJECTS;
	return status;
}

/* Header secrets live in this process's memory: a crash must not leave
 * them in a core file. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static mt_time_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	srand((unsigned)(now.tv_nsec ^ getpid()));
	return (mt_time_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int fetch(struct opts *o, int nargs, char **args)
{
	struct mt_fetcher_hooks hooks = { o, on_failed, on_progress };
	struct mt_rejects rj;
	struct mt_fetcher *f;
	struct mt_err err;
	int status;

	if (mt_rejects_open(&rj, o->rejects, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	rj.quiet = o->quiet;
	if ((f = mt_fetcher_new(&o->f, nargs, args, &hooks, &rj, &err)) == NULL ||
	    mt_fetcher_plan(f, now_ms(), &err) < 0) {
		mt_diag_err(&err);
		status = f == NULL ? err.status : MT_EXIT_IO;
	} else if (o->dry_run) {
		dry_run(f);
		status = MT_EXIT_OK;
	} else {
		status = execute(f, o, &rj);
	}
	mt_fetcher_free(f);
	return mt_cli_finish(&rj, o->rejects, status);
}

int main(int argc, char **argv)
{
	struct mt_netlist *allow = mt_netlist_new();
	struct opts o = { 0 };
	int first, status;

	mt_cli_init(argv);
	no_core_dumps();
	defaults(&o, allow);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		status = MT_EXIT_USAGE;
	} else if (o.check) {
		status = mt_cli_check(1, &o.f.config, o.f.participant);
	} else {
		status = fetch(&o, argc - first, argv + first);
	}
	mt_netlist_free(allow);
	return mt_finish_stdout(status);
}
