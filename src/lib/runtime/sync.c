#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "util.h"

struct sync_hdr {
	uint32_t type;
	int32_t errnum;
};

#define SYNC_MAX 8192

const char *sync_msg_name(int type)
{
	static const char *names[] = {
		[SYNC_GO] = "GO", [SYNC_JOINED] = "JOINED", [SYNC_HOOKS] = "HOOKS", [SYNC_HOOKS_DONE] = "HOOKS_DONE",
		[SYNC_PTY] = "PTY", [SYNC_SECCOMP] = "SECCOMP", [SYNC_FD_DONE] = "FD_DONE",
		[SYNC_READY] = "READY", [SYNC_ERROR] = "ERROR",
	};
	if (type > 0 && type <= SYNC_ERROR)
		return names[type];
	return "unknown";
}

int sync_send(int sock, int type, int errnum, const char *payload, int fd)
{
	struct sync_hdr h = { (uint32_t)type, errnum };
	size_t plen = payload ? strnlen(payload, SYNC_MAX - sizeof(h) - 1) : 0;
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, plen } };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int sync_send_error(int sock, const cell_error *e)
{
	return sync_send(sock, SYNC_ERROR, e ? e->errnum : 0, e && e->msg ? e->msg : "unknown error", -1);
}

int sync_expect(int sock, int want, const char *stage, int *ret_fd, char **ret_payload,
		cell_error **err)
{
	char buf[SYNC_MAX];
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			      .msg_controllen = sizeof(u.b) };
	struct sync_hdr h;
	ssize_t n;
	int fd = -1;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cell_error_errno(err, errno, "read from the container init during %s", stage);
	if (n == 0)
		return cell_error_set(err, "the container init exited during %s", stage);
	if ((size_t)n < sizeof(h))
		return cell_error_set(err, "short message from the container init during %s", stage);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	memcpy(&h, buf, sizeof(h));
	buf[n] = '\0';
	const char *payload = buf + sizeof(h);
	if (h.type == SYNC_ERROR) {
		safe_close(fd);
		return cell_error_from_text(err, h.errnum, payload);
	}
	if ((int)h.type != want) {
		safe_close(fd);
		return cell_error_set(err, "protocol error during %s: expected %s, got %s", stage,
				      sync_msg_name(want), sync_msg_name((int)h.type));
	}
	if (ret_fd)
		*ret_fd = fd;
	else
		safe_close(fd);
	if (ret_payload)
		*ret_payload = xstrdup(payload);
	return 0;
}
