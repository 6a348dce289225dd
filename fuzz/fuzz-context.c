/* meter-enrich's context files: hourly series (CSV, NDJSON) and holiday
 * calendars (JSON, GOV.UK JSON, iCalendar), picked by the first byte. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const char *const ext[] = { ".csv", ".ndjson", ".json", ".ics" };
	struct mt_series *s;
	struct mt_err err;
	const char *path;
	char spec[160];
	double v;

	if (n < 1)
		return 0;
	path = fuzz_file(d + 1, n - 1, ext[d[0] % 4]);
	if (d[0] % 4 < 2) {
		s = mt_series_load(NULL, path, &err);
	} else {
		snprintf(spec, sizeof spec, "%s%s", path, d[0] & 4 ? "#england-and-wales" : "");
		s = mt_holidays_load(spec, &err);
	}
	if (s != NULL) {
		mt_series_get(s, 1546300800000LL, &v);
		mt_holiday_known(s, 17897);
		mt_holiday_get(s, 17897);
	}
	mt_series_free(s);
	return 0;
}
