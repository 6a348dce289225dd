/* db.c - the warehouse interface (meter.h, mt_db_*): a path is an SQLite
 * file (sqlite.c), a postgresql:// URI a PostgreSQL database
 * (postgres.c); each call goes to the handle's backend. */
#define _POSIX_C_SOURCE 200809L
#include "backend.h"

#include <string.h>

int mt_db_is_postgres(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0;
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
