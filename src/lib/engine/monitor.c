/* `cell`'s side of the per-container monitor (the monitor itself is the
 * small static executable src/monitor/monitor.c, cell-monitor):
 *
 *   - engine_monitor_start: fork, setsid, fork, exec cell-monitor, and wait
 *     for its "0" or "<code> <message>" once the container runs or failed;
 *   - cell_monitor_step: what cell-monitor runs `cell monitor-step` for,
 *     each in a short-lived child of the monitor: "launch" (create + start
 *     with the monitor's pipes or a pty, network, record it running) and
 *     "exited" (record the exit and OOM kill, runtime delete, network,
 *     then --rm or the restart policy's verdict);
 *   - the foreground run's pump (without a tty, `cell run` watches its own
 *     container and tees its output to ctr.log).
 *
 * The sequence and the messages are drawn in monitor-proto.h. The monitor
 * holds no lock while the container runs; the steps take the container's
 * lock only to change the record. Killed, the monitor leaves the container
 * running: `ps` then reads the runtime state, `rm -f` cleans up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "health.h"
#include "json.h"
#include "monitor-proto.h"
#include "util.h"

#define LOG_MAX_SIZE (10 * 1024 * 1024)	/* default --log-opt max-size: ctr.log → ctr.log.1 past it */
#define LINE_MAX_LEN (16 * 1024)	/* longer lines are split */

struct logw {
	char *path;
	int fd;
	off_t size, max;
};

struct stream {
	const char *name;
	int fd;
	int tee;		/* a foreground run's own stdout/stderr, or -1 */
	char buf[LINE_MAX_LEN];
	size_t len;
};

static void log_open(struct logw *w)
{
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	w->size = w->fd >= 0 && fstat(w->fd, &st) == 0 ? st.st_size : 0;
}

