/* cell-monitor: the one process a running container keeps (podman's conmon,
 * smaller). A static executable that links libc, json-c (for the log lines)
 * and nothing else, so that it costs well under 1 MiB of memory; the heavy
 * one-off work (create + start, network, recording the exit, --rm) is done by
 * short-lived `cell monitor-step` children. The sequence is drawn in
 * src/lib/engine/monitor-proto.h.
 *
 * What it does while the container runs:
 *   - subreaper: the init, once the step that created it exits, is
 *     reparented here and reaped here (its wait status is the exit code);
 *   - holds the container's stdout/stderr pipes (or the pty master) and its
 *     stdin pipe (with -i), writes the output to ctr.log as JSON lines
 *     (rotated to ctr.log.1 past --log-max), and fans it out to the
 *     clients of attach.sock, whose keystrokes, window sizes and signals it
 *     passes on;
 *   - with a healthcheck (--health INTERVAL,START_PERIOD,START_INTERVAL in
 *     ms), runs `cell monitor-step health ID` on its timer, one at a time,
 *     the next one an interval after the last ended (the start interval
 *     during the start period); the step does the check and keeps the
 *     result, so that nothing here grows with the number of checks;
 *   - on exit, runs the `exited` step, then stops, or restarts the
 *     container after a backoff (Docker's: 100 ms doubling to 1 min, reset
 *     after 10 s of running); SIGUSR1 (from `cell stop`) ends the backoff
 *     at once, and the launch step then finds the container stopped.
 * Killed, it leaves the container running: `cell ps` reads the runtime's
 * state, `cell rm -f` cleans up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/monitor-proto.h"

#define LOG_MAX_DEFAULT (10 * 1024 * 1024)	/* --log-opt max-size's default */
#define LINE_MAX_LEN (16 * 1024)		/* longer lines are split */
#define MAX_CLIENTS 16
#define DRAIN_MS 2000	/* after the init's exit: a process that escaped may hold the pipes */

struct stream {
	const char *name;
	char type;		/* ATTACH_STDOUT or ATTACH_STDERR */
	int fd;
	size_t len;
	char buf[LINE_MAX_LEN];
};

static struct {
	/* arguments */
	const char *cell, *root, *id;
	bool tty, open_stdin, no_log;
	off_t log_max;
	int report;		/* to the starting CLI, until the first launch reports */

	int dirfd;		/* containers/<id> */
	int lsock;		/* attach.sock */
	int sfd;		/* SIGCHLD */
	int logfd;
	off_t logsize;
	int clients[MAX_CLIENTS];
	size_t n_clients;

	/* the step running, and its channel */
	pid_t step;
	int chan;
	bool said;

	/* the container */
	pid_t init;
	bool exited;
	int ws;
	int64_t drain_until;
	int master;		/* pty master (tty) */
	int in;			/* stdin: pipe write end or the master; -1 without -i */
	struct stream out, err;
	char inbuf[ATTACH_MSG_MAX];
	size_t inlen;

	/* healthcheck: ms; health_at the next check (0: none due) */
	int64_t h_interval, h_start_period, h_start_interval, health_at;
	pid_t health;

	/* restart */
	int64_t backoff, started, relaunch_at;
	int last_code;

