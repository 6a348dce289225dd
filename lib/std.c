/* std.c - raw readings to meter hours: the engine of meter-standardize.
 *
 * Per meter it keeps the readings of the correction window, sorted by time,
 * and the first hour whose value may have changed ("dirty").  Hours are
 * computed from those readings when they are emitted, so a reading that
 * arrives out of order simply lands in its place and the hours around it
 * are emitted (again) with the right values.  Readings older than the window
 * are dropped once the hours they feed are final, which bounds memory by
 * the window, never by the input.  The rules are in meter-standardize(1). */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define R_ESTIMATED 1
#define TIGHT_MS MT_HOUR_MS      /* readings at most this far apart are tight */
#define SPREAD_MAX_MS (MT_SPAN_MAX_S * 1000)
#define SRC_STATE 0

struct reading {
	int64_t ts;
	double v;        /* canonical units; a rate in canonical units per hour */
	int32_t dur;     /* seconds, interval readings */
	uint32_t line;
	uint16_t src;
	uint8_t flags;
};

struct meter {
	char *participant, *property, *id;
	const struct mt_quantity *q;
	enum mt_kind kind;
	int rate;            /* instant readings of a rate, integrated */
	double rollover;
	struct reading *r;
	size_t n, cap;
	int64_t dirty;       /* first hour to (re)emit; INT64_MAX when none */
	int64_t emitted_to;  /* hours before this were emitted once */
	int64_t newest;      /* newest reading time seen */
	int64_t last_in;     /* time of the previous reading in input order */
};

struct mt_std {
	struct mt_std_opts o;
	struct mt_rejects *rj;
	struct mt_out *out;
	struct mt_map *index;
	struct meter **meters;      /* in order of first appearance */
	size_t nmeters, capmeters;
	char **sources;             /* [SRC_STATE] is the state file */
	size_t nsources;
	const char *cursrc;
	uint16_t cursrc_id;
	struct mt_std_stats st;
	/* the last unit looked up: input streams repeat one or two */
	const struct mt_quantity *conv_q;
	char conv_unit[16];
	struct mt_conv conv;
};

/* One hour being summed up while readings are walked in time order. */
struct hour_acc {
	int64_t h;
	double sum;
	int64_t covered;     /* ms of the hour backed by tight data */
	int any, interp, est;
};

struct mt_std *mt_std_new(const struct mt_std_opts *opts,
    struct mt_rejects *rj, struct mt_out *out)
{
	struct mt_std *s = mt_xcalloc(1, sizeof *s);

	s->o = *opts;
	s->rj = rj;
	s->out = out;
	s->index = mt_map_new();
	s->sources = mt_xcalloc(1, sizeof *s->sources);
	s->sources[SRC_STATE] = mt_xstrdup("state");
	s->nsources = 1;
	return s;
}

void mt_std_free(struct mt_std *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nmeters; i++) {
		struct meter *m = s->meters[i];
		free(m->participant);
		free(m->property);
		free(m->id);
		free(m->r);
		free(m);
	}
	for (size_t i = 0; i < s->nsources; i++)
		free(s->sources[i]);
	free(s->sources);
	free(s->meters);
	mt_map_free(s->index);
	free(s);
}

const struct mt_std_stats *mt_std_stats(const struct mt_std *s)
{
	return &s->st;
}

static void reject(struct mt_std *s, const char *src, long line,
    const char *text, size_t len, const char *reason)
{
	s->st.rejected++;
	mt_reject(s->rj, src, line, text, len, reason);
}

void mt_std_reject(struct mt_std *s, const struct mt_rec *rec,
    const char *reason)
{
	s->st.in++;
	reject(s, rec->source, rec->line, rec->text, rec->textlen, reason);
}

