/* The API's exec: create, start (hijacked, or detached), resize, inspect.
 *
 *   POST /containers/{id}/exec   → an exec instance here (not yet run): {"Id"}
 *   POST /exec/{id}/start        → cell_ctr_exec_spawn (engine/exec.c): a child
 *                                  of the service runs it; this thread relays
 *                                  its pipes (Docker's 8-byte frames) or its
 *                                  pty master (raw), then records the exit code
 *   POST /exec/{id}/resize       → the pty master's window size
 *   GET  /exec/{id}/json         → dockerd's ContainerExecInspect
 *
 * Exec instances live in this process, as dockerd keeps them in memory: the
 * docker CLI creates, starts and inspects one over three connections. The
 * exit code is recorded before the hijacked connection closes, so the
 * inspect that follows the end of the stream sees it. Finished instances
 * are dropped after EXEC_KEEP_S or when there are too many. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "util.h"

#define EXEC_KEEP_S (30 * 60)	/* a finished exec is inspectable this long */
#define EXEC_MAX 4096		/* instances kept at most (finished ones go first) */

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

struct exec {
	struct exec *next;
	int refs;			/* the list's, and each request's using it */
	char id[65], ctr[65];
	char **cmd, **env;
	char *user, *workdir, *detach_keys;
	bool tty, in, out, err, privileged;
	/* under mu: */
	bool started, running, has_code, dead;
	int code;
	pid_t pid;
	int master;			/* the pty's, while it runs */
	unsigned short rows, cols;	/* a size asked for before the pty was there */
	time_t ended;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct exec *execs;

static void exec_free(struct exec *x)
{
	strv_free(x->cmd);
	strv_free(x->env);
	free(x->user);
	free(x->workdir);
	free(x->detach_keys);
	free(x);
}

static void exec_put(struct exec *x)
{
	pthread_mutex_lock(&mu);
	bool last = --x->refs == 0;
	pthread_mutex_unlock(&mu);
	if (last)
		exec_free(x);
}

/* Drop finished instances past their time (and the oldest finished ones
 * over EXEC_MAX). Under mu. */
static void execs_trim(void)
{
	size_t n = 0;
	for (struct exec *x = execs; x; x = x->next)
		n++;
	time_t now = time(NULL);
	for (struct exec **pp = &execs; *pp;) {
		struct exec *x = *pp;
		bool done = x->has_code && !x->running;
		if (done && (now - x->ended > EXEC_KEEP_S || n > EXEC_MAX)) {
			*pp = x->next;
			n--;
			if (--x->refs == 0)
				exec_free(x);
			continue;
		}
		pp = &x->next;
	}
}

/* The instance named by the path, with a reference; NULL after a 404. */
static struct exec *exec_find(struct api_req *r)
{
	const char *id = api_param(r, "id");
	pthread_mutex_lock(&mu);
	struct exec *found = NULL;
	for (struct exec *x = execs; x && !found; x = x->next)
		if (streq(x->id, id))
			found = x;
	if (found)
		found->refs++;
	pthread_mutex_unlock(&mu);
	if (!found)
		api_error(r, 404, "No such exec instance: %s", id);
	return found;
}

/* ---- create ---- */

static bool opt_str(struct api_req *r, json_object *body, const char *key, char **ret)
{
	json_object *v = get(body, key);
	*ret = NULL;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		api_error(r, 400, "invalid %s: expected a string", key);
		return false;
	}
	if (*json_object_get_string(v))
		*ret = xstrdup(json_object_get_string(v));
	return true;
}

static bool opt_bool(struct api_req *r, json_object *body, const char *key, bool *ret)
{
	json_object *v = get(body, key);
	*ret = false;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		api_error(r, 400, "invalid %s: expected true or false", key);
		return false;
	}
	*ret = json_object_get_boolean(v);
	return true;
}

