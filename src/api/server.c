/* The HTTP side of the Docker API: listening, routing, bodies, replies.
 * libmicrohttpd parses HTTP (dlopen()ed: see dl-mhd.h); this file decides
 * what a request means. api.h has the conventions. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "util.h"

static const struct api_route *const tables[] = {
	api_routes_system,
	api_routes_containers,
	api_routes_images,
	api_routes_attach,
	api_routes_exec,
	api_routes_build,
	api_routes_misc,
	api_routes_networks,
	api_routes_volumes,
	api_routes_events,
	api_routes_df,
	api_routes_stats,
};

static pthread_mutex_t engine_mutex = PTHREAD_MUTEX_INITIALIZER;
void api_lock(void) { pthread_mutex_lock(&engine_mutex); }
void api_unlock(void) { pthread_mutex_unlock(&engine_mutex); }

static atomic_int active;		/* connections open */
static atomic_llong last_activity;	/* time() of the last request or close */

/* ---- per request ---- */

struct req_ctx {
	char *body;
	size_t len, cap;
	bool too_big;
	bool to_file;			/* the route takes API_BODY_FILE */
	int fd;				/* to_file: the body so far */
	unsigned long long flen;
	unsigned fail;			/* to_file: the status the upload failed with */
	bool replied_early;		/* ... sent before the body came */
	char why[400];
};

static void req_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct req_ctx *x = *con_cls;
	if (x) {
		free(x->body);
		safe_close(x->fd);
		free(x);
		*con_cls = NULL;
	}
	atomic_store(&last_activity, (long long)time(NULL));
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode t)
{
	if (t == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&active, 1);
	else
		atomic_fetch_sub(&active, 1);
	atomic_store(&last_activity, (long long)time(NULL));
}

const char *api_param(const struct api_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (streq(r->param_name[i], name))
			return r->param[i];
	return NULL;
}

const char *api_query(const struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct all_values {
	const char *key;
	const char **v;
	size_t n;
};

static enum MHD_Result add_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct all_values *a = cls;
	if (streq(key, a->key) && value) {
		const char **v = realloc(a->v, (a->n + 2) * sizeof(*a->v));
		if (!v)
			abort();
		a->v = v;
		a->v[a->n++] = value;
		a->v[a->n] = NULL;
	}
	return MHD_YES;
}

const char **api_query_all(const struct api_req *r, const char *key)
{
	struct all_values a = { .key = key };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_value, &a);
	return a.v;
}

static enum MHD_Result has_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **want = cls;
	if (*want && streq(key, *want)) {
		*want = NULL;
		return MHD_NO;
	}
	return MHD_YES;
}

bool api_query_bool(const struct api_req *r, const char *key, bool def)
{
	const char *v = api_query(r, key);
	if (!v) {
		/* "?all" without a value: present, so true */
		const char *k = key;
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, has_key, &k);
		return k == NULL ? true : def;
	}
	return !*v || streq(v, "1") || strcasecmp(v, "true") == 0;
}

bool api_query_int(struct api_req *r, const char *key, long long def, long long *ret)
{
	const char *v = api_query(r, key);
	*ret = def;
	if (!v || !*v)
		return true;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || *end) {
		api_error(r, 400, "invalid value for %s: %s", key, v);
		return false;
	}
	*ret = n;
	return true;
}

const char *api_header(const struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool api_body_json(struct api_req *r, json_object **ret)
{
	*ret = NULL;
	if (r->body_len == 0)
		return true;
	json_tokener *t = json_tokener_new_ex(64);
	json_object *o = json_tokener_parse_ex(t, r->body, (int)r->body_len);
	enum json_tokener_error je = json_tokener_get_error(t);
	size_t used = json_tokener_get_parse_end(t);
	json_tokener_free(t);
	if (!o && je == json_tokener_success) {
		/* a body of `null` (docker 20.10's commit sends one): no object */
		size_t a = strspn(r->body, " \t\r\n");
		if (!strncmp(r->body + a, "null", 4) && strspn(r->body + a + 4, " \t\r\n") == r->body_len - a - 4)
			return true;
	}
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		api_error(r, 400, "invalid JSON: %s", json_tokener_error_desc(je));
		return false;
	}
	for (; used < r->body_len; used++)
		if (!strchr(" \t\r\n", r->body[used])) {
			json_object_put(o);
			api_error(r, 400, "invalid JSON: trailing data after the object");
			return false;
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		api_error(r, 400, "invalid JSON: expected an object");
		return false;
	}
	*ret = o;
	return true;
}

