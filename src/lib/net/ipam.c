/* Networks and address leases, kept as files:
 *
 *   <root>/networks/.lock                 flock held by every change
 *   <root>/networks/<name>.json           the network (subnet, gateway, bridge...)
 *   <root>/networks/<name>.leases/<ip>    one leased address, JSON naming the container
 *   <root>/networks/.ports/<proto>-<port> which lease publishes a host port (below)
 *
 * A lease file is made whole in a temp file and link()ed to its name under
 * the lock, so an address is never handed out twice even by two `cell`
 * processes racing, and a kill -9 never leaves an empty lease that would
 * hold an address forever. Readers need no lock: every file is written
 * atomically (temp file + rename or link). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "ipam.h"
#include "json.h"
#include "net.h"
#include "util.h"

int net_error(cell_error **err, int errnum, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cell_error_from_text(err, errnum, msg);
}

char *ipam_dir(const char *root)
{
	return xasprintf("%s/networks", root);
}

int ipam_lock(const char *root, cell_error **err)
{
	_cleanup_free_ char *dir = ipam_dir(root);
	_cleanup_free_ char *path = NULL;
	bool first = access(dir, F_OK) < 0;
	int fd;

	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	path = xasprintf("%s/.lock", dir);
	fd = lock_file(path, true, err);
	if (fd >= 0 && first) {
		/* a new root: what roots deleted without `network rm` left
		 * (their bridges, veths and rules) goes now, once */
		cell_error *e = NULL;
		if (cell_net_prune_orphans(&e) < 0)
			cell_error_free(&e);
	}
	return fd;
}

/* ---- bridges: which root owns them ---- */

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static char *root_abs(const char *root)
{
	char *a = realpath(root, NULL);
	return a ? a : xstrdup(root);
}

char *net_default_bridge(const char *root)
{
	_cleanup_free_ char *abs = root_abs(root);
	/* the engine's own root keeps the name it always had */
	if (streq(abs, "/var/lib/cell"))
		return xstrdup(CELL_DEFAULT_NETWORK);
	return xasprintf("c0-%08x", fnv1a(abs));
}

/* "cell:net=<id> root=<root>": who owns a bridge, for prune. A root too long
 * for IFLA_IFALIAS is left out, and such a bridge is never pruned. */
static char *bridge_alias(const char *root, const struct cell_network *n)
{
	_cleanup_free_ char *abs = root_abs(root);
	if (strlen(abs) + strlen(n->id) + 20 >= sizeof(((struct cell_link *)0)->alias) || strchr(abs, ' '))
		return xasprintf("cell:net=%s", n->id);
	return xasprintf("cell:net=%s root=%s", n->id, abs);
}

/* The network's bridge, made here if missing, carries its owner's alias. */
static int bridge_claim(const char *root, const struct cell_network *n, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	_cleanup_free_ char *alias = bridge_alias(root, n);
	struct cell_link l;
	cell_error *e = NULL;

	if (cell_nl_open(-1, &nl, err) < 0)
		return -1;
	if (cell_link_get(nl, n->bridge, &l, &e) < 0) {
		if (cell_error_code(e) != ENODEV) {
			*err = e;
			return -1;
		}
		cell_error_free(&e);
		if (cell_link_add_bridge(nl, n->bridge, 0, &e) < 0) {
			if (cell_error_code(e) != EEXIST) {	/* another cell made it meanwhile */
				*err = e;
				return -1;
			}
			cell_error_free(&e);
		}
	} else if (streq(l.alias, alias)) {
		return 0;
	}
	/* cell0 was every root's default bridge before each root had its own:
	 * only /var/lib/cell's names it, so no other root's removal prunes it */
	if (streq(n->bridge, CELL_DEFAULT_NETWORK)) {
		_cleanup_free_ char *def = net_default_bridge(root);
		if (!streq(def, CELL_DEFAULT_NETWORK))
			return 0;
	}
	return cell_link_set_alias(nl, n->bridge, alias, err);
}

/* The bridge (its veths go with their containers) and the network's rules;
 * the table with the last network's. */
static int net_teardown(const struct cell_network *n, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;

	if (cell_nl_open(-1, &nl, err) < 0 || cell_link_del(nl, n->bridge, true, err) < 0)
		return -1;
	return cell_nft_bridge_del(n->bridge, err);
}

/* Does <root>/networks hold a network with this id? */
static bool network_id_exists(const char *root, const char *id)
{
	_cleanup_strv_ char **names = NULL;
	cell_error *e = NULL;
	bool found = false;

	if (cell_network_list(root, &names, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	for (char **it = names; *it && !found; it++) {
		_cleanup_free_ char *path = xasprintf("%s/networks/%s.json", root, *it), *text = NULL;
		json_object *o;
		if (read_file(path, &text, NULL, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		o = json_tokener_parse(text);
		found = o && streq(json_object_get_string(json_object_object_get(o, "id")) ?: "", id);
		json_object_put(o);
	}
	return found;
}

static bool is_cell_bridge_name(const char *name)
{
	return streq(name, CELL_DEFAULT_NETWORK) || strncmp(name, "c0-", 3) == 0 || strncmp(name, "cb-", 3) == 0;
}

struct link_set {
	const struct cell_link *v;
	size_t n;
};

static bool link_exists_cb(const char *bridge, void *data)
{
	const struct link_set *ls = data;
	for (size_t i = 0; i < ls->n; i++)
		if (streq(ls->v[i].name, bridge))
			return true;
	return false;
}

int cell_net_prune_orphans(cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	struct cell_link *links = NULL;
	struct cell_addr *addrs = NULL;
	struct cell_prefix *live = NULL;
	size_t n = 0, na = 0, nlive = 0;
	int count = 0, r = -1;

	if (cell_nl_open(-1, &nl, err) < 0 || cell_link_list(nl, &links, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char id[80], root[sizeof(links[i].alias)];
		const char *rp;
		if (!streq(links[i].kind, "bridge") || strncmp(links[i].alias, "cell:net=", 9) != 0 ||
		    !(rp = strstr(links[i].alias, " root=")))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(rp - links[i].alias - 9), links[i].alias + 9);
		snprintf(root, sizeof(root), "%s", rp + 6);
		if (network_id_exists(root, id))
			continue;
		/* a container still running on it: the root may only be out of
		 * our sight (a root in another mount namespace); it goes once
		 * its containers are gone */
		bool in_use = false;
		for (size_t j = 0; j < n && !in_use; j++)
			in_use = links[j].master == links[i].index && cell_link_veth_peer_alive(nl, &links[j]);
		if (in_use)
			continue;
		/* its veths first: a bridge's ports outlive it otherwise */
		for (size_t j = 0; j < n; j++)
			if (links[j].master == links[i].index && streq(links[j].kind, "veth") &&
			    cell_link_del(nl, links[j].name, true, err) < 0)
				goto out;
		if (cell_link_del(nl, links[i].name, true, err) < 0 || cell_nft_bridge_del(links[i].name, err) < 0)
			goto out;
		links[i].name[0] = '\0';	/* gone, for the rules below */
		count++;
	}
	/* rules whose bridge is gone, DNAT rules into no cell bridge's subnet */
	if (cell_addr_list(nl, AF_UNSPEC, &addrs, &na, err) < 0)
		goto out;
	live = xcalloc(na + 1, sizeof(*live));
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < n; j++)
			if (links[j].index == addrs[i].ifindex && links[j].name[0] && is_cell_bridge_name(links[j].name))
				cell_prefix_network(&addrs[i].prefix, &live[nlive++]);
	{
		struct link_set ls = { links, n };
		int k = cell_nft_prune(link_exists_cb, &ls, live, nlive, err);
		if (k < 0)
			goto out;
		count += k;
	}
	r = count;
out:
	free(links);
	free(addrs);
	free(live);
	return r;
}

static char *net_file(const char *root, const char *name)
{
	return xasprintf("%s/networks/%s.json", root, name);
}

char *ipam_lease_dir(const char *root, const char *name)
{
	return xasprintf("%s/networks/%s.leases", root, name);
}

static int check_net_name(const char *name, cell_error **err)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return cell_error_set(err, "network name `%s` must have 1-64 characters", name ? name : "");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '_' || c == '.' || c == '-'));
		if (!ok)
			return cell_error_set(err, "network name `%s`: only letters, digits and `_.-` (not first) are allowed", name);
	}
	return 0;
}

