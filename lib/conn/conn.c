/* conn.c - a connector's settings: the attributes of <connector>
 * (meter-config(5)) checked and parsed once, for every program that reads
 * a configuration.  The connector table (types.def) says which types there
 * are and which attributes each takes; this file links no parser, so a
 * program that only validates configurations pulls in no connector. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The connector table's names, extensions and attributes. */
static const struct {
	const char *name, *ext, *attrs;
} types[] = {
#define MT_CONNECTOR(id, name, ext, attrs, parse) { name, ext, attrs },
#include "types.def"
#undef MT_CONNECTOR
};

#define NTYPES (sizeof types / sizeof *types)

/* The dsmr connector's registers, in enum mt_dsmr_register's order. */
const char *const mt_dsmr_registers[] = { "import", "import-1", "import-2",
	"export", "export-1", "export-2", "power", "power-export", "gas", "water",
	"heat", NULL };

/* What an mqtt connector's messages carry, in enum mt_mqtt_payload's order. */
const char *const mt_mqtt_payloads[] = { "json", "number", "dsmr", NULL };

/* What every connector takes. */
static const char common[] = "type url kind unit duration timezone "
    "time-format decimal netrc ca-file timeout connect-timeout retries max-size";

int mt_conn_type_find(const char *name)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (strcmp(types[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *mt_conn_type_name(enum mt_conn_type t)
{
	return types[t].name;
}

const char *mt_conn_extension(enum mt_conn_type t)
{
	return types[t].ext;
}

/* A name in a space-separated list. */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; ) {
		size_t k = strcspn(p, " ");
		if (k == n && strncmp(p, name, n) == 0)
			return 1;
		p += k;
		p += *p == ' ';
	}
	return 0;
}

int mt_conn_attr_known(int type, const char *name)
{
	if (listed(common, name))
		return 1;
	if (type < 0) {
		for (size_t i = 0; i < NTYPES; i++)
			if (listed(types[i].attrs, name))
				return 1;
		return 0;
	}
	return listed(types[type].attrs, name);
}

/* Edit distance between short names (attributes are under 32 bytes). */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
	size_t row[33];

	if (na > 32 || nb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[nb];
}

static void nearest_in(const char *list, const char *name, size_t *best,
    char *buf, size_t cap)
{
	for (const char *p = list; *p; ) {
		size_t k = strcspn(p, " "), d = distance(p, k, name, strlen(name));
		if (d < *best) {
			*best = d;
			snprintf(buf, cap, "%.*s", (int)k, p);
		}
		p += k;
		p += *p == ' ';
	}
}

int mt_conn_attr_suggest(int type, const char *name, char *buf, size_t cap)
{
	size_t best = 4;   /* three edits at most: "time-column" for ts-column */

	buf[0] = '\0';
	nearest_in(common, name, &best, buf, cap);
	for (size_t i = 0; i < NTYPES; i++)
		if (type < 0 || (size_t)type == i)
			nearest_in(types[i].attrs, name, &best, buf, cap);
	return buf[0] != '\0';
}

void mt_conn_types_text(char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < NTYPES; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
		    i == 0 ? "" : i + 1 == NTYPES ? " or " : ", ", types[i].name);
}

const char *mt_connector_attr(const struct mt_connector *c, const char *name)
{
	for (size_t i = 0; c->attrs[i] != NULL; i += 2)
		if (strcmp(c->attrs[i], name) == 0)
			return c->attrs[i + 1];
	return NULL;
}

static int bad_attr(struct mt_err *err, const struct mt_connector *a,
    const char *name, const char *v, const char *want)
{
	mt_err_set(err, NULL, a->line, "<connector>: attribute \"%s\" must be %s, not \"%.40s\"",
	    name, want, v);
	err->status = MT_EXIT_USAGE;
	return -1;
}

static int one_char(const struct mt_connector *a, const char *name, char *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);

	if (v == NULL)
		return 0;
	if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
		v = "\t";
	if (strlen(v) != 1 || *v == '\n' || *v == '\r')
		return bad_attr(err, a, name, v, "one character (or \"tab\")");
	*out = *v;
	return 0;
}

