/* What the engine calls: a network's bridge and rules (setup/teardown), a
 * container joined to a network (attach) and taken off again (detach), the
 * `none` and `phys:` modes, and `network inspect`'s JSON. Ports are checked
 * in ports.c, hosts files written by hosts.c.
 *
 * attach, step by step; each step undone if a later one fails:
 *
 *   lock <root>/networks/.lock
 *   network file ──► bridge up with gateway, nft network rules, ip_forward
 *   ports checked (not published by another container, not bound on the host)
 *   address picked ──► lease file (temp + link)                  undo: unlink
 *   veth `cellXXXXXXXX` (host) ↔ `eth0` created in the netns    undo: delete veth
 *   host side: alias cell:<id>, master bridge, hairpin, up
 *   inside (socket opened in the netns): MAC, MTU, lo up, eth0 up,
 *   address, default route via the gateway
 *   nft DNAT rules for the ports (comment cell-ctr:<id>)       undo: delete rules
 *   hosts files of the network's containers rewritten
 *
 * detach finds everything from the container id alone (lease files, the
 * veth name they record, the nft comment), so it works after a crash. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam.h"
#include "net.h"
#include "util.h"

/* ---- network bridge and rules ---- */

static int write_sysctl(const char *path, const char *want, cell_error **err)
{
	_cleanup_free_ char *cur = NULL;
	cell_error *e = NULL;
	if (read_file(path, &cur, NULL, &e) == 0 && strncmp(cur, want, strlen(want)) == 0)
		return 0;
	cell_error_free(&e);
	return write_file(path, want, err);
}

/* A broadcast into a bridge of P ports (an ARP request) is one packet per
 * port into the receiving CPU's backlog, in one softirq: with the default
 * net.core.netdev_max_backlog of 1000 and ~1000 containers, the host's own
 * answer (the ARP reply from the gateway) finds the backlog full and is
 * dropped, so a new container reaches neither the gateway nor the resolver
 * (bench/net-scale.sh at 1,000 peers). Raised, never lowered, to what the
 * bridge's newest port number needs (a port takes the lowest free number,
 * so it is the count); global in the kernel, as ip_forward. Best effort:
 * where /proc/sys is read-only a small network still works. */
