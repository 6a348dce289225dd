/* The NDJSON reader, the record contracts, and meter-standardize's engine
 * behind them. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct mt_err err;
	struct mt_ndjson *r = mt_ndjson_open(fuzz_file(d, n, ".ndjson"), &err);
	struct mt_std_opts o = { .lateness_ms = 2 * 86400000LL, .max_gap_ms = 86400000LL };
	struct mt_rejects rj = { .quiet = 1 };
	struct mt_out *out = mt_out_new(fuzz_null());
	struct mt_std *s = mt_std_new(&o, &rj, out);
	struct mt_rec *rec = malloc(sizeof *rec);
	struct mt_reading rd;
	struct mt_meter_hour mh;
	struct mt_property_hour ph;
	int rc;

	if (r == NULL)
		abort();
	while ((rc = mt_ndjson_next(r, rec, &err)) != 0) {
		if (rc < 0)
			continue;
		switch (mt_rec_kind(rec)) {
		case 'r': mt_reading_parse(rec, &rd, &err); break;
		case 'h':
			if (mt_meter_hour_parse(rec, &mh, &err) == 0)
				mt_meter_hour_canonical(&mh, &err);
			break;
		}
		if (mt_hour_kind(rec) == 'p')
			mt_property_hour_parse(rec, &ph, &err);
		mt_std_add(s, rec);
	}
	mt_std_finish(s, 1);
	mt_std_free(s);
	mt_out_free(out);
	mt_rejects_close(&rj);
	mt_ndjson_close(r);
	free(rec);
	return 0;
}