static int whole(const struct mt_connector *a, const char *name, long lo,
    long hi, long *out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	double d;

	if (v == NULL)
		return 0;
	if (mt_parse_double(v, &d) < 0 || d != floor(d) || d < lo || d > hi) {
		char want[64];
		snprintf(want, sizeof want, "a whole number from %ld to %ld", lo, hi);
		return bad_attr(err, a, name, v, want);
	}
	*out = (long)d;
	return 0;
}

static int millis(const struct mt_connector *a, const char *name, long *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	int64_t s;

	if (v == NULL)
		return 0;
	if (mt_parse_duration(v, &s) < 0 || s < 1 || s > 86400)
		return bad_attr(err, a, name, v, "a duration from 1s to 1d");
	*out = (long)s * 1000;
	return 0;
}

static int size_attr(const struct mt_connector *a, size_t *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "max-size");

	if (v != NULL && mt_parse_size(v, out) < 0)
		return bad_attr(err, a, "max-size", v, "a size such as 500k, 64M or 1G (up to 4G)");
	return 0;
}

static int enum_attr(const struct mt_connector *a, const char *name,
    const char *const *names, int *out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, name);
	char want[160] = "";

	if (v == NULL)
		return 0;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], v) == 0) {
			*out = i;
			return 0;
		}
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
		    i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	}
	return bad_attr(err, a, name, v, want);
}

static int flow_attr(const struct mt_connector *a, int *flow, struct mt_err *err)
{
	static const char *const names[] = { "import", "export", "net", NULL };
	static const int codes[] = { 1, 19, 4 };
	const char *v = mt_connector_attr(a, "flow-direction");
	long n;
	int i = 0;

	if (v != NULL && isdigit((unsigned char)*v)) {
		if (whole(a, "flow-direction", 0, 100, &n, err) < 0)
			return -1;
		*flow = (int)n;
		return 0;
	}
	if (enum_attr(a, "flow-direction", names, &i, err) < 0)
		return -1;
	*flow = codes[i];
	return 0;
}

static int zone_attr(const struct mt_connector *a, const char *dflt,
    const char **out, struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "timezone");
	struct mt_zone *z;

	*out = v ? v : dflt;
	if (v == NULL)
		return 0;
	if ((z = mt_zone_open(v, err)) == NULL)
		return bad_attr(err, a, "timezone", v, "an IANA time zone");
	mt_zone_free(z);
	return 0;
}

static int duration_attr(const struct mt_connector *a, int64_t *out,
    struct mt_err *err)
{
	const char *v = mt_connector_attr(a, "duration");

	if (v == NULL)
		return 0;
	if (mt_parse_duration(v, out) < 0 || *out < 1 || *out > MT_SPAN_MAX_S)
		return bad_attr(err, a, "duration", v, "a duration from 1s to " MT_SPAN_MAX_TEXT);
	return 0;
}

/* dsmr and nem12 payloads say what their readings are (and nem12 when):
 * an attribute that would say otherwise is a mistake, not a setting. */
static int self_describing(int type, const struct mt_connector *a,
    struct mt_err *err)
{
	static const char *const said[] = { "kind", "unit", "duration",
		"time-format", "decimal", "timezone", NULL };

