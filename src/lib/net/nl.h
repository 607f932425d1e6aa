/* Netlink (rtnetlink) plumbing shared by links.c and addr.c: one socket per
 * network namespace, requests that wait for the kernel's ack, and dumps.
 *
 * Namespaces: a netlink socket stays bound to the network namespace it was
 * created in, whatever the creating thread does afterwards. To act inside
 * a container's netns, nl_open_in_netns() starts a short-lived thread that
 * setns()es into the namespace (network namespaces are per thread, so the
 * rest of the process never moves), opens the socket there, and exits.
 * Every later request on that socket targets the container's namespace.
 * This avoids forking a helper (no errors lost across a process boundary)
 * and never leaves the calling thread in the wrong namespace if a step
 * fails.
 *
 * Errors: nl_request() returns the errno the kernel put in NLMSG_ERROR
 * (never a stale errno), with the kernel's extended-ack text when it sends
 * one, as "<what>: <strerror> (kernel: <text>)". */
#ifndef CELL_NET_NL_H
#define CELL_NET_NL_H

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdint.h>

#include "error.h"

struct nl {
	struct mnl_socket *sock;
	uint32_t seq;
	uint32_t portid;
	char *buf;	/* MNL_SOCKET_BUFFER_SIZE-sized receive buffer */
};

/* The public handle of net.h. */
struct cell_nl {
	struct nl nl;
};

/* Socket in the caller's own network namespace. */
int nl_open(struct nl *nl, cell_error **err);
/* Socket in the network namespace of the open nsfd (/proc/PID/ns/net or a
 * /run/netns file). */
int nl_open_in_netns(struct nl *nl, int nsfd, cell_error **err);
void nl_close(struct nl *nl);
void nl_closep(struct nl *nl);
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* Start a request: a header with type, flags (NLM_F_REQUEST | NLM_F_ACK added)
 * and the sequence number set, in buf (MNL_SOCKET_BUFFER_SIZE bytes). */
struct nlmsghdr *nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags);

/* Send a request and wait for its ack. On error *err reads "<what>: <errno>". */
int nl_request(struct nl *nl, struct nlmsghdr *nlh, const char *what, cell_error **err);

/* A request whose reply carries data (a GET): cb sees each message, then the ack. */
int nl_request_cb(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		  const char *what, cell_error **err);

/* Send a dump request and call cb on every reply message. A dump the
 * kernel interrupts (the table changed while it was read) is read again
 * from the start, after reset(data) drops what cb gathered. */
int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, void (*reset)(void *data),
	    const char *what, cell_error **err);

#endif
