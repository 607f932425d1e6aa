/* An exec relayed by another program (cell_ctr_exec_spawn, engine.h): the
 * API service runs `docker exec` this way, since its own threads must keep
 * their namespaces and stdio.
 *
 *   caller (a service thread)                  child (a session of its own)
 *   temp dir <runroot>/.exec-XXXXXX
 *   [tty: listen on dir/console]
 *   fork ─────────────────────────────────────► stdio = the fds given
 *                                              cell_ctr_exec (pid file dir/pid,
 *                                              console socket dir/console),
 *           ◄──────────── pty master ───────── which waits for the process
 *   dir/pid appears: running, return           ...
 *   (or the child exits without it:            exit status = the exec's;
 *    its message on the error pipe)            a failure's text on the pipe
 *
 * The child is what the caller waits for: it lives as long as the exec'd
 * process and exits with its status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-internal.h"
#include "util.h"

#define SPAWN_WAIT_MS (60 * 1000)	/* a start stuck longer than this is given up */

static void spawn_child(struct cell_engine *e, const char *id, const struct cell_exec_request *req,
			const struct cell_exec_spawn *s, const char *pid_file, const char *console, int msg_fd)
{
	prctl(PR_SET_NAME, "cell:[exec]");
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the caller's dispositions (a service ignores SIGPIPE) would pass
	 * to the exec'd process: ignored signals survive execve */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	setsid();
	/* our own warnings go where the caller's go, not into the exec's stderr */
	int log_fd = fcntl(2, F_DUPFD_CLOEXEC, 64);
	int fds[3] = { s->in, s->out, s->err };
	for (int i = 0; i < 3; i++) {
		int fd = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 3)
				     : open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
		if (fd < 0 || dup2(fd, i) < 0)
			_exit(125);
		close(fd);
	}
	/* nothing else of the caller's: another exec's pipe held open here
	 * would keep that exec's stdin from ever ending */
	if (dup2(msg_fd, 3) < 0 || (log_fd >= 0 && dup3(log_fd, 4, O_CLOEXEC) < 0))
		_exit(125);
	msg_fd = 3;
	fcntl(msg_fd, F_SETFD, FD_CLOEXEC);
	if (syscall(SYS_close_range, 5, ~0U, 0) < 0)
		for (int fd = 5; fd < 65536; fd++)
			close(fd);
	FILE *log = log_fd >= 0 ? fdopen(4, "w") : NULL;
	if (log) {
		setvbuf(log, NULL, _IONBF, 0);
		stderr = log;
	}
	struct cell_exec_request r = *req;
	r.detach = false;
	r.pid_file = pid_file;
	r.console_socket = console;
	int status = 125;
	cell_error *x = NULL;
	if (cell_ctr_exec(e, id, &r, &status, &x) < 0) {
		const char *m = x ? x->msg : "exec failed";
		if (write(msg_fd, m, strlen(m)) < 0) {
			/* the caller sees the status alone */
		}
		_exit(status ? status : 125);
	}
	_exit(status & 0xff);
}

/* The exec'd process's pid from the pid file; 0 while there is none. */
static pid_t read_pid(const char *path)
{
	char *text = NULL;
	cell_error *x = NULL;
	if (read_file(path, &text, NULL, &x) < 0) {
		cell_error_free(&x);
		return 0;
	}
	pid_t pid = (pid_t)atoi(text);
	free(text);
	return pid > 0 ? pid : 0;
}

static void reap(struct cell_exec_spawn *s)
{
	int ws = 0;
	while (waitpid(s->child, &ws, 0) < 0 && errno == EINTR)
		;
	s->child = -1;
	s->pidfd = safe_close(s->pidfd);
	s->master = safe_close(s->master);
	s->status = WIFEXITED(ws) && WEXITSTATUS(ws) ? WEXITSTATUS(ws) : 125;
}

/* What the child said before it exited without starting the process. */
static int child_failed(struct cell_exec_spawn *s, int msg_fd, const char *id, cell_error **err)
{
	reap(s);
	char msg[4096];
	ssize_t n = read(msg_fd, msg, sizeof(msg) - 1);
	if (n > 0) {
		msg[n] = 0;
		return cell_error_set(err, "%s", msg);
	}
	return cell_error_set(err, "exec in container `%.12s`: the exec process exited with status %d before the "
			      "command ran", id, s->status);
}

int cell_ctr_exec_spawn(struct cell_engine *e, const char *id, const struct cell_exec_request *req,
			struct cell_exec_spawn *s, cell_error **err)
{
	s->child = -1;
	s->pidfd = -1;
	s->master = -1;
	s->pid = 0;
	s->status = 125;
	if (mkdir_p(e->rt_root, 0700, err) < 0)
		return -1;
	/* short: the console socket's path must fit sun_path */
	_cleanup_free_ char *dir = xasprintf("%s/.exec-XXXXXX", e->rt_root);
	if (!mkdtemp(dir))
		return cell_error_errno(err, errno, "exec: make a temporary directory `%s`", dir);
	_cleanup_free_ char *pid_file = xasprintf("%s/pid", dir);
	_cleanup_free_ char *console = xasprintf("%s/console", dir);
	int lfd = -1, msg[2] = { -1, -1 }, r = -1;
	if (req->tty) {
		lfd = engine_console_listen(console, err);
		if (lfd < 0)
			goto out;
		fcntl(lfd, F_SETFL, O_NONBLOCK);
	}
	if (pipe2(msg, O_CLOEXEC) < 0) {
		cell_error_errno(err, errno, "exec: make a pipe");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	s->child = fork();
	if (s->child < 0) {
		cell_error_errno(err, errno, "exec: fork");
		goto out;
	}
	if (s->child == 0) {
		close(msg[0]);
		if (lfd >= 0)
			close(lfd);
		spawn_child(e, id, req, s, pid_file, req->tty ? console : NULL, msg[1]);
	}
	msg[1] = safe_close(msg[1]);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->child, 0);
	if (s->pidfd < 0) {
		cell_error_errno(err, errno, "exec: pidfd_open of the exec process");
		kill(s->child, SIGKILL);
		reap(s);
		goto out;
	}
	/* the pid file is no fd to poll: look often at first, then less */
	for (int waited = 0, step = 1;; waited += step, step = step < 20 ? step * 2 : 20) {
		struct pollfd p[2] = { { .fd = s->pidfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };
		poll(p, 2, step);
		bool exited = p[0].revents & POLLIN;
		if (lfd >= 0 && s->master < 0) {
			cell_error *x = NULL;
			struct pollfd q = { .fd = lfd, .events = POLLIN };
			if (poll(&q, 1, 0) == 1) {
				s->master = engine_console_receive(lfd, &x);
				if (s->master < 0) {
					s->master = -1;
					cell_error_free(&x);
				}
			}
		}
		s->pid = read_pid(pid_file);
		if (s->pid > 0 && (!req->tty || s->master >= 0)) {
			r = 0;
			break;
		}
		if (exited) {
			if (s->pid > 0) {
				/* ran and is done already: there is no pty to give, and
				 * nothing was written that anyone could read */
				r = 0;
				break;
			}
			child_failed(s, msg[0], id, err);
			break;
		}
		if (waited >= SPAWN_WAIT_MS) {
			kill(s->child, SIGKILL);
			reap(s);
			cell_error_set(err, "exec in container `%.12s`: the process did not start within %d s", id,
				       SPAWN_WAIT_MS / 1000);
			break;
		}
	}
out:
	safe_close(lfd);
	safe_close(msg[0]);
	safe_close(msg[1]);
	unlink(pid_file);
	unlink(console);
	rmdir(dir);
	return r;
}
