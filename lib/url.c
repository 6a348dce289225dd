/* url.c - the rules for URLs that a participant's configuration names:
 * what messages may show of them, which may carry credentials, how
 * {since} and {until} are filled in, which origin secret headers belong
 * to, and which network addresses may be reached at all.
 *
 * The address rule is applied to the address a connection is actually
 * made to (http.c calls mt_net_allowed from libcurl's socket callback),
 * so a name that resolves to one address when checked and another when
 * connected (DNS rebinding) gains nothing. */
#define _GNU_SOURCE
#include "meter_priv.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int mt_url_is_http(const char *url)
{
	return has_prefix(url, "http://") || has_prefix(url, "https://");
}

/* The authority of a URL: from after "SCHEME://" to the first '/', '?' or
 * '#' (RFC 3986); NULL when the text does not start with a scheme. */
static const char *authority(const char *url, size_t *n)
{
	const char *hier = strstr(url, "://");
	size_t scheme = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.");

	if (hier == NULL || hier != url + scheme || scheme == 0 ||
	    !((*url >= 'a' && *url <= 'z') || (*url >= 'A' && *url <= 'Z')))
		return NULL;
	*n = strcspn(hier + 3, "/?#");
	return hier + 3;
}

int mt_url_has_userinfo(const char *url)
{
	size_t n;
	const char *a = authority(url, &n);

	return a != NULL && memchr(a, '@', n) != NULL;
}

/* Query parameter names that carry secrets, matched anywhere in the name
 * ("api_key", "X-Amz-Signature", "access_token"). */
static int secret_name(const char *name, size_t n)
{
	static const char *const words[] = { "key", "token", "secret", "pass",
		"pwd", "sig", "auth", "access", "code", "jwt", "bearer", "session",
		"credential", NULL };

	for (int i = 0; words[i] != NULL; i++) {
		size_t w = strlen(words[i]);
		for (size_t k = 0; k + w <= n; k++)
			if (strncasecmp(name + k, words[i], w) == 0)
				return 1;
	}
	return 0;
}

char *mt_url_redact(const char *url)
{
	char *out = mt_xmalloc(strlen(url) + 1), *q;
	size_t n;
	const char *a = authority(url, &n), *at;

	strcpy(out, url);
	/* up to the last '@': a lenient parser takes the rest as the host,
	 * so everything before it may be a secret */
	if (a != NULL && (at = memrchr(a, '@', n)) != NULL)
		memmove(out + (a - url), out + (at + 1 - url), strlen(at + 1) + 1);
	for (q = strchr(out, '?'); q != NULL; q = strchr(q, '&')) {
		char *name = ++q, *eq = strchr(name, '='), *stop;
		if (eq == NULL)
			break;
		stop = eq + 1 + strcspn(eq + 1, "&#");
		if (secret_name(name, (size_t)(eq - name)) && stop > eq + 1) {
			memmove(eq + 2, stop, strlen(stop) + 1);
			eq[1] = '*';
		}
	}
	return out;
}

char *mt_url_fill(const char *url, mt_time_t since, mt_time_t until)
{
	char s[32], u[32];
	size_t cap = strlen(url) * 2 + 64;
	char *out = mt_xmalloc(cap), *w = out;

	mt_time_format(s, since);
	mt_time_format(u, until);
	while (*url) {
		const char *rep = has_prefix(url, "{since}") ? s :
		    has_prefix(url, "{until}") ? u : NULL;
		if (rep != NULL && (size_t)(w - out) + strlen(rep) + strlen(url) < cap) {
			w += sprintf(w, "%s", rep);
			url += 7;
		} else {
			*w++ = *url++;
		}
	}
	*w = '\0';
	return out;
}

/* scheme://host[:port], lower-cased, the default port written out, so that
 * two URLs of one origin compare equal (RFC 6454). */
static void origin(const char *url, char *buf, size_t cap)
{
	size_t n, scheme = strcspn(url, ":");
	const char *a = authority(url, &n), *at, *host;
	int https = scheme == 5 && strncasecmp(url, "https", 5) == 0;

	buf[0] = '\0';
	if (a == NULL)
		return;
	at = memrchr(a, '@', n);
	host = at ? at + 1 : a;
	n -= (size_t)(host - a);
	if (scheme + 3 + n + 8 > cap)
		return;        /* too long to be an origin worth a secret */
	snprintf(buf, cap, "%.*s://%.*s", (int)scheme, url, (int)n, host);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* "[::1]" ends in ']', a host with a port in a digit after ':' */
	if (strrchr(buf + scheme + 3, ':') == NULL ||
	    strrchr(buf + scheme + 3, ']') > strrchr(buf + scheme + 3, ':'))
		snprintf(buf + strlen(buf), cap - strlen(buf), ":%s", https ? "443" : "80");
}

