/* `cell attach`, and the runs that go through a monitor while the CLI stays
 * attached (`run -t` in the foreground, `start -a`): the client side of the
 * monitor's attach socket (containers/<id>/attach.sock, messages in
 * monitor-proto.h).
 *
 * The client relays our stdin (keystrokes, in raw mode on a terminal) and
 * window size to the monitor, and the container's output back to our
 * stdout and stderr, until the monitor sends the exit status or the detach
 * keys are typed. As in Docker, the detach keys are looked for on a tty
 * only (a pipe's bytes go through untouched), and signals are passed on
 * (--sig-proxy) only without one (a tty sends Ctrl-C itself). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "health.h"
#include "monitor-proto.h"
#include "util.h"

int cell_detach_keys_parse(const char *s, unsigned char *ret, size_t *ret_len, cell_error **err)
{
	size_t n = 0;
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == CELL_DETACH_KEYS_MAX)
			return cell_error_set(err, "invalid --detach-keys `%s`: at most %d keys", s, CELL_DETACH_KEYS_MAX);
		if (strncasecmp(tok, "ctrl-", 5) == 0 && strlen(tok) == 6) {
			/* Docker's: ctrl-a … ctrl-z, ctrl-@, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_ */
			static const char punct[] = "@[\\]^_";
			static const unsigned char code[] = { 0, 27, 28, 29, 30, 31 };
			char c = (char)tolower((unsigned char)tok[5]);
			const char *p = strchr(punct, c);
			if (c >= 'a' && c <= 'z')
				ret[n++] = (unsigned char)(c - 'a' + 1);
			else if (c && p)
				ret[n++] = code[p - punct];
			else
				return cell_error_set(err, "invalid --detach-keys `%s`: `%s` is not ctrl-a…z, @, [, \\, ], ^ or _",
						      s, tok);
		} else if (strlen(tok) == 1) {
			ret[n++] = (unsigned char)tok[0];
		} else {
			return cell_error_set(err, "invalid --detach-keys `%s`: `%s` is neither one character nor ctrl-KEY "
						   "(Docker's syntax: \"ctrl-p,ctrl-q\")", s, tok);
		}
	}
	if (n == 0)
		return cell_error_set(err, "invalid --detach-keys `%s`: no key (Docker's syntax: \"ctrl-p,ctrl-q\")", s);
	*ret_len = n;
	return 0;
}

/* ---- the relay ---- */

struct relay {
	int sock;
	bool tty;		/* the container has one */
	bool send_stdin;
	bool sig_proxy;
	bool stdin_once;
	unsigned char keys[CELL_DETACH_KEYS_MAX];
	size_t n_keys, matched;	/* how much of the detach keys was typed last */
	bool term;		/* our stdin is a terminal in raw mode */
	struct termios saved;
};