/* ---- replies ---- */

static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Api-Version", API_VERSION_MAX);
	MHD_add_response_header(resp, "Docker-Experimental", "false");
	MHD_add_response_header(resp, "Ostype", "linux");
	MHD_add_response_header(resp, "Server", "cell/" CELL_VERSION " (linux)");
}

static void queue(struct api_req *r, unsigned status, struct MHD_Response *resp)
{
	if (!resp) {
		r->replied = true;
		return;
	}
	common_headers(resp);
	if (r->reply_header[0] && r->reply_header[1])
		MHD_add_response_header(resp, r->reply_header[0], r->reply_header[1]);
	MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->replied = true;
}

void api_reply_text(struct api_req *r, unsigned status, const char *content_type, const char *text)
{
	if (r->replied)
		return;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp && content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	queue(r, status, resp);
}

void api_reply_json(struct api_req *r, unsigned status, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *line = xasprintf("%s\n", s);
	api_reply_text(r, status, "application/json", line);
	json_object_put(o);
}

void api_reply_empty(struct api_req *r, unsigned status)
{
	if (r->replied)
		return;
	queue(r, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

void api_error(struct api_req *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(msg ? msg : "out of memory"));
	api_reply_json(r, status, o);
}

static bool has(const char *msg, const char *s)
{
	return strcasestr(msg, s) != NULL;
}

void api_error_from(struct api_req *r, cell_error **e, unsigned fallback)
{
	const char *m = *e ? (*e)->msg : "unknown error";
	unsigned status = fallback;
	/* the engine's kinds are text today (issue 16): the mapping lives here only */
	if (has(m, "no such container") || has(m, "no such image") || has(m, "no such network") ||
	    has(m, "no such volume") || has(m, "no such object") || has(m, "not found in the store") ||
	    has(m, "no container named") || has(m, "unable to find image") ||
	    (has(m, "image") && has(m, "not known")))
		status = 404;
	else if (has(m, "already in use") || has(m, "is in use") || has(m, "conflict") ||
		 has(m, "already exists") || has(m, "stop it first") || has(m, "is running") ||
		 has(m, "is being") || has(m, "is paused") || has(m, "is not running") || has(m, "not paused"))
		status = 409;
	api_error(r, status, "%s", m);
	cell_error_free(e);
}

void api_reply_stream(struct api_req *r, unsigned status, const char *content_type, MHD_ContentReaderCallback fn,
		      void *cls, MHD_ContentReaderFreeCallback done)
{
	if (r->replied) {
		if (done)
			done(cls);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, fn, cls, done);
	if (!resp) {
		if (done)
			done(cls);
		api_error(r, 500, "cannot make a streamed response");
		return;
	}
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	queue(r, status, resp);
}

struct child_body {
	pid_t child;
	int fd, client;
};

static ssize_t child_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct child_body *j = cls;
	for (;;) {
		struct pollfd p[2] = { { .fd = j->fd, .events = POLLIN }, { .fd = j->client, .events = POLLRDHUP } };
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (j->client >= 0 && (p[1].revents & (POLLHUP | POLLERR | POLLRDHUP)))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (!p[0].revents)
			continue;
		ssize_t n = read(j->fd, buf, max);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			return n;
		int st = 0;
		while (waitpid(j->child, &st, 0) < 0 && errno == EINTR)
			;
		j->child = 0;
		return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? MHD_CONTENT_READER_END_OF_STREAM
							      : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void child_done(void *cls)
{
	struct child_body *j = cls;
	safe_close(j->fd);
	if (j->child > 0) {
		kill(j->child, SIGKILL);
		while (waitpid(j->child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(j);
}

void api_reply_child(struct api_req *r, unsigned status, const char *content_type, int (*fn)(void *cls, int fd),
		     void *cls)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		api_error(r, 500, "cannot make a pipe: %s", strerror(errno));
		return;
	}
	struct child_body *j = xcalloc(1, sizeof(*j));
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	j->client = ci ? ci->connect_fd : -1;
	fflush(stdout);
	fflush(stderr);
	j->child = fork();
	if (j->child == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(p[0]);
		_exit(fn(cls, p[1]) < 0 ? 1 : 0);
	}
	close(p[1]);
	j->fd = p[0];
	if (j->child < 0) {
		j->child = 0;
		child_done(j);
		api_error(r, 500, "cannot fork: %s", strerror(errno));
		return;
	}
	api_reply_stream(r, status, content_type, child_read, j, child_done);
}

bool api_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pw = { .fd = fd, .events = POLLOUT };
			if (poll(&pw, 1, -1) < 0 && errno != EINTR)
				return false;
			if (pw.revents & (POLLERR | POLLHUP))
				return false;
			continue;
		}
		if (k <= 0)
			return false;
		c += k;
		n -= (size_t)k;
	}
	return true;
}