static void log_write(struct logw *w, const char *stream, const char *data, size_t len)
{
	if (w->fd < 0)
		return;
	char *line = cell_log_line(stream, data, len);
	size_t n = strlen(line);
	if (w->size + (off_t)n > w->max) {
		_cleanup_free_ char *old = xasprintf("%s.1", w->path);
		close(w->fd);
		/* a `cell logs -f` still reading ctr.log.1 (its shared flock): let it
		 * move on first, 500 ms at most (as cell-monitor does) */
		int ofd = open(old, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		for (int i = 0; ofd >= 0 && i < 2000 && flock(ofd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK; i++) {
			struct timespec ts = { 0, 250 * 1000 };
			nanosleep(&ts, NULL);
		}
		safe_close(ofd);
		rename(w->path, old);
		log_open(w);
	}
	if (w->fd >= 0 && write(w->fd, line, n) == (ssize_t)n)
		w->size += (off_t)n;
	free(line);
}

/* Emit whole lines; a full buffer or EOF emits what is there. */
static void stream_flush(struct stream *s, struct logw *w, bool all)
{
	size_t start = 0;
	for (size_t i = 0; i < s->len; i++)
		if (s->buf[i] == '\n') {
			log_write(w, s->name, s->buf + start, i + 1 - start);
			start = i + 1;
		}
	if (all && start < s->len) {
		log_write(w, s->name, s->buf + start, s->len - start);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

/* Read once; false at EOF. */
static bool stream_read(struct stream *s, struct logw *w)
{
	if (s->len == sizeof(s->buf))
		stream_flush(s, w, true);
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		stream_flush(s, w, true);
		return false;
	}
	for (ssize_t off = 0; s->tee >= 0 && off < n;) {
		ssize_t k = write(s->tee, s->buf + s->len + off, (size_t)(n - off));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			s->tee = -1;	/* our reader went away; the log still gets it */
			break;
		}
		off += k;
	}
	s->len += (size_t)n;
	stream_flush(s, w, false);
	return true;
}

static void logw_init(struct logw *w, struct cell_engine *e, const char *id)
{
	*w = (struct logw){ .path = xasprintf("%s/%s/ctr.log", e->ctr_root, id), .fd = -1, .max = LOG_MAX_SIZE };
	json_object *cfg = NULL;
	cell_error *y = NULL;
	if (engine_record_read(e, id, &cfg, &y) == 0) {
		json_object *lc = json_object_object_get(json_object_object_get(cfg, "HostConfig"), "LogConfig");
		int64_t max = json_object_get_int64(json_object_object_get(lc, "MaxSize"));
		if (max > 0)
			w->max = max;
	}
	json_object_put(cfg);
	cell_error_free(&y);
	log_open(w);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the foreground run (no tty): our own pipes, tee to us and ctr.log ---- */

/* Launch with stdout/stderr on pipes; ret_out/ret_err the read ends. */
static int launch_piped(struct cell_engine *e, const char *id, pid_t *pid, int *ret_out, int *ret_err,
			cell_error **err)
{
	int o[2], x[2];
	if (pipe2(o, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "create the stdout pipe");
	if (pipe2(x, O_CLOEXEC) < 0) {
		close(o[0]);
		close(o[1]);
		return cell_error_errno(err, errno, "create the stderr pipe");
	}
	/* the init inherits 0, 1, 2 from us: put the pipes there for the create */
	int save1 = fcntl(1, F_DUPFD_CLOEXEC, 3), save2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(o[1], 1);
	dup2(x[1], 2);
	close(o[1]);
	close(x[1]);
	int r = engine_rt_launch(e, id, NULL, pid, err);
	dup2(save1, 1);
	dup2(save2, 2);
	safe_close(save1);
	safe_close(save2);
	if (r < 0) {
		close(o[0]);
		close(x[0]);
		return -1;
	}
	*ret_out = o[0];
	*ret_err = x[0];
	return 0;
}

/* Pump the container's output into the log until its init exits and the
 * pipes are drained; returns the init's wait status. */
static int pump(int sfd, pid_t pid, int out, int errfd, struct logw *w, bool tee)
{
	struct stream so = { .name = "stdout", .fd = out, .tee = tee ? 1 : -1 },
		      se = { .name = "stderr", .fd = errfd, .tee = tee ? 2 : -1 };
	int ws = 0;
	bool exited = false;
	int64_t deadline = 0;
	/* an exit before SIGCHLD was blocked left no signal: look once */
	int st0;
	if (waitpid(pid, &st0, WNOHANG) == pid) {
		ws = st0;
		exited = true;
		deadline = now_ms() + 2000;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = so.fd, .events = POLLIN },
			{ .fd = se.fd, .events = POLLIN },
		};
		if (exited && so.fd < 0 && se.fd < 0)
			break;
		int timeout = -1;
		if (exited) {
			timeout = (int)(deadline - now_ms());
			if (timeout <= 0)
				break;
		}
		int r = poll(p, 3, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			int st;
			pid_t c;
			while ((c = waitpid(-1, &st, WNOHANG)) > 0)
				if (c == pid) {
					ws = st;
					exited = true;
					/* a process that escaped the pid namespace may hold the pipes */
					deadline = now_ms() + 2000;
				}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && !stream_read(&so, w))
			so.fd = safe_close(so.fd);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR) && !stream_read(&se, w))
			se.fd = safe_close(se.fd);
	}
	safe_close(so.fd);
	safe_close(se.fd);
	return ws;
}

int engine_launch_piped(struct cell_engine *e, const char *id, pid_t *ret_pid, int *ret_out, int *ret_err,
			cell_error **err)
{
	return launch_piped(e, id, ret_pid, ret_out, ret_err, err);
}

int engine_pump_foreground(struct cell_engine *e, const char *id, pid_t pid, int out, int errfd)
{
	/* SIGCHLD through a signalfd; the forwarded signals keep their handlers */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	struct logw w;
	logw_init(&w, e, id);
	signal(SIGPIPE, SIG_IGN);
	int ws = pump(sfd, pid, out, errfd, &w, true);
	safe_close(sfd);
	safe_close(w.fd);
	free(w.path);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ws;
}

/* ---- starting cell-monitor ---- */

/* The directory of our own executable: cell-monitor is installed beside it. */
static char *self_path(cell_error **err)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n < 0)
		return cell_error_errno(err, errno, "readlink /proc/self/exe (to find cell-monitor beside cell)"),
		       NULL;
	buf[n] = 0;
	/* rebuilt or reinstalled while we ran: the new file is the one to run */
	static const char deleted[] = " (deleted)";
	size_t l = strlen(buf), d = sizeof(deleted) - 1;
	if (l > d && streq(buf + l - d, deleted))
		buf[l - d] = 0;
	return xstrdup(buf);
}

struct monitor_args {
	bool tty, open_stdin, no_log;
	int64_t log_max;
	int64_t health_interval, health_start_period, health_start_interval;	/* ms; 0: none */
};

