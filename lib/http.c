/* http.c - many HTTP(S) fetches at once with libcurl's multi interface:
 * a limit on transfers in flight, connect and total timeouts, a cap on
 * the body (checked as it arrives, after any Content-Encoding, so a
 * compressed bomb stops at the cap too), and retries with exponential
 * backoff and jitter on connection errors, 429 and 5xx, honouring
 * Retry-After.  Only http and https, also across redirects. */
#define _POSIX_C_SOURCE 200809L
#include "meter.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct transfer {
	struct mt_fetch *f;
	CURL *h;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	size_t cap;
	int too_big;
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

static CURL *start(struct transfer *t)
{
	struct mt_fetch *f = t->f;
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	free(f->body);
	f->body = NULL;
	f->len = 0;
	t->cap = 0;
	t->too_big = 0;
	t->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
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
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
	if (f->netrc != NULL) {
		curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_REQUIRED);
		curl_easy_setopt(h, CURLOPT_NETRC_FILE, f->netrc);
	}
	if (f->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	f->attempts++;
	return h;
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
	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
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

int mt_http_fetch_all(struct mt_fetch **fs, size_t n,
    const struct mt_http_opts *o, mt_fetch_done_fn done, void *ctx,
    struct mt_err *err)
{
	struct transfer *ts = mt_xcalloc(n, sizeof *ts);
	CURLM *multi;
	size_t next = 0, finished = 0;
	int active = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (multi = curl_multi_init()) == NULL) {
		mt_err_set(err, NULL, 0, "cannot start libcurl");
		free(ts);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ts[i].f = fs[i];
		ts[i].headers = header_list(fs[i]);
		ts[i].due = -1;
	}
	while (finished < n) {
		double t_now = now_s(), wait = 1.0;
		int running, left;
		CURLMsg *msg;

		/* Retries that are due first, then new transfers. */
		for (size_t i = 0; i < next && active < o->parallel; i++)
			if (ts[i].due >= 0 && ts[i].due <= t_now && ts[i].h == NULL) {
				ts[i].due = -1;
				if ((ts[i].h = start(&ts[i])) != NULL &&
				    curl_multi_add_handle(multi, ts[i].h) == CURLM_OK)
					active++;
			}
		while (next < n && active < o->parallel) {
			struct transfer *t = &ts[next++];
			if ((t->h = start(t)) == NULL ||
			    curl_multi_add_handle(multi, t->h) != CURLM_OK) {
				snprintf(t->f->error, sizeof t->f->error, "cannot start transfer");
				if (t->h)
					curl_easy_cleanup(t->h);
				t->h = NULL;
				done(ctx, t->f);
				finished++;
				continue;
			}
			active++;
		}
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct transfer *t;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			outcome(t, msg->data.result);
			curl_multi_remove_handle(multi, t->h);
			active--;
			if (t->f->error[0] != '\0' && !t->too_big &&
			    retryable(msg->data.result, t->f->status) &&
			    t->f->attempts <= t->f->retries) {
				t->due = now_s() + backoff(o, t);
				curl_easy_cleanup(t->h);
				t->h = NULL;
				continue;
			}
			curl_easy_cleanup(t->h);
			t->h = NULL;
			done(ctx, t->f);
			finished++;
		}
		for (size_t i = 0; i < next; i++)
			if (ts[i].due >= 0 && ts[i].due - t_now < wait)
				wait = ts[i].due - t_now;
		/* A freed slot is filled at once, not after the next event. */
		if (finished < n && !(next < n && active < o->parallel))
			curl_multi_poll(multi, NULL, 0, wait > 0 ? (int)(wait * 1000) + 1 : 0, NULL);
	}
	for (size_t i = 0; i < n; i++)
		curl_slist_free_all(ts[i].headers);
	curl_multi_cleanup(multi);
	free(ts);
	return 0;
}
