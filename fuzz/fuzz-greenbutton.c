/* The greenbutton connector of meter-fetch. */
#define FUZZ_TYPE MT_CONN_GREENBUTTON
#include "connector.h"
