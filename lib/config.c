/* config.c - the participant configuration (meter-config(5)), read with
 * libxml2 and validated as a whole before anything uses it.
 *
 * Parsed without network access and without DTDs: a document that declares
 * a DOCTYPE is refused, so no external entity is ever resolved and no
 * entity can be expanded (XXE, "billion laughs"). */
#define _XOPEN_SOURCE 700
#include "meter_priv.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>


struct loader {
	struct mt_config *cfg;
	struct mt_err *err;
	const char *path;
	int failed;
	struct mt_map *topics;   /* mqtt topic -> meters that read it */
};

static int fail_at(struct loader *ld, xmlNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *ld, xmlNode *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (ld->failed++)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mt_err_set(ld->err, ld->path, n ? xmlGetLineNo(n) : 0, "<%s>: %s",
	    n ? (const char *)n->name : "?", msg);
	ld->err->status = MT_EXIT_USAGE;
	return -1;
}

static int fail_line(struct loader *ld, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure found after the element was read: the message carries the
 * element itself. */
static int fail_line(struct loader *ld, long line, const char *fmt, ...)
{
	va_list ap;

	if (ld->failed++)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err->msg, sizeof ld->err->msg, fmt, ap);
	va_end(ap);
	snprintf(ld->err->file, sizeof ld->err->file, "%s", ld->path);
	ld->err->line = line;
	ld->err->status = MT_EXIT_USAGE;
	return -1;
}

/* ---- attributes ---- */

static const char *attr(xmlNode *n, const char *name)
{
	xmlAttr *a;

	for (a = n->properties; a != NULL; a = a->next)
		if (strcmp((const char *)a->name, name) == 0 && a->children != NULL)
			return (const char *)a->children->content;
	return NULL;
}

/* Every attribute must be one the element knows. */
static int check_attrs(struct loader *ld, xmlNode *n, const char *const *known)
{
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		const char *const *k = known;
		while (*k != NULL && strcmp(*k, (const char *)a->name) != 0)
			k++;
		if (*k == NULL)
			return fail_at(ld, n, "unknown attribute \"%s\"", a->name);
	}
	return 0;
}

static char *need(struct loader *ld, xmlNode *n, const char *name)
{
	const char *v = attr(n, name);

	if (v == NULL || *v == '\0') {
		fail_at(ld, n, "missing attribute \"%s\"", name);
		return NULL;
	}
	return mt_xstrdup(v);
}

static char *maybe(xmlNode *n, const char *name)
{
	const char *v = attr(n, name);
	return v ? mt_xstrdup(v) : NULL;
}

static char *need_id(struct loader *ld, xmlNode *n)
{
	char *id = need(ld, n, "id");

	if (id == NULL)
		return NULL;
	if (mt_id_valid(id))
		return id;
	fail_at(ld, n, "bad id \"%.80s\": letters, digits, '.', '_' and '-' only, "
	    "not starting with '.', at most 64", id);
	free(id);
	return NULL;
}

/* An optional number attribute: 0 absent, 1 present, -1 bad. */
static int number(struct loader *ld, xmlNode *n, const char *name, double min,
    double *out)
{
	const char *v = attr(n, name);

	if (v == NULL)
		return 0;
	if (mt_parse_double(v, out) < 0 || *out < min)
		return fail_at(ld, n, "attribute \"%s\" must be a number%s, not \"%.40s\"",
		    name, min > 0 ? " above 0" : min == 0 ? " from 0" : "", v);
	return 1;
}

static int boolean(struct loader *ld, xmlNode *n, const char *name, int *out)
{
	const char *v = attr(n, name);

	*out = 0;
	if (v == NULL || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "true") == 0)
		return *out = 1, 0;
	return fail_at(ld, n, "attribute \"%s\" must be true or false", name);
}

static char *zone_attr(struct loader *ld, xmlNode *n)
{
	const char *v = attr(n, "timezone");
	struct mt_err zerr;
	struct mt_zone *z;

	if (v == NULL)
		return NULL;
	if ((z = mt_zone_open(v, &zerr)) == NULL) {
		fail_at(ld, n, "%s", zerr.msg);
		return NULL;
	}
	mt_zone_free(z);
	return mt_xstrdup(v);
}