static bool opt_strv(struct api_req *r, json_object *body, const char *key, char ***ret)
{
	json_object *v = get(body, key);
	*ret = NULL;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_array)) {
		api_error(r, 400, "invalid %s: expected an array of strings", key);
		return false;
	}
	size_t n = json_object_array_length(v);
	char **s = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			strv_free(s);
			api_error(r, 400, "invalid %s: expected an array of strings", key);
			return false;
		}
		s[i] = xstrdup(json_object_get_string(e));
	}
	*ret = s;
	return true;
}

/* ConsoleSize [h, w] (API 1.42) */
static void console_size(json_object *body, unsigned short *rows, unsigned short *cols)
{
	json_object *cs = get(body, "ConsoleSize");
	if (!json_object_is_type(cs, json_type_array) || json_object_array_length(cs) != 2)
		return;
	int h = json_object_get_int(json_object_array_get_idx(cs, 0));
	int w = json_object_get_int(json_object_array_get_idx(cs, 1));
	if (h > 0 && w > 0 && h <= 65535 && w <= 65535) {
		*rows = (unsigned short)h;
		*cols = (unsigned short)w;
	}
}

/* Running (or paused) as dockerd asks it to be for an exec; false after a reply. */
static bool ctr_runs(struct api_req *r, const char *id)
{
	json_object *rec = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_load(r->engine, id, &rec, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 404);
		return false;
	}
	const char *s = cell_ctr_status(rec);
	bool ok = false;
	if (streq(s, "paused"))
		api_error(r, 409, "Container %s is paused, unpause the container before exec", id);
	else if (streq(s, "restarting"))
		api_error(r, 409, "Container %s is restarting, wait until the container is running", id);
	else if (!streq(s, "running"))
		api_error(r, 409, "Container %s is not running", id);
	else
		ok = true;
	json_object_put(rec);
	return ok;
}

static void exec_create(struct api_req *r)
{
	const char *ref = api_param(r, "id");
	_cleanup_free_ char *id = NULL;
	cell_error *err = NULL;
	if (cell_ctr_lookup(r->engine, ref, &id, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref);
		return;
	}
	json_object *body = NULL;
	if (!api_body_json(r, &body))
		return;
	struct exec *x = xcalloc(1, sizeof(*x));
	x->master = -1;
	bool ok = opt_strv(r, body, "Cmd", &x->cmd) && opt_strv(r, body, "Env", &x->env) &&
		  opt_str(r, body, "User", &x->user) && opt_str(r, body, "WorkingDir", &x->workdir) &&
		  opt_str(r, body, "DetachKeys", &x->detach_keys) && opt_bool(r, body, "Tty", &x->tty) &&
		  opt_bool(r, body, "AttachStdin", &x->in) && opt_bool(r, body, "AttachStdout", &x->out) &&
		  opt_bool(r, body, "AttachStderr", &x->err) && opt_bool(r, body, "Privileged", &x->privileged);
	if (ok)
		console_size(body, &x->rows, &x->cols);
	json_object_put(body);
	if (ok && (!x->cmd || !x->cmd[0])) {
		api_error(r, 400, "No exec command specified");
		ok = false;
	}
	if (ok && x->workdir && x->workdir[0] != '/') {
		api_error(r, 400, "invalid WorkingDir `%s`: the working directory must be absolute", x->workdir);
		ok = false;
	}
	if (ok && x->detach_keys) {
		unsigned char keys[CELL_DETACH_KEYS_MAX];
		size_t n;
		if (cell_detach_keys_parse(x->detach_keys, keys, &n, &err) < 0) {
			api_error(r, 400, "Invalid escape keys (%s) provided: %s", x->detach_keys, err->msg);
			cell_error_free(&err);
			ok = false;
		}
	}
	if (!ok || !ctr_runs(r, id)) {
		exec_free(x);
		return;
	}
	_cleanup_free_ char *eid = cell_id_new();
	snprintf(x->id, sizeof(x->id), "%s", eid);
	snprintf(x->ctr, sizeof(x->ctr), "%s", id);
	x->refs = 1;
	pthread_mutex_lock(&mu);
	execs_trim();
	x->next = execs;
	execs = x;
	pthread_mutex_unlock(&mu);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Id", json_object_new_string(x->id));
	api_reply_json(r, 201, o);
}

