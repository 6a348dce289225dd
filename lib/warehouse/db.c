/* db.c - the warehouse interface (meter.h, mt_db_*): a path is an SQLite
 * file (sqlite.c), a postgresql:// URI a PostgreSQL database
 * (postgres.c); each call goes to the handle's backend. */
#define _POSIX_C_SOURCE 200809L
#include "backend.h"

#include <string.h>
#include <strings.h>

/* The context fields of an enriched property hour the warehouse keeps,
 * in property_hour's column order. */
const char *const mt_db_extras[MT_DB_NEXTRAS] = { "holiday", "office_hours",
	"outside_temp_c", "area_m2", "kwh_per_m2", "co2_kg", "temp_delta_c", "hdd",
	"cdd" };

static const char *run_text(const struct mt_rec *rec, const char *key,
    int need, struct mt_err *err)
{
	const struct mt_field *f = mt_rec_get(rec, key);

	if (f != NULL && (f->type == MT_STRING || f->type == MT_NUMBER))
		return f->str;
	if (need)
		mt_err_set(err, NULL, 0, "run record without \"%s\"", key);
	return NULL;
}

int mt_db_run_values(const struct mt_rec *rec, const char *v[MT_DB_RUN_FIELDS],
    struct mt_err *err)
{
	static const char *const keys[] = { "run", "participant", "started",
		"finished", "status", "fetched", "loaded", "rejected", "message" };

	if (mt_rec_get(rec, "run") == NULL)
		return 1;
	for (int i = 0; i < MT_DB_RUN_FIELDS; i++)
		if ((v[i] = run_text(rec, keys[i], i < 8, err)) == NULL && i < 8) {
			err->status = MT_EXIT_REJECTS;
			return -1;
		}
	return 0;
}

/* postgresql:// and postgres://, and what looks meant as one (any case,
 * a slash short), so that a typo is told, not made an SQLite file. */
int mt_db_is_postgres(const char *path)
{
	return strncasecmp(path, "postgres", 8) == 0 &&
	    path[8 + strspn(path + 8, "qlQL")] == ':';
}

static const struct mt_db_backend *backend_of(const char *path)
{
	return mt_db_is_postgres(path) ? &mt_postgres_backend : &mt_sqlite_backend;
}

struct mt_db *mt_db_open(const char *path, struct mt_err *err)
{
	return backend_of(path)->open(path, err);
}

struct mt_db *mt_db_open_existing(const char *path, struct mt_err *err)
{
	return backend_of(path)->open_existing(path, err);
}

void mt_db_close(struct mt_db *db)
{
	if (db != NULL)
		db->be->close(db);
}

int mt_db_read_begin(struct mt_db *db, struct mt_err *err)
{
	return db->be->read_begin(db, err);
}

const char *mt_db_sql(struct mt_db *db, enum mt_sql which)
{
	return db->be->queries[which];
}

int mt_db_select(struct mt_db *db, const char *sql, const char *const *params,
    int nparams, mt_db_row_fn fn, void *ctx, struct mt_err *err)
{
	return db->be->select(db, sql, params, nparams, fn, ctx, err);
}

static int no_rows(void *ctx, int ncols, const char *const *cols,
    const char *const *names)
{
	(void)ctx, (void)cols, (void)names;
	return ncols == 0 ? 0 : -1;
}

int mt_db_exec(struct mt_db *db, const char *sql, const char *const *params,
    int nparams, struct mt_err *err)
{
	return db->be->select(db, sql, params, nparams, no_rows, NULL, err);
}

int mt_db_begin(struct mt_db *db, struct mt_err *err)
{
	return db->be->begin(db, err);
}

int mt_db_commit(struct mt_db *db, struct mt_err *err)
{
	return db->be->commit(db, err);
}

void mt_db_rollback(struct mt_db *db)
{
	db->be->rollback(db);
}

int mt_db_put_meter_hour(struct mt_db *db, const struct mt_meter_hour *h,
    struct mt_err *err)
{
	return db->be->put_meter_hour(db, h, err);
}

int mt_db_judge_hours(struct mt_db *db, struct mt_err *err)
{
	return db->be->judge_hours(db, err);
}

int mt_db_stale_meters(struct mt_db *db, const char *participant,
    mt_db_stale_fn fn, void *ctx, struct mt_err *err)
{
	return db->be->stale_meters(db, participant, fn, ctx, err);
}

int mt_db_put_property_hour(struct mt_db *db, const struct mt_property_hour *h,
    struct mt_err *err)
{
	return db->be->put_property_hour(db, h, err);
}

int mt_db_put_config(struct mt_db *db, const struct mt_config *cfg,
    struct mt_err *err)
{
	return db->be->put_config(db, cfg, err);
}

int mt_db_meter_hours_range(struct mt_db *db, const char *participant,
    const struct mt_quantity *q, mt_time_t from, mt_time_t to, mt_db_hour_fn fn,
    void *ctx, struct mt_err *err)
{
	return db->be->meter_hours_range(db, participant, q, from, to, fn, ctx, err);
}

int mt_db_meter_hours_at(struct mt_db *db, const char *participant,
    const struct mt_quantity *q, mt_time_t hour, mt_db_hour_fn fn, void *ctx,
    struct mt_err *err)
{
	return db->be->meter_hours_at(db, participant, q, hour, fn, ctx, err);
}

int mt_db_log_load(struct mt_db *db, const struct mt_load_log *log,
    struct mt_err *err)
{
	return db->be->log_load(db, log, err);
}

int mt_db_put_run(struct mt_db *db, const struct mt_rec *rec, struct mt_err *err)
{
	return db->be->put_run(db, rec, err);
}