static int is_elem(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Text other than white space has no place between elements. */
static int check_child(struct loader *ld, xmlNode *c, xmlNode *parent)
{
	if (c->type == XML_TEXT_NODE) {
		for (const xmlChar *p = c->content; p && *p; p++)
			if (!isspace(*p))
				return fail_at(ld, parent, "unexpected text");
		return 0;
	}
	if (c->type == XML_COMMENT_NODE)
		return 0;
	if (c->type != XML_ELEMENT_NODE)
		return fail_at(ld, parent, "unexpected content");
	return 1;
}

/* ---- elements ---- */

static int parse_hhmm(const char *s, int *minutes)
{
	if (s == NULL || strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	*minutes = ((s[0] - '0') * 10 + s[1] - '0') * 60 + (s[3] - '0') * 10 + s[4] - '0';
	return *minutes <= 24 * 60 && (s[3] - '0') < 6 ? 0 : -1;
}

static int day_index(const char *s, size_t n)
{
	static const char *days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

	for (int i = 0; i < 7; i++)
		if (n == 3 && strncmp(s, days[i], 3) == 0)
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon-wed,fri" -> bit i for ISO weekday i+1. */
static int parse_days(const char *s, unsigned *mask)
{
	*mask = 0;
	while (s && *s) {
		size_t n = strcspn(s, ",");
		const char *dash = memchr(s, '-', n);
		int a = day_index(s, dash ? (size_t)(dash - s) : n);
		int b = dash ? day_index(dash + 1, n - (size_t)(dash - s) - 1) : a;
		if (a < 0 || b < a)
			return -1;
		for (int i = a; i <= b; i++)
			*mask |= 1u << i;
		s += n + (s[n] == ',');
	}
	return *mask ? 0 : -1;
}

static int office_hours(struct loader *ld, xmlNode *n, struct mt_property_cfg *p)
{
	static const char *const known[] = { "days", "from", "to", NULL };
	struct mt_office_hours *oh;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	p->hours = mt_xrealloc(p->hours, (p->nhours + 1) * sizeof *p->hours);
	oh = &p->hours[p->nhours++];
	if (parse_days(attr(n, "days"), &oh->days) < 0)
		return fail_at(ld, n, "attribute \"days\" must be like mon-fri or sat,sun");
	if (parse_hhmm(attr(n, "from"), &oh->from) < 0 ||
	    parse_hhmm(attr(n, "to"), &oh->to) < 0 || oh->to <= oh->from)
		return fail_at(ld, n, "attributes \"from\" and \"to\" must be HH:MM, from before to");
	return 0;
}

static int closure(struct loader *ld, xmlNode *n, struct mt_property_cfg *p)
{
	static const char *const known[] = { "from", "to", NULL };
	const char *from = attr(n, "from"), *to = attr(n, "to");
	struct mt_closure *c;
	enum mt_tsform form;
	mt_time_t a, b;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	if (from == NULL || to == NULL || strlen(from) != 10 || strlen(to) != 10 ||
	    mt_time_parse(from, 10, &a, &form, NULL) < 0 ||
	    mt_time_parse(to, 10, &b, &form, NULL) < 0 || b < a)
		return fail_at(ld, n, "attributes \"from\" and \"to\" must be dates "
		    "YYYY-MM-DD, from not after to");
	p->closures = mt_xrealloc(p->closures, (p->nclosures + 1) * sizeof *p->closures);
	c = &p->closures[p->nclosures++];
	c->from_day = a / 86400000;
	c->to_day = b / 86400000;
	return 0;
}

static int http_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static int header(struct loader *ld, xmlNode *n, struct mt_connector *c)
{
	static const char *const known[] = { "name", "env", "prefix", NULL };
	struct mt_header *h;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	c->headers = mt_xrealloc(c->headers, (c->nheaders + 1) * sizeof *c->headers);
	h = &c->headers[c->nheaders++];
	memset(h, 0, sizeof *h);
	h->prefix = maybe(n, "prefix");
	if ((h->name = need(ld, n, "name")) == NULL || (h->env = need(ld, n, "env")) == NULL)
		return -1;
	/* what ends up in the request: a name that is an HTTP token (RFC 9110),
	 * a prefix without a line break to start a header of its own */
	if (!http_token(h->name))
		return fail_at(ld, n, "attribute \"name\" must be an HTTP header name "
		    "(letters, digits and !#$%%&'*+-.^_`|~), not \"%.40s\"", h->name);
	if (h->prefix != NULL && mt_has_control(h->prefix))
		return fail_at(ld, n, "attribute \"prefix\" has a control character");
	return 0;
}

/* A participant's topics are under meter/ID/, its own id: the broker
 * carries every participant's meters, and a topic of another's would read
 * its data.  Exact topics only: a wildcard could reach past the prefix
 * ("meter/+/...") and would say nothing of which meter a message is. */
static int topic_check(struct loader *ld, long line, const char *meter,
    const char *topic)
{
	size_t n = strlen(MT_MQTT_PREFIX), id = strlen(ld->cfg->id);
	uintptr_t k;

	if (strncmp(topic, MT_MQTT_PREFIX, n) == 0 &&
	    strncmp(topic + n, ld->cfg->id, id) == 0 &&
	    strcmp(topic + n + id, "/") == 0)
		return fail_line(ld, line, "<connector>: meter %s: topic \"%.80s\" "
		    "is only the participant's prefix: add the meter's own part "
		    "after it", meter, topic);
	if (strncmp(topic, MT_MQTT_PREFIX, n) != 0 ||
	    strncmp(topic + n, ld->cfg->id, id) != 0 || topic[n + id] != '/')
		return fail_line(ld, line, "<connector>: meter %s: topic \"%.80s\" "
		    "is outside this participant's topics: they begin with \""
		    MT_MQTT_PREFIX "%s/\" (meter(7), SECURITY)", meter, topic, ld->cfg->id);
	if (strlen(topic) > MT_TOPIC_MAX || strpbrk(topic, "+#") != NULL)
		return fail_line(ld, line, "<connector>: meter %s: topic \"%.80s\" "
		    "is not one exact topic of at most %d bytes (no + or #)",
		    meter, topic, MT_TOPIC_MAX);
	for (const char *p = topic; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail_line(ld, line, "<connector>: meter %s: topic has "
			    "a control character", meter);
	/* each message is parsed and archived once per meter of its topic */
	if (ld->topics == NULL)
		ld->topics = mt_map_new();
	k = (uintptr_t)mt_map_get(ld->topics, topic, strlen(topic)) + 1;
	if (k > MT_TOPIC_METERS_MAX)
		return fail_line(ld, line, "<connector>: meter %s: more than %d "
		    "meters read topic \"%.80s\" (the registers of one telegram are "
		    "fewer)", meter, MT_TOPIC_METERS_MAX, topic);
	mt_map_put(ld->topics, topic, strlen(topic), (void *)k);
	return 0;
}

/* The connector's settings and what they must agree on with their meter,
 * checked here so that every program that reads the configuration refuses
 * the same mistakes with the same message. */
static int connector_settings(struct loader *ld, struct mt_meter_cfg *m)
{
	const struct mt_connector *c = m->connector;
	struct mt_conn conn;
	struct mt_err err;

	if (mt_conn_parse(&conn, c, NULL, &err) < 0)
		return fail_line(ld, c->line, "%s", err.msg);
	if (conn.type == MT_CONN_NEM12 && conn.nmi == NULL)
		return fail_line(ld, c->line, "<connector>: meter %s: a nem12 file "
		    "holds many meters: name this one's with nmi=\"...\" (and "
		    "suffix=\"...\", E1 when not given)", m->id);
	if (mt_conn_check(&conn, m->q, m->kind, m->unit, &err) < 0 ||
	    mt_conn_check_url(&conn, &err) < 0)
		return fail_line(ld, c->line, "<connector>: meter %s: %s", m->id, err.msg);
	if (conn.type == MT_CONN_MQTT)
		return topic_check(ld, c->line, m->id, conn.topic);
	return 0;
}

static int connector(struct loader *ld, xmlNode *n, struct mt_meter_cfg *m)
{
	struct mt_connector *c;
	size_t i = 0;

	if (m->connector != NULL)
		return fail_at(ld, n, "a meter has one connector");
	c = m->connector = mt_xcalloc(1, sizeof *c);
	c->line = xmlGetLineNo(n);
	if ((c->type = need(ld, n, "type")) == NULL)
		return -1;
	for (xmlAttr *a = n->properties; a != NULL; a = a->next)
		i++;
	c->attrs = mt_xcalloc(2 * i + 1, sizeof *c->attrs);
	i = 0;
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		c->attrs[i++] = mt_xstrdup((const char *)a->name);
		c->attrs[i++] = mt_xstrdup(a->children ? (const char *)a->children->content : "");
	}
	for (xmlNode *ch = n->children; ch != NULL; ch = ch->next) {
		int k = check_child(ld, ch, n);
		if (k < 0 || (k > 0 && !is_elem(ch, "header") &&
		    fail_at(ld, ch, "unknown element in <connector>") < 0) ||
		    (k > 0 && header(ld, ch, c) < 0))
			return -1;
	}
	return connector_settings(ld, m);
}

static int meter_fields(struct loader *ld, xmlNode *n, struct mt_meter_cfg *m)
{
	const char *q = attr(n, "quantity"), *kind = attr(n, "kind");
	struct mt_conv conv;
	struct mt_err uerr;

	if ((m->q = q ? mt_quantity_find(q) : NULL) == NULL)
		return fail_at(ld, n, q ? "unknown quantity \"%.40s\"" :
		    "missing attribute \"quantity\"%.0s", q ? q : "");
	m->unit = maybe(n, "unit");
	if (m->unit != NULL && mt_unit_convert(m->q, m->unit, &conv, &uerr) < 0)
		return fail_at(ld, n, "%s", uerr.msg);
	if (kind != NULL && strcmp(kind, "cumulative") && strcmp(kind, "interval") &&
	    strcmp(kind, "instant"))
		return fail_at(ld, n, "attribute \"kind\" must be cumulative, interval or instant");
	m->kind = maybe(n, "kind");
	m->contract = maybe(n, "contract");
	if (number(ld, n, "rollover", 1e-300, &m->rollover) < 0 ||
	    number(ld, n, "calorific-value", 1e-300, &m->calorific) < 0 ||
	    boolean(ld, n, "external", &m->external) < 0)
		return -1;
	return 0;
}

static int meter(struct loader *ld, xmlNode *n, const char *property)
{
	static const char *const known[] = { "id", "quantity", "unit", "kind",
		"contract", "rollover", "calorific-value", "external", NULL };
	struct mt_config *cfg = ld->cfg;
	struct mt_meter_cfg *m;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	cfg->meters = mt_xrealloc(cfg->meters, (cfg->nmeters + 1) * sizeof *cfg->meters);
	m = &cfg->meters[cfg->nmeters++];
	memset(m, 0, sizeof *m);
	m->line = xmlGetLineNo(n);
	m->property = property ? mt_xstrdup(property) : NULL;
	if ((m->id = need_id(ld, n)) == NULL || meter_fields(ld, n, m) < 0)
		return -1;
	if (mt_config_meter(cfg, m->id) != NULL)
		return fail_at(ld, n, "duplicate meter id \"%s\"", m->id);
	mt_map_put(cfg->meter_index, m->id, strlen(m->id), (void *)(uintptr_t)cfg->nmeters);
	for (xmlNode *ch = n->children; ch != NULL; ch = ch->next) {
		int k = check_child(ld, ch, n);
		if (k < 0 || (k > 0 && !is_elem(ch, "connector") &&
		    fail_at(ld, ch, "unknown element in <meter>") < 0) ||
		    (k > 0 && connector(ld, ch, m) < 0))
			return -1;
	}
	return 0;
}

static int property(struct loader *ld, xmlNode *n)
{
	static const char *const known[] = { "id", "name", "type", "area-m2",
		"region", "timezone", NULL };
	struct mt_config *cfg = ld->cfg;
	struct mt_property_cfg *p;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	cfg->properties = mt_xrealloc(cfg->properties,
	    (cfg->nproperties + 1) * sizeof *cfg->properties);
	p = &cfg->properties[cfg->nproperties++];
	memset(p, 0, sizeof *p);
	p->line = xmlGetLineNo(n);
	if ((p->id = need_id(ld, n)) == NULL)
		return -1;
	if (mt_config_property(cfg, p->id) != NULL)
		return fail_at(ld, n, "duplicate property id \"%s\"", p->id);
	mt_map_put(cfg->property_index, p->id, strlen(p->id),
	    (void *)(uintptr_t)cfg->nproperties);
	p->name = maybe(n, "name");
	p->type = maybe(n, "type");
	p->region = maybe(n, "region");
	if (number(ld, n, "area-m2", 1e-300, &p->area_m2) < 0 ||
	    (attr(n, "timezone") && (p->timezone = zone_attr(ld, n)) == NULL))
		return -1;
	for (xmlNode *ch = n->children; ch != NULL; ch = ch->next) {
		int k = check_child(ld, ch, n);
		if (k <= 0) {
			if (k < 0)
				return -1;
		} else if (is_elem(ch, "office-hours")) {
			if (office_hours(ld, ch, p) < 0)
				return -1;
		} else if (is_elem(ch, "closure")) {
			if (closure(ld, ch, p) < 0)
				return -1;
		} else if (is_elem(ch, "meter")) {
			if (meter(ld, ch, ld->cfg->properties[ld->cfg->nproperties - 1].id) < 0)
				return -1;
		} else {
			return fail_at(ld, ch, "unknown element in <property>");
		}
		p = &ld->cfg->properties[ld->cfg->nproperties - 1];
	}
	return 0;
}

static int contract(struct loader *ld, xmlNode *n)
{
	static const char *const known[] = { "id", "co2-kg-per-kwh", "co2-series", NULL };
	struct mt_config *cfg = ld->cfg;
	struct mt_contract *c;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	cfg->contracts = mt_xrealloc(cfg->contracts,
	    (cfg->ncontracts + 1) * sizeof *cfg->contracts);
	c = &cfg->contracts[cfg->ncontracts++];
	memset(c, 0, sizeof *c);
	c->line = xmlGetLineNo(n);
	c->co2_kg_per_kwh = -1;
	if ((c->id = need_id(ld, n)) == NULL ||
	    number(ld, n, "co2-kg-per-kwh", 0, &c->co2_kg_per_kwh) < 0)
		return -1;
	c->co2_series = maybe(n, "co2-series");
	if (c->co2_series != NULL && !mt_path_inside(c->co2_series))
		return fail_at(ld, n, "co2-series \"%.80s\" is outside the participant "
		    "directory: name a file inside it, relative to %s", c->co2_series,
		    ld->cfg->dir);
	for (size_t i = 0; i + 1 < cfg->ncontracts; i++)
		if (strcmp(cfg->contracts[i].id, c->id) == 0)
			return fail_at(ld, n, "duplicate contract id \"%s\"", c->id);
	return 0;
}

static int aggregation(struct loader *ld, xmlNode *n)
{
	static const char *const known[] = { "quantity", "rule", NULL };
	struct mt_config *cfg = ld->cfg;
	const char *q = attr(n, "quantity"), *rule = attr(n, "rule");
	struct mt_agg_rule r;

	if (check_attrs(ld, n, known) < 0)
		return -1;
	if (q == NULL || (r.q = mt_quantity_find(q)) == NULL)
		return fail_at(ld, n, "attribute \"quantity\" must name a quantity");
	if (rule == NULL || (strcmp(rule, "sum") && strcmp(rule, "mean")))
		return fail_at(ld, n, "attribute \"rule\" must be sum or mean");
	r.mean = strcmp(rule, "mean") == 0;
	for (size_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].q == r.q)
			return fail_at(ld, n, "a second rule for %s", q);
	cfg->rules = mt_xrealloc(cfg->rules, (cfg->nrules + 1) * sizeof *cfg->rules);
	cfg->rules[cfg->nrules++] = r;
	return 0;
}

static int participant(struct loader *ld, xmlNode *root)
{
	static const char *const known[] = { "id", "name", "timezone", NULL };
	struct mt_config *cfg = ld->cfg;

	if (!is_elem(root, "participant"))
		return fail_at(ld, root, "the root element must be <participant>");
	if (check_attrs(ld, root, known) < 0 || (cfg->id = need_id(ld, root)) == NULL)
		return -1;
	cfg->name = maybe(root, "name");
	if (attr(root, "timezone") && (cfg->timezone = zone_attr(ld, root)) == NULL)
		return -1;
	for (xmlNode *ch = root->children; ch != NULL; ch = ch->next) {
		int k = check_child(ld, ch, root);
		if (k < 0 || (k > 0 && (is_elem(ch, "contract") ? contract(ld, ch) :
		    is_elem(ch, "property") ? property(ld, ch) :
		    is_elem(ch, "meter") ? meter(ld, ch, NULL) :
		    is_elem(ch, "aggregation") ? aggregation(ld, ch) :
		    fail_at(ld, ch, "unknown element in <participant>")) < 0))
			return -1;
	}
	return 0;
}

/* Cross-references, once every element is read. */
static int check_refs(struct loader *ld)
{
	struct mt_config *cfg = ld->cfg;

	for (size_t i = 0; i < cfg->nmeters; i++) {
		struct mt_meter_cfg *m = &cfg->meters[i];
		size_t k = 0;

		if (m->contract == NULL)
			continue;
		while (k < cfg->ncontracts && strcmp(cfg->contracts[k].id, m->contract))
			k++;
		if (k == cfg->ncontracts) {
			mt_err_set(ld->err, ld->path, m->line, "<meter>: unknown contract \"%s\"",
			    m->contract);
			ld->err->status = MT_EXIT_USAGE;
			ld->failed = 1;
			return -1;
		}
	}
	return 0;
}

/* Anyone could have written a configuration in a world-writable place, or
 * swapped the directory holding it through a world-writable ancestor
 * (meter-init(1) sets the modes; meter(7), SECURITY).  A sticky ancestor
 * such as /tmp is safe: others cannot rename what is in it. */
static int world_writable(const char *path, const char *dir, struct mt_err *err)
{
	char *real = realpath(dir, NULL), *p;
	struct stat st;
	int bad = 0;

	if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH)) {
		mt_err_set(err, path, 0, "refusing a world-writable configuration "
		    "(chmod o-w)");
		bad = 1;
	} else if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH)) {
		mt_err_set(err, path, 0, "refusing a configuration in a "
		    "world-writable directory, %s (chmod o-w)", dir);
		bad = 1;
	}
	for (p = real ? strrchr(real, '/') : NULL; !bad && p != NULL;
	    p = strrchr(real, '/')) {
		p[p == real] = '\0';
		if (stat(real, &st) == 0 && (st.st_mode & S_IWOTH) &&
		    !(st.st_mode & S_ISVTX)) {
			mt_err_set(err, path, 0, "refusing a configuration below a "
			    "world-writable directory, %s (chmod o-w, or +t)", real);
			bad = 1;
		}
		if (p == real)
			break;
	}
	free(real);
	return bad;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mt_xstrdup(".");
	return mt_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