	if (type != MT_CONN_DSMR && type != MT_CONN_NEM12)
		return 0;
	for (int i = 0; said[i] != NULL; i++) {
		if (mt_connector_attr(a, said[i]) == NULL ||
		    (type == MT_CONN_DSMR && strcmp(said[i], "timezone") == 0))
			continue;
		mt_err_set(err, NULL, a->line, "<connector>: a %s connector takes no "
		    "\"%s\": the %s says it (meter-fetch(1))", a->type, said[i],
		    type == MT_CONN_DSMR ? "telegram" : "file");
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	return 0;
}

int mt_conn_parse(struct mt_conn *c, const struct mt_connector *a,
    const char *zone_default, struct mt_err *err)
{
	static const char *const kinds[] = { "cumulative", "interval", "instant", NULL };
	static const char *const formats[] = { "iso", "epoch", "epoch-ms", NULL };
	static const char *const bools[] = { "false", "true", NULL };
	static const char *const decimals[] = { ".", ",", NULL };
	static const char *const labels[] = { "start", "end", NULL };
	static const char *const layouts[] = { "long", "wide", NULL };
	int type, kind, tf = 0, header = 1, decimal = 0, label = 0, layout = 0;
	long skip = 0, retries = 3, channel = 0;

	memset(c, 0, sizeof *c);
	if (a->type == NULL || (type = mt_conn_type_find(a->type)) < 0) {
		char want[160];
		mt_conn_types_text(want, sizeof want);
		return bad_attr(err, a, "type", a->type ? a->type : "", want);
	}
	for (size_t i = 0; a->attrs[i] != NULL; i += 2)
		if (!mt_conn_attr_known(type, a->attrs[i])) {
			char near[40];
			int close = mt_conn_attr_suggest(type, a->attrs[i], near, sizeof near);
			mt_err_set(err, NULL, a->line, "<connector>: unknown attribute \"%.40s\" "
			    "for a %s connector%s%s%s (see meter-config(5))", a->attrs[i],
			    a->type, close ? ": did you mean \"" : "", near, close ? "\"?" : "");
			err->status = MT_EXIT_USAGE;
			return -1;
		}
	if (self_describing(type, a, err) < 0)
		return -1;
	if (enum_attr(a, "kind", kinds, &kind, err) < 0 ||
	    enum_attr(a, "time-format", formats, &tf, err) < 0 ||
	    enum_attr(a, "header", bools, &header, err) < 0 ||
	    enum_attr(a, "decimal", decimals, &decimal, err) < 0 ||
	    enum_attr(a, "ts-label", labels, &label, err) < 0 ||
	    enum_attr(a, "layout", layouts, &layout, err) < 0 ||
	    enum_attr(a, "register", mt_dsmr_registers, &c->reg, err) < 0 ||
	    enum_attr(a, "payload", mt_mqtt_payloads, &c->payload, err) < 0 ||
	    whole(a, "channel", 1, 9, &channel, err) < 0 ||
	    whole(a, "intervals", 1, 300, &c->intervals, err) < 0)
		return -1;
	c->ts_end = label;
	c->wide = layout;
	c->channel = (int)channel;
	c->type = (enum mt_conn_type)type;
	c->tf = (enum mt_time_format)tf;
	c->header = header;
	c->decimal = decimal ? ',' : '.';
	c->delimiter = ',';
	c->quote = '"';
	c->timeout_ms = 60000;
	c->connect_timeout_ms = 10000;
	c->max_size = 64 * 1024 * 1024;
	c->flow = 1;
	if (one_char(a, "delimiter", &c->delimiter, err) < 0 ||
	    one_char(a, "quote", &c->quote, err) < 0 ||
	    whole(a, "skip", 0, 1000000, &skip, err) < 0 ||
	    whole(a, "retries", 0, 20, &retries, err) < 0 ||
	    millis(a, "timeout", &c->timeout_ms, err) < 0 ||
	    millis(a, "connect-timeout", &c->connect_timeout_ms, err) < 0 ||
	    size_attr(a, &c->max_size, err) < 0 ||
	    flow_attr(a, &c->flow, err) < 0 ||
	    zone_attr(a, zone_default, &c->zone_name, err) < 0 ||
	    duration_attr(a, &c->duration, err) < 0)
		return -1;
	c->skip = skip;
	c->retries = (int)retries;
	c->url = mt_connector_attr(a, "url");
	c->kind = mt_connector_attr(a, "kind");
	c->unit = mt_connector_attr(a, "unit");
	c->ts_col = mt_connector_attr(a, "ts-column");
	c->value_col = mt_connector_attr(a, "value-column");
	c->unit_col = mt_connector_attr(a, "unit-column");
	c->items = mt_connector_attr(a, "items");
	c->ts = mt_connector_attr(a, "ts");
	c->value = mt_connector_attr(a, "value");
	c->unit_field = mt_connector_attr(a, "unit-field");
	c->netrc = mt_connector_attr(a, "netrc");
	c->ca_file = mt_connector_attr(a, "ca-file");
	c->nmi = mt_connector_attr(a, "nmi");
	c->suffix = mt_connector_attr(a, "suffix");
	c->topic = mt_connector_attr(a, "topic");
	c->headers = a->headers;
	c->nheaders = a->nheaders;
	return 0;
}

/* End labels and a row per day describe intervals: they need interval
 * readings and their length, and a day of whole intervals. */
static int layout_check(const struct mt_conn *c, const char *kind,
    struct mt_err *err)
{
	const char *what = c->wide ? "layout=wide" : "ts-label=end";

