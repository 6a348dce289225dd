/* The rules for a participant's URLs and paths (lib/url.c, lib/file.c):
 * redaction, {since}/{until}, origins, network ranges, paths by their
 * letters, ids.  Each checks what it promises, not only that it survives. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* The authority of a redacted URL holds no user information. */
static void redaction(const char *s)
{
	char *r = mt_url_redact(s);

	if (mt_url_has_userinfo(r))
		abort();
	free(r);
}

/* A path inside by its letters never climbs above its base. */
static void path(const char *s)
{
	int depth = 0;

	if (!mt_path_inside(s))
		return;
	if (*s == '/')
		abort();
	for (const char *p = s; *p; ) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			abort();
		p += n + (p[n] == '/');
	}
}

/* 127.0.0.1 stays internal whatever ranges the input adds, unless one of
 * them holds it. */
static void ranges(const char *s)
{
	struct mt_netlist *l = mt_netlist_new();
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int added = mt_netlist_add(l, s) == 0;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (mt_net_allowed(l, (struct sockaddr *)&sa) && !added)
		abort();
	mt_netlist_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1), *filled;

	memcpy(s, d, n);
	s[n] = '\0';
	redaction(s);
	path(s);
	ranges(s);
	filled = mt_url_fill(s, 0, 1772323200000LL);
	free(filled);
	if (mt_url_same_origin(s, s) && strstr(s, "://") == NULL)
		abort();
	if (mt_id_valid(s) && (s[0] == '.' || strchr(s, '/') != NULL))
		abort();
	mt_has_control(s);
	free(s);
	return 0;
}
