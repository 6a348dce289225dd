/* fuzz.h - what the libFuzzer harnesses share (make fuzz; fuzz/README.md). */
#ifndef FUZZ_H
#define FUZZ_H
#define _GNU_SOURCE
#include "../lib/meter_priv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The parsers that read files get the input as a file: one per process,
 * in memory (/dev/shm) where there is one. */
static inline const char *fuzz_file(const uint8_t *d, size_t n, const char *ext)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/meter-fuzz-%ld%s",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid(), ext);
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	if (n > 0 && fwrite(d, 1, n, fp) != n)
		abort();
	fclose(fp);
	return path;
}

static inline FILE *fuzz_null(void)
{
	static FILE *fp;

	if (fp == NULL && (fp = fopen("/dev/null", "w")) == NULL)
		abort();
	return fp;
}

/* A connector's settings from a first byte, so one harness covers the
 * options too. */
static inline void fuzz_conn(struct mt_conn *c, enum mt_conn_type type, uint8_t b)
{
	memset(c, 0, sizeof *c);
	c->type = type;
	c->delimiter = b & 1 ? ';' : ',';
	c->quote = '"';
	c->decimal = b & 2 ? ',' : '.';
	c->header = !(b & 4);
	c->tf = (enum mt_time_format)((b >> 3) % 3);
	c->kind = b & 32 ? "cumulative" : "interval";
	c->duration = 3600;
	c->unit = b & 64 ? NULL : "kWh";
	c->unit_col = b & 64 ? "3" : NULL;
	c->items = b & 128 ? "data.items" : NULL;
	c->ts = b & 128 ? "t" : NULL;
	c->value = b & 128 ? "v.x" : NULL;
	c->max_size = 1 << 20;
	c->flow = 1;
	/* the newer attributes share the bits: each is reached with the rest */
	c->ts_end = (b & 3) == 3;
	c->wide = (b & 5) == 5 && c->header;
	c->reg = b % 11;
	c->channel = (b >> 5) % 3;
	c->nmi = b & 8 ? "NEM1201009" : NULL;
	c->suffix = b & 16 ? "Q1" : NULL;
	c->payload = b % 3;     /* mqtt: json, number or dsmr messages */
}

static inline void fuzz_emit(struct mt_emit *e, struct mt_out *out,
    struct mt_rejects *rj, struct mt_zone *zone)
{
	memset(e, 0, sizeof *e);
	e->participant = "p";
	e->meter = "m";
	e->source = "fuzz";
	e->after = MT_TIME_MIN;
	e->since = MT_TIME_MIN;
	e->until = MT_TIME_MAX;
	e->last = MT_TIME_MIN;
	e->prev = MT_TIME_MIN;
	e->out = out;
	e->rj = rj;
	e->zone = zone;
}
#endif