	if (c->intervals > 0 && !c->wide) {
		mt_err_set(err, NULL, 0, "intervals= counts the columns of "
		    "layout=wide: give layout=wide too, or leave it out");
		return -1;
	}
	if (!c->ts_end && !c->wide)
		return 0;
	if (c->wide && (c->ts_end || c->tf != MT_TF_ISO)) {
		mt_err_set(err, NULL, 0, "layout=wide reads a date per row: it takes "
		    "no ts-label and no epoch time-format");
		return -1;
	}
	if (kind != NULL && strcmp(kind, "interval") != 0) {
		mt_err_set(err, NULL, 0, "%s is for interval readings, not %s ones: "
		    "give kind=interval and the interval's duration", what, kind);
		return -1;
	}
	if (c->duration == 0) {
		mt_err_set(err, NULL, 0, "%s needs the interval's length: give "
		    "-o duration=3600 (or 1800, 900), or duration=\"...\" on the "
		    "connector", what);
		return -1;
	}
	if (c->wide && (86400 % c->duration != 0 || c->duration < 60)) {
		mt_err_set(err, NULL, 0, "layout=wide needs a duration that divides "
		    "a day into whole intervals (3600, 1800, 900, 300...), not %lld s",
		    (long long)c->duration);
		return -1;
	}
	return 0;
}

/* NEM12's streams by their suffix's letter: B export, Q and K reactive
 * energy, the rest (E) consumption. */
const char *mt_nem12_quantity(const char *suffix)
{
	return *suffix == 'B' ? "electricity_export" : *suffix == 'Q' ||
	    *suffix == 'K' ? "reactive_energy" : "electricity";
}

/* NEM12's Q and K streams are reactive energy, the others energy. */
static int nem12_check(const struct mt_conn *c, const struct mt_quantity *q,
    struct mt_err *err)
{
	const char *suffix = c->suffix ? c->suffix : "E1";
	const char *want = mt_nem12_quantity(suffix);

	if (q == NULL || strcmp(q->name, want) == 0)
		return 0;
	mt_err_set(err, NULL, 0, "suffix=\"%.8s\" is %s, not %s: a meter reads "
	    "the stream of its quantity (meter-config(5))", suffix, want, q->name);
	return -1;
}

const char *mt_dsmr_quantity(int reg)
{
	return reg == MT_DSMR_GAS ? "gas" : reg == MT_DSMR_WATER ? "water" :
	    reg == MT_DSMR_HEAT ? "heat" : reg >= MT_DSMR_EXPORT &&
	    reg != MT_DSMR_POWER ? "electricity_export" : "electricity";
}

/* A dsmr register is of one quantity: a meter of another is a mistake. */
static int dsmr_check(const struct mt_conn *c, const struct mt_quantity *q,
    struct mt_err *err)
{
	const char *want = mt_dsmr_quantity(c->reg);