int mt_url_same_origin(const char *a, const char *b)
{
	char oa[512], ob[512];

	origin(a, oa, sizeof oa);
	origin(b, ob, sizeof ob);
	return oa[0] != '\0' && strcmp(oa, ob) == 0;
}

/* ---- network ranges ---- */

struct range {
	int family;
	unsigned char addr[16];
	int bits;
};

struct mt_netlist {
	struct range *r;
	size_t n;
};

static int parse_range(const char *s, struct range *r)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits;

	if (hn == 0 || hn >= sizeof host)
		return -1;
	memcpy(host, s, hn);
	host[hn] = '\0';
	memset(r, 0, sizeof *r);
	if (inet_pton(AF_INET, host, r->addr) == 1)
		r->family = AF_INET, r->bits = 32;
	else if (inet_pton(AF_INET6, host, r->addr) == 1)
		r->family = AF_INET6, r->bits = 128;
	else
		return -1;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || bits < 0 || bits > r->bits)
			return -1;
		r->bits = (int)bits;
	}
	return 0;
}

struct mt_netlist *mt_netlist_new(void)
{
	return mt_xcalloc(1, sizeof(struct mt_netlist));
}

void mt_netlist_free(struct mt_netlist *l)
{
	if (l == NULL)
		return;
	free(l->r);
	free(l);
}

int mt_netlist_add(struct mt_netlist *l, const char *cidr)
{
	struct range r;

	if (parse_range(cidr, &r) < 0)
		return -1;
	l->r = mt_xrealloc(l->r, (l->n + 1) * sizeof *l->r);
	l->r[l->n++] = r;
	return 0;
}

static int in_range(const struct range *r, int family, const unsigned char *a)
{
	int full = r->bits / 8, rest = r->bits % 8;

	if (r->family != family || memcmp(r->addr, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((r->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

/* Loopback, "this network", private (RFC 1918, RFC 4193), shared (RFC
 * 6598), link-local (cloud metadata services live there), documentation
 * and benchmarking (RFC 5737, 3849, 2544: test networks use them for
 * real hosts), multicast and reserved ranges, and the IPv6 prefixes that
 * carry an IPv4 address inside (NAT64, 6to4, the 6to4 relays): the
 * platform's own neighbourhood (RFC 6890). */
static const char *const internal[] = { "0.0.0.0/8", "10.0.0.0/8",
	"100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
	"::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
	"2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10",
	"ff00::/8", NULL };

static int listed(const char *const *cidrs, int family, const unsigned char *a)
{
	struct range r;

	for (int i = 0; cidrs[i] != NULL; i++)
		if (parse_range(cidrs[i], &r) == 0 && in_range(&r, family, a))
			return 1;
	return 0;
}

/* This host's own addresses, read once: a service of the platform's that
 * listens on a public address is as internal as one on loopback. */
static int own_address(int family, const unsigned char *a)
{
	static struct range *own;
	static size_t nown;
	static int read;
	struct ifaddrs *ifs, *i;

	if (!read) {
		read = 1;
		if (getifaddrs(&ifs) == 0) {
			for (i = ifs; i != NULL; i = i->ifa_next) {
				struct range r = { 0 };
				int f = i->ifa_addr ? i->ifa_addr->sa_family : 0;
				if (f == AF_INET)
					memcpy(r.addr, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
				else if (f == AF_INET6)
					memcpy(r.addr, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
				else
					continue;
				r.family = f;
				r.bits = f == AF_INET ? 32 : 128;
				own = mt_xrealloc(own, (nown + 1) * sizeof *own);
				own[nown++] = r;
			}
			freeifaddrs(ifs);
		}
	}
	for (size_t k = 0; k < nown; k++)
		if (in_range(&own[k], family, a))
			return 1;
	return 0;
}

int mt_net_allowed(const struct mt_netlist *allow, const struct sockaddr *sa)
{
	unsigned char a[16];
	int family = sa->sa_family;

	if (family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		memcpy(a, &s6->sin6_addr, 16);
		/* an IPv4 address in IPv6 clothing is judged as IPv4 */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; allow != NULL && i < allow->n; i++)
		if (in_range(&allow->r[i], family, a))
			return 1;
	return !listed(internal, family, a) && !own_address(family, a);
}
