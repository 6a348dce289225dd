/* backend.h - one warehouse interface, two engines: the functions of
 * meter.h's mt_db_* as each backend implements them (sqlite.c,
 * postgres.c), chosen by db.c from the warehouse's name. */
#ifndef MT_BACKEND_H
#define MT_BACKEND_H

#include "../meter_priv.h"

struct mt_db_backend {
	const char *name;
	struct mt_db *(*open)(const char *, struct mt_err *);
	struct mt_db *(*open_existing)(const char *, struct mt_err *);
	void (*close)(struct mt_db *);
	int (*read_begin)(struct mt_db *, struct mt_err *);
	int (*select)(struct mt_db *, const char *, const char *const *, int,
	    mt_db_row_fn, void *, struct mt_err *);
	int (*begin)(struct mt_db *, struct mt_err *);
	int (*commit)(struct mt_db *, struct mt_err *);
	void (*rollback)(struct mt_db *);
	int (*put_meter_hour)(struct mt_db *, const struct mt_meter_hour *,
	    struct mt_err *);
	int (*judge_hours)(struct mt_db *, struct mt_err *);
	int (*stale_meters)(struct mt_db *, const char *, mt_db_stale_fn, void *,
	    struct mt_err *);
	int (*put_property_hour)(struct mt_db *, const struct mt_property_hour *,
	    struct mt_err *);
	int (*put_config)(struct mt_db *, const struct mt_config *, struct mt_err *);
	int (*meter_hours_range)(struct mt_db *, const char *,
	    const struct mt_quantity *, mt_time_t, mt_time_t, mt_db_hour_fn, void *,
	    struct mt_err *);
	int (*meter_hours_at)(struct mt_db *, const char *,
	    const struct mt_quantity *, mt_time_t, mt_db_hour_fn, void *,
	    struct mt_err *);
	int (*log_load)(struct mt_db *, const struct mt_load_log *, struct mt_err *);
	int (*put_run)(struct mt_db *, const struct mt_rec *, struct mt_err *);
	const char *const *queries;      /* enum mt_sql, in the engine's SQL */
};

/* Every backend's handle begins with this. */
struct mt_db {
	const struct mt_db_backend *be;
};

/* A dispatcher run record's fields in the runs table's order: 1 when the
 * record is no run, -1 when one lacks a field (err says which). */
#define MT_DB_RUN_FIELDS 9
int mt_db_run_values(const struct mt_rec *rec, const char *v[MT_DB_RUN_FIELDS],
    struct mt_err *err);
#define MT_DB_NEXTRAS 9
extern const char *const mt_db_extras[MT_DB_NEXTRAS];

extern const struct mt_db_backend mt_sqlite_backend;
extern const struct mt_db_backend mt_postgres_backend;

#endif
