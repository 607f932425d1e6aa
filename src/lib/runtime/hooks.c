#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int run_hook(const struct cell_hook *h, const char *state_json, const char *cwd, bool must_cwd,
		    cell_error **err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "create a pipe for the hook's stdin");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return cell_error_errno(err, e, "fork the hook");
	}
	if (pid == 0) {
		char *default_args[] = { h->path, NULL };
		char *empty_env[] = { NULL };
		dup2(pipefd[0], 0);
		if (cwd && chdir(cwd) < 0 && must_cwd) {
			fprintf(stderr, "hook `%s`: chdir to the container's root `%s`: %s\n", h->path, cwd,
				strerror(errno));
			_exit(126);
		}
		/* a hook must not inherit a runtime that blocks signals */
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(h->path, h->args && h->args[0] ? h->args : default_args, h->env ? h->env : empty_env);
		fprintf(stderr, "hook `%s`: exec: %s\n", h->path, strerror(errno));
		_exit(127);
	}
	close(pipefd[0]);
	/* the hook may not read its stdin: ignore EPIPE */
	signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(state_json), off = 0;
	while (off < len) {
		ssize_t n = write(pipefd[1], state_json + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	close(pipefd[1]);

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0;
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int r;
		do
			r = poll(&p, 1, h->timeout > 0 ? h->timeout * 1000 : -1);
		while (r < 0 && errno == EINTR);
		close(pidfd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return cell_error_set(err, "`%s`: timed out after %d s and was killed", h->path, h->timeout);
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return cell_error_errno(err, errno, "wait for hook `%s`", h->path);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return cell_error_set(err, "`%s`: exited with status %d%s", h->path, WEXITSTATUS(status),
				      WEXITSTATUS(status) == 127 ? " (not found or not executable?)" : "");
	return cell_error_set(err, "`%s`: killed by signal %d", h->path, WTERMSIG(status));
}

int cell_hooks_run(const struct cell_spec *s, enum cell_hook_kind kind, const char *state_json,
		   cell_error **err)
{
	/* createContainer hooks start in the container's root file system, as
	 * runc's do: GPU hooks and the like bind libraries by relative path.
	 * The runtime's own (prestart, createRuntime, poststart, poststop)
	 * start in the bundle, where runc runs them (it works from there);
	 * a bundle already removed leaves them where we are. startContainer
	 * runs in the container, in process.cwd. */
	bool in_root = kind == CELL_HOOK_CREATE_CONTAINER;
	const char *cwd = in_root ? s->root_path : kind == CELL_HOOK_START_CONTAINER ? NULL : s->bundle;
	for (size_t i = 0; i < s->n_hooks[kind]; i++)
		if (run_hook(&s->hooks[kind][i], state_json, cwd, in_root, err) < 0)
			return cell_error_wrap(err, "hooks.%s[%zu]", cell_hook_kind_name(kind), i);
	return 0;
}
