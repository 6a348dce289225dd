/* mqtt.c - the mqtt connector: readings out of the messages a meter
 * publishes (meter-listen(1) receives them), and out of the archive the
 * listener keeps of them, which meter-fetch --replay reads again.
 *
 * An archive file is NDJSON, a message a line, as it came:
 *   {"received":"2026-11-27T06:00:00.123Z","topic":"meter/acme/m1",
 *    "payload":"{\"ts\":...}"}
 * The payload is kept as text (the listener rejects a payload that is not
 * UTF-8), so the archive is read with the same JSON reader as everything
 * else. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

int mt_mqtt_message(const struct mt_conn *c, struct mt_emit *e,
    mt_time_t received, const char *payload, size_t n, struct mt_err *err)
{
	struct mt_row row = { 1, payload, n };

	switch (c->payload) {
	case MT_MQTT_NUMBER:
		/* a bare value is of the moment it arrived */
		mt_emit_at(c, e, &row, received, c->duration, payload, n, NULL);
		return 0;
	case MT_MQTT_DSMR:
		return mt_parse_dsmr(c, e, payload, n, err);
	default:
		return mt_parse_json_message(c, e, payload, n, err);
	}
}

static const char *field(yajl_val v, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val f = yajl_tree_get(v, path, yajl_t_string);

	return f ? f->u.string : NULL;
}

/* One archived message: its readings, or a reject naming the line. */
static void archived(const struct mt_conn *c, struct mt_emit *e, long line,
    const char *text, size_t len)
{
	char *copy = mt_xstrndup(text, len), msg[128];
	yajl_val v = yajl_tree_parse(copy, msg, sizeof msg);
	const char *received = v ? field(v, "received") : NULL;
	const char *payload = v ? field(v, "payload") : NULL;
	mt_time_t at;
	enum mt_tsform form;
	struct mt_err err;

	if (received == NULL || payload == NULL ||
	    mt_time_parse(received, strlen(received), &at, &form, &err) < 0) {
		e->rejected++;
		mt_reject(e->rj, e->source, line, text, len, "not an archived "
		    "message: {\"received\":TIME,\"topic\":...,\"payload\":TEXT}");
	} else if (mt_mqtt_message(c, e, at, payload, strlen(payload), &err) < 0) {
		e->rejected++;
		mt_reject(e->rj, e->source, line, text, len, err.msg);
	}
	yajl_tree_free(v);
	free(copy);
}

int mt_parse_mqtt(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err)
{
	const char *end = body + n;
	long line = 0;

	(void)err;
	for (const char *s = body; s < end; ) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

		line++;
		if (len > 0)
			archived(c, e, line, s, len);
		s += len + 1;
	}
	return 0;
}
