/* A container's networks after its creation: `network connect` and
 * `disconnect`, for the command line and the API alike.
 *
 * A running container joins or leaves at once (cell_net_attach, or
 * cell_net_detach_network), and its record says so:
 *   NetworkSettings.Networks.<net>          what it is joined to now
 *   NetworkingConfig.EndpointsConfig.<net>  what it joins at each start
 * so a restart keeps the networks it was connected to, as dockerd does.
 * A container that is not running (connect_opts.stopped_ok: dockerd's
 * behaviour, which compose relies on between create and start) only has
 * its record changed; it joins at its next start. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "log.h"
#include "network.h"
#include "util.h"

/* An error with an errno the API maps to a status (EEXIST, ENOENT). */
__attribute__((format(printf, 3, 4))) static int coded(cell_error **err, int errnum, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cell_error_from_text(err, errnum, msg);
}

/* A container as connect needs it. */
struct ctr_ref {
	char *id;
	char *name;		/* without Docker's leading '/' */
	char *hostname;
	char *dir;		/* <root>/containers/<id> */
	char *mode;		/* HostConfig.NetworkMode */
	pid_t pid;
	bool running;
};

static void ctr_ref_clear(struct ctr_ref *c)
{
	free(c->id);
	free(c->name);
	free(c->hostname);
	free(c->dir);
	free(c->mode);
	memset(c, 0, sizeof(*c));
}

static int ctr_find(struct cell_engine *e, const char *ref, struct ctr_ref *c, cell_error **err)
{
	json_object *rec = NULL;

	if (cell_ctr_lookup(e, ref, &c->id, err) < 0 || cell_ctr_load(e, c->id, &rec, err) < 0)
		return -1;
	json_object *cfg = json_object_object_get(rec, "Config"), *hc = json_object_object_get(rec, "HostConfig");
	const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
	const char *hn = json_object_get_string(json_object_object_get(cfg, "Hostname"));
	const char *mode = json_object_get_string(json_object_object_get(hc, "NetworkMode"));
	const char *st = cell_ctr_status(rec);
	c->name = xstrdup(name ? (*name == '/' ? name + 1 : name) : "");
	c->hostname = xstrdup(hn && *hn ? hn : c->name);
	c->dir = cell_ctr_dir(e, c->id);
	c->mode = xstrdup(mode ? mode : "");
	c->pid = cell_ctr_pid(rec);
	c->running = st && (streq(st, "running") || streq(st, "paused")) && c->pid > 0;
	json_object_put(rec);
	return 0;
}

