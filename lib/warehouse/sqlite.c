/* db.c - the warehouse on SQLite: schema versions, idempotent upserts by
 * natural key, local calendar columns, the load history.
 *
 * WAL journal with synchronous=NORMAL: a killed process never leaves a
 * half-written transaction, and readers (analysts) do not block the
 * loaders.  Writers take the lock with BEGIN IMMEDIATE and wait for each
 * other through the busy timeout, so several loaders share one file. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include "backend.h"
#include "zones.h"
#include "schema.sql.h"
#include "load.sql.h"
#include "queries.sql.h"

#define BUSY_TIMEOUT_MS (10 * 60 * 1000)

struct sq_db {
	struct mt_db base;               /* first: the backend's table */
	sqlite3 *h;
	char *path;
	sqlite3_stmt *put_mh, *put_ph, *put_month, *find_tz, *put_load, *get_mh,
	    *get_range;
	struct mt_zones zones;
	int busy;                        /* the last failure was SQLITE_BUSY */
	struct span *spans;              /* meter hours loaded, per meter */
	size_t nspans;
	struct mt_map *span_index;       /* participant\0meter\0quantity -> + 1 */
	struct span *last_span;
	sqlite3_stmt *roll_day;
	struct day *days;                /* energy days written, to roll up */
	size_t ndays, capdays;
	struct mt_map *day_index;        /* participant\0property\0quantity\0date -> + 1 */
};

/* A local day of a property's energy quantity that a load wrote hours of:
 * property_day is recomputed from its hours before the commit.  from is
 * an hour before its local midnight (the hours from there over 27 hours
 * cover any day, 23 to 25 hours long). */
struct day {
	char *key;
	size_t klen;
	mt_time_t from;
};

/* The hours a load wrote of one meter, to judge for suspects. */
struct span {
	char *participant, *meter, *quantity;
	mt_time_t lo, hi;
};

#define ROLL_NHOURS SQL_ROLL_NHOURS

static int sq_begin(struct mt_db *base, struct mt_err *err);
static int sq_commit(struct mt_db *base, struct mt_err *err);
static void sq_rollback(struct mt_db *base);
static void sq_close(struct mt_db *base);

static void forget_spans(struct sq_db *db);
static void forget_days(struct sq_db *db);
static void bind_text(sqlite3_stmt *st, int i, const char *s);
static int step(struct sq_db *db, sqlite3_stmt *st, struct mt_err *err);

static int db_fail(struct sq_db *db, struct mt_err *err, const char *what)
{
	db->busy = (sqlite3_extended_errcode(db->h) & 0xff) == SQLITE_BUSY;
	mt_err_set(err, db->path, 0, "%s: %s", what, sqlite3_errmsg(db->h));
	return -1;
}

static int exec(struct sq_db *db, const char *sql, struct mt_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		db->busy = (sqlite3_extended_errcode(db->h) & 0xff) == SQLITE_BUSY;
		mt_err_set(err, db->path, 0, "%s", msg ? msg : "SQL error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(struct sq_db *db, int *v, struct mt_err *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read the schema version");
	*v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

/* Migration 7 stores a meter hour's quantity, unit and quality as codes
 * (schema.sql.h): an hour written by hand in another unit than its
 * quantity's canonical one, or of a quantity or quality the programs do
 * not write, has none.  Said before the copy, with the first such hour
 * and what to do, not as the copy's NOT NULL failure. */
static int uncodable_hours(struct sq_db *db, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT count(*) OVER (), printf("
	    "'%.40s/%.40s at %.24s: %.40s in \"%.16s\", quality \"%.24s\"',"
	    " participant, meter, hour, quantity, unit, quality) FROM meter_hour"
	    " WHERE " MT_WH_QUANTITY_CODE_OF("quantity", "unit") " IS NULL OR "
	    MT_WH_QUALITY_CODE_OF("quality") " IS NULL LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read the meter hours");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		mt_err_set(err, db->path, 0, "cannot bring the warehouse to schema "
		    "7: %lld meter hour%s cannot be stored in it, the first %s (a "
		    "meter hour is in its quantity's canonical unit, "
		    "meter-records(5), and measured, interpolated or estimated): "
		    "correct or delete such hours with sqlite3, then open the "
		    "warehouse again", (long long)sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 0) == 1 ? "" : "s",
		    (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return -1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot read the meter hours");
}

/* An index or trigger made by hand on meter_hour would go with the table
 * when it becomes a view: the migration waits until its maker has moved
 * it to meter_hour_store, rather than drop it unasked. */
static int hand_made_on_meter_hour(struct sq_db *db, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT type, name FROM sqlite_master"
	    " WHERE tbl_name = 'meter_hour' AND type IN ('index', 'trigger')"
	    " AND name <> 'meter_hour_suspect' AND sql IS NOT NULL ORDER BY name"
	    " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read the schema");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		mt_err_set(err, db->path, 0, "cannot bring the warehouse to schema "
		    "7, in which meter_hour becomes a view: the %s %.80s, made by "
		    "hand on the table, would go with it; drop it with sqlite3 "
		    "(DROP %s %.80s), open the "
		    "warehouse again, and make it again on meter_hour_store "
		    "(meter-warehouse(5))", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), strcmp((const char *)
		    sqlite3_column_text(st, 0), "index") ? "TRIGGER" : "INDEX",
		    sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return -1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot read the schema");
}

/* Bring the schema to SCHEMA_LATEST under the write lock, so that two
 * loaders creating one warehouse at once do it once. */
static int migrate(struct sq_db *db, struct mt_err *err)
{
	int v;
	char sql[64];

	/* the common case, a current schema, takes no write lock: readers of
	 * the warehouse never wait for a loader */
	if (user_version(db, &v, err) < 0)
		return -1;
	if (v == SCHEMA_LATEST)
		return 0;
	if (sq_begin(&db->base, err) < 0 || user_version(db, &v, err) < 0)
		goto fail;
	if (v > SCHEMA_LATEST) {
		mt_err_set(err, db->path, 0, "schema version %d is newer than this "
		    "program knows (%d): use a newer meter", v, SCHEMA_LATEST);
		err->status = MT_EXIT_USAGE;
		goto fail;
	}
	for (; v < SCHEMA_LATEST; v++)
		if ((v == 6 && (uncodable_hours(db, err) < 0 ||
		    hand_made_on_meter_hour(db, err) < 0)) ||
		    exec(db, migrations[v], err) < 0)
			goto fail;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_LATEST);
	if (exec(db, sql, err) < 0)
		goto fail;
	return sq_commit(&db->base, err);
fail:
	sq_rollback(&db->base);
	return -1;
}

