/* greenbutton.c - the greenbutton connector: NAESB ESPI Atom feeds.
 *
 * Entries are tied together by their Atom links: an IntervalBlock lives
 * under a MeterReading (its self or up link starts with the reading's self
 * link), and the MeterReading names its ReadingType in a related link.  A
 * feed with a single ReadingType needs no links.  Elements are matched by
 * local name, so any namespace prefix (or none) reads the same.
 *
 * A reading is value x 10^powerOfTenMultiplier in uom units; only the
 * ReadingType whose flowDirection the connector asks for (import unless
 * told) is read, since import and export are different meters. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

struct rtype {
	const char *self;
	int uom, p10, flow, accum, quality, commodity;
	long line;
};

struct mreading {
	const char *self;
	const char *related[8];
	int nrelated;
};

struct block {
	xmlNode *node;
	const char *self, *up;
};

struct feed {
	struct rtype rt[64];
	mt_time_t end[64];        /* end of the last period read of each type */
	int nrt;
	struct mreading mr[64];
	int nmr;
	struct block *blocks;
	size_t nblocks;
	int service;              /* UsagePoint ServiceCategory kind, -1 none */
	int overflow;
};

static int is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c != NULL; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

/* The whole-number text of a child element; 0 and *v untouched if absent
 * or not a number. */
static int child_long(const xmlNode *n, const char *name, long long *v)
{
	xmlNode *c = child(n, name);
	char *end;
	long long x;

	if (c == NULL || c->children == NULL || c->children->content == NULL)
		return 0;
	x = strtoll((const char *)c->children->content, &end, 10);
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (end == (const char *)c->children->content || *end != '\0')
		return -1;
	*v = x;
	return 1;
}

static int child_int(const xmlNode *n, const char *name, int dflt)
{
	long long v = dflt;

	child_long(n, name, &v);
	return (int)v;
}

/* The entry's links by rel. */
static const char *link_href(const xmlNode *entry, const char *rel, int nth)
{
	for (xmlNode *c = entry ? entry->children : NULL; c != NULL; c = c->next) {
		xmlChar *r;
		int match;
		if (!is(c, "link"))
			continue;
		r = xmlGetProp(c, (const xmlChar *)"rel");
		match = r != NULL && strcmp((const char *)r, rel) == 0;
		xmlFree(r);
		if (match && nth-- == 0) {
			for (xmlAttr *a = c->properties; a != NULL; a = a->next)
				if (strcmp((const char *)a->name, "href") == 0 && a->children)
					return (const char *)a->children->content;
		}
	}
	return NULL;
}

static void collect(struct feed *f, xmlNode *n, xmlNode *entry)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "entry"))
			entry = n;
		if (is(n, "ReadingType")) {
			struct rtype *r = &f->rt[f->nrt];
			if (f->nrt == 64) {
				f->overflow = 1;
				continue;
			}
			f->nrt++;
			r->self = link_href(entry, "self", 0);
			r->uom = child_int(n, "uom", -1);
			r->p10 = child_int(n, "powerOfTenMultiplier", 0);
			r->flow = child_int(n, "flowDirection", 1);
			r->accum = child_int(n, "accumulationBehaviour", 4);
			r->quality = child_int(n, "defaultQuality", -1);
			r->commodity = child_int(n, "commodity", -1);
			r->line = xmlGetLineNo(n);
			continue;
		}
		if (is(n, "MeterReading")) {
			struct mreading *m = &f->mr[f->nmr];
			if (f->nmr == 64) {
				f->overflow = 1;
				continue;
			}
			f->nmr++;
			m->self = link_href(entry, "self", 0);
			while (m->nrelated < 8 &&
			    (m->related[m->nrelated] = link_href(entry, "related", m->nrelated)) != NULL)
				m->nrelated++;
			continue;
		}
		if (is(n, "IntervalBlock")) {
			f->blocks = mt_xrealloc(f->blocks, (f->nblocks + 1) * sizeof *f->blocks);
			f->blocks[f->nblocks++] = (struct block){ n,
			    link_href(entry, "self", 0), link_href(entry, "up", 0) };
			continue;
		}
		if (is(n, "UsagePoint") && child(n, "ServiceCategory") != NULL)
			f->service = child_int(child(n, "ServiceCategory"), "kind", -1);
		collect(f, n->children, entry);
	}
}

static int under(const char *href, const char *parent)
{
	size_t n = parent ? strlen(parent) : 0;

	return href != NULL && n > 0 && strncmp(href, parent, n) == 0 &&
	    (href[n] == '/' || href[n] == '\0');
}

