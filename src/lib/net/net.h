/* cell networking: bridges, veth pairs, addresses, routes, IPAM, NAT and
 * port publishing, network namespace files.
 *
 * Layers, each in its own file:
 *   netlink.c  sockets (in this or a container's netns), acked requests  (nl.h)
 *   link.c     links: bridge, veth, up/mtu/mac/master, move, rename, delete, list
 *   addr.c     IPv4/IPv6 prefixes, addresses, routes
 *   ipam.c     networks (<root>/networks/<name>.json) and leases (files, one lock)
 *   nft.c      NAT and port publishing in nftables table `inet cell`
 *   netns.c    /run/netns files as `ip netns` makes them
 *   ports.c    -p parsing and the checks before publishing
 *   hosts.c    /etc/hosts (the container's own names) and resolv.conf
 *   dns.c      the network's resolver (src/dns): started, found, named in resolv.conf
 *   dnsmsg.c   DNS queries parsed and answers built (for src/dns)
 *   attach.c   what the engine calls: attach/detach a container, none, phys:
 *
 * Inside a container's netns, cell talks netlink over a socket opened there
 * by a short-lived thread that setns()es (netns are per thread), never by
 * moving the calling thread or forking a helper: see nl.h.
 *
 * Every function takes `cell_error **err` last and returns < 0 on failure. */
#ifndef CELL_NET_H
#define CELL_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* ---- addresses ---------------------------------------------------------- */

/* An address with a prefix length: "10.88.0.0/16", "fd00::1/64", or a bare
 * address (len = 32 or 128). */
struct cell_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order; IPv4 in the first 4 bytes */
	int len;
};

int cell_prefix_parse(const char *s, struct cell_prefix *ret, cell_error **err);
/* "10.88.0.2/16" (with_len) or "10.88.0.2"; buf >= INET6_ADDRSTRLEN + 4. */
const char *cell_prefix_str(const struct cell_prefix *p, bool with_len, char *buf, size_t len);
/* The network address (host bits cleared). */
void cell_prefix_network(const struct cell_prefix *p, struct cell_prefix *ret);
bool cell_prefix_contains(const struct cell_prefix *net, const struct cell_prefix *addr);
bool cell_prefix_overlaps(const struct cell_prefix *a, const struct cell_prefix *b);
/* IPv4 as a host-order integer and back (len kept). */
uint32_t cell_prefix_v4(const struct cell_prefix *p);
void cell_prefix_set_v4(struct cell_prefix *p, uint32_t host_order, int len);

/* ---- netlink: links, addresses, routes ---------------------------------- */

/* A netlink socket bound to one network namespace. */
struct cell_nl;
/* nsfd: an open /proc/PID/ns/net or /run/netns/NAME, or -1 for our own. */
int cell_nl_open(int nsfd, struct cell_nl **ret, cell_error **err);
void cell_nl_free(struct cell_nl *nl);
void cell_nl_freep(struct cell_nl **nl);
#define _cleanup_cell_nl_ __attribute__((cleanup(cell_nl_freep)))

struct cell_link {
	int index;
	char name[IFNAMSIZ];
	char kind[16];		/* "bridge", "veth", "" for physical */
	int master;		/* ifindex of the bridge, 0 if none */
	int link;		/* peer ifindex for a veth (IFLA_LINK), 0 if none */
	int link_netnsid;	/* peer's netns id as seen here, -1 if same */
	unsigned mtu;
	unsigned flags;		/* IFF_UP, ... */
	uint8_t mac[6];
	char alias[256];	/* IFLA_IFALIAS: "cell:<container id>" on a veth,
				 * "cell:net=<id> root=<root>" on a bridge */
};

/* Index of a link by name: > 0, or 0 when there is none (no error). */
int cell_link_index(struct cell_nl *nl, const char *name, cell_error **err);
int cell_link_get(struct cell_nl *nl, const char *name, struct cell_link *ret, cell_error **err);
int cell_link_list(struct cell_nl *nl, struct cell_link **ret, size_t *ret_n, cell_error **err);

int cell_link_add_bridge(struct cell_nl *nl, const char *name, unsigned mtu, cell_error **err);
/* A veth pair `name` (here) ↔ `peer`; peer_nsfd >= 0 creates the peer
 * directly in that namespace, so its name never collides with the host's. */