void cell_network_free(struct cell_network *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->id);
	free(n->bridge);
	free(n->created);
	strv_free(n->labels);
	free(n);
}

void cell_network_freep(struct cell_network **n)
{
	cell_network_free(*n);
	*n = NULL;
}

/* ---- (de)serialization ---- */

static int index_mark(const char *ldir, cell_error **err);

static json_object *network_to_json(const struct cell_network *n)
{
	char b[64];
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "id", json_object_new_string(n->id));
	json_object_object_add(o, "driver", json_object_new_string("bridge"));
	json_object_object_add(o, "bridge", json_object_new_string(n->bridge));
	json_object_object_add(o, "created", json_object_new_string(n->created));
	json_object_object_add(o, "subnet", json_object_new_string(cell_prefix_str(&n->subnet, true, b, sizeof(b))));
	json_object_object_add(o, "gateway", json_object_new_string(cell_prefix_str(&n->gateway, false, b, sizeof(b))));
	json_object_object_add(o, "ip_range", json_object_new_string(cell_prefix_str(&n->range, true, b, sizeof(b))));
	json_object_object_add(o, "internal", json_object_new_boolean(n->internal));
	if (n->unprotected4)
		json_object_object_add(o, "gateway_mode_ipv4", json_object_new_string("nat-unprotected"));
	if (n->unprotected6)
		json_object_object_add(o, "gateway_mode_ipv6", json_object_new_string("nat-unprotected"));
	if (n->subnet6.family) {
		json_object_object_add(o, "subnet6", json_object_new_string(cell_prefix_str(&n->subnet6, true, b, sizeof(b))));
		json_object_object_add(o, "gateway6", json_object_new_string(cell_prefix_str(&n->gateway6, false, b, sizeof(b))));
	}
	if (n->labels && n->labels[0]) {
		json_object *l = json_object_new_object();
		for (char **it = n->labels; *it; it++) {
			const char *eq = strchr(*it, '=');
			_cleanup_free_ char *k = eq ? strndup(*it, (size_t)(eq - *it)) : xstrdup(*it);
			json_object_object_add(l, k, json_object_new_string(eq ? eq + 1 : ""));
		}
		json_object_object_add(o, "labels", l);
	}
	return o;
}

