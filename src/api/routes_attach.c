/* The API's container I/O: attach (hijacked), logs (streamed), resize.
 *
 * Attach talks to the container's cell-monitor (monitor-proto.h): one
 * SOCK_SEQPACKET message per chunk, 'o'/'e' output, 'i' input, 'x' the exit.
 * On the client's side Docker's stream format: raw bytes with a tty, else
 * frames of an 8-byte header [stream, 0, 0, 0, size as big-endian uint32]
 * and the payload (stream 1 stdout, 2 stderr).
 *
 * `docker run` attaches before it starts the container. Such an attach
 * leaves one end of a socket pair here (pending), and the start that
 * follows hands it to the monitor as its first client, so nothing the
 * container writes before the client is connected is lost, as with
 * `cell start -a`. An attach to a running container connects to its
 * attach.sock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "engine/monitor-proto.h"
#include "log.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool lookup(struct api_req *r, char **ret)
{
	cell_error *err = NULL;
	const char *ref = api_param(r, "id");
	if (cell_ctr_lookup(r->engine, ref, ret, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref);
		return false;
	}
	return true;
}

/* ---- attaches waiting for their container's start ---- */

struct pending {
	struct pending *next;
	char id[65];
	int monitor_end;	/* given to the monitor by the start; -1 once taken */
	bool started;		/* the start took it (or failed: see failed) */
	bool failed;
	char *error;		/* the start's failure, for the attached client */
};

static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_cv = PTHREAD_COND_INITIALIZER;
static struct pending *pending_list;

/* Called by the start route: the monitor end of the first attach waiting
 * for id, -1 when none waits. api_attach_started() says how it went. */
int api_attach_take(const char *id)
{
	int fd = -1;
	pthread_mutex_lock(&pending_mu);
	for (struct pending *p = pending_list; p; p = p->next)
		if (streq(p->id, id) && p->monitor_end >= 0 && !p->started) {
			fd = p->monitor_end;
			p->monitor_end = -1;
			break;
		}
	pthread_mutex_unlock(&pending_mu);
	return fd;
}

void api_attach_started(const char *id, int fd, const char *error)
{
	if (fd < 0)
		return;
	close(fd);
	pthread_mutex_lock(&pending_mu);
	for (struct pending *p = pending_list; p; p = p->next)
		if (streq(p->id, id) && p->monitor_end < 0 && !p->started) {
			p->started = true;
			p->failed = error != NULL;
			p->error = error ? xstrdup(error) : NULL;
			break;
		}
	pthread_cond_broadcast(&pending_cv);
	pthread_mutex_unlock(&pending_mu);
}

/* ---- the relay ---- */

struct attach {
	struct cell_engine *engine;
	char id[65];
	bool tty, want_in, want_out, want_err, stdin_once;
	int sock;		/* the monitor's side */
	struct pending *pending;	/* until the start took the other end */
};

