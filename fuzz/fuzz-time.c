/* RFC 3339 times, and local times through a zone with DST. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct mt_zone *z;
	struct mt_err err;
	enum mt_tsform form;
	mt_time_t t, utc[2];
	struct mt_local lt;
	char buf[32];

	if (z == NULL && (z = mt_zone_open("Europe/Amsterdam", &err)) == NULL)
		abort();
	if (mt_time_parse((const char *)d, n, &t, &form, &err) < 0)
		return 0;
	mt_time_format(buf, t);
	if (form == MT_TS_LOCAL && mt_zone_to_utc(z, t, utc) > 0)
		mt_local_time(z, utc[0], &lt);
	else
		mt_local_time(z, t, &lt);
	return 0;
}