static void notice(struct mt_std *s, const char *src, long line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void notice(struct mt_std *s, const char *src, long line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mt_notice(s->rj, src, line, msg);
}

static uint16_t source_id(struct mt_std *s, const char *src)
{
	if (src == s->cursrc)
		return s->cursrc_id;
	for (size_t i = 1; i < s->nsources; i++)
		if (strcmp(s->sources[i], src) == 0) {
			s->cursrc = src;
			return s->cursrc_id = (uint16_t)i;
		}
	if (s->nsources == UINT16_MAX)
		return SRC_STATE;
	s->sources = mt_xrealloc(s->sources, (s->nsources + 1) * sizeof *s->sources);
	s->sources[s->nsources] = mt_xstrdup(src);
	s->cursrc = src;
	return s->cursrc_id = (uint16_t)s->nsources++;
}

/* ---- computing hours ---- */

static int64_t hour_ceil(int64_t t)
{
	int64_t f = mt_hour_floor(t);
	return f == t ? t : f + MT_HOUR_MS;
}

static int64_t reading_end(const struct meter *m, const struct reading *r)
{
	return m->kind == MT_INTERVAL ? r->ts + (int64_t)r->dur * 1000 : r->ts;
}

/* Consumption between two register readings (never negative). */
static double consumption(const struct meter *m, double noise,
    const struct reading *a, const struct reading *b, int *event)
{
	double d = b->v - a->v;

	*event = 0;
	if (d >= 0)
		return d;
	if (-d <= noise)
		return *event = 'n', 0;
	/* A register near its maximum wrapped; one far from it was reset. */
	if (m->rollover > 0 && a->v <= m->rollover && b->v >= 0 &&
	    m->rollover - a->v + b->v < m->rollover / 2)
		return *event = 'o', m->rollover - a->v + b->v;
	return *event = 'r', b->v > 0 ? b->v : 0;
}

static void emit_hour(struct mt_std *s, const struct meter *m,
    const struct hour_acc *acc)
{
	struct mt_meter_hour h = {
		.participant = m->participant, .property = m->property,
		.meter = m->id, .unit = m->q->unit, .q = m->q, .hour = acc->h,
	};
	int level = m->q->qclass == MT_Q_LEVEL;

	if (!acc->any || (m->kind != MT_CUMULATIVE && acc->covered == 0))
		return;
	h.value = level ? acc->sum / (double)acc->covered : acc->sum;
	h.value = mt_round_value(h.value);
	h.coverage = mt_round_coverage((double)acc->covered / MT_HOUR_MS);
	h.quality = acc->est ? MT_ESTIMATED : acc->interp ? MT_INTERPOLATED :
	    MT_MEASURED;
	mt_meter_hour_write(s->out, &h);
	s->st.out++;
	s->st.hours++;
}

static void add_part(struct mt_std *s, const struct meter *m,
    struct hour_acc *acc, int64_t h, double amount, int64_t covered,
    int interp, int est)
{
	if (h != acc->h) {
		emit_hour(s, m, acc);
		memset(acc, 0, sizeof *acc);
		acc->h = h;
	}
	acc->sum += amount;
	acc->covered += covered;
	acc->any = 1;
	acc->interp |= interp;
	acc->est |= est;
}

/* Spread a span [a, b) over the hours of [from, to) that it overlaps.
 * va and vb are the values at a and b: linear in between. */
struct span {
	int64_t a, b;
	double va, vb;
	int mode;        /* 's' split an amount, 'i' integrate a level or rate */
	int tight, est;
};

static void spread(struct mt_std *s, const struct meter *m,
    struct hour_acc *acc, const struct span *sp, int64_t from, int64_t to)
{
	int64_t lo = sp->a > from ? sp->a : from, hi = sp->b < to ? sp->b : to;
	double len = (double)(sp->b - sp->a);

	for (int64_t h = mt_hour_floor(lo); h < hi; h += MT_HOUR_MS) {
		int64_t x = lo > h ? lo : h;
		int64_t y = hi < h + MT_HOUR_MS ? hi : h + MT_HOUR_MS;
		int interp = sp->a < h || sp->b > h + MT_HOUR_MS;
		double part;

		if (sp->mode == 's') {
			part = sp->va * (double)(y - x) / len;
		} else {
			double vx = sp->va + (sp->vb - sp->va) * (double)(x - sp->a) / len;
			double vy = sp->va + (sp->vb - sp->va) * (double)(y - sp->a) / len;
			part = (vx + vy) / 2 * (double)(y - x);
			if (m->rate)
				part /= MT_HOUR_MS;
			interp = 0;
		}
		add_part(s, m, acc, h, part, sp->tight ? y - x : 0, interp, sp->est);
	}
}

/* The span reading i contributes, 0 if none. */
static int span_of(struct mt_std *s, struct meter *m, size_t i,
    struct span *sp)
{
	const struct reading *r = &m->r[i], *p = i > 0 ? &m->r[i - 1] : NULL;
	int ev;

	memset(sp, 0, sizeof *sp);
	if (m->kind == MT_INTERVAL) {
		sp->a = r->ts;
		sp->b = reading_end(m, r);
		sp->va = m->q->qclass == MT_Q_LEVEL ? r->v * (double)(sp->b - sp->a) : r->v;
		sp->mode = 's';
		sp->tight = 1;
		sp->est = r->flags & R_ESTIMATED;
		return 1;
	}
	if (p == NULL)
		return 0;
	sp->a = p->ts;
	sp->b = r->ts;
	sp->tight = sp->b - sp->a <= TIGHT_MS;
	sp->est = (p->flags | r->flags) & R_ESTIMATED;
	if (m->kind == MT_CUMULATIVE) {
		/* Spread over at most the longest interval a reading may cover:
		 * two readings years apart (a mistyped year) would otherwise
		 * fill the output with millions of guessed hours.  The gap is
		 * reported all the same (check_gap). */
		if (sp->b - sp->a > SPREAD_MAX_MS)
			return 0;
		sp->va = consumption(m, s->o.noise, p, r, &ev);
		sp->mode = 's';
		return 1;
	}
	/* Instants further apart than an hour bracket nothing. */
	sp->va = p->v;
	sp->vb = r->v;
	sp->mode = 'i';
	return sp->tight;
}

/* First reading whose span can reach into hours >= t. */
static size_t first_for(const struct meter *m, int64_t t)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (reading_end(m, &m->r[mid]) <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A gap is reported once: when the hour its end falls in is first emitted,
 * so input order does not change what is reported. */
static void check_gap(struct mt_std *s, struct meter *m, size_t i, int64_t to)
{
	const struct reading *r = &m->r[i];
	int64_t gap;

	if (i == 0 || r->ts > to || r->ts <= m->emitted_to)
		return;
	gap = r->ts - reading_end(m, &m->r[i - 1]);
	if (gap > s->o.max_gap_ms) {
		s->st.gaps++;
		notice(s, s->sources[r->src], r->line,
		    "meter %s/%s: gap of %.1f h before this reading",
		    m->participant, m->id, (double)gap / MT_HOUR_MS);
	}
}

static void emit_range(struct mt_std *s, struct meter *m, int64_t from,
    int64_t to)
{
	struct hour_acc acc = { .h = INT64_MIN };
	struct span sp;

	if (from >= to || m->n == 0)
		return;
	for (size_t i = first_for(m, from); i < m->n; i++) {
		check_gap(s, m, i, to);
		if (!span_of(s, m, i, &sp))
			continue;
		if (sp.a >= to)
			break;
		if (sp.b > from)
			spread(s, m, &acc, &sp, from, to);
	}
	emit_hour(s, m, &acc);
}

/* Hours before this are closed: a reading at or after their end exists. */
static int64_t closed_to(const struct meter *m)
{
	return m->n ? mt_hour_floor(reading_end(m, &m->r[m->n - 1])) : INT64_MIN;
}

static void emit_closed(struct mt_std *s, struct meter *m, int64_t limit)
{
	int64_t to = closed_to(m);

	if (limit < to)
		to = limit;
	if (m->dirty >= to)
		return;
	if (m->dirty < m->emitted_to)
		s->st.corrections++;
	emit_range(s, m, m->dirty, to);
	m->dirty = to;
	if (to > m->emitted_to)
		m->emitted_to = to;
}

/* ---- the correction window ---- */

static int64_t window_start(const struct mt_std *s, const struct meter *m)
{
	return mt_hour_floor(mt_hour_floor(m->newest) - s->o.lateness_ms);
}

/* Index of the last reading at or before t, or -1. */
static long last_at_or_before(const struct meter *m, int64_t t)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->r[mid].ts <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* The first hour a reading still accepted could change: hours before it
 * are final.  INT64_MIN when there is none. */
static int64_t final_before(const struct mt_std *s, const struct meter *m)
{
	long k = m->n < 2 ? -1 : last_at_or_before(m, window_start(s, m));

	return k < 1 ? INT64_MIN : mt_hour_floor(m->r[k].ts);
}

/* Write the hours that became final as soon as they do, a window behind
 * the meter's newest reading: every meter's output then keeps pace with
 * the input, and a windowed reader of it (meter-aggregate) sees the meters
 * of a property together, not one meter's days in a burst. */
static void emit_final(struct mt_std *s, struct meter *m)
{
	int64_t final = final_before(s, m);

	if (final != INT64_MIN)
		emit_closed(s, m, final);
}

/* Emit the hours no accepted reading can change any more, and forget the
 * readings only they needed. */
static void prune(struct mt_std *s, struct meter *m)
{
	long k, j;
	int64_t final;

	if (m->n < 2)
		return;
	k = last_at_or_before(m, window_start(s, m));
	if (k < 1)
		return;
	final = mt_hour_floor(m->r[k].ts);
	j = last_at_or_before(m, final);
	if (j < 1)
		return;
	emit_closed(s, m, final);
	memmove(m->r, m->r + j, (m->n - (size_t)j) * sizeof *m->r);
	m->n -= (size_t)j;
}

/* ---- taking readings in ---- */

static struct meter *meter_new(struct mt_std *s, const char *participant,
    const char *property, const char *id)
{
	struct meter *m = mt_xcalloc(1, sizeof *m);
	size_t plen = strlen(participant), ilen = strlen(id);
	char *key = mt_xmalloc(plen + ilen + 2);

	m->participant = mt_xstrdup(participant);
	m->property = property ? mt_xstrdup(property) : NULL;
	m->id = mt_xstrdup(id);
	m->dirty = INT64_MAX;
	m->emitted_to = INT64_MIN;
	m->newest = INT64_MIN;
	m->last_in = INT64_MIN;
	memcpy(key, participant, plen + 1);
	memcpy(key + plen + 1, id, ilen + 1);
	mt_map_put(s->index, key, plen + ilen + 1, m);
	free(key);
	if (s->nmeters == s->capmeters) {
		s->capmeters = s->capmeters ? 2 * s->capmeters : 64;
		s->meters = mt_xrealloc(s->meters, s->capmeters * sizeof *s->meters);
	}
	s->meters[s->nmeters++] = m;
	return m;
}

static struct meter *meter_find(struct mt_std *s, const char *participant,
    const char *id)
{
	char key[2 * 130];
	size_t plen = strlen(participant), ilen = strlen(id);

	memcpy(key, participant, plen + 1);
	memcpy(key + plen + 1, id, ilen);
	return mt_map_get(s->index, key, plen + ilen + 1);
}

/* Opens a record with the fields that name the meter. */
static void write_identity(struct mt_out *o, const struct meter *m)
{
	mt_out_begin(o);
	mt_out_str(o, "participant", m->participant);
	if (m->property)
		mt_out_str(o, "property", m->property);
	mt_out_str(o, "meter", m->id);
	mt_out_str(o, "quantity", m->q->name);
}

/* The superseded reading, rebuilt in canonical units for the rejects. */
static size_t describe(const struct meter *m, const struct reading *r,
    char *buf, size_t cap)
{
	struct mt_out *o;
	FILE *fp = fmemopen(buf, cap, "w");
	size_t n;

	if (fp == NULL)
		return 0;
	o = mt_out_new(fp);
	write_identity(o, m);
	mt_out_time(o, "ts", r->ts);
	mt_out_num(o, "value", r->v);
	mt_out_str(o, "unit", m->rate ? (strcmp(m->q->unit, "kWh") ? "m3/h" : "kW") :
	    m->q->unit);
	mt_out_str(o, "kind", mt_kind_name(m->kind));
	if (m->kind == MT_INTERVAL)
		mt_out_int(o, "duration", r->dur);
	if (r->flags & R_ESTIMATED)
		mt_out_str(o, "quality", "estimated");
	mt_out_end(o);
	mt_out_flush(o);
	mt_out_free(o);
	n = (size_t)ftell(fp);
	fclose(fp);
	return n > 0 ? n - 1 : 0;   /* without the newline */
}

static void supersede(struct mt_std *s, struct meter *m, struct reading *old,
    const struct reading *new)
{
	char text[1024], reason[600];
	size_t n = describe(m, old, text, sizeof text);

	snprintf(reason, sizeof reason,
	    "superseded by a conflicting reading for the same time (at %s:%u; "
	    "two sources of one meter id? name them apart, as with meter-fetch -m)",
	    s->sources[new->src], new->line);
	if (old->src == SRC_STATE) {
		mt_reject(s->rj, s->sources[old->src], old->line, text, n, reason);
	} else {
		s->st.merged--;
		reject(s, s->sources[old->src], old->line, text, n, reason);
	}
	s->st.superseded++;
	*old = *new;
}

static void count_decrease(struct mt_std *s, struct meter *m,
    const struct reading *a, const struct reading *b)
{
	int ev;
	const char *src = s->sources[b->src];

	consumption(m, s->o.noise, a, b, &ev);
	if (ev == 'n') {
		s->st.noise++;
	} else if (ev == 'o') {
		s->st.rollovers++;
		notice(s, src, b->line, "meter %s/%s rolled over at %g",
		    m->participant, m->id, m->rollover);
	} else if (ev == 'r') {
		s->st.resets++;
		notice(s, src, b->line, "meter %s/%s reset: %g after %g",
		    m->participant, m->id, b->v, a->v);
	}
}

/* Register readings below the one before them, after which the
 * register is back at or above it (1039, 1040 Wh taken for kWh, 1041 Wh,
 * 1042), are no reset: a reset does not come back.  Taken as one, the
 * whole register would enter the next hour as measured consumption; they
 * are rejected, and the hours are measured between their neighbours.  A
 * dip longer than DIP_MAX readings is left for a reset. */
#define DIP_MAX 8

/* The end j of a dip after reading i (r[i+1..j-1] below r[i], r[j] back),
 * or 0. */
static size_t dip_after(const struct mt_std *s, const struct meter *m, size_t i)
{
	double floor = m->r[i].v - s->o.noise;
	int ev;

	if (i + 2 >= m->n)
		return 0;
	/* a register that did not fall by more than the noise begins no dip:
	 * consumption() would say so, at the cost of a call per reading
	 * drop_dips looks back over */
	if (m->r[i + 1].v - m->r[i].v >= 0 ||
	    -(m->r[i + 1].v - m->r[i].v) <= s->o.noise)
		return 0;
	consumption(m, s->o.noise, &m->r[i], &m->r[i + 1], &ev);
	if (ev != 'r')
		return 0;
	for (size_t j = i + 2; j < m->n && j <= i + DIP_MAX + 1; j++) {
		if (m->r[j].v >= floor)
			return j;
	}
	return 0;
}

static void reject_dip(struct mt_std *s, struct meter *m, size_t i, size_t j)
{
	char text[1024], reason[300];

	/* the reset was counted when the dip began, unless in an earlier run */
	if (m->r[i + 1].src != SRC_STATE && s->st.resets > 0)
		s->st.resets--;
	for (size_t k = i + 1; k < j; k++) {
		const struct reading *r = &m->r[k];
		size_t n = describe(m, r, text, sizeof text);
		snprintf(reason, sizeof reason, "outlier, not a reset: the register "
		    "reads %g between %g and %g (a value in another unit, Wh for "
		    "kWh?)", r->v, m->r[i].v, m->r[j].v);
		/* one from an earlier run's state is reported, but counted there */
		if (r->src == SRC_STATE) {
			mt_reject(s->rj, s->sources[r->src], r->line, text, n, reason);
		} else {
			s->st.merged--;
			reject(s, s->sources[r->src], r->line, text, n, reason);
		}
	}
	memmove(m->r + i + 1, m->r + j, (m->n - j) * sizeof *m->r);
	m->n -= j - i - 1;
}

/* After a reading is placed at pos: drop a dip it ends, begins or is in. */
static void drop_dips(struct mt_std *s, struct meter *m, size_t pos)
{
	if (m->kind != MT_CUMULATIVE)
		return;
	for (size_t i = pos > DIP_MAX + 1 ? pos - DIP_MAX - 1 : 0; i <= pos && i < m->n; i++) {
		size_t j = dip_after(s, m, i);
		if (j != 0) {
			int64_t h = mt_hour_floor(m->r[i].ts);
			reject_dip(s, m, i, j);
			if (h < m->dirty)
				m->dirty = h;
			return;
		}
	}
}

/* An interval that overlaps a neighbour would be counted twice. */
static const struct reading *overlap(const struct meter *m, size_t pos,
    const struct reading *r)
{
	if (m->kind != MT_INTERVAL)
		return NULL;
	if (pos > 0 && reading_end(m, &m->r[pos - 1]) > r->ts)
		return &m->r[pos - 1];
	if (pos < m->n && reading_end(m, r) > m->r[pos].ts)
		return &m->r[pos];
	return NULL;
}

static size_t position(const struct meter *m, int64_t ts)
{
	size_t lo = 0, hi = m->n;

	if (m->n == 0 || m->r[m->n - 1].ts < ts)
		return m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->r[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void mark_dirty(struct mt_std *s, struct meter *m, size_t pos)
{
	int64_t from = m->kind == MT_INTERVAL || pos == 0 ? m->r[pos].ts :
	    m->r[pos - 1].ts;
	int64_t h = mt_hour_floor(from);

	if (h < m->emitted_to && m->r[pos].ts < m->newest)
		s->st.late++;
	if (h < m->dirty)
		m->dirty = h;
}

/* Room for one more reading: drop what only final hours needed before
 * growing, so a meter holds about one window of readings. */
static void make_room(struct mt_std *s, struct meter *m)
{
	if (m->n < m->cap)
		return;
	prune(s, m);
	if (m->n >= m->cap - m->cap / 8) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->r = mt_xrealloc(m->r, m->cap * sizeof *m->r);
	}
}

/* Place a reading; 0 taken (or merged as a duplicate), -1 rejected. */
static int take(struct mt_std *s, struct meter *m, const struct reading *r,
    const struct mt_rec *rec)
{
	const struct reading *ov;
	char why[300], ts[32];
	size_t pos;

	make_room(s, m);
	pos = position(m, r->ts);

	if (pos < m->n && m->r[pos].ts == r->ts) {
		struct reading *old = &m->r[pos];
		if (old->v == r->v && old->dur == r->dur) {
			s->st.duplicates++;
			return 0;
		}
		supersede(s, m, old, r);
	} else if (m->n > 0 && r->ts < window_start(s, m)) {
		mt_time_format(ts, m->newest);
		snprintf(why, sizeof why, "late: older than the correction window "
		    "(newest reading of this meter is %s): give the files as "
		    "arguments (they are read in time order), sort the input by "
		    "time, or widen --lateness", ts);
		reject(s, rec->source, rec->line, rec->text, rec->textlen, why);
		return -1;
	} else if ((ov = overlap(m, pos, r)) != NULL) {
		mt_time_format(ts, ov->ts);
		snprintf(why, sizeof why, "interval overlaps the one starting %s", ts);
		reject(s, rec->source, rec->line, rec->text, rec->textlen, why);
		return -1;
	} else {
		memmove(m->r + pos + 1, m->r + pos, (m->n - pos) * sizeof *m->r);
		m->r[pos] = *r;
		m->n++;
		if (m->kind == MT_CUMULATIVE && pos > 0)
			count_decrease(s, m, &m->r[pos - 1], &m->r[pos]);
	}
	mark_dirty(s, m, pos);
	drop_dips(s, m, pos);
	if (r->ts > m->newest) {
		/* The first reading of a meter has no hour before it to finish. */
		int finishes_hour = m->newest != INT64_MIN &&
		    mt_hour_floor(r->ts) != mt_hour_floor(m->newest);
		m->newest = r->ts;
		if (finishes_hour)
			emit_final(s, m);
	}
	return 0;
}

/* ---- validating input records ---- */

static int resolve_local(struct mt_std *s, struct mt_reading *rd,
    const struct meter *m, struct mt_err *err)
{
	mt_time_t utc[2];
	char wall[32];
	int n;

	mt_time_format(wall, rd->ts);
	wall[19] = '\0';
	if (s->o.zone == NULL) {
		mt_err_set(err, NULL, 0,
		    "timestamp %s has no UTC offset (give --timezone)", wall);
		return -1;
	}
	n = mt_zone_to_utc(s->o.zone, rd->ts, utc);
	if (n == 0) {
		mt_err_set(err, NULL, 0,
		    "local time %s does not exist (skipped by a DST change)", wall);
		return -1;
	}
	/* A repeated hour: the second pass once the first was read. */
	rd->ts = n == 2 && m != NULL && m->last_in >= utc[0] ? utc[1] : utc[0];
	return 0;
}

static int check_kind(const struct mt_reading *rd, const struct mt_conv *c,
    struct mt_err *err)
{
	if (rd->kind == MT_CUMULATIVE && rd->q->qclass == MT_Q_LEVEL)
		mt_err_set(err, NULL, 0, "%s cannot be cumulative", rd->q->name);
	else if (c->rate && rd->kind != MT_INSTANT)
		mt_err_set(err, NULL, 0, "unit \"%s\" is a rate: its kind must be instant",
		    rd->unit);
	else if (!c->rate && rd->kind == MT_INSTANT && rd->q->qclass == MT_Q_ADDITIVE)
		mt_err_set(err, NULL, 0,
		    "instant %s readings need a rate unit (such as %s), not \"%s\"",
		    rd->q->name, strcmp(rd->q->unit, "kWh") ? "m3/h" : "kW", rd->unit);
	else
		return 0;
	return -1;
}

static int to_canonical(struct mt_std *s, struct mt_reading *rd,
    struct mt_conv *c, struct mt_err *err)
{
	double cv = rd->calorific > 0 ? rd->calorific : s->o.calorific;

	if (rd->q == s->conv_q && strcmp(rd->unit, s->conv_unit) == 0) {
		*c = s->conv;
	} else {
		if (mt_unit_convert(rd->q, rd->unit, c, err) < 0)
			return -1;
		if (strlen(rd->unit) < sizeof s->conv_unit) {
			s->conv_q = rd->q;
			strcpy(s->conv_unit, rd->unit);
			s->conv = *c;
		}
	}
	if (check_kind(rd, c, err) < 0)
		return -1;
	if (c->needs_cv) {
		if (cv <= 0) {
			mt_err_set(err, NULL, 0, "%s in m3 needs a calorific value "
			    "(field calorific_value or --calorific-value)", rd->q->name);
			return -1;
		}
		c->factor *= cv;
	}
	rd->value = rd->value * c->factor + c->offset;
	if (!isfinite(rd->value)) {
		mt_err_set(err, NULL, 0, "value out of range after conversion");
		return -1;
	}
	return 0;
}

static struct meter *meter_for(struct mt_std *s, const struct mt_reading *rd,
    int rate, struct mt_err *err)
{
	struct meter *m = meter_find(s, rd->participant, rd->meter);

	if (m == NULL) {
		m = meter_new(s, rd->participant, rd->property, rd->meter);
		m->q = rd->q;
		m->kind = rd->kind;
		m->rate = rate;
	} else if (m->q != rd->q || m->kind != rd->kind) {
		mt_err_set(err, NULL, 0, "meter %s/%s has %s %s readings, not %s %s",
		    m->participant, m->id, mt_kind_name(m->kind), m->q->name,
		    mt_kind_name(rd->kind), rd->q->name);
		return NULL;
	} else if (m->property == NULL && rd->property != NULL) {
		m->property = mt_xstrdup(rd->property);
	}
	if (rd->rollover > 0)
		m->rollover = rd->rollover;
	else if (m->rollover == 0)
		m->rollover = s->o.rollover;
	return m;
}

static int add_reading(struct mt_std *s, const struct mt_rec *rec,
    struct mt_err *err)
{
	struct mt_reading rd;
	struct mt_conv conv;
	struct meter *m;
	struct reading r;

	if (mt_reading_parse(rec, &rd, err) < 0 ||
	    (rd.form == MT_TS_LOCAL &&
	    resolve_local(s, &rd, meter_find(s, rd.participant, rd.meter), err) < 0) ||
	    to_canonical(s, &rd, &conv, err) < 0 ||
	    (m = meter_for(s, &rd, conv.rate, err)) == NULL)
		return -1;
	r.ts = rd.ts;
	r.v = rd.value;
	r.dur = (int32_t)rd.duration;
	r.line = rec->line > UINT32_MAX ? UINT32_MAX : (uint32_t)rec->line;
	r.src = source_id(s, rec->source);
	r.flags = rd.estimated ? R_ESTIMATED : 0;
	m->last_in = rd.ts;
	if (take(s, m, &r, rec) == 0)
		s->st.merged++;
	return 0;
}

static int pass_hour(struct mt_std *s, const struct mt_rec *rec,
    struct mt_err *err)
{
	struct mt_meter_hour h;

	if (mt_meter_hour_parse(rec, &h, err) < 0 ||
	    mt_meter_hour_canonical(&h, err) < 0)
		return -1;
	mt_meter_hour_write(s->out, &h);
	s->st.passed++;
	s->st.out++;
	return 0;
}

void mt_std_add(struct mt_std *s, const struct mt_rec *rec)
{
	struct mt_err err;   /* large: filled only on the error path */
	int kind = mt_rec_kind(rec), rc;

	err.msg[0] = '\0';
	s->st.in++;
	if (kind == 'r')
		rc = add_reading(s, rec, &err);
	else if (kind == 'h')
		rc = pass_hour(s, rec, &err);
	else
		rc = -1, mt_err_set(&err, NULL, 0, "%s", mt_rec_misplaced(rec, "rh"));
	if (rc < 0 && err.msg[0] != '\0')
		reject(s, rec->source, rec->line, rec->text, rec->textlen, err.msg);
}

/* What a meter has left to write at the end: hours from h, closed ones
 * (their readings are all in) before `closed`, open ones (--flush) up to
 * `end`. */
struct pending {
	struct meter *m;
	size_t order;
	int64_t h, closed, end;
};

static int pending_before(const struct pending *a, const struct pending *b)
{
	return a->h < b->h || (a->h == b->h && a->order < b->order);
}

static void pending_down(struct pending *p, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		struct pending t;
		if (l < n && pending_before(&p[l], &p[best]))
			best = l;
		if (r < n && pending_before(&p[r], &p[best]))
			best = r;
		if (best == i)
			return;
		t = p[i], p[i] = p[best], p[best] = t;
		i = best;
	}
}

static size_t pending_of(struct mt_std *s, int flush_open, struct pending *p)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nmeters; i++) {
		struct meter *m = s->meters[i];
		struct pending q = { m, i, m->dirty, closed_to(m), 0 };
		if (m->n == 0)
			continue;
		q.end = flush_open ? hour_ceil(reading_end(m, &m->r[m->n - 1])) : q.closed;
		if (q.h >= q.closed && (q.h = q.closed) >= q.end)
			continue;
		if (m->dirty < q.closed && m->dirty < m->emitted_to)
			s->st.corrections++;
		p[n++] = q;
	}
	return n;
}

