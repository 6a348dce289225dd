/* The participant configuration, and every connector's attributes in it. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct mt_err err;
	struct mt_config *cfg = mt_config_load(fuzz_file(d, n, ".xml"), &err);
	struct mt_conn c;

	for (size_t i = 0; cfg != NULL && i < cfg->nmeters; i++)
		if (cfg->meters[i].connector != NULL)
			mt_conn_parse(&c, cfg->meters[i].connector, cfg->timezone, &err);
	mt_config_free(cfg);
	return 0;
}
