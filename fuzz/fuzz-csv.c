/* The csv connector of meter-fetch. */
#define FUZZ_TYPE MT_CONN_CSV
#include "connector.h"
