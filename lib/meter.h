/*
 * meter.h - the meter toolkit's shared library (prefix mt_).
 *
 * Ownership, once for the whole library: a function named _new or _open
 * returns an object the caller owns and releases with the matching _free or
 * _close, which accept NULL.  Pointers returned as const are borrowed: valid
 * until the owner is freed or advanced (for a record, until the next call to
 * mt_ndjson_next).
 *
 * Errors: library functions return 0 (or a pointer) on success and -1 (or
 * NULL) on failure, filling a struct mt_err.  The library never exits and
 * never prints on its own; cli.c holds the helpers the programs call to
 * report, and writes only to the streams they hand it.  The one exception
 * to "never exits" is the allocation wrapper, which aborts when memory runs
 * out.
 *
 * Times are int64 milliseconds since 1970-01-01T00:00:00Z (mt_time_t).
 */
#ifndef METER_H
#define METER_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MT_VERSION "0.1.0"

/* Exit statuses shared by every program (DESIGN.md). */
enum {
	MT_EXIT_OK = 0,       /* all good */
	MT_EXIT_REJECTS = 1,  /* some records rejected, the rest processed */
	MT_EXIT_USAGE = 2,    /* usage or configuration error, nothing done */
	MT_EXIT_IO = 3        /* I/O or system failure */
};

struct mt_err {
	char msg[512];
	char file[256];
	long line;
	int status;     /* the exit status it calls for when not MT_EXIT_IO */
};

/* Limits and roundings every program applies alike. */
#define MT_VALUE_MAX 1e15          /* beyond any meter (a petawatt-hour), and
                                    * far enough from the largest double that
                                    * no sum of hours overflows */
#define MT_VALUE_MAX_TEXT "1e15"
#define MT_SPAN_MAX_S (400 * 86400LL)   /* the longest interval reading, and
                                         * the longest gap between register
                                         * readings that is spread over hours */
#define MT_SPAN_MAX_TEXT "400 days"

/* ---- util.c: allocation, errors, small helpers ---- */
/* What an allocation that fails does: say so on stderr and abort (the one
 * place the library exits). */
