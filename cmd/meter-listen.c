/* meter-listen - readings from meters that publish over MQTT, to standard
 * output or into each participant's spool for meter-hourly(1).  The
 * engine, and why a message is acknowledged only once it is on disk,
 * are in lib/listen.c; the rules in meter-listen(1). */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	O_ARCHIVE = 256, O_CA, O_KEEPALIVE, O_MAX_SIZE, O_RECEIVE_MAX,
	O_RETRY_MAX, O_RETRY_WAIT, O_ROTATE_AGE, O_ROTATE_SIZE, O_SECRETS,
	O_SESSION, O_STATS, O_VERS
};

struct opts {
	struct mt_listen_opts l;
	const char *config, *participant, *root, *archive, *rejects, *secrets;
	int quiet, stats;
};

static volatile sig_atomic_t stop, report;

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-listen -c participant.xml [-p participant] [--archive dir]\n"
	    "                    [options] > readings.ndjson\n"
	    "       meter-listen -R root [participant...] [options]\n"
	    "options: [-b mqtt[s]://host[:port]] [-i client-id] [--ca-file file]\n"
	    "         [--secrets file] [--rotate-size size] [--rotate-age dur]\n"
	    "         [--max-size size] [--receive-max n] [--keepalive dur]\n"
	    "         [--session-expiry dur] [--retry-wait s] [--retry-max s]\n"
	    "         [-r rejects] [-q] [--stats]\n");
}

static int seconds(const char *name, const char *v, int64_t lo, int64_t hi,
    int64_t *out)
{
	if (mt_parse_duration(v, out) < 0 || *out < lo || *out > hi) {
		mt_warnx("%s \"%s\": give a duration from %llds to %llds (90, 15m, 2h)",
		    name, v, (long long)lo, (long long)hi);
		return -1;
	}
	return 0;
}

static int number(const char *name, const char *v, double lo, double hi,
    double *out)
{
	if (mt_parse_double(v, out) < 0 || *out < lo || *out > hi) {
		mt_warnx("%s \"%s\": give a number from %g to %g", name, v, lo, hi);
		return -1;
	}
	return 0;
}

static int size(const char *name, const char *v, size_t *out)
{
	if (mt_parse_size(v, out) < 0) {
		mt_warnx("%s \"%s\": give a size (65536, 64k, 4M)", name, v);
		return -1;
	}
	return 0;
}

static int valued(struct opts *o, int c, const char *v)
{
	int64_t s;
	double d;

	switch (c) {
	case O_ROTATE_SIZE: return size("--rotate-size", v, &o->l.rotate_size);
	case O_MAX_SIZE: return size("--max-size", v, &o->l.max_size);
	case O_ROTATE_AGE:
		if (seconds("--rotate-age", v, 1, 86400, &s) < 0)
			return -1;
		o->l.rotate_age_ms = s * 1000;
		return 0;
	case O_KEEPALIVE:
		if (seconds("--keepalive", v, 5, 65535, &s) < 0)
			return -1;
		o->l.keepalive = (int)s;
		return 0;
	case O_SESSION:
		if (seconds("--session-expiry", v, 60, 0xfffffffe, &s) < 0)
			return -1;
		o->l.session_expiry = (uint32_t)s;
		return 0;
	case O_RECEIVE_MAX:
		if (number("--receive-max", v, 1, 65535, &d) < 0)
			return -1;
		o->l.receive_max = (int)d;
		return 0;
	case O_RETRY_WAIT: return number("--retry-wait", v, 0.01, 3600, &o->l.retry_base);
	default: return number("--retry-max", v, 0.01, 3600, &o->l.retry_max);
	}
}