static int network_from_json(json_object *o, const char *path, struct cell_network **ret, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = xcalloc(1, sizeof(*n));
	const char *name = NULL, *id = "", *bridge = NULL, *created = "", *subnet = NULL, *gw = NULL, *range = NULL;
	const char *subnet6 = NULL, *gw6 = NULL, *mode4 = NULL, *mode6 = NULL;
	json_object *labels = NULL;

	if (cj_expect_object(o, path, err) < 0 ||
	    cj_string(o, "gateway_mode_ipv4", path, &mode4, err) < 0 ||
	    cj_string(o, "gateway_mode_ipv6", path, &mode6, err) < 0 ||
	    cj_string(o, "name", path, &name, err) < 0 || cj_string(o, "id", path, &id, err) < 0 ||
	    cj_string(o, "bridge", path, &bridge, err) < 0 || cj_string(o, "created", path, &created, err) < 0 ||
	    cj_string(o, "subnet", path, &subnet, err) < 0 || cj_string(o, "gateway", path, &gw, err) < 0 ||
	    cj_string(o, "ip_range", path, &range, err) < 0 ||
	    cj_string(o, "subnet6", path, &subnet6, err) < 0 || cj_string(o, "gateway6", path, &gw6, err) < 0 ||
	    cj_bool(o, "internal", path, &n->internal, err) < 0 || cj_object(o, "labels", path, &labels, err) < 0)
		return -1;
	if (!name || !bridge || !subnet || !gw)
		return cell_error_set(err, "%s: missing name, bridge, subnet or gateway", path);
	/* anything but the one other mode keeps the protection */
	n->unprotected4 = mode4 && streq(mode4, "nat-unprotected");
	n->unprotected6 = mode6 && streq(mode6, "nat-unprotected");
	/* names end up in nft commands and netlink requests: letters only */
	if (check_net_name(name, err) < 0 || !*bridge || strlen(bridge) >= IFNAMSIZ ||
	    strspn(bridge, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(bridge))
		return cell_error_set(err, "%s: bad network or bridge name", path);
	if (cell_prefix_parse(subnet, &n->subnet, err) < 0 || cell_prefix_parse(gw, &n->gateway, err) < 0 ||
	    cell_prefix_parse(range ? range : subnet, &n->range, err) < 0)
		return cell_error_wrap(err, "%s", path);
	n->gateway.len = n->subnet.len;
	if (subnet6 && gw6) {
		if (cell_prefix_parse(subnet6, &n->subnet6, err) < 0 || cell_prefix_parse(gw6, &n->gateway6, err) < 0)
			return cell_error_wrap(err, "%s", path);
		n->gateway6.len = n->subnet6.len;
	}
	n->name = xstrdup(name);
	n->id = xstrdup(id);
	n->bridge = xstrdup(bridge);
	n->created = xstrdup(created);
	n->labels = xcalloc(1, sizeof(char *));
	if (labels) {
		size_t nl = 0;
		json_object_object_foreach(labels, k, v) {
			n->labels = realloc(n->labels, (nl + 2) * sizeof(char *));
			if (!n->labels)
				abort();
			n->labels[nl++] = xasprintf("%s=%s", k, json_object_get_string(v));
			n->labels[nl] = NULL;
		}
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int network_write(const char *root, const struct cell_network *n, cell_error **err)
{
	_cleanup_free_ char *path = net_file(root, n->name);
	json_object *o = network_to_json(n);
	const char *s = cj_to_string(o, true);
	int r = write_file_atomic(path, s, strlen(s), 0644, err);
	json_object_put(o);
	return r;
}

static int network_read(const char *root, const char *name, struct cell_network **ret, cell_error **err)
{
	_cleanup_free_ char *path = net_file(root, name);
	json_object *o = NULL;
	int r;

	if (access(path, F_OK) < 0)
		return net_error(err, ENOENT, "network `%s` not found (see `cell network ls`)", name);
	if (cj_parse_file(path, &o, err) < 0)
		return -1;
	r = network_from_json(o, path, ret, err);
	json_object_put(o);
	return r;
}

/* ---- collision checks ---- */

struct host_routes {
	struct cell_route *v;
	size_t n;
	struct cell_link *links;
	size_t n_links;
};

static void host_routes_free(struct host_routes *h)
{
	free(h->v);
	free(h->links);
}

static int host_routes_load(struct host_routes *h, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	memset(h, 0, sizeof(*h));
	if (cell_nl_open(-1, &nl, err) < 0)
		return -1;
	if (cell_route_list(nl, AF_UNSPEC, &h->v, &h->n, err) < 0)
		return cell_error_wrap(err, "check the host's routes");
	if (cell_link_list(nl, &h->links, &h->n_links, err) < 0)
		return cell_error_wrap(err, "check the host's links");
	return 0;
}

static const char *link_name(const struct host_routes *h, int index)
{
	for (size_t i = 0; i < h->n_links; i++)
		if (h->links[i].index == index)
			return h->links[i].name;
	return "?";
}

/* A host route (not the default one, not on `own_bridge`) that overlaps p. */
static const struct cell_route *route_collision(const struct host_routes *h, const struct cell_prefix *p,
						const char *own_bridge)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct cell_route *r = &h->v[i];
		if (r->dst.len == 0 || r->type == RTN_BROADCAST || r->type == RTN_MULTICAST)
			continue;
		if (own_bridge && streq(link_name(h, r->oif), own_bridge))
			continue;
		/* loopback's 127/8 never reaches a bridge; nor do IPv6 link-local,
		 * multicast and loopback routes that every interface has */
		if (r->dst.family == AF_INET && r->dst.addr[0] == 127)
			continue;
		if (r->dst.family == AF_INET6 && (r->dst.addr[0] == 0xff || (r->dst.addr[0] == 0xfe && (r->dst.addr[1] & 0xc0) == 0x80) ||
						  r->dst.len == 128))
			continue;
		if (cell_prefix_overlaps(&r->dst, p))
			return r;
	}
	return NULL;
}

/* Another network whose subnet overlaps p, as a new string, or NULL. */
static char *network_collision(const char *root, const char *self, const struct cell_prefix *p)
{
	_cleanup_strv_ char **names = NULL;
	cell_error *e = NULL;

	if (cell_network_list(root, &names, &e) < 0) {
		cell_error_free(&e);
		return NULL;
	}
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		if (self && streq(*it, self))
			continue;
		if (network_read(root, *it, &n, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		if (cell_prefix_overlaps(&n->subnet, p) || (n->subnet6.family && cell_prefix_overlaps(&n->subnet6, p)))
			return xstrdup(n->name);
	}
	return NULL;
}

static int check_subnet_free(const char *root, const char *name, const char *bridge,
			     const struct cell_prefix *subnet, const struct host_routes *h, cell_error **err)
{
	char a[64], b[64];
	_cleanup_free_ char *other = network_collision(root, name, subnet);
	const struct cell_route *r;

	cell_prefix_str(subnet, true, a, sizeof(a));
	if (other)
		return net_error(err, EEXIST, "subnet %s overlaps network `%s`", a, other);
	r = route_collision(h, subnet, bridge);
	if (r)
		return net_error(err, EEXIST, "subnet %s overlaps the host's route %s dev %s; choose another with --subnet",
					a, cell_prefix_str(&r->dst, true, b, sizeof(b)), link_name(h, r->oif));
	return 0;
}

int cell_network_pick_subnet(const char *root, struct cell_prefix *ret, cell_error **err)
{
	struct host_routes h;
	struct cell_prefix p;
	int r = -1;

	if (host_routes_load(&h, err) < 0)
		goto out;
	/* podman's 10.88/16 first, then the rest of 10.88-10.99, then Docker-like 172.18-31 */
	for (int i = 0; i < 26; i++) {
		uint32_t base = i < 12 ? (10u << 24 | (88u + i) << 16) : (172u << 24 | (18u + i - 12) << 16);
		_cleanup_free_ char *other = NULL;
		cell_prefix_set_v4(&p, base, 16);
		other = network_collision(root, NULL, &p);
		if (other || route_collision(&h, &p, NULL))
			continue;
		*ret = p;
		r = 0;
		goto out;
	}
	r = net_error(err, EADDRNOTAVAIL, "no free /16 left in 10.88-99.0.0 and 172.18-31.0.0; give one with --subnet");
out:
	host_routes_free(&h);
	return r;
}

/* ---- create / load / list / remove ---- */

static char *random_id(void)
{
	uint8_t b[32];
	char *s = xmalloc(65);
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(rand() ^ getpid() ^ (int)i);
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

void cell_network_ip6(const struct cell_network *n, const struct cell_prefix *ip4, struct cell_prefix *ret)
{
	uint32_t host = cell_prefix_v4(ip4) & (0xffffffffu >> n->subnet.len);

	memset(ret, 0, sizeof(*ret));
	if (!n->subnet6.family)
		return;
	*ret = n->subnet6;
	for (int i = 0; i < 4; i++)
		ret->addr[15 - i] |= (uint8_t)(host >> (8 * i));
}

int net_ip6_of(const struct cell_prefix *ip4, struct cell_prefix *ret, cell_error **err)
{
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	struct cell_addr *a = NULL;
	size_t n = 0;
	int idx = 0, len4 = 0;

	memset(ret, 0, sizeof(*ret));
	if (cell_nl_open(-1, &nl, err) < 0 || cell_addr_list(nl, AF_UNSPEC, &a, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !idx; i++)
		if (a[i].prefix.family == AF_INET && a[i].prefix.len < 32 && cell_prefix_contains(&a[i].prefix, ip4))
			idx = a[i].ifindex, len4 = a[i].prefix.len;
	for (size_t i = 0; i < n && idx && !ret->family; i++) {
		const uint8_t *x = a[i].prefix.addr;
		if (a[i].ifindex != idx || a[i].prefix.family != AF_INET6 || a[i].scope != RT_SCOPE_UNIVERSE ||
		    (x[0] == 0xfe && (x[1] & 0xc0) == 0x80))
			continue;
		struct cell_network net = { .subnet = { .family = AF_INET, .len = len4 } };
		cell_prefix_network(&a[i].prefix, &net.subnet6);
		cell_network_ip6(&net, ip4, ret);
	}
	free(a);
	return 0;
}

static int build_v6(struct cell_network *n, const struct cell_network_opts *o, cell_error **err)
{
	char a[64];

	if (o->subnet6) {
		if (cell_prefix_parse(o->subnet6, &n->subnet6, err) < 0)
			return cell_error_wrap(err, "--subnet");
		if (n->subnet6.family != AF_INET6 || n->subnet6.len < 48 || n->subnet6.len > 120 - (32 - n->subnet.len))
			return cell_error_set(err, "--subnet %s: an IPv6 subnet must be /48 to /%d (room for the IPv4 host part)",
					      o->subnet6, 120 - (32 - n->subnet.len));
	} else {
		/* a random ULA /64 (RFC 4193): fd + 40 random bits + 16-bit subnet 0 */
		uint8_t r[5];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return cell_error_errno(err, errno, "getrandom");
		memset(&n->subnet6, 0, sizeof(n->subnet6));
		n->subnet6.family = AF_INET6;
		n->subnet6.len = 64;
		n->subnet6.addr[0] = 0xfd;
		memcpy(n->subnet6.addr + 1, r, 5);
	}
	cell_prefix_network(&n->subnet6, &n->subnet6);
	cell_prefix_str(&n->subnet6, true, a, sizeof(a));
	/* the gateway takes the slot of the IPv4 gateway: never leased */
	cell_network_ip6(n, &n->gateway, &n->gateway6);
	if (o->gateway6) {
		struct cell_prefix g, any;
		uint32_t host_bits = 32 - n->subnet.len;
		if (cell_prefix_parse(o->gateway6, &g, err) < 0)
			return cell_error_wrap(err, "--gateway");
		g.len = n->subnet6.len;
		if (!cell_prefix_contains(&n->subnet6, &g))
			return cell_error_set(err, "--gateway %s is not in subnet %s", o->gateway6, a);
		/* any address in subnet6 + [0, 2^host_bits) may be a container's */
		any = g;
		any.len = 128 - host_bits;
		if (memcmp(g.addr, n->gateway6.addr, 16) != 0 && cell_prefix_contains(&any, &n->gateway6))
			return cell_error_set(err, "--gateway %s is in the range of container addresses of %s; "
					      "leave it out (it defaults to the IPv4 gateway's slot)", o->gateway6, a);
		n->gateway6 = g;
	}
	return 0;
}

static int build_network(const char *root, const char *name, const struct cell_network_opts *o,
			 struct cell_network **ret, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = xcalloc(1, sizeof(*n));
	char ts[64], a[64];
	struct host_routes h = { 0 };
	uint32_t net, bcast;
	int r = -1;

	n->name = xstrdup(name);
	n->id = random_id();
	n->bridge = streq(name, CELL_DEFAULT_NETWORK) ? net_default_bridge(root) : xasprintf("cb-%.10s", n->id);
	rfc3339_now(ts, sizeof(ts));
	n->created = xstrdup(ts);
	n->internal = o->internal;
	n->unprotected4 = o->unprotected4;
	n->unprotected6 = o->unprotected6;
	n->labels = xcalloc(strv_len(o->labels) + 1, sizeof(char *));
	for (size_t i = 0; o->labels && o->labels[i]; i++) {
		if (!*o->labels[i] || *o->labels[i] == '=')
			return cell_error_set(err, "--label `%s`: expected KEY=VALUE", o->labels[i]);
		n->labels[i] = xstrdup(o->labels[i]);
	}

	if (o->subnet) {
		if (cell_prefix_parse(o->subnet, &n->subnet, err) < 0)
			return cell_error_wrap(err, "--subnet");
	} else if (cell_network_pick_subnet(root, &n->subnet, err) < 0) {
		return -1;
	}
	if (n->subnet.family != AF_INET)
		return cell_error_set(err, "--subnet %s: only IPv4 subnets are supported", o->subnet);
	if (n->subnet.len < 8 || n->subnet.len > 30)
		return cell_error_set(err, "--subnet %s: prefix length must be 8-30", o->subnet);
	cell_prefix_network(&n->subnet, &n->subnet);
	net = cell_prefix_v4(&n->subnet);
	bcast = net | (0xffffffffu >> n->subnet.len);
	cell_prefix_str(&n->subnet, true, a, sizeof(a));

	if (o->gateway) {
		if (cell_prefix_parse(o->gateway, &n->gateway, err) < 0)
			return cell_error_wrap(err, "--gateway");
		n->gateway.len = n->subnet.len;
		if (!cell_prefix_contains(&n->subnet, &n->gateway) || cell_prefix_v4(&n->gateway) == net ||
		    cell_prefix_v4(&n->gateway) == bcast)
			return cell_error_set(err, "--gateway %s is not a host address of subnet %s", o->gateway, a);
	} else {
		cell_prefix_set_v4(&n->gateway, net + 1, n->subnet.len);
	}
	if (o->ip_range) {
		if (cell_prefix_parse(o->ip_range, &n->range, err) < 0)
			return cell_error_wrap(err, "--ip-range");
		cell_prefix_network(&n->range, &n->range);
		if (n->range.family != AF_INET || n->range.len < n->subnet.len ||
		    !cell_prefix_contains(&n->subnet, &n->range))
			return cell_error_set(err, "--ip-range %s is not inside subnet %s", o->ip_range, a);
	} else {
		n->range = n->subnet;
	}
	if ((o->ipv6 || o->subnet6) && build_v6(n, o, err) < 0)
		return -1;
	if (host_routes_load(&h, err) < 0)
		goto out;
	if (check_subnet_free(root, name, n->bridge, &n->subnet, &h, err) < 0)
		goto out;
	if (n->subnet6.family && check_subnet_free(root, name, n->bridge, &n->subnet6, &h, err) < 0)
		goto out;
	*ret = TAKE_PTR(n);
	r = 0;
out:
	host_routes_free(&h);
	return r;
}

static int network_create_locked(const char *root, const char *name, const struct cell_network_opts *o,
				 struct cell_network **ret, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	_cleanup_free_ char *path = net_file(root, name);
	_cleanup_free_ char *ldir = ipam_lease_dir(root, name);
	cell_error *e = NULL;

	if (check_net_name(name, err) < 0)
		return -1;
	if (access(path, F_OK) == 0)
		return net_error(err, EEXIST, "network `%s` exists already", name);
	if (build_network(root, name, o, &n, err) < 0)
		return cell_error_wrap(err, "create network `%s`", name);
	if (mkdir_p(ldir, 0700, err) < 0 || index_mark(ldir, err) < 0 || network_write(root, n, err) < 0)
		return cell_error_wrap(err, "create network `%s`", name);
	if (bridge_claim(root, n, err) < 0 || cell_network_setup(n, err) < 0) {
		/* nothing half-configured: the bridge and rules go with the file */
		net_teardown(n, &e);
		cell_error_free(&e);
		unlink(path);
		rmdir(ldir);
		return cell_error_wrap(err, "create network `%s`", name);
	}
	if (ret)
		*ret = TAKE_PTR(n);
	return 0;
}

/* ---- which leases a container holds, without reading every lease ----
 *
 * <net>.leases/.ctr-<id> is a symlink to the container's lease file there
 * (its address), made just after the lease and removed just before it, so
 * that detach reads one lease per network instead of every lease of the
 * root (O(peers) per removal, O(peers^2) for `rm -f` of all). A network's
 * .indexed (made with it) says its leases all have one; an older network
 * without it is read whole, as before. Lists skip dot-files; the temp-file
 * sweep leaves these alone (no pid after their last dot). */

static int index_mark(const char *ldir, cell_error **err)
{
	_cleanup_free_ char *m = xasprintf("%s/.indexed", ldir);
	int fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_error_errno(err, errno, "create `%s`", m);
	close(fd);
	return 0;
}

static char *index_path(const char *root, const char *network, const char *id)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, network);
	return xasprintf("%s/.ctr-%s", dir, id);
}

static int lease_read(const char *path, const char *network, struct cell_lease *l, cell_error **err);

int ipam_container_leases(const char *root, const char *id, struct cell_lease **ret, size_t *ret_n,
			  cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	struct cell_lease *v = NULL;
	size_t n = 0;

	if (cell_network_list(root, &names, err) < 0)
		return -1;
	for (char **it = names; *it; it++) {
		_cleanup_free_ char *dir = ipam_lease_dir(root, *it);
		_cleanup_free_ char *mark = xasprintf("%s/.indexed", dir);
		if (access(mark, F_OK) < 0) {
			/* a network from before the index: every lease of it */
			struct cell_lease *all = NULL;
			size_t na = 0;
			if (cell_lease_list(root, *it, &all, &na, err) < 0) {
				cell_lease_list_free(v, n);
				return -1;
			}
			for (size_t i = 0; i < na; i++) {
				if (!streq(all[i].container, id)) {
					cell_lease_free(&all[i]);
					continue;
				}
				v = realloc(v, (n + 1) * sizeof(*v));
				if (!v)
					abort();
				v[n++] = all[i];
			}
			free(all);
			continue;
		}
		_cleanup_free_ char *ix = index_path(root, *it, id);
		char target[64];
		ssize_t l = readlink(ix, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		if (strchr(target, '/') || target[0] == '.')
			continue;
		_cleanup_free_ char *lp = xasprintf("%s/%s", dir, target);
		struct cell_lease one;
		cell_error *e = NULL;
		if (lease_read(lp, *it, &one, &e) < 0) {
			cell_error_free(&e);
			continue;	/* a stale index: its lease is gone */
		}
		if (!streq(one.container, id)) {
			cell_lease_free(&one);
			continue;
		}
		v = realloc(v, (n + 1) * sizeof(*v));
		if (!v)
			abort();
		v[n++] = one;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cell_network_opt_parse(struct cell_network_opts *opts, const char *kv, cell_error **err)
{
	static const char mode4[] = "com.docker.network.bridge.gateway_mode_ipv4";
	static const char mode6[] = "com.docker.network.bridge.gateway_mode_ipv6";
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	bool *flag;

	if (kl == strlen(mode4) && strncmp(kv, mode4, kl) == 0)
		flag = &opts->unprotected4;
	else if (kl == strlen(mode6) && strncmp(kv, mode6, kl) == 0)
		flag = &opts->unprotected6;
	else
		return cell_error_set(err, "-o `%s`: unknown network option (cell knows %s and %s)", kv, mode4, mode6);
	if (!eq)
		return cell_error_set(err, "-o `%s`: expected KEY=VALUE", kv);
	/* Docker's `routed` (no NAT at all) and `isolated` are not done here */
	if (streq(eq + 1, "nat"))
		*flag = false;
	else if (streq(eq + 1, "nat-unprotected"))
		*flag = true;
	else
		return cell_error_set(err, "-o `%s`: gateway mode `%s` is not supported (use nat or nat-unprotected)", kv,
				      eq + 1);
	return 0;
}

int cell_network_create(const char *root, const char *name, const struct cell_network_opts *o,
			struct cell_network **ret, cell_error **err)
{
	_cleanup_close_ int lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	return network_create_locked(root, name, o, ret, err);
}

int ipam_load_locked(const char *root, const char *name, struct cell_network **ret, cell_error **err)
{
	_cleanup_free_ char *path = NULL;
	struct cell_network_opts def = { 0 };

	if (!name)
		name = CELL_DEFAULT_NETWORK;
	if (check_net_name(name, err) < 0)
		return -1;
	path = net_file(root, name);
	if (streq(name, CELL_DEFAULT_NETWORK) && access(path, F_OK) < 0)
		return network_create_locked(root, name, &def, ret, err);
	if (network_read(root, name, ret, err) < 0)
		return -1;
	/* an attach makes the bridge again after a reboot: with its owner */
	if (bridge_claim(root, *ret, err) < 0) {
		cell_network_freep(ret);
		return -1;
	}
	return 0;
}

int cell_network_load(const char *root, const char *name, struct cell_network **ret, cell_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int lock = -1;

	if (!name)
		name = CELL_DEFAULT_NETWORK;
	if (check_net_name(name, err) < 0)
		return -1;
	path = net_file(root, name);
	if (access(path, F_OK) == 0 || !streq(name, CELL_DEFAULT_NETWORK))
		return network_read(root, name, ret, err);
	lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	return ipam_load_locked(root, name, ret, err);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cell_network_list(const char *root, char ***ret, cell_error **err)
{
	_cleanup_free_ char *dir = ipam_dir(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;

	if (!d) {
		if (errno == ENOENT) {
			*ret = v;
			return 0;
		}
		free(v);
		return cell_error_errno(err, errno, "open `%s`", dir);
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || !streq(de->d_name + l - 5, ".json"))
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		if (!v)
			abort();
		v[n++] = strndup(de->d_name, l - 5);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmpstr);
	*ret = v;
	return 0;
}

int cell_network_find(const char *root, const char *ref, struct cell_network **ret, cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *path = NULL;
	char *match = NULL;
	size_t rl = ref ? strlen(ref) : 0;

	if (!rl)
		return net_error(err, ENOENT, "network `` not found: give a name or an id");
	if (streq(ref, "bridge"))
		ref = CELL_DEFAULT_NETWORK;
	/* a name first (a name that looks like an id is still a name) */
	cell_error *x = NULL;
	bool valid = check_net_name(ref, &x) == 0;
	cell_error_free(&x);
	if (valid) {
		path = net_file(root, ref);
		if (access(path, F_OK) == 0 || streq(ref, CELL_DEFAULT_NETWORK))
			return cell_network_load(root, ref, ret, err);
	}
	if (rl > 64 || strspn(ref, "0123456789abcdef") != rl)
		return net_error(err, ENOENT, "network `%s` not found (see `cell network ls`)", ref);
	if (cell_network_list(root, &names, err) < 0)
		return -1;
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		cell_error *e = NULL;
		if (network_read(root, *it, &n, &e) < 0) {
			cell_error_free(&e);	/* removed meanwhile, or unreadable: not this one */
			continue;
		}
		if (strncmp(n->id, ref, rl) != 0)
			continue;
		if (match)
			return net_error(err, EINVAL, "network id prefix `%s` is ambiguous: `%s` and `%s` have it "
					 "(give more of the id)", ref, match, *it);
		match = *it;
	}
	if (!match)
		return net_error(err, ENOENT, "network `%s` not found (see `cell network ls`)", ref);
	return cell_network_load(root, match, ret, err);
}

bool cell_network_has_label(const struct cell_network *n, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t kl = eq ? (size_t)(eq - want) : strlen(want);
	for (char **it = n->labels; it && *it; it++) {
		const char *e2 = strchr(*it, '=');
		size_t l = e2 ? (size_t)(e2 - *it) : strlen(*it);
		if (l == kl && strncmp(*it, want, kl) == 0 && (!eq || streq(e2 ? e2 + 1 : "", eq + 1)))
			return true;
	}
	return false;
}

int cell_network_prune(const char *root, char **labels, char ***ret_removed, int *ret_dead, int *ret_orphans,
		       cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	char **gone = xcalloc(1, sizeof(char *));
	size_t ng = 0;
	int dead = cell_net_prune_leases(root, err), orphans = dead < 0 ? -1 : cell_net_prune_orphans(err);

	if (dead < 0 || orphans < 0 || cell_network_list(root, &names, err) < 0) {
		strv_free(gone);
		return -1;
	}
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		struct cell_lease *l = NULL;
		size_t nl = 0;
		bool want = true;
		cell_error *e = NULL;
		if (streq(*it, CELL_DEFAULT_NETWORK))
			continue;	/* the default network stays, as Docker's bridge does */
		if (network_read(root, *it, &n, &e) < 0) {
			cell_error_free(&e);
			continue;
		}
		for (char **lb = labels; lb && *lb && want; lb++)
			want = cell_network_has_label(n, *lb);
		if (!want)
			continue;
		if (cell_lease_list(root, *it, &l, &nl, err) < 0)
			goto fail;
		cell_lease_list_free(l, nl);
		if (nl)
			continue;
		if (cell_network_remove(root, *it, false, &e) < 0) {
			/* a container joined it meanwhile: in use, so kept */
			if (cell_error_code(e) == EBUSY || cell_error_code(e) == ENOENT) {
				cell_error_free(&e);
				continue;
			}
			*err = e;
			goto fail;
		}
		gone = realloc(gone, (ng + 2) * sizeof(char *));
		if (!gone)
			abort();
		gone[ng++] = xstrdup(*it);
		gone[ng] = NULL;
	}
	if (ret_dead)
		*ret_dead = dead;
	if (ret_orphans)
		*ret_orphans = orphans;
	*ret_removed = gone;
	return 0;
fail:
	strv_free(gone);
	return -1;
}

int cell_network_remove(const char *root, const char *name, bool force, cell_error **err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_cell_network_ struct cell_network *n = NULL;
	_cleanup_free_ char *path = NULL, *ldir = NULL;
	struct cell_lease *leases = NULL;
	size_t nl = 0;

	if (check_net_name(name, err) < 0)
		return -1;
	lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	if (network_read(root, name, &n, err) < 0)
		return -1;
	if (cell_lease_list(root, name, &leases, &nl, err) < 0)
		return -1;
	if (nl > 0 && !force) {
		int r = net_error(err, EBUSY, "network `%s` is in use by container `%s`%s (remove the containers first)",
					 name, leases[0].container, nl > 1 ? " and others" : "");
		cell_lease_list_free(leases, nl);
		return r;
	}
	for (size_t i = 0; i < nl; i++)
		if (ipam_release(root, &leases[i], err) < 0) {
			cell_lease_list_free(leases, nl);
			return cell_error_wrap(err, "remove network `%s`", name);
		}
	cell_lease_list_free(leases, nl);
	if (net_teardown(n, err) < 0)
		return cell_error_wrap(err, "remove network `%s`", name);
	path = net_file(root, name);
	ldir = ipam_lease_dir(root, name);
	if (rm_rf(ldir, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return cell_error_errno(err, errno, "remove `%s`", path);
	return 0;
}

/* ---- leases ---- */

void cell_lease_free(struct cell_lease *l)
{
	if (!l)
		return;
	free(l->network);
	free(l->container);
	free(l->veth);
	free(l->mac);
	free(l->hostname);
	strv_free(l->aliases);
	free(l->ports);
	free(l->hosts_path);
	free(l->netns_path);
	strv_free(l->add_hosts);
	memset(l, 0, sizeof(*l));
}

void cell_lease_list_free(struct cell_lease *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cell_lease_free(&l[i]);
	free(l);
}

/* ---- which lease publishes a host port, without reading every lease ----
 *
 * <root>/networks/.ports/tcp-8080 is a symlink to "<network>/<ip>", the
 * lease that publishes host port 8080/tcp, made after the lease is written
 * and removed with it, so that an attach with -p reads one lease per port
 * instead of every lease of the root. It is a hint, checked against the
 * lease it names: one left by a crash names a lease that is gone, or one
 * without that port, and is ignored. The folder is made whole (every
 * lease's ports, in a temp folder renamed in place) the first time a port
 * is checked, so a root from before the index is read once. */

static char *ports_dir(const char *root)
{
	return xasprintf("%s/networks/.ports", root);
}

static void port_link_name(const struct cell_port *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s-%u", net_proto_name(p->proto), p->host_port);
}

/* every host port of lease l into folder dir, pointing at l */
static int ports_index_put(const char *dir, const struct cell_lease *l, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(l->ports ? l->ports : "");
	char *save = NULL, a[64], name[32];

	cell_prefix_str(&l->ip, false, a, sizeof(a));
	_cleanup_free_ char *target = xasprintf("%s/%s", l->network, a);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct cell_port q;
		if (net_port_entry_parse(t, &q) < 0 || !q.host_port)
			continue;
		port_link_name(&q, name, sizeof(name));
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
		_cleanup_free_ char *tmp = xasprintf("%s/.%s.%d", dir, name, (int)getpid());
		unlink(tmp);
		if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
			int e = errno;
			unlink(tmp);
			return cell_error_errno(err, e, "index host port %u/%s of lease %s", q.host_port,
						net_proto_name(q.proto), target);
		}
	}
	return 0;
}

static void ports_index_drop(const char *root, const struct cell_lease *l)
{
	_cleanup_free_ char *dir = ports_dir(root);
	_cleanup_free_ char *copy = xstrdup(l->ports ? l->ports : "");
	char *save = NULL, a[64], name[32], got[160];

	cell_prefix_str(&l->ip, false, a, sizeof(a));
	_cleanup_free_ char *target = xasprintf("%s/%s", l->network, a);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct cell_port q;
		if (net_port_entry_parse(t, &q) < 0 || !q.host_port)
			continue;
		port_link_name(&q, name, sizeof(name));
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
		ssize_t k = readlink(path, got, sizeof(got) - 1);
		/* only ours: a later lease may have taken the port since */
		if (k > 0 && (got[k] = '\0', streq(got, target)))
			unlink(path);
	}
}

/* The folder, made from every lease if it is not there yet. */
static int ports_index_ready(const char *root, cell_error **err)
{
	_cleanup_free_ char *dir = ports_dir(root);
	struct cell_lease *all = NULL;
	size_t n = 0;
	int r = 0;

	if (access(dir, F_OK) == 0)
		return 0;
	_cleanup_free_ char *tmp = xasprintf("%s.%d", dir, (int)getpid());
	cell_error *e = NULL;
	rm_rf(tmp, &e);	/* a crashed maker's */
	cell_error_free(&e);
	if (mkdir(tmp, 0700) < 0)
		return cell_error_errno(err, errno, "create the host port index `%s`", tmp);
	if (cell_lease_list(root, NULL, &all, &n, err) < 0) {
		r = -1;
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = ports_index_put(tmp, &all[i], err);
	if (r == 0 && rename(tmp, dir) < 0)
		r = cell_error_errno(err, errno, "put the host port index in place at `%s`", dir);
out:
	cell_lease_list_free(all, n);
	if (r < 0) {
		rm_rf(tmp, &e);
		cell_error_free(&e);
	}
	return r;
}

int ipam_check_published(const char *root, const struct cell_port *p, cell_error **err)
{
	_cleanup_free_ char *dir = ports_dir(root);
	char name[32], got[160];
	struct cell_lease l = { 0 };

	if (ports_index_ready(root, err) < 0)
		return -1;
	port_link_name(p, name, sizeof(name));
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	ssize_t k = readlink(path, got, sizeof(got) - 1);
	if (k <= 0)
		return 0;
	got[k] = '\0';
	/* "<network>/<ip>", nothing else */
	char *slash = strchr(got, '/');
	if (!slash || strchr(slash + 1, '/') || slash[1] == '.' || !slash[1])
		return 0;
	*slash = '\0';
	cell_error *e = NULL;
	if (check_net_name(got, &e) < 0) {
		cell_error_free(&e);
		return 0;
	}
	_cleanup_free_ char *ldir = ipam_lease_dir(root, got);
	_cleanup_free_ char *lpath = xasprintf("%s/%s", ldir, slash + 1);
	if (lease_read(lpath, got, &l, &e) < 0) {
		cell_error_free(&e);	/* gone: the hint is stale */
		return 0;
	}
	int r = net_check_published(&l, 1, p, err);
	cell_lease_free(&l);
	return r;
}

int ipam_lease_write(const char *root, const struct cell_lease *l, bool create, cell_error **err)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, l->network);
	_cleanup_free_ char *path = NULL;
	char a[64], b[64];
	json_object *o = json_object_new_object(), *al = json_object_new_array();
	const char *s;
	int r = 0;

	cell_prefix_str(&l->ip, false, a, sizeof(a));
	path = xasprintf("%s/%s", dir, a);
	json_object_object_add(o, "network", json_object_new_string(l->network));
	json_object_object_add(o, "container", json_object_new_string(l->container));
	/* with the prefix length, as the container's interface has it */
	json_object_object_add(o, "ip", json_object_new_string(cell_prefix_str(&l->ip, true, b, sizeof(b))));
	json_object_object_add(o, "veth", json_object_new_string(l->veth ? l->veth : ""));
	json_object_object_add(o, "mac", json_object_new_string(l->mac ? l->mac : ""));
	json_object_object_add(o, "hostname", json_object_new_string(l->hostname ? l->hostname : ""));
	for (char **it = l->aliases; it && *it; it++)
		json_object_array_add(al, json_object_new_string(*it));
	json_object_object_add(o, "aliases", al);
	al = json_object_new_array();
	for (char **it = l->add_hosts; it && *it; it++)
		json_object_array_add(al, json_object_new_string(*it));
	json_object_object_add(o, "add_hosts", al);
	json_object_object_add(o, "hosts_path", json_object_new_string(l->hosts_path ? l->hosts_path : ""));
	json_object_object_add(o, "netns_path", json_object_new_string(l->netns_path ? l->netns_path : ""));
	json_object_object_add(o, "pid", json_object_new_int64(l->pid));
	json_object_object_add(o, "start_time", json_object_new_uint64(l->start_time));
	json_object_object_add(o, "ports", json_object_new_string(l->ports ? l->ports : ""));
	s = cj_to_string(o, true);
	if (create) {
		/* content first, in a temp file, then link(): the lease appears
		 * whole or not at all, and link's EEXIST is what makes the address
		 * ours (a kill -9 can leave only a dot-file, which lists skip) */
		_cleanup_free_ char *tmp = xasprintf("%s/.%s.%d", dir, a, (int)getpid());
		if (write_file_atomic(tmp, s, strlen(s), 0644, err) < 0)
			goto out;
		if (link(tmp, path) < 0) {
			r = cell_error_errno(err, errno, "lease address %s in network `%s`", a, l->network);
			unlink(tmp);
			goto out;
		}
		unlink(tmp);
		{
			_cleanup_free_ char *ix = index_path(root, l->network, l->container);
			unlink(ix);	/* a stale one, left by a crash */
			if (symlink(a, ix) < 0) {
				r = cell_error_errno(err, errno, "index lease %s in network `%s`", a, l->network);
				unlink(path);
			}
		}
		goto out;
	}
	r = write_file_atomic(path, s, strlen(s), 0644, err);
out:
	json_object_put(o);
	if (r == 0 && l->ports && *l->ports) {
		/* only into a folder made whole: a missing one is made from
		 * every lease, this one among them, when a port is next checked */
		_cleanup_free_ char *pd = ports_dir(root);
		if (access(pd, F_OK) == 0)
			r = ports_index_put(pd, l, err);
	}
	return r;
}

static int lease_read(const char *path, const char *network, struct cell_lease *l, cell_error **err)
{
	json_object *o = NULL;
	const char *c = NULL, *ip = NULL, *veth = "", *mac = "", *host = "", *ports = "", *hp = "", *np = "";
	int64_t pid = 0;
	uint64_t st = 0;
	int r = -1;

	memset(l, 0, sizeof(*l));
	if (cj_parse_file(path, &o, err) < 0)
		return -1;
	if (cj_string(o, "container", path, &c, err) < 0 || cj_string(o, "ip", path, &ip, err) < 0 ||
	    cj_string(o, "veth", path, &veth, err) < 0 || cj_string(o, "mac", path, &mac, err) < 0 ||
	    cj_string(o, "hostname", path, &host, err) < 0 || cj_int64(o, "pid", path, &pid, err) < 0 ||
	    cj_uint64(o, "start_time", path, &st, err) < 0 || cj_string(o, "ports", path, &ports, err) < 0 ||
	    cj_strv(o, "aliases", path, &l->aliases, err) < 0 || cj_strv(o, "add_hosts", path, &l->add_hosts, err) < 0 ||
	    cj_string(o, "hosts_path", path, &hp, err) < 0 || cj_string(o, "netns_path", path, &np, err) < 0)
		goto out;
	if (!c || !ip) {
		cell_error_set(err, "%s: missing container or ip", path);
		goto out;
	}
	if (cell_prefix_parse(ip, &l->ip, err) < 0)
		goto out;
	l->network = xstrdup(network);
	l->container = xstrdup(c);
	l->veth = xstrdup(veth);
	l->mac = xstrdup(mac);
	l->hostname = xstrdup(host);
	l->ports = xstrdup(ports);
	l->hosts_path = xstrdup(hp);
	l->netns_path = xstrdup(np);
	l->pid = (pid_t)pid;
	l->start_time = st;
	r = 0;
out:
	json_object_put(o);
	if (r < 0)
		cell_lease_free(l);
	return r;
}

static int lease_list_one(const char *root, const char *network, struct cell_lease **v, size_t *n,
			  cell_error **err)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, network);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "open `%s`", dir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		struct cell_lease l;
		cell_error *e = NULL;
		/* dot-files and *.tmp.PID are leases being written (or left by a kill) */
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lease_read(path, network, &l, &e) < 0) {
			/* an empty file is a lease being written by another process */
			cell_error_free(&e);
			continue;
		}
		*v = realloc(*v, (*n + 1) * sizeof(**v));
		if (!*v)
			abort();
		(*v)[(*n)++] = l;
	}
	closedir(d);
	return 0;
}