/* ---- start ---- */

static void set_winsize(int master, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (master >= 0 && rows && cols)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* What one start relays. */
struct run {
	struct exec *x;
	struct cell_engine *engine;
	bool multiplexed;		/* frames, else raw */
	unsigned char keys[CELL_DETACH_KEYS_MAX];
	size_t n_keys, matched;		/* detach keys: how many of them came in a row */
	char pend[32768];		/* input the process has not taken yet */
	size_t plen, poff;
	bool draining;			/* exited: read what is left, no waiting */
	int in, out, err;		/* our ends of the pipes, -1 when closed */
	struct cell_exec_spawn s;
};

static void run_free(void *cls)
{
	struct run *u = cls;
	safe_close(u->in);
	safe_close(u->out);
	safe_close(u->err);
	safe_close(u->s.pidfd);
	exec_put(u->x);
	free(u);
}

/* Record the end: the exit code before the client can ask for it. */
static void finish(struct run *u, int code)
{
	pthread_mutex_lock(&mu);
	u->x->running = false;
	u->x->has_code = true;
	u->x->code = code;
	u->x->master = -1;
	u->x->ended = time(NULL);
	pthread_mutex_unlock(&mu);
}

static int reap(struct run *u)
{
	int ws = 0;
	if (u->s.child <= 0)
		return u->s.status;
	while (waitpid(u->s.child, &ws, 0) < 0 && errno == EINTR)
		;
	u->s.child = -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Fork the exec with pipes (or its pty); false with the reason in *err. */
static bool run_spawn(struct run *u, cell_error **err)
{
	struct exec *x = u->x;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	if (!x->tty && ((x->in && pipe2(pin, O_CLOEXEC) < 0) || (x->out && pipe2(pout, O_CLOEXEC) < 0) ||
			(x->err && pipe2(perr, O_CLOEXEC) < 0))) {
		cell_error_errno(err, errno, "exec: make a pipe");
		for (int i = 0; i < 2; i++) {
			safe_close(pin[i]);
			safe_close(pout[i]);
			safe_close(perr[i]);
		}
		return false;
	}
	struct cell_exec_request req = {
		.args = x->cmd, .env = x->env, .user = x->user, .workdir = x->workdir,
		.tty = x->tty, .interactive = x->in, .privileged = x->privileged,
	};
	pthread_mutex_lock(&mu);
	req.rows = x->rows;
	req.cols = x->cols;
	pthread_mutex_unlock(&mu);
	u->s.in = pin[0];
	u->s.out = pout[1];
	u->s.err = perr[1];
	int rc = cell_ctr_exec_spawn(u->engine, x->ctr, &req, &u->s, err);
	safe_close(pin[0]);
	safe_close(pout[1]);
	safe_close(perr[1]);
	u->in = pin[1];
	u->out = pout[0];
	u->err = perr[0];
	if (rc < 0)
		return false;
	pthread_mutex_lock(&mu);
	x->pid = u->s.pid;
	x->master = u->s.master;
	set_winsize(u->s.master, x->rows, x->cols);
	pthread_mutex_unlock(&mu);
	return true;
}

/* Client input for the process, held in u->pend until the process takes
 * it; false once the detach keys were typed (dockerd's escape proxy: with
 * a tty only). */
static bool input(struct run *u, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (!u->n_keys) {
			u->pend[u->plen++] = (char)c;
			continue;
		}
		if (c == u->keys[u->matched]) {
			if (++u->matched == u->n_keys)
				return false;
			continue;
		}
		/* not the sequence: what was held back goes on */
		memcpy(u->pend + u->plen, u->keys, u->matched);
		u->plen += u->matched;
		u->matched = 0;
		if (c == u->keys[0]) {
			u->matched = 1;
			if (u->n_keys == 1)
				return false;
			continue;
		}
		u->pend[u->plen++] = (char)c;
	}
	return true;
}

/* As much of the held input as the process takes now (a full pipe or tty
 * queue must not stop us reading its output); false when it cannot take
 * any more, ever. */
static bool flush_input(struct run *u, int to)
{
	while (u->poff < u->plen) {
		ssize_t k = write(to, u->pend + u->poff, u->plen - u->poff);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return true;
		if (k <= 0) {
			u->poff = u->plen = 0;
			return false;
		}
		u->poff += (size_t)k;
	}
	u->poff = u->plen = 0;
	return true;
}

/* Output of one of the process's fds to the client; false at its end. */
static bool output(struct run *u, int fd, int stream, int client, bool *client_ok)
{
	char buf[32768];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR || !u->draining;
	if (n <= 0)
		return false;	/* EOF, or EIO: a pty whose slave is closed */
	if (*client_ok)
		*client_ok = u->multiplexed ? api_send_frame(client, stream, buf, (size_t)n)
					    : api_send_all(client, buf, (size_t)n);
	return true;
}

/* Copy both ways until the exec'd process exits; false when the client
 * detached (the process runs on). */
static bool relay(struct run *u, int client, const char *extra, size_t n_extra)
{
	struct exec *x = u->x;
	int out = x->tty ? u->s.master : u->out, err = x->tty ? -1 : u->err;
	int to = x->tty ? u->s.master : u->in;
	bool in_open = x->in && to >= 0, client_ok = true, exited = false;
	for (int fd, i = 0; i < 3; i++)
		if ((fd = i == 0 ? out : i == 1 ? err : to) >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (size_t off = 0; in_open && off < n_extra; off += sizeof(u->pend) / 2) {
		size_t k = n_extra - off < sizeof(u->pend) / 2 ? n_extra - off : sizeof(u->pend) / 2;
		if (!input(u, extra + off, k))
			return false;
		while (u->poff < u->plen) {
			struct pollfd q = { .fd = to, .events = POLLOUT };
			if (poll(&q, 1, 1000) != 1 || !flush_input(u, to))
				u->poff = u->plen = 0;	/* a process that does not read: dropped */
		}
	}
	while (!exited) {
		bool held = u->poff < u->plen;
		struct pollfd p[5] = {
			{ .fd = out, .events = POLLIN },
			{ .fd = err, .events = POLLIN },
			{ .fd = client, .events = in_open && !held ? POLLIN : 0 },
			{ .fd = u->s.pidfd, .events = POLLIN },
			{ .fd = held ? to : -1, .events = POLLOUT },
		};
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		exited = p[3].revents & POLLIN;
		if (p[0].revents && !output(u, out, 1, client, &client_ok))
			out = x->tty ? -1 : (u->out = safe_close(u->out));
		if (p[1].revents && !output(u, err, 2, client, &client_ok))
			err = u->err = safe_close(u->err);
		if (p[4].revents && !flush_input(u, to) && !x->tty) {
			in_open = false;
			to = u->in = safe_close(u->in);
		}
		if (p[2].revents & POLLIN) {
			char buf[sizeof(u->pend) / 2];
			ssize_t n = recv(client, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* the client closed its side: a pipe's stdin ends (a
				 * tty's stays, as with Docker) */
				in_open = false;
				if (!x->tty)
					to = u->in = safe_close(u->in);
			} else if (!input(u, buf, (size_t)n)) {
				return false;
			} else if (!flush_input(u, to) && !x->tty) {
				in_open = false;
				to = u->in = safe_close(u->in);
			}
		} else if (p[2].revents & (POLLHUP | POLLERR)) {
			client_ok = false;
		}
		if (!client_ok && !exited) {
			/* the client is gone: its end goes (a tty hangs up, a pipe's
			 * writer gets EPIPE), then the exit is waited for */
			return true;
		}
	}
	/* what the process wrote before it exited; a background child holding
	 * the pipe does not keep us */
	u->draining = true;
	while (out >= 0 && output(u, out, 1, client, &client_ok))
		;
	while (err >= 0 && output(u, err, 2, client, &client_ok))
		;
	return true;
}

/* Detached with the keys: the process runs on, its output read and
 * dropped (a full pty would stop it) until it exits. */
static void discard(struct run *u, int master)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = u->s.pidfd, .events = POLLIN }, { .fd = master, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[0].revents & POLLIN)
			return;
		char buf[4096];
		if (p[1].revents && read(master, buf, sizeof(buf)) <= 0 && errno != EAGAIN && errno != EINTR)
			master = -1;
	}
}