int cell_link_add_veth(struct cell_nl *nl, const char *name, const char *peer, int peer_nsfd,
		       cell_error **err);
int cell_link_set_up(struct cell_nl *nl, const char *name, bool up, cell_error **err);
int cell_link_set_mtu(struct cell_nl *nl, const char *name, unsigned mtu, cell_error **err);
int cell_link_set_mac(struct cell_nl *nl, const char *name, const uint8_t mac[6], cell_error **err);
/* master NULL detaches from the bridge. */
int cell_link_set_master(struct cell_nl *nl, const char *name, const char *master, cell_error **err);
/* Let a bridge port send frames back where they came from: a container
 * reaching its own published port is DNATed back to itself, and with
 * br_netfilter the frame is then bridged, not routed. */
int cell_link_set_hairpin(struct cell_nl *nl, const char *name, bool on, cell_error **err);
int cell_link_set_alias(struct cell_nl *nl, const char *name, const char *alias, cell_error **err);
int cell_link_rename(struct cell_nl *nl, const char *name, const char *newname, cell_error **err);
/* Move into another netns (by fd when nsfd >= 0, else by pid), renaming it
 * to newname there when newname is not NULL (one atomic kernel operation). */
int cell_link_move(struct cell_nl *nl, const char *name, int nsfd, pid_t pid,
		   const char *newname, cell_error **err);
/* Delete a link; missing_ok makes ENODEV success. */
int cell_link_del(struct cell_nl *nl, const char *name, bool missing_ok, cell_error **err);
/* The host end of a container's veth once the container is done with it.
 * While its process lives: deleted. Once the process is gone (owner_gone)
 * and the peer is in the container's netns: only taken off its bridge and
 * set down (~1 ms). The kernel deletes the pair with that netns when its
 * last reference goes (references of sockets closed in it are dropped an
 * RCU grace period later), where a delete here would wait out an RCU grace
 * period itself: 15-25 ms of every short `run --rm` on a 2-CPU VM. A veth
 * whose netns something still holds is then a link that carries nothing;
 * it goes with that netns. */
int cell_link_retire_veth(struct cell_nl *nl, const char *name, bool owner_gone, cell_error **err);
/* Whether the peer of veth l (as cell_link_get/list give it) lives in a
 * netns that is still alive; false for a peer in our own netns. */
bool cell_link_veth_peer_alive(struct cell_nl *nl, const struct cell_link *l);
int cell_mac_parse(const char *s, uint8_t mac[6]);
const char *cell_mac_str(const uint8_t mac[6], char buf[18]);

struct cell_addr {
	int ifindex;
	struct cell_prefix prefix;
	unsigned char scope;
};
int cell_addr_add(struct cell_nl *nl, const char *ifname, const struct cell_prefix *p, cell_error **err);
/* family AF_UNSPEC for both. */
int cell_addr_list(struct cell_nl *nl, int family, struct cell_addr **ret, size_t *ret_n, cell_error **err);

struct cell_route {
	struct cell_prefix dst;	/* len 0: default route */
	struct cell_prefix gateway;	/* family 0: none */
	int oif;
	uint32_t table;
	unsigned char type;	/* RTN_UNICAST, RTN_LOCAL, ... */
	unsigned char protocol;
};
/* dst NULL is the default route; gateway and ifname may be NULL (not both). */
int cell_route_add(struct cell_nl *nl, const struct cell_prefix *dst, const struct cell_prefix *gateway,
		   const char *ifname, cell_error **err);
int cell_route_list(struct cell_nl *nl, int family, struct cell_route **ret, size_t *ret_n, cell_error **err);

/* ---- networks (IPAM) ------------------------------------------------------
 * <root>/networks/<name>.json holds a network; <root>/networks/<name>.leases/
 * holds one file per leased address (named by the address, JSON inside);
 * <root>/networks/.lock serializes every change. Bridge, addresses and nft
 * rules are (re)created idempotently by cell_network_setup(), so a reboot
 * that lost them is repaired by the next attach. */