bool api_send_frame(int fd, int stream, const char *p, size_t n)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };
	return api_send_all(fd, h, sizeof(h)) && api_send_all(fd, p, n);
}

struct hijack {
	api_hijack_fn fn;
	void *cls;
	void (*done)(void *cls);
};

static void upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra, size_t n_extra,
		     MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct hijack *h = cls;
	h->fn(sock, extra, n_extra, h->cls);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	if (h->done)
		h->done(h->cls);
	free(h);
}

void api_hijack(struct api_req *r, const char *content_type, api_hijack_fn fn, void *cls, void (*done)(void *cls))
{
	if (r->replied) {
		if (done)
			done(cls);
		return;
	}
	const char *up = api_header(r, "Upgrade");
	if (!up) {
		if (done)
			done(cls);
		api_error(r, 400, "this endpoint hijacks the connection: send `Connection: Upgrade` and `Upgrade: tcp`");
		return;
	}
	struct hijack *h = xcalloc(1, sizeof(*h));
	*h = (struct hijack){ fn, cls, done };
	struct MHD_Response *resp = MHD_create_response_for_upgrade(upgraded, h);
	if (!resp) {
		free(h);
		if (done)
			done(cls);
		api_error(r, 500, "cannot upgrade the connection");
		return;
	}
	MHD_add_response_header(resp, "Upgrade", "tcp");
	MHD_add_response_header(resp, "Connection", "Upgrade");
	MHD_add_response_header(resp, "Content-Type", content_type ? content_type : "application/vnd.docker.raw-stream");
	queue(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
}

/* ---- helpers ---- */

long long api_time_unix(const char *s)
{
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (long long)timegm(&tm);
}

static void human_duration(long long d, char *buf, size_t len)
{
	if (d < 1)
		snprintf(buf, len, "Less than a second");
	else if (d == 1)
		snprintf(buf, len, "1 second");
	else if (d < 60)
		snprintf(buf, len, "%lld seconds", d);
	else if (d < 120)
		snprintf(buf, len, "About a minute");
	else if (d < 3600)
		snprintf(buf, len, "%lld minutes", d / 60);
	else if (d < 7200)
		snprintf(buf, len, "About an hour");
	else if (d < 48 * 3600)
		snprintf(buf, len, "%lld hours", d / 3600);
	else
		snprintf(buf, len, "%lld days", d / 86400);
}

char *api_status_text(json_object *rec)
{
	const char *s = cell_ctr_status(rec);
	json_object *st = json_object_object_get(rec, "State");
	char d[64];
	long long now = (long long)time(NULL);
	if (!s || !*s)
		return xstrdup("Unknown");
	if (streq(s, "running") || streq(s, "paused")) {
		human_duration(now - api_time_unix(json_object_get_string(json_object_object_get(st, "StartedAt"))), d,
			       sizeof(d));
		const char *h = json_object_get_string(json_object_object_get(json_object_object_get(st, "Health"),
									       "Status"));
		_cleanup_free_ char *health = !h || !*h ? xstrdup("")
					      : streq(h, "starting") ? xstrdup(" (health: starting)")
								     : xasprintf(" (%s)", h);
		return xasprintf("Up %s%s%s", d, streq(s, "paused") ? " (Paused)" : "", health);
	}
	if (streq(s, "exited") || streq(s, "restarting")) {
		human_duration(now - api_time_unix(json_object_get_string(json_object_object_get(st, "FinishedAt"))), d,
			       sizeof(d));
		int code = json_object_get_int(json_object_object_get(st, "ExitCode"));
		return xasprintf("%s (%d) %s ago", streq(s, "exited") ? "Exited" : "Restarting", code, d);
	}
	return xasprintf("%c%s", s[0] >= 'a' && s[0] <= 'z' ? s[0] - 32 : s[0], s + 1);
}

/* ---- routing ---- */

/* Match pattern against path; {x} one segment, {x*} one or more (greedy,
 * leaving what the rest of the pattern needs). */
static bool match(const char *pat, const char *path, struct api_req *r)
{
	while (*pat && *path) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			if (!close)
				return false;
			bool many = close[-1] == '*';
			const char *rest = close + 1;
			const char *end;
			if (many) {
				/* the longest prefix whose remainder matches the rest */
				size_t rl = strlen(rest), pl = strlen(path);
				if (pl <= rl || (rl && strcmp(path + pl - rl, rest) != 0 && !strchr(rest, '{')))
					return false;
				end = path + pl - rl;
			} else {
				end = path + strcspn(path, "/");
			}
			if (end == path || r->n_params >= API_PARAMS_MAX)
				return false;
			r->param_name[r->n_params] = NULL;
			r->param[r->n_params] = strndup(path, (size_t)(end - path));
			r->n_params++;
			path = end;
			pat = rest;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++, path++;
	}
	return !*pat && !*path;
}