static void start_io(int client, const char *extra, size_t n_extra, void *cls)
{
	struct run *u = cls;
	cell_error *err = NULL;
	if (!run_spawn(u, &err)) {
		/* dockerd writes the failure into the stream */
		_cleanup_free_ char *m = xasprintf("%s\r\n", err ? err->msg : "exec failed");
		if (u->multiplexed)
			api_send_frame(client, 2, m, strlen(m));
		else
			api_send_all(client, m, strlen(m));
		cell_error_free(&err);
		finish(u, u->s.status);
		return;
	}
	bool attached = relay(u, client, extra, n_extra);
	/* the client's end of things goes first: the process sees EOF or a
	 * hangup if it still reads or writes */
	u->in = safe_close(u->in);
	u->out = safe_close(u->out);
	u->err = safe_close(u->err);
	if (!attached) {
		cell_log(CELL_LOG_DEBUG, "api: exec %.12s detached", u->x->id);
		shutdown(client, SHUT_RDWR);
		discard(u, u->s.master);
	}
	pthread_mutex_lock(&mu);
	u->x->master = -1;
	pthread_mutex_unlock(&mu);
	u->s.master = safe_close(u->s.master);
	finish(u, reap(u));
}

static void *detached_wait(void *cls)
{
	struct run *u = cls;
	if (u->s.master >= 0)
		discard(u, u->s.master);
	pthread_mutex_lock(&mu);
	u->x->master = -1;
	pthread_mutex_unlock(&mu);
	u->s.master = safe_close(u->s.master);
	finish(u, reap(u));
	run_free(u);
	return NULL;
}

