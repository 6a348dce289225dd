/* listen.c - meter-listen's engine: readings out of the messages meters
 * publish to an MQTT broker (libmosquitto), at least once and durably.
 *
 * The guarantee rests on one order: a message is acknowledged (PUBACK)
 * only after what came of it (its readings, its archived copy or its
 * reject) is on disk.  libmosquitto 2.0 queues the PUBACK before it calls
 * on_message and, left to itself, writes it at once (mosquitto issue
 * #2884).  Told it is threaded (mosquitto_threaded_set) while this file
 * drives the loop by hand, it only queues packets, and they leave in
 * mosquitto_loop_write: so the loop reads a batch of messages, makes
 * their results durable with one fdatasync per file (a group commit),
 * and only then writes the acknowledgements.  A crash before the sync
 * loses nothing: the broker still holds the unacknowledged messages of
 * the persistent session and sends them again; the copies that reach the
 * spool twice are merged by meter-standardize (meter-records(5)).
 *
 * Per participant, in its spool directory: .part.ndjson (readings) and
 * .part.mqtt (the messages as they came), appended to and synced at each
 * commit; rotated by size or age into SPOOL/NAME.ndjson (renamed into
 * place, the directory synced) after the messages went into the raw
 * archive, a file per meter.  What a crash leaves in the parts is rotated
 * at the next start, cut at its last whole line. */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/evp.h>
#include <mqtt_protocol.h>
#include <yajl/yajl_tree.h>

#define BATCH_MAX 2000            /* messages read before a commit */
#define EXCERPT 200               /* payload bytes shown in a reject */

/* The messages taken lately, by a digest of topic and payload: two
 * generations of an open-addressed table, the older dropped when the
 * newer is half full, so the last SEEN_HALF to 2 * SEEN_HALF messages are
 * remembered in fixed memory.  SHA-256, keyed by nothing a participant
 * controls but its own topics: no payload can be made to pass for
 * another participant's message. */
#define SEEN_SLOTS (1u << 18)
#define SEEN_HALF (SEEN_SLOTS / 2)
struct seen {
	uint64_t (*gen[2])[2];        /* [current, previous], SEEN_SLOTS each */
	size_t n;                     /* in the current */
};

struct meter {
	const struct mt_meter_cfg *cfg;
	const char *property;
	struct mt_conn conn;
	struct mt_zone *zone;
	char *buf;                    /* archive: its messages at rotation */
	size_t len, cap;
	mt_time_t first;
};

struct route {                    /* a topic and the meters that read it */
	size_t *meters;
	size_t n;
};

struct sink {                     /* one participant */
	struct mt_listen_part *p;
	char *prefix;                 /* meter/ID/ */
	struct mt_map *routes;        /* topic -> struct route */
	char *dir;                    /* where the parts are */
	FILE *readings, *messages;    /* the parts, or readings = out */
	struct mt_out *out;
	int lock;
	size_t bytes;                 /* in the parts since the rotation */
	mt_time_t opened;             /* first message since the rotation */
	int dirty;
	long seq;
	/* its own session at the broker: what one participant's devices
	 * publish can never crowd another's out of the broker's queue, and a
	 * participant left out is not subscribed, so its messages wait */
	struct mt_listener *l;
	struct mosquitto *mosq;
	char client_id[MT_ID_MAX + 80];
	int connected;                /* CONNACK accepted */
	int down;                     /* socket lost: reconnect when due */
	double backoff;
	mt_time_t retry_at;
	int refused;                  /* the last CONNACK said no */
	int reason;                   /* the broker's DISCONNECT reason, or 0 */
	char why[160];                /* the library's last error, or "" */
	char state[240];              /* the last state said, said once */
};

struct mt_listener {
	const struct mt_listen_opts *o;
	struct sink *sinks;
	size_t nsinks;
	struct meter *meters;
	size_t nmeters;
	FILE *out;
	char *host;
	int port, tls;
	int failed;                   /* a write failed: stop */
	int global_dirty;             /* o->rj written since the commit */
	int lib;                      /* mosquitto_lib_init was called */
	struct mt_err ferr;
	struct mt_listen_stats st;
	struct seen seen;
	char state[240];              /* the last state said, said once */
};