static void params_clear(struct api_req *r)
{
	for (size_t i = 0; i < r->n_params; i++)
		free(r->param[i]);
	r->n_params = 0;
}

/* the names of the captures, in order, from the pattern */
static void name_params(const char *pat, struct api_req *r)
{
	static __thread char names[API_PARAMS_MAX][32];
	size_t i = 0;
	for (const char *p = strchr(pat, '{'); p && i < r->n_params; p = strchr(p + 1, '{'), i++) {
		size_t n = strcspn(p + 1, "*}");
		snprintf(names[i], sizeof(names[i]), "%.*s", (int)n, p + 1);
		r->param_name[i] = names[i];
	}
}

/* "/v1.41/containers/json" → version 141, "/containers/json" */
static int strip_version(const char *url, const char **path, unsigned *version, char *vbuf, size_t vlen)
{
	unsigned maj, min;
	int n = 0;
	*path = url;
	*version = 100 + (unsigned)atoi(API_VERSION_MAX + 2);
	if (url[0] == '/' && url[1] == 'v' && sscanf(url + 2, "%u.%u%n", &maj, &min, &n) == 2 && n > 0 &&
	    (url[2 + n] == '/' || !url[2 + n])) {
		snprintf(vbuf, vlen, "%u.%u", maj, min);
		*version = maj * 100 + min;
		*path = url[2 + n] ? url + 2 + n : "/";
		return 1;
	}
	return 0;
}