static void exec_start(struct api_req *r)
{
	struct exec *x = exec_find(r);
	if (!x)
		return;
	json_object *body = NULL;
	bool detach = false, ok = api_body_json(r, &body) && opt_bool(r, body, "Detach", &detach);
	if (ok && !detach && !api_header(r, "Upgrade")) {
		api_error(r, 400, "exec start hijacks the connection: send `Connection: Upgrade` and `Upgrade: tcp` "
			  "(or Detach: true)");
		ok = false;
	}
	if (!ok) {
		json_object_put(body);
		exec_put(x);
		return;
	}
	pthread_mutex_lock(&mu);
	console_size(body, &x->rows, &x->cols);
	json_object_put(body);
	bool again = x->started;
	bool had_code = x->has_code;
	x->started = true;
	if (!again)
		x->running = true;
	pthread_mutex_unlock(&mu);
	if (again) {
		api_error(r, 409, had_code ? "Error: Exec command %s has already run" : "Error: Exec command %s is already running",
			  x->id);
		exec_put(x);
		return;
	}
	if (!ctr_runs(r, x->ctr)) {
		pthread_mutex_lock(&mu);
		x->running = false;
		x->started = false;
		pthread_mutex_unlock(&mu);
		exec_put(x);
		return;
	}
	struct run *u = xcalloc(1, sizeof(*u));
	u->x = x;
	u->engine = r->engine;
	u->in = u->out = u->err = -1;
	u->s.pidfd = -1;
	u->s.child = -1;
	if (x->tty && x->in) {
		cell_error *err = NULL;
		if (cell_detach_keys_parse(x->detach_keys ? x->detach_keys : CELL_DETACH_KEYS_DEFAULT, u->keys,
					   &u->n_keys, &err) < 0)
			cell_error_free(&err);
	}
	if (detach) {
		/* nothing attached: stdio is /dev/null, the exit code is waited
		 * for by a thread of its own */
		x->in = x->out = x->err = false;
		cell_error *err = NULL;
		if (!run_spawn(u, &err)) {
			finish(u, u->s.status);
			api_error_from(r, &err, 500);
			run_free(u);
			return;
		}
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, detached_wait, u) != 0)
			detached_wait(u);
		pthread_attr_destroy(&a);
		api_reply_empty(r, 200);
		return;
	}
	/* dockerd: raw with a tty; multiplexed without one (named so from 1.42) */
	u->multiplexed = !x->tty;
	api_hijack(r,
		   !x->tty && r->version >= 142 ? "application/vnd.docker.multiplexed-stream"
						: "application/vnd.docker.raw-stream",
		   start_io, u, run_free);
}

