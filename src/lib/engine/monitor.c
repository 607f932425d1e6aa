/* The per-container monitor, what `cell run -d` and `cell start` leave
 * behind (podman's conmon, smaller):
 *
 *   cell start ──fork──► child ──setsid, fork──► monitor (child exits)
 *        │                                          │ subreaper, "cell-monitor"
 *        │                                          │ stdout/stderr pipes → 1, 2
 *        │                                          │ cell_rt_create + cell_rt_start
 *        ◄────────── "0" or "<code> <error>" ───────┤ on the report pipe
 *     exits                                         │ pipes → ctr.log (JSON lines)
 *                                                   │ init exits: OOM?, runtime delete,
 *                                                   │ exit code in the record
 *                                                   └ restart policy (backoff) or --rm
 *
 * The monitor holds no lock while the container runs; it takes the
 * container's lock only to change the record. Killed, it leaves the
 * container running: `ps` then reads the runtime state, `rm -f` cleans up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "json.h"
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

static void report(int *fd, int code, const char *msg)
{
	if (*fd < 0)
		return;
	char *text = code ? xasprintf("%d %s", code, msg ? msg : "") : xstrdup("0");
	ssize_t r = write(*fd, text, strlen(text));
	(void)r;
	free(text);
	close(*fd);
	*fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mark_detached(struct cell_engine *e, const char *id);

/* Launch with stdout/stderr on pipes; ret_out/ret_err the read ends. */
static int launch(struct cell_engine *e, const char *id, bool tty, pid_t *pid, int *ret_out, int *ret_err,
		  cell_error **err)
{
	if (tty) {
		int master = -1;
		if (engine_launch_tty(e, id, pid, &master, err) < 0)
			return -1;
		*ret_out = master;
		*ret_err = -1;
		return 0;
	}
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

static int set_restarting(json_object *rec, void *data, cell_error **err)
{
	json_object *st = json_object_object_get(rec, "State");
	json_object_object_add(st, "Status", json_object_new_string("restarting"));
	json_object_object_add(st, "Restarting", json_object_new_boolean(true));
	json_object_object_add(st, "MonitorPid", json_object_new_int(getpid()));
	json_object_object_add(st, "MonitorStart", json_object_new_int64((int64_t)proc_start_time(getpid())));
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
	json_object_object_add(st, "MonitorPid", json_object_new_int(getpid()));
	json_object_object_add(st, "MonitorStart", json_object_new_int64((int64_t)proc_start_time(getpid())));
	return 0;
}

static void mark_detached(struct cell_engine *e, const char *id)
{
	cell_error *x = NULL;
	if (cell_ctr_update(e, id, set_detached, NULL, &x) < 0)
		cell_error_free(&x);
}

static void setup_process(int *report_fd)
{
	prctl(PR_SET_NAME, "cell-monitor", 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* our stdio must not keep the caller's pipes open ($(cell run -d ...)) */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*report_fd <= 2) {
		int n = fcntl(*report_fd, F_DUPFD_CLOEXEC, 3);
		close(*report_fd);
		*report_fd = n;
	}
	for (int i = 0; i < 3; i++)
		dup2(null, i);
	close(null);
	/* everything else inherited from the CLI goes, except the report pipe */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != *report_fd)
			close(fd);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	umask(022);
}

int engine_launch_piped(struct cell_engine *e, const char *id, pid_t *ret_pid, int *ret_out, int *ret_err,
			cell_error **err)
{
	return launch(e, id, false, ret_pid, ret_out, ret_err, err);
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

void engine_monitor_main(struct cell_engine *e, const char *id, int report_fd)
{
	setup_process(&report_fd);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	mark_detached(e, id);
	struct logw w;
	logw_init(&w, e, id);
	int64_t backoff = 100;
	for (;;) {
		struct policy pol = { 0 };
		if (read_policy(e, id, &pol) < 0)
			break;	/* removed */
		pid_t pid = 0;
		int out = -1, errfd = -1;
		cell_error *x = NULL;
		if (launch(e, id, pol.tty, &pid, &out, &errfd, &x) < 0) {
			int code = cell_ctr_exit_code(x);
			engine_record_error(e, id, x);
			log_write(&w, "stderr", x->msg, strlen(x->msg));
			report(&report_fd, code, x->msg);
			cell_error_free(&x);
			if (pol.autorm) {
				json_object *rec = NULL;
				if (engine_record_read(e, id, &rec, &x) == 0 && engine_destroy(e, id, rec, &x) < 0)
					cell_error_free(&x);
				cell_error_free(&x);
				json_object_put(rec);
			}
			break;
		}
		if (engine_record_running(e, id, pid, &x) < 0)
			cell_error_free(&x);
		report(&report_fd, 0, NULL);
		int64_t started = now_ms();
		int ws = pump(sfd, pid, out, errfd, &w, false);
		int code = engine_after_exit(e, id, ws, &x);
		if (code < 0) {
			cell_error_free(&x);
			break;	/* removed meanwhile */
		}
		if (read_policy(e, id, &pol) < 0)
			break;
		if (!should_restart(&pol, code)) {
			if (pol.autorm) {
				json_object *rec = NULL;
				_cleanup_close_ int lock = engine_lock(e, id, &x);
				if (engine_record_read(e, id, &rec, &x) == 0 && engine_destroy(e, id, rec, &x) < 0)
					cell_error_free(&x);
				cell_error_free(&x);
				json_object_put(rec);
			}
			break;
		}
		/* Docker: the delay doubles from 100 ms, and resets after 10 s of running */
		if (now_ms() - started > 10000)
			backoff = 100;
		if (cell_ctr_update(e, id, set_restarting, NULL, &x) < 0) {
			cell_error_free(&x);
			break;
		}
		struct timespec ts = { backoff / 1000, (backoff % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		backoff = backoff * 2 > 60000 ? 60000 : backoff * 2;
		if (read_policy(e, id, &pol) < 0 || pol.stopped_by_user) {
			/* stopped during the backoff: record it as exited */
			if (engine_after_exit(e, id, code << 8, &x) < 0)
				cell_error_free(&x);
			break;
		}
	}
	report(&report_fd, 125, "the container's record disappeared before it started");
	if (w.fd >= 0)
		close(w.fd);
	_exit(0);
}