/* The route of a request, for what it needs before the body comes. */
static const struct api_route *route_of(const char *method, const char *url)
{
	const char *path;
	unsigned version;
	char vbuf[32];
	strip_version(url, &path, &version, vbuf, sizeof(vbuf));
	_cleanup_free_ char *p = xstrdup(path);
	size_t pl = strlen(p);
	if (pl > 1 && p[pl - 1] == '/')
		p[pl - 1] = 0;
	struct api_req r = { 0 };
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct api_route *rt = tables[t]; rt->method; rt++) {
			bool m = match(rt->pattern, p, &r);
			params_clear(&r);
			if (m && streq(rt->method, method))
				return rt;
		}
	return NULL;
}

static void spool_fail(struct req_ctx *x, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void spool_fail(struct req_ctx *x, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	x->fail = status;
	x->fd = safe_close(x->fd);	/* the space back at once; the rest of the body is read and dropped */
}

/* One piece of an API_BODY_FILE body, to its unlinked file in <root>/tmp. */
static void spool(struct cell_engine *e, struct MHD_Connection *conn, struct req_ctx *x, const char *data, size_t n)
{
	if (x->fail)
		return;
	_cleanup_free_ char *dir = xasprintf("%s/tmp", e->root);
	if (x->fd < 0) {
		cell_error *err = NULL;
		if (mkdir_p(dir, 0700, &err) < 0) {
			spool_fail(x, 500, "cannot keep the request body: %s", err->msg);
			cell_error_free(&err);
			return;
		}
		x->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (x->fd < 0) {
			spool_fail(x, 500, "cannot make a file for the request body in %s: %s", dir, strerror(errno));
			return;
		}
	}
	if (x->flen + n > API_UPLOAD_MAX)
		return spool_fail(x, 413, "request body over the %llu GiB an archive may have", API_UPLOAD_MAX >> 30);
	for (size_t off = 0; off < n;) {
		ssize_t k = write(x->fd, data + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == ENOSPC || errno == EDQUOT))
			return spool_fail(x, 507, "no space left in %s for the request body (%llu bytes kept; free some "
					  "space: cell system prune)", dir, x->flen + off);
		if (k <= 0)
			return spool_fail(x, 500, "write the request body to %s: %s", dir, strerror(k < 0 ? errno : EIO));
		off += (size_t)k;
	}
	x->flen += n;
}

/* A body announced larger than the limit or the free space is refused
 * before it comes (the reply goes at once; MHD then closes the connection). */