	if (mt_conn_reads_dsmr(c) && c->channel > 0 && c->reg < MT_DSMR_GAS) {
		mt_err_set(err, NULL, 0, "channel= picks an M-Bus channel: it goes "
		    "with register=gas, water or heat, not %s", mt_dsmr_registers[c->reg]);
		return -1;
	}
	if (c->type == MT_CONN_NEM12)
		return nem12_check(c, q, err);
	if (!mt_conn_reads_dsmr(c) || q == NULL || strcmp(q->name, want) == 0)
		return 0;
	mt_err_set(err, NULL, 0, "register=\"%s\" is %s, not %s: give the meter's "
	    "register (meter-config(5))", mt_dsmr_registers[c->reg], want, q->name);
	return -1;
}

int mt_conn_reads_dsmr(const struct mt_conn *c)
{
	return c->type == MT_CONN_DSMR ||
	    (c->type == MT_CONN_MQTT && c->payload == MT_MQTT_DSMR);
}

/* An mqtt meter names its topic, and no broker: the broker is the
 * operator's (meter-listen -b), so a participant cannot point the
 * listener at a host of its choosing. */
static int mqtt_check(const struct mt_conn *c, const char *kind,
    struct mt_err *err)
{
	if (c->type != MT_CONN_MQTT)
		return 0;
	if (c->topic == NULL) {
		mt_err_set(err, NULL, 0, "an mqtt connector needs the topic its "
		    "meter publishes to: topic=\"meter/PARTICIPANT/...\"");
		return -1;
	}
	if (c->url != NULL) {
		mt_err_set(err, NULL, 0, "an mqtt connector takes no url: the "
		    "broker is the operator's (meter-listen -b)");
		return -1;
	}
	if (c->payload == MT_MQTT_NUMBER && kind != NULL &&
	    strcmp(kind, "interval") == 0) {
		mt_err_set(err, NULL, 0, "payload=number readings are of the "
		    "moment they arrive: a message sent again would count twice "
		    "as an interval; publish JSON with its time, or a register "
		    "(kind=cumulative)");
		return -1;
	}
	return 0;
}

int mt_conn_check(const struct mt_conn *c, const struct mt_quantity *q,
    const char *meter_kind, const char *meter_unit, struct mt_err *err)
{
	const char *kind = c->kind ? c->kind : meter_kind;
	const char *unit = c->unit ? c->unit : meter_unit;
	struct mt_conv conv;

	err->status = MT_EXIT_USAGE;
	if (layout_check(c, kind, err) < 0 || dsmr_check(c, q, err) < 0)
		return -1;
	if (mqtt_check(c, kind, err) < 0)
		return -1;
	/* These formats say what their readings are. */
	if (c->type == MT_CONN_CSV || c->type == MT_CONN_JSON ||
	    (c->type == MT_CONN_MQTT && !mt_conn_reads_dsmr(c))) {
		if (kind == NULL) {
			mt_err_set(err, NULL, 0, "no kind (cumulative, interval or "
			    "instant) on the connector or the meter: say which with "
			    "-o kind=..., or kind=\"...\" in the configuration");
			return -1;
		}
		if (strcmp(kind, "interval") == 0 && c->duration == 0) {
			mt_err_set(err, NULL, 0, "interval readings need a duration: "
			    "give the interval's seconds with -o duration=900, or "
			    "duration=\"900\" in the configuration");
			return -1;
		}
	}
	if (q != NULL && unit != NULL && mt_unit_convert(q, unit, &conv, err) < 0) {
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* A participant's paths stay in its directory by their letters (they are
 * opened without links later, file.c); URLs are http, https or file, and
 * carry no credentials. */
int mt_conn_check_url(const struct mt_conn *c, struct mt_err *err)
{
	const char *paths[2] = { c->netrc, c->ca_file }, *url = c->url;

	err->status = MT_EXIT_USAGE;
	for (int i = 0; i < 2; i++)
		if (paths[i] != NULL && !mt_path_inside(paths[i])) {
			mt_err_set(err, NULL, 0, "%s is outside the participant directory",
			    paths[i]);
			return -1;
		}
	if (url == NULL)
		return 0;
	if (mt_url_has_userinfo(url)) {
		mt_err_set(err, NULL, 0, "credentials in a URL are refused: use a netrc "
		    "file or a <header> from the secrets file");
		return -1;
	}
	if (mt_url_is_http(url))
		return 0;
	if (strstr(url, "://") != NULL && strncmp(url, "file://", 7) != 0) {
		mt_err_set(err, NULL, 0, "only http, https and file URLs are fetched");
		return -1;
	}
	if (strncmp(url, "file:", 5) == 0)
		url += 5;
	if (strncmp(url, "//", 2) == 0 || !mt_path_inside(url)) {
		mt_err_set(err, NULL, 0, "file:%s is outside the participant directory", url);
		return -1;
	}
	return 0;
}