/* The next hour from t that a reading of the meter can reach: the empty
 * hours before a reading whose span does not reach back over them (an
 * interval's, or a register's or an instant's too far from the one
 * before to be spread) are passed whole, as emitted; readings years apart
 * were walked an hour at a time. */
static int64_t next_hour(struct mt_std *s, struct meter *m,
    const struct pending *q, int64_t t)
{
	int64_t h = t, before;
	struct span sp;
	size_t i;

	if (t >= q->end)
		return t;
	if ((i = first_for(m, t)) == m->n) {
		h = q->end;
	} else {
		/* the hour before the reading's is emitted, empty, as it was:
		 * the gap before a reading is said when that hour is */
		before = mt_hour_floor(m->r[i].ts) - MT_HOUR_MS;
		if (before > t && (m->kind == MT_INTERVAL || !span_of(s, m, i, &sp)))
			h = before;
	}
	if (h > q->end)
		h = q->end;
	/* the hours passed were closed and empty: done, as emitted ones are */
	if (h > t && t < q->closed) {
		m->dirty = h < q->closed ? h : q->closed;
		if (m->dirty > m->emitted_to)
			m->emitted_to = m->dirty;
	}
	return h;
}

/* The end of input: every meter's last hours, written in hour order across
 * meters, not meter by meter, so that a windowed reader of the output
 * (meter-aggregate) sees the hours of all meters arrive together whatever
 * their number.  Open hours (--flush) follow the closed ones and leave the
 * state as it was: the next run writes them again, whole. */
