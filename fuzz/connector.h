/* connector.h - one harness for a meter-fetch connector, gzip undone
 * first as for a payload; fuzz-csv.c, fuzz-json.c and fuzz-greenbutton.c
 * name the type. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct mt_zone *z;
	struct mt_conn c;
	struct mt_emit e;
	struct mt_rejects rj = { 0 };
	struct mt_out *out;
	struct mt_err err;
	char *body;
	size_t len;

	if (n < 1)
		return 0;
	if (z == NULL && (z = mt_zone_open("America/Chicago", &err)) == NULL)
		abort();
	fuzz_conn(&c, FUZZ_TYPE, d[0]);
	rj.quiet = 1;
	out = mt_out_new(fuzz_null());
	fuzz_emit(&e, out, &rj, d[0] & 16 ? z : NULL);
	if (mt_gunzip((const char *)d + 1, n - 1, c.max_size, &body, &len, &err) == 0) {
		mt_payload_parse(&c, &e, body, len, &err);
		if (body != (const char *)d + 1)
			free(body);
	}
	mt_out_free(out);
	return 0;
}