static int monitor_args_of(struct cell_engine *e, const char *id, struct monitor_args *a, cell_error **err)
{
	json_object *rec = NULL;
	if (engine_record_read(e, id, &rec, err) < 0)
		return -1;
	json_object *cfg = json_object_object_get(rec, "Config");
	json_object *lc = json_object_object_get(json_object_object_get(rec, "HostConfig"), "LogConfig");
	a->tty = json_object_get_boolean(json_object_object_get(cfg, "Tty"));
	a->open_stdin = json_object_get_boolean(json_object_object_get(cfg, "OpenStdin"));
	a->log_max = json_object_get_int64(json_object_object_get(lc, "MaxSize"));
	const char *driver = json_object_get_string(json_object_object_get(lc, "Type"));
	a->no_log = driver && streq(driver, "none");
	engine_health_timing(rec, &a->health_interval, &a->health_start_period, &a->health_start_interval);
	json_object_put(rec);
	return 0;
}

/* Read the monitor's verdict: "0", or "<code> <message>". */
static int monitor_verdict(int fd, const char *id, cell_error **err)
{
	char buf[4096];
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n >= sizeof(buf) - 1)
			break;
	}
	buf[n] = 0;
	if (n == 0)
		return cell_error_set(err, "container `%.12s`: the monitor died before the container started", id);
	if (buf[0] == '0' && (buf[1] == 0 || buf[1] == '\n'))
		return 0;
	char *msg = strchr(buf, ' ');
	int code = atoi(buf);
	int errnum = code == 127 ? ENOENT : code == 126 ? EACCES : 0;
	cell_error_from_text(err, errnum, msg ? msg + 1 : buf);
	return -1;
}

