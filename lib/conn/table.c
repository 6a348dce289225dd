/* table.c - the connector table's parse functions: what meter-fetch, its
 * replay and the fuzz harnesses call to turn a payload into readings. */
#define _POSIX_C_SOURCE 200809L
#include "../meter_priv.h"

#include <stdlib.h>

typedef int (*parse_fn)(const struct mt_conn *, struct mt_emit *, const char *,
    size_t, struct mt_err *);

static const parse_fn parsers[] = {
#define MT_CONNECTOR(id, name, ext, attrs, parse) parse,
#include "types.def"
#undef MT_CONNECTOR
};

int mt_payload_parse(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err)
{
	char *plain;
	size_t len;
	int rc;

	if (mt_gunzip(body, n, c->max_size, &plain, &len, err) < 0)
		return -1;
	rc = parsers[c->type](c, e, plain, len, err);
	if (plain != body)
		free(plain);
	return rc;
}
