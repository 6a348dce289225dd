/* fetch.c - meter-fetch's engine: one job per meter (of a configuration,
 * of the command line, or of an archived payload to replay), each job's
 * payload read from a file or fetched over HTTP, kept in the raw archive,
 * parsed in memory by its connector and only then written as raw
 * readings, and the meters' cursors moved once the readings are out.
 *
 * A payload is parsed whole before anything of it is written, so a
 * malformed one emits nothing (it stays archived for a replay).  A job
 * that fails keeps its cursor and stops no other.  What a participant's
 * configuration names is confined as meter(7) SECURITY says: its files
 * are opened inside its directory without links (file.c), its secrets
 * come from the operator's file, its connections go where the operator
 * allows (http.c, url.c). */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char *own_meter;        /* a meter id made from a file name */
	int is_http;
	char **headers;
	char *netrc, *ca_file;
	int fds[2];             /* netrc and ca-file opened inside the directory */
	mt_time_t cursor, new_cursor;
	int has_cursor, advanced, failed;
	struct mt_fetch fetch;
};

struct mt_fetcher {
	const struct mt_fetcher_opts *o;
	const struct mt_fetcher_hooks *h;
	struct mt_rejects *rj;
	struct mt_config *cfg;
	char *pdir;             /* the participant's directory (real path) */
	const char *participant;
	struct mt_connector adhoc;
	char **adhoc_attrs;
	struct job *jobs;
	size_t njobs;
	struct mt_secrets *secrets;
	struct mt_cursors *cursors;
	char *cursor_path, *archive, *state;
	mt_time_t now;
	FILE *out;
	FILE *scratch;          /* a payload's readings before they go out */
	struct mt_fetcher_stats st;
	int io_failed;
};

static void init_job(struct job *j)
{
	memset(j, 0, sizeof *j);
	j->cursor = MT_TIME_MIN;
	j->fds[0] = j->fds[1] = -1;
}

static void job_failed(struct mt_fetcher *f, struct job *j, const char *src,
    long line, const char *why)
{
	if (!j->failed)
		f->st.failed++;
	j->failed = 1;
	if (f->h->failed != NULL)
		f->h->failed(f->h->ctx, src, line, j->meter, why);
}

/* ---- jobs ---- */

static const char *zone_of(const struct mt_fetcher *f, const struct mt_meter_cfg *m)
{
	const struct mt_property_cfg *p;

	p = m->property ? mt_config_property(f->cfg, m->property) : NULL;
	return p && p->timezone ? p->timezone : f->cfg->timezone;
}

static int setup_fail(struct mt_err *err, const char *file, long line,
    const char *meter, const char *why)
{
	if (meter != NULL)
		mt_err_set(err, file, line, "meter %s: %s", meter, why);
	else
		mt_err_set(err, file, line, "%s", why);
	err->status = MT_EXIT_USAGE;
	return -1;
}

/* A participant may ask for more time, retries or bytes only up to what
 * the operator allows (--max-timeout, --max-retries, --max-size). */
static int within_limits(const struct mt_fetcher *f, const struct job *j,
    long line, struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;
	const struct mt_conn *c = &j->conn;
	char why[200];

	if (c->timeout_ms > o->max_timeout_ms || c->connect_timeout_ms > o->max_timeout_ms)
		snprintf(why, sizeof why, "a timeout above the operator's limit of %lds "
		    "(meter-fetch --max-timeout)", o->max_timeout_ms / 1000);
	else if (c->retries > o->max_retries)
		snprintf(why, sizeof why, "retries=\"%d\" is above the operator's limit "
		    "of %d (meter-fetch --max-retries)", c->retries, o->max_retries);
	else if (c->max_size > o->max_size)
		snprintf(why, sizeof why, "max-size above the operator's limit of %zu "
		    "bytes (meter-fetch --max-size)", o->max_size);
	else
		return 0;
	return setup_fail(err, f->cfg->path, line, j->meter, why);
}

/* Where the job's payload comes from: the configuration's URL was checked
 * when it was read (mt_conn_check_url); a command-line argument is the
 * user's own. */
static void set_target(struct job *j, const char *url)
{
	j->is_http = mt_url_is_http(url);
	if (!j->is_http && strncmp(url, "file:", 5) == 0)
		url += 5;
	j->target = mt_xstrdup(url);
}