int engine_monitor_start(struct cell_engine *e, const char *id, int attach_fd, cell_error **err)
{
	struct monitor_args a = { 0 };
	if (monitor_args_of(e, id, &a, err) < 0)
		return -1;
	_cleanup_free_ char *cell = self_path(err);
	if (!cell)
		return -1;
	_cleanup_free_ char *dir = xstrdup(cell);
	*strrchr(dir, '/') = 0;
	/* installed beside cell; in the build tree, in its own folder */
	static const char *const rel[] = { MONITOR_EXE, "src/monitor/" MONITOR_EXE, "../libexec/cell/" MONITOR_EXE };
	_cleanup_free_ char *monitor = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(rel) && !monitor; i++) {
		char *c = xasprintf("%s/%s", dir, rel[i]);
		if (access(c, X_OK) == 0)
			monitor = c;
		else
			free(c);
	}
	if (!monitor)
		return cell_error_set(err, "no executable `%s` in `%s`: cell-monitor is installed beside cell "
					   "(`make install` puts both in the same directory)", MONITOR_EXE, dir);
	_cleanup_free_ char *root = realpath(e->root, NULL);
	if (!root)
		return cell_error_errno(err, errno, "resolve the engine root `%s`", e->root);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "create a pipe to the monitor");
	_cleanup_free_ char *report = xasprintf("%d", p[1]);
	_cleanup_free_ char *attach = xasprintf("%d", attach_fd);
	_cleanup_free_ char *log_max = xasprintf("%" PRId64, a.log_max);
	_cleanup_free_ char *health = xasprintf("%" PRId64 ",%" PRId64 ",%" PRId64, a.health_interval,
						a.health_start_period, a.health_start_interval);
	char *argv[20];
	size_t n = 0;
	argv[n++] = MONITOR_EXE;
	argv[n++] = "--cell", argv[n++] = cell;
	argv[n++] = "--root", argv[n++] = root;
	argv[n++] = "--id", argv[n++] = (char *)id;
	argv[n++] = "--report-fd", argv[n++] = report;
	if (a.log_max > 0)
		argv[n++] = "--log-max", argv[n++] = log_max;
	if (attach_fd >= 0)
		argv[n++] = "--attach-fd", argv[n++] = attach;
	if (a.tty)
		argv[n++] = "--tty";
	if (a.open_stdin)
		argv[n++] = "--stdin";
	if (a.health_interval > 0)
		argv[n++] = "--health", argv[n++] = health;
	if (a.no_log)
		argv[n++] = "--no-log";
	argv[n] = NULL;
	char owner[96];
	engine_op_owner_env(owner, sizeof(owner));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return cell_error_errno(err, errno, "fork the container monitor");
	}
	if (pid == 0) {
		/* its own session, and not our child: it outlives us */
		setsid();
		pid_t m = fork();
		if (m != 0)
			_exit(m < 0 ? 1 : 0);
		fcntl(p[1], F_SETFD, 0);
		putenv(owner);	/* its steps act for our operation */
		if (attach_fd >= 0)
			fcntl(attach_fd, F_SETFD, 0);
		execv(monitor, argv);
		char msg[512];
		int k = snprintf(msg, sizeof(msg), "125 execute `%s`: %s", monitor, strerror(errno));
		if (write(p[1], msg, (size_t)k) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	int r = monitor_verdict(p[0], id, err);
	close(p[0]);
	return r;
}

void engine_monitor_cancel_restart(struct cell_engine *e, const char *id)
{
	for (int i = 0; i < 500; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (engine_record_read(e, id, &rec, &x) < 0) {
			cell_error_free(&x);
			return;
		}
		json_object *st = json_object_object_get(rec, "State");
		bool restarting = streq(cell_ctr_status(rec), "restarting");
		pid_t mon = json_object_get_int(json_object_object_get(st, "MonitorPid"));
		uint64_t start = (uint64_t)json_object_get_int64(json_object_object_get(st, "MonitorStart"));
		json_object_put(rec);
		if (!restarting || mon <= 0 || !start || proc_start_time(mon) != start)
			return;
		if (i % 100 == 0)
			kill(mon, SIGUSR1);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- the steps cell-monitor runs ---- */

struct policy {
	char name[32];
	int max, count;
	bool stopped_by_user, autorm, tty;
};

static int read_policy(struct cell_engine *e, const char *id, struct policy *p)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (engine_record_read(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return -1;
	}
	json_object *hc = json_object_object_get(rec, "HostConfig");
	json_object *rp = json_object_object_get(hc, "RestartPolicy");
	const char *n = json_object_get_string(json_object_object_get(rp, "Name"));
	snprintf(p->name, sizeof(p->name), "%s", n ? n : "no");
	p->max = json_object_get_int(json_object_object_get(rp, "MaximumRetryCount"));
	p->count = json_object_get_int(json_object_object_get(rec, "RestartCount"));
	p->autorm = json_object_get_boolean(json_object_object_get(hc, "AutoRemove"));
	p->tty = json_object_get_boolean(json_object_object_get(json_object_object_get(rec, "Config"), "Tty"));
	p->stopped_by_user = json_object_get_boolean(
		json_object_object_get(json_object_object_get(rec, "State"), "StoppedByUser"));
	json_object_put(rec);
	return 0;
}

static bool should_restart(const struct policy *p, int code)
{
	if (p->stopped_by_user)
		return false;
	if (streq(p->name, "always") || streq(p->name, "unless-stopped"))
		return true;
	if (streq(p->name, "on-failure"))
		return code != 0 && (p->max == 0 || p->count < p->max);
	return false;
}

static void set_monitor(json_object *st, pid_t monitor)
{
	json_object_object_add(st, "MonitorPid", json_object_new_int(monitor));
	json_object_object_add(st, "MonitorStart", json_object_new_int64((int64_t)proc_start_time(monitor)));
}

static int set_restarting(json_object *rec, void *data, cell_error **err)
{
	json_object *st = json_object_object_get(rec, "State");
	json_object_object_add(st, "Status", json_object_new_string("restarting"));
	json_object_object_add(st, "Restarting", json_object_new_boolean(true));
	set_monitor(st, *(pid_t *)data);
	json_object *rc = json_object_object_get(rec, "RestartCount");
	json_object_object_add(rec, "RestartCount", json_object_new_int(json_object_get_int(rc) + 1));
	return 0;
}

static int set_detached(json_object *rec, void *data, cell_error **err)
{
	/* recorded before the launch, so that rm -f can stop a monitor that is
	 * still starting its container */
	json_object *st = json_object_object_get(rec, "State");
	json_object_object_add(st, "Detached", json_object_new_boolean(true));
	set_monitor(st, *(pid_t *)data);
	return 0;
}

static void remove_now(struct cell_engine *e, const char *id)
{
	cell_error *x = NULL;
	json_object *rec = NULL;
	/* a stop under way ends first; an rm under way does it for us */
	int op = engine_op_take(e, id, "removing", &x);
	if (op < 0) {
		cell_error_free(&x);
		return;
	}
	int lock = engine_lock(e, id, &x);
	int r = lock >= 0 && engine_record_read(e, id, &rec, &x) == 0 ? engine_destroy(e, id, rec, &x) : -1;
	safe_close(lock);
	if (r < 0)
		engine_op_release(e, id, op);	/* after the lock: it takes it again */
	cell_error_free(&x);
	json_object_put(rec);
}

/* One message to the monitor, with an fd (the pty master) or -1. */
static int say(int chan, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(int chan, int fd, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	struct iovec iov = { .iov_base = text, .iov_len = (size_t)n };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(chan, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Create and start (stdio: ours, which the monitor set up); restart_code is
 * NULL the first time, else the last run's exit code. */
static int step_launch(struct cell_engine *e, const char *id, const char *restart_code, int chan)
{
	pid_t monitor = getppid();
	struct policy pol = { 0 };
	cell_error *x = NULL;
	if (read_policy(e, id, &pol) < 0)
		return say(chan, -1, "err 125 the container's record disappeared before it started");
	if (restart_code && pol.stopped_by_user) {
		/* stopped during the backoff: record it as exited */
		int code = atoi(restart_code);
		if (engine_after_exit(e, id, code << 8, &x) < 0)
			cell_error_free(&x);
		return say(chan, -1, "stop %d", code);
	}
	if (cell_ctr_update(e, id, set_detached, &monitor, &x) < 0)
		cell_error_free(&x);
	pid_t pid = 0;
	int master = -1;
	int r = pol.tty ? engine_launch_tty(e, id, &pid, &master, &x) : engine_rt_launch(e, id, NULL, &pid, &x);
	if (r < 0) {
		int code = cell_ctr_exit_code(x);
		engine_record_error(e, id, x);
		/* before the word: the monitor exits on it, and we die with it */
		if (pol.autorm)
			remove_now(e, id);
		r = say(chan, -1, "err %d %s", code, x->msg);
		cell_error_free(&x);
		return r;
	}
	if (engine_record_running_for(e, id, pid, monitor, &x) < 0)
		cell_error_free(&x);
	return say(chan, master, "pid %d", (int)pid);
}

/* The init exited with wait status ws: record it, then --rm, or the restart
 * policy's verdict. */
static int step_exited(struct cell_engine *e, const char *id, const char *ws_text, int chan)
{
	pid_t monitor = getppid();
	int ws = atoi(ws_text);
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	cell_error *x = NULL;
	int c = engine_after_exit(e, id, ws, &x);
	if (c < 0) {
		cell_error_free(&x);
		return say(chan, -1, "stop %d", code);	/* removed meanwhile */
	}
	code = c;
	struct policy pol = { 0 };
	if (read_policy(e, id, &pol) < 0)
		return say(chan, -1, "stop %d", code);
	/* --health-on-failure restart killed it: restarted whatever the policy */
	bool health_restart = engine_health_take_restart(e, id) && !pol.stopped_by_user;
	if (!health_restart && !should_restart(&pol, code)) {
		if (pol.autorm)
			remove_now(e, id);
		return say(chan, -1, "stop %d", code);
	}
	if (cell_ctr_update(e, id, set_restarting, &monitor, &x) < 0) {
		cell_error_free(&x);
		return say(chan, -1, "stop %d", code);
	}
	return say(chan, -1, "restart %d", code);
}

int cell_monitor_step(struct cell_engine *e, const char *step, const char *id, const char *arg, int chan,
		      cell_error **err)
{
	/* the container must not inherit the channel */
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(chan, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
	    fcntl(chan, F_SETFD, FD_CLOEXEC) < 0)
		return cell_error_set(err, "monitor-step: fd %d is not a channel to cell-monitor (only cell-monitor "
					   "runs this command)", chan);
	prctl(PR_SET_NAME, "cell-mon-step", 0, 0, 0);
	int r;
	if (streq(step, "launch"))
		r = step_launch(e, id, arg, chan);
	else if (streq(step, "exited") && arg)
		r = step_exited(e, id, arg, chan);
	else if (streq(step, "health")) {
		/* the monitor's timer: one check; nothing to say, the exit is enough */
		const char *status;
		bool passed;
		return cell_health_run(e, id, &status, &passed, err);
	}
	else
		return cell_error_set(err, "monitor-step: unknown step `%s`", step);
	if (r < 0)
		return cell_error_errno(err, errno, "monitor-step %s: tell the monitor", step);
	return 0;
}