void mt_std_finish(struct mt_std *s, int flush_open)
{
	struct pending *p = mt_xcalloc(s->nmeters + 1, sizeof *p);
	size_t n = pending_of(s, flush_open, p);

	for (size_t i = n / 2; i-- > 0; )
		pending_down(p, n, i);
	while (n > 0) {
		struct pending *q = &p[0];
		struct meter *m = q->m;
		emit_range(s, m, q->h, q->h + MT_HOUR_MS);
		if (q->h < q->closed) {
			m->dirty = q->h + MT_HOUR_MS;
			if (m->dirty > m->emitted_to)
				m->emitted_to = m->dirty;
		}
		if ((q->h = next_hour(s, m, q, q->h + MT_HOUR_MS)) >= q->end)
			p[0] = p[--n];
		pending_down(p, n, 0);
	}
	free(p);
	for (size_t i = 0; i < s->nmeters; i++)
		prune(s, s->meters[i]);
}

/* ---- state between runs ---- */

static void save_meter(struct mt_out *o, const struct meter *m)
{
	write_identity(o, m);
	mt_out_str(o, "kind", mt_kind_name(m->kind));
	mt_out_int(o, "rate", m->rate);
	mt_out_num(o, "rollover", m->rollover);
	/* the sentinels (nothing dirty, nothing seen) stay absent */
	if (m->dirty != INT64_MAX)
		mt_out_int(o, "dirty", m->dirty);
	if (m->emitted_to != INT64_MIN)
		mt_out_int(o, "emitted_to", m->emitted_to);
	if (m->newest != INT64_MIN)
		mt_out_int(o, "newest", m->newest);
	if (m->last_in != INT64_MIN)
		mt_out_int(o, "last_in", m->last_in);
	mt_out_int(o, "readings", (int64_t)m->n);
	mt_out_end(o);
	for (size_t i = 0; i < m->n; i++) {
		const struct reading *r = &m->r[i];
		mt_out_begin(o);
		mt_out_int(o, "t", r->ts);
		mt_out_num(o, "v", r->v);
		if (r->dur != 0)
			mt_out_int(o, "d", r->dur);
		if (r->flags != 0)
			mt_out_int(o, "f", r->flags);
		mt_out_int(o, "l", r->line);
		mt_out_end(o);
	}
}