static int option(struct opts *o, int c, const char *v)
{
	switch (c) {
	case 'b': o->l.broker = v; return 0;
	case 'c': o->config = v; return 0;
	case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
	case 'i': o->l.client_id = v; return 0;
	case 'p': o->participant = v; return 0;
	case 'q': o->quiet = 1; return 0;
	case 'r': o->rejects = v; return 0;
	case 'R': o->root = v; return 0;
	case O_ARCHIVE: o->archive = v; return 0;
	case O_CA: o->l.ca_file = v; return 0;
	case O_SECRETS: o->secrets = v; return 0;
	case O_STATS: o->stats = 1; return 0;
	case O_VERS:
		printf("meter-listen %s\n", MT_VERSION);
		exit(mt_finish_stdout(MT_EXIT_OK));
	case '?': return -1;
	default: return valued(o, c, v);
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "archive", required_argument, NULL, O_ARCHIVE },
		{ "broker", required_argument, NULL, 'b' },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "client-id", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "keepalive", required_argument, NULL, O_KEEPALIVE },
		{ "max-size", required_argument, NULL, O_MAX_SIZE },
		{ "participant", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "receive-max", required_argument, NULL, O_RECEIVE_MAX },
		{ "rejects", required_argument, NULL, 'r' },
		{ "retry-max", required_argument, NULL, O_RETRY_MAX },
		{ "retry-wait", required_argument, NULL, O_RETRY_WAIT },
		{ "root", required_argument, NULL, 'R' },
		{ "rotate-age", required_argument, NULL, O_ROTATE_AGE },
		{ "rotate-size", required_argument, NULL, O_ROTATE_SIZE },
		{ "secrets", required_argument, NULL, O_SECRETS },
		{ "session-expiry", required_argument, NULL, O_SESSION },
		{ "stats", no_argument, NULL, O_STATS },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "b:c:hi:p:qr:R:", longopts, NULL)) != -1)
		if (option(o, c, optarg) < 0)
			return -1;
	if ((o->config == NULL) == (o->root == NULL)) {
		mt_warnx(o->config ? "-c and -R do not go together" :
		    "give a configuration (-c) or a data root (-R)");
		return -1;
	}
	if (o->config != NULL && optind < argc) {
		mt_warnx("-c listens for one configuration: no arguments");
		return -1;
	}
	if (o->l.client_id != NULL && (*o->l.client_id == '\0' ||
	    strlen(o->l.client_id) > MT_ID_MAX)) {
		mt_warnx("-i: give the sessions' name, 1 to %d bytes, a stable one "
		    "per listener", MT_ID_MAX);
		return -1;
	}
	if (o->l.retry_base > o->l.retry_max) {
		mt_warnx("--retry-wait %g is more than --retry-max %g", o->l.retry_base,
		    o->l.retry_max);
		return -1;
	}
	if (o->l.ca_file != NULL && access(o->l.ca_file, R_OK) < 0) {
		mt_warnx("--ca-file %s: cannot read: %s", o->l.ca_file, strerror(errno));
		return -1;
	}
	if (o->root != NULL && (o->archive != NULL || o->participant != NULL)) {
		mt_warnx("-R puts each participant's spool and archive in its "
		    "directory: no --archive or -p");
		return -1;
	}
	return optind;
}

static void defaults(struct opts *o)
{
	o->l.broker = "mqtt://localhost";
	o->l.rotate_size = 4 * 1024 * 1024;
	o->l.rotate_age_ms = 60 * 1000;
	o->l.max_size = 256 * 1024;
	o->l.receive_max = 1000;
	o->l.keepalive = 60;
	o->l.session_expiry = 7 * 86400;
	o->l.retry_base = 1;
	o->l.retry_max = 60;
	o->l.log = stderr;
}

/* ---- credentials: the environment, or the operator's secrets file ---- */

static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* The environment's, unless the operator's secrets file is given (read
 * by the engine, lib/listen.c). */
static int credentials(struct opts *o)
{
	o->l.secrets = o->secrets;
	/* named, it must be there: a typo must not connect anonymously */
	if (o->secrets != NULL && access(o->secrets, R_OK) < 0) {
		mt_warnx("--secrets %s: cannot read: %s", o->secrets, strerror(errno));
		return -1;
	}
	if (o->secrets != NULL)
		return 0;
	o->l.username = getenv("MQTT_USERNAME");
	o->l.password = getenv("MQTT_PASSWORD");
	if (o->l.password != NULL && o->l.username == NULL) {
		mt_warnx("MQTT_PASSWORD without MQTT_USERNAME: give both");
		return -1;
	}
	return 0;
}