/* ---- resize, inspect ---- */

static void exec_resize(struct api_req *r)
{
	struct exec *x = exec_find(r);
	if (!x)
		return;
	long long h, w;
	if (!api_query_int(r, "h", 0, &h) || !api_query_int(r, "w", 0, &w)) {
		exec_put(x);
		return;
	}
	if (h <= 0 || w <= 0 || h > 65535 || w > 65535) {
		exec_put(x);
		api_error(r, 400, "resize: h and w must be between 1 and 65535");
		return;
	}
	pthread_mutex_lock(&mu);
	bool done = x->has_code;
	x->rows = (unsigned short)h;
	x->cols = (unsigned short)w;
	set_winsize(x->master, x->rows, x->cols);
	pthread_mutex_unlock(&mu);
	exec_put(x);
	if (done)
		api_error(r, 409, "exec %s has exited: there is no terminal to resize", api_param(r, "id"));
	else
		api_reply_empty(r, 200);
}

static json_object *strv_json(char **v, size_t from)
{
	json_object *a = json_object_new_array();
	for (size_t i = from; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void exec_inspect(struct api_req *r)
{
	struct exec *x = exec_find(r);
	if (!x)
		return;
	json_object *o = json_object_new_object();
	pthread_mutex_lock(&mu);
	json_object_object_add(o, "CanRemove", json_object_new_boolean(false));
	json_object_object_add(o, "ContainerID", json_object_new_string(x->ctr));
	json_object_object_add(o, "DetachKeys", json_object_new_string(x->detach_keys ? x->detach_keys : ""));
	json_object_object_add(o, "ExitCode", x->has_code ? json_object_new_int(x->code) : NULL);
	json_object_object_add(o, "ID", json_object_new_string(x->id));
	json_object_object_add(o, "OpenStderr", json_object_new_boolean(x->err));
	json_object_object_add(o, "OpenStdin", json_object_new_boolean(x->in));
	json_object_object_add(o, "OpenStdout", json_object_new_boolean(x->out));
	json_object_object_add(o, "Running", json_object_new_boolean(x->running));
	json_object_object_add(o, "Pid", json_object_new_int(x->running ? x->pid : 0));
	json_object *pc = json_object_new_object();
	json_object_object_add(pc, "arguments", strv_json(x->cmd, 1));
	json_object_object_add(pc, "entrypoint", json_object_new_string(x->cmd[0]));
	json_object_object_add(pc, "privileged", json_object_new_boolean(x->privileged));
	json_object_object_add(pc, "tty", json_object_new_boolean(x->tty));
	json_object_object_add(pc, "user", json_object_new_string(x->user ? x->user : ""));
	json_object_object_add(o, "ProcessConfig", pc);
	pthread_mutex_unlock(&mu);
	exec_put(x);
	api_reply_json(r, 200, o);
}

const struct api_route api_routes_exec[] = {
	{ "POST", "/containers/{id}/exec", exec_create },
	{ "POST", "/exec/{id}/start", exec_start },
	{ "POST", "/exec/{id}/resize", exec_resize },
	{ "GET", "/exec/{id}/json", exec_inspect },
	{ NULL, NULL, NULL },
};
