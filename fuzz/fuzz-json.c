/* The json connector of meter-fetch. */
#define FUZZ_TYPE MT_CONN_JSON
#include "connector.h"
