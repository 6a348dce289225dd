/* meter-fetch - fetch a participant's raw meter readings from HTTP(S) APIs
 * and files, keep every payload in the raw archive, and write raw reading
 * records.  Connectors live in lib/ (payload.c and one file per format),
 * the transport in lib/http.c, the archive and cursors in lib/archive.c;
 * meter-fetch(1) says how they fit. */
#define _XOPEN_SOURCE 700
#include "../lib/meter.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define SELECT_MAX 256
#define OPTS_MAX 64

struct opts {
	const char *config, *type, *participant, *meter, *property, *quantity;
	const char *archive, *state, *rejects, *secrets;
	struct mt_netlist *allow;       /* internal ranges the operator allows */
	long max_timeout_ms;                    /* ceilings on a participant's */
	int max_retries;                        /* connector settings */
	size_t max_size;
	char *attrs[2 * OPTS_MAX + 1];
	int nattrs;
	const char *select[SELECT_MAX];
	size_t nselect;
	mt_time_t since, until;
	int has_since, has_until;
	int parallel, dry_run, progress, stats, quiet, replay;
	double retry_base, retry_max;
};

struct job {
	const char *meter, *property;
	const struct mt_quantity *q;
	const char *kind, *unit;
	double rollover, calorific;
	struct mt_conn conn;
	struct mt_zone *zone;
	char *target;           /* URL with placeholders filled, or a path */
	char *shown;            /* the target fit for messages */
	char *source;           /* replay: the payload's record name */
	int is_http;
	char **headers;
	char *netrc, *ca_file;
	int fds[2];             /* netrc and ca-file opened inside the directory */
	mt_time_t cursor, new_cursor;
	int has_cursor, advanced, failed;
	struct mt_fetch fetch;
};

struct run {
	struct opts *o;
	struct mt_config *cfg;
	char *pdir;             /* the participant's directory (real path) */
	const char *participant;
	struct mt_connector adhoc;
	struct job *jobs;
	size_t njobs;
	struct mt_rejects rj;
	struct mt_cursors *cursors;
	char *cursor_path;
	struct mt_secrets *secrets;     /* --secrets, or NULL: the environment */
	mt_time_t now;
	long done, failed, readings, skipped, filtered;
	int io_failed;
	double progress_at;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-fetch -c participant.xml [--meter id]... [--property id]\n"
	    "                   [--since time] [--until time] [--archive dir] [--state dir]\n"
	    "                   [-j n] [--dry-run] [--progress] [--stats] [-q] [-r rejects]\n"
	    "                   [-p participant] [--secrets file] [--allow-net cidr]...\n"
	    "                   [--max-timeout dur] [--max-retries n] [--max-size size]\n"
	    "       meter-fetch -t csv|json|greenbutton [-o key=value]... [-p participant]\n"
	    "                   [-m meter] [-P property] [-Q quantity] url|file...\n"
	    "       meter-fetch (-c participant.xml | -t type ...) --replay file...\n");
}

static int parse_time_opt(const char *name, const char *v, mt_time_t *t)
{
	enum mt_tsform form;
	struct mt_err err;

	if (mt_time_parse(v, strlen(v), t, &form, &err) < 0 || form != MT_TS_UTC) {
		mt_warnx("bad value for --%s: \"%s\" (an RFC 3339 time with Z or an offset)",
		    name, v);
		return -1;
	}
	return 0;
}

static int add_attr(struct opts *o, char *kv)
{
	char *eq = strchr(kv, '=');
	const char *const *known = mt_conn_attr_names();
	int ok = 0;

	if (eq == NULL) {
		mt_warnx("-o wants key=value, not \"%s\"", kv);
		return -1;
	}
	*eq = '\0';
	for (size_t i = 0; known[i] != NULL; i++)
		ok |= strcmp(known[i], kv) == 0 && strcmp(kv, "type") != 0;
	if (!ok || o->nattrs == OPTS_MAX) {
		mt_warnx(ok ? "too many -o options" : "unknown connector attribute \"%s\" "
		    "(see meter-config(5))", kv);
		return -1;
	}
	o->attrs[2 * o->nattrs] = kv;
	o->attrs[2 * o->nattrs + 1] = eq + 1;
	o->nattrs++;
	return 0;
}