static const struct rtype *reading_type(const struct feed *f, const struct block *b)
{
	const struct mreading *best = NULL;

	for (int i = 0; i < f->nmr; i++) {
		const struct mreading *m = &f->mr[i];
		if ((under(b->self, m->self) || under(b->up, m->self)) &&
		    (best == NULL || strlen(m->self) > strlen(best->self)))
			best = m;
	}
	for (int k = 0; best != NULL && k < best->nrelated; k++)
		for (int i = 0; i < f->nrt; i++)
			if (f->rt[i].self && strcmp(f->rt[i].self, best->related[k]) == 0)
				return &f->rt[i];
	return f->nrt == 1 ? &f->rt[0] : NULL;
}

static const char *uom_unit(int uom)
{
	switch (uom) {
	case 72: return "Wh";
	case 169: return "therm";
	case 42: return "m3";
	default: return NULL;
	}
}

/* Without a configured quantity, the feed says what it measures: its
 * commodity or service kind (ESPI), else its unit, Wh being what Green
 * Button feeds give electricity in (gas comes in therms); electricity
 * exported is electricity_export. */
static const struct mt_quantity *feed_quantity(const struct feed *f,
    const struct rtype *rt, const char *unit, int flow)
{
	/* flowDirection 19, what a building gives the grid, is no consumption */
	if (flow == 19 && (rt->commodity == 1 || rt->commodity == 2 ||
	    f->service == 0 || strcmp(unit, "Wh") == 0))
		return mt_quantity_find("electricity_export");
	if (rt->commodity == 7 || rt->commodity == 8 || f->service == 1)
		return mt_quantity_find("gas");
	if (rt->commodity == 9 || f->service == 2)
		return mt_quantity_find("water");
	if (rt->commodity == 1 || rt->commodity == 2 || f->service == 0 ||
	    strcmp(unit, "Wh") == 0)
		return mt_quantity_find("electricity");
	return mt_quantity_for_unit(unit);
}

static int estimated(const xmlNode *ir, const struct rtype *rt)
{
	int seen = 0;

	for (xmlNode *c = ir->children; c != NULL; c = c->next) {
		int q;
		if (!is(c, "ReadingQuality"))
			continue;
		seen = 1;
		q = child_int(c, "quality", -1);
		if (q == 8 || q == 9)
			return 1;
	}
	return !seen && (rt->quality == 8 || rt->quality == 9);
}

/* Period, value and kind of one IntervalReading; NULL or a reason. */
static const char *read_interval(const struct rtype *rt, xmlNode *ir,
    struct mt_raw *r)
{
	xmlNode *tp = child(ir, "timePeriod");
	long long start = 0, dur = 0, value = 0;
	char num[64];

	if (child_long(tp, "start", &start) != 1 || child_long(tp, "duration", &dur) != 1 ||
	    dur < 0 || dur > MT_SPAN_MAX_S || start < -62135596800LL || start > 253402300799LL)
		return "IntervalReading without a valid timePeriod start and duration";
	if (child_long(ir, "value", &value) != 1)
		return "IntervalReading without a whole-number value";
	/* Decimal text, so that 103513077 x 10^-8 is the nearest double. */
	snprintf(num, sizeof num, "%llde%d", value, rt->p10);
	r->value = strtod(num, NULL);
	r->unit = uom_unit(rt->uom);
	r->estimated = estimated(ir, rt);
	r->duration = dur;
	switch (rt->accum) {
	case 1: case 3: case 9:   /* a register: its value at the period's end */
		r->kind = MT_CUMULATIVE;
		r->ts = (start + dur) * 1000;
		return NULL;
	case 6: case 12:
		r->kind = MT_INSTANT;
		r->ts = start * 1000;
		return NULL;
	default:
		r->kind = MT_INTERVAL;
		r->ts = start * 1000;
		return dur < 1 ? "IntervalReading with a zero duration" : NULL;
	}
}

/* Utilities write billing periods from local midnight to local midnight
 * but give their length in UTC seconds, so a period holding the autumn
 * DST change runs an hour into the next one.  An overlap of at most an
 * hour is trimmed from the later period's start: the bill arrives whole
 * instead of being rejected as overlapping. */