static bool send_msg(int sock, char type, const void *data, size_t len)
{
	char msg[1 + ATTACH_MSG_MAX];
	msg[0] = type;
	if (len)
		memcpy(msg + 1, data, len);
	while (send(sock, msg, 1 + len, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

static int connect_monitor(struct cell_engine *e, const char *id)
{
	_cleanup_free_ char *dir = cell_ctr_dir(e, id);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, ATTACH_SOCK);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void relay(struct attach *a, int client, const char *extra, size_t n_extra)
{
	cell_log(CELL_LOG_DEBUG, "api: attach %.12s relaying", a->id);
	bool in_open = a->want_in;
	if (in_open && n_extra > 0) {
		for (size_t off = 0; off < n_extra; off += ATTACH_MSG_MAX) {
			size_t k = n_extra - off < ATTACH_MSG_MAX ? n_extra - off : ATTACH_MSG_MAX;
			send_msg(a->sock, ATTACH_STDIN, extra + off, k);
		}
	}
	bool out_ok = true;
	for (;;) {
		/* a client without stdin half-closes its side at once (docker
		 * run): only its full close (POLLHUP) or a failed send ends us */
		struct pollfd p[2] = {
			{ .fd = a->sock, .events = POLLIN },
			{ .fd = client, .events = in_open ? POLLIN : 0 },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			char msg[1 + ATTACH_MSG_MAX];
			ssize_t n = recv(a->sock, msg, sizeof(msg), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			bool out = msg[0] == ATTACH_STDOUT, err = msg[0] == ATTACH_STDERR;
			if (out_ok && ((out && a->want_out) || (err && a->want_err))) {
				if (a->tty)
					out_ok = api_send_all(client, msg + 1, (size_t)n - 1);
				else
					out_ok = api_send_frame(client, out ? 1 : 2, msg + 1, (size_t)n - 1);
			}
			if (msg[0] == ATTACH_EXIT)
				break;
			if (!out_ok)
				break;	/* the client is gone: the container runs on */
		}
		if (p[1].revents & POLLIN) {
			char buf[ATTACH_MSG_MAX];
			ssize_t n = recv(client, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* the client closed its side: the container's stdin ends
				 * (a pipe; a tty's stays, as Docker's) */
				if (!a->tty && a->stdin_once)
					send_msg(a->sock, ATTACH_STDIN, NULL, 0);
				in_open = false;
				if (n < 0)
					break;
				continue;
			}
			if (!send_msg(a->sock, ATTACH_STDIN, buf, (size_t)n))
				break;
		} else if (p[1].revents & (POLLHUP | POLLERR)) {
			break;	/* the client is gone: the container runs on */
		}
	}
}

/* Wait (a hijacked connection's thread) until the start hands our pair to
 * the monitor, the container goes away, or the client does. */
static bool wait_started(struct attach *a, struct pending *p, int client)
{
	for (;;) {
		pthread_mutex_lock(&pending_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (!p->started)
			pthread_cond_timedwait(&pending_cv, &pending_mu, &until);
		bool started = p->started, taken = p->monitor_end < 0;
		pthread_mutex_unlock(&pending_mu);
		if (started)
			return !p->failed;
		/* only a full close: a client without stdin half-closes its
		 * side at once (POLLRDHUP), and still reads (docker run lost
		 * the output when it half-closed before the start was done) */
		struct pollfd pc = { .fd = client, .events = 0 };
		if (poll(&pc, 1, 0) == 1 && (pc.revents & (POLLHUP | POLLERR)))
			return false;
		/* a start under way holds our pair: its container may have run,
		 * written and been removed (--rm) before the start returns; what
		 * it wrote waits in the pair */
		if (taken)
			continue;
		_cleanup_free_ char *dir = cell_ctr_dir(a->engine, a->id);
		if (access(dir, F_OK) < 0)
			return false;
	}
}

static void pending_drop(struct pending *p)
{
	pthread_mutex_lock(&pending_mu);
	for (struct pending **pp = &pending_list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&pending_mu);
	if (p->monitor_end >= 0)
		close(p->monitor_end);
	free(p->error);
	free(p);
}

static void attach_io(int client, const char *extra, size_t n_extra, void *cls)
{
	struct attach *a = cls;
	if (a->pending) {
		/* not running when asked: the start hands our pair to the monitor */
		bool ok = wait_started(a, a->pending, client);
		if (!ok && a->pending->error && !a->tty)
			api_send_frame(client, 2, a->pending->error, strlen(a->pending->error));
		pending_drop(a->pending);
		a->pending = NULL;
		if (!ok)
			return;
	}
	relay(a, client, extra, n_extra);
}

static void attach_free(void *cls)
{
	struct attach *a = cls;
	if (a->pending)
		pending_drop(a->pending);
	safe_close(a->sock);
	free(a);
}

/* Registered before the 101 goes out: the client may send its start the
 * moment it reads it. */
static int pending_add(struct attach *a)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	struct pending *p = xcalloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", a->id);
	p->monitor_end = sp[1];
	pthread_mutex_lock(&pending_mu);
	p->next = pending_list;
	pending_list = p;
	pthread_mutex_unlock(&pending_mu);
	a->pending = p;
	a->sock = sp[0];
	return 0;
}

static void attach(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	json_object *rec = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_load(r->engine, id, &rec, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 404);
		return;
	}
	json_object *cfg = get(rec, "Config");
	/* a copy: the status is the record's, which goes before its last use */
	const char *st0 = cell_ctr_status(rec);
	_cleanup_free_ char *status = xstrdup(st0 ? st0 : "");
	struct attach *a = xcalloc(1, sizeof(*a));
	a->engine = r->engine;
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->tty = json_object_get_boolean(get(cfg, "Tty"));
	a->stdin_once = json_object_get_boolean(get(cfg, "StdinOnce")) || !a->tty;
	a->want_in = api_query_bool(r, "stdin", false) && json_object_get_boolean(get(cfg, "OpenStdin"));
	a->want_out = api_query_bool(r, "stdout", false);
	a->want_err = api_query_bool(r, "stderr", false);
	a->sock = -1;
	bool running = streq(status, "running") || streq(status, "paused");
	json_object_put(rec);
	if (running) {
		a->sock = connect_monitor(r->engine, id);
		if (a->sock < 0) {
			free(a);
			api_error(r, 409, "container %.12s has no monitor to attach to (it was killed, or the container "
				  "runs in the foreground of a `cell run`)", id);
			return;
		}
	} else if (!streq(status, "created") && !streq(status, "exited")) {
		free(a);
		api_error(r, 409, "cannot attach to a %s container %.12s", status, id);
		return;
	} else if (pending_add(a) < 0) {
		free(a);
		api_error(r, 500, "attach: cannot make a socket pair: %s", strerror(errno));
		return;
	}
	api_hijack(r, a->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
		   attach_io, a, attach_free);
}

/* ---- resize ---- */

static void resize(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	long long h, w;
	if (!api_query_int(r, "h", 0, &h) || !api_query_int(r, "w", 0, &w))
		return;
	if (h <= 0 || w <= 0 || h > 65535 || w > 65535) {
		api_error(r, 400, "resize: h and w must be between 1 and 65535");
		return;
	}
	int fd = connect_monitor(r->engine, id);
	if (fd < 0) {
		api_error(r, 409, "cannot resize container %.12s: it is not running under a monitor", id);
		return;
	}
	uint16_t rc[2] = { (uint16_t)h, (uint16_t)w };
	send_msg(fd, ATTACH_RESIZE, rc, sizeof(rc));
	close(fd);
	api_reply_empty(r, 200);
}

/* ---- logs: the engine's reader in a child, its stdout and stderr framed ---- */

struct logs {
	struct cell_engine *engine;
	char id[65];
	struct cell_logs_opts o;
	char since[64];
	bool tty, want_out, want_err;
	pid_t child;
	int out, err;		/* the child's stdout and stderr */
	int client;		/* the connection, to see it hang up */
	char buf[16384 + 8];
	size_t len, off;
};

static void logs_child(struct logs *l, int out, int err)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(1);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull >= 0)
		dup2(devnull, 0);
	cell_error *x = NULL;
	if (cell_ctr_logs(l->engine, l->id, &l->o, &x) < 0)
		_exit(1);
	fflush(stdout);
	fflush(stderr);
	_exit(0);
}

/* Fill l->buf with the next frame; false at the end. */
static bool logs_next(struct logs *l)
{
	for (;;) {
		if (l->out < 0 && l->err < 0)
			return false;
		struct pollfd p[3] = {
			{ .fd = l->out, .events = POLLIN },
			{ .fd = l->err, .events = POLLIN },
			{ .fd = l->client, .events = POLLRDHUP },
		};
		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			return false;
		if (l->client >= 0 && (p[2].revents & (POLLHUP | POLLERR | POLLRDHUP)))
			return false;
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &l->out : &l->err;
			if (*fd < 0 || !p[i].revents)
				continue;
			ssize_t n = read(*fd, l->buf + 8, sizeof(l->buf) - 8);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				*fd = safe_close(*fd);
				continue;
			}
			bool wanted = i == 0 ? l->want_out : l->want_err;
			if (!wanted)
				continue;
			if (l->tty) {
				memmove(l->buf, l->buf + 8, (size_t)n);
				l->len = (size_t)n;
			} else {
				unsigned char *h = (unsigned char *)l->buf;
				h[0] = (unsigned char)(i + 1);
				h[1] = h[2] = h[3] = 0;
				h[4] = (unsigned char)(n >> 24);
				h[5] = (unsigned char)(n >> 16);
				h[6] = (unsigned char)(n >> 8);
				h[7] = (unsigned char)n;
				l->len = (size_t)n + 8;
			}
			l->off = 0;
			return true;
		}
	}
}

