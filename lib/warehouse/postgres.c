/* postgres.c - the warehouse on PostgreSQL, through libpq: the same
 * tables and views as on SQLite (schema.sql.h, in PostgreSQL's spelling of
 * dialect.sql.h), built to grow past one machine.
 *
 * A load buffers each batch's hours as COPY text and writes them at the
 * batch's commit: COPY into a temporary staging table, then one INSERT ...
 * ON CONFLICT per table, the last record of a key winning as in the input
 * (an idempotent upsert: a re-load replaces, never doubles).  The batch is
 * one transaction: a killed loader leaves the previous state.  Loaders of
 * one participant take its advisory lock for the batch (in id order, so
 * two never wait for each other); loaders of different participants write
 * side by side.  meter_hour and property_hour are partitioned by the month
 * of their hour, each partition made, on a second connection, before the
 * first batch that needs it.  With the citus extension installed, the fact
 * tables are distributed by participant when the schema is made. */
#define _POSIX_C_SOURCE 200809L
#define MT_SQL_POSTGRES
#include "backend.h"
#include "zones.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "schema.sql.h"
#include "load.sql.h"
#include "queries.sql.h"

#define TEXTOID 25
/* advisory lock keys: the schema's migrations, the partitions' creation */
#define LOCK_SCHEMA "7315400001"
#define LOCK_PARTITIONS "7315400002"

struct buf {
	char *s;
	size_t len, cap;
};

/* A batch's keys of one fact table: whether one came twice, its series
 * (participant, meter or property, quantity) as COPY text, and its first
 * and last hour. */
struct keyset {
	struct mt_map *keys, *series;
	struct buf copy;
	int repeat;
	char lo[32], hi[32];
};

struct pg_db {
	struct mt_db base;               /* first: the backend's table */
	PGconn *c, *ddl;
	char *name;                      /* the URI, for messages */
	struct mt_zones zones;
	struct buf mh, ph;               /* the batch's rows, as COPY text */
	long nmh, nph;
	struct keyset mh_keys, ph_keys;  /* the batch's keys of each */
	struct mt_map *zone_versions;    /* participant -> its row's version
	                                  * when this transaction first read it */
	struct mt_map *cached_versions;  /* participant -> the version its
	                                  * cached zones were read at */
	struct mt_map *who;              /* participants of the batch */
	char **whos;
	size_t nwho;
	struct mt_map *parts;            /* months with partitions */
	char **months;                   /* the batch's, to make */
	size_t nmonths;
	char lo[32], hi[32];             /* the hours to judge */
	int in_tx;
};

#define PG(base) ((struct pg_db *)(base))

/* ---- text ---- */

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = mt_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A COPY text field: NULL as \N, the separators and backslash escaped. */
static void field(struct buf *b, const char *s, int last)
{
	if (s == NULL)
		put(b, "\\N", 2);
	for (; s != NULL && *s; s++) {
		const char *e = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" :
		    *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : NULL;
		put(b, e ? e : s, e ? 2 : 1);
	}
	put(b, last ? "\n" : "\t", 1);
}

static void num_field(struct buf *b, double v)
{
	char n[40];

	mt_format_double(n, sizeof n, v);
	field(b, n, 0);
}

static void long_field(struct buf *b, long v)
{
	char n[24];

	snprintf(n, sizeof n, "%ld", v);
	field(b, v < 0 ? NULL : n, 0);
}

static void keyset_free(struct keyset *k)
{
	mt_map_free(k->keys);
	mt_map_free(k->series);
	free(k->copy.s);
}

static void keyset_reset(struct keyset *k)
{
	mt_map_free(k->keys);
	mt_map_free(k->series);
	k->keys = mt_map_new();
	k->series = mt_map_new();
	k->copy.len = 0;
	k->repeat = 0;
	k->lo[0] = k->hi[0] = '\0';
}

/* A row's key: the series it belongs to, and its hour. */
static void keyset_note(struct keyset *k, const char *participant,
    const char *id, const char *quantity, const char *hour)
{
	size_t lp = strlen(participant), li = strlen(id), lq = strlen(quantity),
	    lh = strlen(hour);
	size_t series = lp + 1 + li + 1 + lq, n = series + 1 + lh;
	char *key = mt_xmalloc(n + 1);

	/* the fields hold no NUL: it separates them */
	memcpy(key, participant, lp + 1);
	memcpy(key + lp + 1, id, li + 1);
	memcpy(key + lp + 1 + li + 1, quantity, lq + 1);
	memcpy(key + series + 1, hour, lh + 1);
	if (mt_map_get(k->keys, key, n) != NULL)
		k->repeat = 1;
	else
		mt_map_put(k->keys, key, n, k);
	if (mt_map_get(k->series, key, series) == NULL) {
		mt_map_put(k->series, key, series, k);
		field(&k->copy, participant, 0);
		field(&k->copy, id, 0);
		field(&k->copy, quantity, 1);
	}
	free(key);
	if (k->lo[0] == '\0' || strcmp(hour, k->lo) < 0)
		snprintf(k->lo, sizeof k->lo, "%s", hour);
	if (strcmp(hour, k->hi) > 0)
		snprintf(k->hi, sizeof k->hi, "%s", hour);
}

/* SQLite's ?N as PostgreSQL's $N (a bare ? numbered in order); the shared
 * SQL holds no ? inside a string. */
static char *dollars(const char *sql)
{
	struct buf b = { 0 };
	int next = 1;

	for (const char *p = sql; *p; p++) {
		char n[16];
		if (*p != '?') {
			put(&b, p, 1);
			continue;
		}
		if (isdigit((unsigned char)p[1])) {
			put(&b, "$", 1);
			continue;
		}
		snprintf(n, sizeof n, "$%d", next++);
		put(&b, n, strlen(n));
	}
	if (b.s == NULL)
		put(&b, "", 0);
	return b.s;
}

/* ---- statements ---- */

static void first_line(char *dst, size_t cap, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	while (n > 0 && isspace((unsigned char)msg[n - 1]))
		n--;
	snprintf(dst, cap, "%.*s", (int)n, msg);
}

static int pg_fail(struct pg_db *db, struct mt_err *err, const char *what,
    const PGresult *r)
{
	char msg[400];

	first_line(msg, sizeof msg, r ? PQresultErrorMessage(r) : PQerrorMessage(db->c));
	if (msg[0] == '\0')
		first_line(msg, sizeof msg, PQerrorMessage(db->c));
	mt_err_set(err, db->name, 0, "%s: %s", what, msg);
	err->status = MT_EXIT_IO;
	return -1;
}

/* Run SQL (statements without parameters, or one with text parameters
 * written ?N); each row to fn when given. */
static int run_on(struct pg_db *db, PGconn *c, const char *sql,
    const char *const *args, int nargs, void (*fn)(void *, PGresult *, int),
    void *ctx, struct mt_err *err)
{
	Oid types[40];
	PGresult *r;
	char *text;
	int ok;

	if (nargs == 0) {
		r = PQexec(c, sql);
	} else {
		for (int i = 0; i < nargs; i++)
			types[i] = TEXTOID;
		text = dollars(sql);
		r = PQexecParams(c, text, nargs, types, args, NULL, NULL, 0);
		free(text);
	}
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok && fn != NULL)
		for (int i = 0; i < PQntuples(r); i++)
			fn(ctx, r, i);
	if (!ok)
		pg_fail(db, err, "query failed", r);
	PQclear(r);
	return ok ? 0 : -1;
}