/* Its bridge is named cell0 whatever the root, so two roots (a test's and
 * /var/lib/cell) share it; user networks get bridges named after their
 * random id and never collide. Table inet cell is shared by every root: a
 * network's rules carry its name, and the table goes with the last rule. */
#define CELL_DEFAULT_NETWORK "cell0"

struct cell_network {
	char *name;
	char *id;		/* 64 hex */
	char *bridge;		/* the default network's: "cell0" for the root /var/lib/cell,
				 * "c0-<8 hex of a hash of the root's path>" for another;
				 * "cb-<10 hex>" for the others. Its alias (IFLA_IFALIAS)
				 * "cell:net=<id> root=<root>" names its owner. */
	char *created;		/* RFC 3339 */
	struct cell_prefix subnet;
	struct cell_prefix gateway;	/* len = subnet len */
	struct cell_prefix range;	/* addresses handed out; = subnet unless --ip-range */
	bool internal;		/* no masquerade, no forwarding out of the bridge */
	/* IPv6 (--ipv6): family 0 when the network has none. Each container's
	 * IPv6 address is subnet6 + the host part of its IPv4 address, so the
	 * IPv4 lease makes it unique. Published ports get DNAT over IPv6 too. */
	struct cell_prefix subnet6;
	struct cell_prefix gateway6;	/* len = subnet6 len */
	/* Docker 28's com.docker.network.bridge.gateway_mode_ipv4/_ipv6:
	 * false ("nat", the default): from outside the bridge only published
	 * ports (DNATed traffic) and replies reach the containers, so a host
	 * that routes the subnet through this one finds nothing else open;
	 * true ("nat-unprotected"): anything routed to the subnet gets in. */
	bool unprotected4, unprotected6;
	char **labels;		/* "KEY=VALUE", never NULL once loaded (Docker's Labels) */
};

struct cell_network_opts {
	const char *subnet;	/* NULL: chosen to collide with no host route or network */
	const char *gateway;	/* NULL: first address of the subnet */
	const char *ip_range;	/* NULL: the whole subnet */
	bool internal;
	bool ipv6;		/* dual stack */
	const char *subnet6;	/* NULL with ipv6: a random ULA /64 (fdXX:XXXX:XXXX::/64) */
	const char *gateway6;	/* NULL: subnet6::1 */
	bool unprotected4, unprotected6;	/* gateway_mode_ipv4/_ipv6=nat-unprotected */
	char **labels;		/* "KEY=VALUE" (--label), may be NULL */
};
/* -o KEY=VALUE of `network create` into opts: Docker's
 * com.docker.network.bridge.gateway_mode_ipv4/_ipv6 (nat, nat-unprotected);
 * any other key or value is refused, naming it. */
int cell_network_opt_parse(struct cell_network_opts *opts, const char *kv, cell_error **err);

void cell_network_free(struct cell_network *n);
void cell_network_freep(struct cell_network **n);
#define _cleanup_cell_network_ __attribute__((cleanup(cell_network_freep)))

/* Validate, check collisions, write the file, set up bridge and rules. */
int cell_network_create(const char *root, const char *name, const struct cell_network_opts *opts,
			struct cell_network **ret, cell_error **err);
/* Load; the default network is created on first use. */
int cell_network_load(const char *root, const char *name, struct cell_network **ret, cell_error **err);
/* Names, sorted, NULL-terminated (strv_free). */
int cell_network_list(const char *root, char ***ret, cell_error **err);
/* A network by name, by its id or by a prefix of its id that only it has
 * (as Docker finds one); Docker's name `bridge` is the default network.
 * ENOENT when none matches, EINVAL when a prefix names several. */
int cell_network_find(const char *root, const char *ref, struct cell_network **ret, cell_error **err);
/* Does the network carry label "KEY" or "KEY=VALUE"? */
bool cell_network_has_label(const struct cell_network *n, const char *want);
/* `network prune`: leases of dead containers released, what deleted roots
 * left removed (cell_net_prune_leases, cell_net_prune_orphans), then every
 * network but the default one that no container uses, if it has each of
 * labels ("KEY" or "KEY=VALUE", may be NULL). ret_removed: their names
 * (strv_free); ret_dead, ret_orphans (may be NULL): the counts. */