struct mt_config *mt_config_load(const char *path, struct mt_err *err)
{
	struct loader ld = { mt_xcalloc(1, sizeof *ld.cfg), err, path, 0, NULL };
	xmlDoc *doc;

	ld.cfg->path = mt_xstrdup(path);
	ld.cfg->dir = dir_of(path);
	ld.cfg->meter_index = mt_map_new();
	ld.cfg->property_index = mt_map_new();
	if (access(path, R_OK) < 0) {
		mt_err_set(err, path, 0, "cannot read configuration: %s", strerror(errno));
		err->status = MT_EXIT_IO;
		goto fail;
	}
	if (world_writable(path, ld.cfg->dir, err)) {
		err->status = MT_EXIT_USAGE;
		goto fail;
	}
	if ((doc = mt_xml_read(path, NULL, 0, err)) == NULL) {
		err->status = MT_EXIT_USAGE;
		goto fail;
	}
	participant(&ld, xmlDocGetRootElement(doc));
	if (!ld.failed)
		check_refs(&ld);
	xmlFreeDoc(doc);
	mt_map_free(ld.topics);
	if (!ld.failed)
		return ld.cfg;
fail:
	mt_config_free(ld.cfg);
	return NULL;
}

struct mt_config *mt_config_load_for(const char *path, const char *participant,
    struct mt_err *err)
{
	struct mt_config *cfg = mt_config_load(path, err);