static mt_time_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (mt_time_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One line per change of state: the same line twice in a row is said
 * once.  last is the listener's or a session's. */
static void vsay(struct mt_listener *l, char *last, size_t cap,
    const char *fmt, va_list ap)
{
	char line[240];

	vsnprintf(line, sizeof line, fmt, ap);
	if (strcmp(line, last) == 0 || l->o->log == NULL)
		return;
	snprintf(last, cap, "%s", line);
	fprintf(l->o->log, "meter-listen: %s\n", line);
	fflush(l->o->log);
}

static void say(struct mt_listener *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct mt_listener *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(l, l->state, sizeof l->state, fmt, ap);
	va_end(ap);
}

/* A session's state: its participant named when there are several. */
static void say_s(struct sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say_s(struct sink *s, const char *fmt, ...)
{
	char with[200];
	va_list ap;

	snprintf(with, sizeof with, "%s%s%s", s->l->nsinks > 1 ? s->p->cfg->id : "",
	    s->l->nsinks > 1 ? ": " : "", fmt);
	va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsay(s->l, s->state, sizeof s->state, with, ap);
#pragma GCC diagnostic pop
	va_end(ap);
}

static void io_fail(struct mt_listener *l, const char *path, const char *what)
{
	if (!l->failed)
		mt_err_set(&l->ferr, path, 0, "cannot %s: %s", what, strerror(errno));
	l->failed = 1;
	l->ferr.status = MT_EXIT_IO;
}

/* ---- the broker's URL ---- */

static int parse_broker(struct mt_listener *l, const char *url, struct mt_err *err)
{
	const char *hp, *colon;
	long port;
	char *end;

	if (strncmp(url, "mqtt://", 7) == 0)
		hp = url + 7, l->tls = 0;
	else if (strncmp(url, "mqtts://", 8) == 0)
		hp = url + 8, l->tls = 1;
	else
		goto bad;
	if (strchr(hp, '@') != NULL) {
		mt_err_set(err, NULL, 0, "broker %s: no user in the URL: give it "
		    "in MQTT_USERNAME and MQTT_PASSWORD (meter-listen(1))", "URL");
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	colon = strrchr(hp, ':');
	l->port = l->tls ? 8883 : 1883;
	if (strchr(hp, '/') != NULL) {
		mt_err_set(err, NULL, 0, "broker \"%.200s\": no path: the broker is "
		    "mqtt://HOST[:PORT] or mqtts://HOST[:PORT]", url);
		err->status = MT_EXIT_USAGE;
		return -1;
	}
	if (colon != NULL && strchr(colon, ']') == NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || port < 1 || port > 65535 || *end != '\0')
			goto bad;
		l->port = (int)port;
		l->host = mt_xstrndup(hp, (size_t)(colon - hp));
	} else {
		l->host = mt_xstrndup(hp, strcspn(hp, "/"));
	}
	if (*l->host == '[' && l->host[strlen(l->host) - 1] == ']') {
		memmove(l->host, l->host + 1, strlen(l->host));
		l->host[strlen(l->host) - 1] = '\0';
	}
	if (*l->host != '\0')
		return 0;
bad:
	mt_err_set(err, NULL, 0, "broker \"%.200s\" is not mqtt://HOST[:PORT] "
	    "or mqtts://HOST[:PORT]", url);
	err->status = MT_EXIT_USAGE;
	return -1;
}

/* ---- the meters and their topics ---- */

static const char *zone_of(const struct mt_config *cfg, const struct mt_meter_cfg *m)
{
	const struct mt_property_cfg *p;

	p = m->property ? mt_config_property(cfg, m->property) : NULL;
	return p && p->timezone ? p->timezone : cfg->timezone;
}

static int add_meter(struct mt_listener *l, struct sink *s,
    const struct mt_meter_cfg *m, struct mt_err *err)
{
	struct meter *mt = &l->meters[l->nmeters];
	struct route *r;

	memset(mt, 0, sizeof *mt);
	mt->cfg = m;
	if (mt_conn_parse(&mt->conn, m->connector, zone_of(s->p->cfg, m), err) < 0)
		return -1;
	r = mt_map_get(s->routes, mt->conn.topic, strlen(mt->conn.topic));
	if (r == NULL) {
		r = mt_xcalloc(1, sizeof *r);
		mt_map_put(s->routes, mt->conn.topic, strlen(mt->conn.topic), r);
	}
	/* opened last: a meter refused above holds nothing to free */
	if (mt->conn.zone_name != NULL &&
	    (mt->zone = mt_zone_open(mt->conn.zone_name, err)) == NULL)
		return -1;
	r->meters = mt_xrealloc(r->meters, (r->n + 1) * sizeof *r->meters);
	r->meters[r->n++] = l->nmeters++;
	return 0;
}

static void free_route(void *ctx, const char *key, size_t klen, void *val)
{
	struct route *r = val;

	(void)ctx, (void)key, (void)klen;
	free(r->meters);
	free(r);
}

/* ---- the parts: open, commit, rotate ---- */

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = mt_xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static FILE *open_part(struct mt_listener *l, struct sink *s, const char *name)
{
	char *path = path_in(s->dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	FILE *fp = fd < 0 ? NULL : fdopen(fd, "a");

	if (fp == NULL) {
		io_fail(l, path, "open");
		if (fd >= 0)
			close(fd);
	}
	free(path);
	return fp;
}

/* Cut a part left by a crash at its last whole line: the rest was never
 * synced, so never acknowledged, and comes again. */
static int cut_part(const char *path, struct mt_err *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	off_t end;
	char c;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) < 0)
		goto fail;
	for (end = sb.st_size; end > 0; end--)
		if (pread(fd, &c, 1, end - 1) != 1)
			goto fail;
		else if (c == '\n')
			break;
	if (end != sb.st_size && (ftruncate(fd, end) < 0 || fsync(fd) < 0))
		goto fail;
	close(fd);
	return 0;
fail:
	mt_err_set(err, path, 0, "cannot cut at its last line: %s", strerror(errno));
	err->status = MT_EXIT_IO;
	close(fd);
	return -1;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	return rc;
}

static int flush_file(FILE *fp)
{
	struct stat sb;

	if (fflush(fp) != 0)
		return -1;
	/* standard output may be a pipe: nothing to sync there */
	if (fstat(fileno(fp), &sb) == 0 && !S_ISREG(sb.st_mode))
		return 0;
	return fdatasync(fileno(fp));
}

static void commit_sink(struct mt_listener *l, struct sink *s)
{
	if (!s->dirty)
		return;
	if (mt_out_flush(s->out) < 0 || flush_file(s->readings) < 0)
		io_fail(l, s->p->spool ? s->p->spool : "standard output", "write readings");
	if (s->messages != NULL && flush_file(s->messages) < 0)
		io_fail(l, s->dir, "write the messages' archive part");
	if (s->p->rj->fp != NULL && flush_file(s->p->rj->fp) < 0)
		io_fail(l, "the rejects file", "write");
	s->dirty = 0;
}

/* Make everything read so far durable: then the acknowledgements go. */
static void commit(struct mt_listener *l)
{
	for (size_t i = 0; i < l->nsinks; i++)
		commit_sink(l, &l->sinks[i]);
	if (l->global_dirty && l->o->rj->fp != NULL && flush_file(l->o->rj->fp) < 0)
		io_fail(l, "the rejects file", "write");
	l->global_dirty = 0;
}

static const char *field(yajl_val v, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val f = yajl_tree_get(v, path, yajl_t_string);

	return f ? f->u.string : NULL;
}

static void append(struct meter *m, const char *line, size_t n, mt_time_t at)
{
	if (m->len + n + 1 > m->cap) {
		m->cap = (m->len + n + 1) * 2;
		m->buf = mt_xrealloc(m->buf, m->cap);
	}
	if (m->len == 0)
		m->first = at;
	memcpy(m->buf + m->len, line, n);
	m->buf[m->len + n] = '\n';
	m->len += n + 1;
}

/* One archived line to the buffers of the meters of its topic. */
static void sort_line(struct mt_listener *l, struct sink *s, const char *line,
    size_t n)
{
	char *copy = mt_xstrndup(line, n), msg[64];
	yajl_val v = yajl_tree_parse(copy, msg, sizeof msg);
	const char *topic = v ? field(v, "topic") : NULL;
	const char *received = v ? field(v, "received") : NULL;
	struct route *r = topic ? mt_map_get(s->routes, topic, strlen(topic)) : NULL;
	mt_time_t at = 0;
	enum mt_tsform form;
	struct mt_err err;

	if (r == NULL || received == NULL ||
	    mt_time_parse(received, strlen(received), &at, &form, &err) < 0) {
		/* a topic the configuration no longer claims since the crash */
		mt_reject(s->p->rj, s->dir, 0, line, n, "archived message of a "
		    "topic no meter claims now: kept here, not in the archive");
	} else {
		for (size_t i = 0; i < r->n; i++)
			append(&l->meters[r->meters[i]], line, n, at);
	}
	yajl_tree_free(v);
	free(copy);
}

/* The messages part into the raw archive, a file per meter. */
static int archive_part(struct mt_listener *l, struct sink *s, const char *path,
    struct mt_err *err)
{
	char *body = NULL, *name;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : (mt_err_set(err, path, 0, "cannot open: %s",
		    strerror(errno)), -1);
	rc = mt_read_fd(fd, SIZE_MAX / 2, &body, &n, err);
	close(fd);
	if (rc < 0)
		return -1;
	for (const char *p = body, *end = body + n; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0)
			sort_line(l, s, p, len);
		p += len + 1;
	}
	free(body);
	for (size_t i = 0; i < l->nmeters; i++) {
		struct meter *m = &l->meters[i];
		if (m->len == 0)
			continue;
		if (rc == 0 && mt_archive_put(s->p->archive, m->cfg->id, "mqtt",
		    m->first, m->buf, m->len, &name, err) < 0)
			rc = -1;
		else if (rc == 0)
			free(name);
		/* a rotation's worth, not kept from one to the next */
		free(m->buf);
		m->buf = NULL;
		m->len = m->cap = 0;
	}
	return rc < 0 ? -1 : mt_archive_sync(s->p->archive, err);
}

