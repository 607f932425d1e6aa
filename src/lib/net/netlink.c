/* Netlink plumbing: sockets (in this or another netns), acked requests with
 * the kernel's own errno and extended-ack text, and dumps. See nl.h. */
#define _GNU_SOURCE
#include "nl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

static int nl_setup(struct nl *nl, struct mnl_socket *sock, cell_error **err)
{
	int one = 1;

	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(sock);
		return cell_error_errno(err, e, "bind rtnetlink socket");
	}
	/* ask for the kernel's text next to the errno; older kernels ignore it */
	(void)setsockopt(mnl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (uint32_t)time(NULL);
	nl->buf = xmalloc(MNL_SOCKET_BUFFER_SIZE);
	return 0;
}

int nl_open(struct nl *nl, cell_error **err)
{
	memset(nl, 0, sizeof(*nl));
	struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sock)
		return cell_error_errno(err, errno, "open rtnetlink socket");
	return nl_setup(nl, sock, err);
}

struct ns_thread {
	int nsfd;
	struct mnl_socket *sock;
	int err;	/* errno of the failed step */
	const char *step;
};

static void *ns_thread_main(void *arg)
{
	struct ns_thread *t = arg;

	/* only this thread changes namespace; it exits right after */
	if (setns(t->nsfd, CLONE_NEWNET) < 0) {
		t->err = errno;
		t->step = "setns";
		return NULL;
	}
	t->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!t->sock) {
		t->err = errno;
		t->step = "open rtnetlink socket";
	}
	return NULL;
}

int nl_open_in_netns(struct nl *nl, int nsfd, cell_error **err)
{
	struct ns_thread t = { .nsfd = nsfd };
	pthread_t th;
	int r;

	memset(nl, 0, sizeof(*nl));
	r = pthread_create(&th, NULL, ns_thread_main, &t);
	if (r != 0)
		return cell_error_errno(err, r, "start thread to enter network namespace");
	pthread_join(th, NULL);
	if (!t.sock)
		return cell_error_errno(err, t.err, "%s into network namespace (fd %d)", t.step, nsfd);
	return nl_setup(nl, t.sock, err);
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

void nl_closep(struct nl *nl)
{
	nl_close(nl);
}

struct nlmsghdr *nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* The kernel's extended-ack message, if the error carries one. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return NULL;
	mnl_attr_for_each_payload((const void *)((const char *)e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

struct run_state {
	mnl_cb_t cb;
	void *data;
	int kerr;		/* errno from NLMSG_ERROR, 0 if none */
	char kmsg[256];		/* extended ack text */
};

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run_state *st = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *m;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		st->kerr = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;	/* the ack */
	st->kerr = -e->error;
	m = extack_msg(nlh);
	if (m)
		snprintf(st->kmsg, sizeof(st->kmsg), "%s", m);
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run_state *st = data;
	return st->cb ? st->cb(nlh, st->data) : MNL_CB_OK;
}

/* The kernel's errno with a hint that fits links and addresses; core's
 * generic hints (ENODEV: "module not loaded?") would mislead here. */
static int kernel_error(cell_error **err, int e, const char *what, const char *kmsg)
{
	const char *hint = NULL;
	char msg[512];

	switch (e) {
	case ENODEV: hint = "no such interface"; break;
	case EPERM: hint = "needs CAP_NET_ADMIN in the network namespace"; break;
	case EOPNOTSUPP: hint = "the kernel lacks this link type or option"; break;
	case ENETUNREACH: hint = "the gateway is not in a subnet of the interface"; break;
	case EADDRNOTAVAIL: hint = "no such address on the interface"; break;
	}
	snprintf(msg, sizeof(msg), "%s: %s%s%s%s%s%s", what, strerror(e),
		 kmsg && *kmsg ? " (kernel: " : "", kmsg && *kmsg ? kmsg : "", kmsg && *kmsg ? ")" : "",
		 hint ? "; " : "", hint ? hint : "");
	return cell_error_from_text(err, e, msg);
}

/* Whether buf holds the end of the dump with sequence number seq. */
static bool dump_ends_in(const void *buf, ssize_t n, uint32_t seq)
{
	int len = (int)n;
	for (const struct nlmsghdr *h = buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
		if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* A dump the kernel interrupted (NLM_F_DUMP_INTR: the table changed while
 * it was read, e.g. another container's address added) still sends its
 * remaining parts: read them up to the end, so the socket is clean for the
 * caller's retry. */
static void drain_dump(struct nl *nl, ssize_t n, uint32_t seq)
{
	while (n > 0 && !dump_ends_in(nl->buf, n, seq))
		n = mnl_socket_recvfrom(nl->sock, nl->buf, MNL_SOCKET_BUFFER_SIZE);
}

int nl_request_cb(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		  const char *what, cell_error **err)
{
	struct run_state st = { .cb = cb, .data = data };
	/* with a control array, libmnl ignores its defaults: fill every slot */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb, [NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb, [NLMSG_OVERRUN] = noop_cb,
	};
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return cell_error_errno(err, errno, "%s: send netlink request", what);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0)
			return cell_error_errno(err, errno, "%s: receive netlink reply", what);
		r = mnl_cb_run2(nl->buf, n, seq, nl->portid, data_cb, &st, ctl, ARRAY_SIZE(ctl));
		if (r == MNL_CB_OK)
			continue;
		if (r == MNL_CB_STOP)
			return 0;
		if (st.kerr)
			return kernel_error(err, st.kerr, what, st.kmsg);
		if (errno == EINTR && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) {
			drain_dump(nl, n, seq);
			return cell_error_errno(err, EINTR, "%s: the dump was interrupted by a concurrent change", what);
		}
		return cell_error_errno(err, errno ? errno : EIO, "%s: bad netlink reply", what);
	}
}

int nl_request(struct nl *nl, struct nlmsghdr *nlh, const char *what, cell_error **err)
{
	return nl_request_cb(nl, nlh, NULL, NULL, what, err);
}

int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, void (*reset)(void *data),
	    const char *what, cell_error **err)
{
	nlh->nlmsg_flags |= NLM_F_DUMP;
	nlh->nlmsg_flags &= ~NLM_F_ACK;
	for (int tries = 0;; tries++) {
		if (nl_request_cb(nl, nlh, cb, data, what, err) == 0)
			return 0;
		if (cell_error_code(*err) != EINTR || tries == 10)
			return -1;
		cell_error_free(err);
		reset(data);
		nlh->nlmsg_seq++;	/* the drained parts carry the old one */
	}
}
