/*
 * meter_priv.h - what the library's files share among themselves and with
 * the fuzz harnesses, beyond the programs' API in meter.h: the connector
 * interface, the transport, the archive, the URL and path rules, the map.
 * The ownership and error rules of meter.h hold here too.
 */
#ifndef METER_PRIV_H
#define METER_PRIV_H

#include "meter.h"

#include <sys/types.h>

/* ---- file.c: files a participant names, files the platform makes ---- */
/* A relative path that stays inside its base directory by its letters: not
 * absolute, not empty, no ".." above the base. */
int mt_path_inside(const char *rel);
/* Open base/rel for reading: rel inside base by its letters, opened
 * component by component without following symbolic links, and only a
 * regular file (never blocking on a FIFO).  A descriptor, or -1 with err
 * (file: rel, msg: why). */
int mt_open_inside(const char *base, const char *rel, struct mt_err *err);
/* Read all of fd into *buf (NUL-terminated, owned); more than max bytes is
 * an error. */
int mt_read_fd(int fd, size_t max, char **buf, size_t *len, struct mt_err *err);
/* Undo gzip when the body starts with its magic; *out is body itself
 * otherwise, or a new buffer (owned) of at most max bytes. */
int mt_gunzip(const char *body, size_t n, size_t max, char **out,
    size_t *outn, struct mt_err *err);
/* A whole file, gzip undone, at most max bytes: base/path confined as
 * mt_open_inside does, or path as given when base is NULL. */
int mt_slurp(const char *base, const char *path, size_t max, char **buf,
    size_t *len, struct mt_err *err);
/* Open path, creating it with mode 0640 whatever the umask when it does not
 * exist (flags: O_WRONLY, O_RDWR, O_APPEND, O_TRUNC; O_EXCL: must be new). */
int mt_create_fd(const char *path, int flags, struct mt_err *err);

/* The operator's secrets for one participant: NAME=value lines in a file
 * only its owner may read.  A missing file is no secrets. */
struct mt_secrets;
struct mt_secrets *mt_secrets_load(const char *path, struct mt_err *err);
const char *mt_secrets_get(const struct mt_secrets *s, const char *name);
void mt_secrets_free(struct mt_secrets *s);

/* The same over an open descriptor (owned from here on), named name. */
struct mt_ndjson *mt_ndjson_open_fd(int fd, const char *name, struct mt_err *err);
/* Bytes [from, to) of the file open as fd (not closed with the reader),
 * numbered from lines_before + 1; its buffers start at PART_CHUNK. */
#define PART_CHUNK (8 * 1024)
struct mt_ndjson *mt_ndjson_open_part(int fd, const char *name, off_t from,
    off_t to, long lines_before);
int mt_ndjson_is_reverse(const struct mt_ndjson *r);

/* Text to double: exact for plain decimals, strtod for the rest. */
double mt_strtod(const char *s, size_t n);

/* ---- units.c ---- */

/* The quantity's number in the table, 0 to MT_WH_NQUANTITIES - 1: its
 * code in a SQLite warehouse, where a meter hour stores it in place of
 * the name and unit (warehouse/schema.sql.h, migration 7). */
#define MT_WH_NQUANTITIES 12
int mt_quantity_code(const struct mt_quantity *q);
/* the quantity of a code, NULL for none */
const struct mt_quantity *mt_quantity_of_code(int code);

/* ---- input.c ---- */
/* The time of a record's line found without a JSON parser: the string or
 * number after "ts": or "hour":, or MT_TIME_MIN. */
mt_time_t mt_line_time(const char *line, size_t n);

/* ---- xml.c: XML without network, DTDs or entities ---- */
struct _xmlDoc;
/* Parse a file (buf NULL) or a buffer named name; NULL with err naming
 * the line for malformed XML or any DOCTYPE. */
struct _xmlDoc *mt_xml_read(const char *name, const char *buf, size_t n,
    struct mt_err *err);

/* ---- conn/: connector settings, the table, readings out of payloads ---- */
/* The connector table (conn/types.def): one value per row. */
enum mt_conn_type {
#define MT_CONNECTOR(id, name, ext, attrs, parse) MT_CONN_##id,
#include "conn/types.def"
#undef MT_CONNECTOR
	MT_CONN_TYPES
};
enum mt_time_format { MT_TF_ISO, MT_TF_EPOCH, MT_TF_EPOCH_MS };

/* A connector's attributes (meter-config(5)), checked and parsed once;
 * strings borrow from the mt_connector. */