/* Rotate: messages archived, readings renamed into the spool, the
 * messages part gone; each step safe to repeat after a crash. */
static int rotate_parts(struct mt_listener *l, struct sink *s, struct mt_err *err)
{
	char *rpart = path_in(s->dir, ".part.ndjson");
	char *mpart = path_in(s->dir, ".part.mqtt");
	char name[80], *done;
	struct stat sb;
	int rc = -1;

	if (cut_part(mpart, err) < 0 || (s->p->spool && cut_part(rpart, err) < 0))
		goto out;
	if (s->p->archive != NULL && archive_part(l, s, mpart, err) < 0)
		goto out;
	if (s->p->spool && lstat(rpart, &sb) == 0 && sb.st_size > 0) {
		char stamp[40];
		mt_time_format(stamp, now_ms());
		/* a name meter-inbox takes: letters, digits, - and . */
		snprintf(name, sizeof name, "%.19s-%ld-%ld.ndjson", stamp,
		    (long)getpid(), s->seq++);
		for (char *c = name; *c; c++)
			if (*c == ':')
				*c = '-';
		done = path_in(s->dir, name);
		rc = rename(rpart, done);
		free(done);
		if (rc < 0 || sync_dir(s->dir) < 0) {
			mt_err_set(err, rpart, 0, "cannot rename into the spool: %s",
			    strerror(errno));
			rc = -1;
			goto out;
		}
		l->st.files++;
	}
	if (unlink(mpart) < 0 && errno != ENOENT) {
		mt_err_set(err, mpart, 0, "cannot remove: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		err->status = MT_EXIT_IO;
	free(rpart);
	free(mpart);
	return rc;
}

static int open_parts(struct mt_listener *l, struct sink *s)
{
	if (s->p->spool != NULL) {
		if ((s->readings = open_part(l, s, ".part.ndjson")) == NULL)
			return -1;
	} else {
		s->readings = l->out;
	}
	s->out = mt_out_new(s->readings);
	if (s->p->archive != NULL && (s->messages = open_part(l, s, ".part.mqtt")) == NULL)
		return -1;
	s->bytes = 0;
	s->opened = 0;
	return 0;
}

static void close_parts(struct sink *s)
{
	if (s->out != NULL) {
		mt_out_flush(s->out);
		mt_out_free(s->out);
	}
	if (s->readings != NULL && s->p->spool != NULL)
		fclose(s->readings);
	if (s->messages != NULL)
		fclose(s->messages);
	s->out = NULL;
	s->readings = s->messages = NULL;
}

/* Rotate, and open new parts unless the listener is stopping. */
static void rotate(struct mt_listener *l, struct sink *s, int reopen)
{
	struct mt_err err;

	commit_sink(l, s);
	close_parts(s);
	if (l->failed)
		return;
	if (rotate_parts(l, s, &err) < 0) {
		l->ferr = err;
		l->failed = 1;
		return;
	}
	if (reopen)
		open_parts(l, s);
}

/* One listener per directory: two would interleave their parts. */
static int lock_dir(struct sink *s, struct mt_err *err)
{
	char *path = path_in(s->dir, ".listen.lock");

	s->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (s->lock < 0 || flock(s->lock, LOCK_EX | LOCK_NB) < 0) {
		mt_err_set(err, path, 0, errno == EWOULDBLOCK ? "another meter-listen "
		    "is writing here" : "cannot lock: %s", strerror(errno));
		err->status = errno == EWOULDBLOCK ? MT_EXIT_USAGE : MT_EXIT_IO;
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int setup_sink(struct mt_listener *l, struct sink *s, struct mt_err *err)
{
	const struct mt_config *cfg = s->p->cfg;
	size_t n = strlen(MT_MQTT_PREFIX) + strlen(cfg->id) + 2;

	s->prefix = mt_xmalloc(n);
	snprintf(s->prefix, n, MT_MQTT_PREFIX "%s/", cfg->id);
	s->routes = mt_map_new();
	for (size_t i = 0; i < cfg->nmeters; i++) {
		const struct mt_meter_cfg *m = &cfg->meters[i];
		if (m->connector != NULL && strcmp(m->connector->type, "mqtt") == 0 &&
		    add_meter(l, s, m, err) < 0)
			return -1;
	}
	s->dir = mt_xstrdup(s->p->spool ? s->p->spool : s->p->archive ?
	    s->p->archive : "");
	s->lock = -1;
	if (*s->dir == '\0')
		return open_parts(l, s);
	if (mkdir(s->dir, 0750) < 0 && errno != EEXIST) {
		mt_err_set(err, s->dir, 0, "cannot create: %s", strerror(errno));
		err->status = MT_EXIT_IO;
		return -1;
	}
	if (lock_dir(s, err) < 0 || rotate_parts(l, s, err) < 0)
		return -1;
	return open_parts(l, s) < 0 ? (*err = l->ferr, -1) : 0;
}

/* ---- duplicates ---- */

static void digest(const char *topic, const char *payload, size_t n,
    uint64_t key[2])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL)
		mt_out_of_memory();
	/* the topic with its NUL: "a" + "bc" is not "ab" + "c" */
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, topic, strlen(topic) + 1);
	EVP_DigestUpdate(c, payload, n);
	EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	memcpy(key, md, 2 * sizeof *key);
	key[0] |= 1;                  /* 0 marks an empty slot */
}

/* Whether the table holds key; else where it would go. */
static int probe(uint64_t (*t)[2], const uint64_t key[2], size_t *at)
{
	size_t i = (size_t)key[1] & (SEEN_SLOTS - 1);

	while (t[i][0] != 0) {
		if (t[i][0] == key[0] && t[i][1] == key[1])
			return 1;
		i = (i + 1) & (SEEN_SLOTS - 1);
	}
	*at = i;
	return 0;
}

/* 1 when the message was taken lately (a redelivery), else remember it. */
static int seen_before(struct seen *s, const uint64_t key[2])
{
	size_t at, ignored;

	if (s->gen[0] == NULL) {
		s->gen[0] = mt_xcalloc(SEEN_SLOTS, sizeof *s->gen[0]);
		s->gen[1] = mt_xcalloc(SEEN_SLOTS, sizeof *s->gen[1]);
	}
	if (probe(s->gen[1], key, &ignored) || probe(s->gen[0], key, &at))
		return 1;
	if (s->n == SEEN_HALF) {
		uint64_t (*old)[2] = s->gen[1];
		memset(old, 0, SEEN_SLOTS * sizeof *old);
		s->gen[1] = s->gen[0];
		s->gen[0] = old;
		s->n = 0;
		probe(s->gen[0], key, &at);
	}
	s->gen[0][at][0] = key[0];
	s->gen[0][at][1] = key[1];
	s->n++;
	return 0;
}

/* ---- messages ---- */

/* Text fit for the archive and for JSON: the characters XML allows (no
 * other control character, no surrogate or overlong form, so the archive
 * reads back the same), and CR, which a DSMR telegram ends its lines
 * with.  libmosquitto ends every payload with a NUL, so a character cut
 * short at the end stops at it. */
static int is_text(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = s[i] == '\r' ? 1 : mt_utf8_char(s + i)) == 0 || i + k > n)
			return 0;
	return 1;
}

