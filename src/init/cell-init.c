/* cell-init: the `cell run --init` process 1, in the manner of tini
 * (Docker's docker-init) and catatonit (podman's).
 *
 *   cell-init [--] CMD [ARG...]
 *
 * A process 1 inherits every orphan of its pid namespace and the kernel
 * drops any signal it has no handler for; a shell or an application that was
 * never written to be an init neither reaps nor dies on SIGTERM. This one:
 *
 *   - spawns CMD as its only direct child, in a process group of its own made
 *     the terminal's foreground group when stdin is a terminal (so that ^C
 *     from an `-it` session reaches CMD and its children, not us);
 *   - forwards every signal it can catch to CMD (not the ones the kernel
 *     raises for a fault of our own: SIGSEGV, SIGBUS, ...);
 *   - reaps every child, orphans included;
 *   - exits as soon as CMD does, with CMD's status, 128 + N when CMD was
 *     killed by signal N (the shell's convention, Docker's exit codes); the
 *     kernel then kills what remains of the namespace;
 *   - when CMD cannot be executed says why and exits 127 (not found) or 126
 *     (found, not executable), Docker's codes for the same failures.
 *
 * Linked statically against libc alone so that it runs in any image. It
 * does no allocation and keeps no state beyond CMD's pid. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "cell-init"

/* The signals a fault raises in the process that caused it: blocking those
 * would hang us on a bug instead of killing us, so they stay as they are. */
static const int synchronous[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

static void usage(void)
{
	fprintf(stderr, "usage: " NAME " [--] COMMAND [ARG...]\n"
		"runs COMMAND as the child of a process 1 that forwards signals and reaps zombies\n");
}

/* In the child, before exec: own process group, foreground on the terminal,
 * our parent's blocked signals unblocked again. */
static void __attribute__((noreturn)) spawn_child(char **argv, const sigset_t *orig)
{
	if (setpgid(0, 0) < 0)
		fprintf(stderr, NAME ": setpgid: %s\n", strerror(errno));
	/* SIGTTOU is still blocked here, so a background group may take the
	 * terminal; ENOTTY/ENXIO just mean there is no terminal */
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO)
		fprintf(stderr, NAME ": make `%s` the terminal's foreground process group: %s\n", argv[0],
			strerror(errno));
	sigprocmask(SIG_SETMASK, orig, NULL);
	execvp(argv[0], argv);
	int e = errno;
	if (e == ENOENT)
		fprintf(stderr, NAME ": exec `%s`: executable file not found in $PATH or no such file\n", argv[0]);
	else
		fprintf(stderr, NAME ": exec `%s`: %s\n", argv[0], strerror(e));
	_exit(e == ENOENT || e == ENOTDIR || e == ELOOP ? 127 : 126);
}

static int status_code(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 1;
}

/* Reap everything that has exited; returns true once `child` is among them. */
static bool reap(pid_t child, int *ret_code)
{
	bool done = false;
	for (;;) {
		int ws;
		pid_t p = waitpid(-1, &ws, WNOHANG);
		if (p <= 0)
			break;	/* 0: others still run; -1 ECHILD: none left */
		if (p == child) {
			*ret_code = status_code(ws);
			done = true;
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (first >= argc) {
		usage();
		return 125;
	}

	/* not process 1 (a shared pid namespace): orphans must still come to us */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);

	sigset_t all, orig;
	sigfillset(&all);
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(&all, synchronous[i]);
	/* blocked before the fork: a signal between fork and the wait loop
	 * stays pending instead of being lost or killing us */
	sigprocmask(SIG_BLOCK, &all, &orig);

	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, NAME ": fork for `%s`: %s\n", argv[first], strerror(errno));
		return 125;
	}
	if (child == 0)
		spawn_child(argv + first, &orig);

	int code = 1;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, NAME ": sigwaitinfo: %s\n", strerror(errno));
			return 125;
		}
		if (sig == SIGCHLD) {
			if (reap(child, &code))
				return code;
			continue;
		}
		/* ESRCH: CMD exited and its SIGCHLD is next in the queue */
		if (kill(child, sig) < 0 && errno != ESRCH)
			fprintf(stderr, NAME ": forward signal %d to %d: %s\n", sig, (int)child, strerror(errno));
	}
}