int mt_std_save_state(struct mt_std *s, const char *path, struct mt_err *err)
{
	char *tmp;
	FILE *fp = mt_atomic_open(path, &tmp, err);
	struct mt_out *o;

	if (fp == NULL)
		return -1;
	o = mt_out_new(fp);
	mt_out_begin(o);
	mt_out_int(o, "meter_state", 1);
	mt_out_int(o, "meters", (int64_t)s->nmeters);
	mt_out_end(o);
	for (size_t i = 0; i < s->nmeters; i++)
		save_meter(o, s->meters[i]);
	mt_out_flush(o);
	mt_out_free(o);
	return mt_atomic_commit(fp, tmp, path, err);
}

static int num_field(const struct mt_rec *rec, const char *key, double *v)
{
	const struct mt_field *f = mt_rec_get(rec, key);

	if (f == NULL || f->type != MT_NUMBER || !isfinite(f->num))
		return -1;
	*v = f->num;
	return 0;
}

static int64_t time_field(const struct mt_rec *rec, const char *key,
    int64_t absent)
{
	double v;
	return num_field(rec, key, &v) == 0 && fabs(v) < 9e18 ? (int64_t)v : absent;
}

static int load_meter(struct mt_std *s, const struct mt_rec *rec, size_t *count)
{
	const struct mt_field *p = mt_rec_get(rec, "participant"),
	    *pr = mt_rec_get(rec, "property"), *id = mt_rec_get(rec, "meter"),
	    *q = mt_rec_get(rec, "quantity"), *k = mt_rec_get(rec, "kind");
	double rate, roll, n;
	struct meter *m;

	if (p == NULL || id == NULL || q == NULL || k == NULL ||
	    p->type != MT_STRING || id->type != MT_STRING || q->type != MT_STRING ||
	    k->type != MT_STRING || mt_quantity_find(q->str) == NULL ||
	    num_field(rec, "rate", &rate) || num_field(rec, "rollover", &roll) ||
	    num_field(rec, "readings", &n) || n < 0 || n > 1e8 ||
	    meter_find(s, p->str, id->str))
		return -1;
	m = meter_new(s, p->str, pr && pr->type == MT_STRING ? pr->str : NULL,
	    id->str);
	m->q = mt_quantity_find(q->str);
	m->kind = strcmp(k->str, "cumulative") == 0 ? MT_CUMULATIVE :
	    strcmp(k->str, "interval") == 0 ? MT_INTERVAL : MT_INSTANT;
	m->rate = rate != 0;
	m->rollover = roll;
	m->dirty = time_field(rec, "dirty", INT64_MAX);
	m->emitted_to = time_field(rec, "emitted_to", INT64_MIN);
	m->newest = time_field(rec, "newest", INT64_MIN);
	m->last_in = time_field(rec, "last_in", INT64_MIN);
	*count = (size_t)n;
	return 0;
}

