/* yajl-floor: parse an NDJSON file with yajl and do nothing else.  make
 * bench prints its rate as the ceiling any yajl-based reader can reach on
 * this machine, so figures from a busy or slow machine can be read. */
#include <stdio.h>
#include <yajl/yajl_parse.h>

static int ok0(void *c) { (void)c; return 1; }
static int okb(void *c, int b) { (void)c; (void)b; return 1; }
static int okn(void *c, const char *s, size_t n) { (void)c; (void)s; (void)n; return 1; }
static int oks(void *c, const unsigned char *s, size_t n) { (void)c; (void)s; (void)n; return 1; }

int main(int argc, char **argv)
{
	static const yajl_callbacks cb = { ok0, okb, NULL, NULL, okn, oks, ok0,
		oks, ok0, ok0, ok0 };
	static unsigned char buf[1 << 20];
	yajl_handle h = yajl_alloc(&cb, NULL, NULL);
	FILE *fp = argc > 1 ? fopen(argv[1], "rb") : stdin;
	size_t n;

	if (h == NULL || fp == NULL)
		return 3;
	yajl_config(h, yajl_allow_multiple_values, 1);
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
		if (yajl_parse(h, buf, n) != yajl_status_ok)
			return 1;
	return yajl_complete_parse(h) == yajl_status_ok ? 0 : 1;
}