int cell_lease_list(const char *root, const char *network, struct cell_lease **ret, size_t *ret_n,
		    cell_error **err)
{
	struct cell_lease *v = NULL;
	size_t n = 0;

	if (network) {
		if (lease_list_one(root, network, &v, &n, err) < 0)
			goto fail;
	} else {
		_cleanup_strv_ char **names = NULL;
		if (cell_network_list(root, &names, err) < 0)
			goto fail;
		for (char **it = names; *it; it++)
			if (lease_list_one(root, *it, &v, &n, err) < 0)
				goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	cell_lease_list_free(v, n);
	return -1;
}

/* Is this address taken in the network (lease file present)? */
static bool lease_exists(const char *root, const char *network, const struct cell_prefix *ip, char **owner)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, network);
	_cleanup_free_ char *path = NULL;
	char a[64];
	struct cell_lease l;
	cell_error *e = NULL;

	path = xasprintf("%s/%s", dir, cell_prefix_str(ip, false, a, sizeof(a)));
	if (access(path, F_OK) < 0)
		return false;
	if (owner && lease_read(path, network, &l, &e) == 0) {
		*owner = xstrdup(l.container);
		cell_lease_free(&l);
	}
	cell_error_free(&e);
	return true;
}

int ipam_pick_address(const char *root, const struct cell_network *n, const char *requested,
		      struct cell_prefix *ret, cell_error **err)
{
	uint32_t net = cell_prefix_v4(&n->subnet);
	uint32_t bcast = net | (0xffffffffu >> n->subnet.len);
	uint32_t gw = cell_prefix_v4(&n->gateway);
	struct cell_prefix p;
	char a[64];