static int load_reading(struct meter *m, const struct mt_rec *rec)
{
	double t, v, d, f, l;
	struct reading *r;

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->r = mt_xrealloc(m->r, m->cap * sizeof *m->r);
	}
	r = &m->r[m->n];
	d = f = 0;
	if (num_field(rec, "t", &t) || num_field(rec, "v", &v) ||
	    (mt_rec_get(rec, "d") && num_field(rec, "d", &d)) ||
	    (mt_rec_get(rec, "f") && num_field(rec, "f", &f)) ||
	    num_field(rec, "l", &l) || fabs(t) > 9e18 || d < 0 || d > (double)MT_SPAN_MAX_S ||
	    f < 0 || f > 255 || l < 0 || l > UINT32_MAX ||
	    (m->n > 0 && r[-1].ts >= (int64_t)t))
		return -1;
	r->ts = (int64_t)t;
	r->v = v;
	r->dur = (int32_t)d;
	r->flags = (uint8_t)f;
	r->line = (uint32_t)l;
	r->src = SRC_STATE;
	m->n++;
	return 0;
}

int mt_std_load_state(struct mt_std *s, const char *path, struct mt_err *err)
{
	struct mt_ndjson *rd = mt_ndjson_open(path, err);
	struct mt_rec *rec;
	struct meter *m = NULL;
	size_t want = 0;
	int rc, bad = 0;

	if (rd == NULL)
		return -1;
	free(s->sources[SRC_STATE]);
	s->sources[SRC_STATE] = mt_xstrdup(path);
	rec = mt_xmalloc(sizeof *rec);
	while (!bad && (rc = mt_ndjson_next(rd, rec, err)) != 0) {
		if (rc < 0)
			bad = 1;
		else if (rec->line == 1)
			bad = mt_rec_get(rec, "meter_state") == NULL;
		else if (m != NULL && m->n < want)
			bad = load_reading(m, rec) < 0;
		else if (load_meter(s, rec, &want) == 0)
			m = s->meters[s->nmeters - 1];
		else
			bad = 1;
		if (bad && rc != -2)
			mt_err_set(err, path, rec->line, "corrupt state file");
	}
	if (!bad && m != NULL && m->n < want) {
		mt_err_set(err, path, 0, "corrupt state file: truncated");
		bad = 1;
	}
	free(rec);
	mt_ndjson_close(rd);
	return bad ? -1 : 0;
}