static int open_zone(struct job *j, const char *file, long line, struct mt_err *err)
{
	struct mt_err zerr;

	if (j->conn.zone_name != NULL &&
	    (j->zone = mt_zone_open(j->conn.zone_name, &zerr)) == NULL)
		return setup_fail(err, file, line, j->meter, zerr.msg);
	return 0;
}

static int configured_job(struct mt_fetcher *f, const struct mt_meter_cfg *m,
    struct job *j, struct mt_err *err)
{
	long line = m->connector->line;

	init_job(j);
	j->meter = m->id;
	j->property = m->property;
	j->q = m->q;
	j->kind = m->kind;
	j->unit = m->unit;
	j->rollover = m->rollover;
	j->calorific = m->calorific;
	if (mt_conn_parse(&j->conn, m->connector, zone_of(f, m), err) < 0) {
		snprintf(err->file, sizeof err->file, "%s", f->cfg->path);
		return -1;
	}
	if (within_limits(f, j, line, err) < 0 || open_zone(j, f->cfg->path, line, err) < 0)
		return -1;
	if (f->o->replay)
		return 0;
	if (j->conn.url == NULL)
		return setup_fail(err, f->cfg->path, line, m->id, "the connector has no url");
	set_target(j, j->conn.url);
	return 0;
}

static int selected(const struct mt_fetcher_opts *o, const struct mt_meter_cfg *m)
{
	int named = o->nselect == 0;

	for (size_t i = 0; i < o->nselect; i++)
		named |= strcmp(o->select[i], m->id) == 0;
	return named && (o->property == NULL ||
	    (m->property != NULL && strcmp(m->property, o->property) == 0));
}

static int configured_jobs(struct mt_fetcher *f, struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;
	char why[200];

	for (size_t i = 0; i < o->nselect; i++) {
		const struct mt_meter_cfg *m = mt_config_meter(f->cfg, o->select[i]);
		if (m == NULL || m->connector == NULL) {
			snprintf(why, sizeof why, m ? "meter %s has no connector" :
			    "no meter %s", o->select[i]);
			return setup_fail(err, f->cfg->path, 0, NULL, why);
		}
	}
	if (o->property != NULL && mt_config_property(f->cfg, o->property) == NULL) {
		snprintf(why, sizeof why, "no property %s", o->property);
		return setup_fail(err, f->cfg->path, 0, NULL, why);
	}
	f->jobs = mt_xcalloc(f->cfg->nmeters, sizeof *f->jobs);
	for (size_t i = 0; i < f->cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &f->cfg->meters[i];
		/* an mqtt meter publishes: meter-listen(1) receives it */
		if (m->connector == NULL || m->external || !selected(o, m) ||
		    strcmp(m->connector->type, "mqtt") == 0)
			continue;
		if (configured_job(f, m, &f->jobs[f->njobs++], err) < 0)
			return -1;
	}
	return 0;
}

/* Without a configuration a meter is named by -m, or by its file: the
 * name up to its first dot, with `parents` directories before it
 * (.../gas/2019.csv with 1 is "gas-2019"). */
static char *meter_from(const char *arg, int parents)
{
	const char *start, *end, *name;
	char buf[MT_ID_MAX + 1], *id;
	size_t n = 0;

	if (strcmp(arg, "-") == 0)
		return mt_xstrdup("stdin");
	if (strstr(arg, "://") != NULL)
		arg = strstr(arg, "://") + 3;
	/* the path without query, fragment or trailing slashes */
	end = arg + strcspn(arg, "?#");
	while (end > arg && end[-1] == '/')
		end--;
	/* the file's own name, up to its first dot */
	for (name = end; name > arg && name[-1] != '/'; name--)
		;
	if (name + strcspn(name, ".") < end)
		end = name + strcspn(name, ".");
	/* and `parents` directories before it */
	start = name;
	for (int k = 0; k < parents && start > arg; k++)
		for (start--; start > arg && start[-1] != '/'; start--)
			;
	for (const char *p = start; p < end && n < MT_ID_MAX; p++)
		buf[n++] = *p == '/' ? '-' : *p;
	buf[n] = '\0';
	id = mt_xstrdup(buf);
	for (char *p = id; *p; p++)
		if (!mt_id_validn(p, 1) || *p == '.')
			*p = '_';
	if (!mt_id_valid(id)) {
		free(id);
		id = mt_xstrdup("meter");
	}
	return id;
}