	/* children reaped before their pid was known */
	struct { pid_t pid; int ws; } stash[8];
} m = {
	.report = -1, .dirfd = -1, .lsock = -1, .sfd = -1, .logfd = -1, .chan = -1, .master = -1, .in = -1,
	.out = { .name = "stdout", .type = ATTACH_STDOUT, .fd = -1 },
	.err = { .name = "stderr", .type = ATTACH_STDERR, .fd = -1 },
	.backoff = 100, .log_max = LOG_MAX_DEFAULT,
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int xclose(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- the log ---- */

static void log_open(void)
{
	if (m.no_log)
		return;	/* --log-driver none */
	m.logfd = openat(m.dirfd, "ctr.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	m.logsize = m.logfd >= 0 && fstat(m.logfd, &st) == 0 ? st.st_size : 0;
}

/* A `cell logs -f` holds a shared flock on the file it reads: the
 * rotation that would replace ctr.log.1 while a follower still reads it
 * waits for it to move on (FOLLOW_WAIT_MS at most: a stopped follower,
 * `cell logs -f | less`, slows the output, never stops it), so a follower
 * loses no line however fast the container writes. */
#define FOLLOW_WAIT_MS 500

static void follower_wait(void)
{
	int fd = openat(m.dirfd, "ctr.log.1", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < FOLLOW_WAIT_MS * 4 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK; i++) {
		struct timespec ts = { 0, 250 * 1000 };
		nanosleep(&ts, NULL);
	}
	close(fd);	/* the lock, if taken, goes with it */
}

static void log_write(const char *stream, const char *data, size_t len)
{
	if (m.logfd < 0)
		return;
	char *line = cell_log_line(stream, data, len);
	size_t n = strlen(line);
	if (m.logsize + (off_t)n > m.log_max) {
		m.logfd = xclose(m.logfd);
		follower_wait();
		renameat(m.dirfd, "ctr.log", m.dirfd, "ctr.log.1");
		log_open();
	}
	if (m.logfd >= 0 && write(m.logfd, line, n) == (ssize_t)n)
		m.logsize += (off_t)n;
	free(line);
}

/* Whole lines to the log; a full buffer or EOF writes what is there. */
static void stream_flush(struct stream *s, bool all)
{
	size_t start = 0;
	for (size_t i = 0; i < s->len; i++)
		if (s->buf[i] == '\n') {
			log_write(s->name, s->buf + start, i + 1 - start);
			start = i + 1;
		}
	if (all && start < s->len) {
		log_write(s->name, s->buf + start, s->len - start);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

/* ---- attach clients ---- */

/* the client the start was given (--attach-fd: docker run's, cell run's):
 * its reader may be slow (`run IMAGE | slow-consumer`) */
static int first_client = -1;

static void client_drop(size_t i)
{
	if (m.clients[i] == first_client)
		first_client = -1;
	close(m.clients[i]);
	m.clients[i] = m.clients[--m.n_clients];
}

static bool client_send(int fd, const void *msg, size_t len)
{
	/* a slow reader gets a second to catch up, then is dropped; the
	 * first client 60 s, the container's output waiting meanwhile (as
	 * Docker's attached stdout holds the container back) */
	int patience = fd == first_client ? 60 : 1;
	for (int waited = 0; waited <= patience; waited++) {
		if (send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
			return true;
		if (errno != EAGAIN && errno != EINTR)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int r = poll(&p, 1, 1000);
		if (r < 0 && errno != EINTR)
			return false;
		if (r > 0 && (p.revents & (POLLERR | POLLHUP)))
			return false;
	}
	return false;
}

static void clients_send(char type, const void *data, size_t len)
{
	char msg[1 + ATTACH_MSG_MAX];
	msg[0] = type;
	memcpy(msg + 1, data, len);
	for (size_t i = m.n_clients; i-- > 0;)
		if (!client_send(m.clients[i], msg, 1 + len))
			client_drop(i);
}

static void clients_exit(int code)
{
	char msg[1 + sizeof(int32_t)];
	int32_t c = code;
	msg[0] = ATTACH_EXIT;
	memcpy(msg + 1, &c, sizeof(c));
	while (m.n_clients > 0) {
		client_send(m.clients[0], msg, sizeof(msg));
		client_drop(0);
	}
}

static void client_add(int fd)
{
	if (m.n_clients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	m.clients[m.n_clients++] = fd;
}

static void stdin_flush(void)
{
	while (m.inlen > 0 && m.in >= 0) {
		ssize_t n = write(m.in, m.inbuf, m.inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;	/* the rest when poll says it can be written */
		if (n <= 0) {
			/* the container closed its stdin */
			if (m.in != m.master)
				close(m.in);
			m.in = -1;
			m.inlen = 0;
			return;
		}
		memmove(m.inbuf, m.inbuf + n, m.inlen - (size_t)n);
		m.inlen -= (size_t)n;
	}
}

/* One message from client i; false when it went away. */
static bool client_read(size_t i)
{
	char msg[1 + ATTACH_MSG_MAX];
	ssize_t n = recv(m.clients[i], msg, sizeof(msg), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	switch (msg[0]) {
	case ATTACH_STDIN:
		if (m.in >= 0 && m.in != m.master && n == 1) {
			/* an empty message: the end of a `run -i`'s stdin */
			close(m.in);
			m.in = -1;
			m.inlen = 0;
		} else if (m.in >= 0 && n > 1) {
			memcpy(m.inbuf, msg + 1, (size_t)n - 1);
			m.inlen = (size_t)n - 1;
			stdin_flush();
		}
		break;
	case ATTACH_RESIZE:
		if (m.master >= 0 && n == 1 + 2 * sizeof(uint16_t)) {
			uint16_t rc[2];
			memcpy(rc, msg + 1, sizeof(rc));
			struct winsize ws = { .ws_row = rc[0], .ws_col = rc[1] };
			ioctl(m.master, TIOCSWINSZ, &ws);
		}
		break;
	case ATTACH_SIGNAL:
		if (m.init > 0 && !m.exited && n == 1 + sizeof(int32_t)) {
			int32_t sig;
			memcpy(&sig, msg + 1, sizeof(sig));
			if (sig > 0 && sig < 65)
				kill(m.init, sig);
		}
		break;
	}
	return true;
}

/* Read the container's output once: to clients, then whole lines to the log.
 * False at EOF (or EIO: a pty whose other side is gone). */
static bool stream_read(struct stream *s)
{
	if (s->len == sizeof(s->buf))
		stream_flush(s, true);
	size_t room = sizeof(s->buf) - s->len;
	ssize_t n = read(s->fd, s->buf + s->len, room < ATTACH_MSG_MAX ? room : ATTACH_MSG_MAX);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		stream_flush(s, true);
		return false;
	}
	clients_send(s->type, s->buf + s->len, (size_t)n);
	s->len += (size_t)n;
	stream_flush(s, false);
	return true;
}

/* ---- steps ---- */

static void report(int code, const char *msg)
{
	if (m.report < 0)
		return;
	char text[4096];
	int n = code ? snprintf(text, sizeof(text), "%d %s", code, msg) : snprintf(text, sizeof(text), "0");
	if (write(m.report, text, (size_t)n) < 0) {
		/* the CLI is gone: nobody to tell */
	}
	m.report = xclose(m.report);
}

/* fd as number target in a child, without close-on-exec. */
static void move_fd(int fd, int target)
{
	if (fd == target)
		fcntl(fd, F_SETFD, 0);
	else
		dup2(fd, target);
}

/* Run `cell --root R monitor-step STEP ID [ARG]`; for "launch", with the
 * container's new stdio pipes as its own (without a tty). */
static bool spawn_step(const char *step, const char *arg)
{
	int ch[2], o[2] = { -1, -1 }, e[2] = { -1, -1 }, i[2] = { -1, -1 };
	bool launch = strcmp(step, "launch") == 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0)
		return false;
	if (launch && !m.tty &&
	    (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0 || (m.open_stdin && pipe2(i, O_CLOEXEC) < 0)))
		return false;
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* the step dies with us: rm -f kills the monitor to stop a start */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != self)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int fds[4] = { i[0] >= 0 ? i[0] : null, o[1] >= 0 ? o[1] : null, e[1] >= 0 ? e[1] : null, ch[1] };
		/* above 3 first, so that no dup2 overwrites a source */
		for (int k = 0; k < 4; k++)
			if (fds[k] <= 3)
				fds[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, 4);
		for (int k = 0; k < 4; k++)
			move_fd(fds[k], k);
		char *argv[] = { "cell", "--root", (char *)m.root, MONITOR_STEP_CMD, (char *)step, (char *)m.id,
				 (char *)arg, NULL };
		execv(m.cell, argv);
		_exit(127);
	}
	close(ch[1]);
	xclose(o[1]);
	xclose(e[1]);
	xclose(i[0]);
	m.step = pid;
	m.chan = ch[0];
	m.said = false;
	if (launch) {
		m.out.fd = o[0];
		m.err.fd = e[0];
		m.in = i[1];
		if (m.in >= 0)
			fcntl(m.in, F_SETFL, fcntl(m.in, F_GETFL) | O_NONBLOCK);
	}
	return true;
}

/* The next check: an interval after the last one (or the start), the start
 * interval while the start period lasts. */
static void health_schedule(void)
{
	if (m.h_interval <= 0 || m.init <= 0 || m.exited)
		return;
	int64_t now = now_ms();
	m.health_at = now + (now - m.started < m.h_start_period ? m.h_start_interval : m.h_interval);
}

/* `cell --root R monitor-step health ID`, its stdio /dev/null; it checks and
 * records on its own and tells nothing (its channel is closed at once). */
static void spawn_health(void)
{
	int ch[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0)
		return;
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != self)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int c = ch[1] <= 3 ? fcntl(ch[1], F_DUPFD_CLOEXEC, 4) : ch[1];
		for (int k = 0; k < 3; k++)
			dup2(null, k);
		move_fd(c, 3);
		char *argv[] = { "cell", "--root", (char *)m.root, MONITOR_STEP_CMD, "health", (char *)m.id, NULL };
		execv(m.cell, argv);
		_exit(127);
	}
	close(ch[0]);
	close(ch[1]);
	m.health = pid > 0 ? pid : 0;
	if (pid < 0)
		health_schedule();
}

static void finish(int code) __attribute__((noreturn));
static void finish(int code)
{
	clients_exit(code);
	_exit(0);
}

static void failed(int code, const char *msg) __attribute__((noreturn));
static void failed(int code, const char *msg)
{
	log_write("stderr", msg, strlen(msg));
	report(code, msg);
	finish(code);
}

static void took_pid(pid_t pid, int master)
{
	m.init = pid;
	m.exited = false;
	m.started = now_ms();
	health_schedule();
	if (master >= 0) {
		m.master = master;
		fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
		m.out.fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		m.in = m.open_stdin ? master : -1;
	}
	for (size_t i = 0; i < sizeof(m.stash) / sizeof(m.stash[0]); i++)
		if (m.stash[i].pid == pid) {
			m.exited = true;
			m.ws = m.stash[i].ws;
			m.drain_until = now_ms() + DRAIN_MS;
			m.stash[i].pid = 0;
		}
	report(0, NULL);
}

/* A message of the step on the channel. */
static void step_said(char *msg, int fd)
{
	m.said = true;
	char *rest = strchr(msg, ' ');
	int num = rest ? atoi(rest + 1) : 0;
	char *text = rest ? strchr(rest + 1, ' ') : NULL;
	if (strncmp(msg, "pid ", 4) == 0 && num > 0) {
		took_pid(num, fd);
		return;
	}
	xclose(fd);
	if (strncmp(msg, "err ", 4) == 0)
		failed(num ? num : 125, text ? text + 1 : "the container did not start");
	if (strncmp(msg, "stop ", 5) == 0)
		finish(num);
	if (strncmp(msg, "restart ", 8) == 0) {
		/* attach ends with each run, as Docker's */
		clients_exit(num);
		if (now_ms() - m.started > 10000)
			m.backoff = 100;
		m.relaunch_at = now_ms() + m.backoff;
		m.backoff = m.backoff * 2 > 60000 ? 60000 : m.backoff * 2;
		m.last_code = num;
		return;
	}
	failed(125, "cell-monitor: unexpected message from `cell monitor-step`");
}

static void chan_read(void)
{
	char buf[4096];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(m.chan, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		m.chan = xclose(m.chan);
		if (!m.said)
			failed(125, "the `cell monitor-step` process died before it said how the container is "
				    "(killed, or `cell` next to cell-monitor is missing)");
		return;
	}
	buf[n] = 0;
	/* one message per step: its exit is noticed through SIGCHLD */
	m.chan = xclose(m.chan);
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	step_said(buf, fd);
}

static void reap(void)
{
	struct signalfd_siginfo si;
	while (read(m.sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGUSR1 && m.relaunch_at)
			m.relaunch_at = now_ms();	/* `cell stop` during the backoff: ask now */
	int ws;
	pid_t c;
	while ((c = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (c == m.step) {
			m.step = 0;
		} else if (m.health > 0 && c == m.health) {
			m.health = 0;
			health_schedule();
		} else if (m.init > 0 && c == m.init && !m.exited) {
			m.exited = true;
			m.ws = ws;
			m.drain_until = now_ms() + DRAIN_MS;
		} else {
			/* the init before its pid came over the channel, or anything else */
			size_t n = sizeof(m.stash) / sizeof(m.stash[0]), k = 0;
			for (size_t i = 0; i < n; i++)
				if (m.stash[i].pid == 0) {
					k = i;
					break;
				}
			m.stash[k].pid = c;
			m.stash[k].ws = ws;
		}
	}
}

/* The init is gone and its output drained: let `cell` record it. */
static void after_exit(void)
{
	stream_flush(&m.out, true);
	stream_flush(&m.err, true);
	m.out.fd = xclose(m.out.fd);
	m.err.fd = xclose(m.err.fd);
	if (m.in >= 0 && m.in != m.master)
		close(m.in);
	m.in = -1;
	m.inlen = 0;
	m.master = xclose(m.master);
	m.init = 0;
	m.exited = false;
	m.health_at = 0;
	char ws[16];
	snprintf(ws, sizeof(ws), "%d", m.ws);
	if (!spawn_step("exited", ws))
		failed(125, "cell-monitor: cannot run `cell monitor-step exited`");
}

/* ---- setup ---- */

static void attach_listen(void)
{
	/* through /proc/self/fd: the directory's path may be longer than sun_path */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", m.dirfd, ATTACH_SOCK);
	unlinkat(m.dirfd, ATTACH_SOCK, 0);
	m.lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m.lsock >= 0 && (bind(m.lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(m.lsock, 8) < 0))
		m.lsock = xclose(m.lsock);
}

static void usage_exit(void) __attribute__((noreturn));
static void usage_exit(void)
{
	fprintf(stderr, "Usage: cell-monitor --cell PATH --root DIR --id ID [--tty] [--stdin] [--log-max BYTES]\n"
			"                    [--report-fd FD] [--attach-fd FD] [--health INTERVAL,START_PERIOD,START_INTERVAL]\n"
			"                    [--no-log]\n"
			"Started by `cell run -d` and `cell start`; not for direct use.\n");
	exit(2);
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cell", required_argument, NULL, 'c' }, { "root", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "stdin", no_argument, NULL, 's' }, { "log-max", required_argument, NULL, 'l' },
		{ "report-fd", required_argument, NULL, 'R' }, { "attach-fd", required_argument, NULL, 'A' },
		{ "health", required_argument, NULL, 'H' }, { "no-log", no_argument, NULL, 'N' },
		{ 0 },
	};
	int c, attach = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': m.cell = optarg; break;
		case 'r': m.root = optarg; break;
		case 'i': m.id = optarg; break;
		case 't': m.tty = true; break;
		case 's': m.open_stdin = true; break;
		case 'l': m.log_max = atoll(optarg) > 0 ? atoll(optarg) : LOG_MAX_DEFAULT; break;
		case 'R': m.report = atoi(optarg); break;
		case 'A': attach = atoi(optarg); break;
		case 'N': m.no_log = true; break;
		case 'H':
			if (sscanf(optarg, "%" SCNd64 ",%" SCNd64 ",%" SCNd64, &m.h_interval, &m.h_start_period,
				   &m.h_start_interval) != 3)
				usage_exit();
			break;
		default: usage_exit();
		}
	}
	if (!m.cell || !m.root || !m.id || strchr(m.id, '/') || optind != argc)
		usage_exit();
	return attach;
}

static void setup(int attach)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* keep nothing of the caller's but the two fds we were given */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int keep[2] = { m.report, attach };
	for (int k = 0; k < 2; k++)
		if (keep[k] >= 0)
			fcntl(keep[k], F_SETFD, FD_CLOEXEC);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != m.report && fd != attach && fd != null)
			close(fd);
	for (int i = 0; i < 3; i++)
		dup2(null, i);
	close(null);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	umask(022);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (attach >= 0) {
		client_add(attach);
		first_client = attach;
	}
}