static ssize_t logs_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct logs *l = cls;
	if (l->off >= l->len && !logs_next(l))
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = l->len - l->off < max ? l->len - l->off : max;
	memcpy(buf, l->buf + l->off, n);
	l->off += n;
	return (ssize_t)n;
}

static void logs_free(void *cls)
{
	struct logs *l = cls;
	safe_close(l->out);
	safe_close(l->err);
	if (l->child > 0) {
		kill(l->child, SIGKILL);
		while (waitpid(l->child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(l);
}

/* Docker's since/until: Unix seconds with optional fraction, or RFC 3339 */
static bool time_param(const char *v, char *out, size_t len)
{
	if (!v || !*v || streq(v, "0"))
		return false;
	char *end;
	double t = strtod(v, &end);
	if (*end == 0) {
		time_t s = (time_t)t;
		struct tm tm;
		gmtime_r(&s, &tm);
		long ns = (long)((t - (double)s) * 1e9);
		char b[40];
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out, len, "%s.%09ldZ", b, ns < 0 ? 0 : ns);
		return true;
	}
	snprintf(out, len, "%s", v);
	return true;
}

static void logs(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	json_object *rec = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_load(r->engine, id, &rec, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 404);
		return;
	}
	bool tty = json_object_get_boolean(get(get(rec, "Config"), "Tty"));
	const char *driver = json_object_get_string(get(get(get(rec, "HostConfig"), "LogConfig"), "Type"));
	bool no_log = driver && streq(driver, "none");	/* driver is the record's */
	json_object_put(rec);
	if (no_log) {
		api_error(r, 501, "configured logging driver does not support reading");
		return;
	}
	struct logs *l = xcalloc(1, sizeof(*l));
	l->engine = r->engine;
	snprintf(l->id, sizeof(l->id), "%s", id);
	l->tty = tty;
	l->want_out = api_query_bool(r, "stdout", false);
	l->want_err = api_query_bool(r, "stderr", false);
	if (!l->want_out && !l->want_err) {
		free(l);
		api_error(r, 400, "Bad parameters: you must choose at least one stream");
		return;
	}
	l->o.follow = api_query_bool(r, "follow", false);
	l->o.timestamps = api_query_bool(r, "timestamps", false);
	l->o.tail = -1;
	const char *tail = api_query(r, "tail");
	if (tail && *tail && !streq(tail, "all")) {
		char *end;
		long t = strtol(tail, &end, 10);
		l->o.tail = *end || t < 0 ? -1 : t;
	}
	if (time_param(api_query(r, "since"), l->since, sizeof(l->since)))
		l->o.since = l->since;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	l->client = ci ? ci->connect_fd : -1;
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0) {
		free(l);
		api_error(r, 500, "logs: cannot make a pipe: %s", strerror(errno));
		return;
	}
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		free(l);
		api_error(r, 500, "logs: cannot make a pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	l->child = fork();
	if (l->child == 0)
		logs_child(l, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	l->out = po[0];
	l->err = pe[0];
	if (l->child < 0) {
		l->child = 0;
		logs_free(l);
		api_error(r, 500, "logs: cannot fork: %s", strerror(errno));
		return;
	}
	api_reply_stream(r, 200, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
			 logs_body, l, logs_free);
}

const struct api_route api_routes_attach[] = {
	{ "POST", "/containers/{id}/attach", attach },
	{ "POST", "/containers/{id}/resize", resize },
	{ "GET", "/containers/{id}/logs", logs },
	{ NULL, NULL, NULL },
};