/* Two files are never one meter by default: names that would be the same
 * take more of their paths, and a clash that remains is an error. */
static int distinct_meters(struct mt_fetcher *f, int nargs, char **args,
    struct mt_err *err)
{
	for (int parents = 1; parents <= 8; parents++) {
		int clash = 0;
		for (int i = 0; i < nargs; i++)
			for (int k = 0; k < i; k++)
				if (strcmp(f->jobs[i].own_meter, f->jobs[k].own_meter) == 0) {
					clash = 1;
					free(f->jobs[i].own_meter);
					f->jobs[i].meter = f->jobs[i].own_meter = meter_from(args[i], parents);
					free(f->jobs[k].own_meter);
					f->jobs[k].meter = f->jobs[k].own_meter = meter_from(args[k], parents);
				}
		if (!clash)
			return 0;
	}
	return setup_fail(err, NULL, 0, NULL, "two arguments make the same meter id "
	    "from their names: fetch them one at a time with -m to name each");
}

/* A NEM12 stream named with -o nmi is its meter, as the streams are
 * without it; other payloads are named by their file. */
static char *adhoc_meter(const struct job *j, const char *arg)
{
	char id[MT_ID_MAX + 1];

	if (j->conn.type == MT_CONN_NEM12 && j->conn.nmi != NULL) {
		snprintf(id, sizeof id, "%s-%s", j->conn.nmi,
		    j->conn.suffix ? j->conn.suffix : "E1");
		if (mt_id_valid(id))
			return mt_xstrdup(id);
	}
	return meter_from(arg, 0);
}