int main(int argc, char **argv)
{
	int attach = parse_args(argc, argv);
	setup(attach);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/containers/%s", m.root, m.id);
	m.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (chdir("/") < 0 || m.dirfd < 0) {
		report(125, "cell-monitor: the container's directory is gone");
		return 1;
	}
	log_open();
	attach_listen();
	if (!spawn_step("launch", NULL))
		failed(125, "cell-monitor: cannot run `cell monitor-step launch`");
	for (;;) {
		struct pollfd p[6 + MAX_CLIENTS];
		size_t n = 0;
		p[n++] = (struct pollfd){ .fd = m.sfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = m.lsock, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = m.chan, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = m.out.fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = m.err.fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = m.inlen ? m.in : -1, .events = POLLOUT };
		size_t nc = m.n_clients;
		for (size_t i = 0; i < nc; i++)
			p[n++] = (struct pollfd){ .fd = m.inlen ? -1 : m.clients[i], .events = POLLIN };
		int timeout = -1;
		int64_t now = now_ms();
		if (m.init > 0 && m.exited && !m.step)
			timeout = m.drain_until > now ? (int)(m.drain_until - now) : 0;
		else if (m.relaunch_at)
			timeout = m.relaunch_at > now ? (int)(m.relaunch_at - now) : 0;
		if (m.health_at && !m.health) {
			int h = m.health_at > now ? (int)(m.health_at - now) : 0;
			if (timeout < 0 || h < timeout)
				timeout = h;
		}
		int r = poll(p, n, timeout);
		if (r < 0 && errno != EINTR)
			failed(125, "cell-monitor: poll failed");
		if (r > 0) {
			if (p[2].revents)
				chan_read();
			if (p[0].revents & POLLIN)
				reap();
			if (p[3].revents && !stream_read(&m.out))
				m.out.fd = xclose(m.out.fd);
			if (p[4].revents && !stream_read(&m.err))
				m.err.fd = xclose(m.err.fd);
			if (p[5].revents)
				stdin_flush();
			/* backwards: client_drop moves the last one into the gap; and
			 * no more input while some waits for the container to read */
			for (size_t i = nc; i-- > 0 && !m.inlen;)
				if (p[6 + i].revents && i < m.n_clients && !client_read(i))
					client_drop(i);
			if (p[1].revents & POLLIN) {
				int c = accept4(m.lsock, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0)
					client_add(c);
			}
		}
		now = now_ms();
		if (m.init > 0 && m.exited && !m.step && ((m.out.fd < 0 && m.err.fd < 0) || now >= m.drain_until))
			after_exit();
		if (m.health_at && now >= m.health_at && !m.health && m.init > 0 && !m.exited) {
			m.health_at = 0;
			spawn_health();
		}
		if (m.relaunch_at && now >= m.relaunch_at && !m.step) {
			m.relaunch_at = 0;
			char code[16];
			snprintf(code, sizeof(code), "%d", m.last_code);
			if (!spawn_step("launch", code))
				failed(125, "cell-monitor: cannot run `cell monitor-step launch`");
		}
	}
}
