#define _GNU_SOURCE
#include "tty.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		off += w;
	}
	return true;
}

int cell_tty_relay(int master, pid_t pid)
{
	struct termios saved, raw;
	bool is_tty = tcgetattr(0, &saved) == 0;
	sigset_t mask, old;
	int status = 0;

	if (is_tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		copy_winsize(master);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	bool in_open = true;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		struct pollfd p[3] = { { .fd = master, .events = POLLIN }, { .fd = in_open ? 0 : -1, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGWINCH)
				copy_winsize(master);
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			if (!pump(master, 1) && !(p[0].revents & POLLIN)) {
				/* the slave side closed: wait for the exit */
				waitpid(pid, &status, 0);
				break;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			if (!pump(0, master))
				in_open = false;
		}
	}
	/* drain what is left */
	struct pollfd p = { .fd = master, .events = POLLIN };
	while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(master, 1))
		;
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (is_tty)
		tcsetattr(0, TCSANOW, &saved);
	return status;
}