struct mt_conn {
	enum mt_conn_type type;
	const char *url, *kind, *unit, *ts_col, *value_col, *unit_col;
	const char *items, *ts, *value, *unit_field, *netrc, *ca_file;
	const char *zone_name;          /* naive times; NULL: UTC */
	char delimiter, quote, decimal;
	enum mt_time_format tf;
	long skip;
	int header;                     /* CSV: the first row names columns */
	int64_t duration;               /* interval readings, seconds */
	long timeout_ms, connect_timeout_ms;
	int retries;
	size_t max_size;
	int flow;                       /* Green Button flowDirection taken */
	int ts_end;                     /* ts-label=end: times end intervals */
	int wide;                       /* layout=wide: a row per day */
	const char *nmi, *suffix;       /* nem12: the stream read */
	const char *topic;              /* mqtt: the topic the meter publishes */
	int payload;                    /* mqtt: enum mt_mqtt_payload */
	long intervals;                 /* layout=wide: value columns, 0 all */
	int reg;                        /* dsmr: enum mt_dsmr_register */
	int channel;                    /* dsmr: M-Bus channel, 0 any */
	const struct mt_header *headers;
	size_t nheaders;
};

/* A type by name (its enum value), or -1. */
int mt_conn_type_find(const char *name);
const char *mt_conn_type_name(enum mt_conn_type t);
/* The archive's file extension for a payload of the type. */
const char *mt_conn_extension(enum mt_conn_type t);
/* "csv, json or greenbutton", for messages. */
void mt_conn_types_text(char *buf, size_t cap);
/* A <connector>'s attribute as given, or NULL. */
const char *mt_connector_attr(const struct mt_connector *c, const char *name);
/* Check and parse; zone_default is the property's or participant's zone
 * for naive times.  err->status is MT_EXIT_USAGE on a bad value. */
int mt_conn_parse(struct mt_conn *c, const struct mt_connector *attrs,
    const char *zone_default, struct mt_err *err);

/* What a connector's settings must agree on with its meter (kind,
 * duration, a unit of the meter's quantity; q may be NULL). */
int mt_conn_check(const struct mt_conn *c, const struct mt_quantity *q,
    const char *meter_kind, const char *meter_unit, struct mt_err *err);

/* A dsmr connector, or an mqtt one whose messages are telegrams. */
int mt_conn_reads_dsmr(const struct mt_conn *c);

/* A participant's URL and paths: http, https or file, no credentials,
 * files inside its directory by their letters. */
int mt_conn_check_url(const struct mt_conn *c, struct mt_err *err);

/* Whom a payload's readings belong to, which of them to emit, and what
 * came of it. */
struct mt_emit {
	const char *participant, *property, *meter;
	const char *source;              /* "source" field and diagnostics */
	const struct mt_quantity *q;     /* NULL: inferred from the unit */
	const char *kind, *unit;         /* the meter's, when the connector
	                                  * says nothing */
	double rollover, calorific;      /* 0 when unknown */
	mt_time_t after;                 /* emit only ts > after (a cursor) */
	mt_time_t since, until;          /* and since <= ts < until */
	struct mt_out *out;
	struct mt_rejects *rj;
	struct mt_zone *zone;            /* for naive times, or NULL: UTC */
	/* results */
	long readings, skipped, rejected, filtered;
	mt_time_t last;                  /* latest ts emitted, or after */
	mt_time_t prev;                  /* previous ts read (repeated hours) */
	int unsorted;                    /* a ts emitted before an earlier one */
};

#define MT_TIME_MIN INT64_MIN
#define MT_TIME_MAX INT64_MAX

/* Parse a payload (gzip undone first, up to c->max_size) with its type's
 * parser from the connector table, and emit its readings.  A bad
 * row or element is rejected and counted; -1 means the payload as a whole
 * is malformed (err says why and where), and what was written to e->out
 * must be discarded. */
int mt_payload_parse(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);
/* Where a reading came from inside a payload, for the rejects. */
struct mt_row {
	long line;
	const char *text;
	size_t len;
};

/* One reading as a connector found it. */
struct mt_raw {
	mt_time_t ts;
	double value;
	const char *unit;
	enum mt_kind kind;
	int64_t duration;      /* interval readings, seconds */
	int estimated;
};

/* Emit one reading through e's filters, or reject it: 0 emitted or
 * filtered, -1 rejected. */
int mt_emit(struct mt_emit *e, const struct mt_raw *r, const struct mt_row *row);
/* The same from text as CSV and JSON carry it: time in c's format (naive
 * times in e->zone), value with c's decimal mark, unit or NULL for c's.
 * Empty values and sentinels (NA, null, -) are skipped and counted. */
int mt_emit_text(const struct mt_conn *c, struct mt_emit *e,
    const struct mt_row *row, const char *ts, size_t tslen, const char *value,
    size_t vlen, const char *unit);
/* The same with the time already known (a column of a row per day). */
int mt_emit_at(const struct mt_conn *c, struct mt_emit *e,
    const struct mt_row *row, mt_time_t ts, int64_t duration, const char *value,
    size_t vlen, const char *unit);
int mt_parse_csv(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err);
int mt_parse_json(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err);
int mt_parse_greenbutton(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);
int mt_parse_dsmr(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);
int mt_parse_nem12(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);
/* An mqtt connector's archive: NDJSON, a message a line, {"received",
 * "topic","payload"}, each parsed as mt_mqtt_message does. */