static bool send_msg(int sock, char type, const void *data, size_t len)
{
	char msg[1 + ATTACH_MSG_MAX];
	msg[0] = type;
	memcpy(msg + 1, data, len);
	while (send(sock, msg, 1 + len, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void send_winsize(struct relay *r)
{
	struct winsize ws;
	if (!r->tty || (ioctl(0, TIOCGWINSZ, &ws) < 0 && ioctl(1, TIOCGWINSZ, &ws) < 0))
		return;
	uint16_t rc[2] = { ws.ws_row, ws.ws_col };
	send_msg(r->sock, ATTACH_RESIZE, rc, sizeof(rc));
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Our stdin once; false at its end. Sets *detached when the keys were typed. */
static bool stdin_read(struct relay *r, bool *detached)
{
	unsigned char in[ATTACH_MSG_MAX / 2], out[ATTACH_MSG_MAX];
	ssize_t n = read(0, in, sizeof(in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n == 0 && r->stdin_once && !r->tty)
		send_msg(r->sock, ATTACH_STDIN, in, 0);	/* EOF: the monitor closes the pipe */
	if (n <= 0)
		return false;
	size_t k = 0;
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = in[i];
		if (!r->tty || r->n_keys == 0) {
			out[k++] = c;
			continue;
		}
		if (c == r->keys[r->matched]) {
			if (++r->matched == r->n_keys) {
				*detached = true;
				break;
			}
			continue;	/* held back until we know */
		}
		/* not the sequence after all: what was held goes through */
		memcpy(out + k, r->keys, r->matched);
		k += r->matched;
		r->matched = 0;
		if (c == r->keys[0])
			r->matched = 1;
		else
			out[k++] = c;
	}
	if (k > 0 && !send_msg(r->sock, ATTACH_STDIN, out, k))
		return false;
	return true;
}

/* Relay until the exit status comes (1), the detach keys (0), or the
 * monitor goes away without a word (-1). */
static int relay_run(struct relay *r, int *ret_status)
{
	sigset_t mask, old;
	sigemptyset(&mask);
	if (r->tty)
		sigaddset(&mask, SIGWINCH);
	static const int proxied[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	if (!r->tty && r->sig_proxy)
		for (size_t i = 0; i < ARRAY_SIZE(proxied); i++)
			sigaddset(&mask, proxied[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);

	r->term = r->tty && r->send_stdin && tcgetattr(0, &r->saved) == 0;
	if (r->term) {
		struct termios raw = r->saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	send_winsize(r);
	bool in_open = r->send_stdin, out_ok = true, detached = false;
	int result = -1;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = r->sock, .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					send_winsize(r);
				} else {
					int32_t sig = (int32_t)si.ssi_signo;
					send_msg(r->sock, ATTACH_SIGNAL, &sig, sizeof(sig));
				}
			}
		}
		if (p[0].revents) {
			char msg[1 + ATTACH_MSG_MAX];
			ssize_t n = recv(r->sock, msg, sizeof(msg), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;	/* the monitor is gone */
			if ((msg[0] == ATTACH_STDOUT || msg[0] == ATTACH_STDERR) && out_ok)
				out_ok = write_all(msg[0] == ATTACH_STDOUT ? 1 : 2, msg + 1, (size_t)n - 1);
			if (msg[0] == ATTACH_EXIT && n == 1 + sizeof(int32_t)) {
				int32_t code;
				memcpy(&code, msg + 1, sizeof(code));
				*ret_status = code;
				result = 1;
				break;
			}
		}
		if (p[1].revents && !stdin_read(r, &detached))
			in_open = false;
		if (detached) {
			result = 0;
			break;
		}
	}
	if (r->term)
		tcsetattr(0, TCSANOW, &r->saved);
	safe_close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, old_pipe);
	return result;
}

static int relay_init(struct cell_engine *e, json_object *rec, const struct cell_attach_opts *o, struct relay *r,
		      cell_error **err)
{
	json_object *cfg = json_object_object_get(rec, "Config");
	r->tty = json_object_get_boolean(json_object_object_get(cfg, "Tty"));
	r->send_stdin = !o->no_stdin && json_object_get_boolean(json_object_object_get(cfg, "OpenStdin"));
	r->sig_proxy = o->sig_proxy;
	r->stdin_once = o->stdin_once;
	const char *keys = o->detach_keys ? o->detach_keys : CELL_DETACH_KEYS_DEFAULT;
	return cell_detach_keys_parse(keys, r->keys, &r->n_keys, err);
}

/* The monitor left without the exit status (killed: by `rm -f`, which then
 * removes the container, or alone): what the record says, once settled. */
static int status_after_loss(struct cell_engine *e, const char *id, int *ret_status, cell_error **err)
{
	_cleanup_free_ char *dir = cell_ctr_dir(e, id);
	for (int i = 0; i < 40; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (access(dir, F_OK) < 0 || cell_ctr_load(e, id, &rec, &x) < 0) {
			cell_error_free(&x);
			*ret_status = 128 + SIGKILL;	/* removed with `rm -f` */
			return 0;
		}
		const char *s = cell_ctr_status(rec);
		bool live = streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
		json_object *st = json_object_object_get(rec, "State");
		/* an exit nobody recorded (the monitor is gone): killed, as `cell wait` says */
		const char *fin = json_object_get_string(json_object_object_get(st, "FinishedAt"));
		const char *sta = json_object_get_string(json_object_object_get(st, "StartedAt"));
		bool recorded = fin && sta && strcmp(fin, sta) >= 0;
		*ret_status = recorded ? json_object_get_int(json_object_object_get(st, "ExitCode")) : 128 + SIGKILL;
		json_object_put(rec);
		if (!live)
			return 0;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return cell_error_set(err, "container `%.12s`: its monitor went away (killed?); the container still runs", id);
}

static int relay_finish(struct cell_engine *e, const char *id, struct relay *r, int *ret_status, cell_error **err)
{
	int res = relay_run(r, ret_status);
	if (res == 0) {
		*ret_status = 0;	/* detached: Docker's exit status 0, the container runs on */
		return 0;
	}
	if (res < 0)
		return status_after_loss(e, id, ret_status, err);
	return 0;
}

/* ---- public ---- */

static int connect_attach(struct cell_engine *e, const char *id, cell_error **err)
{
	_cleanup_free_ char *dir = cell_ctr_dir(e, id);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open the directory of container `%.12s`", id);
	/* through /proc/self/fd: the directory's path may be longer than sun_path */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, ATTACH_SOCK);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_error_errno(err, errno, "create a socket to attach");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int x = errno;
		close(fd);
		if (x == ENOENT || x == ECONNREFUSED)
			return cell_error_set(err, "container `%.12s` has no monitor to attach to (it runs in the "
						   "foreground of a `cell run`, or its monitor was killed)", id);
		return cell_error_errno(err, x, "connect to the monitor of container `%.12s`", id);
	}
	return fd;
}

int cell_ctr_attach(struct cell_engine *e, const char *id, const struct cell_attach_opts *o, int *ret_status,
		    cell_error **err)
{
	json_object *rec = NULL;
	*ret_status = 125;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	const char *s = cell_ctr_status(rec);
	struct relay r = { .sock = -1 };
	int ret = -1;
	if (!streq(s, "running"))
		cell_error_set(err, "container `%.12s` is %s: cannot attach to it%s", id, s,
			       streq(s, "paused") ? " (unpause it first)" : " (`cell start -a` starts and attaches)");
	else if (relay_init(e, rec, o, &r, err) == 0 && (r.sock = connect_attach(e, id, err)) >= 0)
		ret = relay_finish(e, id, &r, ret_status, err);
	json_object_put(rec);
	safe_close(r.sock);
	return ret;
}

int cell_ctr_start_attached(struct cell_engine *e, const char *id, const struct cell_attach_opts *o,
			    int *ret_status, cell_error **err)
{
	json_object *rec = NULL;
	*ret_status = 125;
	if (engine_record_read(e, id, &rec, err) < 0)
		return -1;
	struct relay r = { .sock = -1 };
	int ret = relay_init(e, rec, o, &r, err);
	json_object_put(rec);
	if (ret < 0)
		return -1;
	/* the monitor takes the other end as its first client before it
	 * starts the container: nothing the container says is missed */
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return cell_error_errno(err, errno, "create the attach socket pair");
	r.sock = sp[0];
	ret = engine_ctr_start(e, id, sp[1], err);
	close(sp[1]);
	if (ret < 0)
		*ret_status = cell_ctr_exit_code(*err);
	else
		ret = relay_finish(e, id, &r, ret_status, err);
	close(r.sock);
	return ret;
}

int cell_ctr_start_fd(struct cell_engine *e, const char *id, int attach_fd, cell_error **err)
{
	return engine_ctr_start(e, id, attach_fd, err);
}

bool engine_run_monitored(struct cell_engine *e, const char *id, int *ret_status, int *ret, cell_error **err)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (engine_record_read(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return false;	/* the caller says what is wrong */
	}
	json_object *cfg = json_object_object_get(rec, "Config");
	bool tty = json_object_get_boolean(json_object_object_get(cfg, "Tty"));
	bool in = json_object_get_boolean(json_object_object_get(cfg, "OpenStdin"));
	/* a healthcheck needs the monitor's timer: such a run is monitored too */
	int64_t health, sp, si;
	engine_health_timing(rec, &health, &sp, &si);
	json_object_put(rec);
	if (!tty && health <= 0)
		return false;
	struct cell_attach_opts o = { .detach_keys = e->detach_keys, .sig_proxy = !tty, .no_stdin = !tty && !in,
				   .stdin_once = !tty };
	*ret = cell_ctr_start_attached(e, id, &o, ret_status, err);
	return true;
}