static int prepare(struct sq_db *db, sqlite3_stmt **st, const char *sql,
    struct mt_err *err)
{
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	return 0;
}

static int prepare_all(struct sq_db *db, struct mt_err *err)
{
	return prepare(db, &db->put_mh, "INSERT OR REPLACE INTO meter_hour_store "
	    "(participant, property, meter, quantity_code, hour, value,"
	    " quality_code, coverage) VALUES (?,?,?,?,?,?,?,?)", err) < 0 ||
	    prepare(db, &db->put_ph, "INSERT OR REPLACE INTO property_hour "
	    "(participant, property, quantity, hour, value, unit, meters,"
	    " meters_expected, coverage, quality, timezone, local, month, weekday,"
	    " local_hour, holiday, office_hours, outside_temp_c, area_m2,"
	    " kwh_per_m2, co2_kg, temp_delta_c, hdd, cdd) VALUES "
	    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err) < 0 ||
	    prepare(db, &db->put_month, "INSERT OR IGNORE INTO calendar_month "
	    "(timezone, month, hours) VALUES (?,?,?)", err) < 0 ||
	    prepare(db, &db->find_tz, "SELECT coalesce(p.timezone, pa.timezone) "
	    "FROM participant pa LEFT JOIN property p ON p.participant = pa.id "
	    "AND p.id = ?2 WHERE pa.id = ?1", err) < 0 ||
	    prepare(db, &db->get_mh, "SELECT property, meter, value, unit, quality, "
	    "coverage FROM meter_hour WHERE hour = ? AND participant = ? AND "
	    "quantity = ?", err) < 0 ||
	    prepare(db, &db->get_range, "SELECT property, meter, value, unit, "
	    "quality, coverage, hour FROM meter_hour WHERE hour >= ? AND hour < ? "
	    "AND participant = ? AND quantity = ?", err) < 0 ||
	    prepare(db, &db->roll_day, "INSERT OR REPLACE INTO property_day"
	    SQL_DAY_OF_HOURS, err) < 0 ||
	    prepare(db, &db->put_load, "INSERT INTO loads (started, finished, "
	    "source, records_in, loaded, rejected, duration_s) VALUES "
	    "(?,?,?,?,?,?,?)", err) < 0 ? -1 : 0;
}

/* The journal is WAL for good once a loader has set it; setting it again
 * costs an exclusive lock, so it is only set on a file not in WAL yet. */
static int use_wal(struct sq_db *db, struct mt_err *err)
{
	sqlite3_stmt *st;
	int wal;

	if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot read the journal mode");
	wal = sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (wal)
		return 0;
	return exec(db, "PRAGMA journal_mode = WAL", err);
}

/* A new warehouse is made 0640 whatever the umask (its -wal and -shm
 * files take the same mode from SQLite); a failure is left for SQLite's
 * open to report. */
static void create_file(const char *path)
{
	struct mt_err ignored;
	int fd;

	if (access(path, F_OK) == 0 || errno != ENOENT)
		return;
	if ((fd = mt_create_fd(path, O_RDWR | O_EXCL, &ignored)) >= 0)
		close(fd);
}