/* ---- the participants ---- */

struct plan {
	struct mt_listen_part *parts;
	struct mt_config **cfgs;
	struct mt_rejects *rjs;
	char **paths;                 /* spool, archive, rejects per part */
	const char *rejects;          /* -c: the part's rejects file, -r */
	size_t n, npaths;
};

static char *joined(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = mt_xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* DIR/rejects/listen.ndjson, the directory made when it is missing (as
 * meter-hourly makes it). */
static char *rejects_in(const char *dir)
{
	char *rdir = joined(dir, "rejects"), *path = joined(rdir, "listen.ndjson");

	if (mkdir(rdir, 0750) < 0 && errno != EEXIST && errno != ENOENT)
		mt_warnx("%s: cannot create: %s", rdir, strerror(errno));
	free(rdir);
	return path;
}

/* One participant: its configuration, and with dir (-R) its spool, raw
 * archive and rejects there. */
static int add_part(struct plan *pl, const char *config, const char *id,
    const char *dir, const char *archive, const char *rejects)
{
	struct mt_listen_part *p = &pl->parts[pl->n];
	char **paths = &pl->paths[3 * pl->n];
	struct mt_err err;

	if ((pl->cfgs[pl->n] = mt_config_load_for(config, id, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	p->cfg = pl->cfgs[pl->n];
	p->rj = &pl->rjs[pl->n];
	pl->n++;
	if (dir != NULL) {
		p->spool = paths[0] = joined(dir, "spool");
		p->archive = paths[1] = joined(dir, "raw");
		rejects = paths[2] = rejects_in(dir);
	} else {
		p->archive = archive;
	}
	if (mt_rejects_open(p->rj, rejects, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	return MT_EXIT_OK;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MT_ID_MAX && *s != '.' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/* -R ROOT [ID...]: each named participant, or every one in the root. */
static int root_parts(struct opts *o, struct plan *pl, int nargs, char **args)
{
	char *pdir = joined(o->root, "participants"), **ids = args;
	struct dirent *de;
	DIR *d = NULL;
	int n = nargs, rc = MT_EXIT_OK;

	if (nargs == 0) {
		if ((d = opendir(pdir)) == NULL) {
			mt_warnx("%s: cannot list participants: %s", pdir, strerror(errno));
			free(pdir);
			return MT_EXIT_IO;
		}
		ids = NULL;
		while ((de = readdir(d)) != NULL)
			if (valid_id(de->d_name)) {
				ids = mt_xrealloc(ids, (size_t)(n + 1) * sizeof *ids);
				ids[n++] = mt_xstrdup(de->d_name);
			}
		closedir(d);
	}
	pl->parts = mt_xcalloc((size_t)n + 1, sizeof *pl->parts);
	pl->cfgs = mt_xcalloc((size_t)n + 1, sizeof *pl->cfgs);
	pl->rjs = mt_xcalloc((size_t)n + 1, sizeof *pl->rjs);
	pl->npaths = 3 * (size_t)n + 3;
	pl->paths = mt_xcalloc(pl->npaths, sizeof *pl->paths);
	for (int i = 0; i < n && rc == MT_EXIT_OK; i++) {
		char *dir, *cfg;
		if (!valid_id(ids[i])) {
			mt_warnx("bad participant id \"%.64s\": letters, digits, . _ -", ids[i]);
			rc = MT_EXIT_USAGE;
			break;
		}
		dir = joined(pdir, ids[i]);
		if (access(dir, F_OK) < 0) {
			mt_warnx("no participant %s in %s", ids[i], o->root);
			free(dir);
			rc = MT_EXIT_USAGE;
			break;
		}
		cfg = joined(dir, "participant.xml");
		rc = add_part(pl, cfg, ids[i], dir, NULL, NULL);
		/* one participant's refused configuration stops no other's
		 * readings: it is said, and left out */
		if (rc != MT_EXIT_OK && n > 1) {
			mt_warnx("participant %s left out: its configuration is "
			    "refused (above)", ids[i]);
			rc = MT_EXIT_OK;
		}
		free(cfg);
		free(dir);
	}
	if (nargs == 0) {
		for (int i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
	}
	free(pdir);
	if (rc == MT_EXIT_OK && pl->n == 0) {
		mt_warnx("%s: no participants to listen for", o->root);
		rc = MT_EXIT_USAGE;
	}
	return rc;
}

static int config_part(struct opts *o, struct plan *pl)
{
	pl->parts = mt_xcalloc(1, sizeof *pl->parts);
	pl->cfgs = mt_xcalloc(1, sizeof *pl->cfgs);
	pl->rjs = mt_xcalloc(1, sizeof *pl->rjs);
	pl->npaths = 3;
	pl->paths = mt_xcalloc(pl->npaths, sizeof *pl->paths);
	pl->rejects = o->rejects;
	return add_part(pl, o->config, o->participant, NULL, o->archive, o->rejects);
}

static int free_plan(struct plan *pl, int status)
{
	for (size_t i = 0; i < pl->n; i++) {
		const char *path = pl->paths[3 * i + 2] ? pl->paths[3 * i + 2] :
		    pl->rejects;
		status = mt_cli_finish(&pl->rjs[i], path ? path : "(rejects)", status);
		mt_config_free(pl->cfgs[i]);
	}
	for (size_t i = 0; i < pl->npaths; i++)
		free(pl->paths[i]);
	free(pl->paths);
	free(pl->parts);
	free(pl->cfgs);
	free(pl->rjs);
	return status;
}

/* ---- the run ---- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static void signals(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void print_stats(void *ctx, const struct mt_listen_stats *st, int last)
{
	(void)ctx;
	mt_warnx("%smessages %ld readings %ld rejected %ld skipped %ld duplicates "
	    "%ld reconnects %ld spool files %ld", last ? "" : "so far: ",
	    st->messages, st->readings, st->rejected, st->skipped, st->duplicates,
	    st->reconnects, st->files);
}

static int listen_for(struct opts *o, struct plan *pl, struct mt_rejects *rj)
{
	struct mt_listen_hooks h = { o, &stop, &report, print_stats };
	struct mt_listener *l;
	struct mt_err err;
	int status = MT_EXIT_OK;

	/* each participant's session is CLIENT-ID-PARTICIPANT (lib/listen.c):
	 * one added, or one left out, moves no other's */
	/* -c, to try or to pipe, never takes the sessions of -R's listener */
	if (o->l.client_id == NULL)
		o->l.client_id = o->root ? "meter-listen" : "meter-listen-c";
	o->l.rj = rj;
	if ((l = mt_listener_new(&o->l, pl->parts, pl->n, stdout, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	if (mt_listener_meters(l) == 0)
		mt_warnx("no meter has an mqtt connector: every message will be "
		    "rejected (meter-config(5))");
	if (mt_listener_run(l, &h, &err) < 0) {
		mt_diag_err(&err);
		status = MT_EXIT_IO;
	}
	if (o->stats)
		print_stats(o, mt_listener_stats(l), 1);
	mt_listener_free(l);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct plan pl = { 0 };
	struct mt_rejects rj;
	struct mt_err err;
	int first, status;

	mt_cli_init(argv);
	no_core_dumps();
	defaults(&o);
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	if (credentials(&o) < 0)
		return MT_EXIT_USAGE;
	if (mt_rejects_open(&rj, o.root ? o.rejects : NULL, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	rj.quiet = o.quiet;
	signals();
	status = o.root ? root_parts(&o, &pl, argc - first, argv + first) :
	    config_part(&o, &pl);
	for (size_t i = 0; i < pl.n; i++)
		pl.rjs[i].quiet = o.quiet;
	if (status == MT_EXIT_OK)
		status = listen_for(&o, &pl, &rj);
	status = free_plan(&pl, status);
	status = mt_cli_finish(&rj, o.rejects ? o.rejects : "(rejects)", status);
	return mt_finish_stdout(status);
}