static void trim_dst_overlap(struct mt_emit *e, struct mt_raw *r,
    mt_time_t *prev_end, long line)
{
	mt_time_t over = *prev_end == MT_TIME_MIN ? 0 : *prev_end - r->ts;

	if (r->kind != MT_INTERVAL)
		return;
	if (over > 0 && over <= MT_HOUR_MS && r->duration * 1000 > over) {
		char ts[32], msg[160];
		mt_time_format(ts, r->ts);
		snprintf(msg, sizeof msg, "period starting %s overlaps the previous "
		    "one by %lld s (a DST change): trimmed to start where it ends",
		    ts, (long long)over / 1000);
		mt_notice(e->rj, e->source, line, msg);
		r->ts += over;
		r->duration -= over / 1000;
	}
	if (r->ts + r->duration * 1000 > *prev_end)
		*prev_end = r->ts + r->duration * 1000;
}

static void interval_reading(struct mt_emit *e, const struct rtype *rt,
    xmlNode *ir, mt_time_t *prev_end)
{
	xmlBuffer *buf = xmlBufferCreate();
	struct mt_raw r = { 0 };
	struct mt_row row;
	const char *why;

	xmlNodeDump(buf, ir->doc, ir, 0, 0);
	row = (struct mt_row){ xmlGetLineNo(ir), (const char *)xmlBufferContent(buf),
	    (size_t)xmlBufferLength(buf) };
	if ((why = read_interval(rt, ir, &r)) != NULL) {
		e->rejected++;
		mt_reject(e->rj, e->source, row.line, row.text, row.len, why);
	} else {
		trim_dst_overlap(e, &r, prev_end, row.line);
		mt_emit(e, &r, &row);
	}
	xmlBufferFree(buf);
}

static int fail(struct mt_emit *e, struct mt_err *err, long line,
    const char *why)
{
	mt_err_set(err, e->source, line, "%s", why);
	err->status = MT_EXIT_REJECTS;
	return -1;
}

static int check_type(const struct block *b,
    const struct rtype *rt, struct mt_emit *e, struct mt_err *err)
{
	char why[128];

	if (rt == NULL)
		return fail(e, err, xmlGetLineNo(b->node),
		    "cannot tell the ReadingType of this IntervalBlock (no links to it)");
	if (uom_unit(rt->uom) == NULL) {
		snprintf(why, sizeof why, "ReadingType uom %d is not supported "
		    "(72 Wh, 169 therm, 42 m3)", rt->uom);
		return fail(e, err, rt->line, why);
	}
	return 0;
}

/* A feed of the other direction only gives nothing: said, or an export
 * meter on an import-only feed looks like a meter without data. */
static void other_flow_only(const struct mt_conn *c, struct mt_emit *e, long n)
{
	char msg[200];

	snprintf(msg, sizeof msg, "no reading of flow direction %s in this feed: "
	    "its %ld readings are of the other direction (flow-direction=%s)",
	    c->flow == 19 ? "export" : "import", n,
	    c->flow == 19 ? "import" : "export");
	mt_notice(e->rj, e->source, 0, msg);
}

int mt_parse_greenbutton(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err)
{
	struct _xmlDoc *doc = mt_xml_read(e->source, body, n, err);
	struct feed *f;
	const struct mt_quantity *q = e->q;
	long other_flow = 0;
	int rc = 0;

	if (doc == NULL) {
		err->status = MT_EXIT_REJECTS;
		return -1;
	}
	f = mt_xcalloc(1, sizeof *f);
	f->service = -1;
	for (int i = 0; i < 64; i++)
		f->end[i] = MT_TIME_MIN;
	collect(f, xmlDocGetRootElement(doc), NULL);
	if (f->overflow)
		rc = fail(e, err, 0, "more than 64 ReadingType or MeterReading entries");
	for (size_t i = 0; rc == 0 && i < f->nblocks; i++) {
		const struct rtype *rt = reading_type(f, &f->blocks[i]);
		if ((rc = check_type(&f->blocks[i], rt, e, err)) < 0)
			break;
		if (rt->flow != c->flow) {
			for (xmlNode *ir = f->blocks[i].node->children; ir; ir = ir->next)
				other_flow += is(ir, "IntervalReading");
			continue;
		}
		mt_time_t *prev_end = &f->end[rt - f->rt];
		e->q = q ? q : feed_quantity(f, rt, uom_unit(rt->uom), c->flow);
		for (xmlNode *ir = f->blocks[i].node->children; ir; ir = ir->next)
			if (is(ir, "IntervalReading"))
				interval_reading(e, rt, ir, prev_end);
	}
	e->q = q;
	e->skipped += other_flow;
	if (rc == 0 && e->readings == 0 && other_flow > 0)
		other_flow_only(c, e, other_flow);
	free(f->blocks);
	free(f);
	xmlFreeDoc(doc);
	return rc;
}
