/* connector.c - one harness per row of the connector table
 * (lib/conn/types.def): the Makefile builds fuzz-NAME from this file with
 * FUZZ_CONNECTOR set to the type's name, so a new connector is fuzzed by
 * adding its row.  The payload goes through mt_payload_parse as meter-fetch
 * gives it one (gzip first); the first byte chooses the options. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct mt_zone *z;
	static int type = -1;
	struct mt_conn c;
	struct mt_emit e;
	struct mt_rejects rj = { 0 };
	struct mt_out *out;
	struct mt_err err;

	if (n < 1)
		return 0;
	if (z == NULL && (z = mt_zone_open("America/Chicago", &err)) == NULL)
		abort();
	if (type < 0 && (type = mt_conn_type_find(FUZZ_CONNECTOR)) < 0)
		abort();
	fuzz_conn(&c, (enum mt_conn_type)type, d[0]);
	rj.quiet = 1;
	out = mt_out_new(fuzz_null());
	fuzz_emit(&e, out, &rj, d[0] & 16 ? z : NULL);
	mt_payload_parse(&c, &e, (const char *)d + 1, n - 1, &err);
	mt_out_free(out);
	mt_rejects_close(&rj);
	return 0;
}