	if (cfg == NULL || participant == NULL || strcmp(cfg->id, participant) == 0)
		return cfg;
	mt_err_set(err, path, 0, "the configuration is of participant \"%s\", not "
	    "%s (-p): a participant's configuration carries the id of its "
	    "directory", cfg->id, participant);
	err->status = MT_EXIT_USAGE;
	mt_config_free(cfg);
	return NULL;
}

static void free_connector(struct mt_connector *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->attrs && c->attrs[i]; i++)
		free(c->attrs[i]);
	for (size_t i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].env);
		free(c->headers[i].prefix);
	}
	free(c->headers);
	free(c->attrs);
	free(c->type);
	free(c);
}

void mt_config_free(struct mt_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->ncontracts; i++) {
		free(cfg->contracts[i].id);
		free(cfg->contracts[i].co2_series);
	}
	for (size_t i = 0; i < cfg->nproperties; i++) {
		struct mt_property_cfg *p = &cfg->properties[i];
		free(p->id);
		free(p->name);
		free(p->type);
		free(p->region);
		free(p->timezone);
		free(p->hours);
		free(p->closures);
	}
	for (size_t i = 0; i < cfg->nmeters; i++) {
		struct mt_meter_cfg *m = &cfg->meters[i];
		free(m->id);
		free(m->property);
		free(m->unit);
		free(m->kind);
		free(m->contract);
		free_connector(m->connector);
	}
	free(cfg->rules);
	free(cfg->contracts);
	free(cfg->properties);
	free(cfg->meters);
	free(cfg->id);
	free(cfg->name);
	free(cfg->timezone);
	free(cfg->path);
	free(cfg->dir);
	mt_map_free(cfg->meter_index);
	mt_map_free(cfg->property_index);
	free(cfg);
}

