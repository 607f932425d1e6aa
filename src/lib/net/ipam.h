/* Internal to src/lib/net: IPAM helpers shared by ipam.c and attach.c. */
#ifndef CELL_NET_IPAM_H
#define CELL_NET_IPAM_H

#include "net.h"

/* An error that keeps errnum for callers but whose message already says it
 * all (no ": File exists" tail). Returns -errnum. */
int net_error(cell_error **err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

char *ipam_dir(const char *root);
char *ipam_lease_dir(const char *root, const char *network);
/* Take <root>/networks/.lock (exclusive); returns the fd holding it.
 * Never nest: flock on a second fd of the same file would deadlock. */
int ipam_lock(const char *root, cell_error **err);
/* The default network's bridge for a root: cell0 for /var/lib/cell, else
 * c0-<8 hex of a hash of the root's absolute path>. */
char *net_default_bridge(const char *root);
/* cell_network_load() with the lock already held (creates cell0 on first use);
 * the network's bridge exists afterwards, carrying its owner's alias. */
int ipam_load_locked(const char *root, const char *name, struct cell_network **ret, cell_error **err);
/* Next free address of the network's range, or the requested one if free. */
int ipam_pick_address(const char *root, const struct cell_network *n, const char *requested,
		      struct cell_prefix *ret, cell_error **err);
/* Write a lease; create=true fails with EEXIST if the address is taken. */
int ipam_lease_write(const char *root, const struct cell_lease *l, bool create, cell_error **err);
/* Remove temp files of lease writers that died (kill -9 mid-attach). */
void ipam_sweep_temp(const char *root, const char *network);
int ipam_lease_remove(const char *root, const struct cell_lease *l, cell_error **err);
/* attach.c: undo one lease (veth, nft rules, file). Lock held. The veth of
 * a lease whose process is gone (pid/start_time, no netns_path) is best
 * retired with cell_link_retire_veth(nl, veth, true, err): a delete waits
 * out an RCU grace period, 15-25 ms of every short `run --rm` (bench/net.sh). */
int ipam_release(const char *root, const struct cell_lease *l, cell_error **err);

/* The IPv6 address that goes with a container's IPv4 address ip4 (len =
 * subnet len), read from the addresses of the bridge that holds ip4's
 * subnet; family 0 when that network has no IPv6. */
int net_ip6_of(const struct cell_prefix *ip4, struct cell_prefix *ret, cell_error **err);

/* ports.c */
const char *net_proto_name(int proto);
/* Bind the host port once to see that it is free; 0 picks a free one. */
int net_probe_port(struct cell_port *p, cell_error **err);
/* Refuse a host port another lease publishes already. */
int net_check_published(const struct cell_lease *all, size_t n, const struct cell_port *p, cell_error **err);
/* ipam.c: the same through the root's host port index (one lease read,
 * not every lease); under ipam_lock. */
int ipam_check_published(const char *root, const struct cell_port *p, cell_error **err);
/* "tcp:IP:HOSTPORT:PORT,..." as stored in leases (IPv6 as [IP]); one entry
 * parsed back (0.0.0.0 gives host_ip ""), -1 if malformed. */
int net_port_entry_parse(const char *entry, struct cell_port *ret);
char *net_ports_str(const struct cell_port *ports, size_t n);

/* The leases of one container, every network: one lease read per network
 * (the .ctr-<id> index), not every lease of the root. */
int ipam_container_leases(const char *root, const char *id, struct cell_lease **ret, size_t *ret_n,
			  cell_error **err);
/* hosts.c: rewrite the hosts file a lease carries (its container and
 * --add-host only; net may be NULL). */
int net_write_hosts(const struct cell_network *net, const struct cell_lease *l, cell_error **err);
/* dns.c: start the network's resolver unless it runs (lock held); its
 * failure is no reason to fail the attach, so the caller may ignore it. */
int net_dns_ensure(const char *root, const struct cell_network *n, cell_error **err);

#endif