static bool body_fits(struct cell_engine *e, struct MHD_Connection *conn, struct req_ctx *x)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (!cl)
		return true;	/* chunked: spool() checks as it comes */
	unsigned long long want = strtoull(cl, NULL, 10);
	_cleanup_free_ char *dir = xasprintf("%s/tmp", e->root);
	struct statvfs sv;
	if (want > API_UPLOAD_MAX)
		spool_fail(x, 413, "request body of %llu bytes: over the %llu GiB an archive may have", want,
			   API_UPLOAD_MAX >> 30);
	else if ((statvfs(dir, &sv) == 0 || statvfs(e->root, &sv) == 0) &&
		 want > (unsigned long long)sv.f_bavail * sv.f_frsize)
		spool_fail(x, 507, "request body of %llu bytes: %s has %llu bytes free (free some space: cell "
			   "system prune)", want, dir, (unsigned long long)sv.f_bavail * sv.f_frsize);
	return x->fail == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct cell_engine *e = cls;
	struct req_ctx *x = *con_cls;
	if (!x) {
		x = xcalloc(1, sizeof(struct req_ctx));
		x->fd = -1;
		const struct api_route *rt = route_of(method, url);
		x->to_file = rt && (rt->flags & API_BODY_FILE);
		*con_cls = x;
		atomic_store(&last_activity, (long long)time(NULL));
		if (x->to_file && !body_fits(e, conn, x)) {
			struct api_req r = { .conn = conn, .method = method, .engine = e, .body = "", .body_fd = -1 };
			api_error(&r, x->fail, "%s", x->why);
			x->replied_early = true;
		}
		return MHD_YES;
	}
	if (*upload_size && x->to_file) {
		spool(e, conn, x, upload, *upload_size);
		*upload_size = 0;
		atomic_store(&last_activity, (long long)time(NULL));
		return MHD_YES;
	}
	if (*upload_size) {
		if (!x->too_big) {
			if (x->len + *upload_size > API_BODY_MAX) {
				x->too_big = true;
				free(x->body);
				x->body = NULL;
				x->len = x->cap = 0;
			} else {
				if (x->len + *upload_size + 1 > x->cap) {
					size_t cap = x->cap ? x->cap : 4096;
					while (cap < x->len + *upload_size + 1)
						cap *= 2;
					char *b = xcalloc(1, cap);
					if (x->len)
						memcpy(b, x->body, x->len);
					free(x->body);
					x->body = b;
					x->cap = cap;
				}
				memcpy(x->body + x->len, upload, *upload_size);
				x->len += *upload_size;
				x->body[x->len] = 0;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}

	struct api_req r = { .conn = conn, .method = method, .engine = e, .body = x->body ? x->body : "",
			     .body_len = x->len, .body_fd = -1 };
	char vbuf[32];
	if (x->fail) {
		if (!x->replied_early)
			api_error(&r, x->fail, "%s", x->why);
		return MHD_YES;
	}
	if (x->fd >= 0 && lseek(x->fd, 0, SEEK_SET) == 0) {
		r.body_fd = x->fd;
		r.body_file_len = x->flen;
	}
	if (x->too_big) {
		api_error(&r, 413, "request body over %u MiB", API_BODY_MAX >> 20);
		return MHD_YES;
	}
	if (strip_version(url, &r.path, &r.version, vbuf, sizeof(vbuf))) {
		if (r.version > 100 + (unsigned)atoi(API_VERSION_MAX + 2)) {
			api_error(&r, 400, "client version %s is too new. Maximum supported API version is %s", vbuf,
				  API_VERSION_MAX);
			return MHD_YES;
		}
		if (r.version < 100 + (unsigned)atoi(API_VERSION_MIN + 2)) {
			api_error(&r, 400, "client version %s is too old. Minimum supported API version is %s, "
				  "please upgrade your client to a newer version", vbuf, API_VERSION_MIN);
			return MHD_YES;
		}
	}
	/* a trailing slash is the same path */
	_cleanup_free_ char *path = xstrdup(r.path);
	size_t pl = strlen(path);
	if (pl > 1 && path[pl - 1] == '/')
		path[pl - 1] = 0;
	r.path = path;

	bool path_known = false;
	for (size_t t = 0; t < ARRAY_SIZE(tables) && !r.replied; t++)
		for (const struct api_route *rt = tables[t]; rt->method && !r.replied; rt++) {
			if (!match(rt->pattern, path, &r)) {
				params_clear(&r);
				continue;
			}
			path_known = true;
			if (!streq(rt->method, method) && !(streq(method, "HEAD") && streq(rt->method, "GET") &&
							    strstr(rt->pattern, "_ping"))) {
				params_clear(&r);
				continue;
			}
			name_params(rt->pattern, &r);
			rt->fn(&r);
			if (!r.replied)
				api_error(&r, 500, "%s %s: the handler gave no answer", method, path);
		}
	params_clear(&r);
	if (!r.replied) {
		if (path_known)
			api_error(&r, 405, "%s is not allowed on %s", method, path);
		else
			api_error(&r, 404, "page not found");
	}
	cell_log(CELL_LOG_DEBUG, "api: %s %s", method, url);
	return MHD_YES;
}

/* ---- listening ---- */

static bool loopback_host(const char *h)
{
	if (streq(h, "localhost") || streq(h, "::1") || streq(h, "[::1]"))
		return true;
	struct in_addr a;
	return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int listen_unix(const char *path, const char *group, cell_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return cell_error_set(err, "socket path `%s` is too long (at most %zu bytes)", path,
				      sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir_p(dir, 0755, err) < 0)
			return -1;
	}
	/* a socket nobody answers on is a leftover of a killed service */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return cell_error_set(err, "`%s`: another service answers on it already (stop it, or give "
					      "another socket)", path);
		}
		close(probe);
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cell_error_set(err, "`%s` exists and is not a socket: not replacing it", path);
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_error_errno(err, errno, "create a unix socket");
	mode_t old = umask(0117);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0) {
		int en = errno;
		close(fd);
		return cell_error_errno(err, en, "bind `%s`", path);
	}
	if (group) {
		struct group *g = getgrnam(group);
		if (!g || chown(path, 0, g->gr_gid) < 0)
			cell_warn("socket `%s`: group `%s` %s: root only", path, group, g ? strerror(errno) : "unknown");
	}
	chmod(path, 0660);
	if (listen(fd, 128) < 0) {
		int en = errno;
		close(fd);
		unlink(path);
		return cell_error_errno(err, en, "listen on `%s`", path);
	}
	return fd;
}