/* The indexes hold positions + 1, not pointers: the arrays they index
 * grow while the configuration is read. */
struct mt_property_cfg *mt_config_property(const struct mt_config *cfg,
    const char *id)
{
	uintptr_t i = (uintptr_t)mt_map_get(cfg->property_index, id, strlen(id));
	return i ? &cfg->properties[i - 1] : NULL;
}

struct mt_meter_cfg *mt_config_meter(const struct mt_config *cfg, const char *id)
{
	uintptr_t i = (uintptr_t)mt_map_get(cfg->meter_index, id, strlen(id));
	return i ? &cfg->meters[i - 1] : NULL;
}

static void count(char *buf, size_t cap, size_t n, const char *one,
    const char *many)
{
	snprintf(buf + strlen(buf), cap - strlen(buf), "%s%zu %s",
	    buf[0] ? ", " : "", n, n == 1 ? one : many);
}

/* "csv", or "csv 2, json 1" when there are several types */
static void connector_types(const struct mt_config *cfg, char *buf, size_t cap,
    size_t *nconn)
{
	size_t per_type[MT_CONN_TYPES] = { 0 };

	*nconn = 0;
	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_connector *c = cfg->meters[i].connector;
		int t = c ? mt_conn_type_find(c->type) : -1;
		if (t >= 0) {
			per_type[t]++;
			(*nconn)++;
		}
	}
	buf[0] = '\0';
	for (int t = 0; t < MT_CONN_TYPES; t++) {
		if (per_type[t] == 0)
			continue;
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? ", " : "",
		    mt_conn_type_name((enum mt_conn_type)t));
		if (per_type[t] != *nconn)
			snprintf(buf + strlen(buf), cap - strlen(buf), " %zu", per_type[t]);
	}
}

void mt_config_describe(const struct mt_config *cfg, char *buf, size_t cap)
{
	char types[200];
	size_t nconn;

	connector_types(cfg, types, sizeof types, &nconn);
	buf[0] = '\0';
	count(buf, cap, cfg->nproperties, "property", "properties");
	count(buf, cap, cfg->nmeters, "meter", "meters");
	count(buf, cap, nconn, "connector", "connectors");
	if (types[0])
		snprintf(buf + strlen(buf), cap - strlen(buf), " (%s)", types);
	count(buf, cap, cfg->ncontracts, "contract", "contracts");
}
