#define _GNU_SOURCE
#include "tty.h"
#include "sync.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
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

int cell_console_connect(const char *path, cell_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return cell_error_set(err, "--console-socket `%s`: path too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_error_errno(err, errno, "create a socket for --console-socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return cell_error_errno(err, e, "connect to --console-socket `%s`", path);
	}
	return fd;
}

int cell_console_send(int sock, int master, const char *name, cell_error **err)
{
	int r = sync_send(sock, 0, 0, name, master);
	if (r < 0)
		return cell_error_errno(err, -r, "send the pty master to the console socket");
	return 0;
}