/* The reject keeps a text payload whole (it may be replayed once a meter
 * claims its topic); of a binary or oversized one, an excerpt with what
 * is not printable shown as \xHH. */
static void reject_msg(struct mt_listener *l, struct sink *s, const char *topic,
    const char *payload, size_t n, const char *why)
{
	char excerpt[EXCERPT * 4 + 8];
	size_t k = 0;

	char source[MT_TOPIC_MAX + 8];

	/* a topic no meter claims can be of any length: the rejects name its
	 * beginning */
	snprintf(source, sizeof source, "%.*s%s", MT_TOPIC_MAX, topic,
	    strlen(topic) > MT_TOPIC_MAX ? "..." : "");
	topic = source;
	if (n <= l->o->max_size && is_text(payload, n)) {
		mt_reject(s->p->rj, topic, 0, payload, n, why);
		l->st.rejected++;
		s->dirty = 1;
		return;
	}
	for (size_t i = 0; i < n && k < EXCERPT; i++) {
		unsigned char c = (unsigned char)payload[i];
		k += (size_t)snprintf(excerpt + k, sizeof excerpt - k,
		    c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	if (n > EXCERPT)
		k += (size_t)snprintf(excerpt + k, sizeof excerpt - k, "...");
	mt_reject(s->p->rj, topic, 0, excerpt, k, why);
	l->st.rejected++;
	s->dirty = 1;
}

static void archive_msg(struct sink *s, const char *topic, mt_time_t at,
    const char *payload, size_t n)
{
	char stamp[40], *buf = mt_xmalloc(MT_ESCAPED_MAX(n) +
	    MT_ESCAPED_MAX(strlen(topic)) + 96), *p = buf;

	mt_time_format(stamp, at);
	p += sprintf(p, "{\"received\":\"%s\",\"topic\":", stamp);
	p += mt_json_escape(p, topic, strlen(topic));
	p += sprintf(p, ",\"payload\":");
	p += mt_json_escape(p, payload, n);
	p += sprintf(p, "}\n");
	fwrite(buf, 1, (size_t)(p - buf), s->messages);
	s->bytes += (size_t)(p - buf);
	free(buf);
}

static void readings_of(struct mt_listener *l, struct sink *s,
    struct meter *m, const char *topic, mt_time_t at, const char *payload,
    size_t n)
{
	const struct mt_meter_cfg *c = m->cfg;
	struct mt_emit e = { .participant = s->p->cfg->id, .property = c->property,
		.meter = c->id, .source = topic, .q = c->q, .kind = c->kind,
		.unit = c->unit, .rollover = c->rollover, .calorific = c->calorific,
		.after = MT_TIME_MIN, .since = MT_TIME_MIN, .until = MT_TIME_MAX,
		.out = s->out, .rj = s->p->rj, .zone = m->zone, .prev = MT_TIME_MIN,
		.last = MT_TIME_MIN };
	struct mt_err err;

	if (mt_mqtt_message(&m->conn, &e, at, payload, n, &err) < 0) {
		char why[sizeof err.msg + 40];
		snprintf(why, sizeof why, "meter %s: %s", c->id, err.msg);
		reject_msg(l, s, topic, payload, n, why);
	} else if (e.readings + e.rejected + e.skipped + e.filtered == 0) {
		char why[200];
		snprintf(why, sizeof why, "meter %s: no reading in the message (an "
		    "empty array, or a telegram without the meter's register)", c->id);
		reject_msg(l, s, topic, payload, n, why);
	}
	l->st.readings += e.readings;
	l->st.rejected += e.rejected;
	l->st.skipped += e.skipped;
}

/* A message that says its own time (json, dsmr) and was taken lately is
 * a redelivery: QoS 1 is at least once, and a broker may send again what
 * was acknowledged (mosquitto after a restart does).  A bare number is
 * the reading of the moment it arrives and is never one. */
static int redelivered(struct mt_listener *l, const struct route *r,
    const char *topic, const char *payload, size_t n)
{
	uint64_t key[2];

	for (size_t i = 0; i < r->n; i++)
		if (l->meters[r->meters[i]].conn.payload == MT_MQTT_NUMBER)
			return 0;
	digest(topic, payload, n, key);
	return seen_before(&l->seen, key);
}

static void on_message(struct mosquitto *mosq, void *ctx,
    const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct sink *s = ctx;
	struct mt_listener *l = s->l;
	const char *payload = msg->payload ? msg->payload : "";
	size_t n = (size_t)msg->payloadlen;
	struct route *r;
	mt_time_t at = now_ms();
	char why[200];

	(void)mosq, (void)props;
	l->st.messages++;
	/* meter/ID/# matches meter/ID itself too: the participant's, unclaimed */
	if (strncmp(msg->topic, s->prefix, strlen(s->prefix)) != 0 &&
	    !(strncmp(msg->topic, s->prefix, strlen(s->prefix) - 1) == 0 &&
	    msg->topic[strlen(s->prefix) - 1] == '\0')) {
		/* a subscription the session kept from elsewhere: a client id
		 * another program used too */
		mt_reject(l->o->rj, msg->topic, 0, payload, n < EXCERPT ? n : EXCERPT,
		    "a topic outside the participant's prefix: the session's "
		    "client id is used by another program too (meter-listen -i)");
		l->st.rejected++;
		l->global_dirty = 1;
		return;
	}
	s->dirty = 1;
	if (s->opened == 0)
		s->opened = at;
	r = mt_map_get(s->routes, msg->topic, strlen(msg->topic));
	if (r == NULL) {
		snprintf(why, sizeof why, "no meter of %s claims this topic "
		    "(meter-config(5): <connector type=\"mqtt\" topic=...>)",
		    s->p->cfg->id);
		reject_msg(l, s, msg->topic, payload, n, why);
	} else if (n > l->o->max_size) {
		snprintf(why, sizeof why, "payload of %zu bytes is over the limit "
		    "of %zu (--max-size)", n, l->o->max_size);
		reject_msg(l, s, msg->topic, payload, n, why);
	} else if (!is_text(payload, n)) {
		reject_msg(l, s, msg->topic, payload, n, "payload is not text "
		    "(invalid UTF-8, or a control character): JSON, a number or a "
		    "DSMR telegram");
	} else if (redelivered(l, r, msg->topic, payload, n)) {
		l->st.duplicates++;
	} else {
		if (s->messages != NULL)
			archive_msg(s, msg->topic, at, payload, n);
		for (size_t i = 0; i < r->n; i++)
			readings_of(l, s, &l->meters[r->meters[i]], msg->topic, at,
			    payload, n);
		s->bytes += n;
	}
}

/* ---- the connections: a session per participant ---- */

static void on_connect(struct mosquitto *mosq, void *ctx, int rc, int flags,
    const mosquitto_property *props)
{
	struct sink *s = ctx;
	struct mt_listener *l = s->l;
	char sub[MT_ID_MAX + 16];

	(void)props;
	if (rc != 0) {
		say_s(s, "the broker %s:%d refused the connection: %s%s; retrying "
		    "with backoff up to %g s", l->host, l->port,
		    mosquitto_reason_string(rc), rc == MQTT_RC_NOT_AUTHORIZED ||
		    rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD ? " (the user and "
		    "password: MQTT_USERNAME and MQTT_PASSWORD, or --secrets)" : "",
		    l->o->retry_max);
		s->refused = 1;
		return;
	}
	s->connected = 1;
	s->backoff = 0;
	say_s(s, "connected to %s:%d as %s (%s)", l->host, l->port, s->client_id,
	    flags & 1 ? "session resumed" : "new session");
	snprintf(sub, sizeof sub, "%s#", s->prefix);
	/* a retained message is an old value the broker would send at every
	 * subscription, as if it were new: never */
	mosquitto_subscribe_v5(mosq, NULL, sub, 1, MQTT_SUB_OPT_SEND_RETAIN_NEVER,
	    NULL);
}

static const char *why_lost(const struct sink *s, int rc)
{
	if (s->reason == MQTT_RC_SESSION_TAKEN_OVER)
		return "another client took the session: two listeners share "
		    "one client id (-i)";
	if (rc == MOSQ_ERR_EAI)
		return "cannot resolve the host name";
	if (rc == MOSQ_ERR_CONN_LOST)
		return "closed by the broker or the network";
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* The connection is down (was_up: it had been up): reconnect later. */
static void lost(struct sink *s, int rc, int was_up)
{
	struct mt_listener *l = s->l;

	if (s->down)
		return;
	s->down = 1;
	s->connected = 0;
	l->st.reconnects += was_up;
	s->backoff = s->backoff == 0 ? l->o->retry_base : s->backoff * 2;
	if (s->backoff > l->o->retry_max)
		s->backoff = l->o->retry_max;
	s->retry_at = now_ms() + (mt_time_t)(s->backoff * 1000);
	/* a refusal said why already: the broker closing after it is no news */
	if (s->refused) {
		s->refused = 0;
		return;
	}
	if (rc == MOSQ_ERR_TLS)
		say_s(s, "connection to %s:%d failed (TLS: %s): check --ca-file and "
		    "that the broker's certificate names %s; retrying with backoff "
		    "up to %g s", l->host, l->port, *s->why ? s->why :
		    "handshake failed", l->host, l->o->retry_max);
	else
		say_s(s, "%s %s:%d (%s): %s with backoff up to %g s", was_up ?
		    "connection lost to" : "cannot connect to", l->host, l->port,
		    why_lost(s, rc), was_up ? "reconnecting" : "retrying",
		    l->o->retry_max);
	s->why[0] = '\0';
	s->reason = 0;
}

/* The broker's reason for a DISCONNECT (MQTT 5), said when the socket
 * closes. */
static void on_disconnect(struct mosquitto *mosq, void *ctx, int rc,
    const mosquitto_property *props)
{
	struct sink *s = ctx;

	(void)mosq, (void)props;
	s->reason = rc;
}

/* libmosquitto says why TLS failed only in its log ("OpenSSL Error[0]:
 * error:0A000086:SSL routines::certificate verify failed"): the last
 * error it logged goes into the next line said. */
static void on_log(struct mosquitto *mosq, void *ctx, int level, const char *str)
{
	struct sink *s = ctx;
	const char *tail;

	(void)mosq;
	if (level != MOSQ_LOG_ERR)
		return;
	tail = strrchr(str, ':');
	/* OpenSSL's reason is after its last colon */
	snprintf(s->why, sizeof s->why, "%s", strncmp(str, "OpenSSL", 7) == 0 &&
	    tail != NULL ? tail + 1 : str);
}

static int connect_once(struct sink *s)
{
	const struct mt_listener *l = s->l;
	mosquitto_property *props = NULL;
	int rc;

	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
	    l->o->session_expiry);
	rc = mosquitto_connect_bind_v5(s->mosq, l->host, l->port, l->o->keepalive,
	    NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

static void reconnect_if_due(struct sink *s)
{
	int rc;

	if (!s->down || now_ms() < s->retry_at)
		return;
	s->down = 0;
	if ((rc = connect_once(s)) != MOSQ_ERR_SUCCESS)
		lost(s, rc, 0);
}

/* The user and password: the options', or the secrets file's (0600, the
 * operator's, as meter-fetch --secrets reads it). */
static int user(struct mt_listener *l, struct mosquitto *mosq,
    struct mt_err *err)
{
	const char *u = l->o->username, *p = l->o->password;
	struct mt_secrets *s = NULL;
	int rc = 0;

	if (l->o->secrets != NULL) {
		if ((s = mt_secrets_load(l->o->secrets, err)) == NULL)
			return -1;
		u = mt_secrets_get(s, "MQTT_USERNAME");
		p = mt_secrets_get(s, "MQTT_PASSWORD");
		if (u == NULL) {
			mt_err_set(err, l->o->secrets, 0, "no MQTT_USERNAME=...: the "
			    "broker's user, and MQTT_PASSWORD=..., one a line");
			err->status = MT_EXIT_USAGE;
			rc = -1;
		}
	}
	if (rc == 0 && u != NULL &&
	    mosquitto_username_pw_set(mosq, u, p) != MOSQ_ERR_SUCCESS) {
		mt_err_set(err, NULL, 0, "cannot set the MQTT user");
		rc = -1;
	}
	mt_secrets_free(s);
	return rc;
}

/* A participant's session: named CLIENT-ID:PARTICIPANT. */
static int setup_mosq(struct mt_listener *l, struct sink *s, struct mt_err *err)
{
	const struct mt_listen_opts *o = l->o;
	int rc;

	if (!l->lib)
		mosquitto_lib_init();
	l->lib = 1;
	/* ':' is in no participant id: no two names of sessions coincide */
	snprintf(s->client_id, sizeof s->client_id, "%s:%s", o->client_id,
	    s->p->cfg->id);
	s->l = l;
	if ((s->mosq = mosquitto_new(s->client_id, false, s)) == NULL) {
		mt_err_set(err, NULL, 0, "cannot start an MQTT client: %s", strerror(errno));
		return -1;
	}
	mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(s->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, o->receive_max);
	/* packets are queued, never written behind this file's back: see the
	 * top of the file */
	mosquitto_threaded_set(s->mosq, true);
	mosquitto_connect_v5_callback_set(s->mosq, on_connect);
	mosquitto_message_v5_callback_set(s->mosq, on_message);
	mosquitto_log_callback_set(s->mosq, on_log);
	mosquitto_disconnect_v5_callback_set(s->mosq, on_disconnect);
	if (user(l, s->mosq, err) < 0)
		return -1;
	if (l->tls) {
		rc = mosquitto_tls_set(s->mosq, o->ca_file, o->ca_file ? NULL :
		    "/etc/ssl/certs", NULL, NULL, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_opts_set(s->mosq, 1, NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			mt_err_set(err, o->ca_file, 0, "cannot set up TLS: %s",
			    mosquitto_strerror(rc));
			err->status = MT_EXIT_USAGE;
			return -1;
		}
	}
	return 0;
}

struct mt_listener *mt_listener_new(const struct mt_listen_opts *o,
    struct mt_listen_part *parts, size_t n, FILE *out, struct mt_err *err)
{
	struct mt_listener *l = mt_xcalloc(1, sizeof *l);
	size_t meters = 0;

	l->o = o;
	l->out = out;
	err->status = MT_EXIT_IO;
	for (size_t i = 0; i < n; i++)
		meters += parts[i].cfg->nmeters;
	l->meters = mt_xcalloc(meters + 1, sizeof *l->meters);
	l->sinks = mt_xcalloc(n, sizeof *l->sinks);
	if (parse_broker(l, o->broker, err) < 0)
		goto fail;
	if (!l->tls && o->ca_file != NULL) {
		mt_err_set(err, NULL, 0, "--ca-file is for an mqtts:// broker, not %.200s",
		    o->broker);
		err->status = MT_EXIT_USAGE;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		l->sinks[i].p = &parts[i];
		l->sinks[i].lock = -1;
		l->nsinks++;
		if (setup_sink(l, &l->sinks[i], err) < 0 ||
		    setup_mosq(l, &l->sinks[i], err) < 0)
			goto fail;
	}
	return l;
fail:
	mt_listener_free(l);
	return NULL;
}

void mt_listener_free(struct mt_listener *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nsinks; i++) {
		struct sink *s = &l->sinks[i];
		close_parts(s);
		mt_map_each(s->routes, free_route, NULL);
		mt_map_free(s->routes);
		if (s->lock >= 0)
			close(s->lock);
		free(s->prefix);
		free(s->dir);
		if (s->mosq != NULL)
			mosquitto_destroy(s->mosq);
	}
	for (size_t i = 0; i < l->nmeters; i++) {
		mt_zone_free(l->meters[i].zone);
		free(l->meters[i].buf);
	}
	if (l->lib)
		mosquitto_lib_cleanup();
	free(l->seen.gen[0]);
	free(l->seen.gen[1]);
	free(l->sinks);
	free(l->meters);
	free(l->host);
	free(l);
}

const struct mt_listen_stats *mt_listener_stats(const struct mt_listener *l)
{
	return &l->st;
}

size_t mt_listener_meters(const struct mt_listener *l)
{
	return l->nmeters;
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* Read what has come on every session, up to a batch each: then commit,
 * then acknowledge. */
static void step(struct mt_listener *l, int timeout_ms)
{
	struct pollfd *p = mt_xcalloc(l->nsinks, sizeof *p);
	int *rc = mt_xcalloc(l->nsinks, sizeof *rc), any = 0;

	for (size_t i = 0; i < l->nsinks; i++) {
		struct sink *s = &l->sinks[i];
		p[i].fd = mosquitto_socket(s->mosq);
		p[i].events = POLLIN | (mosquitto_want_write(s->mosq) ? POLLOUT : 0);
		any |= p[i].fd >= 0;
	}
	if (poll(any ? p : NULL, any ? l->nsinks : 0, timeout_ms) < 0)
		goto out;
	for (size_t i = 0; i < l->nsinks; i++) {
		long before = l->st.messages;
		if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		do
			rc[i] = mosquitto_loop_read(l->sinks[i].mosq, 1);
		while (rc[i] == MOSQ_ERR_SUCCESS && l->st.messages - before <
		    BATCH_MAX && readable(p[i].fd));
	}
	commit(l);
	for (size_t i = 0; i < l->nsinks && !l->failed; i++) {
		struct sink *s = &l->sinks[i];
		if (p[i].fd < 0)
			continue;
		if (rc[i] == MOSQ_ERR_SUCCESS && mosquitto_want_write(s->mosq))
			rc[i] = mosquitto_loop_write(s->mosq, 1);
		if (rc[i] == MOSQ_ERR_SUCCESS)
			rc[i] = mosquitto_loop_misc(s->mosq);
		if (rc[i] != MOSQ_ERR_SUCCESS)
			lost(s, rc[i], 1);
	}
out:
	free(p);
	free(rc);
}

/* Rotate the parts that are due; at the end (last), all of them, even
 * empty, so that no part is left behind. */
static void rotate_due(struct mt_listener *l, int last)
{
	mt_time_t t = now_ms();

	for (size_t i = 0; i < l->nsinks && !l->failed; i++) {
		struct sink *s = &l->sinks[i];
		if (*s->dir != '\0' && (last || (s->opened != 0 && (s->bytes >=
		    l->o->rotate_size || t - s->opened >= l->o->rotate_age_ms))))
			rotate(l, s, !last);
	}
}

int mt_listener_run(struct mt_listener *l, const struct mt_listen_hooks *h,
    struct mt_err *err)
{
	for (size_t i = 0; i < l->nsinks; i++) {
		struct sink *s = &l->sinks[i];
		int rc = connect_once(s);
		if (rc != MOSQ_ERR_SUCCESS)
			lost(s, rc, 0);
		else
			say_s(s, "connecting to %s:%d", l->host, l->port);
	}
	while (!*h->stop && !l->failed) {
		step(l, 200);
		for (size_t i = 0; i < l->nsinks; i++)
			reconnect_if_due(&l->sinks[i]);
		rotate_due(l, 0);
		if (*h->report) {
			*h->report = 0;
			h->stats(h->ctx, &l->st, 0);
		}
	}
	/* what was read is made durable and acknowledged, then rotated */
	commit(l);
	for (size_t i = 0; i < l->nsinks && !l->failed; i++) {
		struct sink *s = &l->sinks[i];
		if (s->down || mosquitto_socket(s->mosq) < 0)
			continue;
		while (mosquitto_want_write(s->mosq) &&
		    mosquitto_loop_write(s->mosq, 1) == MOSQ_ERR_SUCCESS)
			;
		mosquitto_disconnect_v5(s->mosq, 0, NULL);
		mosquitto_loop_write(s->mosq, 1);
	}
	rotate_due(l, 1);
	if (l->failed) {
		*err = l->ferr;
		return -1;
	}
	say(l, "stopped");
	return 0;
}