int cell_network_prune(const char *root, char **labels, char ***ret_removed, int *ret_dead, int *ret_orphans,
		       cell_error **err);
/* Refuses (EBUSY) while a container holds a lease, unless force. Removes the
 * bridge, the network's nft rules, and table `inet cell` with the last one. */
int cell_network_remove(const char *root, const char *name, bool force, cell_error **err);
/* Bridge up with the gateway address, nft rules, ip_forward: idempotent. */
int cell_network_setup(const struct cell_network *n, cell_error **err);
/* Inspect output, Docker-like keys. */
struct json_object *cell_network_json(const char *root, const struct cell_network *n);
/* The IPv6 address that goes with an IPv4 lease (family 0 without IPv6). */
void cell_network_ip6(const struct cell_network *n, const struct cell_prefix *ip4, struct cell_prefix *ret);
/* Choose a free /16 (or /24) subnet: none of the host's routes, no network. */
int cell_network_pick_subnet(const char *root, struct cell_prefix *ret, cell_error **err);

struct cell_lease {
	char *network;
	char *container;
	struct cell_prefix ip;	/* len = subnet len */
	char *veth;		/* host side, "" in phys mode */
	char *mac;
	char *hostname;
	char **aliases;
	pid_t pid;		/* container init at attach time */
	uint64_t start_time;	/* its start time, to tell a reused pid */
	char *ports;		/* published ports as "tcp:0.0.0.0:8080:80,..." */
	char *hosts_path;	/* the container's hosts file on the host, "" if none */
	char *netns_path;	/* the netns file given instead of a pid, "" if none */
	char **add_hosts;	/* its --add-host entries, NAME:IP */
};
void cell_lease_free(struct cell_lease *l);
/* All leases of a network (n may be NULL for every network). */
int cell_lease_list(const char *root, const char *network, struct cell_lease **ret, size_t *ret_n,
		    cell_error **err);
void cell_lease_list_free(struct cell_lease *l, size_t n);

/* ---- port publishing ---------------------------------------------------- */

struct cell_port {
	char host_ip[INET6_ADDRSTRLEN];	/* "" = every host address (both families) */
	uint16_t host_port;		/* 0 = choose a free one */
	uint16_t port;			/* in the container */
	int proto;			/* IPPROTO_TCP or IPPROTO_UDP */
};
/* Docker's -p: [IP:][HOSTPORT:]PORT[/tcp|udp], IP an IPv4 address or an
 * IPv6 one in brackets ([::1]). A bare PORT leaves host_port 0. */
int cell_port_parse(const char *s, struct cell_port *ret, cell_error **err);

/* ---- nftables (table `inet cell`) ---------------------------------------- */

/* Rules of a network: masquerade out of its subnet (unless internal),
 * hairpin and localhost masquerade, forward drops for internal networks.
 * Each rule's comment is "cell-net:<name>@<bridge>". Idempotent; nothing
 * is committed when every rule of the network is in place (one listing,
 * no transaction): what each attach calls. */
int cell_nft_network_ensure(const struct cell_network *n, cell_error **err);
/* Remove a network's rules; the whole table when no network's rules are
 * left in it (whichever root they came from). By name: the rules of every
 * root's network of that name; by bridge: of that one network. */
int cell_nft_network_del(const char *name, cell_error **err);
int cell_nft_bridge_del(const char *bridge, cell_error **err);
/* Remove network rules whose bridge is not bridge_alive(), and DNAT rules
 * whose target lies in none of the live prefixes; returns how many. */
int cell_nft_prune(bool (*bridge_alive)(const char *bridge, void *data), void *data,
		   const struct cell_prefix *live, size_t n_live, cell_error **err);
/* DNAT for a container's published ports; comment "cell-ctr:<id>". On a
 * dual-stack network (its bridge has a global IPv6 address) ports without
 * a host address publish on IPv6 too, and [IPv6]: ones only there. */
int cell_nft_container_add(const char *id, const struct cell_prefix *ip,
			   const struct cell_port *ports, size_t n, cell_error **err);
/* Remove every rule of a container (idempotent). */
int cell_nft_container_del(const char *id, cell_error **err);
/* Delete table inet cell (ENOENT is success). */
int cell_nft_table_del(cell_error **err);
/* The table as `nft list table inet cell` prints it, NULL if none. */
char *cell_nft_table_text(cell_error **err);