static int run(struct pg_db *db, const char *sql, const char *const *args,
    int nargs, void (*fn)(void *, PGresult *, int), void *ctx,
    struct mt_err *err)
{
	return run_on(db, db->c, sql, args, nargs, fn, ctx, err);
}

static int exec(struct pg_db *db, const char *sql, struct mt_err *err)
{
	return run(db, sql, NULL, 0, NULL, NULL, err);
}

static void one_text(void *ctx, PGresult *r, int row)
{
	char **out = ctx;

	free(*out);
	*out = PQgetisnull(r, row, 0) ? NULL : mt_xstrdup(PQgetvalue(r, row, 0));
}

/* ---- opening ---- */

/* A password belongs in PGPASSWORD or ~/.pgpass: never in the URI, which
 * shows in process lists and logs. */
static int password_in(const char *uri, struct mt_err *err)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &msg);
	int found = 0;

	if (opts == NULL) {
		char why[300];
		first_line(why, sizeof why, msg ? msg : uri);
		mt_err_set(err, NULL, 0, "not a PostgreSQL URI: %s (postgresql://"
		    "[user@]host[:port]/database)", why);
		PQfreemem(msg);
		err->status = MT_EXIT_USAGE;
		return 1;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val)
			found = 1;
	PQconninfoFree(opts);
	if (found) {
		mt_err_set(err, NULL, 0, "a password in the warehouse URI is refused: "
		    "give it in PGPASSWORD or ~/.pgpass");
		err->status = MT_EXIT_USAGE;
	}
	return found;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *connect_to(const char *uri, const char *shown, struct mt_err *err)
{
	PGconn *c = PQconnectdb(uri);
	char msg[400];

	if (PQstatus(c) != CONNECTION_OK) {
		first_line(msg, sizeof msg, PQerrorMessage(c));
		mt_err_set(err, shown, 0, "cannot connect to the warehouse: %s", msg);
		err->status = MT_EXIT_IO;
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

static void version_of(void *ctx, PGresult *r, int row)
{
	*(int *)ctx = atoi(PQgetvalue(r, row, 0));
}

/* With citus, the fact tables are spread over the workers by participant
 * and the small tables copied to each (create_reference_table); without
 * it nothing happens (meter-warehouse(5), PostgreSQL). */
#define CITUS \
	"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')" \
	" THEN" \
	"  PERFORM create_distributed_table('participant', 'id');" \
	"  PERFORM create_distributed_table(t, 'participant', colocate_with => 'participant')" \
	"   FROM unnest(ARRAY['meter_hour', 'property_hour', 'property_day', 'meter_span'," \
	"   'meter_seen', 'runs', 'property', 'meter', 'contract']) AS t;" \
	"  PERFORM create_reference_table(t) FROM unnest(ARRAY[" \
	"   'calendar_month', 'settings', 'loads', 'meter_schema']) AS t;" \
	" END IF; END $$"

/* The schema to its latest version, once, whoever opens it first: the
 * version is meter_schema's one row, the migrations schema.sql.h's. */
static int migrate(struct pg_db *db, struct mt_err *err)
{
	int v = -1;

	char sql[80];
	int exists = 0;

	/* the common case, a current schema, takes no lock */
	if (run(db, "SELECT CAST(to_regclass('meter_schema') IS NOT NULL AS integer)",
	    NULL, 0, version_of, &exists, err) < 0 || (exists &&
	    run(db, "SELECT version FROM meter_schema", NULL, 0, version_of, &v, err) < 0))
		return -1;
	if (v == SCHEMA_LATEST)
		return 0;
	if (exec(db, "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ");"
	    " CREATE TABLE IF NOT EXISTS meter_schema (version integer NOT NULL);"
	    " INSERT INTO meter_schema SELECT 0 WHERE NOT EXISTS"
	    " (SELECT 1 FROM meter_schema)", err) < 0)
		goto fail;
	v = 0;
	if (run(db, "SELECT version FROM meter_schema", NULL, 0, version_of, &v, err) < 0)
		goto fail;
	if (v > SCHEMA_LATEST) {
		mt_err_set(err, db->name, 0, "schema version %d is newer than this "
		    "program knows (%d): use a newer meter", v, SCHEMA_LATEST);
		err->status = MT_EXIT_USAGE;
		goto fail;
	}
	for (int from = v; v < SCHEMA_LATEST; v++)
		if (exec(db, migrations[v], err) < 0 || (v == 0 && from == 0 &&
		    exec(db, CITUS, err) < 0))
			goto fail;
	snprintf(sql, sizeof sql, "UPDATE meter_schema SET version = %d", SCHEMA_LATEST);
	if (exec(db, sql, err) < 0 || exec(db, "COMMIT", err) < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(db->c, "ROLLBACK"));
	return -1;
}

static void pg_close(struct mt_db *base)
{
	struct pg_db *db = PG(base);

	if (db->c != NULL)
		PQfinish(db->c);
	if (db->ddl != NULL)
		PQfinish(db->ddl);
	mt_zones_free(&db->zones);
	free(db->mh.s);
	free(db->ph.s);
	keyset_free(&db->mh_keys);
	keyset_free(&db->ph_keys);
	for (size_t i = 0; i < db->nwho; i++)
		free(db->whos[i]);
	free(db->whos);
	mt_map_free(db->who);
	for (size_t i = 0; i < db->nmonths; i++)
		free(db->months[i]);
	free(db->months);
	mt_map_free(db->parts);
	mt_map_free(db->zone_versions);
	mt_map_free(db->cached_versions);
	free(db->name);
	free(db);
}

/* The records are UTF-8; a database of another encoding would keep them
 * as something else, or refuse some. */
static int utf8_database(struct pg_db *db, struct mt_err *err)
{
	char *enc = NULL;
	int ok;

	if (run(db, "SHOW server_encoding", NULL, 0, one_text, &enc, err) < 0)
		return -1;
	ok = enc != NULL && strcmp(enc, "UTF8") == 0;
	if (!ok) {
		mt_err_set(err, db->name, 0, "the database's encoding is %s, not "
		    "UTF8: make the warehouse with CREATE DATABASE ... ENCODING 'UTF8'",
		    enc ? enc : "unknown");
		err->status = MT_EXIT_USAGE;
	}
	free(enc);
	return ok ? 0 : -1;
}

static struct mt_db *open_db(const char *uri, int existing, struct mt_err *err)
{
	struct pg_db *db;
	int tables = 0;

	if (password_in(uri, err))
		return NULL;
	db = mt_xcalloc(1, sizeof *db);
	db->base.be = &mt_postgres_backend;
	db->name = mt_xstrdup(uri);
	mt_zones_init(&db->zones);
	db->who = mt_map_new();
	db->parts = mt_map_new();
	keyset_reset(&db->mh_keys);
	keyset_reset(&db->ph_keys);
	db->zone_versions = mt_map_new();
	db->cached_versions = mt_map_new();
	if ((db->c = connect_to(uri, db->name, err)) == NULL ||
	    exec(db, "SET TimeZone = 'UTC'; SET client_min_messages = warning;"
	    " SET client_encoding = 'UTF8'", err) < 0 || utf8_database(db, err) < 0)
		goto fail;
	if (existing) {
		if (run(db, "SELECT count(*) FROM pg_class WHERE relname IN"
		    " ('meter_schema', 'meter_hour', 'property_hour')"
		    " AND pg_table_is_visible(oid)", NULL, 0, version_of, &tables, err) < 0)
			goto fail;
		if (tables < 3) {
			mt_err_set(err, db->name, 0, "not a meter warehouse (no meter "
			    "tables in it): give the database meter-load or meter-hourly "
			    "writes");
			err->status = MT_EXIT_USAGE;
			goto fail;
		}
	}
	if (migrate(db, err) < 0)
		goto fail;
	return &db->base;
fail:
	pg_close(&db->base);
	return NULL;
}

static struct mt_db *pg_open(const char *uri, struct mt_err *err)
{
	return open_db(uri, 0, err);
}

static struct mt_db *pg_open_existing(const char *uri, struct mt_err *err)
{
	return open_db(uri, 1, err);
}

/* ---- reading ---- */

static int pg_read_begin(struct mt_db *base, struct mt_err *err)
{
	struct pg_db *db = PG(base);

	db->in_tx = 1;
	return exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

static int pg_select(struct mt_db *base, const char *sql,
    const char *const *params, int nparams, mt_db_row_fn fn, void *ctx,
    struct mt_err *err)
{
	struct pg_db *db = PG(base);
	Oid types[40];
	char *text = dollars(sql);
	PGresult *r;
	const char **cols;
	int n;

	for (int i = 0; i < nparams && i < 40; i++)
		types[i] = TEXTOID;
	r = PQexecParams(db->c, text, nparams, types, (const char *const *)params,
	    NULL, NULL, 0);
	free(text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(db, err, "query failed", r);
		PQclear(r);
		return -1;
	}
	n = PQnfields(r);
	cols = mt_xcalloc((size_t)n + 1, sizeof *cols);
	for (int i = 0; i < n; i++)
		cols[i] = PQfname(r, i);
	if (fn(ctx, n, NULL, cols) < 0)
		n = 0;
	for (int row = 0; n > 0 && row < PQntuples(r); row++) {
		for (int i = 0; i < n; i++)
			cols[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
		if (fn(ctx, n, cols, NULL) < 0)
			break;
	}
	free(cols);
	PQclear(r);
	return 0;
}

/* ---- a batch ---- */

static void forget_batch(struct pg_db *db)
{
	db->mh.len = db->ph.len = 0;
	db->nmh = db->nph = 0;
	keyset_reset(&db->mh_keys);
	keyset_reset(&db->ph_keys);
	for (size_t i = 0; i < db->nwho; i++)
		free(db->whos[i]);
	db->nwho = 0;
	mt_map_free(db->who);
	db->who = mt_map_new();
	for (size_t i = 0; i < db->nmonths; i++)
		free(db->months[i]);
	db->nmonths = 0;
}

static int pg_begin(struct mt_db *base, struct mt_err *err)
{
	struct pg_db *db = PG(base);

	/* a configuration loaded meanwhile by another process may have moved
	 * a property: each participant's version is read again (property_zone) */
	mt_map_free(db->zone_versions);
	db->zone_versions = mt_map_new();
	forget_batch(db);
	db->in_tx = 1;
	return exec(db, "BEGIN", err);
}

static void pg_rollback(struct mt_db *base)
{
	struct pg_db *db = PG(base);

	forget_batch(db);
	if (db->in_tx)
		PQclear(PQexec(db->c, "ROLLBACK"));
	db->in_tx = 0;
	/* what the transaction noted went with it */
	db->lo[0] = db->hi[0] = '\0';
}

static void note_participant(struct pg_db *db, const char *id)
{
	size_t n = strlen(id);

	if (mt_map_get(db->who, id, n) != NULL)
		return;
	db->whos = mt_xrealloc(db->whos, (db->nwho + 1) * sizeof *db->whos);
	db->whos[db->nwho++] = mt_xstrdup(id);
	mt_map_put(db->who, id, n, db);
}

static void note_month(struct pg_db *db, const char *hour)
{
	if (mt_map_get(db->parts, hour, 7) != NULL)
		return;
	mt_map_put(db->parts, hour, 7, db);
	db->months = mt_xrealloc(db->months, (db->nmonths + 1) * sizeof *db->months);
	db->months[db->nmonths++] = mt_xstrndup(hour, 7);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The second connection, for what must not wait on (or hold up) the
 * load's own transaction. */
static int ddl_connection(struct pg_db *db, struct mt_err *err)
{
	if (db->ddl == NULL && (db->ddl = connect_to(db->name, db->name, err)) == NULL)
		return -1;
	return 0;
}

/* The month partitions the batch needs, made on the second connection and
 * committed at once: a partition is made under a lock of the whole table,
 * which a batch of this connection must not be holding. */
static int make_partitions(struct pg_db *db, struct mt_err *err)
{
	struct buf sql = { 0 };
	PGresult *r;
	int ok;

	if (db->nmonths == 0)
		return 0;
	if (ddl_connection(db, err) < 0)
		return -1;
	put(&sql, "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_PARTITIONS ");",
	    strlen("BEGIN; SELECT pg_advisory_xact_lock(" LOCK_PARTITIONS ");"));
	for (size_t i = 0; i < db->nmonths; i++) {
		const char *m = db->months[i];
		int y = atoi(m), mo = atoi(m + 5);
		char next[32], one[512];
		snprintf(next, sizeof next, "%04d-%02d", mo == 12 ? y + 1 : y,
		    mo == 12 ? 1 : mo + 1);
		for (int t = 0; t < 2; t++) {
			const char *table = t ? "property_hour" : "meter_hour";
			snprintf(one, sizeof one, " CREATE TABLE IF NOT EXISTS %s_%.4s_%.2s"
			    " PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s');", table, m,
			    m + 5, table, m, next);
			put(&sql, one, strlen(one));
		}
	}
	put(&sql, " COMMIT", 7);
	r = PQexec(db->ddl, sql.s);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		char msg[400];
		first_line(msg, sizeof msg, PQresultErrorMessage(r));
		mt_err_set(err, db->name, 0, "cannot make a month's partitions: %s", msg);
		err->status = MT_EXIT_IO;
		PQclear(PQexec(db->ddl, "ROLLBACK"));
		mt_map_free(db->parts);     /* tried again by the next batch */
		db->parts = mt_map_new();
	}
	PQclear(r);
	free(sql.s);
	return ok ? 0 : -1;
}

/* Loaders of one participant wait for each other, batch by batch; taken
 * in id order, so that two batches of the same participants never wait
 * for each other both. */
static int lock_participants(struct pg_db *db, struct mt_err *err)
{
	qsort(db->whos, db->nwho, sizeof *db->whos, by_text);
	for (size_t i = 0; i < db->nwho; i++) {
		const char *a[] = { db->whos[i] };
		if (run(db, "SELECT pg_advisory_xact_lock(hashtextextended("
		    "'meter participant ' || ?1, 0))", a, 1, NULL, NULL, err) < 0)
			return -1;
	}
	return 0;
}

static int copy_in(struct pg_db *db, const char *sql, const struct buf *b,
    struct mt_err *err)
{
	PGresult *r = PQexec(db->c, sql);

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(db, err, "cannot copy", r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (PQputCopyData(db->c, b->s, (int)b->len) != 1 || PQputCopyEnd(db->c, NULL) != 1)
		return pg_fail(db, err, "cannot copy", NULL);
	r = PQgetResult(db->c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(db, err, "cannot copy", r);
		PQclear(r);
		while ((r = PQgetResult(db->c)) != NULL)
			PQclear(r);
		return -1;
	}
	PQclear(r);
	while ((r = PQgetResult(db->c)) != NULL)
		PQclear(r);
	return 0;
}

#define MH_COLUMNS "participant, property, meter, quantity, hour, value, unit," \
	" quality, coverage"
#define PH_COLUMNS "participant, property, quantity, hour, value, unit, meters," \
	" meters_expected, coverage, quality, timezone, local, month, weekday," \
	" local_hour, holiday, office_hours, outside_temp_c, area_m2, kwh_per_m2," \
	" co2_kg, temp_delta_c, hdd, cdd"

/* Whether the batch's rows meet a stored hour of their series (join: the
 * table as t joined to the batch's series, over the batch's hours): when
 * they do not (new hours, each key once in the batch) they are
 * inserted without an upsert, which takes half its time.  Asked under the
 * participants' locks, which every writer of the fact tables takes. */
static int meets_stored(struct pg_db *db, const struct keyset *k, const char *join,
    int *stored, struct mt_err *err)
{
	const char *a[] = { k->lo, k->hi };
	char sql[300], *v = NULL;

	if (k->repeat) {
		*stored = 1;
		return 0;
	}
	snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM %s"
	    " WHERE t.hour BETWEEN ?1 AND ?2)", join);
	if (run(db, sql, a, 2, one_text, &v, err) < 0)
		return -1;
	*stored = v == NULL || strcmp(v, "f") != 0;
	free(v);
	return 0;
}

/* The batch's meter hours: the last of each key wins, as in the input
 * (stage_mh's seq numbers the rows in copy order); the meters and hours
 * written are kept for judging. */
static int write_meter_hours(struct pg_db *db, struct mt_err *err)
{
	int stored;

	if (db->nmh == 0)
		return 0;
	if (exec(db, "CREATE TEMP TABLE IF NOT EXISTS stage_mh (LIKE meter_hour,"
	    " seq bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DELETE ROWS;"
	    " CREATE TEMP TABLE IF NOT EXISTS batch_meter (participant text,"
	    " meter text, quantity text) ON COMMIT DELETE ROWS;" SQL_JUDGED_TABLE, err) < 0 ||
	    copy_in(db, "COPY batch_meter FROM STDIN", &db->mh_keys.copy, err) < 0 ||
	    exec(db, "INSERT INTO judged (participant, meter, quantity)"
	    " SELECT * FROM batch_meter ON CONFLICT DO NOTHING",
	    err) < 0 || meets_stored(db, &db->mh_keys, "meter_hour t JOIN batch_meter"
	    " USING (participant, meter, quantity)", &stored, err) < 0)
		return -1;
	if (db->lo[0] == '\0' || strcmp(db->mh_keys.lo, db->lo) < 0)
		snprintf(db->lo, sizeof db->lo, "%s", db->mh_keys.lo);
	if (strcmp(db->mh_keys.hi, db->hi) > 0)
		snprintf(db->hi, sizeof db->hi, "%s", db->mh_keys.hi);
	if (!stored)
		return copy_in(db, "COPY meter_hour (" MH_COLUMNS ") FROM STDIN", &db->mh, err);
	return copy_in(db, "COPY stage_mh (" MH_COLUMNS ") FROM STDIN", &db->mh, err) < 0 ||
	    exec(db, "INSERT INTO meter_hour (" MH_COLUMNS ")"
	    " SELECT DISTINCT ON (hour, participant, meter, quantity) " MH_COLUMNS
	    " FROM stage_mh ORDER BY hour, participant, meter, quantity, seq DESC"
	    " ON CONFLICT (hour, participant, meter, quantity) DO UPDATE SET"
	    " property = excluded.property, value = excluded.value,"
	    " unit = excluded.unit, quality = excluded.quality,"
	    " coverage = excluded.coverage, suspect = NULL"
	    /* an hour loaded again as it was is not written again: judging
	     * clears and sets the flags of every loaded hour anyway */
	    " WHERE (meter_hour.property, meter_hour.value, meter_hour.unit,"
	    " meter_hour.quality, meter_hour.coverage) IS DISTINCT FROM"
	    " (excluded.property, excluded.value, excluded.unit, excluded.quality,"
	    " excluded.coverage)", err) < 0 ? -1 : 0;
}

/* The batch's property hours, and the days of their energy quantities
 * rolled up again from every hour of those days.  No zone's offset since
 * 1900 has left -12 to +14 hours, so a local day's hours lie within 50
 * hours of any of them: the batch's hours widened by that bound the scan
 * for its days to the partitions and keys around them, not the whole
 * table. */
#define DAY_REACH_MS (50 * 3600000LL)
static int roll_up_days(struct pg_db *db, struct mt_err *err)
{
	char lo[32], hi[32];
	const char *around[] = { lo, hi };
	enum mt_tsform form;
	mt_time_t first, last;

	if (mt_time_parse(db->ph_keys.lo, strlen(db->ph_keys.lo), &first, &form, err) < 0 ||
	    mt_time_parse(db->ph_keys.hi, strlen(db->ph_keys.hi), &last, &form, err) < 0)
		return -1;
	mt_time_format(lo, first - DAY_REACH_MS);
	mt_time_format(hi, last + DAY_REACH_MS);
	return exec(db, "CREATE TEMP TABLE IF NOT EXISTS touched_day (participant text,"
	    "  property text, quantity text, local_date text, month text)"
	    "  ON COMMIT DELETE ROWS;"
	    " INSERT INTO touched_day SELECT DISTINCT participant, property, quantity,"
	    "  substr(local, 1, 10), month FROM stage_ph WHERE quantity IN " MT_ENERGY ";"
	    " ANALYZE touched_day;"
	    " DELETE FROM property_day d USING touched_day t"
	    "  WHERE d.participant = t.participant AND d.property = t.property"
	    "  AND d.quantity = t.quantity AND d.local_date = t.local_date", err) < 0 ||
	    run(db, "INSERT INTO property_day SELECT" MT_DAY_FIGURES("true")
	    " FROM property_hour ph WHERE ph.hour BETWEEN ?1 AND ?2"
	    "  AND (ph.participant, ph.property, ph.quantity,"
	    "  ph.month, substr(ph.local, 1, 10)) IN (SELECT participant, property,"
	    "  quantity, month, local_date FROM touched_day)" MT_DAY_GROUP,
	    around, 2, NULL, NULL, err) < 0 ? -1 : 0;
}

/* The batch's property hours (the last of each key wins, as for meter
 * hours), then their days. */
static int write_property_hours(struct pg_db *db, struct mt_err *err)
{
	int stored;

	if (db->nph == 0)
		return 0;
	if (exec(db, "CREATE TEMP TABLE IF NOT EXISTS stage_ph (LIKE property_hour,"
	    " seq bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DELETE ROWS;"
	    " CREATE TEMP TABLE IF NOT EXISTS batch_property (participant text,"
	    " property text, quantity text) ON COMMIT DELETE ROWS", err) < 0 ||
	    copy_in(db, "COPY stage_ph (" PH_COLUMNS ") FROM STDIN", &db->ph, err) < 0 ||
	    copy_in(db, "COPY batch_property FROM STDIN", &db->ph_keys.copy, err) < 0 ||
	    meets_stored(db, &db->ph_keys, "property_hour t JOIN batch_property"
	    " USING (participant, property, quantity)", &stored, err) < 0)
		return -1;
	if (exec(db, stored ? "INSERT INTO property_hour (" PH_COLUMNS ")"
	    " SELECT DISTINCT ON (hour, participant, property, quantity) " PH_COLUMNS
	    " FROM stage_ph ORDER BY hour, participant, property, quantity, seq DESC"
	    " ON CONFLICT (hour, participant, property, quantity) DO UPDATE SET"
	    " value = excluded.value, unit = excluded.unit, meters = excluded.meters,"
	    " meters_expected = excluded.meters_expected, coverage = excluded.coverage,"
	    " quality = excluded.quality, timezone = excluded.timezone,"
	    " local = excluded.local, month = excluded.month,"
	    " weekday = excluded.weekday, local_hour = excluded.local_hour,"
	    " holiday = excluded.holiday, office_hours = excluded.office_hours,"
	    " outside_temp_c = excluded.outside_temp_c, area_m2 = excluded.area_m2,"
	    " kwh_per_m2 = excluded.kwh_per_m2, co2_kg = excluded.co2_kg,"
	    " temp_delta_c = excluded.temp_delta_c, hdd = excluded.hdd,"
	    " cdd = excluded.cdd"
	    /* an hour loaded again as it was is not written again */
	    " WHERE (property_hour.*) IS DISTINCT FROM (excluded.*)" :
	    "INSERT INTO property_hour (" PH_COLUMNS ") SELECT " PH_COLUMNS
	    " FROM stage_ph", err) < 0)
		return -1;
	return roll_up_days(db, err);
}

struct zone_read {
	char name[64];
	unsigned long version;           /* the participant row's xmin + 2 */
};

static void zone_row(void *ctx, PGresult *r, int row)
{
	struct zone_read *z = ctx;

	if (!PQgetisnull(r, row, 0))
		snprintf(z->name, sizeof z->name, "%s", PQgetvalue(r, row, 0));
	if (!PQgetisnull(r, row, 1))
		z->version = strtoul(PQgetvalue(r, row, 1), NULL, 10) + 2;
}

struct recheck {
	struct pg_db *db;
	struct mt_err *err;
	char **moved;                    /* participants whose zones moved */
	size_t n;
	int failed;
};

/* A participant's configuration version: its row's xmin + 2, 1 when it
 * has no row (never 0, which a map cannot tell from absent). */
static int read_version(struct pg_db *db, const char *participant,
    uintptr_t *version, struct mt_err *err)
{
	struct zone_read z = { "", 1 };
	const char *a[] = { participant };

	if (run(db, "SELECT NULL, CAST(xmin AS text) FROM participant WHERE id = ?1",
	    a, 1, zone_row, &z, err) < 0)
		return -1;
	*version = z.version;
	return 0;
}

static void recheck_one(void *ctx, const char *key, size_t klen, void *val)
{
	struct recheck *rc = ctx;
	char *id = mt_xstrndup(key, klen);
	uintptr_t version;

	if (!rc->failed && read_version(rc->db, id, &version, rc->err) < 0)
		rc->failed = 1;
	if (!rc->failed && version != (uintptr_t)val) {
		rc->moved = mt_xrealloc(rc->moved, (rc->n + 1) * sizeof *rc->moved);
		rc->moved[rc->n++] = id;
		return;
	}
	free(id);
}

static int relocalize(struct pg_db *db, const char *participant,
    struct mt_err *err);

/* A configuration committed between the batch's reading of its zones and
 * its lock moved some of its property hours' local calendar: those
 * participants' hours are made local again, as the configuration's own
 * load would have made them. */
static int relocalize_moved(struct pg_db *db, struct mt_err *err)
{
	struct recheck rc = { db, err, NULL, 0, 0 };

	mt_map_each(db->zone_versions, recheck_one, &rc);
	for (size_t i = 0; i < rc.n; i++) {
		if (!rc.failed && relocalize(db, rc.moved[i], err) < 0)
			rc.failed = 1;
		free(rc.moved[i]);
	}
	free(rc.moved);
	return rc.failed ? -1 : 0;
}

static int flush(struct pg_db *db, struct mt_err *err)
{
	int rc;

	if (db->nmh == 0 && db->nph == 0)
		return 0;
	rc = make_partitions(db, err) < 0 || lock_participants(db, err) < 0 ||
	    write_meter_hours(db, err) < 0 || write_property_hours(db, err) < 0 ||
	    relocalize_moved(db, err) < 0 ? -1 : 0;
	forget_batch(db);
	return rc;
}

/* COMMIT of a transaction an error aborted answers ROLLBACK, and OK: a
 * commit is one only when the server says COMMIT. */
static int pg_commit(struct mt_db *base, struct mt_err *err)
{
	struct pg_db *db = PG(base);
	PGresult *r;
	int ok;

	if (flush(db, err) < 0)
		return -1;
	r = PQexec(db->c, "COMMIT");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
	if (!ok && PQresultStatus(r) == PGRES_COMMAND_OK) {
		mt_err_set(err, db->name, 0, "the transaction was rolled back: a "
		    "statement in it failed");
		err->status = MT_EXIT_IO;
	} else if (!ok) {
		pg_fail(db, err, "cannot commit", r);
	}
	PQclear(r);
	db->in_tx = 0;
	return ok ? 0 : -1;
}

static int pg_put_meter_hour(struct mt_db *base, const struct mt_meter_hour *h,
    struct mt_err *err)
{
	struct pg_db *db = PG(base);
	struct buf *b = &db->mh;
	char hour[32];

	(void)err;
	mt_time_format(hour, h->hour);
	note_participant(db, h->participant);
	note_month(db, hour);
	keyset_note(&db->mh_keys, h->participant, h->meter, h->q->name, hour);
	field(b, h->participant, 0);
	field(b, h->property, 0);
	field(b, h->meter, 0);
	field(b, h->q->name, 0);
	field(b, hour, 0);
	num_field(b, h->value);
	field(b, h->unit, 0);
	field(b, mt_quality_name(h->quality), 0);
	num_field(b, h->coverage);
	b->s[b->len - 1] = '\n';
	db->nmh++;
	return 0;
}

/* ---- property hours: the local calendar ---- */

static void copy_version(void *ctx, const char *key, size_t klen, void *val)
{
	mt_map_put(ctx, key, klen, val);
}

/* The version of a participant's configuration, once a transaction: the
 * zones cached from an older one are read again.  Read before the
 * participant's lock is taken (at the batch's flush), it is checked again
 * under the lock (relocalize_moved). */
static int participant_version(struct pg_db *db, const char *participant,
    struct mt_err *err)
{
	size_t n = strlen(participant);
	uintptr_t version;
	void *cached;

	if (mt_map_get(db->zone_versions, participant, n) != NULL)
		return 0;
	if (read_version(db, participant, &version, err) < 0)
		return -1;
	mt_map_put(db->zone_versions, participant, n, (void *)version);
	cached = mt_map_get(db->cached_versions, participant, n);
	if (cached != NULL && (uintptr_t)cached != version) {
		/* the zones read again are of the versions this transaction
		 * read: the other participants' cached versions become those */
		mt_zones_forget_properties(&db->zones);
		mt_map_free(db->cached_versions);
		db->cached_versions = mt_map_new();
		mt_map_each(db->zone_versions, copy_version, db->cached_versions);
	}
	mt_map_put(db->cached_versions, participant, n, (void *)version);
	return 0;
}

/* A property's zone: its own, else its participant's, else UTC. */
static struct mt_tz *property_zone(struct pg_db *db, const char *participant,
    const char *property, struct mt_err *err)
{
	struct mt_tz *tz;
	const char *a[] = { participant, property };
	struct zone_read z = { "UTC", 1 };

	if (participant_version(db, participant, err) < 0)
		return NULL;
	if ((tz = mt_zones_of_property(&db->zones, participant, property)) != NULL)
		return tz;
	if (run(db, "SELECT coalesce(p.timezone, pa.timezone), NULL"
	    " FROM participant pa LEFT JOIN property p ON p.participant = pa.id"
	    " AND p.id = ?2 WHERE pa.id = ?1", a, 2, zone_row, &z, err) < 0)
		return NULL;
	if ((tz = mt_zones_named(&db->zones, z.name, err)) != NULL)
		mt_zones_set_property(&db->zones, participant, property, tz);
	return tz;
}

static int record_month(struct pg_db *db, const struct mt_tz *tz,
    const char *month, struct mt_err *err)
{
	long hours = mt_zones_new_month(&db->zones, tz, month);
	char n[24];
	const char *a[] = { tz->name, month, n };

	if (hours == 0)
		return 0;
	snprintf(n, sizeof n, "%ld", hours);
	/* committed at once on the second connection: a fact of the calendar,
	 * true whether the load commits or not, and a row another load's
	 * open transaction waited on could close a cycle through that load's
	 * partition-making connection that the server cannot see */
	return ddl_connection(db, err) < 0 ? -1 : run_on(db, db->ddl,
	    "INSERT INTO calendar_month VALUES (?1, ?2, CAST(?3 AS integer))"
	    " ON CONFLICT DO NOTHING", a, 3, NULL, NULL, err);
}

/* An optional context field of an enriched record, as SQLite keeps it. */
static void extra_field(struct buf *b, const struct mt_rec *rec, const char *key,
    int integer)
{
	const struct mt_field *f = mt_rec_get(rec, key);

	if (f == NULL || f->type == MT_NULL || f->type == MT_NESTED)
		field(b, NULL, 0);
	else if (f->type == MT_BOOL)
		field(b, f->boolean ? "1" : "0", 0);
	else if (f->type == MT_NUMBER && isfinite(f->num) &&
	    fabs(f->num) <= MT_VALUE_MAX && (!integer || f->num == floor(f->num)))
		integer ? long_field(b, (long)f->num) : num_field(b, f->num);
	else if (f->type == MT_STRING && !integer && strcmp(key, "holiday") == 0)
		field(b, f->str, 0);
	else
		field(b, NULL, 0);
}

static void local_fields(struct buf *b, const struct mt_tz *tz,
    const struct mt_local *lt)
{
	char month[8];

	snprintf(month, sizeof month, "%.7s", lt->text);
	field(b, tz->name, 0);
	field(b, lt->text, 0);
	field(b, month, 0);
	long_field(b, lt->weekday);
	long_field(b, lt->minute / 60);
}

static int pg_put_property_hour(struct mt_db *base,
    const struct mt_property_hour *h, struct mt_err *err)
{
	struct pg_db *db = PG(base);
	struct mt_tz *tz = property_zone(db, h->participant, h->property, err);
	struct buf *b = &db->ph;
	struct mt_local lt;
	char hour[32], month[8];

	if (tz == NULL)
		return -1;
	mt_local_time(tz->zone, h->hour, &lt);
	snprintf(month, sizeof month, "%.7s", lt.text);
	if (record_month(db, tz, month, err) < 0)
		return -1;
	mt_time_format(hour, h->hour);
	note_participant(db, h->participant);
	note_month(db, hour);
	field(b, h->participant, 0);
	field(b, h->property, 0);
	field(b, h->q->name, 0);
	field(b, hour, 0);
	num_field(b, h->value);
	field(b, h->unit, 0);
	long_field(b, h->meters);
	long_field(b, h->meters_expected);
	num_field(b, h->coverage);
	field(b, mt_quality_name(h->quality), 0);
	local_fields(b, tz, &lt);
	for (int i = 0; i < 9; i++)
		extra_field(b, h->rec, mt_db_extras[i], i == 1);
	b->s[b->len - 1] = '\n';
	keyset_note(&db->ph_keys, h->participant, h->property, h->q->name, hour);
	db->nph++;
	return 0;
}

/* ---- judging, stale meters ---- */

struct analyze {
	struct pg_db *db;
	struct mt_err *err;
	int failed;
};

static void analyze_one(void *ctx, PGresult *r, int row)
{
	struct analyze *an = ctx;
	char sql[300];

	snprintf(sql, sizeof sql, "ANALYZE %s", PQgetvalue(r, row, 0));
	if (!an->failed && exec(an->db, sql, an->err) < 0)
		an->failed = 1;
}

/* The partitions changed by a tenth since they were last analysed, as
 * autovacuum would do a little later. */
static int analyze_filled(struct pg_db *db, struct mt_err *err)
{
	struct analyze an = { db, err, 0 };

	return run(db, "SELECT format('%I.%I', schemaname, relname)"
	    " FROM pg_stat_user_tables WHERE schemaname = current_schema()"
	    " AND relname ~ '^(meter|property)_hour_[0-9]{4}_[0-9]{2}$'"
	    " AND n_mod_since_analyze > greatest(1000, n_live_tup / 10)",
	    NULL, 0, analyze_one, &an, err) < 0 || an.failed ? -1 : 0;
}

static int pg_judge_hours(struct mt_db *base, struct mt_err *err)
{
	struct pg_db *db = PG(base);
	char history[32] = "";
	const char *a[4];
	double days = 28;
	char *v = NULL;
	mt_time_t lo;
	enum mt_tsform form;

	if (flush(db, err) < 0)
		return -1;
	if (db->lo[0] == '\0')
		return 0;
	if (run(db, SQL_HISTORY_DAYS, NULL, 0, one_text, &v, err) < 0)
		return -1;
	if (v != NULL)
		days = atof(v);
	free(v);
	if (mt_time_parse(db->lo, strlen(db->lo), &lo, &form, err) < 0)
		return -1;
	mt_time_format(history, lo - (mt_time_t)(days * 86400000.0));
	a[0] = "";
	a[1] = db->lo;
	a[2] = db->hi;
	a[3] = history;
	/* temporary tables are never analysed on their own, and a partition
	 * just filled not yet: without their sizes the planner joins a
	 * million hours to them row by row */
	if (exec(db, "ANALYZE judged", err) < 0 || analyze_filled(db, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof judged_meter_sql / sizeof *judged_meter_sql; i++)
		if (run(db, judged_meter_sql[i], a, 0, NULL, NULL, err) < 0)
			return -1;
	/* ?2 to ?4 only: a first text parameter no statement reads */
	if (run(db, SQL_JUDGED_METER, a, 4, NULL, NULL, err) < 0 ||
	    exec(db, "ANALYZE judged_meter", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof judge_sql / sizeof *judge_sql; i++)
		if (run(db, judge_sql[i], a, 4, NULL, NULL, err) < 0)
			return -1;
	db->lo[0] = db->hi[0] = '\0';
	return exec(db, "TRUNCATE judged", err);
}

struct stale {
	mt_db_stale_fn fn;
	void *ctx;
	int any;
};

static void stale_row(void *ctx, PGresult *r, int row)
{
	struct stale *s = ctx;

	s->any = 1;
	if (atoi(PQgetvalue(r, row, 3)))
		s->fn(s->ctx, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1),
		    PQgetisnull(r, row, 2) ? NULL : PQgetvalue(r, row, 2));
}

static int pg_stale_meters(struct mt_db *base, const char *participant,
    mt_db_stale_fn fn, void *ctx, struct mt_err *err)
{
	struct stale s = { fn, ctx, 0 };
	const char *a[] = { participant };

	if (run(PG(base), SQL_STALE, a, 1, stale_row, &s, err) < 0)
		return -1;
	if (!s.any)
		fn(ctx, NULL, participant, NULL);
	return 0;
}

/* ---- configuration ---- */

static int put_rows(struct pg_db *db, const struct mt_config *cfg,
    struct mt_err *err)
{
	char num[40];

	for (size_t i = 0; i < cfg->ncontracts; i++) {
		const struct mt_contract *c = &cfg->contracts[i];
		const char *a[] = { cfg->id, c->id, NULL };
		if (c->co2_kg_per_kwh >= 0)
			mt_format_double(num, sizeof num, c->co2_kg_per_kwh), a[2] = num;
		if (run(db, "INSERT INTO contract VALUES (?1, ?2, CAST(?3 AS double precision))",
		    a, 3, NULL, NULL, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->nproperties; i++) {
		const struct mt_property_cfg *p = &cfg->properties[i];
		const char *a[] = { cfg->id, p->id, p->name, p->type, NULL, p->region,
			p->timezone };
		if (p->area_m2 > 0)
			mt_format_double(num, sizeof num, p->area_m2), a[4] = num;
		if (run(db, "INSERT INTO property VALUES (?1, ?2, ?3, ?4,"
		    " CAST(?5 AS double precision), ?6, ?7)", a, 7, NULL, NULL, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		const char *a[] = { cfg->id, m->id, m->property, m->q->name,
			m->unit ? m->unit : m->q->unit, m->kind, m->contract,
			m->external ? "1" : "0" };
		if (run(db, "INSERT INTO meter VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		    " CAST(?8 AS integer))", a, 8, NULL, NULL, err) < 0 ||
		    run(db, "INSERT INTO meter_seen VALUES (?1, ?2, " SQL_NOW ")"
		    " ON CONFLICT DO NOTHING", a, 2, NULL, NULL, err) < 0)
			return -1;
	}
	return 0;
}

struct relocal {
	struct pg_db *db;
	const char *participant;
	struct buf b;
	struct mt_err *err;
	int failed;
};

static void relocal_row(void *ctx, PGresult *r, int row)
{
	struct relocal *rl = ctx;
	const char *prop = PQgetvalue(r, row, 0), *hour = PQgetvalue(r, row, 2);
	struct mt_tz *tz;
	struct mt_local lt;
	enum mt_tsform form;
	char month[8];
	mt_time_t t;

	if (rl->failed || (tz = property_zone(rl->db, rl->participant, prop,
	    rl->err)) == NULL || mt_time_parse(hour, strlen(hour), &t, &form,
	    rl->err) < 0) {
		rl->failed = 1;
		return;
	}
	mt_local_time(tz->zone, t, &lt);
	snprintf(month, sizeof month, "%.7s", lt.text);
	if (record_month(rl->db, tz, month, rl->err) < 0) {
		rl->failed = 1;
		return;
	}
	field(&rl->b, prop, 0);
	field(&rl->b, PQgetvalue(r, row, 1), 0);
	field(&rl->b, hour, 0);
	local_fields(&rl->b, tz, &lt);
	rl->b.s[rl->b.len - 1] = '\n';
}

/* The next chunk of a participant's hours from the cursor relocal, made
 * local again: 1 when there was one, 0 at the end, -1 on failure. */
#define RELOCAL_CHUNK "20000"
static int relocalize_chunk(struct pg_db *db, struct relocal *rl)
{
	const char *id[] = { rl->participant };

	rl->b.len = 0;
	if (run(db, "FETCH " RELOCAL_CHUNK " FROM relocal", NULL, 0, relocal_row, rl,
	    rl->err) < 0 || rl->failed)
		return -1;
	if (rl->b.len == 0)
		return 0;
	return copy_in(db, "COPY stage_local FROM STDIN", &rl->b, rl->err) < 0 ||
	    run(db, "UPDATE property_hour ph SET timezone = s.timezone,"
	    " local = s.local, month = s.month, weekday = s.weekday,"
	    " local_hour = s.local_hour FROM stage_local s WHERE ph.participant = ?1"
	    " AND ph.property = s.property AND ph.quantity = s.quantity"
	    " AND ph.hour = s.hour AND (ph.local, ph.timezone) IS DISTINCT FROM"
	    " (s.local, s.timezone)", id, 1, NULL, NULL, rl->err) < 0 ||
	    exec(db, "TRUNCATE stage_local", rl->err) < 0 ? -1 : 1;
}

/* The participant's local calendar again, set-wise: a zone set or changed
 * by this configuration applies to its hours too, and to their days.  Its
 * hours are read through a cursor, a chunk at a time: a participant may
 * hold many millions. */
static int relocalize(struct pg_db *db, const char *participant,
    struct mt_err *err)
{
	struct relocal rl = { db, participant, { 0 }, err, 0 };
	const char *id[] = { participant };
	int rc;

	mt_zones_forget_properties(&db->zones);
	rc = exec(db, "CREATE TEMP TABLE IF NOT EXISTS stage_local (property text,"
	    " quantity text, hour text, timezone text, local text, month text,"
	    " weekday integer, local_hour integer) ON COMMIT DELETE ROWS", err) < 0 ||
	    run(db, "DECLARE relocal NO SCROLL CURSOR FOR SELECT property, quantity,"
	    " hour FROM property_hour WHERE participant = ?1", id, 1, NULL, NULL, err) < 0 ?
	    -1 : 1;
	while (rc > 0)
		rc = relocalize_chunk(db, &rl);
	free(rl.b.s);
	if (rc < 0 || exec(db, "CLOSE relocal", err) < 0 ||
	    run(db, "DELETE FROM property_day WHERE participant = ?1", id, 1, NULL,
	    NULL, err) < 0)
		return -1;
	return run(db, "INSERT INTO property_day" SQL_DAYS_OF_PARTICIPANT, id, 1, NULL,
	    NULL, err);
}

static int pg_put_config(struct mt_db *base, const struct mt_config *cfg,
    struct mt_err *err)
{
	struct pg_db *db = PG(base);
	const char *id[] = { cfg->id }, *pa[] = { cfg->id, cfg->name, cfg->timezone };

	note_participant(db, cfg->id);
	if (lock_participants(db, err) < 0 ||
	    run(db, "DELETE FROM meter WHERE participant = ?1", id, 1, NULL, NULL, err) < 0 ||
	    run(db, "DELETE FROM property WHERE participant = ?1", id, 1, NULL, NULL, err) < 0 ||
	    run(db, "DELETE FROM contract WHERE participant = ?1", id, 1, NULL, NULL, err) < 0 ||
	    run(db, "INSERT INTO participant VALUES (?1, ?2, ?3) ON CONFLICT (id) DO"
	    " UPDATE SET name = excluded.name, timezone = excluded.timezone", pa, 3,
	    NULL, NULL, err) < 0 || put_rows(db, cfg, err) < 0)
		return -1;
	forget_batch(db);
	return relocalize(db, cfg->id, err);
}

/* ---- the load history and runs ---- */

static int pg_log_load(struct mt_db *base, const struct mt_load_log *log,
    struct mt_err *err)
{
	char started[32], finished[32], in[24], loaded[24], rejected[24], secs[40];
	const char *a[] = { started, finished, log->source, in, loaded, rejected, secs };

	mt_time_format(started, log->started);
	mt_time_format(finished, log->finished);
	snprintf(in, sizeof in, "%ld", log->in);
	snprintf(loaded, sizeof loaded, "%ld", log->loaded);
	snprintf(rejected, sizeof rejected, "%ld", log->rejected);
	mt_format_double(secs, sizeof secs, (double)(log->finished - log->started) / 1000);
	return run(PG(base), "INSERT INTO loads (started, finished, source, records_in,"
	    " loaded, rejected, duration_s) VALUES (?1, ?2, ?3, CAST(?4 AS bigint),"
	    " CAST(?5 AS bigint), CAST(?6 AS bigint), CAST(?7 AS double precision))",
	    a, 7, NULL, NULL, err);
}

static int pg_put_run(struct mt_db *base, const struct mt_rec *rec,
    struct mt_err *err)
{
	const char *v[MT_DB_RUN_FIELDS];
	int got = mt_db_run_values(rec, v, err);

	if (got != 0)
		return got;
	return run(PG(base), "INSERT INTO runs VALUES (?1, ?2, ?3, ?4, ?5,"
	    " CAST(?6 AS integer), CAST(?7 AS integer), CAST(?8 AS integer), ?9)"
	    " ON CONFLICT (participant, run) DO UPDATE SET started = excluded.started,"
	    " finished = excluded.finished, status = excluded.status,"
	    " fetched = excluded.fetched, loaded = excluded.loaded,"
	    " rejected = excluded.rejected, message = excluded.message",
	    v, 9, NULL, NULL, err);
}

/* ---- meter hours for meter-aggregate --db ---- */

struct hours {
	const char *participant;
	const struct mt_quantity *q;
	mt_db_hour_fn fn;
	void *ctx;
};

static void hour_row(void *ctx, PGresult *r, int row)
{
	struct hours *hs = ctx;
	struct mt_meter_hour h = {
		.participant = hs->participant, .q = hs->q,
		.property = PQgetisnull(r, row, 0) ? NULL : PQgetvalue(r, row, 0),
		.meter = PQgetvalue(r, row, 1),
		.value = atof(PQgetvalue(r, row, 2)),
		.unit = PQgetvalue(r, row, 3),
		.coverage = atof(PQgetvalue(r, row, 5)),
	};
	const char *hour = PQgetvalue(r, row, 6);
	enum mt_tsform form;

	if (mt_quality_parse(PQgetvalue(r, row, 4), &h.quality) < 0)
		h.quality = MT_ESTIMATED;
	if (mt_time_parse(hour, strlen(hour), &h.hour, &form, NULL) < 0)
		return;
	hs->fn(hs->ctx, &h);
}

static int pg_meter_hours_range(struct mt_db *base, const char *participant,
    const struct mt_quantity *q, mt_time_t from, mt_time_t to, mt_db_hour_fn fn,
    void *ctx, struct mt_err *err)
{
	struct hours hs = { participant, q, fn, ctx };
	char a[32], b[32];
	const char *args[] = { a, b, participant, q->name };

	mt_time_format(a, from);
	mt_time_format(b, to);
	return run(PG(base), "SELECT property, meter, value, unit, quality, coverage,"
	    " hour FROM meter_hour WHERE hour >= ?1 AND hour < ?2 AND participant = ?3"
	    " AND quantity = ?4", args, 4, hour_row, &hs, err);
}

static int pg_meter_hours_at(struct mt_db *base, const char *participant,
    const struct mt_quantity *q, mt_time_t hour, mt_db_hour_fn fn, void *ctx,
    struct mt_err *err)
{
	struct hours hs = { participant, q, fn, ctx };
	char ts[32];
	const char *args[] = { ts, participant, q->name };

	mt_time_format(ts, hour);
	return run(PG(base), "SELECT property, meter, value, unit, quality, coverage,"
	    " hour FROM meter_hour WHERE hour = ?1 AND participant = ?2"
	    " AND quantity = ?3", args, 3, hour_row, &hs, err);
}

const struct mt_db_backend mt_postgres_backend = {
	"PostgreSQL", pg_open, pg_open_existing, pg_close, pg_read_begin, pg_select,
	pg_begin, pg_commit, pg_rollback, pg_put_meter_hour, pg_judge_hours,
	pg_stale_meters, pg_put_property_hour, pg_put_config, pg_meter_hours_range,
	pg_meter_hours_at, pg_log_load, pg_put_run, mt_queries,
};