static int open_once(struct sq_db *db, struct mt_err *err)
{
	create_file(db->path);
	/* NOMUTEX: the programs use a connection from one thread only, and
	 * the locks SQLite takes around every call otherwise cost a load a
	 * few per cent */
	if (sqlite3_open_v2(db->path, &db->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot open database");
	sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
	if (use_wal(db, err) < 0 || exec(db, "PRAGMA synchronous = NORMAL;"
	    " PRAGMA foreign_keys = OFF;", err) < 0 || migrate(db, err) < 0)
		return -1;
	return prepare_all(db, err);
}

static void close_handle(struct sq_db *db)
{
	sqlite3_stmt **st[] = { &db->put_mh, &db->put_ph, &db->put_month,
		&db->find_tz, &db->put_load, &db->get_mh, &db->get_range,
		&db->roll_day };

	for (size_t i = 0; i < sizeof st / sizeof *st; i++) {
		sqlite3_finalize(*st[i]);
		*st[i] = NULL;
	}
	sqlite3_close(db->h);
	db->h = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep 1, 2, 4 ... 128 ms, plus a jitter from the clock's nanoseconds,
 * so that loaders that collided once do not collide again in step. */
static void backoff(int attempt)
{
	long ms = 1L << (attempt < 7 ? attempt : 7);
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms += ts.tv_nsec % (ms + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	nanosleep(&ts, NULL);
}

/* Opening a warehouse that other programs are creating at the same moment:
 * switching a new file to WAL takes the exclusive lock, and SQLite reports
 * SQLITE_BUSY for it at once, without calling the busy handler (seen: one
 * of twenty loaders started together on a new file failed in a quarter of
 * the tries).  So the whole open is retried with backoff while it fails
 * with BUSY, for as long as the busy timeout that covers every other wait. */
static struct mt_db *sq_open(const char *path, struct mt_err *err)
{
	struct sq_db *db = mt_xcalloc(1, sizeof *db);
	int64_t deadline = now_ms() + BUSY_TIMEOUT_MS;

	db->base.be = &mt_sqlite_backend;
	db->path = mt_xstrdup(path);
	mt_zones_init(&db->zones);
	for (int attempt = 0; open_once(db, err) < 0; attempt++) {
		close_handle(db);
		if (!db->busy || now_ms() >= deadline) {
			sq_close(&db->base);
			return NULL;
		}
		backoff(attempt);
	}
	return &db->base;
}

/* A reader looks before it opens: the file must be a warehouse already
 * (a meter schema version and its tables), never a database that the
 * open would give the schema to. */
static int is_warehouse(const char *path, struct mt_err *err)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int version = 0, tables = 0, rc;

	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL);
	/* a loader's commit holds the file for a moment: wait as loaders do */
	sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(h, "SELECT (SELECT user_version FROM"
		    " pragma_user_version), (SELECT count(*) FROM sqlite_master"
		    " WHERE type IN ('table', 'view')"
		    " AND name IN ('property_hour', 'meter_hour'))",
		    -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int(st, 0);
		tables = sqlite3_column_int(st, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
	    (rc & 0xff) == SQLITE_IOERR) {
		mt_err_set(err, path, 0, "cannot read the warehouse: %s",
		    sqlite3_errmsg(h));
		sqlite3_close(h);
		return 0;
	}
	if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN ||
	    (rc & 0xff) == SQLITE_PERM) {
		/* a WAL reader writes the -shm file beside the warehouse */
		mt_err_set(err, path, 0, "cannot read the warehouse (%s): reading "
		    "it needs write access to it and to its directory, for SQLite's "
		    "-wal and -shm files", sqlite3_errmsg(h));
		sqlite3_close(h);
		err->status = MT_EXIT_IO;
		return 0;
	}
	if (rc != SQLITE_OK)
		mt_err_set(err, path, 0, "not a meter warehouse (%s): give the "
		    "database meter-load or meter-hourly writes", sqlite3_errmsg(h));
	else if (version < 1 || tables < 2)
		mt_err_set(err, path, 0, "not a meter warehouse (no meter tables "
		    "in it): give the database meter-load or meter-hourly writes");
	sqlite3_close(h);
	if (rc != SQLITE_OK || version < 1 || tables < 2) {
		err->status = MT_EXIT_USAGE;
		return 0;
	}
	return 1;
}

static struct mt_db *sq_open_existing(const char *path, struct mt_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		mt_err_set(err, path, 0, "no such warehouse: %s (meter-load or "
		    "meter-hourly makes one)", strerror(errno));
		err->status = MT_EXIT_USAGE;
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		mt_err_set(err, path, 0, "not a meter warehouse (not a file): give "
		    "the database meter-load or meter-hourly writes");
		err->status = MT_EXIT_USAGE;
		return NULL;
	}
	if (access(path, R_OK) != 0) {
		mt_err_set(err, path, 0, "cannot read the warehouse: %s",
		    strerror(errno));
		return NULL;
	}
	if (!is_warehouse(path, err))
		return NULL;
	return sq_open(path, err);
}

static int sq_read_begin(struct mt_db *base, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	return exec(db, "BEGIN", err);
}

static int sq_select(struct mt_db *base, const char *sql, const char *const *params,
    int nparams, mt_db_row_fn fn, void *ctx, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	const char **cols = NULL;
	sqlite3_stmt *st;
	int i, n, rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare query");
	for (i = 0; i < nparams; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	n = sqlite3_column_count(st);
	cols = mt_xcalloc((size_t)n + 1, sizeof *cols);
	for (i = 0; i < n; i++)
		cols[i] = sqlite3_column_name(st, i);
	if (fn(ctx, n, NULL, cols) < 0)
		n = 0;        /* the caller wants no rows */
	while (n > 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (fn(ctx, n, cols, NULL) < 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(cols);
	if (sqlite3_column_count(st) == 0)   /* an insert or delete: mt_db_exec */
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		db_fail(db, err, "query failed");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static void sq_close(struct mt_db *base)
{
	struct sq_db *db = (struct sq_db *)base;
	if (db == NULL)
		return;
	close_handle(db);
	mt_zones_free(&db->zones);
	forget_spans(db);
	free(db->spans);
	forget_days(db);
	free(db->days);
	free(db->path);
	free(db);
}

static void forget_days(struct sq_db *db)
{
	for (size_t i = 0; i < db->ndays; i++)
		free(db->days[i].key);
	db->ndays = 0;
	mt_map_free(db->day_index);
	db->day_index = NULL;
}

static void touch_day(struct sq_db *db, const struct mt_property_hour *h,
    const struct mt_local *lt)
{
	char key[512];
	int n = snprintf(key, sizeof key, "%s%c%s%c%s%c%.10s", h->participant, 0,
	    h->property, 0, h->q->name, 0, lt->text);
	mt_time_t from = h->hour - (mt_time_t)(lt->minute / 60 + 1) * 3600000;
	uintptr_t at;

	if (n < 0 || (size_t)n >= sizeof key)
		return;
	if (db->day_index == NULL)
		db->day_index = mt_map_new();
	if ((at = (uintptr_t)mt_map_get(db->day_index, key, (size_t)n)) != 0) {
		if (from < db->days[at - 1].from)
			db->days[at - 1].from = from;
		return;
	}
	if (db->ndays == db->capdays) {
		db->capdays = db->capdays ? db->capdays * 2 : 256;
		db->days = mt_xrealloc(db->days, db->capdays * sizeof *db->days);
	}
	db->days[db->ndays] = (struct day){ mt_xstrndup(key, (size_t)n), (size_t)n,
	    from };
	mt_map_put(db->day_index, key, (size_t)n, (void *)(uintptr_t)++db->ndays);
}

/* Recompute property_day for the days written since the last commit,
 * inside the transaction: the roll-up commits with its hours or not at
 * all. */
static int roll_days(struct sq_db *db, struct mt_err *err)
{
	sqlite3_stmt *st = db->roll_day;
	int rc = 0;

	for (size_t i = 0; i < db->ndays && rc == 0; i++) {
		const char *k = db->days[i].key, *prop = k + strlen(k) + 1;
		const char *q = prop + strlen(prop) + 1, *date = q + strlen(q) + 1;
		char hour[32];

		bind_text(st, 1, k);
		bind_text(st, 2, prop);
		bind_text(st, 3, q);
		bind_text(st, 4, date);
		for (int h = 0; h < ROLL_NHOURS; h++) {
			mt_time_format(hour, db->days[i].from + h * 3600000LL);
			sqlite3_bind_text(st, 5 + h, hour, -1, SQLITE_TRANSIENT);
		}
		rc = step(db, st, err);
	}
	forget_days(db);
	return rc;
}

static int sq_begin(struct mt_db *base, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	/* zones are read again under each write lock: a configuration loaded
	 * meanwhile by another process may have moved a property */
	mt_zones_forget_properties(&db->zones);
	return exec(db, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct mt_db *base, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	if (roll_days(db, err) < 0)
		return -1;
	return exec(db, "COMMIT", err);
}

static void sq_rollback(struct mt_db *base)
{
	struct sq_db *db = (struct sq_db *)base;
	forget_days(db);
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int step(struct sq_db *db, sqlite3_stmt *st, struct mt_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(db, err, "cannot write");
	return 0;
}

static void touch(struct sq_db *db, const struct mt_meter_hour *h);
static int run_sql(struct sq_db *db, const char *sql, const char *const *args,
    int nargs, struct mt_err *err);

static int sq_put_meter_hour(struct mt_db *base, const struct mt_meter_hour *h,
    struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st = db->put_mh;
	char hour[32];

	mt_time_format(hour, h->hour);
	bind_text(st, 1, h->participant);
	bind_text(st, 2, h->property);
	bind_text(st, 3, h->meter);
	/* the codes of schema 7: the unit is the quantity's canonical one
	 * (mt_meter_hour_canonical) */
	sqlite3_bind_int(st, 4, mt_quantity_code(h->q));
	bind_text(st, 5, hour);
	sqlite3_bind_double(st, 6, h->value);
	sqlite3_bind_int(st, 7, (int)h->quality);
	sqlite3_bind_double(st, 8, h->coverage);
	touch(db, h);
	return step(db, st, err);
}

/* ---- suspect hours ---- */

static int same_meter(const struct span *sp, const struct mt_meter_hour *h)
{
	return strcmp(sp->meter, h->meter) == 0 &&
	    strcmp(sp->participant, h->participant) == 0 &&
	    strcmp(sp->quantity, h->q->name) == 0;
}

/* A meter's key in span_index, participant\0meter\0quantity, into key
 * (SPAN_KEY_MAX bytes): its length, 0 for ids longer than a loaded
 * meter's can be (MT_ID_MAX, the records' rule) */
#define SPAN_KEY_MAX (3 * (MT_ID_MAX + 1) + 64)
static size_t span_key(char *key, const char *participant, size_t plen,
    const char *meter, size_t mlen, const char *quantity)
{
	size_t qlen = strlen(quantity);

	if (plen > MT_ID_MAX || mlen > MT_ID_MAX || qlen > 63)
		return 0;
	memcpy(key, participant, plen);
	key[plen] = '\0';
	memcpy(key + plen + 1, meter, mlen);
	key[plen + 1 + mlen] = '\0';
	memcpy(key + plen + mlen + 2, quantity, qlen);
	return plen + mlen + 2 + qlen;
}

static void touch(struct sq_db *db, const struct mt_meter_hour *h)
{
	struct span *sp = db->last_span;
	char key[SPAN_KEY_MAX];
	size_t n;
	uintptr_t i;

	if (sp == NULL || !same_meter(sp, h)) {
		n = span_key(key, h->participant, strlen(h->participant), h->meter,
		    strlen(h->meter), h->q->name);
		if (db->span_index == NULL)
			db->span_index = mt_map_new();
		if ((i = (uintptr_t)mt_map_get(db->span_index, key, n)) == 0) {
			db->spans = mt_xrealloc(db->spans, (db->nspans + 1) * sizeof *db->spans);
			db->spans[db->nspans] = (struct span){ mt_xstrdup(h->participant),
			    mt_xstrdup(h->meter), mt_xstrdup(h->q->name), h->hour, h->hour };
			i = ++db->nspans;
			mt_map_put(db->span_index, key, n, (void *)i);
		}
		sp = db->last_span = &db->spans[i - 1];
	}
	if (h->hour < sp->lo)
		sp->lo = h->hour;
	if (h->hour > sp->hi)
		sp->hi = h->hour;
}

static void forget_spans(struct sq_db *db)
{
	for (size_t i = 0; i < db->nspans; i++) {
		free(db->spans[i].participant);
		free(db->spans[i].meter);
		free(db->spans[i].quantity);
	}
	db->nspans = 0;
	db->last_span = NULL;
	mt_map_free(db->span_index);
	db->span_index = NULL;
}

static int history_days(struct sq_db *db, double *days, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, SQL_HISTORY_DAYS, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	rc = sqlite3_step(st);
	*days = rc == SQLITE_ROW ? sqlite3_column_double(st, 0) : 28;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot read");
}

/* What SQL_JUDGED_METER finds of one loaded meter's hours in the range;
 * hours are compared as texts, as SQL compares them */
#define HOUR_MAX 64
struct measure {
	char first[HOUR_MAX], last[HOUR_MAX];
	double sum, max_new;
	sqlite3_int64 n, n_before, n_new;
};

/* What the pass over the range found besides the measures: what the
 * flags' statements have to do (with no flag or negative hour to clear,
 * or no hour of zero, SQL_JUDGE_CLEAR or SQL_JUDGE_ZERO_RUNS would change
 * nothing), and whether a row written by hand is beyond what the pass
 * reads as SQL does (a value that is not a number, an hour of HOUR_MAX
 * bytes or more or with a NUL byte): then the statement itself measures
 * every meter of the load */
struct range_seen {
	int to_clear, zeros, by_hand, nomem;
};

/* A text column of a row, NULL for a value of another type (a blob never
 * equals a text in SQL) */
static const char *text_column(sqlite3_stmt *st, int i, size_t *len,
    struct range_seen *seen)
{
	const char *s;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return NULL;
	s = (const char *)sqlite3_column_text(st, i);
	*len = (size_t)sqlite3_column_bytes(st, i);
	if (s == NULL)
		seen->nomem = 1;
	return s;
}

/* The loaded meter a row of the range is of, NULL for another meter */
static struct measure *measured_meter(struct sq_db *db, struct measure *ms,
    sqlite3_stmt *st, struct range_seen *seen)
{
	size_t plen, mlen, n;
	const char *participant = text_column(st, 0, &plen, seen);
	const char *meter = text_column(st, 1, &mlen, seen);
	const struct mt_quantity *q = sqlite3_column_type(st, 2) == SQLITE_INTEGER ?
	    mt_quantity_of_code(sqlite3_column_int(st, 2)) : NULL;
	char key[SPAN_KEY_MAX];
	uintptr_t i;

	if (participant == NULL || meter == NULL || q == NULL ||
	    (n = span_key(key, participant, plen, meter, mlen, q->name)) == 0)
		return NULL;
	i = (uintptr_t)mt_map_get(db->span_index, key, n);
	return i == 0 ? NULL : &ms[i - 1];
}

static void copy_hour(char *to, const char *hour, size_t n)
{
	memcpy(to, hour, n);
	to[n] = '\0';
}

static void measure_hour(struct measure *m, const char *hour, size_t hlen,
    double value, const char *from)
{
	if (m->n == 0 || strcmp(hour, m->first) < 0)
		copy_hour(m->first, hour, hlen);
	if (m->n == 0 || strcmp(hour, m->last) > 0)
		copy_hour(m->last, hour, hlen);
	m->n++;
	m->sum += value;
	if (strcmp(hour, from) < 0) {
		m->n_before++;
	} else if (m->n_new++ == 0 || value > m->max_new) {
		m->max_new = value;
	}
}

/* suspect: the row's flag is there (any type, as IS NOT NULL has it),
 * zero_run: it is 'zero-run' */
static void see_hour(struct range_seen *seen, const char *hour, double value,
    int suspect, int zero_run, const char *from)
{
	if (value == 0)
		seen->zeros = 1;
	if ((strcmp(hour, from) >= 0 && (suspect || value < 0)) || zero_run)
		seen->to_clear = 1;
}

/* Whether the row's flag is 'zero-run', as SQL compares it */
static int is_zero_run(sqlite3_stmt *st, struct range_seen *seen)
{
	size_t n;
	const char *s = text_column(st, 5, &n, seen);

	return s != NULL && n == 8 && memcmp(s, "zero-run", 8) == 0;
}

/* One row of the range: measured when it is a loaded meter's.  An hour
 * is compared as C strings compare, which SQL's comparison of the whole
 * text equals for an hour without a NUL byte. */
static void range_row(struct sq_db *db, struct measure *ms, sqlite3_stmt *st,
    const char *from, struct range_seen *seen)
{
	struct measure *m = measured_meter(db, ms, st, seen);
	size_t hlen;
	const char *hour = m != NULL ? text_column(st, 3, &hlen, seen) : NULL;
	int type = sqlite3_column_type(st, 4);
	double value;

	if (hour == NULL)
		return;
	if ((type != SQLITE_FLOAT && type != SQLITE_INTEGER) || hlen >= HOUR_MAX ||
	    memchr(hour, '\0', hlen) != NULL) {
		seen->by_hand = seen->to_clear = seen->zeros = 1;
		return;
	}
	value = sqlite3_column_double(st, 4);
	measure_hour(m, hour, hlen, value, from);
	see_hour(seen, hour, value, sqlite3_column_type(st, 5) != SQLITE_NULL,
	    is_zero_run(st, seen), from);
}

static int write_measures(struct sq_db *db, const struct measure *ms,
    struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(db->h, "INSERT INTO temp.judged_meter VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	for (size_t i = 0; i < db->nspans && rc == SQLITE_DONE; i++) {
		const struct measure *m = &ms[i];
		if (m->n == 0)
			continue;
		bind_text(st, 1, db->spans[i].participant);
		bind_text(st, 2, db->spans[i].meter);
		bind_text(st, 3, db->spans[i].quantity);
		bind_text(st, 4, m->first);
		bind_text(st, 5, m->last);
		sqlite3_bind_double(st, 6, m->sum / (double)m->n);
		sqlite3_bind_int64(st, 7, m->n_before);
		if (m->n_new > 0)
			sqlite3_bind_double(st, 8, m->max_new);
		else
			sqlite3_bind_null(st, 8);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot judge meter hours");
}

/* One judging statement over the hours from ?2 to ?3 and the history from ?4 */
static int judge(struct sq_db *db, const char *sql, const char *from,
    const char *to, const char *history, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	bind_text(st, 2, from);
	bind_text(st, 3, to);
	bind_text(st, 4, history);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot judge meter hours");
}

/* The participant of every loaded meter, as a load of one participant's
 * hours has it, else NULL */
static const char *one_participant(const struct sq_db *db)
{
	for (size_t i = 1; i < db->nspans; i++)
		if (strcmp(db->spans[i].participant, db->spans[0].participant) != 0)
			return NULL;
	return db->spans[0].participant;
}

/* temp.judged_meter's rows as SQL_JUDGED_METER finds them, from one pass
 * over the range with the loaded meters' map: SQLite has no hash
 * aggregate and would sort every hour of the range by meter to group them
 * (0.7 s of a load of a million hours).  When one participant's meters
 * are loaded, as they usually are, SQLite tests the participant of each
 * row of the range itself, and only that participant's rows come back. */
static int measure_judged(struct sq_db *db, const char *from, const char *to,
    const char *history, struct range_seen *seen, struct mt_err *err)
{
	struct measure *ms = mt_xcalloc(db->nspans, sizeof *ms);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT participant, meter, quantity_code,"
	    " hour, value, suspect FROM meter_hour_store WHERE hour BETWEEN ?1 AND ?2"
	    " AND (?3 IS NULL OR participant = ?3)", -1, &st, NULL) != SQLITE_OK) {
		free(ms);
		return db_fail(db, err, "cannot prepare statement");
	}
	bind_text(st, 1, history);
	bind_text(st, 2, to);
	bind_text(st, 3, one_participant(db));
	while (!seen->nomem && (rc = sqlite3_step(st)) == SQLITE_ROW)
		range_row(db, ms, st, from, seen);
	sqlite3_finalize(st);
	if (seen->nomem)
		mt_out_of_memory();
	if (rc != SQLITE_DONE)
		rc = db_fail(db, err, "cannot read meter hours");
	else if (seen->by_hand)
		rc = judge(db, SQL_JUDGED_METER, from, to, history, err);
	else
		rc = write_measures(db, ms, err);
	free(ms);
	return rc;
}

/* Whether a loaded meter has an hour high enough to be judged for spikes:
 * the statement itself would still read the loaded range (0.1 s a million
 * hours) to find there is none */
static int spike_candidates(struct sq_db *db, int *any, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT EXISTS (" SQL_SPIKE_CANDIDATES ")", -1,
	    &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	rc = sqlite3_step(st);
	*any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_fail(db, err, "cannot judge meter hours");
}

static int judge_all(struct sq_db *db, mt_time_t lo, mt_time_t hi, double days,
    struct mt_err *err)
{
	char from[32], to[32], history[32];
	struct range_seen seen = { 0, 0, 0, 0 };
	int spikes = 0;

	mt_time_format(from, lo);
	mt_time_format(to, hi);
	mt_time_format(history, lo - (mt_time_t)(days * 86400000.0));
	for (size_t i = 0; i < sizeof judged_meter_sql / sizeof *judged_meter_sql; i++)
		if (exec(db, judged_meter_sql[i], err) < 0)
			return -1;
	if (measure_judged(db, from, to, history, &seen, err) < 0 ||
	    judge(db, SQL_JUDGE_SPANS, from, to, history, err) < 0 ||
	    (seen.to_clear && judge(db, SQL_JUDGE_CLEAR, from, to, history, err) < 0) ||
	    spike_candidates(db, &spikes, err) < 0 ||
	    (spikes && judge(db, SQL_JUDGE_SPIKES, from, to, history, err) < 0) ||
	    (seen.zeros && judge(db, SQL_JUDGE_ZERO_RUNS, from, to, history, err) < 0))
		return -1;
	return 0;
}

/* The meters whose hours were written, in a temporary table the
 * statements read, and the hours they span together. */
static int list_judged(struct sq_db *db, mt_time_t *lo, mt_time_t *hi,
    struct mt_err *err)
{
	if (exec(db, SQL_JUDGED_TABLE "; DELETE FROM temp.judged", err) < 0)
		return -1;
	*lo = db->spans[0].lo;
	*hi = db->spans[0].hi;
	for (size_t i = 0; i < db->nspans; i++) {
		const char *a[] = { db->spans[i].participant, db->spans[i].meter,
			db->spans[i].quantity };
		if (run_sql(db, "INSERT INTO temp.judged (participant, meter,"
		    " quantity) VALUES (?, ?, ?)", a, 3, err) < 0)
			return -1;
		if (db->spans[i].lo < *lo)
			*lo = db->spans[i].lo;
		if (db->spans[i].hi > *hi)
			*hi = db->spans[i].hi;
	}
	return 0;
}

static int sq_stale_meters(struct mt_db *base, const char *participant,
    mt_db_stale_fn fn, void *ctx, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st;
	int rc;

	int any = 0;

	/* the end of the period as data_quality has it: the participant's
	 * last run, else the hour after its latest hour */
	if (sqlite3_prepare_v2(db->h, SQL_STALE, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	bind_text(st, 1, participant);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		any = 1;
		if (sqlite3_column_int(st, 3))
			fn(ctx, (const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (const char *)sqlite3_column_text(st, 2));
	}
	if (rc == SQLITE_DONE && !any)
		fn(ctx, NULL, participant, NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, err, "cannot read");
}

static int sq_judge_hours(struct mt_db *base, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	mt_time_t lo, hi;
	double days;

	if (db->nspans == 0)
		return 0;
	if (history_days(db, &days, err) < 0 || list_judged(db, &lo, &hi, err) < 0 ||
	    judge_all(db, lo, hi, days, err) < 0)
		return -1;
	forget_spans(db);
	return 0;
}

/* ---- local calendar of a property ---- */

/* The property's zone from the configuration (its own, else its
 * participant's), else UTC; looked up once per property and write lock. */
static struct mt_tz *property_zone(struct sq_db *db, const char *participant,
    const char *property, struct mt_err *err)
{
	struct mt_tz *tz = mt_zones_of_property(&db->zones, participant, property);
	const char *name = "UTC";

	if (tz != NULL)
		return tz;
	sqlite3_bind_text(db->find_tz, 1, participant, -1, SQLITE_STATIC);
	sqlite3_bind_text(db->find_tz, 2, property, -1, SQLITE_STATIC);
	if (sqlite3_step(db->find_tz) == SQLITE_ROW &&
	    sqlite3_column_text(db->find_tz, 0) != NULL)
		name = (const char *)sqlite3_column_text(db->find_tz, 0);
	tz = mt_zones_named(&db->zones, name, err);
	sqlite3_reset(db->find_tz);
	if (tz != NULL)
		mt_zones_set_property(&db->zones, participant, property, tz);
	return tz;
}

static int record_month(struct sq_db *db, struct mt_tz *tz, const char *month,
    struct mt_err *err)
{
	long hours = mt_zones_new_month(&db->zones, tz, month);

	if (hours == 0)
		return 0;
	bind_text(db->put_month, 1, tz->name);
	bind_text(db->put_month, 2, month);
	sqlite3_bind_int64(db->put_month, 3, hours);
	return step(db, db->put_month, err);
}

/* The local columns: local time, month, weekday, hour. */
static void bind_local(sqlite3_stmt *st, int first, const struct mt_tz *tz,
    const struct mt_local *lt)
{
	bind_text(st, first, tz->name);
	sqlite3_bind_text(st, first + 1, lt->text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, first + 2, lt->text, 7, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, first + 3, lt->weekday);
	sqlite3_bind_int(st, first + 4, lt->minute / 60);
}

/* An optional context field of an enriched record, bound as it came. */
static void bind_extra(sqlite3_stmt *st, int i, const struct mt_rec *rec,
    const char *key)
{
	const struct mt_field *f = mt_rec_get(rec, key);

	if (f == NULL || f->type == MT_NULL || f->type == MT_NESTED)
		sqlite3_bind_null(st, i);
	else if (f->type == MT_NUMBER && isfinite(f->num) && fabs(f->num) <= MT_VALUE_MAX)
		sqlite3_bind_double(st, i, f->num);
	else if (f->type == MT_BOOL)
		sqlite3_bind_int(st, i, f->boolean);
	else if (f->type == MT_STRING && strcmp(key, "holiday") == 0)
		sqlite3_bind_text(st, i, f->str, (int)f->len, SQLITE_STATIC);
	else      /* a number as text ("1e308") is no number: as postgres.c */
		sqlite3_bind_null(st, i);
}

static void bind_count(sqlite3_stmt *st, int i, long v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static int sq_put_property_hour(struct mt_db *base, const struct mt_property_hour *h,
    struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st = db->put_ph;
	struct mt_tz *tz = property_zone(db, h->participant, h->property, err);
	struct mt_local lt;
	char hour[32], month[8];

	if (tz == NULL)
		return -1;
	mt_local_time(tz->zone, h->hour, &lt);
	snprintf(month, sizeof month, "%.7s", lt.text);
	if (record_month(db, tz, month, err) < 0)
		return -1;
	mt_time_format(hour, h->hour);
	bind_text(st, 1, h->participant);
	bind_text(st, 2, h->property);
	bind_text(st, 3, h->q->name);
	bind_text(st, 4, hour);
	sqlite3_bind_double(st, 5, h->value);
	bind_text(st, 6, h->unit);
	bind_count(st, 7, h->meters);
	bind_count(st, 8, h->meters_expected);
	sqlite3_bind_double(st, 9, h->coverage);
	bind_text(st, 10, mt_quality_name(h->quality));
	bind_local(st, 11, tz, &lt);
	for (int i = 0; i < 9; i++)
		bind_extra(st, 16 + i, h->rec, mt_db_extras[i]);
	if (strcmp(h->q->dimension, "energy") == 0)
		touch_day(db, h, &lt);
	return step(db, st, err);
}

static int sq_log_load(struct mt_db *base, const struct mt_load_log *log,
    struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st = db->put_load;
	char started[32], finished[32];

	mt_time_format(started, log->started);
	mt_time_format(finished, log->finished);
	bind_text(st, 1, started);
	bind_text(st, 2, finished);
	bind_text(st, 3, log->source);
	sqlite3_bind_int64(st, 4, log->in);
	sqlite3_bind_int64(st, 5, log->loaded);
	sqlite3_bind_int64(st, 6, log->rejected);
	sqlite3_bind_double(st, 7, (double)(log->finished - log->started) / 1000);
	return step(db, st, err);
}

static int sq_put_run(struct mt_db *base, const struct mt_rec *rec, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	const char *v[MT_DB_RUN_FIELDS];
	sqlite3_stmt *st;
	int rc, got = mt_db_run_values(rec, v, err);

	if (got != 0)
		return got;
	if (sqlite3_prepare_v2(db->h, "INSERT OR REPLACE INTO runs (run, participant,"
	    " started, finished, status, fetched, loaded, rejected, message)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	for (int i = 0; i < 9; i++)
		bind_text(st, i + 1, v[i]);
	rc = step(db, st, err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- configuration ---- */

static int run_sql(struct sq_db *db, const char *sql, const char *const *args,
    int nargs, struct mt_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	for (int i = 0; i < nargs; i++)
		bind_text(st, i + 1, args[i]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "cannot write configuration");
	return 0;
}

static int put_rows(struct sq_db *db, const struct mt_config *cfg,
    struct mt_err *err)
{
	char num[2][40];

	for (size_t i = 0; i < cfg->ncontracts; i++) {
		const struct mt_contract *c = &cfg->contracts[i];
		const char *a[] = { cfg->id, c->id, NULL };
		if (c->co2_kg_per_kwh >= 0)
			mt_format_double(num[0], sizeof num[0], c->co2_kg_per_kwh), a[2] = num[0];
		if (run_sql(db, "INSERT INTO contract VALUES (?, ?, CAST(? AS REAL))",
		    a, 3, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->nproperties; i++) {
		const struct mt_property_cfg *p = &cfg->properties[i];
		const char *a[] = { cfg->id, p->id, p->name, p->type, NULL, p->region,
			p->timezone };
		if (p->area_m2 > 0)
			mt_format_double(num[0], sizeof num[0], p->area_m2), a[4] = num[0];
		if (run_sql(db, "INSERT INTO property VALUES (?, ?, ?, ?, "
		    "CAST(? AS REAL), ?, ?)", a, 7, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		const char *a[] = { cfg->id, m->id, m->property, m->q->name,
			m->unit ? m->unit : m->q->unit, m->kind, m->contract,
			m->external ? "1" : "0" };
		/* when a meter was first configured: a meter that never
		 * delivers is expected to from then on */
		if (run_sql(db, "INSERT INTO meter VALUES (?, ?, ?, ?, ?, ?, ?, "
		    "CAST(? AS INTEGER))", a, 8, err) < 0 ||
		    run_sql(db, "INSERT OR IGNORE INTO meter_seen VALUES (?, ?, "
		    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", a, 2, err) < 0)
			return -1;
	}
	return 0;
}

/* Recompute the local calendar of the participant's property hours: a
 * zone set or changed by this configuration applies to them too. */
static int relocalize(struct sq_db *db, const char *participant,
    struct mt_err *err)
{
	sqlite3_stmt *sel, *upd;
	int rc = 0;

	mt_zones_forget_properties(&db->zones);
	if (sqlite3_prepare_v2(db->h, "SELECT property, quantity, hour FROM "
	    "property_hour WHERE participant = ?", -1, &sel, NULL) != SQLITE_OK)
		return db_fail(db, err, "cannot prepare statement");
	if (sqlite3_prepare_v2(db->h, "UPDATE property_hour SET timezone = ?, "
	    "local = ?, month = ?, weekday = ?, local_hour = ? WHERE participant = ? "
	    "AND property = ? AND quantity = ? AND hour = ?", -1, &upd, NULL) != SQLITE_OK) {
		sqlite3_finalize(sel);
		return db_fail(db, err, "cannot prepare statement");
	}
	bind_text(sel, 1, participant);
	while (rc == 0 && sqlite3_step(sel) == SQLITE_ROW) {
		const char *prop = (const char *)sqlite3_column_text(sel, 0);
		const char *hour = (const char *)sqlite3_column_text(sel, 2);
		struct mt_tz *tz = property_zone(db, participant, prop, err);
		struct mt_local lt;
		enum mt_tsform form;
		char month[8];
		mt_time_t t;

		if (tz == NULL || mt_time_parse(hour, strlen(hour), &t, &form, err) < 0) {
			rc = -1;
			break;
		}
		mt_local_time(tz->zone, t, &lt);
		snprintf(month, sizeof month, "%.7s", lt.text);
		bind_local(upd, 1, tz, &lt);
		bind_text(upd, 6, participant);
		bind_text(upd, 7, prop);
		sqlite3_bind_text(upd, 8, (const char *)sqlite3_column_text(sel, 1), -1,
		    SQLITE_TRANSIENT);
		bind_text(upd, 9, hour);
		rc = record_month(db, tz, month, err) < 0 || step(db, upd, err) < 0 ? -1 : 0;
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (rc == 0) {
		const char *id[] = { participant };

		rc = run_sql(db, "DELETE FROM property_day WHERE participant = ?",
		    id, 1, err) < 0 || run_sql(db, "INSERT INTO property_day"
		    SQL_DAYS_OF_PARTICIPANT, id, 1, err) < 0 ? -1 : 0;
	}
	return rc;
}

static int sq_put_config(struct mt_db *base, const struct mt_config *cfg,
    struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	const char *id[] = { cfg->id }, *pa[] = { cfg->id, cfg->name, cfg->timezone };

	if (run_sql(db, "DELETE FROM meter WHERE participant = ?", id, 1, err) < 0 ||
	    run_sql(db, "DELETE FROM property WHERE participant = ?", id, 1, err) < 0 ||
	    run_sql(db, "DELETE FROM contract WHERE participant = ?", id, 1, err) < 0 ||
	    run_sql(db, "INSERT OR REPLACE INTO participant VALUES (?, ?, ?)", pa, 3,
	    err) < 0 || put_rows(db, cfg, err) < 0)
		return -1;
	return relocalize(db, cfg->id, err);
}

/* A stored meter hour from a row of get_mh or get_range (property,
 * meter, value, unit, quality, coverage); strings borrow from the row. */
static void stored_hour(sqlite3_stmt *st, const char *participant,
    const struct mt_quantity *q, struct mt_meter_hour *h)
{
	const char *quality = (const char *)sqlite3_column_text(st, 4);

	*h = (struct mt_meter_hour){
		.participant = participant, .q = q,
		.property = (const char *)sqlite3_column_text(st, 0),
		.meter = (const char *)sqlite3_column_text(st, 1),
		.value = sqlite3_column_double(st, 2),
		.unit = (const char *)sqlite3_column_text(st, 3),
		.coverage = sqlite3_column_double(st, 5),
	};
	/* the store's codes are checked, but a file edited with its checks
	 * off can still give NULL: the quantity's own unit, and a quality
	 * this program does not know counts as a guess */
	if (h->unit == NULL)
		h->unit = q->unit;
	if (quality == NULL || mt_quality_parse(quality, &h->quality) < 0)
		h->quality = MT_ESTIMATED;
}

static int sq_meter_hours_range(struct mt_db *base, const char *participant,
    const struct mt_quantity *q, mt_time_t from, mt_time_t to, mt_db_hour_fn fn,
    void *ctx, struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st = db->get_range;
	char a[32], b[32];
	int rc;

	mt_time_format(a, from);
	mt_time_format(b, to);
	bind_text(st, 1, a);
	bind_text(st, 2, b);
	bind_text(st, 3, participant);
	bind_text(st, 4, q->name);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hour = (const char *)sqlite3_column_text(st, 6);
		struct mt_meter_hour h;
		enum mt_tsform form;
		stored_hour(st, participant, q, &h);
		if (hour == NULL || mt_time_parse(hour, strlen(hour), &h.hour, &form,
		    NULL) < 0)
			continue;
		fn(ctx, &h);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "cannot read meter hours");
	return 0;
}

static int sq_meter_hours_at(struct mt_db *base, const char *participant,
    const struct mt_quantity *q, mt_time_t hour, mt_db_hour_fn fn, void *ctx,
    struct mt_err *err)
{
	struct sq_db *db = (struct sq_db *)base;
	sqlite3_stmt *st = db->get_mh;
	char ts[32];
	int rc;

	mt_time_format(ts, hour);
	bind_text(st, 1, ts);
	bind_text(st, 2, participant);
	bind_text(st, 3, q->name);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mt_meter_hour h;
		stored_hour(st, participant, q, &h);
		h.hour = hour;
		fn(ctx, &h);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, err, "cannot read meter hours");
	return 0;
}

const struct mt_db_backend mt_sqlite_backend = {
	"SQLite", sq_open, sq_open_existing, sq_close, sq_read_begin, sq_select,
	sq_begin, sq_commit, sq_rollback, sq_put_meter_hour, sq_judge_hours,
	sq_stale_meters, sq_put_property_hour, sq_put_config, sq_meter_hours_range,
	sq_meter_hours_at, sq_log_load, sq_put_run, mt_queries,
};
