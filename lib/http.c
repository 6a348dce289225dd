/* http.c - many HTTP(S) fetches at once with libcurl's multi interface:
 * a limit on transfers in flight, connect and total timeouts, a cap on
 * the body (checked as it arrives, after any Content-Encoding, so a
 * compressed bomb stops at the cap too), and retries with exponential
 * backoff and jitter on connection errors, 429 and 5xx, honouring
 * Retry-After.  Only http and https.
 *
 * Redirects are followed here, not by libcurl, so that the configured
 * headers (secrets among them) go only to the configured origin: a
 * redirect to another origin is followed without them.  With an address
 * list, every connection's address is checked when the socket is made
 * (mt_net_allowed), after name resolution, so nothing the name resolves
 * to later can slip past. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#define REDIRECTS_MAX 5

struct transfer {
	struct mt_fetch *f;
	const struct mt_http_opts *o;
	CURL *h;
	struct curl_slist *headers;
	char *url;                /* where this attempt goes (redirects) */
	char errbuf[CURL_ERROR_SIZE];
	char refused[160];        /* an address the list does not allow */
	size_t cap;
	int too_big, redirects, foreign;
	double due;               /* waiting for a retry until then */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct transfer *t = ctx;
	struct mt_fetch *f = t->f;
	size_t n = size * nmemb;

	if (f->len + n > f->max_size) {
		t->too_big = 1;
		return 0;
	}
	if (f->len + n + 1 > t->cap) {
		t->cap = (f->len + n + 1) * 2;
		if (t->cap > f->max_size + 1)
			t->cap = f->max_size + 1;
		f->body = mt_xrealloc(f->body, t->cap);
	}
	memcpy(f->body + f->len, data, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

static curl_socket_t open_socket(void *ctx, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct transfer *t = ctx;

	(void)purpose;
	if (t->o->allow != NULL && !mt_net_allowed(t->o->allow, &a->addr)) {
		snprintf(t->refused, sizeof t->refused, "the address is internal "
		    "(loopback, private or link-local): refused unless the operator "
		    "allows it (--allow-net)");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static void set_options(struct transfer *t, CURL *h)
{
	struct mt_fetch *f = t->f;

	curl_easy_setopt(h, CURLOPT_URL, t->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "meter-fetch/" MT_VERSION);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_size);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
	if (t->o->allow != NULL)     /* a proxy would reach what the list refuses */
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (!t->foreign)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
	if (f->netrc != NULL) {
		curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_REQUIRED);
		curl_easy_setopt(h, CURLOPT_NETRC_FILE, f->netrc);
	}
	if (f->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
}

/* A new attempt (first, retry or redirect): 0, or -1 when libcurl cannot
 * take it (the caller finishes the transfer as failed). */
static int start(struct transfer *t, CURLM *multi)
{
	struct mt_fetch *f = t->f;

	free(f->body);
	f->body = NULL;
	f->len = 0;
	t->cap = 0;
	t->too_big = 0;
	t->errbuf[0] = t->refused[0] = '\0';
	if ((t->h = curl_easy_init()) == NULL)
		return -1;
	set_options(t, t->h);
	if (curl_multi_add_handle(multi, t->h) != CURLM_OK) {
		curl_easy_cleanup(t->h);
		t->h = NULL;
		return -1;
	}
	return 0;
}

static int retryable(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status == 429 || (status >= 500 && status <= 599);
	case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT: case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* What went wrong, or "" when nothing did. */
static void outcome(struct transfer *t, CURLcode rc)
{
	struct mt_fetch *f = t->f;

	f->status = 0;
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &f->status);
	if (t->refused[0] != '\0')
		snprintf(f->error, sizeof f->error, "%s", t->refused);
	else if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(f->error, sizeof f->error, "body larger than max-size (%zu bytes)",
		    f->max_size);
	else if (rc == CURLE_PARTIAL_FILE)
		snprintf(f->error, sizeof f->error, "truncated body (%zu bytes received)",
		    f->len);
	else if (rc != CURLE_OK)
		snprintf(f->error, sizeof f->error, "%s", t->errbuf[0] ? t->errbuf :
		    curl_easy_strerror(rc));
	else if (f->status < 200 || f->status > 299)
		snprintf(f->error, sizeof f->error, "HTTP status %ld", f->status);
	else
		f->error[0] = '\0';
}

static double backoff(const struct mt_http_opts *o, struct transfer *t)
{
	curl_off_t after = -1;
	double d;

	if (curl_easy_getinfo(t->h, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
	    after > 0)
		return (double)after < o->retry_max_s ? (double)after : o->retry_max_s;
	d = o->retry_base_s * (double)(1L << (t->f->attempts - 1 < 16 ? t->f->attempts - 1 : 16));
	d *= 0.5 + (double)rand() / RAND_MAX;   /* jitter: no thundering herd */
	return d < o->retry_max_s ? d : o->retry_max_s;
}

static struct curl_slist *header_list(const struct mt_fetch *f)
{
	struct curl_slist *l = NULL;

	for (size_t i = 0; f->headers != NULL && f->headers[i] != NULL; i++)
		l = curl_slist_append(l, f->headers[i]);
	return l;
}

/* A 3xx with a Location: the next URL, or NULL when this is the answer. */
static char *redirect_target(struct transfer *t, CURLcode rc)
{
	char *loc = NULL;

	if (rc != CURLE_OK || t->f->status < 300 || t->f->status > 399 ||
	    curl_easy_getinfo(t->h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK ||
	    loc == NULL)
		return NULL;
	return mt_xstrdup(loc);
}

struct loop {
	struct transfer *ts;
	size_t n, next, finished;
	int active;
	CURLM *multi;
	const struct mt_http_opts *o;
	mt_fetch_done_fn done;
	void *ctx;
};

static void finish(struct loop *l, struct transfer *t)
{
	if (t->h != NULL) {
		curl_multi_remove_handle(l->multi, t->h);
		curl_easy_cleanup(t->h);
		t->h = NULL;
	}
	l->done(l->ctx, t->f);
	l->finished++;
}

/* Start an attempt, or finish the transfer as failed: the one failure
 * path for first attempts, retries and redirects alike. */
static void launch(struct loop *l, struct transfer *t)
{
	t->f->attempts++;
	if (start(t, l->multi) == 0) {
		l->active++;
		return;
	}
	snprintf(t->f->error, sizeof t->f->error, "cannot start transfer "
	    "(out of file descriptors or memory?)");
	finish(l, t);
}

static void start_due_retries(struct loop *l, double t_now)
{
	for (size_t i = 0; i < l->next && l->active < l->o->parallel; i++) {
		struct transfer *t = &l->ts[i];
		if (t->due >= 0 && t->due <= t_now && t->h == NULL) {
			t->due = -1;
			launch(l, t);
		}
	}
}

static void start_new(struct loop *l)
{
	while (l->next < l->n && l->active < l->o->parallel)
		launch(l, &l->ts[l->next++]);
}

/* Follow a redirect at once; the configured headers stay behind when it
 * leaves the configured origin. */
static int follow(struct loop *l, struct transfer *t, char *target)
{
	if (t->redirects++ == REDIRECTS_MAX || !mt_url_is_http(target)) {
		if (t->redirects > REDIRECTS_MAX)
			snprintf(t->f->error, sizeof t->f->error, "more than %d redirects",
			    REDIRECTS_MAX);
		else
			snprintf(t->f->error, sizeof t->f->error, "redirect to a URL that "
			    "is not http or https");
		free(target);
		return -1;
	}
	if (!mt_url_same_origin(t->f->url, target))
		t->foreign = 1;
	free(t->url);
	t->url = target;
	curl_easy_cleanup(t->h);
	t->h = NULL;
	t->f->attempts--;     /* a redirect is not a new attempt */
	launch(l, t);
	return 0;
}

static void reap(struct loop *l)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
		struct transfer *t;
		char *target;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		outcome(t, msg->data.result);
		curl_multi_remove_handle(l->multi, t->h);
		l->active--;
		if ((target = redirect_target(t, msg->data.result)) != NULL) {
			if (follow(l, t, target) == 0)
				continue;
		} else if (t->f->error[0] != '\0' && !t->too_big && t->refused[0] == '\0' &&
		    retryable(msg->data.result, t->f->status) &&
		    t->f->attempts <= t->f->retries) {
			t->due = now_s() + backoff(l->o, t);
			curl_easy_cleanup(t->h);
			t->h = NULL;
			continue;
		}
		finish(l, t);
	}
}

/* How long to sleep: until the next retry is due, a second at most. */
static double next_wait(const struct loop *l, double t_now)
{
	double wait = 1.0;

	for (size_t i = 0; i < l->next; i++)
		if (l->ts[i].due >= 0 && l->ts[i].due - t_now < wait)
			wait = l->ts[i].due - t_now;
	return wait;
}

int mt_http_fetch_all(struct mt_fetch **fs, size_t n,
    const struct mt_http_opts *o, mt_fetch_done_fn done, void *ctx,
    struct mt_err *err)
{
	struct loop l = { mt_xcalloc(n, sizeof *l.ts), n, 0, 0, 0, NULL, o, done, ctx };
	int running;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (l.multi = curl_multi_init()) == NULL) {
		mt_err_set(err, NULL, 0, "cannot start libcurl");
		free(l.ts);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		l.ts[i] = (struct transfer){ .f = fs[i], .o = o, .due = -1,
			.headers = header_list(fs[i]), .url = mt_xstrdup(fs[i]->url) };
	}
	while (l.finished < n) {
		double t_now = now_s(), wait;
		start_due_retries(&l, t_now);
		start_new(&l);
		curl_multi_perform(l.multi, &running);
		reap(&l);
		wait = next_wait(&l, t_now);
		/* A freed slot is filled at once, not after the next event. */
		if (l.finished < n && !(l.next < n && l.active < o->parallel))
			curl_multi_poll(l.multi, NULL, 0, wait > 0 ? (int)(wait * 1000) + 1 : 0, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		curl_slist_free_all(l.ts[i].headers);
		free(l.ts[i].url);
	}
	curl_multi_cleanup(l.multi);
	free(l.ts);
	return 0;
}