static int adhoc_job(struct mt_fetcher *f, struct job *j, const char *arg,
    struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;

	init_job(j);
	if (mt_conn_parse(&j->conn, &f->adhoc, NULL, err) < 0) {
		/* "-o" names the attribute; the element's name means nothing here */
		char *at = strstr(err->msg, "unknown attribute");
		if (at == NULL)
			at = strstr(err->msg, "attribute");
		if (at != NULL)
			memmove(err->msg, at, strlen(at) + 1);
		err->file[0] = '\0';
		err->line = 0;
		return -1;
	}
	if (o->meter != NULL && j->conn.type == MT_CONN_NEM12 && j->conn.nmi == NULL) {
		mt_err_set(err, NULL, 0, "-m names one meter, and a NEM12 file holds "
		    "many: give -o nmi= (and -o suffix=) to read one stream as it");
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	j->meter = o->meter ? o->meter : (j->own_meter = adhoc_meter(j, arg));
	j->property = o->property;
	if (o->quantity && (j->q = mt_quantity_find(o->quantity)) == NULL) {
		mt_err_set(err, NULL, 0, "unknown quantity \"%.40s\"", o->quantity);
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	if (j->q == NULL && j->conn.unit != NULL && j->conn.type != MT_CONN_GREENBUTTON &&
	    mt_quantity_for_unit(j->conn.unit) == NULL) {
		char which[120];
		mt_quantities_of_unit(j->conn.unit, which, sizeof which);
		if (which[0] != '\0') {
			mt_err_set(err, NULL, 0, "unit %s may be %s: say which with -Q "
			    "(meter-fetch(1))", j->conn.unit, which);
			err->status = MT_EXIT_USAGE;
			return -1;
		}
	}
	if (mt_conn_check(&j->conn, j->q, NULL, NULL, err) < 0) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		return setup_fail(err, NULL, 0, j->meter, why);
	}
	if (open_zone(j, NULL, 0, err) < 0)
		return -1;
	if (mt_url_is_http(arg) && mt_url_has_userinfo(arg))
		return setup_fail(err, NULL, 0, j->meter, "credentials in a URL are "
		    "refused: use a netrc file (-o netrc=FILE)");
	if (o->replay)
		j->target = mt_xstrdup(arg);
	else
		set_target(j, strcmp(arg, "-") ? arg : "/dev/stdin");
	return 0;
}

static int adhoc_jobs(struct mt_fetcher *f, int nargs, char **args,
    struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;
	size_t n = 0;

	while (o->attrs != NULL && o->attrs[n] != NULL)
		n++;
	f->adhoc_attrs = mt_xcalloc(n + 3, sizeof *f->adhoc_attrs);
	f->adhoc_attrs[0] = "type";
	f->adhoc_attrs[1] = (char *)o->type;
	memcpy(f->adhoc_attrs + 2, o->attrs, n * sizeof *f->adhoc_attrs);
	f->adhoc.attrs = f->adhoc_attrs;
	f->adhoc.type = (char *)o->type;
	f->jobs = mt_xcalloc((size_t)nargs, sizeof *f->jobs);
	for (int i = 0; i < nargs; i++)
		if (adhoc_job(f, &f->jobs[f->njobs++], args[i], err) < 0)
			return -1;
	return o->meter ? 0 : distinct_meters(f, nargs, args, err);
}

static int replay_jobs(struct mt_fetcher *f, int nargs, char **args,
    struct mt_err *err)
{
	f->jobs = mt_xcalloc((size_t)nargs, sizeof *f->jobs);
	for (int i = 0; i < nargs; i++) {
		struct job *j = &f->jobs[f->njobs];
		char *meter = NULL, *source = mt_archive_name(args[i], &meter);
		const struct mt_meter_cfg *m = meter ? mt_config_meter(f->cfg, meter) : NULL;

		free(meter);
		if (m == NULL || m->connector == NULL) {
			free(source);
			mt_err_set(err, args[i], 0, "not an archived payload of a meter of "
			    "%s (.../YYYY/MM/DD/METER/FILE)", f->cfg->path);
			err->status = MT_EXIT_USAGE;
			return -1;
		}
		f->njobs++;
		if (configured_job(f, m, j, err) < 0) {
			free(source);
			return -1;
		}
		j->target = mt_xstrdup(args[i]);
		j->source = source;
	}
	return 0;
}

/* The participant's directory holds the archive and state unless told. */
static void default_dirs(struct mt_fetcher *f)
{
	size_t n;

	f->archive = f->o->archive ? mt_xstrdup(f->o->archive) : NULL;
	f->state = f->o->state ? mt_xstrdup(f->o->state) : NULL;
	if (f->pdir == NULL)
		return;
	n = strlen(f->pdir) + 8;
	if (f->archive == NULL) {
		f->archive = mt_xmalloc(n);
		snprintf(f->archive, n, "%s/raw", f->pdir);
	}
	if (f->state == NULL) {
		f->state = mt_xmalloc(n);
		snprintf(f->state, n, "%s/state", f->pdir);
	}
}

static int configured(struct mt_fetcher *f, int nargs, char **args,
    struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;

	if ((f->cfg = mt_config_load_for(o->config, o->participant, err)) == NULL)
		return -1;
	f->participant = f->cfg->id;
	if ((f->pdir = realpath(f->cfg->dir, NULL)) == NULL) {
		mt_err_set(err, o->config, 0, "cannot resolve its directory: %s",
		    strerror(errno));
		err->status = MT_EXIT_IO;
		return -1;
	}
	if (o->secrets != NULL && (f->secrets = mt_secrets_load(o->secrets, err)) == NULL)
		return -1;
	if (!o->replay && nargs > 0)
		return setup_fail(err, NULL, 0, NULL, "with -c, name meters with "
		    "--meter, not arguments");
	return o->replay ? replay_jobs(f, nargs, args, err) : configured_jobs(f, err);
}

struct mt_fetcher *mt_fetcher_new(const struct mt_fetcher_opts *o, int nargs,
    char **args, const struct mt_fetcher_hooks *h, struct mt_rejects *rj,
    struct mt_err *err)
{
	struct mt_fetcher *f = mt_xcalloc(1, sizeof *f);
	int rc;

	f->o = o;
	f->h = h;
	f->rj = rj;
	if (o->config != NULL) {
		rc = configured(f, nargs, args, err);
	} else {
		f->participant = o->participant ? o->participant : "adhoc";
		if (!mt_id_valid(f->participant) || (o->meter && !mt_id_valid(o->meter)))
			rc = setup_fail(err, NULL, 0, NULL, "bad id: letters, digits, '.', "
			    "'_' and '-' only");
		else if (nargs == 0)
			rc = setup_fail(err, NULL, 0, NULL, "nothing to fetch: give URLs or files");
		else
			rc = adhoc_jobs(f, nargs, args, err);
	}
	f->st.meters = (long)f->njobs;
	if (rc < 0) {
		mt_fetcher_free(f);
		return NULL;
	}
	default_dirs(f);
	return f;
}

void mt_fetcher_free(struct mt_fetcher *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->njobs; i++) {
		struct job *j = &f->jobs[i];
		for (size_t k = 0; j->headers && j->headers[k]; k++)
			free(j->headers[k]);
		free(j->headers);
		free(j->target);
		free(j->shown);
		free(j->source);
		free(j->own_meter);
		free(j->netrc);
		free(j->ca_file);
		for (int k = 0; k < 2; k++)
			if (j->fds[k] >= 0)
				close(j->fds[k]);
		mt_zone_free(j->zone);
	}
	if (f->scratch != NULL)
		fclose(f->scratch);
	free(f->jobs);
	free(f->adhoc_attrs);
	free(f->pdir);
	free(f->cursor_path);
	free(f->archive);
	free(f->state);
	mt_cursors_free(f->cursors);
	mt_secrets_free(f->secrets);
	mt_config_free(f->cfg);
	free(f);
}