/* ---- network namespace files (cell netns, as `ip netns`) ---------------- */

#define CELL_NETNS_DIR "/run/netns"
/* New empty netns bound at /run/netns/NAME. */
int cell_netns_add(const char *name, cell_error **err);
/* Bind /proc/PID/ns/net at /run/netns/NAME (`ip netns attach`). */
int cell_netns_attach(const char *name, pid_t pid, cell_error **err);
/* Unmount and remove /run/netns/NAME. */
int cell_netns_del(const char *name, cell_error **err);
int cell_netns_list(char ***ret, cell_error **err);
/* Open /run/netns/NAME (O_RDONLY|O_CLOEXEC). */
int cell_netns_open(const char *name, cell_error **err);
/* setns into NAME, private mount ns with a fresh /sys and /etc/netns/NAME
 * files bound over /etc, then execvp(argv). Returns only on failure. */
int cell_netns_exec(const char *name, char **argv, cell_error **err);

/* ---- what the engine calls ---------------------------------------------- */

struct cell_net_opts {
	const char *ip;		/* requested address, NULL: next free */
	const char *mac;	/* NULL: 02:ce + the IPv4 address */
	const char *hostname;	/* for the lease and /etc/hosts */
	const char *ifname;	/* inside the container, NULL: "eth0" */
	char **aliases;		/* NULL-terminated, may be NULL */
	const struct cell_port *ports;
	size_t n_ports;
	unsigned mtu;		/* 0: 1500 */
	/* The file (on the host) that the engine bind-mounts as the container's
	 * /etc/hosts, or NULL. When given, attach writes it (in place, so bind
	 * mounts see it) with the container's own names and add_hosts
	 * (--add-host NAME:IP lines); peers are found by DNS (dns.c), no other
	 * container's file is touched. */
	const char *hosts_path;
	char **add_hosts;
	/* A network namespace file (/run/netns/NAME, a bind mount of one) to
	 * use instead of /proc/PID/ns/net; pid may then be 0. The lease counts
	 * as alive for prune while the file exists. */
	const char *netns_path;
};

struct cell_net_result {
	char ip[INET6_ADDRSTRLEN];
	int prefixlen;
	char gateway[INET6_ADDRSTRLEN];	/* "" on an internal network */
	char ip6[INET6_ADDRSTRLEN];	/* "" without IPv6 */
	int prefixlen6;
	char gateway6[INET6_ADDRSTRLEN];	/* "" without IPv6 or on an internal network */
	char mac[18];
	char ifname[IFNAMSIZ];		/* inside */
	char veth[IFNAMSIZ];		/* host side */
	char bridge[IFNAMSIZ];
	struct cell_port ports[16];	/* as published (chosen host ports filled in) */
	size_t n_ports;
};

/* Join the network namespace of `pid` to `network` (NULL: cell0): lease an
 * address, veth pair (host side on the bridge, container side renamed to
 * eth0), MAC/MTU, lo and eth0 up, address, default route via the gateway,
 * DNAT rules for ports. On failure nothing is left behind. A container may
 * join several networks (eth0, eth1: pass ifname). */
int cell_net_attach(const char *root, const char *network, const char *container_id, pid_t pid,
		    const struct cell_net_opts *opts, struct cell_net_result *ret, cell_error **err);
/* Undo every attach of a container: veths, leases, nft rules. Idempotent,
 * works after a crash (found by container id in the lease files). */
int cell_net_detach(const char *root, const char *container_id, cell_error **err);
/* Take a container off one network (`network disconnect`): its veth on that
 * network, lease, DNAT rules (those of its other networks are put back),
 * hosts files (its own passes to its next network, or keeps only its own
 * name). Fails with ENOENT when it is not connected to the network. */
int cell_net_detach_network(const char *root, const char *network, const char *container_id,
			    cell_error **err);
/* Remove what engine roots deleted without `network rm` left: bridges whose
 * alias names a root with no such network any more and no running
 * container (and their veths, and their rules), network rules whose bridge
 * is gone, DNAT rules into no cell bridge's subnet. Any root's, so no root argument; run by `network prune`
 * and the first network operation of a new root. Returns how many. */