	if (requested) {
		_cleanup_free_ char *owner = NULL;
		uint32_t v;
		if (cell_prefix_parse(requested, &p, err) < 0)
			return cell_error_wrap(err, "--ip");
		p.len = n->subnet.len;
		cell_prefix_str(&n->subnet, true, a, sizeof(a));
		v = cell_prefix_v4(&p);
		if (!cell_prefix_contains(&n->subnet, &p) || v == net || v == bcast)
			return cell_error_errno(err, EINVAL, "--ip %s is not a host address of network `%s` (%s)",
						requested, n->name, a);
		if (v == gw)
			return net_error(err, EADDRINUSE, "--ip %s is the gateway of network `%s`", requested, n->name);
		if (lease_exists(root, n->name, &p, &owner))
			return net_error(err, EADDRINUSE, "--ip %s is already leased to container `%s` in network `%s`",
						requested, owner ? owner : "?", n->name);
		*ret = p;
		return 0;
	}
	{
		uint32_t lo = cell_prefix_v4(&n->range), hi = lo | (0xffffffffu >> n->range.len);
		for (uint32_t v = lo; v <= hi && v >= lo; v++) {
			if (v == net || v == bcast || v == gw)
				continue;
			cell_prefix_set_v4(&p, v, n->subnet.len);
			if (!lease_exists(root, n->name, &p, NULL)) {
				*ret = p;
				return 0;
			}
		}
	}
	return net_error(err, EADDRNOTAVAIL, "network `%s` has no free address left in %s", n->name,
				cell_prefix_str(&n->range, true, a, sizeof(a)));
}