/* Options with no letter. */
enum { O_ARCHIVE = 256, O_STATE, O_SINCE, O_UNTIL, O_DRY, O_PROGRESS,
	O_STATS, O_REPLAY, O_VERS, O_RETRY_WAIT, O_RETRY_MAX, O_SECRETS,
	O_ALLOW, O_MAX_TIMEOUT, O_MAX_RETRIES, O_MAX_SIZE };

/* --allow-net and the ceilings: the operator's word on what a
 * participant's connectors may ask for. */
static int operator_limit(struct opts *o, int opt, const char *v)
{
	int64_t sec;
	double d;

	switch (opt) {
	case O_ALLOW:
		if (mt_netlist_add(o->allow, v) == 0)
			return 0;
		mt_warnx("bad value for --allow-net: \"%s\" (an address or a CIDR range "
		    "such as 127.0.0.0/8 or fd00::/8)", v);
		return -1;
	case O_MAX_TIMEOUT:
		if (mt_parse_duration(v, &sec) == 0 && sec >= 1 && sec <= 86400) {
			o->max_timeout_ms = (long)sec * 1000;
			return 0;
		}
		mt_warnx("bad value for --max-timeout: \"%s\" (1s to 1d)", v);
		return -1;
	case O_MAX_RETRIES:
		if (mt_parse_double(v, &d) == 0 && d >= 0 && d <= 20 && d == floor(d)) {
			o->max_retries = (int)d;
			return 0;
		}
		mt_warnx("bad value for --max-retries: \"%s\" (0 to 20)", v);
		return -1;
	default:             /* O_MAX_SIZE */
		if (mt_parse_size(v, &o->max_size) == 0)
			return 0;
		mt_warnx("bad value for --max-size: \"%s\" (a size such as 500k, 64M "
		    "or 1G, up to 4G)", v);
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "allow-net", required_argument, NULL, O_ALLOW },
		{ "archive", required_argument, NULL, O_ARCHIVE },
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
		{ "secrets", required_argument, NULL, O_SECRETS },
		{ "retry-wait", required_argument, NULL, O_RETRY_WAIT },
		{ "retry-max", required_argument, NULL, O_RETRY_MAX },
		{ "since", required_argument, NULL, O_SINCE },
		{ "state", required_argument, NULL, O_STATE },
		{ "stats", no_argument, NULL, O_STATS },
		{ "type", required_argument, NULL, 't' },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	double d;
	int c;

	o->allow = mt_netlist_new();
	o->parallel = 8;
	o->retry_base = 1;
	o->retry_max = 60;
	o->max_timeout_ms = 10 * 60 * 1000L;
	o->max_retries = 5;
	o->max_size = 256 * 1024 * 1024;
	while ((c = getopt_long(argc, argv, "c:hj:m:o:p:P:qQ:r:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'j':
			if (mt_parse_double(optarg, &d) < 0 || d < 1 || d > 1000 || d != floor(d)) {
				mt_warnx("bad value for -j: \"%s\" (1 to 1000)", optarg);
				return -1;
			}
			o->parallel = (int)d;
			break;
		case 'm':
			if (o->nselect == SELECT_MAX) {
				mt_warnx("more than %d meters named", SELECT_MAX);
				return -1;
			}
			o->select[o->nselect++] = o->meter = optarg;
			break;
		case 'o': if (add_attr(o, optarg) < 0) return -1; break;
		case 'p': o->participant = optarg; break;
		case 'P': o->property = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'Q': o->quantity = optarg; break;
		case 'r': o->rejects = optarg; break;
		case 't': o->type = optarg; break;
		case O_ARCHIVE: o->archive = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_SINCE:
			if (parse_time_opt("since", optarg, &o->since) < 0)
				return -1;
			o->has_since = 1;
			break;
		case O_UNTIL:
			if (parse_time_opt("until", optarg, &o->until) < 0)
				return -1;
			o->has_until = 1;
			break;
		case O_DRY: o->dry_run = 1; break;
		case O_PROGRESS: o->progress = 1; break;
		case O_STATS: o->stats = 1; break;
		case O_REPLAY: o->replay = 1; break;
		case O_RETRY_WAIT: case O_RETRY_MAX:
			if (mt_parse_double(optarg, &d) < 0 || d < 0 || d > 3600) {
				mt_warnx("bad value for --%s: \"%s\" (seconds, up to 3600)",
				    c == O_RETRY_WAIT ? "retry-wait" : "retry-max", optarg);
				return -1;
			}
			*(c == O_RETRY_WAIT ? &o->retry_base : &o->retry_max) = d;
			break;
		case O_SECRETS: o->secrets = optarg; break;
		case O_ALLOW: case O_MAX_TIMEOUT: case O_MAX_RETRIES: case O_MAX_SIZE:
			if (operator_limit(o, c, optarg) < 0)
				return -1;
			break;
		case O_VERS:
			printf("meter-fetch %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	if ((o->config == NULL) == (o->type == NULL)) {
		mt_warnx(o->config ? "-c and -t do not go together" :
		    "give a configuration (-c) or a connector type (-t)");
		return -1;
	}
	return optind;
}

/* ---- jobs: one per meter (or per argument without a configuration) ---- */

static int setup_error(const struct run *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int setup_error(const struct run *r, long line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mt_diag(r->cfg ? r->cfg->path : NULL, line, "%s", msg);
	return -1;
}

static const char *zone_of(const struct run *r, const struct mt_meter_cfg *m)
{
	const struct mt_property_cfg *p;

	if (r->cfg == NULL)
		return NULL;
	p = m && m->property ? mt_config_property(r->cfg, m->property) : NULL;
	return p && p->timezone ? p->timezone : r->cfg->timezone;
}

/* Settings that only make sense together. */
static int check_job(const struct run *r, struct job *j, long line)
{
	const char *kind = j->conn.kind ? j->conn.kind : j->kind;
	const char *unit = j->conn.unit ? j->conn.unit : j->unit;
	struct mt_conv conv;
	struct mt_err err;

	if (j->conn.type != MT_CONN_GREENBUTTON) {
		if (kind == NULL)
			return setup_error(r, line, "meter %s: no kind (cumulative, interval "
			    "or instant) on the connector or the meter", j->meter);
		if (strcmp(kind, "interval") == 0 && j->conn.duration == 0)
			return setup_error(r, line, "meter %s: interval readings need a "
			    "duration", j->meter);
	}
	if (j->q != NULL && unit != NULL && mt_unit_convert(j->q, unit, &conv, &err) < 0)
		return setup_error(r, line, "meter %s: %s", j->meter, err.msg);
	if (j->conn.zone_name != NULL &&
	    (j->zone = mt_zone_open(j->conn.zone_name, &err)) == NULL)
		return setup_error(r, line, "meter %s: %s", j->meter, err.msg);
	return 0;
}

/* Where the job's payload comes from, and the paths its connector names,
 * kept inside the participant's directory when there is one. */
static int set_target(struct run *r, struct job *j, const char *url, long line)
{
	const char *paths[2] = { j->conn.netrc, j->conn.ca_file };

	if (mt_url_has_userinfo(url))
		return setup_error(r, line, "meter %s: credentials in a URL are refused: "
		    "use a netrc file or a header from the environment", j->meter);
	j->is_http = mt_url_is_http(url);
	if (!j->is_http && strstr(url, "://") != NULL && strncmp(url, "file://", 7) != 0)
		return setup_error(r, line, "meter %s: only http, https and file "
		    "URLs are fetched", j->meter);
	if (!j->is_http && strncmp(url, "file:", 5) == 0)
		url += 5;
	if (r->pdir != NULL) {
		for (int i = 0; i < 2; i++)
			if (paths[i] != NULL && !mt_path_inside(paths[i]))
				return setup_error(r, line, "meter %s: %s is outside the "
				    "participant directory", j->meter, paths[i]);
		if (!j->is_http && (strncmp(url, "//", 2) == 0 || !mt_path_inside(url)))
			return setup_error(r, line, "meter %s: file:%s is outside the "
			    "participant directory", j->meter, url);
	}
	j->target = mt_xstrdup(url);
	return 0;
}

static void init_job(struct job *j)
{
	memset(j, 0, sizeof *j);
	j->cursor = MT_TIME_MIN;
	j->fds[0] = j->fds[1] = -1;
}

/* A participant may ask for more time, retries or bytes only up to what
 * the operator allows (--max-timeout, --max-retries, --max-size). */
static int within_limits(const struct run *r, struct job *j, long line)
{
	const struct opts *o = r->o;
	const struct mt_conn *c = &j->conn;

	if (c->timeout_ms > o->max_timeout_ms || c->connect_timeout_ms > o->max_timeout_ms)
		return setup_error(r, line, "meter %s: a timeout above the operator's "
		    "limit of %lds (meter-fetch --max-timeout)", j->meter,
		    o->max_timeout_ms / 1000);
	if (c->retries > o->max_retries)
		return setup_error(r, line, "meter %s: retries=\"%d\" is above the "
		    "operator's limit of %d (meter-fetch --max-retries)", j->meter,
		    c->retries, o->max_retries);
	if (c->max_size > o->max_size)
		return setup_error(r, line, "meter %s: max-size above the operator's "
		    "limit of %zu bytes (meter-fetch --max-size)", j->meter, o->max_size);
	return 0;
}

static int configured_job(struct run *r, const struct mt_meter_cfg *m,
    struct job *j)
{
	struct mt_err err;

	init_job(j);
	j->meter = m->id;
	j->property = m->property;
	j->q = m->q;
	j->kind = m->kind;
	j->unit = m->unit;
	j->rollover = m->rollover;
	j->calorific = m->calorific;
	if (mt_conn_parse(&j->conn, m->connector, zone_of(r, m), &err) < 0)
		return setup_error(r, m->connector->line, "%s", err.msg);
	if (within_limits(r, j, m->connector->line) < 0 ||
	    check_job(r, j, m->connector->line) < 0)
		return -1;
	if (r->o->replay)
		return 0;
	if (j->conn.url == NULL)
		return setup_error(r, m->connector->line, "meter %s: the connector has "
		    "no url", m->id);
	return set_target(r, j, j->conn.url, m->connector->line);
}

static int selected(const struct opts *o, const struct mt_meter_cfg *m)
{
	int named = o->nselect == 0;

	for (size_t i = 0; i < o->nselect; i++)
		named |= strcmp(o->select[i], m->id) == 0;
	return named && (o->property == NULL ||
	    (m->property != NULL && strcmp(m->property, o->property) == 0));
}

static int configured_jobs(struct run *r)
{
	const struct opts *o = r->o;

	for (size_t i = 0; i < o->nselect; i++) {
		const struct mt_meter_cfg *m = mt_config_meter(r->cfg, o->select[i]);
		if (m == NULL || m->connector == NULL)
			return setup_error(r, 0, m ? "meter %s has no connector" :
			    "no meter %s", o->select[i]);
	}
	if (o->property != NULL && mt_config_property(r->cfg, o->property) == NULL)
		return setup_error(r, 0, "no property %s", o->property);
	r->jobs = mt_xcalloc(r->cfg->nmeters, sizeof *r->jobs);
	for (size_t i = 0; i < r->cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &r->cfg->meters[i];
		if (m->connector == NULL || m->external || !selected(o, m))
			continue;
		if (configured_job(r, m, &r->jobs[r->njobs++]) < 0)
			return -1;
	}
	return 0;
}

/* Without a configuration a meter is named by -m, or by its file. */
static char *meter_from(const char *arg)
{
	const char *base = strrchr(arg, '/');
	char *id;
	size_t n;

	if (strcmp(arg, "-") == 0)
		return mt_xstrdup("stdin");
	base = base ? base + 1 : arg;
	n = strcspn(base, ".?#");
	id = mt_xstrndup(base, n < 64 ? n : 64);
	for (char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			*p = '_';
	if (!mt_id_valid(id)) {
		free(id);
		id = mt_xstrdup("meter");
	}
	return id;
}

static int adhoc_jobs(struct run *r, int nargs, char **args)
{
	const struct opts *o = r->o;
	static char *attrs[2 * OPTS_MAX + 3];
	struct mt_err err;

	attrs[0] = "type";
	attrs[1] = (char *)o->type;
	memcpy(attrs + 2, o->attrs, 2 * (size_t)o->nattrs * sizeof *attrs);
	r->adhoc.attrs = attrs;
	r->adhoc.type = (char *)o->type;
	r->jobs = mt_xcalloc((size_t)nargs, sizeof *r->jobs);
	for (int i = 0; i < nargs; i++) {
		struct job *j = &r->jobs[r->njobs++];
		init_job(j);
		if (mt_conn_parse(&j->conn, &r->adhoc, NULL, &err) < 0) {
			mt_warnx("%s", strstr(err.msg, "attribute") ?
			    strstr(err.msg, "attribute") : err.msg);
			return -1;
		}
		j->meter = o->meter ? o->meter : meter_from(args[i]);
		j->property = o->property;
		if (o->quantity && (j->q = mt_quantity_find(o->quantity)) == NULL) {
			mt_warnx("unknown quantity \"%s\"", o->quantity);
			return -1;
		}
		if (check_job(r, j, 0) < 0)
			return -1;
		if (o->replay)
			j->target = mt_xstrdup(args[i]);
		else if (set_target(r, j, strcmp(args[i], "-") ? args[i] : "/dev/stdin", 0) < 0)
			return -1;
	}
	return 0;
}

static int replay_jobs(struct run *r, int nargs, char **args)
{
	r->jobs = mt_xcalloc((size_t)nargs, sizeof *r->jobs);
	for (int i = 0; i < nargs; i++) {
		struct job *j = &r->jobs[r->njobs];
		char *meter = NULL;
		const struct mt_meter_cfg *m;
		char *source = mt_archive_name(args[i], &meter);

		if (meter == NULL || (m = mt_config_meter(r->cfg, meter)) == NULL ||
		    m->connector == NULL) {
			mt_diag(args[i], 0, "not an archived payload of a meter of %s "
			    "(.../YYYY/MM/DD/METER/FILE)", r->cfg->path);
			free(meter);
			free(source);
			return -1;
		}
		free(meter);
		r->njobs++;
		if (configured_job(r, m, j) < 0) {
			free(source);
			return -1;
		}
		j->target = mt_xstrdup(args[i]);
		j->source = source;
	}
	return 0;
}

/* ---- running ---- */

static void show_progress(struct run *r, int last)
{
	struct timespec ts;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (!r->o->progress || (!last && t - r->progress_at < 1))
		return;
	r->progress_at = t;
	fprintf(stderr, "%s: %ld/%zu meters, %ld readings, %ld failed%s",
	    mt_prog(), r->done, r->njobs, r->readings, r->failed,
	    isatty(2) && !last ? "\r" : "\n");
}

static void meter_failed(struct run *r, struct job *j, const char *src,
    long line, const char *why)
{
	if (!j->failed)
		r->failed++;
	j->failed = 1;
	mt_diag(src, line, "meter %s: %s", j->meter, why);
}

static const char *extension(const struct job *j, const char *body, size_t n)
{
	static const char *const ext[][2] = { { "csv", "csv.gz" },
		{ "json", "json.gz" }, { "xml", "xml.gz" } };
	int gz = n >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b;

	return ext[j->conn.type][gz];
}

/* Parse into memory first: a payload that turns out malformed emits
 * nothing. */
static int parse_payload(struct run *r, struct job *j, struct mt_emit *e,
    const char *body, size_t n, char **out, size_t *outn, struct mt_err *err)
{
	FILE *mem = open_memstream(out, outn);
	char *plain;
	size_t plen;
	int rc;

	if (mem == NULL) {
		mt_err_set(err, NULL, 0, "out of memory");
		return -1;
	}
	e->out = mt_out_new(mem);
	e->rj = &r->rj;
	rc = mt_gunzip(body, n, j->conn.max_size, &plain, &plen, err);
	if (rc == 0)
		rc = mt_payload_parse(&j->conn, e, plain, plen, err);
	if (plain != body)
		free(plain);
	mt_out_flush(e->out);
	mt_out_free(e->out);
	fclose(mem);
	return rc;
}

static void payload(struct run *r, struct job *j, const char *body, size_t n)
{
	struct mt_emit e = { 0 };
	struct mt_err err;
	char *name = NULL, *out = NULL;
	size_t outn = 0;
	const struct opts *o = r->o;

	if (j->source == NULL && o->archive != NULL && mt_archive_put(o->archive,
	    j->meter, extension(j, body, n), r->now, body, n, &name, &err) < 0) {
		r->io_failed = 1;
		meter_failed(r, j, err.file, 0, err.msg);
		return;
	}
	e = (struct mt_emit){ .participant = r->participant, .property = j->property,
		.meter = j->meter, .q = j->q, .kind = j->kind, .unit = j->unit,
		.rollover = j->rollover, .calorific = j->calorific, .zone = j->zone,
		.after = j->has_cursor && !o->has_since ? j->cursor : MT_TIME_MIN,
		.since = o->has_since ? o->since : MT_TIME_MIN,
		.until = o->has_until ? o->until : MT_TIME_MAX,
		.prev = MT_TIME_MIN };
	e.source = j->source ? j->source : name ? name : j->shown;
	e.last = e.after;
	if (parse_payload(r, j, &e, body, n, &out, &outn, &err) < 0) {
		meter_failed(r, j, e.source, err.line, err.msg);
	} else {
		fwrite(out, 1, outn, stdout);
		r->readings += e.readings;
		r->skipped += e.skipped;
		r->filtered += e.filtered;
		if (e.readings > 0 && (!j->has_cursor || e.last > j->cursor)) {
			j->new_cursor = e.last;
			j->advanced = 1;
		}
	}
	free(out);
	free(name);
}

/* A participant's file is opened inside its directory without following
 * links, and only when it is a regular file (a FIFO never stalls the run);
 * a file named on the command line is the user's own. */
static void file_job(struct run *r, struct job *j)
{
	struct mt_err err;
	char *body = NULL;
	size_t n = 0;
	int fd;

	if (r->pdir != NULL && !r->o->replay)
		fd = mt_open_inside(r->pdir, j->target, &err);
	else if ((fd = open(j->target, O_RDONLY | O_CLOEXEC)) < 0)
		mt_err_set(&err, j->target, 0, "cannot open: %s", strerror(errno));
	if (fd < 0) {
		meter_failed(r, j, j->shown, 0, err.msg);
		return;
	}
	if (mt_read_fd(fd, j->conn.max_size, &body, &n, &err) < 0)
		meter_failed(r, j, j->shown, 0, strstr(err.msg, "larger") ?
		    "larger than max-size" : err.msg);
	else
		payload(r, j, body, n);
	close(fd);
	free(body);
}

static void http_done(void *ctx, struct mt_fetch *f)
{
	struct run *r = ctx;
	struct job *j = f->ctx;
	char why[400];

	if (f->error[0] != '\0') {
		snprintf(why, sizeof why, "%s (after %d attempt%s)", f->error,
		    f->attempts, f->attempts == 1 ? "" : "s");
		meter_failed(r, j, j->shown, 0, why);
	} else {
		payload(r, j, f->body ? f->body : "", f->len);
	}
	free(f->body);
	f->body = NULL;
	r->done++;
	show_progress(r, 0);
}

/* A header's value: from the operator's secrets file for the participant
 * when there is one (--secrets), else from the environment.  A missing
 * one fails the meter and names the variable, never a value. */
static const char *secret(struct run *r, struct job *j, const struct mt_header *h)
{
	const char *v = r->secrets ? mt_secrets_get(r->secrets, h->env) : getenv(h->env);
	char why[400];

	if (v != NULL)
		return v;
	if (r->secrets)
		snprintf(why, sizeof why, "%s is not in the secrets file %s (header %s)",
		    h->env, r->o->secrets, h->name);
	else
		snprintf(why, sizeof why, "environment variable %s is not set "
		    "(header %s)", h->env, h->name);
	meter_failed(r, j, j->shown, 0, why);
	return NULL;
}

/* netrc and ca-file of a participant: opened inside its directory without
 * links, and handed to libcurl as the open file itself. */
static char *own_file(struct run *r, struct job *j, const char *rel, int *fd)
{
	struct mt_err err;
	char path[64];

	if (r->pdir == NULL)
		return mt_xstrdup(rel);
	if ((*fd = mt_open_inside(r->pdir, rel, &err)) < 0) {
		meter_failed(r, j, j->shown, 0, err.msg);
		return NULL;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", *fd);
	return mt_xstrdup(path);
}

static int prepare_http(struct run *r, struct job *j)
{
	const struct mt_conn *c = &j->conn;

	j->headers = mt_xcalloc(c->nheaders + 1, sizeof *j->headers);
	for (size_t i = 0; i < c->nheaders; i++) {
		const struct mt_header *h = &c->headers[i];
		const char *v = secret(r, j, h);
		size_t n;
		if (v == NULL)
			return -1;
		n = strlen(h->name) + strlen(h->prefix ? h->prefix : "") + strlen(v) + 3;
		j->headers[i] = mt_xmalloc(n);
		snprintf(j->headers[i], n, "%s: %s%s", h->name, h->prefix ? h->prefix : "", v);
	}
	if ((c->netrc && (j->netrc = own_file(r, j, c->netrc, &j->fds[0])) == NULL) ||
	    (c->ca_file && (j->ca_file = own_file(r, j, c->ca_file, &j->fds[1])) == NULL))
		return -1;
	j->fetch = (struct mt_fetch){ .url = j->target, .headers = j->headers,
		.netrc = j->netrc, .ca_file = j->ca_file,
		.connect_timeout_ms = c->connect_timeout_ms, .timeout_ms = c->timeout_ms,
		.max_size = c->max_size, .retries = c->retries, .ctx = j };
	return 0;
}

static int fetch_all(struct run *r)
{
	struct mt_fetch **fs = mt_xcalloc(r->njobs, sizeof *fs);
	struct mt_http_opts ho = { r->o->parallel, r->cfg ? r->o->allow : NULL,
		r->o->retry_base, r->o->retry_max };
	struct mt_err err;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		if (!j->is_http || r->o->replay) {
			file_job(r, j);
			r->done++;
			show_progress(r, 0);
		} else if (prepare_http(r, j) == 0) {
			fs[n++] = &j->fetch;
		} else {
			r->done++;
		}
	}
	if (n > 0 && mt_http_fetch_all(fs, n, &ho, http_done, r, &err) < 0) {
		mt_diag_err(&err);
		rc = -1;
	}
	free(fs);
	show_progress(r, 1);
	return rc;
}

/* Cursors, and the URLs they fill in. */
static int plan(struct run *r)
{
	const struct opts *o = r->o;
	struct mt_err err;
	mt_time_t until = o->has_until ? o->until : r->now / 1000 * 1000;

	if (o->state != NULL && !o->replay) {
		size_t n = strlen(o->state) + 32;
		r->cursor_path = mt_xmalloc(n);
		snprintf(r->cursor_path, n, "%s/fetch-cursors.ndjson", o->state);
		if ((r->cursors = mt_cursors_load(r->cursor_path, &err)) == NULL) {
			mt_diag_err(&err);
			return -1;
		}
	}
	for (size_t i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		mt_time_t since = 0;
		char *url;
		if (r->cursors != NULL)
			j->has_cursor = mt_cursor_get(r->cursors, j->meter, &j->cursor);
		since = o->has_since ? o->since : j->has_cursor ? j->cursor : 0;
		url = mt_url_fill(j->target, since, until);
		free(j->target);
		j->target = url;
		j->shown = j->is_http ? mt_url_redact(url) :
		    mt_xstrdup(strcmp(url, "/dev/stdin") == 0 ? "-" : url);
	}
	return 0;
}

static void dry_run(const struct run *r)
{
	for (size_t i = 0; i < r->njobs; i++) {
		const struct job *j = &r->jobs[i];
		char c[32] = "-";
		if (j->has_cursor)
			mt_time_format(c, j->cursor);
		printf("%s\t%s\t%s\tcursor %s\n", j->meter,
		    (const char *[]){ "csv", "json", "greenbutton" }[j->conn.type],
		    j->shown, c);
	}
}

static int save_cursors(struct run *r)
{
	struct mt_err err;
	int moved = 0;

	if (r->cursors == NULL)
		return 0;
	for (size_t i = 0; i < r->njobs; i++)
		if (r->jobs[i].advanced && !r->jobs[i].failed) {
			mt_cursor_set(r->cursors, r->jobs[i].meter, r->jobs[i].new_cursor);
			moved = 1;
		}
	if (!moved)
		return 0;
	if ((r->o->archive != NULL && mt_archive_sync(r->o->archive, &err) < 0) ||
	    mt_cursors_save(r->cursors, r->cursor_path, &err) < 0) {
		mt_diag_err(&err);
		return -1;
	}
	return 0;
}

/* ---- main ---- */

static int setup(struct run *r, int nargs, char **args)
{
	struct opts *o = r->o;
	struct mt_err err;
	char *copy, *slash;

	if (o->config == NULL) {
		r->participant = o->participant ? o->participant : "adhoc";
		if (!mt_id_valid(r->participant) || (o->meter && !mt_id_valid(o->meter))) {
			mt_warnx("bad id \"%s\": letters, digits, '.', '_' and '-' only",
			    mt_id_valid(r->participant) ? o->meter : r->participant);
			return MT_EXIT_USAGE;
		}
		if (nargs == 0) {
			mt_warnx("nothing to fetch: give URLs or files");
			return MT_EXIT_USAGE;
		}
		return adhoc_jobs(r, nargs, args) < 0 ? MT_EXIT_USAGE : MT_EXIT_OK;
	}
	if ((r->cfg = mt_config_load_for(o->config, o->participant, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	if (o->secrets != NULL &&
	    (r->secrets = mt_secrets_load(o->secrets, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	r->participant = r->cfg->id;
	copy = mt_xstrdup(o->config);
	slash = strrchr(copy, '/');
	if (slash != NULL)
		*slash = '\0';
	r->pdir = realpath(slash ? copy : ".", NULL);
	free(copy);
	if (r->pdir == NULL) {
		mt_diag(o->config, 0, "cannot resolve its directory: %s", strerror(errno));
		return MT_EXIT_IO;
	}
	if (!o->replay && nargs > 0) {
		mt_warnx("with -c, name meters with --meter, not arguments");
		return MT_EXIT_USAGE;
	}
	if (o->replay)
		return replay_jobs(r, nargs, args) < 0 ? MT_EXIT_USAGE : MT_EXIT_OK;
	return configured_jobs(r) < 0 ? MT_EXIT_USAGE : MT_EXIT_OK;
}

/* The participant's directory holds the archive and state unless told. */
static void default_dirs(struct run *r, char **archive, char **state)
{
	size_t n;

	*archive = *state = NULL;
	if (r->pdir == NULL)
		return;
	n = strlen(r->pdir) + 8;
	if (r->o->archive == NULL) {
		*archive = mt_xmalloc(n);
		snprintf(*archive, n, "%s/raw", r->pdir);
		r->o->archive = *archive;
	}
	if (r->o->state == NULL) {
		*state = mt_xmalloc(n);
		snprintf(*state, n, "%s/state", r->pdir);
		r->o->state = *state;
	}
}

static int execute(struct run *r)
{
	struct mt_err err;
	int status;

	if (mt_rejects_open(&r->rj, r->o->rejects, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	r->rj.quiet = r->o->quiet;
	status = fetch_all(r) < 0 ? MT_EXIT_IO : MT_EXIT_OK;
	/* Reported once, by mt_finish_stdout. */
	if (fflush(stdout) != 0 || ferror(stdout))
		status = MT_EXIT_IO;
	else if (save_cursors(r) < 0) {
		status = MT_EXIT_IO;
	}
	if (mt_rejects_close(&r->rj) < 0) {
		mt_warnx("cannot write rejects file %s", r->o->rejects);
		status = MT_EXIT_IO;
	}
	if (r->o->stats)
		mt_warnx("meters %zu fetched %ld failed %ld readings %ld rejected %ld "
		    "skipped %ld filtered %ld", r->njobs, (long)r->njobs - r->failed,
		    r->failed, r->readings, r->rj.count, r->skipped, r->filtered);
	if (status == MT_EXIT_OK && r->io_failed)
		status = MT_EXIT_IO;
	if (status == MT_EXIT_OK && (r->failed > 0 || r->rj.count > 0))
		status = MT_EXIT_REJECTS;
	return status;
}

static void cleanup(struct run *r)
{
	for (size_t i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		if (r->cfg == NULL && j->meter != r->o->meter)
			free((char *)j->meter);
		for (size_t k = 0; j->headers && j->headers[k]; k++)
			free(j->headers[k]);
		free(j->headers);
		free(j->target);
		free(j->shown);
		free(j->source);
		free(j->netrc);
		free(j->ca_file);
		for (int k = 0; k < 2; k++)
			if (j->fds[k] >= 0)
				close(j->fds[k]);
		mt_zone_free(j->zone);
	}
	free(r->jobs);
	free(r->pdir);
	free(r->cursor_path);
	mt_cursors_free(r->cursors);
	mt_secrets_free(r->secrets);
	mt_config_free(r->cfg);
}

/* Header secrets live in this process's memory: a crash must not leave
 * them in a core file. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct run r = { 0 };
	struct timespec now;
	char *archive, *state;
	int first, status;

	mt_cli_init(argv[0]);
	no_core_dumps();
	if ((first = parse_args(argc, argv, &o)) < 0) {
		usage(stderr);
		mt_netlist_free(o.allow);
		return MT_EXIT_USAGE;
	}
	r.o = &o;
	clock_gettime(CLOCK_REALTIME, &now);
	r.now = (mt_time_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	srand((unsigned)(now.tv_nsec ^ getpid()));
	status = setup(&r, argc - first, argv + first);
	default_dirs(&r, &archive, &state);
	if (status == MT_EXIT_OK && plan(&r) < 0)
		status = MT_EXIT_IO;
	if (status == MT_EXIT_OK && o.dry_run)
		dry_run(&r);
	else if (status == MT_EXIT_OK)
		status = execute(&r);
	cleanup(&r);
	mt_netlist_free(o.allow);
	free(archive);
	free(state);
	return mt_finish_stdout(status);
}