int cell_net_prune_orphans(cell_error **err);
/* Detach every lease whose container process is gone; returns how many. */
int cell_net_prune_leases(const char *root, cell_error **err);

/* For `cell info`: {"ip_forward", "ipv6_forwarding", "nft_table" (bool),
 * "networks" (count in root), "leases" (count)}. Caller puts. */
struct json_object *cell_net_info(const char *root);

/* `none` (LXC's empty): loopback up in the netns of pid, nothing else. */
int cell_net_none(pid_t pid, cell_error **err);
/* `phys:IF` (LXC's phys): move host interface IF into the netns of pid,
 * keeping its name, and bring it up. The name is kept on purpose: when a
 * netns dies the kernel moves physical devices back to the host itself
 * (virtual ones such as veth or dummy are destroyed instead), and it keeps
 * the device's current name when that name is free, so a crashed container
 * gives the host back `IF` under its own name. cell_net_phys_detach()
 * moves it back explicitly on a normal stop (ENODEV there if the netns is
 * already gone: the kernel did it). */
int cell_net_phys_attach(pid_t pid, const char *hostif, cell_error **err);
int cell_net_phys_detach(pid_t pid, const char *hostif, cell_error **err);
/* What an engine container holds beyond leases: phys:HOSTIF moved in (its
 * netns kept alive by a bind mount under <root>/netstate, so even a dummy
 * survives the container's death) and --netns-name NAME (/run/netns/NAME).
 * Recorded in <root>/netstate/<id>.json first; cell_net_unhold() gives the
 * interface back and removes the name (idempotent, also after a crash);
 * cell_net_prune_leases() does it for containers whose process is gone. */
int cell_net_hold(const char *root, const char *container_id, pid_t pid, const char *phys,
		  const char *netns_name, cell_error **err);
int cell_net_unhold(const char *root, const char *container_id, cell_error **err);
/* Check --ip / --ip6 against a network before anything is created: in the
 * subnet, not its gateway, not leased. --ip6 alone gives the IPv4 address it
 * goes with (cell's IPv6 address is subnet6 + the IPv4 host part): *ret_ip4
 * (caller frees) is the address to ask cell_net_attach for, or NULL. */
int cell_net_check_ip(const char *root, const char *network, const char *ip, const char *ip6, char **ret_ip4,
		      cell_error **err);

/* /etc/hosts for a container: localhost lines, its own name, every other
 * container of the same network (by hostname and aliases), extra lines
 * ("name:ip" as --add-host). Caller frees. */
char *cell_net_hosts(const char *root, const char *network, const char *container_id,
		     const char *hostname, const char *ip, char **add_hosts, cell_error **err);
/* /etc/resolv.conf: `dns` servers when given, else the host's nameservers
 * minus loopback ones (unreachable from a netns), else none. Caller frees. */
char *cell_net_resolv(const char *host_resolv_path, char **dns, char **search, cell_error **err);
/* The same with Docker's --dns-option lines (they replace the host's options). */
char *cell_net_resolv_opts(const char *host_resolv_path, char **dns, char **search, char **options,
			   cell_error **err);

/* ---- names by DNS (dns.c; the resolver itself is src/dns, cell-dns) ---- */

/* Whether the network has a resolver: every network but the default one. */
bool cell_net_dns_wanted(const struct cell_network *n);
/* The pid of the root's running resolver (one serves every user network
 * of the root), 0 when none runs. */
pid_t cell_net_dns_pid(const char *root);
/* The resolver gone (killed -9) while a container of a user network is
 * still there: start it again (what `network` commands do; an attach does
 * it by itself). Under the ipam lock. */
int cell_net_dns_revive(const char *root, cell_error **err);
/* /etc/resolv.conf for a container whose first network is `network`: on a
 * user network and without --dns, its resolver (the gateway's address) with
 * the host's search domains and options plus ndots:0, as Docker's embedded
 * DNS; else cell_net_resolv_opts(). Caller frees. */
char *cell_net_resolv_for(const char *root, const char *network, const char *host_resolv_path, char **dns,
			  char **search, char **options, cell_error **err);

#endif