void mt_out_of_memory(void) __attribute__((noreturn));
void *mt_xmalloc(size_t n);
void *mt_xcalloc(size_t n, size_t size);
void *mt_xrealloc(void *p, size_t n);
char *mt_xstrdup(const char *s);
char *mt_xstrndup(const char *s, size_t n);
void mt_err_set(struct mt_err *err, const char *file, long line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An hour's value to nine decimals: far below any meter's resolution, and
 * it hides the binary noise of sums (1.4500000000000028). */
double mt_round_value(double v);
/* A coverage to four decimals. */
double mt_round_coverage(double c);
/* Parse a non-negative duration: "90", "90s", "15m", "6h", "2d". */
int mt_parse_duration(const char *s, int64_t *seconds);
/* Parse a size: bytes, or with k, M or G (1024-based); 1 byte to 4G. */
int mt_parse_size(const char *s, size_t *out);
/* Parse a whole finite number; the whole string must be used. */
int mt_parse_double(const char *s, double *out);

/* Ids (participants, properties, meters, contracts) name directories and
 * files: 1 to MT_ID_MAX letters, digits, '.', '_' and '-', not starting
 * with '.'. */
#define MT_ID_MAX 64
#define MT_ID_RULE "letters, digits, '.', '_' and '-', not starting with '.', " \
	"at most 64"
int mt_id_valid(const char *id);
/* A byte below 0x20, or DEL. */
int mt_has_control(const char *s);
int mt_id_validn(const char *id, size_t n);

/* String-keyed hash map (util.c); keys are copied, values are borrowed pointers. */
struct mt_map;
struct mt_map *mt_map_new(void);
void mt_map_free(struct mt_map *m);
void *mt_map_get(const struct mt_map *m, const char *key, size_t klen);
void mt_map_put(struct mt_map *m, const char *key, size_t klen, void *val);
/* Remove a key; returns its value, or NULL when absent. */
void *mt_map_del(struct mt_map *m, const char *key, size_t klen);
/* Every entry, in no particular order; fn must not change the map. */
void mt_map_each(const struct mt_map *m, void (*fn)(void *ctx, const char *key,
    size_t klen, void *val), void *ctx);

/* ---- file.c: the files and directories the platform makes ---- */
/* Write PATH atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory, so a crash leaves the old file or the new one.
 * mt_atomic_open returns the temp file to write and its name in *tmp
 * (owned); mt_atomic_commit closes and renames it, or removes it on any
 * failure, and frees *tmp. */
FILE *mt_atomic_open(const char *path, char **tmp, struct mt_err *err);
int mt_atomic_commit(FILE *fp, char *tmp, const char *path, struct mt_err *err);
/* Give up on it: close and remove the temp file, free tmp. */
void mt_atomic_abandon(FILE *fp, char *tmp);

/* mkdir -p with mode 0750 (and the parent's setgid bit) whatever the umask;
 * path is modified on the way and restored. */
int mt_mkdirs(char *path, struct mt_err *err);

/* ---- inbox.c: a participant's inbox, never following its links ---- */
struct mt_inbox;
/* The inbox and the platform's stage for it (created when missing); the
 * inbox's done/ and failed/ must be the platform's, not links.  Files
 * larger than max_size are refused. */
struct mt_inbox *mt_inbox_open(const char *inbox, const char *stage,
    size_t max_size, struct mt_err *err);
void mt_inbox_close(struct mt_inbox *ib);
/* Move every complete entry (NAME.ndjson) into the stage; one that is not
 * a regular file of one link with a plain name, within max_size, goes to
 * failed/ with a reason, unread. */
int mt_inbox_take(struct mt_inbox *ib, long *taken, long *refused,
    struct mt_err *err);
/* Move every staged file into done/ (after the run's commit). */
int mt_inbox_done(struct mt_inbox *ib, struct mt_err *err);
/* Move one staged file into failed/ with a reason. */
int mt_inbox_fail(struct mt_inbox *ib, const char *name, const char *why,
    struct mt_err *err);

/* ---- ndjson.c: streaming NDJSON reader (yajl) ---- */

/* Longest accepted line, in bytes; a longer one is rejected and skipped
 * without being held in memory. */
#ifndef MT_LINE_MAX
#define MT_LINE_MAX (1024 * 1024)   /* the fuzz build makes it small */
#endif
/* Most top-level fields in one record. */
#define MT_FIELDS_MAX 64

enum mt_type { MT_NULL, MT_BOOL, MT_NUMBER, MT_STRING, MT_NESTED };

struct mt_field {
	const char *key;   /* klen bytes, not NUL-terminated */
	size_t klen;
	uint32_t sig;      /* length and three bytes of the key, for lookups */
	const char *str;   /* MT_STRING: the unescaped text (NUL-terminated);
	                    * MT_NUMBER: the number as written */
	size_t len;        /* length of str */
	double num;        /* MT_NUMBER (may be inf when out of range) */
	int boolean;       /* MT_BOOL */
	enum mt_type type;
};

/* One parsed line: the fields of a flat JSON object.  Nested objects and
 * arrays are accepted and typed MT_NESTED; their content is not kept. */
struct mt_rec {
	const char *source;    /* file name, "-" for stdin */
	long line;             /* 1-based line number */
	const char *text;      /* the original line, without CR/LF */
	size_t textlen;
	int truncated;         /* text holds only the first bytes of a long line */
	int nfields;
	struct mt_field f[MT_FIELDS_MAX];
	uint8_t slot[2 * MT_FIELDS_MAX];  /* hash of key -> field index + 1 */
};

struct mt_ndjson;
/* path NULL or "-" reads stdin. */
struct mt_ndjson *mt_ndjson_open(const char *path, struct mt_err *err);
/* A regular file read last line first (a file that runs newest first);
 * with numbered, records carry the file's own line numbers (the file is
 * read once more to count them). */
struct mt_ndjson *mt_ndjson_open_reverse(const char *path, int numbered,
    struct mt_err *err);
void mt_ndjson_close(struct mt_ndjson *r);
/* Next record: 1 a record, 0 end of input, -1 a bad line (err says why;
 * rec->source, line and text describe it for the rejects), -2 read error. */
int mt_ndjson_next(struct mt_ndjson *r, struct mt_rec *rec, struct mt_err *err);
/* Field lookup by key through the record's hash slots.  Inline, so that for
 * a literal key the signature and first slot are computed at compile time. */
static inline uint32_t mt_key_sig(const char *k, size_t n)
{
	if (n == 0)
		return 0;
	return (uint32_t)(n & 0xff) | (uint32_t)(unsigned char)k[0] << 8 |
	    (uint32_t)(unsigned char)k[n / 2] << 16 |
	    (uint32_t)(unsigned char)k[n - 1] << 24;
}

static inline unsigned mt_key_slot(uint32_t sig)
{
	return (sig * 2654435761u) >> 25;   /* 0..127 */
}

static inline const struct mt_field *mt_rec_get(const struct mt_rec *rec,
    const char *key)
{
	size_t n = __builtin_strlen(key);
	uint32_t sig = mt_key_sig(key, n);

	for (unsigned h = mt_key_slot(sig); rec->slot[h] != 0; h = (h + 1) & 127) {
		const struct mt_field *f = &rec->f[rec->slot[h] - 1];
		size_t i = 0;
		if (f->sig != sig || f->klen != n)
			continue;
		while (i < n && f->key[i] == key[i])
			i++;
		if (i == n)
			return f;
	}
	return NULL;
}

/* ---- out.c: NDJSON writer ---- */
struct mt_out;
struct mt_out *mt_out_new(FILE *fp);
void mt_out_free(struct mt_out *o);
void mt_out_begin(struct mt_out *o);
/* Begin with the fields of an existing JSON object (its text, which must
 * be a valid object), so that more fields can follow. */
void mt_out_begin_with(struct mt_out *o, const char *obj, size_t n);
void mt_out_str(struct mt_out *o, const char *key, const char *val);
void mt_out_strn(struct mt_out *o, const char *key, const char *val, size_t n);
/* Finite numbers in the shortest form that reads back to the same double;
 * a non-finite value is written as null. */
void mt_out_num(struct mt_out *o, const char *key, double v);
void mt_out_int(struct mt_out *o, const char *key, int64_t v);
void mt_out_bool(struct mt_out *o, const char *key, int v);
void mt_out_time(struct mt_out *o, const char *key, int64_t ms);
/* Fields already written as JSON ("k":v,"k2":v2), added as they are. */
void mt_out_raw(struct mt_out *o, const char *fields, size_t n);
void mt_out_end(struct mt_out *o);
/* Flush to the FILE and fflush it: 0, or -1 if any write failed. */
int mt_out_flush(struct mt_out *o);
/* Shortest round-trip text of a finite double into buf (>= 32 bytes). */
int mt_format_double(char *buf, size_t size, double v);
/* Append s as a JSON string literal (quotes included) to buf; invalid
 * UTF-8 bytes become U+FFFD.  Returns the length written. */
size_t mt_json_escape(char *dst, const char *s, size_t n);
#define MT_ESCAPED_MAX(n) (6 * (n) + 2)

/* ---- time.c: RFC 3339 times, UTC hours, IANA zones ---- */
typedef int64_t mt_time_t;
#define MT_HOUR_MS ((int64_t)3600000)

enum mt_tsform {
	MT_TS_UTC,     /* carried Z or an offset */
	MT_TS_LOCAL    /* no offset: a wall-clock time, zone still to apply */
};

/* Parse "YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm|+hhmm]" (and a bare
 * date as midnight).  Years 1900..9999.  *form says whether an offset was
 * present; for MT_TS_LOCAL, *ms holds the wall time as if it were UTC. */
/* The first instant no time may reach: 9999-01-01T00:00:00Z. */
#define MT_TIME_END 253370764800000LL
int mt_time_parse(const char *s, size_t n, mt_time_t *ms, enum mt_tsform *form,
    struct mt_err *err);
/* Format as RFC 3339 UTC with Z; milliseconds only when non-zero.  buf must
 * hold 32 bytes.  Returns the length. */
size_t mt_time_format(char *buf, mt_time_t ms);
int64_t mt_days_from_civil(int y, unsigned m, unsigned d);
void mt_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
static inline mt_time_t mt_hour_floor(mt_time_t t)
{
	mt_time_t r = t % MT_HOUR_MS;
	return t - (r < 0 ? r + MT_HOUR_MS : r);
}

/* An IANA time zone from the system tz database.  Conversions are cached
 * per period of constant offset, so a lookup is a binary search. */
struct mt_zone;
struct mt_zone *mt_zone_open(const char *name, struct mt_err *err);
void mt_zone_free(struct mt_zone *z);
/* UTC offset in seconds at a UTC instant. */
int mt_zone_offset(struct mt_zone *z, mt_time_t utc);
/* A UTC instant on the local clock of a zone (the warehouse's local
 * columns and meter-enrich's fields come from this one place). */
struct mt_local {
	char text[32];     /* YYYY-MM-DDThh:mm:ss+hh:mm; its first 10 bytes are
	                    * the local date, its first 7 the month */
	int64_t day;       /* local date, days since 1970-01-01 */
	int weekday;       /* ISO: 1 = Monday */
	int minute;        /* minutes after local midnight */
};
void mt_local_time(struct mt_zone *z, mt_time_t utc, struct mt_local *lt);
/* Wall time -> UTC.  Returns the number of matching instants: 1 (utc[0]),
 * 2 for a repeated hour (utc[0] < utc[1]) or 0 for a time that does not
 * exist (skipped by a DST change). */
int mt_zone_to_utc(struct mt_zone *z, mt_time_t wall, mt_time_t utc[2]);

/* ---- units.c: quantities, canonical units, conversions ---- */
enum mt_qclass {
	MT_Q_ADDITIVE,  /* energy, water: hours are sums */
	MT_Q_LEVEL      /* temperature, occupancy, ppm: hours are means */
};

struct mt_quantity {
	const char *name;
	const char *unit;       /* canonical unit */
	enum mt_qclass qclass;
	const char *dimension;  /* "energy", "volume", "temperature", ... */
};

const struct mt_quantity *mt_quantity_find(const char *name);
/* The quantity a unit can only measure (therm: gas, degC: temperature,
 * ppm: co2), or NULL when several share it (kWh, m3) or it is unknown. */
const struct mt_quantity *mt_quantity_for_unit(const char *unit);
/* "electricity, gas, heat or cooling": the quantities a unit may measure. */
void mt_quantities_of_unit(const char *unit, char *buf, size_t cap);
/* The table's spelling of a unit written in another case, or NULL. */
const char *mt_unit_suggest(const char *unit);

/* How a source unit maps onto a quantity's canonical unit. */
struct mt_conv {
	double factor, offset;  /* canonical = value * factor + offset */
	int rate;               /* a rate (kW, m3/h): integrate over time; the
	                         * factor converts to canonical units per hour */
	int needs_cv;           /* m3 of gas: factor is kWh per MJ/m3 */
};

/* 0 and *c filled, or -1 with a reason in err (unknown unit, or a unit of
 * another dimension). */
int mt_unit_convert(const struct mt_quantity *q, const char *unit,
    struct mt_conv *c, struct mt_err *err);

/* ---- cli.c: what the programs share to talk to their users ---- */
void mt_cli_init(char **argv);
const char *mt_prog(void);
/* "prog: msg" on stderr. */
void mt_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: FILE:LINE: msg" (or "prog: FILE: msg" when line is 0). */
void mt_diag(const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mt_diag_err(const struct mt_err *err);
/* Every record of the files, or of stdin when there are none: fn for each
 * parsed record (a negative return stops, its error reported by fn), bad
 * for each line that is not a record, and for each record of another
 * participant than `participant` when that is not NULL (-p).  0, or -1
 * after an unreadable file (reported here). */
typedef int (*mt_record_fn)(void *ctx, const struct mt_rec *rec);
typedef void (*mt_badline_fn)(void *ctx, const struct mt_rec *rec,
    const char *why);
int mt_cli_each_record(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx);
/* The same, a file of runs in time order one after another (the meters of
 * a fetch in turn) read as its runs merged by time: for the programs that
 * read in a window (meter-standardize, meter-aggregate). */
int mt_cli_each_record_in_time(int nfiles, char **files, const char *participant,
    mt_record_fn fn, mt_badline_fn bad, void *ctx);
/* --check: load and validate each configuration (of participant, when
 * not NULL), say what it holds on stdout; the exit status. */
int mt_cli_check(size_t n, const char *const *paths, const char *participant);
/* Report a failed write to stdout (errno says why), once per process. */
void mt_stdout_error(void);
/* Close stdout and report a failed write: MT_EXIT_IO, or status unchanged. */
int mt_finish_stdout(int status);

/* The reject stream every program uses: with a FILE, one NDJSON line per
 * reject {"error","source","line","record"}; without, one diagnostic on
 * stderr per reject. */
struct mt_rejects {
	FILE *fp;         /* --rejects file, or NULL */
	int quiet;        /* -q: no per-reject diagnostics */
	long count;
	int failed;       /* writing the rejects file failed */
	int error;        /* the errno it failed with, 0 unknown */
	struct mt_reasons *reasons;   /* counts per input and reason */
};
/* On stderr, the first MT_REJECTS_SHOWN rejects of one reason from one
 * input each get a line; the rest are counted in one line at the end. */
#define MT_REJECTS_SHOWN 10
int mt_rejects_open(struct mt_rejects *rj, const char *path, struct mt_err *err);
int mt_rejects_close(struct mt_rejects *rj);
/* The end every program shares: "N records rejected" when they went to
 * stderr and not -q, the rejects file closed (a failed write reported as
 * "cannot write rejects file PATH", exit 3), and the status rule: 1 when
 * anything was rejected and nothing worse happened.  Returns the status;
 * then mt_finish_stdout. */
int mt_cli_finish(struct mt_rejects *rj, const char *path, int status);
void mt_reject(struct mt_rejects *rj, const char *source, long line,
    const char *text, size_t len, const char *reason);
void mt_reject_rec(struct mt_rejects *rj, const struct mt_rec *rec,
    const char *reason);
/* The rejects by reason, for --stats: " (late 3, malformed JSON 1)", or
 * "" when there are none; in a buffer of rj's, valid until the next call. */
const char *mt_rejects_by_reason(struct mt_rejects *rj);
/* Worth a diagnostic, not a reject (a reset, a gap): on stderr unless -q. */
void mt_notice(struct mt_rejects *rj, const char *source, long line,
    const char *msg);

/* ---- record.c: the record contracts (meter-records(5)) ---- */
enum mt_kind { MT_CUMULATIVE, MT_INTERVAL, MT_INSTANT };
/* partial: a property hour missing some of its expected meters.  Keep the
 * order: the values are a SQLite warehouse's quality codes. */
enum mt_quality { MT_MEASURED, MT_INTERPOLATED, MT_ESTIMATED, MT_PARTIAL };

const char *mt_kind_name(enum mt_kind k);
const char *mt_quality_name(enum mt_quality q);
int mt_quality_parse(const char *s, enum mt_quality *q);

/* A raw reading, validated.  Strings borrow from the mt_rec. */
struct mt_reading {
	const char *participant, *property, *meter, *unit, *source_quality;
	const struct mt_quantity *q;
	enum mt_kind kind;
	mt_time_t ts;
	enum mt_tsform form;
	double value;
	int64_t duration;       /* seconds, interval readings */
	double rollover;        /* register maximum, 0 when unknown */
	double calorific;       /* MJ/m3 for gas in m3, 0 when absent */
	int estimated;
};

/* A meter hour, validated.  Strings borrow from the mt_rec. */
struct mt_meter_hour {
	const char *participant, *property, *meter, *unit;
	const struct mt_quantity *q;
	mt_time_t hour;
	double value, coverage;
	enum mt_quality quality;
};

/* Which contract a record follows: 'r' raw reading (has "ts"), 'h' meter
 * hour (has "hour" and "meter"), 0 neither. */
int mt_rec_kind(const struct mt_rec *rec);
/* Validate a raw reading; a wall-clock ts is resolved by the caller. */
int mt_reading_parse(const struct mt_rec *rec, struct mt_reading *r,
    struct mt_err *err);
int mt_meter_hour_parse(const struct mt_rec *rec, struct mt_meter_hour *h,
    struct mt_err *err);
/* A raw reading as meter-fetch emits it (source may be NULL). */
void mt_reading_write(struct mt_out *o, const struct mt_reading *r,
    const char *source);
/* Convert h->value to the quantity's canonical unit (a rate or a volume of
 * gas is refused: an hour is an amount). */
int mt_meter_hour_canonical(struct mt_meter_hour *h, struct mt_err *err);
void mt_meter_hour_write(struct mt_out *o, const struct mt_meter_hour *h);

/* A property hour (meter-aggregate, meter-enrich), validated; the record
 * stays reachable for the optional context fields. */
struct mt_property_hour {
	const char *participant, *property, *unit;
	const struct mt_quantity *q;
	mt_time_t hour;
	double value, coverage;
	enum mt_quality quality;
	long meters, meters_expected;
	const struct mt_rec *rec;
};

/* 'h' meter hour (has "meter"), 'p' property hour (has "property" and no
 * "meter"), 0 neither; records on the way to the warehouse. */
int mt_hour_kind(const struct mt_rec *rec);
/* NULL when the record's kind is one of `takes` ('r' raw reading, 'h'
 * meter hour, 'p' property hour), else why not, naming the program that
 * takes it or the field that is missing. */
const char *mt_rec_misplaced(const struct mt_rec *rec, const char *takes);
int mt_property_hour_parse(const struct mt_rec *rec, struct mt_property_hour *h,
    struct mt_err *err);
/* The fields of a property hour, without closing the record, so that
 * context can follow; meters_expected is left out when negative. */
void mt_property_hour_fields(struct mt_out *o, const struct mt_property_hour *h);
void mt_property_hour_write(struct mt_out *o, const struct mt_property_hour *h);

/* ---- std.c: raw readings -> meter hours (meter-standardize's engine) ---- */
struct mt_std_opts {
	int64_t lateness_ms;    /* correction window */
	int64_t max_gap_ms;     /* longer gaps are reported */
	double noise;           /* a counter decrease up to this is noise */
	double rollover;        /* default register maximum, 0 unknown */
	double calorific;       /* default MJ/m3 for gas in m3, 0 none */
	struct mt_zone *zone;   /* for wall-clock timestamps, or NULL */
};

struct mt_std_stats {
	long in, out, merged, rejected, passed;
	long hours, duplicates, superseded, late, corrections;
	long resets, rollovers, noise, gaps;
};

struct mt_std;
/* Rejects go to rj; what is worth a diagnostic but is no reject (a reset,
 * a gap) to mt_notice. */
struct mt_std *mt_std_new(const struct mt_std_opts *opts,
    struct mt_rejects *rj, struct mt_out *out);
void mt_std_free(struct mt_std *s);
/* Feed one parsed input record (raw reading or meter hour). */
void mt_std_add(struct mt_std *s, const struct mt_rec *rec);
/* Count and reject an input line that could not be parsed at all. */
void mt_std_reject(struct mt_std *s, const struct mt_rec *rec,
    const char *reason);
/* End of input: emit every closed hour not yet emitted (all hours with data
 * when flush_open is set). */
void mt_std_finish(struct mt_std *s, int flush_open);
const struct mt_std_stats *mt_std_stats(const struct mt_std *s);
/* State between runs: the readings inside the correction window and what
 * is still to be emitted, per meter, as NDJSON. */
int mt_std_load_state(struct mt_std *s, const char *path, struct mt_err *err);
int mt_std_save_state(struct mt_std *s, const char *path, struct mt_err *err);

/* ---- config.c: the participant configuration (meter-config(5)) ---- */
struct mt_contract {
	char *id;
	double co2_kg_per_kwh;   /* -1 when not given */
	char *co2_series;        /* hourly intensity file, or NULL */
	long line;
};

struct mt_office_hours {
	unsigned days;           /* bit i: ISO weekday i + 1 */
	int from, to;            /* minutes after local midnight */
};

struct mt_closure {
	int64_t from_day, to_day;   /* days since 1970-01-01, inclusive */
};

struct mt_property_cfg {
	char *id, *name, *type, *region, *timezone;
	double area_m2;          /* 0 when not given */
	struct mt_office_hours *hours;
	size_t nhours;
	struct mt_closure *closures;
	size_t nclosures;
	long line;
};

struct mt_header {
	char *name, *env, *prefix;
};

/* Where a participant's meters publish: MT_MQTT_PREFIX "ID/..." */
#define MT_MQTT_PREFIX "meter/"
#define MT_TOPIC_MAX 256
#define MT_TOPIC_METERS_MAX 16     /* meters that read one topic */

/* A connector's attributes as given: meter-fetch(1) reads them. */
struct mt_connector {
	char *type;
	char **attrs;            /* name, value, ..., NULL */
	struct mt_header *headers;
	size_t nheaders;
	long line;
};

struct mt_meter_cfg {
	char *id, *property, *unit, *kind, *contract;
	const struct mt_quantity *q;
	double rollover, calorific;   /* 0 when not given */
	int external;
	struct mt_connector *connector;
	long line;
};

/* How a quantity's meters add up to a property hour. */
struct mt_agg_rule {
	const struct mt_quantity *q;
	int mean;                /* 1 coverage-weighted mean, 0 sum */
};

struct mt_config {
	char *path, *id, *name, *timezone;
	char *dir;               /* the configuration's directory: the
	                          * participant's, where its paths lead */
	struct mt_agg_rule *rules;
	size_t nrules;
	struct mt_contract *contracts;
	size_t ncontracts;
	struct mt_property_cfg *properties;
	size_t nproperties;
	struct mt_meter_cfg *meters;
	size_t nmeters;
	struct mt_map *meter_index, *property_index;   /* id -> position + 1 */
};

/* Load and validate; errors name file, line and element (err->status is
 * MT_EXIT_USAGE for a bad file, MT_EXIT_IO for an unreadable one). */
struct mt_config *mt_config_load(const char *path, struct mt_err *err);
/* The same, refusing a configuration whose id is not participant (when
 * that is not NULL): the dispatcher's -p, the participant's directory. */
struct mt_config *mt_config_load_for(const char *path, const char *participant,
    struct mt_err *err);
void mt_config_free(struct mt_config *cfg);
/* "2 properties, 5 meters, 3 connectors (csv 2, json 1), 1 contract" */
void mt_config_describe(const struct mt_config *cfg, char *buf, size_t cap);
struct mt_property_cfg *mt_config_property(const struct mt_config *cfg,
    const char *id);
struct mt_meter_cfg *mt_config_meter(const struct mt_config *cfg,
    const char *id);

/* ---- conn/conn.c: the attributes of a <connector> ---- */
/* Whether a <connector> of the type (an enum value of the connector
 * table, or -1 for any type) takes the attribute (meter-fetch's -o keys). */
int mt_conn_attr_known(int type, const char *name);
/* The known attribute nearest to a mistyped name (type -1: any type's);
 * 0 when none is close. */
int mt_conn_attr_suggest(int type, const char *name, char *buf, size_t cap);

/* ---- url.c: network ranges the operator allows ---- */
/* Network ranges (CIDR) the operator allows beside the public Internet. */
struct mt_netlist;
struct sockaddr;
struct mt_netlist *mt_netlist_new(void);
void mt_netlist_free(struct mt_netlist *l);
/* 0, or -1 for text that is not an address or CIDR range. */
int mt_netlist_add(struct mt_netlist *l, const char *cidr);
/* ---- fetch.c: meter-fetch's engine ---- */
struct mt_fetcher_opts {
	const char *config;            /* participant.xml, or NULL: ad hoc */
	const char *participant;       /* -p: the configuration's id, or the
	                                * readings' participant ad hoc */
	const char *type;              /* ad hoc: -t, its -o attributes */
	char **attrs;                  /* name, value, ..., NULL */
	const char *meter, *property, *quantity;   /* -m -P -Q */
	const char **select;           /* --meter ids (with -c) */
	size_t nselect;
	const char *archive, *state, *secrets;
	const struct mt_netlist *allow;
	long max_timeout_ms;           /* the operator's ceilings */
	int max_retries;
	size_t max_size;
	mt_time_t since, until;
	int has_since, has_until;
	int parallel, replay;
	double retry_base, retry_max;
};

struct mt_fetcher_stats {
	long meters, done, failed, readings, skipped, filtered;
};

/* What the engine tells its program, beside the records. */
struct mt_fetcher_hooks {
	void *ctx;
	/* a meter failed; where is a path or URL fit to show, or NULL */
	void (*failed)(void *ctx, const char *where, long line, const char *meter,
	    const char *why);
	/* after each meter, and once at the end (last set); may be NULL */
	void (*progress)(void *ctx, const struct mt_fetcher_stats *st, int last);
};

/* One planned meter, as a dry run shows it. */
struct mt_fetcher_job {
	const char *meter, *type, *shown;
	int has_cursor;
	mt_time_t cursor;
};

struct mt_fetcher;
/* The meters to fetch: of the configuration, of the arguments (ad hoc,
 * URLs or files), or the archived payloads to replay.  NULL with err
 * (MT_EXIT_USAGE: a bad configuration or option). */
struct mt_fetcher *mt_fetcher_new(const struct mt_fetcher_opts *o, int nargs,
    char **args, const struct mt_fetcher_hooks *h, struct mt_rejects *rj,
    struct mt_err *err);
void mt_fetcher_free(struct mt_fetcher *f);
/* Read the cursors and fill the URLs in (now: the clock, milliseconds). */
int mt_fetcher_plan(struct mt_fetcher *f, mt_time_t now, struct mt_err *err);
size_t mt_fetcher_count(const struct mt_fetcher *f);
void mt_fetcher_describe(const struct mt_fetcher *f, size_t i,
    struct mt_fetcher_job *d);
/* Fetch, archive and parse every meter, writing readings to out; -1 only
 * when the transport could not start at all. */
int mt_fetcher_run(struct mt_fetcher *f, FILE *out, struct mt_err *err);
/* Move the cursors of the meters that succeeded: call once out is flushed. */
int mt_fetcher_commit(struct mt_fetcher *f, struct mt_err *err);
const struct mt_fetcher_stats *mt_fetcher_stats(const struct mt_fetcher *f);
/* The archive or the output failed to be written. */
int mt_fetcher_io_failed(const struct mt_fetcher *f);

/* ---- listen.c: meter-listen's engine (MQTT, libmosquitto) ---- */
struct mt_listen_opts {
	const char *broker;            /* mqtt://HOST[:PORT], mqtts://... */
	const char *client_id;         /* the persistent session's name */
	const char *ca_file;           /* mqtts: the CAs; NULL: the system's */
	const char *username, *password;   /* or NULL */
	const char *secrets;           /* or MQTT_USERNAME, MQTT_PASSWORD here */
	size_t rotate_size, max_size;  /* a spool file's, a payload's */
	int64_t rotate_age_ms;
	double retry_base, retry_max;  /* reconnection backoff, seconds */
	int receive_max, keepalive;
	uint32_t session_expiry;       /* seconds the broker keeps the session */
	FILE *log;                     /* a line per change of state */
	struct mt_rejects *rj;         /* messages of no participant */
};

/* One participant the listener serves. */
struct mt_listen_part {
	const struct mt_config *cfg;
	const char *spool;             /* its spool directory, or NULL: the
	                                * readings go to the listener's out */
	const char *archive;           /* the raw archive, or NULL */
	struct mt_rejects *rj;
};

struct mt_listen_stats {
	long messages, readings, rejected, skipped, duplicates, reconnects, files;
};

struct mt_listen_hooks {
	void *ctx;
	volatile sig_atomic_t *stop, *report;   /* set by signal handlers */
	void (*stats)(void *ctx, const struct mt_listen_stats *st, int last);
};

struct mt_listener;
/* Open the parts (rotating what a crash left), set the client up; NULL
 * with err. */
struct mt_listener *mt_listener_new(const struct mt_listen_opts *o,
    struct mt_listen_part *parts, size_t n, FILE *out, struct mt_err *err);
/* Listen until *h->stop; then commit, acknowledge, rotate, disconnect.
 * -1 when a write failed (nothing unwritten was acknowledged). */
int mt_listener_run(struct mt_listener *l, const struct mt_listen_hooks *h,
    struct mt_err *err);
const struct mt_listen_stats *mt_listener_stats(const struct mt_listener *l);
size_t mt_listener_meters(const struct mt_listener *l);
void mt_listener_free(struct mt_listener *l);

/* ---- db.c: the warehouse (SQLite) ---- */


struct mt_db;
/* Open or create the warehouse and bring its schema up to date.  Refuses
 * a schema newer than this program knows. */
/* A path is an SQLite file; a postgresql:// URI (libpq's; the password
 * from PGPASSWORD or ~/.pgpass, never in it) a PostgreSQL database. */
struct mt_db *mt_db_open(const char *path, struct mt_err *err);
/* Whether a warehouse name is a PostgreSQL URI. */
int mt_db_is_postgres(const char *path);
void mt_db_close(struct mt_db *db);
/* The same for a warehouse that must exist already (a reader's open):
 * none is MT_EXIT_USAGE. */
struct mt_db *mt_db_open_existing(const char *path, struct mt_err *err);
/* A read transaction: the selects until mt_db_commit see one snapshot. */
int mt_db_read_begin(struct mt_db *db, struct mt_err *err);
/* The queries meter-report runs, in the warehouse's own SQL. */
enum mt_sql { MT_SQL_RANGE_FIGURES, MT_SQL_MONTHS, MT_SQL_WEEK,
	MT_SQL_SIGNATURE, MT_SQL_CALENDAR };
const char *mt_db_sql(struct mt_db *db, enum mt_sql which);
/* Run a query with text parameters (NULL binds SQL NULL): a first call
 * with the column names (cols NULL), then one per row with the columns as
 * text (names NULL; NULL for SQL NULL), valid during the call; fn returns
 * -1 to stop. */
typedef int (*mt_db_row_fn)(void *ctx, int ncols, const char *const *cols,
    const char *const *names);
int mt_db_select(struct mt_db *db, const char *sql, const char *const *params,
    int nparams, mt_db_row_fn fn, void *ctx, struct mt_err *err);
/* A statement without rows (an insert, a delete) with text parameters. */
int mt_db_exec(struct mt_db *db, const char *sql, const char *const *params,
    int nparams, struct mt_err *err);
/* Write transactions: begin takes the write lock, waiting for other
 * writers (busy timeout); commit makes everything since begin durable. */
int mt_db_begin(struct mt_db *db, struct mt_err *err);
int mt_db_commit(struct mt_db *db, struct mt_err *err);
void mt_db_rollback(struct mt_db *db);
/* Insert or replace by natural key. */
int mt_db_put_meter_hour(struct mt_db *db, const struct mt_meter_hour *h,
    struct mt_err *err);
/* Judge the meter hours written since the last call for suspects
 * (negative, spikes, zero runs: meter-warehouse(5)), inside the open
 * transaction; the values and qualities are kept. */
int mt_db_judge_hours(struct mt_db *db, struct mt_err *err);
/* The participant's configured meters that never delivered an hour
 * (last_hour NULL) or are stale: their last hour more than the settings'
 * stale_hours before now. */
typedef void (*mt_db_stale_fn)(void *ctx, const char *meter,
    const char *quantity, const char *last_hour);
int mt_db_stale_meters(struct mt_db *db, const char *participant,
    mt_db_stale_fn fn, void *ctx, struct mt_err *err);
int mt_db_put_property_hour(struct mt_db *db, const struct mt_property_hour *h,
    struct mt_err *err);
/* Replace everything stored of the participant's configuration, and bring
 * the local calendar of its property hours in line with its zones. */
int mt_db_put_config(struct mt_db *db, const struct mt_config *cfg,
    struct mt_err *err);

/* The stored meter hours of a participant, quantity and hour, one call
 * each; for completing a property hour with meters not in the input. */
typedef void (*mt_db_hour_fn)(void *ctx, const struct mt_meter_hour *h);
/* The same for the hours [from, to): every property's meters at once. */
int mt_db_meter_hours_range(struct mt_db *db, const char *participant,
    const struct mt_quantity *q, mt_time_t from, mt_time_t to, mt_db_hour_fn fn,
    void *ctx, struct mt_err *err);
int mt_db_meter_hours_at(struct mt_db *db, const char *participant,
    const struct mt_quantity *q, mt_time_t hour, mt_db_hour_fn fn, void *ctx,
    struct mt_err *err);

struct mt_load_log {
	const char *source;
	mt_time_t started, finished;
	long in, loaded, rejected;
};
int mt_db_log_load(struct mt_db *db, const struct mt_load_log *log,
    struct mt_err *err);
/* A dispatcher run record (meter-hourly(1)): {"run", "participant",
 * "started", "finished", "status", "fetched", "loaded", "rejected",
 * "message"}; 0 stored, 1 not a run record, -1 a bad one or a database
 * failure (err->status tells which). */
int mt_db_put_run(struct mt_db *db, const struct mt_rec *rec, struct mt_err *err);

/* ---- chart.c: the report's SVG charts and number formatting ---- */
/* Text escaped for HTML content and attribute values; what is not a
 * character XML allows becomes U+FFFD. */
void mt_html_text(FILE *out, const char *s);
/* The length of the UTF-8 character at s if XML allows it, else 0. */
size_t mt_utf8_char(const char *s);
/* Numbers for people: commas between thousands, a fixed number of
 * decimals; mt_fmt_auto keeps four significant digits (at most four
 * decimals); not finite gives an en dash.  Return buf. */
int mt_fmt_decimals(double v);
char *mt_fmt_num(char *buf, size_t cap, double v, int decimals);
char *mt_fmt_auto(char *buf, size_t cap, double v);
struct mt_chart_series {
	const char *name, *colour;
	const double *v;           /* a value per category, NAN for none */
};
struct mt_chart_fit {
	double slope, intercept, r2;
};
/* A quantity's colour (Okabe-Ito), alike in every chart and table. */
const char *mt_chart_colour(const char *quantity);
void mt_chart_bars(FILE *out, const char *label, const char *const *cats,
    size_t ncat, const struct mt_chart_series *s, size_t ns, const char *unit);
void mt_chart_heatmap(FILE *out, const char *label, const double v[7][24],
    const char *unit);
void mt_chart_scatter(FILE *out, const char *label, const double *x,
    const double *y, size_t n, const struct mt_chart_fit *fit,
    const char *xunit, const char *yunit, const char *colour);
/* first_weekday: ISO weekday (1 Monday) of dates[0] */
void mt_chart_calendar(FILE *out, const char *label, const char *const *dates,
    const double *cover, size_t n, int first_weekday);

/* ---- report.c: meter-report's page ---- */
struct mt_report_opts {
	const char *source;                  /* the warehouse, as named */
	const char *const *participants;     /* none: every participant */
	size_t nparticipants;
	const char *type, *quantity;         /* NULL: every one */
	const char *year;                    /* a calendar year, or NULL */
	const char *from, *to;               /* a local date range, or NULL */
	const char *title, *csv_dir;
	long max_rows, max_buildings;
};
/* The HTML page of the benchmark figures the options select (meter-report(1)),
 * and with csv_dir its tables as CSV files there. */
int mt_report_write(struct mt_db *db, const struct mt_report_opts *o,
    FILE *out, struct mt_err *err);

/* ---- baseline.c: expected consumption (meter-baseline's engine) ---- */
struct mt_baseline_opts {
	struct mt_zone *zone;          /* the building's, borrowed */
	int64_t base_from, base_to;    /* local days, inclusive */
	int64_t rep_from, rep_to;      /* the same; rep_to < rep_from: none */
	double max_p;                  /* a degree-day term's largest p-value */
};

/* An expected value: of an hour, or of a day (hour its first hour). */
struct mt_baseline_pred {
	mt_time_t hour;
	int64_t day;                   /* its local date */
	int hours;                     /* 1, or the day's hours (23 to 25) */
	int reporting;                 /* 0: in the baseline period */
	double expected;
};

struct mt_baseline_fit {
	const char *model;             /* "daily" or "hourly" */
	int fitted;                    /* 0: reason says why not */
	char reason[400];
	const char *type;              /* intercept_only, hdd_only, cdd_only,
	                                * hdd_cdd; tow_temperature */
	int heating_f, cooling_f;      /* balance points, whole degF; -1 none */
	double intercept, beta_hdd, beta_cdd;   /* per day, per degC-day */
	long n;                        /* days (hours) fitted */
	int k;                         /* coefficients */
	double r2, adj_r2, cvrmse, nmbe;
	long reporting_n;              /* reporting days (hours) compared */
	double expected, actual, savings, fsu;  /* NAN without them */
	struct mt_baseline_pred *pred; /* owned, in time order */
	size_t npred;
};

struct mt_baseline;
struct mt_baseline *mt_baseline_new(const struct mt_baseline_opts *o);
void mt_baseline_free(struct mt_baseline *b);
/* An hour's usage and outside temperature (degC), either NAN when absent:
 * 1 taken, 0 outside the periods.  A temperature beyond -90..60 degC is
 * none, and counted (mt_baseline_implausible). */
int mt_baseline_add(struct mt_baseline *b, mt_time_t hour, double use,
    double temp);
long mt_baseline_implausible(const struct mt_baseline *b);
/* Fit when the data suffice (else f->reason), predict both periods. */
void mt_baseline_daily(struct mt_baseline *b, struct mt_baseline_fit *f);
void mt_baseline_hourly(struct mt_baseline *b, struct mt_baseline_fit *f);
void mt_baseline_fit_free(struct mt_baseline_fit *f);

/* ---- context.c: weather, CO2 and holiday files for meter-enrich ---- */
struct mt_series;
/* An hourly series: CSV (time, value; gzip allowed; a value header with
 * "degF" or "tempF" is Fahrenheit and read as degC) or NDJSON meter hours
 * (.ndjson, .jsonl).  Errors name the file and line.  With base, path is
 * a participant's: confined to base as mt_open_inside does. */
struct mt_series *mt_series_load(const char *base, const char *path,
    struct mt_err *err);
/* Outside temperature in degC: FILE, or FILE#degC, #degF or #K for a
 * column whose header names no unit.  A CSV column whose header names no
 * temperature unit, or NDJSON meter hours of another quantity, are
 * refused: nothing else is read as a temperature. */
struct mt_series *mt_weather_load(const char *spec, struct mt_err *err);
/* Holidays: JSON {"YYYY-MM-DD": name}, GOV.UK JSON as FILE#division, or
 * iCalendar (.ics) all-day events. */
struct mt_series *mt_holidays_load(const char *spec, struct mt_err *err);
void mt_series_free(struct mt_series *s);
int mt_series_get(const struct mt_series *s, mt_time_t hour, double *v);
/* The first and last hour of a series; 0 when it is empty. */
int mt_series_span(const struct mt_series *s, mt_time_t *first, mt_time_t *last);
/* Whether the calendar covers the day's year at all. */
int mt_holiday_known(const struct mt_series *s, int64_t day);
/* The first and last years the calendar lists; 0 for both when empty. */
void mt_holiday_years(const struct mt_series *s, int *first, int *last);
/* The holiday's name on a day (days since 1970-01-01), or NULL. */
const char *mt_holiday_get(const struct mt_series *s, int64_t day);

/* ---- enrich.c: property hours in context (meter-enrich's engine) ---- */
/* A context file for a region (holidays, weather) or a contract. */
struct mt_named {
	char *name;
	struct mt_series *s;
};

struct mt_enrich_opts {
	struct mt_config **cfgs;        /* borrowed, as the lists below */
	size_t ncfgs;
	const struct mt_named *holidays;   /* by region */
	size_t nholidays;
	const struct mt_named *weather;    /* by region, hourly degC */
	size_t nweather;
	double hdd_base, cdd_base;      /* degC */
};

/* Hours of a region and year its holiday calendar does not list: they
 * carry no holiday field, and office_hours treats their holidays as
 * working days. */
struct mt_uncovered {
	const char *region;
	int year;
	long hours;
	int weather;             /* 1: the weather series, 0: the calendar */
};

struct mt_enrich_stats {
	long in, out, rejected;
	long uncovered_hours;     /* holidays unknown */
	long no_weather_hours;    /* before or after the region's weather series */
	const struct mt_uncovered *uncovered;
	size_t nuncovered;
};

struct mt_enrich;
/* Reads the configurations' co2-series (confined to their directories). */
struct mt_enrich *mt_enrich_new(const struct mt_enrich_opts *o,
    struct mt_rejects *rj, struct mt_out *out, struct mt_err *err);
void mt_enrich_free(struct mt_enrich *e);
void mt_enrich_add(struct mt_enrich *e, const struct mt_rec *rec);
void mt_enrich_reject(struct mt_enrich *e, const struct mt_rec *rec,
    const char *why);
/* 0, or -1 when the output could not be written. */
int mt_enrich_finish(struct mt_enrich *e);
const struct mt_enrich_stats *mt_enrich_stats(struct mt_enrich *e);

/* ---- agg.c: meter hours -> property hours (meter-aggregate's engine) ---- */
struct mt_agg_opts {
	int64_t window_ms;        /* groups older than newest - window close */
	struct mt_config **cfgs;  /* participants' configurations, or none */
	size_t ncfgs;
	struct mt_db *db;         /* complete groups from the warehouse, or NULL */
};

struct mt_agg_stats {
	long in, out, merged, rejected, completed, late;
};

struct mt_agg;
struct mt_agg *mt_agg_new(const struct mt_agg_opts *o, struct mt_rejects *rj,
    struct mt_out *out);
void mt_agg_free(struct mt_agg *a);
/* 0, or -1 when the warehouse failed (err says why). */
int mt_agg_add(struct mt_agg *a, const struct mt_rec *rec, struct mt_err *err);
/* A line that is not a record: counted in and rejected. */
void mt_agg_reject(struct mt_agg *a, const struct mt_rec *rec, const char *why);
int mt_agg_finish(struct mt_agg *a, struct mt_err *err);
const struct mt_agg_stats *mt_agg_stats(const struct mt_agg *a);

#endif