void ipam_sweep_temp(const char *root, const char *network)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, network);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		int64_t pid;
		if (streq(de->d_name, ".") || streq(de->d_name, "..") || !dot)
			continue;
		if (de->d_name[0] != '.' && !strstr(de->d_name, ".tmp."))
			continue;
		/* the writer's pid ends the name: remove only when it is gone */
		if (parse_int64(dot + 1, &pid) < 0 || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int ipam_lease_remove(const char *root, const struct cell_lease *l, cell_error **err)
{
	_cleanup_free_ char *dir = ipam_lease_dir(root, l->network);
	_cleanup_free_ char *path = NULL;
	char a[64];

	path = xasprintf("%s/%s", dir, cell_prefix_str(&l->ip, false, a, sizeof(a)));
	{
		/* the index first: it never points at another container's lease */
		_cleanup_free_ char *ix = index_path(root, l->network, l->container);
		char target[64];
		ssize_t k = readlink(ix, target, sizeof(target) - 1);
		if (k > 0 && (target[k] = '\0', streq(target, a)))
			unlink(ix);
	}
	ports_index_drop(root, l);
	if (unlink(path) < 0 && errno != ENOENT)
		return cell_error_errno(err, errno, "remove lease `%s`", path);
	return 0;
}

/* ---- one container off one network ---- */

static int detach_network_locked(const char *root, const char *network, const char *id, cell_error **err)
{
	struct cell_lease *all = NULL;
	size_t n = 0;
	int r = -1;
	bool found = false;
	const char *hosts = NULL, *hostname = NULL;

	if (ipam_container_leases(root, id, &all, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (streq(all[i].container, id) && streq(all[i].network, network)) {
			found = true;
			if (all[i].hosts_path && *all[i].hosts_path)
				hosts = all[i].hosts_path, hostname = all[i].hostname;
			/* veth pair, lease file, and every nft rule of the container */
			if (ipam_release(root, &all[i], err) < 0)
				goto out;
		}
	if (!found) {
		net_error(err, ENOENT, "container `%s` is not connected to network `%s`", id, network);
		goto out;
	}
	/* the rules of its other networks' published ports come back; the
	 * hosts file passes to the next network, or keeps only its own name */
	for (size_t i = 0; i < n; i++) {
		struct cell_port ports[16];
		size_t np = 0;
		if (!streq(all[i].container, id) || streq(all[i].network, network))
			continue;
		if (hosts) {
			free(all[i].hosts_path);
			all[i].hosts_path = xstrdup(hosts);
			_cleanup_cell_network_ struct cell_network *on = NULL;
			cell_error *e = NULL;
			if (cell_network_load(root, all[i].network, &on, &e) < 0)
				cell_error_free(&e);
			if (ipam_lease_write(root, &all[i], false, err) < 0 || net_write_hosts(on, &all[i], err) < 0)
				goto out;
			hosts = NULL;
		}
		_cleanup_free_ char *copy = xstrdup(all[i].ports ? all[i].ports : "");
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t && np < ARRAY_SIZE(ports); t = strtok_r(NULL, ",", &save))
			if (net_port_entry_parse(t, &ports[np]) == 0)
				np++;
		if (np && cell_nft_container_add(id, &all[i].ip, ports, np, err) < 0) {
			cell_error_wrap(err, "publish its ports on network `%s` again", all[i].network);
			goto out;
		}
	}
	if (hosts) {
		_cleanup_free_ char *text = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
						      "127.0.1.1\t%s\n", hostname && *hostname ? hostname : id);
		if (rewrite_file(hosts, text, err) < 0) {
			if (cell_error_code(*err) != ENOENT)
				goto out;
			cell_error_free(err);
		}
	}
	r = 0;
out:
	cell_lease_list_free(all, n);
	return r;
}

int cell_net_detach_network(const char *root, const char *network, const char *container_id, cell_error **err)
{
	_cleanup_close_ int lock = -1;

	if (!network)
		network = CELL_DEFAULT_NETWORK;
	if (check_net_name(network, err) < 0)
		return -1;
	lock = ipam_lock(root, err);
	if (lock < 0)
		return -1;
	if (detach_network_locked(root, network, container_id, err) < 0) {
		if (cell_error_code(*err) == ENOENT && strstr((*err)->msg, "is not connected"))
			return -1;
		return cell_error_wrap(err, "detach container `%s` from network `%s`", container_id, network);
	}
	return 0;
}