int mt_parse_mqtt(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);
/* What an mqtt message's payload is (payload="..."). */
enum mt_mqtt_payload { MT_MQTT_JSON, MT_MQTT_NUMBER, MT_MQTT_DSMR };
extern const char *const mt_mqtt_payloads[];
/* One message's readings: a JSON object (or array of them) with the
 * connector's ts and value paths, a bare number at the time it was
 * received, or a DSMR telegram.  -1: the payload as a whole is malformed
 * (err says why); readings are rejected one by one as in a payload. */
int mt_mqtt_message(const struct mt_conn *c, struct mt_emit *e,
    mt_time_t received, const char *payload, size_t n, struct mt_err *err);
/* A JSON body that is one reading object or an array of them (an mqtt
 * message's payload). */
int mt_parse_json_message(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err);

extern const char *const mt_dsmr_registers[];
/* The quantity a dsmr register or a NEM12 suffix is of. */
const char *mt_dsmr_quantity(int reg);
const char *mt_nem12_quantity(const char *suffix);
/* The registers a dsmr connector reads (register="..."), in the order of
 * their names in conn.c. */
enum mt_dsmr_register {
	MT_DSMR_IMPORT, MT_DSMR_IMPORT_1, MT_DSMR_IMPORT_2, MT_DSMR_EXPORT,
	MT_DSMR_EXPORT_1, MT_DSMR_EXPORT_2, MT_DSMR_POWER, MT_DSMR_POWER_EXPORT,
	MT_DSMR_GAS, MT_DSMR_WATER, MT_DSMR_HEAT
};

/* ---- url.c: the rules for a participant's URLs ---- */
int mt_url_is_http(const char *url);
/* user:password@ in the authority */
int mt_url_has_userinfo(const char *url);
/* The URL fit for messages (owned): no user information, and the values of
 * query parameters whose names look secret (key, token, sig, ...) as "*". */
char *mt_url_redact(const char *url);
/* {since} and {until} filled in as RFC 3339 UTC (owned). */
char *mt_url_fill(const char *url, mt_time_t since, mt_time_t until);
/* Same scheme, host and port (RFC 6454), the default port implied. */
int mt_url_same_origin(const char *a, const char *b);

/* A public address, or one in the allowed ranges; loopback, private,
 * link-local, multicast and reserved addresses are not, unless listed. */
int mt_net_allowed(const struct mt_netlist *allow, const struct sockaddr *sa);

/* ---- http.c: many HTTP(S) fetches at once (libcurl multi) ---- */
struct mt_fetch {
	/* asked for (borrowed) */
	const char *url;               /* http:// or https:// */
	char **headers;                /* "Name: value", NULL-terminated */
	const char *netrc, *ca_file;   /* or NULL */
	long connect_timeout_ms, timeout_ms;
	size_t max_size;
	int retries;
	void *ctx;
	/* what came of it */
	char *body;                    /* owned by the caller once done */
	size_t len;
	long status;                   /* HTTP status, 0 none */
	int attempts;
	char error[256];               /* "" on success */
};

struct mt_http_opts {
	int parallel;                  /* transfers in flight */
	const struct mt_netlist *allow;  /* internal addresses allowed; NULL:
	                                  * every address (no list at all) */
	double retry_base_s;           /* first backoff, doubled per retry */
	double retry_max_s;            /* longest wait, Retry-After included */
};

/* Fetch them all; done is called once per fetch, in the calling thread, as
 * each finishes for good (success, or failure after its retries). */
typedef void (*mt_fetch_done_fn)(void *ctx, struct mt_fetch *f);
int mt_http_fetch_all(struct mt_fetch **fs, size_t n,
    const struct mt_http_opts *o, mt_fetch_done_fn done, void *ctx,
    struct mt_err *err);

/* ---- archive.c: the raw archive and fetch cursors ---- */
/* Keep a payload as fetched under dir/YYYY/MM/DD/METER/SHA256[.EXT]
 * (renamed into place whole; the same bytes on a day are one file).  *name gets
 * the payload's name in records, "raw/YYYY/MM/DD/METER/SHA256.EXT". */
int mt_archive_put(const char *dir, const char *meter, const char *ext,
    mt_time_t when, const char *body, size_t n, char **name,
    struct mt_err *err);
/* Make everything archived so far durable (one syncfs of its file
 * system); call before moving cursors. */
int mt_archive_sync(const char *dir, struct mt_err *err);
/* The record name of an archived file's path, and (in *meter, owned) the
 * meter directory it is in; *meter is NULL for a path not so deep. */
char *mt_archive_name(const char *path, char **meter);

struct mt_cursors;
/* A missing file is no cursors yet. */
struct mt_cursors *mt_cursors_load(const char *path, struct mt_err *err);
int mt_cursors_save(const struct mt_cursors *c, const char *path,
    struct mt_err *err);
void mt_cursors_free(struct mt_cursors *c);
int mt_cursor_get(const struct mt_cursors *c, const char *meter, mt_time_t *at);
void mt_cursor_set(struct mt_cursors *c, const char *meter, mt_time_t at);

#endif
