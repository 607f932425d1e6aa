/* cell-pause: the process 1 of a pod sandbox, in the manner of Kubernetes'
 * pause container.
 *
 *   cell-pause [-v]
 *
 * A pod's sandbox holds the namespaces (network, IPC, UTS) that the pod's
 * containers join by path; its only job is to stay alive, cheaply, until it
 * is told to stop. As process 1 of its pid namespace it also inherits every
 * orphan there (when the pod shares one pid namespace) and must reap them, or
 * they stay zombies until the pod goes. So it:
 *
 *   - blocks SIGINT, SIGTERM and SIGCHLD and takes them with sigwaitinfo()
 *     (no handlers, no races with pause());
 *   - exits 0 on SIGINT or SIGTERM (the kernel ignores signals without a
 *     handler for a process 1, so a blocked-and-waited signal is the way to
 *     see them);
 *   - reaps every child on SIGCHLD.
 *
 * Linked statically against libc alone so that the sandbox image is this one
 * file. `-v` prints the version and exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	sigset_t set;
	siginfo_t si;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("cell-pause 1");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "cell-pause: unknown argument '%s' (only -v is known)\n", argv[1]);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		fprintf(stderr, "cell-pause: block SIGINT, SIGTERM, SIGCHLD: %s\n", strerror(errno));
		return 1;
	}
	/* a child may have exited before SIGCHLD was blocked */
	reap_all();
	for (;;) {
		if (sigwaitinfo(&set, &si) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "cell-pause: wait for signals: %s\n", strerror(errno));
			return 1;
		}
		if (si.si_signo == SIGCHLD)
			reap_all();
		else
			return 0;
	}
}
