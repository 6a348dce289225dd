/* check.c - --check: configurations validated and described, for every
 * program that reads them. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <stdio.h>

int mt_cli_check(size_t n, const char *const *paths, const char *participant)
{
	for (size_t i = 0; i < n; i++) {
		struct mt_err err;
		struct mt_config *cfg = mt_config_load_for(paths[i], participant, &err);
		char what[400];
		if (cfg == NULL) {
			mt_diag_err(&err);
			return err.status;
		}
		mt_config_describe(cfg, what, sizeof what);
		printf("%s: participant %s: %s: good\n", paths[i], cfg->id, what);
		mt_config_free(cfg);
	}
	return MT_EXIT_OK;
}