/* ---- planning: cursors, and the URLs they fill in ---- */

int mt_fetcher_plan(struct mt_fetcher *f, mt_time_t now, struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;
	mt_time_t until = o->has_until ? o->until : now / 1000 * 1000;

	f->now = now;
	if (f->state != NULL && !o->replay) {
		size_t n = strlen(f->state) + 32;
		f->cursor_path = mt_xmalloc(n);
		snprintf(f->cursor_path, n, "%s/fetch-cursors.ndjson", f->state);
		if ((f->cursors = mt_cursors_load(f->cursor_path, err)) == NULL)
			return -1;
	}
	for (size_t i = 0; i < f->njobs; i++) {
		struct job *j = &f->jobs[i];
		mt_time_t since;
		char *url;
		if (f->cursors != NULL)
			j->has_cursor = mt_cursor_get(f->cursors, j->meter, &j->cursor);
		since = o->has_since ? o->since : j->has_cursor ? j->cursor : 0;
		url = mt_url_fill(j->target, since, until);
		free(j->target);
		j->target = url;
		j->shown = j->is_http ? mt_url_redact(url) :
		    mt_xstrdup(strcmp(url, "/dev/stdin") == 0 ? "-" : url);
	}
	return 0;
}

size_t mt_fetcher_count(const struct mt_fetcher *f)
{
	return f->njobs;
}

void mt_fetcher_describe(const struct mt_fetcher *f, size_t i,
    struct mt_fetcher_job *d)
{
	const struct job *j = &f->jobs[i];

	d->meter = j->meter;
	d->type = mt_conn_type_name(j->conn.type);
	d->shown = j->shown;
	d->has_cursor = j->has_cursor;
	d->cursor = j->cursor;
}

/* ---- payloads ---- */

static const char *extension(const struct job *j, const char *body, size_t n,
    char *buf, size_t cap)
{
	int gz = n >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b;

	snprintf(buf, cap, "%s%s", mt_conn_extension(j->conn.type), gz ? ".gz" : "");
	return buf;
}

/* Parse into a temporary file first: a payload that turns out malformed
 * emits nothing, and the readings of a large payload (ten times its size)
 * are not held in memory.  One file serves every payload: a new file per
 * payload cost an inode each, and ext4 allocates inodes slowly among
 * recently deleted ones (a third of a 1,000-meter fetch's time). */