static int listen_tcp(const char *hostport, bool allow_remote, cell_error **err)
{
	_cleanup_free_ char *h = xstrdup(hostport);
	char *colon = strrchr(h, ':');
	if (!colon || !colon[1])
		return cell_error_set(err, "tcp://%s: expected tcp://HOST:PORT", hostport);
	*colon = 0;
	const char *port = colon + 1;
	char *host = h;
	if (*host == '[') {
		host++;
		char *rb = strchr(host, ']');
		if (rb)
			*rb = 0;
	}
	if (!*host)
		host = "127.0.0.1";
	if (!loopback_host(host)) {
		if (!allow_remote)
			return cell_error_set(err, "tcp://%s: not a loopback address; the API is root on this host, "
					      "so another host is refused unless --allow-remote", hostport);
		cell_warn("serving the API on %s: anyone who reaches it is root on this host", hostport);
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return cell_error_set(err, "tcp://%s: %s", hostport, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int en = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return cell_error_errno(err, en, "listen on tcp://%s", hostport);
	}
	freeaddrinfo(ai);
	return fd;
}

static atomic_int stop_requested;
static void on_stop_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, 1);
}

int api_serve(struct cell_engine *e, const struct api_server_opts *o, cell_error **err)
{
	if (cell_dl_mhd(err) < 0)
		return -1;
	const char *uri = o->uri ? o->uri : "unix:///run/cell/cell.sock";
	const char *unix_path = NULL;
	int fd = o->listen_fd;
	if (fd < 0) {
		if (strncmp(uri, "unix://", 7) == 0) {
			unix_path = uri + 7;
			if (*unix_path != '/')
				return cell_error_set(err, "`%s`: a unix socket needs an absolute path (unix:///run/x.sock)",
						      uri);
			fd = listen_unix(unix_path, o->group, err);
		} else if (strncmp(uri, "tcp://", 6) == 0) {
			fd = listen_tcp(uri + 6, o->allow_remote, err);
		} else {
			return cell_error_set(err, "`%s`: expected unix:///PATH or tcp://HOST:PORT", uri);
		}
		if (fd < 0)
			return -1;
	}
	/* SIGTERM/SIGINT/SIGHUP end the service. Handled, not blocked: a blocked
	 * mask would be inherited by every monitor and container we fork */
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&last_activity, (long long)time(NULL));

	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, handle, e, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED,
		req_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, NULL, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
	if (!d) {
		close(fd);
		if (unix_path)
			unlink(unix_path);
		return cell_error_set(err, "start the HTTP server (libmicrohttpd) on `%s`", uri);
	}
	cell_log(o->quiet ? CELL_LOG_DEBUG : CELL_LOG_INFO, "API listening on %s", o->listen_fd >= 0 ? "the socket passed (LISTEN_FDS)" : uri);
	while (!atomic_load(&stop_requested)) {
		struct timespec ts = { .tv_nsec = 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (o->idle_seconds > 0 && atomic_load(&active) == 0 &&
		    (long long)time(NULL) - atomic_load(&last_activity) >= o->idle_seconds)
			break;
	}
	MHD_stop_daemon(d);
	close(fd);
	if (unix_path)
		unlink(unix_path);
	return 0;
}