/* The first ethN that the container's namespace does not have yet. */
static int free_ifname(pid_t pid, char *buf, size_t len, cell_error **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_cell_nl_ struct cell_nl *nl = NULL;
	struct stat a, b;

	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` (did the container just exit?)", path);
	/* never attach the host's own namespace */
	if (fstat(fd, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return cell_error_set(err, "process %d shares the host's network namespace: nothing to connect", (int)pid);
	if (cell_nl_open(fd, &nl, err) < 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		snprintf(buf, len, "eth%d", i);
		int r = cell_link_index(nl, buf, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
	}
	return cell_error_set(err, "process %d already has eth0 to eth99", (int)pid);
}

/* How many leases the container holds on the network (NULL: on any). */
static int lease_count(const char *root, const char *network, const char *id, cell_error **err)
{
	struct cell_lease *l = NULL;
	size_t n = 0;
	int count = 0;
	if (cell_lease_list(root, network, &l, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (streq(l[i].container, id))
			count++;
	cell_lease_list_free(l, n);
	return count;
}

/* Docker's network connect/disconnect event. */
static void net_event(struct cell_engine *e, const char *action, const struct cell_network *n, const char *ctr_id)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "container", json_object_new_string(ctr_id));
	json_object_object_add(a, "name", json_object_new_string(n->name));
	json_object_object_add(a, "type", json_object_new_string("bridge"));
	cell_event_at(e->root, "network", action, n->id ? n->id : n->name, a);
}

/* The key of a network in the record: Docker calls the default one bridge. */
static const char *record_key(const struct cell_network *n)
{
	return streq(n->name, CELL_DEFAULT_NETWORK) ? "bridge" : n->name;
}

/* The key under which obj holds network n (the record may name the
 * default network bridge, default or cell0), NULL when it has none. */
static const char *key_in(json_object *obj, const struct cell_network *n)
{
	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, k, v) {
		(void)v;
		if (streq(engine_net_name(k), n->name))
			return k;
	}
	return NULL;
}

static json_object *child(json_object *o, const char *k)
{
	json_object *c = json_object_object_get(o, k);
	if (!c || !json_object_is_type(c, json_type_object)) {
		c = json_object_new_object();
		json_object_object_add(o, k, c);
	}
	return c;
}

struct record_change {
	const struct cell_network *n;
	bool add;
	bool joined;			/* the record's Networks entry has addresses */
	json_object *cfg;		/* the EndpointsConfig entry (add) */
	const struct cell_net_result *res;
	char **dns;
	bool restart_joins;		/* keep it in EndpointsConfig for the next start */
	bool found;			/* (remove) the record had it */
};

static int record_change(json_object *rec, void *data, cell_error **err)
{
	struct record_change *x = data;
	json_object *nets = child(child(rec, "NetworkSettings"), "Networks");
	json_object *eps = child(child(rec, "NetworkingConfig"), "EndpointsConfig");
	const char *mode = json_object_get_string(json_object_object_get(json_object_object_get(rec, "HostConfig"),
									"NetworkMode"));
	const char *k;

	if (!x->add) {
		if ((k = key_in(nets, x->n))) {
			json_object_object_del(nets, k);
			x->found = true;
		}
		if ((k = key_in(eps, x->n))) {
			json_object_object_del(eps, k);
			x->found = true;
		}
		return 0;
	}
	if ((k = key_in(nets, x->n)))
		json_object_object_del(nets, k);
	json_object_object_add(nets, record_key(x->n), engine_endpoint_json(x->joined ? x->res : NULL, x->cfg, x->dns));
	if (!x->restart_joins)
		return 0;
	/* endpoints replace the mode's network at start: keep that one first */
	if (json_object_object_length(eps) == 0 && engine_net_attached(mode) &&
	    !streq(engine_net_name(mode), x->n->name))
		json_object_object_add(eps, mode, json_object_new_object());
	if ((k = key_in(eps, x->n)))
		json_object_object_del(eps, k);
	json_object_object_add(eps, record_key(x->n), json_object_get(x->cfg));
	return 0;
}

static json_object *endpoint_cfg(const struct cell_connect_opts *o)
{
	json_object *cfg = json_object_new_object(), *ipam = json_object_new_object(), *al = json_object_new_array();
	json_object_object_add(ipam, "IPv4Address", json_object_new_string(o->ip ? o->ip : ""));
	json_object_object_add(ipam, "IPv6Address", json_object_new_string(""));
	for (char **it = o->aliases; it && *it; it++)
		json_object_array_add(al, json_object_new_string(*it));
	json_object_object_add(cfg, "IPAMConfig", ipam);
	json_object_object_add(cfg, "Aliases", al);
	json_object_object_add(cfg, "MacAddress", json_object_new_string(""));
	return cfg;
}

/* A running container joins now. */
static int connect_live(struct cell_engine *e, const struct cell_network *n, const struct ctr_ref *c, const char *ref,
			const struct cell_connect_opts *co, json_object *cfg, cell_error **err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *hosts = NULL, *rc = NULL, *old = NULL;
	char ifname[IFNAMSIZ];
	struct cell_net_result res;
	size_t nn = 0;

	int on = lease_count(e->root, n->name, c->id, err), elsewhere = lease_count(e->root, NULL, c->id, err);
	if (on < 0 || elsewhere < 0)
		return -1;
	if (on > 0)
		return coded(err, EEXIST, "container `%s` is already connected to network `%s`", ref, n->name);
	if (free_ifname(c->pid, ifname, sizeof(ifname), err) < 0)
		return -1;
	/* its name and hostname find it from the network's other containers */
	names = xcalloc(strv_len(co->aliases) + 2, sizeof(char *));
	if (*c->name)
		names[nn++] = xstrdup(c->name);
	for (char **it = co->aliases; it && *it; it++)
		names[nn++] = xstrdup(*it);
	hosts = xasprintf("%s/hosts", c->dir);
	/* the hosts file (the container's own names) goes with the first
	 * network joined; peers on every network are found by DNS */
	bool has_hosts = access(hosts, F_OK) == 0 && elsewhere == 0;
	struct cell_net_opts o = {
		.ip = co->ip, .hostname = c->hostname, .ifname = ifname, .aliases = names, .ports = co->ports,
		.n_ports = co->n_ports, .hosts_path = has_hosts ? hosts : NULL,
	};
	memset(&res, 0, sizeof(res));
	if (cell_net_attach(e->root, n->name, c->id, c->pid, &o, &res, err) < 0)
		return -1;
	/* a container made with --network none has an empty resolv.conf: give
	 * it the network's resolver (the host's servers on the default
	 * network), written in place (the file is bind-mounted) */
	rc = xasprintf("%s/resolv.conf", c->dir);
	cell_error *x = NULL;
	if (read_file(rc, &old, NULL, &x) == 0 && !*old) {
		_cleanup_free_ char *text =
			cell_net_resolv_for(e->root, n->name, "/etc/resolv.conf", NULL, NULL, NULL, &x);
		if (text && *text && rewrite_file(rc, text, &x) < 0)
			cell_warn("container `%s`: %s", ref, x->msg);
	}
	cell_error_free(&x);
	struct record_change rc2 = {
		.n = n, .add = true, .joined = true, .cfg = cfg, .res = &res, .dns = names,
		.restart_joins = engine_net_attached(c->mode),
	};
	if (cell_ctr_update(e, c->id, record_change, &rc2, &x) < 0) {
		/* joined all the same: the record only misses it until the next start */
		cell_warn("container `%s`: connected to `%s`, but its record was not updated: %s", ref, n->name, x->msg);
		cell_error_free(&x);
	}
	return 0;
}

int cell_ctr_network_connect(struct cell_engine *e, const char *network, const char *ref,
			     const struct cell_connect_opts *co, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	struct ctr_ref c = { 0 };
	json_object *cfg = NULL;
	int r = -1;

	for (char **it = co->aliases; it && *it; it++)
		if (!cell_name_valid(*it))
			return cell_error_set(err, "alias `%s`: expected a name as [a-zA-Z0-9][a-zA-Z0-9_.-]*", *it);
	if (cell_network_find(e->root, network, &n, err) < 0 || ctr_find(e, ref, &c, err) < 0)
		goto out;
	if (streq(c.mode, "host") || strncmp(c.mode, "container:", 10) == 0) {
		cell_error_set(err, "container `%s` uses %s's network (--network %s): it has no namespace of its own "
			       "to connect", ref, streq(c.mode, "host") ? "the host" : "another container", c.mode);
		goto out;
	}
	cfg = endpoint_cfg(co);
	if (c.running) {
		r = connect_live(e, n, &c, ref, co, cfg, err);
	} else if (co->stopped_ok && engine_net_attached(c.mode)) {
		_cleanup_free_ char *ip4 = NULL;
		if (co->ip && cell_net_check_ip(e->root, n->name, co->ip, NULL, &ip4, err) < 0)
			goto out;
		struct record_change x = { .n = n, .add = true, .cfg = cfg, .restart_joins = true };
		r = cell_ctr_update(e, c.id, record_change, &x, err);
	} else if (co->stopped_ok) {
		cell_error_set(err, "container `%s` is not running and has --network %s: it joins no network when it "
			       "starts", ref, c.mode);
	} else {
		cell_error_set(err, "container `%s` is not running: its network namespace lives only while it runs; "
			       "start it first (`cell start %s`)", ref, ref);
	}
	if (r == 0)
		net_event(e, "connect", n, c.id);
out:
	json_object_put(cfg);
	ctr_ref_clear(&c);
	return r;
}

/* The container's resolv.conf named the resolver at the gateway of the
 * network it left (a container on several networks may have no route to
 * it any more): name the one of the network it keeps, which holds its
 * hosts file now. Another resolv.conf (--dns) is left alone. */
static void follow_resolver(struct cell_engine *e, const struct cell_network *left, const struct ctr_ref *c,
			    const char *ref)
{
	char gw[64], want[96];
	struct cell_lease *all = NULL;
	size_t nl = 0;
	cell_error *x = NULL;
	_cleanup_free_ char *rc = xasprintf("%s/resolv.conf", c->dir), *old = NULL, *text = NULL;

	cell_prefix_str(&left->gateway, false, gw, sizeof(gw));
	snprintf(want, sizeof(want), "nameserver %s\n", gw);
	if (read_file(rc, &old, NULL, &x) < 0 || !strstr(old, want) || cell_lease_list(e->root, NULL, &all, &nl, &x) < 0) {
		cell_error_free(&x);
		return;
	}
	for (size_t i = 0; i < nl && !text; i++)
		if (streq(all[i].container, c->id) && all[i].hosts_path && *all[i].hosts_path)
			text = cell_net_resolv_for(e->root, all[i].network, "/etc/resolv.conf", NULL, NULL, NULL, &x);
	for (size_t i = 0; i < nl && !text; i++)
		if (streq(all[i].container, c->id))
			text = cell_net_resolv_for(e->root, all[i].network, "/etc/resolv.conf", NULL, NULL, NULL, &x);
	cell_lease_list_free(all, nl);
	if (text && rewrite_file(rc, text, &x) < 0)
		cell_warn("container `%s`: %s", ref, x->msg);
	cell_error_free(&x);
}

int cell_ctr_network_disconnect(struct cell_engine *e, const char *network, const char *ref, cell_error **err)
{
	_cleanup_cell_network_ struct cell_network *n = NULL;
	struct ctr_ref c = { 0 };
	struct record_change x = { 0 };
	bool left = false;
	int r = -1;

	if (cell_network_find(e->root, network, &n, err) < 0 || ctr_find(e, ref, &c, err) < 0)
		goto out;
	x.n = n;
	/* a lease is there whether or not the container runs (one a crash left) */
	if (cell_net_detach_network(e->root, n->name, c.id, err) == 0) {
		left = true;
		follow_resolver(e, n, &c, ref);
	} else if (cell_error_code(*err) == ENOENT) {
		cell_error_free(err);
	} else {
		goto out;
	}
	if (cell_ctr_update(e, c.id, record_change, &x, err) < 0)
		goto out;
	if (!left && (c.running || !x.found)) {
		coded(err, ENOENT, "container `%s` is not connected to network `%s`", ref, n->name);
		goto out;
	}
	net_event(e, "disconnect", n, c.id);
	r = 0;
out:
	ctr_ref_clear(&c);
	return r;
}