static int parse_payload(struct mt_fetcher *f, struct job *j, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err)
{
	int rc;

	if (f->scratch == NULL && (f->scratch = tmpfile()) == NULL) {
		mt_err_set(err, NULL, 0, "cannot make a temporary file: %s", strerror(errno));
		return -1;
	}
	rewind(f->scratch);
	if (ftruncate(fileno(f->scratch), 0) < 0) {
		mt_err_set(err, NULL, 0, "cannot empty a temporary file: %s", strerror(errno));
		return -1;
	}
	e->out = mt_out_new(f->scratch);
	e->rj = f->rj;
	rc = mt_payload_parse(&j->conn, e, body, n, err);
	if (mt_out_flush(e->out) < 0 && rc == 0) {
		mt_err_set(err, NULL, 0, "cannot write a temporary file: %s", strerror(errno));
		rc = -1;
	}
	mt_out_free(e->out);
	return rc;
}

/* Where a reading's line is in the temporary file, and its time. */
struct line_at {
	mt_time_t ts;
	off_t off;
	size_t len;
	size_t order;
};

static int by_time(const void *x, const void *y)
{
	const struct line_at *a = x, *b = y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->order < b->order ? -1 : 1;
}

static size_t index_lines(FILE *tmp, struct line_at **lines, int *sorted)
{
	char *buf = NULL;
	size_t cap = 0, n = 0, size = 0;
	ssize_t len;
	off_t off = 0;

	rewind(tmp);
	*sorted = 1;
	while ((len = getline(&buf, &cap, tmp)) > 0) {
		if (n == size) {
			size = size ? 2 * size : 1024;
			*lines = mt_xrealloc(*lines, size * sizeof **lines);
		}
		(*lines)[n] = (struct line_at){ mt_line_time(buf, (size_t)len), off,
			(size_t)len, n };
		if (n > 0 && (*lines)[n].ts < (*lines)[n - 1].ts)
			*sorted = 0;
		off += len;
		n++;
	}
	free(buf);
	return n;
}

/* The readings of a payload go out in time order, whatever order the
 * payload had: exports that list the newest first are common, and
 * meter-standardize reads a meter's readings best in time.  A payload
 * whose readings came in time order (the emitter says) is copied as it is. */