static void backlog_for_port(const char *veth)
{
	_cleanup_free_ char *pn = xasprintf("/sys/class/net/%s/brport/port_no", veth);
	_cleanup_free_ char *text = NULL, *cur = NULL;
	const char *bl = "/proc/sys/net/core/netdev_max_backlog";
	cell_error *e = NULL;
	unsigned long port, have;

	if (read_file(pn, &text, NULL, &e) < 0 || read_file(bl, &cur, NULL, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	port = strtoul(text, NULL, 0);
	have = strtoul(cur, NULL, 10);
	unsigned long want = (2 * port + 128 + 1023) / 1024 * 1024;
	if (port == 0 || have >= want)
		return;
	char v[32];
	snprintf(v, sizeof(v), "%lu", want);
	if (write_file(bl, v, &e) < 0)
		cell_error_free(&e);
}

int cell_network_setup(const struct cell_network *n, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	_cleanup_free_ char *rl = NULL;
	cell_error *e = NULL;
	int idx;

	if (cell_nl_open(-1, &nl, err) < 0)
		return -1;
	idx = cell_link_index(nl, n->bridge, err);
	if (idx < 0)
		return -1;
	if (idx > 0) {
		struct cell_link l;
		if (cell_link_get(nl, n->bridge, &l, err) < 0)
			return -1;
		if (!streq(l.kind, "bridge"))
			return net_error(err, EEXIST, "network `%s`: link `%s` exists and is not a bridge (%s)", n->name,
					 n->bridge, l.kind[0] ? l.kind : "physical");
	}
	if (idx == 0 && cell_link_add_bridge(nl, n->bridge, 0, &e) < 0) {
		if (cell_error_code(e) != EEXIST) {	/* another cell made it meanwhile */
			*err = e;
			return -1;
		}
		cell_error_free(&e);
	}
	if (cell_addr_add(nl, n->bridge, &n->gateway, &e) < 0) {
		if (cell_error_code(e) != EEXIST) {
			*err = e;
			return -1;
		}
		cell_error_free(&e);
	}
	if (n->subnet6.family && cell_addr_add(nl, n->bridge, &n->gateway6, &e) < 0) {
		if (cell_error_code(e) != EEXIST) {
			*err = e;
			return -1;
		}
		cell_error_free(&e);
	}
	if (cell_link_set_up(nl, n->bridge, true, err) < 0)
		return -1;
	/* DNAT of 127.0.0.1 into the bridge: the kernel drops loopback sources
	 * on other interfaces unless route_localnet is on for that interface */
	rl = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
	if (write_sysctl(rl, "1", err) < 0)
		return -1;
	if (cell_nft_network_ensure(n, err) < 0)
		return -1;
	if (!n->internal && write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
		return cell_error_wrap(err, "network `%s` needs IPv4 forwarding", n->name);
	/* global in the kernel: interfaces with accept_ra=1 stop taking router
	 * advertisements; only networks with IPv6 egress pay that */
	if (!n->internal && n->subnet6.family &&
	    write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1", err) < 0)
		return cell_error_wrap(err, "network `%s` needs IPv6 forwarding", n->name);
	return 0;
}

int ipam_release(const char *root, const struct cell_lease *l, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;

	if (l->veth && *l->veth) {
		if (cell_nl_open(-1, &nl, err) < 0)
			return -1;
		/* deleting one end deletes the pair, wherever the peer is; once the
		 * container's process is gone the kernel does it with the netns,
		 * without the RCU wait a delete here costs (link.c); a zombie (what
		 * rm -f finds just after its kill) has left its namespaces already */
		bool gone = l->pid > 0 && !(l->netns_path && *l->netns_path) &&
			    !proc_alive(l->pid, l->start_time);
		if (cell_link_retire_veth(nl, l->veth, gone, err) < 0)
			return -1;
	}
	if (cell_nft_container_del(l->container, err) < 0)
		return -1;
	return ipam_lease_remove(root, l, err);
}

/* ---- attach / detach ---- */

static uint32_t fnv1a(const char *a, const char *b)
{
	uint32_t h = 2166136261u;
	for (const char *p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (const char *p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static int check_container_id(const char *id, cell_error **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 100)
		return cell_error_set(err, "container id `%s` must have 1-100 characters", id ? id : "");
	for (size_t i = 0; i < n; i++)
		if (id[i] == '"' || id[i] == '\\' || id[i] == '/' || id[i] < 0x21 || id[i] > 0x7e)
			return cell_error_set(err, "container id `%s`: unexpected character", id);
	return 0;
}

struct attach_state {
	const char *root;
	struct cell_lease lease;
	bool lease_made, veth_made, rules_made;
};

static void attach_undo(struct attach_state *st)
{
	cell_error *e = NULL;
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;

	if (st->rules_made)
		cell_nft_container_del(st->lease.container, &e);
	cell_error_free(&e);
	if (st->veth_made && cell_nl_open(-1, &nl, &e) == 0)
		cell_link_del(nl, st->lease.veth, true, &e);
	cell_error_free(&e);
	if (st->lease_made)
		ipam_lease_remove(st->root, &st->lease, &e);
	cell_error_free(&e);
}

static int configure_inside(int nsfd, const struct cell_network *n, const struct cell_net_opts *o,
			    const char *ifname, const struct cell_prefix *ip, const uint8_t mac[6], cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *in = NULL;

	if (cell_nl_open(nsfd, &in, err) < 0)
		return -1;
	if (cell_link_set_mac(in, ifname, mac, err) < 0)
		return -1;
	if (o->mtu && cell_link_set_mtu(in, ifname, o->mtu, err) < 0)
		return -1;
	if (cell_link_set_up(in, "lo", true, err) < 0 || cell_link_set_up(in, ifname, true, err) < 0)
		return -1;
	if (cell_addr_add(in, ifname, ip, err) < 0)
		return -1;
	if (n->subnet6.family) {
		struct cell_prefix ip6;
		cell_network_ip6(n, ip, &ip6);
		if (cell_addr_add(in, ifname, &ip6, err) < 0)
			return -1;
		if (!n->internal) {
			struct cell_prefix gw6 = n->gateway6;
			cell_error *e = NULL;
			gw6.len = 128;
			if (cell_route_add(in, NULL, &gw6, ifname, &e) < 0) {
				if (cell_error_code(e) != EEXIST) {
					*err = e;
					return -1;
				}
				cell_error_free(&e);
			}
		}
	}
	if (!n->internal) {
		struct cell_prefix gw = n->gateway;
		gw.len = 32;
		cell_error *e = NULL;
		/* the first network's default route wins, as in Docker */
		if (cell_route_add(in, NULL, &gw, ifname, &e) < 0) {
			if (cell_error_code(e) != EEXIST) {
				*err = e;
				return -1;
			}
			cell_error_free(&e);
		}
	}
	return 0;
}

static int attach_locked(struct attach_state *st, const char *network, const char *id, pid_t pid,
			 const struct cell_net_opts *o, struct cell_net_result *ret, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	_cleanup_close_ int nsfd = -1;
	_cleanup_free_ char *nspath = NULL, *alias = NULL;
	struct cell_lease *all = NULL;
	size_t n_all = 0;
	struct cell_port ports[16];
	const char *ifname = o->ifname ? o->ifname : "eth0";
	uint8_t mac[6];
	char buf[64], veth[IFNAMSIZ];
	int r = -1;

	if (o->n_ports > ARRAY_SIZE(ports))
		return cell_error_set(err, "at most %zu published ports per network", ARRAY_SIZE(ports));
	if (ipam_load_locked(st->root, network, &n, err) < 0)
		return -1;
	nspath = o->netns_path ? xstrdup(o->netns_path) : xasprintf("/proc/%d/ns/net", (int)pid);
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		if (o->netns_path)
			return cell_error_errno(err, errno, "open network namespace `%s`", nspath);
		return cell_error_errno(err, errno, "open network namespace of process %d (%s)", (int)pid, nspath);
	}
	/* the container's own leases (one per network); published ports are
	 * checked through the root's port index (ipam.c), not every lease */
	if (ipam_container_leases(st->root, id, &all, &n_all, err) < 0)
		return -1;
	for (size_t i = 0; i < n_all; i++)
		if (streq(all[i].container, id) && streq(all[i].network, n->name)) {
			net_error(err, EEXIST, "container `%s` is already attached to network `%s` (%s)", id,
					 n->name, cell_prefix_str(&all[i].ip, false, buf, sizeof(buf)));
			goto out;
		}
	for (size_t i = 0; i < o->n_ports; i++) {
		ports[i] = o->ports[i];
		if (ports[i].host_port && ipam_check_published(st->root, &ports[i], err) < 0)
			goto out;
		/* a port the kernel picks may still be one another container publishes
		 * (DNAT holds no socket): check it again once chosen */
		if (net_probe_port(&ports[i], err) < 0 || ipam_check_published(st->root, &ports[i], err) < 0)
			goto out;
		for (size_t j = 0; j < i; j++)
			if (ports[j].host_port == ports[i].host_port && ports[j].proto == ports[i].proto) {
				net_error(err, EADDRINUSE, "host port %u/%s is given twice", ports[i].host_port,
						 net_proto_name(ports[i].proto));
				goto out;
			}
	}
	if (cell_network_setup(n, err) < 0)
		goto out;

	/* the lease first: once the file exists the address is ours */
	if (ipam_pick_address(st->root, n, o->ip, &st->lease.ip, err) < 0)
		goto out;
	if (o->mac) {
		if (cell_mac_parse(o->mac, mac) < 0) {
			cell_error_set(err, "--mac-address `%s` is not a unicast MAC (xx:xx:xx:xx:xx:xx)", o->mac);
			goto out;
		}
	} else {
		mac[0] = 0x02, mac[1] = 0xce;
		memcpy(mac + 2, st->lease.ip.addr, 4);
	}
	snprintf(veth, sizeof(veth), "cell%08x", fnv1a(id, n->name));
	st->lease.network = xstrdup(n->name);
	st->lease.container = xstrdup(id);
	st->lease.veth = xstrdup(veth);
	st->lease.mac = xstrdup(cell_mac_str(mac, buf));
	st->lease.hostname = xstrdup(o->hostname ? o->hostname : "");
	st->lease.aliases = NULL;
	if (o->aliases) {
		size_t k = strv_len(o->aliases);
		st->lease.aliases = xcalloc(k + 1, sizeof(char *));
		for (size_t i = 0; i < k; i++)
			st->lease.aliases[i] = xstrdup(o->aliases[i]);
	}
	st->lease.hosts_path = xstrdup(o->hosts_path ? o->hosts_path : "");
	if (o->add_hosts) {
		size_t k = strv_len(o->add_hosts);
		st->lease.add_hosts = xcalloc(k + 1, sizeof(char *));
		for (size_t i = 0; i < k; i++)
			st->lease.add_hosts[i] = xstrdup(o->add_hosts[i]);
	}
	st->lease.netns_path = xstrdup(o->netns_path ? o->netns_path : "");
	st->lease.pid = pid;
	st->lease.start_time = pid > 0 ? proc_start_time(pid) : 0;
	st->lease.ports = net_ports_str(ports, o->n_ports);
	if (ipam_lease_write(st->root, &st->lease, true, err) < 0)
		goto out;
	st->lease_made = true;

	if (cell_nl_open(-1, &nl, err) < 0)
		goto out;
	/* the name is this container's on this network: one found is its own
	 * veth from a run before, retired and not yet taken by the kernel with
	 * that run's netns (a restart right after an exit) */
	int stale = cell_link_index(nl, veth, err);
	if (stale < 0 || (stale > 0 && cell_link_del(nl, veth, true, err) < 0))
		goto out;
	if (cell_link_add_veth(nl, veth, ifname, nsfd, err) < 0)
		goto out;
	st->veth_made = true;
	alias = xasprintf("cell:%s", id);
	if (cell_link_set_alias(nl, veth, alias, err) < 0 ||
	    (o->mtu && cell_link_set_mtu(nl, veth, o->mtu, err) < 0) ||
	    cell_link_set_master(nl, veth, n->bridge, err) < 0 || cell_link_set_hairpin(nl, veth, true, err) < 0 ||
	    cell_link_set_up(nl, veth, true, err) < 0)
		goto out;
	backlog_for_port(veth);
	if (configure_inside(nsfd, n, o, ifname, &st->lease.ip, mac, err) < 0) {
		if (o->netns_path)
			cell_error_wrap(err, "inside network namespace `%s`", o->netns_path);
		else
			cell_error_wrap(err, "inside the network namespace of process %d", (int)pid);
		goto out;
	}
	if (cell_nft_container_add(id, &st->lease.ip, ports, o->n_ports, err) < 0)
		goto out;
	st->rules_made = true;
	if (o->hosts_path) {
		/* the container's own file must exist: create it if the engine did not */
		_cleanup_close_ int hfd = open(o->hosts_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (hfd < 0) {
			cell_error_errno(err, errno, "create hosts file `%s`", o->hosts_path);
			goto out;
		}
	}
	if (net_write_hosts(n, &st->lease, err) < 0)
		goto out;
	{
		cell_error *e = NULL;
		if (net_dns_ensure(st->root, n, &e) < 0)
			cell_error_free(&e);	/* names do not resolve; the container still runs */
	}

	if (ret) {
		memset(ret, 0, sizeof(*ret));
		cell_prefix_str(&st->lease.ip, false, ret->ip, sizeof(ret->ip));
		ret->prefixlen = st->lease.ip.len;
		if (!n->internal)
			cell_prefix_str(&n->gateway, false, ret->gateway, sizeof(ret->gateway));
		if (n->subnet6.family) {
			struct cell_prefix ip6;
			cell_network_ip6(n, &st->lease.ip, &ip6);
			cell_prefix_str(&ip6, false, ret->ip6, sizeof(ret->ip6));
			ret->prefixlen6 = ip6.len;
			if (!n->internal)
				cell_prefix_str(&n->gateway6, false, ret->gateway6, sizeof(ret->gateway6));
		}
		snprintf(ret->mac, sizeof(ret->mac), "%s", st->lease.mac);
		snprintf(ret->ifname, sizeof(ret->ifname), "%s", ifname);
		snprintf(ret->veth, sizeof(ret->veth), "%s", veth);
		snprintf(ret->bridge, sizeof(ret->bridge), "%s", n->bridge);
		memcpy(ret->ports, ports, o->n_ports * sizeof(ports[0]));
		ret->n_ports = o->n_ports;
	}
	r = 0;
out:
	cell_lease_list_free(all, n_all);
	return r;
}

int cell_net_attach(const char *root, const char *network, const char *container_id, pid_t pid,
		    const struct cell_net_opts *opts, struct cell_net_result *ret, cell_error **err)
{
	struct cell_net_opts none = { 0 };
	struct attach_state st = { .root = root };
	_cleanup_close_ int lock = -1;
	int r;

	if (check_container_id(container_id, err) < 0)
		return -1;
	lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	r = attach_locked(&st, network, container_id, pid, opts ? opts : &none, ret, err);
	if (r < 0) {
		attach_undo(&st);
		cell_error_wrap(err, "attach container `%s` to network `%s`", container_id,
				network ? network : CELL_DEFAULT_NETWORK);
	}
	cell_lease_free(&st.lease);
	return r;
}

int cell_net_detach(const char *root, const char *container_id, cell_error **err)
{
	_cleanup_close_ int lock = -1;
	struct cell_lease *all = NULL;
	size_t n = 0;
	int r = 0;

	if (check_container_id(container_id, err) < 0)
		return -1;
	lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	if (ipam_container_leases(root, container_id, &all, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && r == 0; i++)
		if (streq(all[i].container, container_id)) {
			r = ipam_release(root, &all[i], err);
		}
	cell_lease_list_free(all, n);
	/* rules without a lease (a crash between the two) go too */
	if (r == 0)
		r = cell_nft_container_del(container_id, err);
	if (r < 0)
		return cell_error_wrap(err, "detach container `%s`", container_id);
	return 0;
}

static int unhold_dead(const char *root, cell_error **err);

int cell_net_prune_leases(const char *root, cell_error **err)
{
	_cleanup_close_ int lock = ipam_lock(root, err);
	struct cell_lease *all = NULL;
	size_t n = 0;
	int count = 0;

	if (lock < 0)
		return -1;
	{
		_cleanup_strv_ char **names = NULL;
		if (cell_network_list(root, &names, err) < 0)
			return -1;
		for (char **it = names; *it; it++)
			ipam_sweep_temp(root, *it);
	}
	if (cell_lease_list(root, NULL, &all, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (all[i].pid > 0 && all[i].start_time && proc_start_time(all[i].pid) == all[i].start_time)
			continue;	/* its process lives */
		if (all[i].pid <= 0 && all[i].netns_path && *all[i].netns_path && access(all[i].netns_path, F_OK) == 0)
			continue;	/* its netns file is still there */
		if (ipam_release(root, &all[i], err) < 0) {
			cell_lease_list_free(all, n);
			return -1;
		}
		count++;
	}
	cell_lease_list_free(all, n);
	/* phys: interfaces and /run/netns names of containers that died */
	int held = unhold_dead(root, err);
	if (held < 0)
		return -1;
	return count + held;
}

/* ---- cell info ---- */

static bool sysctl_on(const char *path)
{
	_cleanup_free_ char *v = NULL;
	cell_error *e = NULL;
	bool on = read_file(path, &v, NULL, &e) == 0 && v[0] == '1';
	cell_error_free(&e);
	return on;
}

struct json_object *cell_net_info(const char *root)
{
	json_object *o = json_object_new_object();
	_cleanup_strv_ char **names = NULL;
	struct cell_lease *all = NULL;
	size_t n = 0;
	cell_error *e = NULL;
	char *table = cell_nft_table_text(&e);

	json_object_object_add(o, "ip_forward", json_object_new_boolean(sysctl_on("/proc/sys/net/ipv4/ip_forward")));
	json_object_object_add(o, "ipv6_forwarding",
			       json_object_new_boolean(sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding")));
	json_object_object_add(o, "nft_table", json_object_new_boolean(table != NULL));
	free(table);
	cell_error_free(&e);
	if (cell_network_list(root, &names, &e) == 0)
		json_object_object_add(o, "networks", json_object_new_int((int)strv_len(names)));
	cell_error_free(&e);
	if (cell_lease_list(root, NULL, &all, &n, &e) == 0)
		json_object_object_add(o, "leases", json_object_new_int((int)n));
	cell_lease_list_free(all, n);
	cell_error_free(&e);
	return o;
}

/* ---- none and phys: ---- */

static int open_netns_of(pid_t pid, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open network namespace of process %d", (int)pid);
	return fd;
}

int cell_net_none(pid_t pid, cell_error **err)
{
	_cleanup_close_ int fd = open_netns_of(pid, err);
	_cleanup_cell_nl_ struct cell_nl *in = NULL;

	if (fd < 0 || cell_nl_open(fd, &in, err) < 0)
		return -1;
	return cell_link_set_up(in, "lo", true, err);
}

int cell_net_phys_attach(pid_t pid, const char *hostif, cell_error **err)
{
	_cleanup_close_ int fd = open_netns_of(pid, err);
	_cleanup_cell_nl_ struct cell_nl *nl = NULL, *in = NULL;
	struct cell_link l;

	if (fd < 0 || cell_nl_open(-1, &nl, err) < 0)
		return -1;
	if (cell_link_get(nl, hostif, &l, err) < 0)
		return cell_error_wrap(err, "phys:%s: unknown host interface", hostif);
	if (streq(hostif, "lo") || streq(l.kind, "bridge"))
		return cell_error_set(err, "phys:%s: a %s cannot be given to a container", hostif,
				      streq(hostif, "lo") ? "loopback" : "bridge");
	if (cell_link_move(nl, hostif, fd, 0, NULL, err) < 0)
		return -1;
	if (cell_nl_open(fd, &in, err) < 0 || cell_link_set_up(in, "lo", true, err) < 0 ||
	    cell_link_set_up(in, hostif, true, err) < 0) {
		cell_error *e = NULL;
		if (in)
			cell_net_phys_detach(pid, hostif, &e);
		cell_error_free(&e);
		return -1;
	}
	return 0;
}

int cell_net_phys_detach(pid_t pid, const char *hostif, cell_error **err)
{
	_cleanup_close_ int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_cell_nl_ struct cell_nl *in = NULL, *nl = NULL;
	_cleanup_close_ int fd = -1;
	cell_error *e = NULL;

	if (host < 0)
		return cell_error_errno(err, errno, "open our own network namespace");
	fd = open_netns_of(pid, &e);
	if (fd < 0) {
		/* the netns is gone: the kernel gave physical devices back */
		cell_error_free(&e);
		if (cell_nl_open(-1, &nl, err) < 0)
			return -1;
		int idx = cell_link_index(nl, hostif, err);
		if (idx < 0)
			return -1;
		if (idx == 0)
			return net_error(err, ENODEV, "phys:%s: process %d is gone and `%s` is not back on the host "
						"(virtual links die with their netns)", hostif, (int)pid, hostif);
		return 0;
	}
	if (cell_nl_open(fd, &in, err) < 0)
		return -1;
	if (cell_link_set_up(in, hostif, false, err) < 0)
		return -1;
	return cell_link_move(in, hostif, host, 0, NULL, err);
}

/* ---- inspect ---- */

struct json_object *cell_network_json(const char *root, const struct cell_network *n)
{
	json_object *o = json_object_new_object(), *ipam = json_object_new_object();
	json_object *cfgs = json_object_new_array(), *cfg = json_object_new_object();
	json_object *ctrs = json_object_new_object(), *opts = json_object_new_object();
	struct cell_lease *all = NULL;
	size_t nl = 0;
	cell_error *e = NULL;
	char b[64];

	json_object_object_add(o, "Name", json_object_new_string(n->name));
	json_object_object_add(o, "Id", json_object_new_string(n->id));
	json_object_object_add(o, "Created", json_object_new_string(n->created));
	json_object_object_add(o, "Driver", json_object_new_string("bridge"));
	json_object_object_add(cfg, "Subnet", json_object_new_string(cell_prefix_str(&n->subnet, true, b, sizeof(b))));
	json_object_object_add(cfg, "Gateway", json_object_new_string(cell_prefix_str(&n->gateway, false, b, sizeof(b))));
	json_object_object_add(cfg, "IPRange", json_object_new_string(cell_prefix_str(&n->range, true, b, sizeof(b))));
	json_object_array_add(cfgs, cfg);
	if (n->subnet6.family) {
		json_object *c6 = json_object_new_object();
		json_object_object_add(c6, "Subnet", json_object_new_string(cell_prefix_str(&n->subnet6, true, b, sizeof(b))));
		json_object_object_add(c6, "Gateway", json_object_new_string(cell_prefix_str(&n->gateway6, false, b, sizeof(b))));
		json_object_array_add(cfgs, c6);
	}
	json_object_object_add(ipam, "Driver", json_object_new_string("default"));
	json_object_object_add(ipam, "Config", cfgs);
	json_object_object_add(o, "IPAM", ipam);
	json_object_object_add(o, "EnableIPv6", json_object_new_boolean(n->subnet6.family != 0));
	json_object_object_add(o, "Internal", json_object_new_boolean(n->internal));
	if (cell_lease_list(root, n->name, &all, &nl, &e) < 0)
		cell_error_free(&e);
	for (size_t i = 0; i < nl; i++) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "Name", json_object_new_string(all[i].hostname));
		json_object_object_add(c, "IPv4Address", json_object_new_string(cell_prefix_str(&all[i].ip, true, b, sizeof(b))));
		json_object_object_add(c, "MacAddress", json_object_new_string(all[i].mac));
		if (n->subnet6.family) {
			struct cell_prefix ip6;
			cell_network_ip6(n, &all[i].ip, &ip6);
			json_object_object_add(c, "IPv6Address", json_object_new_string(cell_prefix_str(&ip6, true, b, sizeof(b))));
		}
		json_object_object_add(c, "Veth", json_object_new_string(all[i].veth));
		json_object_object_add(c, "Ports", json_object_new_string(all[i].ports));
		json_object_object_add(ctrs, all[i].container, c);
	}
	cell_lease_list_free(all, nl);
	json_object_object_add(o, "Containers", ctrs);
	json_object_object_add(opts, "com.docker.network.bridge.name", json_object_new_string(n->bridge));
	json_object_object_add(opts, "com.docker.network.bridge.gateway_mode_ipv4",
			       json_object_new_string(n->unprotected4 ? "nat-unprotected" : "nat"));
	if (n->subnet6.family)
		json_object_object_add(opts, "com.docker.network.bridge.gateway_mode_ipv6",
				       json_object_new_string(n->unprotected6 ? "nat-unprotected" : "nat"));
	json_object_object_add(o, "Options", opts);
	json_object *labels = json_object_new_object();
	for (char **it = n->labels; it && *it; it++) {
		const char *eq = strchr(*it, '=');
		_cleanup_free_ char *k = eq ? strndup(*it, (size_t)(eq - *it)) : xstrdup(*it);
		json_object_object_add(labels, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	json_object_object_add(o, "Labels", labels);
	if (cell_net_dns_wanted(n)) {
		/* the root's resolver (dns.c): where the containers ask, whether it runs */
		json_object *d = json_object_new_object();
		pid_t pid = cell_net_dns_pid(root);
		json_object_object_add(d, "Address", json_object_new_string(cell_prefix_str(&n->gateway, false, b, sizeof(b))));
		json_object_object_add(d, "Port", json_object_new_int(53));
		json_object_object_add(d, "State", json_object_new_string(pid > 0 ? "running" : "stopped"));
		json_object_object_add(d, "Pid", json_object_new_int(pid));
		json_object_object_add(o, "DNS", d);
	}
	return o;
}

/* ---- phys: and --netns-name of engine containers, undone after a crash ----
 *
 * <root>/netstate/<id>.json says what a container holds: {"pid", "start",
 * "phys", "netns_name", "ino"}; written before anything is done, removed
 * after everything is undone, so whoever comes next (stop, rm, the monitor,
 * `network prune`) can give it back. <root>/netstate/<id>.ns is a bind mount
 * of the container's netns taken for phys:, so that the netns outlives the
 * container's processes: a virtual interface (dummy, veth) would die with
 * it, a physical one would come back under a name the kernel picks. */

static char *hold_dir(const char *root)
{
	return xasprintf("%s/netstate", root);
}

static char *hold_path(const char *root, const char *id, const char *ext)
{
	return xasprintf("%s/netstate/%s.%s", root, id, ext);
}

/* Move hostif from the netns open at nsfd back to ours, down. */
static int phys_give_back(int nsfd, const char *hostif, cell_error **err)
{
	_cleanup_close_ int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_cell_nl_ struct cell_nl *in = NULL, *nl = NULL;
	int idx;

	if (host < 0)
		return cell_error_errno(err, errno, "open our own network namespace");
	if (cell_nl_open(nsfd, &in, err) < 0)
		return -1;
	idx = cell_link_index(in, hostif, err);
	if (idx < 0)
		return -1;
	if (idx == 0) {
		/* not in there: back on the host already? */
		if (cell_nl_open(-1, &nl, err) < 0)
			return -1;
		idx = cell_link_index(nl, hostif, err);
		if (idx < 0)
			return -1;
		if (idx == 0)
			return net_error(err, ENODEV, "phys:%s: the interface is neither in the container's network "
					 "namespace nor on the host", hostif);
		return 0;
	}
	if (cell_link_set_up(in, hostif, false, err) < 0)
		return -1;
	return cell_link_move(in, hostif, host, 0, NULL, err);
}

static int hold_write(const char *root, const char *id, pid_t pid, const char *phys, const char *netns_name,
		      uint64_t ino, cell_error **err)
{
	_cleanup_free_ char *dir = hold_dir(root), *path = hold_path(root, id, "json");
	json_object *o = json_object_new_object();
	int r;

	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "start", json_object_new_int64((int64_t)proc_start_time(pid)));
	json_object_object_add(o, "phys", json_object_new_string(phys ? phys : ""));
	json_object_object_add(o, "netns_name", json_object_new_string(netns_name ? netns_name : ""));
	json_object_object_add(o, "ino", json_object_new_int64((int64_t)ino));
	if (mkdir_p(dir, 0700, err) < 0) {
		json_object_put(o);
		return -1;
	}
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = write_file_atomic(path, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

int cell_net_hold(const char *root, const char *id, pid_t pid, const char *phys, const char *netns_name,
		  cell_error **err)
{
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", (int)pid);
	_cleanup_free_ char *holder = NULL;
	struct stat st;
	cell_error *e = NULL;

	if (check_container_id(id, err) < 0)
		return -1;
	if (!phys && !netns_name)
		return 0;
	if (stat(nspath, &st) < 0)
		return cell_error_errno(err, errno, "open network namespace of process %d", (int)pid);
	if (hold_write(root, id, pid, phys, netns_name, (uint64_t)st.st_ino, err) < 0)
		return -1;
	if (phys) {
		holder = hold_path(root, id, "ns");
		_cleanup_close_ int fd = open(holder, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			cell_error_errno(err, errno, "create `%s`", holder);
			goto fail;
		}
		if (mount(nspath, holder, "none", MS_BIND, NULL) < 0) {
			cell_error_errno(err, errno, "bind-mount `%s` on `%s`", nspath, holder);
			goto fail;
		}
		if (cell_net_phys_attach(pid, phys, err) < 0)
			goto fail;
	}
	if (netns_name && cell_netns_attach(netns_name, pid, err) < 0)
		goto fail;
	return 0;
fail:
	if (cell_net_unhold(root, id, &e) < 0)
		cell_error_free(&e);
	return -1;
}

int cell_net_unhold(const char *root, const char *id, cell_error **err)
{
	_cleanup_free_ char *path = NULL, *holder = NULL, *text = NULL;
	json_object *o = NULL;
	int r = 0;

	if (check_container_id(id, err) < 0)
		return -1;
	path = hold_path(root, id, "json");
	holder = hold_path(root, id, "ns");
	{
		cell_error *e = NULL;
		if (read_file(path, &text, NULL, &e) < 0) {
			cell_error_free(&e);
			return 0;	/* nothing held */
		}
	}
	o = json_tokener_parse(text);
	const char *phys = json_object_get_string(json_object_object_get(o, "phys"));
	const char *name = json_object_get_string(json_object_object_get(o, "netns_name"));
	uint64_t ino = (uint64_t)json_object_get_int64(json_object_object_get(o, "ino"));
	if (phys && *phys) {
		_cleanup_close_ int fd = open(holder, O_RDONLY | O_CLOEXEC);
		struct stat st;
		/* the bind mount, not the empty file under it */
		if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_ino == ino) {
			if (phys_give_back(fd, phys, err) < 0)
				r = -1;
		} else {
			/* no netns held: a physical device is back on the host by now */
			_cleanup_cell_nl_ struct cell_nl *nl = NULL;
			int idx = cell_nl_open(-1, &nl, err) < 0 ? -1 : cell_link_index(nl, phys, err);
			if (idx == 0)
				net_error(err, ENODEV, "phys:%s: the container's network namespace is gone and `%s` "
					  "is not back on the host", phys, phys);
			if (idx <= 0)
				r = -1;
		}
		if (r < 0)
			cell_error_wrap(err, "give interface `%s` back to the host", phys);
	}
	if (r == 0) {
		if (umount2(holder, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			r = cell_error_errno(err, errno, "unmount `%s`", holder);
		else if (unlink(holder) < 0 && errno != ENOENT)
			r = cell_error_errno(err, errno, "remove `%s`", holder);
	}
	if (r == 0 && name && *name) {
		/* only our own: the name may have been taken again by someone else */
		_cleanup_free_ char *p = xasprintf("%s/%s", CELL_NETNS_DIR, name);
		struct stat st;
		if (stat(p, &st) == 0 && (uint64_t)st.st_ino == ino && cell_netns_del(name, err) < 0)
			r = -1;
	}
	if (r == 0 && unlink(path) < 0 && errno != ENOENT)
		r = cell_error_errno(err, errno, "remove `%s`", path);
	json_object_put(o);
	return r;
}

/* Containers whose processes are gone but whose phys:/netns-name are held. */
static int unhold_dead(const char *root, cell_error **err)
{
	_cleanup_free_ char *dir = hold_dir(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	int count = 0, r = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && r == 0) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *id = NULL, *path = NULL, *text = NULL;
		json_object *o;
		if (n < 6 || !streq(de->d_name + n - 5, ".json"))
			continue;
		id = strndup(de->d_name, n - 5);
		path = xasprintf("%s/%s", dir, de->d_name);
		cell_error *e = NULL;
		if (read_file(path, &text, NULL, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		o = json_tokener_parse(text);
		pid_t pid = json_object_get_int(json_object_object_get(o, "pid"));
		uint64_t start = (uint64_t)json_object_get_int64(json_object_object_get(o, "start"));
		json_object_put(o);
		if (proc_alive(pid, start))
			continue;	/* its process lives */
		r = cell_net_unhold(root, id, err);
		if (r == 0)
			count++;
	}
	closedir(d);
	return r < 0 ? -1 : count;
}

/* ---- --ip / --ip6 checked before create ---- */

int cell_net_check_ip(const char *root, const char *network, const char *ip, const char *ip6, char **ret_ip4,
		      cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	struct cell_prefix p4 = { 0 }, p6, want;
	struct cell_lease *all = NULL;
	size_t n_all = 0;
	char a[64], b[64];
	int r = -1;

	*ret_ip4 = NULL;
	if (!ip && !ip6)
		return 0;
	if (cell_network_load(root, network, &n, err) < 0)
		return -1;
	cell_prefix_str(&n->subnet, true, a, sizeof(a));
	if (ip) {
		if (cell_prefix_parse(ip, &p4, err) < 0 || p4.family != AF_INET || p4.len != 32) {
			cell_error_free(err);
			return cell_error_set(err, "invalid --ip `%s`: expected an IPv4 address", ip);
		}
	}
	if (ip6) {
		if (cell_prefix_parse(ip6, &p6, err) < 0 || p6.family != AF_INET6 || p6.len != 128) {
			cell_error_free(err);
			return cell_error_set(err, "invalid --ip6 `%s`: expected an IPv6 address", ip6);
		}
		if (!n->subnet6.family)
			return cell_error_set(err, "--ip6 %s: network `%s` has no IPv6 subnet (create it with --ipv6)",
					      ip6, n->name);
		/* the IPv4 address whose host part it carries */
		uint32_t host = 0, mask = 0xffffffffu >> n->subnet.len;
		for (int i = 0; i < 4; i++)
			host |= (uint32_t)p6.addr[15 - i] << (8 * i);
		struct cell_prefix from6;
		cell_prefix_set_v4(&from6, (cell_prefix_v4(&n->subnet) & ~mask) | (host & mask), 32);
		cell_network_ip6(n, &from6, &want);
		if (memcmp(want.addr, p6.addr, 16) != 0)
			return cell_error_set(err, "--ip6 %s is not an address cell can give in network `%s` (%s): it "
					      "must be %s plus an IPv4 host part", ip6, n->name,
					      cell_prefix_str(&n->subnet6, true, b, sizeof(b)),
					      cell_prefix_str(&n->subnet6, false, a, sizeof(a)));
		if (ip && cell_prefix_v4(&p4) != cell_prefix_v4(&from6)) {
			cell_network_ip6(n, &p4, &want);
			return cell_error_set(err, "--ip6 %s does not go with --ip %s (its IPv6 address is %s)", ip6, ip,
					      cell_prefix_str(&want, false, b, sizeof(b)));
		}
		p4 = from6;
	}
	p4.len = n->subnet.len;
	uint32_t v = cell_prefix_v4(&p4), net = cell_prefix_v4(&n->subnet);
	uint32_t bcast = net | (0xffffffffu >> n->subnet.len);
	const char *flag = ip ? "--ip" : "--ip6", *val = ip ? ip : ip6;
	if (!cell_prefix_contains(&n->subnet, &p4) || v == net || v == bcast)
		return cell_error_set(err, "%s %s is not a host address of network `%s` (%s)", flag, val, n->name, a);
	if (v == cell_prefix_v4(&n->gateway))
		return cell_error_set(err, "%s %s is the gateway of network `%s`", flag, val, n->name);
	if (cell_lease_list(root, n->name, &all, &n_all, err) < 0)
		return -1;
	for (size_t i = 0; i < n_all; i++)
		if (cell_prefix_v4(&all[i].ip) == v) {
			net_error(err, EADDRINUSE, "%s %s is already leased to container `%.12s` in network `%s`", flag,
				  val, all[i].container, n->name);
			goto out;
		}
	*ret_ip4 = xstrdup(cell_prefix_str(&p4, false, b, sizeof(b)));
	r = 0;
out:
	cell_lease_list_free(all, n_all);
	return r;
}