static int copy_out(FILE *from, FILE *to, int in_order)
{
	struct line_at *lines = NULL;
	char buf[65536];
	int sorted = 1, rc = 0;
	size_t n = in_order ? 0 : index_lines(from, &lines, &sorted);

	if (!sorted)
		qsort(lines, n, sizeof *lines, by_time);
	for (size_t i = 0; i < n && rc == 0 && !sorted; i++) {
		char *line = lines[i].len <= sizeof buf ? buf : mt_xmalloc(lines[i].len);
		if (pread(fileno(from), line, lines[i].len, lines[i].off) != (ssize_t)lines[i].len ||
		    fwrite(line, 1, lines[i].len, to) != lines[i].len)
			rc = -1;
		if (line != buf)
			free(line);
	}
	free(lines);
	if (!sorted)
		return rc;
	rewind(from);
	while ((n = fread(buf, 1, sizeof buf, from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(from) ? -1 : 0;
}

/* A fetch that emits nothing because the cursor is past every reading
 * looks like a broken source; it says why, and how to fetch them again. */
static void held_back(struct mt_fetcher *f, const struct job *j,
    const struct mt_emit *e)
{
	char ts[32], msg[400];

	mt_time_format(ts, j->cursor);
	snprintf(msg, sizeof msg, "meter %s: no reading after the cursor (%s); "
	    "%ld earlier reading%s held back: --since TIME fetches them again",
	    j->meter, ts, e->filtered, e->filtered == 1 ? " was" : "s were");
	mt_notice(f->rj, j->shown, 0, msg);
}

static void emitted(struct mt_fetcher *f, struct job *j, const struct mt_emit *e)
{
	if (copy_out(f->scratch, f->out, !e->unsorted) < 0)
		f->io_failed = 1;
	f->st.readings += e->readings;
	f->st.skipped += e->skipped;
	f->st.filtered += e->filtered;
	if (e->readings > 0 && (!j->has_cursor || e->last > j->cursor)) {
		j->new_cursor = e->last;
		j->advanced = 1;
	}
	if (e->readings == 0 && e->filtered > 0 && j->has_cursor && !f->o->has_since)
		held_back(f, j, e);
}

/* A bad payload is named by where it came from (the configured URL or
 * file, redacted) and by its copy in the archive, which holds the same
 * bytes: the line is the same in both. */
static void payload_failed(struct mt_fetcher *f, struct job *j,
    const struct mt_emit *e, const struct mt_err *err)
{
	char why[sizeof err->msg + 600];

	if (strcmp(e->source, j->shown) == 0) {
		job_failed(f, j, e->source, err->line, err->msg);
		return;
	}
	snprintf(why, sizeof why, "%s (archived as %.500s)", err->msg, e->source);
	job_failed(f, j, j->shown, err->line, why);
}

static void payload(struct mt_fetcher *f, struct job *j, const char *body, size_t n)
{
	const struct mt_fetcher_opts *o = f->o;
	struct mt_emit e;
	struct mt_err err;
	char *name = NULL, ext[16];

	if (j->source == NULL && f->archive != NULL && mt_archive_put(f->archive,
	    j->meter, extension(j, body, n, ext, sizeof ext), f->now, body, n,
	    &name, &err) < 0) {
		f->io_failed = 1;
		job_failed(f, j, err.file, 0, err.msg);
		return;
	}
	e = (struct mt_emit){ .participant = f->participant, .property = j->property,
		.meter = j->meter, .q = j->q, .kind = j->kind, .unit = j->unit,
		.rollover = j->rollover, .calorific = j->calorific, .zone = j->zone,
		.after = j->has_cursor && !o->has_since ? j->cursor : MT_TIME_MIN,
		.since = o->has_since ? o->since : MT_TIME_MIN,
		.until = o->has_until ? o->until : MT_TIME_MAX,
		.prev = MT_TIME_MIN };
	e.source = j->source ? j->source : name ? name : j->shown;
	e.last = e.after;
	if (parse_payload(f, j, &e, body, n, &err) < 0)
		payload_failed(f, j, &e, &err);
	else
		emitted(f, j, &e);
	free(name);
}

/* A participant's file is opened inside its directory without following
 * links, and only when it is a regular file (a FIFO never stalls the run);
 * a file named on the command line is the user's own. */
static void file_job(struct mt_fetcher *f, struct job *j)
{
	struct mt_err err;
	char *body = NULL;
	size_t n = 0;
	int fd;

	if (f->pdir != NULL && !f->o->replay)
		fd = mt_open_inside(f->pdir, j->target, &err);
	else if ((fd = open(j->target, O_RDONLY | O_CLOEXEC)) < 0)
		mt_err_set(&err, j->target, 0, "cannot open: %s", strerror(errno));
	if (fd < 0) {
		job_failed(f, j, j->shown, 0, err.msg);
		return;
	}
	if (mt_read_fd(fd, j->conn.max_size, &body, &n, &err) < 0)
		job_failed(f, j, j->shown, 0, strstr(err.msg, "larger") ?
		    "larger than max-size" : err.msg);
	else
		payload(f, j, body, n);
	close(fd);
	free(body);
}

static void progress(struct mt_fetcher *f, int last)
{
	if (f->h->progress != NULL)
		f->h->progress(f->h->ctx, &f->st, last);
}

static void http_done(void *ctx, struct mt_fetch *req)
{
	struct mt_fetcher *f = ctx;
	struct job *j = req->ctx;
	char why[400];

	if (req->error[0] != '\0') {
		snprintf(why, sizeof why, "%s (after %d attempt%s)", req->error,
		    req->attempts, req->attempts == 1 ? "" : "s");
		job_failed(f, j, j->shown, 0, why);
	} else {
		payload(f, j, req->body ? req->body : "", req->len);
	}
	free(req->body);
	req->body = NULL;
	f->st.done++;
	progress(f, 0);
}

/* A header's value: from the operator's secrets file for the participant
 * when there is one (--secrets), else from the environment.  A missing
 * one fails the meter and names the variable, never a value. */
static const char *secret(struct mt_fetcher *f, struct job *j,
    const struct mt_header *h)
{
	const char *v = f->secrets ? mt_secrets_get(f->secrets, h->env) : getenv(h->env);
	char why[400];

	if (v != NULL && !mt_has_control(v))
		return v;
	if (v != NULL) {
		/* a line break would end the header and start another */
		snprintf(why, sizeof why, "%s holds a control character (header %s)",
		    h->env, h->name);
		job_failed(f, j, j->shown, 0, why);
		return NULL;
	}
	if (f->secrets)
		snprintf(why, sizeof why, "%s is not in the secrets file %s (header %s)",
		    h->env, f->o->secrets, h->name);
	else
		snprintf(why, sizeof why, "environment variable %s is not set "
		    "(header %s)", h->env, h->name);
	job_failed(f, j, j->shown, 0, why);
	return NULL;
}

/* netrc and ca-file of a participant: opened inside its directory without
 * links, and handed to libcurl as the open file itself. */
static char *own_file(struct mt_fetcher *f, struct job *j, const char *rel, int *fd)
{
	struct mt_err err;
	char path[64];

	if (f->pdir == NULL)
		return mt_xstrdup(rel);
	if ((*fd = mt_open_inside(f->pdir, rel, &err)) < 0) {
		job_failed(f, j, j->shown, 0, err.msg);
		return NULL;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", *fd);
	return mt_xstrdup(path);
}

static int prepare_http(struct mt_fetcher *f, struct job *j)
{
	const struct mt_conn *c = &j->conn;

	j->headers = mt_xcalloc(c->nheaders + 1, sizeof *j->headers);
	for (size_t i = 0; i < c->nheaders; i++) {
		const struct mt_header *h = &c->headers[i];
		const char *v = secret(f, j, h);
		size_t n;
		if (v == NULL)
			return -1;
		n = strlen(h->name) + strlen(h->prefix ? h->prefix : "") + strlen(v) + 3;
		j->headers[i] = mt_xmalloc(n);
		snprintf(j->headers[i], n, "%s: %s%s", h->name, h->prefix ? h->prefix : "", v);
	}
	if ((c->netrc && (j->netrc = own_file(f, j, c->netrc, &j->fds[0])) == NULL) ||
	    (c->ca_file && (j->ca_file = own_file(f, j, c->ca_file, &j->fds[1])) == NULL))
		return -1;
	j->fetch = (struct mt_fetch){ .url = j->target, .headers = j->headers,
		.netrc = j->netrc, .ca_file = j->ca_file,
		.connect_timeout_ms = c->connect_timeout_ms, .timeout_ms = c->timeout_ms,
		.max_size = c->max_size, .retries = c->retries, .ctx = j };
	return 0;
}

int mt_fetcher_run(struct mt_fetcher *f, FILE *out, struct mt_err *err)
{
	const struct mt_fetcher_opts *o = f->o;
	struct mt_fetch **reqs = mt_xcalloc(f->njobs, sizeof *reqs);
	/* a participant's connections may not reach the platform's
	 * neighbourhood; URLs of the command line are the user's own */
	struct mt_http_opts ho = { o->parallel, f->cfg ? o->allow : NULL,
		o->retry_base, o->retry_max };
	size_t n = 0;
	int rc = 0;

	f->out = out;
	for (size_t i = 0; i < f->njobs; i++) {
		struct job *j = &f->jobs[i];
		if (!j->is_http || o->replay) {
			file_job(f, j);
			f->st.done++;
			progress(f, 0);
		} else if (prepare_http(f, j) == 0) {
			reqs[n++] = &j->fetch;
		} else {
			f->st.done++;
		}
	}
	if (n > 0 && mt_http_fetch_all(reqs, n, &ho, http_done, f, err) < 0)
		rc = -1;
	free(reqs);
	progress(f, 1);
	return rc;
}

int mt_fetcher_commit(struct mt_fetcher *f, struct mt_err *err)
{
	int moved = 0;

	if (f->cursors == NULL)
		return 0;
	for (size_t i = 0; i < f->njobs; i++)
		if (f->jobs[i].advanced && !f->jobs[i].failed) {
			mt_cursor_set(f->cursors, f->jobs[i].meter, f->jobs[i].new_cursor);
			moved = 1;
		}
	if (!moved)
		return 0;
	if (f->archive != NULL && mt_archive_sync(f->archive, err) < 0)
		return -1;
	return mt_cursors_save(f->cursors, f->cursor_path, err);
}

const struct mt_fetcher_stats *mt_fetcher_stats(const struct mt_fetcher *f)
{
	return &f->st;
}

int mt_fetcher_io_failed(const struct mt_fetcher *f)
{
	return f->io_failed;
}
