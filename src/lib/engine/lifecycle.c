/* Start, stop, kill, remove, wait, pause and exec of engine containers.
 *
 * Who watches a running container: its monitor (detached, monitor.c) or the
 * foreground `cell run` itself. Either records MonitorPid + MonitorStart in
 * the record; when that process is gone, other commands see the truth
 * through the runtime state and clean up themselves. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "df.h"
#include "engine-internal.h"
#include "events.h"
#include "image/image.h"
#include "json.h"
#include "log.h"
#include "net/net.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "runtime/tty.h"
#include "util.h"
#include "volume.h"


static json_object *state_obj(json_object *rec)
{
	return json_object_object_get(rec, "State");
}

static void set_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static const char *rec_str(json_object *rec, const char *a, const char *b)
{
	json_object *o = json_object_object_get(rec, a);
	if (b)
		o = json_object_object_get(o, b);
	return o ? json_object_get_string(o) : NULL;
}

int cell_ctr_exit_code(const cell_error *err)
{
	if (err && err->msg && strstr(err->msg, "process.args[0]")) {
		if (err->errnum == ENOENT)
			return 127;
		if (err->errnum == EACCES || err->errnum == ENOEXEC)
			return 126;
	}
	return 125;
}

static bool monitor_alive(json_object *rec, pid_t *ret_pid)
{
	json_object *st = state_obj(rec);
	pid_t pid = json_object_get_int(json_object_object_get(st, "MonitorPid"));
	uint64_t start = (uint64_t)json_object_get_int64(json_object_object_get(st, "MonitorStart"));
	if (ret_pid)
		*ret_pid = pid;
	return proc_alive(pid, start);	/* a zombie no one reaped yet watches nothing */
}

/* After a reboot the overlay is gone while the record stays: mount it again. */
static int ensure_rootfs(struct cell_engine *e, const char *id, json_object *rec, cell_error **err)
{
	_cleanup_free_ char *cdir = cell_ctr_dir(e, id);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", cdir);
	struct stat a, b;
	_cleanup_free_ char *parent = xasprintf("%s/..", rootfs);
	if (stat(rootfs, &a) == 0 && stat(cdir, &b) == 0 && a.st_dev != b.st_dev)
		return 0;
	struct cell_store *store = NULL;
	struct cell_image *img = NULL;
	_cleanup_free_ char *mnt = NULL;
	int r = cell_store_open(e->root, &store, err);
	if (r == 0)
		r = cell_image_resolve(store, rec_str(rec, "Image", NULL), &img, err);
	if (r == 0)
		r = cell_image_mount_rootfs(store, img, cdir, &mnt, err);
	cell_image_free(img);
	cell_store_free(store);
	return r < 0 ? cell_error_wrap(err, "mount the root file system of container `%.12s`", id) : 0;
}

bool engine_net_attached(const char *mode)
{
	return mode && !streq(mode, "none") && !streq(mode, "host") && strncmp(mode, "container:", 10) != 0 &&
	       strncmp(mode, "phys:", 5) != 0;
}

const char *engine_net_name(const char *mode)
{
	return !mode || streq(mode, "bridge") || streq(mode, "default") ? CELL_DEFAULT_NETWORK : mode;
}

static json_object *ports_json(const struct cell_net_result *r)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct cell_port *p = &r->ports[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "HostIp", json_object_new_string(*p->host_ip ? p->host_ip : "0.0.0.0"));
		json_object_object_add(o, "HostPort", json_object_new_int(p->host_port));
		json_object_object_add(o, "ContainerPort", json_object_new_int(p->port));
		json_object_object_add(o, "Type", json_object_new_string(p->proto == IPPROTO_UDP ? "udp" : "tcp"));
		json_object_array_add(a, o);
	}
	return a;
}

struct net_record {
	const char *network;
	const struct cell_net_result *r;	/* the first network's */
	json_object *networks;			/* NetworkSettings.Networks */
};

static int record_network(json_object *rec, void *data, cell_error **err)
{
	struct net_record *n = data;
	json_object *ns = json_object_new_object();
	json_object_object_add(ns, "IPAddress", json_object_new_string(n->r->ip));
	json_object_object_add(ns, "IPPrefixLen", json_object_new_int(n->r->prefixlen));
	json_object_object_add(ns, "Gateway", json_object_new_string(n->r->gateway));
	json_object_object_add(ns, "GlobalIPv6Address", json_object_new_string(n->r->ip6));
	json_object_object_add(ns, "GlobalIPv6PrefixLen", json_object_new_int(n->r->prefixlen6));
	json_object_object_add(ns, "IPv6Gateway", json_object_new_string(n->r->gateway6));
	json_object_object_add(ns, "MacAddress", json_object_new_string(n->r->mac));
	json_object_object_add(ns, "Bridge", json_object_new_string(n->r->bridge));
	json_object_object_add(ns, "Network", json_object_new_string(n->network));
	json_object_object_add(ns, "Ports", ports_json(n->r));
	json_object_object_add(ns, "Networks", json_object_get(n->networks));
	json_object_object_add(rec, "NetworkSettings", ns);
	return 0;
}

json_object *engine_endpoint_json(const struct cell_net_result *r, json_object *cfg, char **dns_names)
{
	static const struct cell_net_result none;	/* recorded, not joined: no addresses yet */
	json_object *ep = json_object_new_object(), *names = json_object_new_array();
	if (!r)
		r = &none;
	json_object *ipam = json_object_object_get(cfg, "IPAMConfig"), *aliases = json_object_object_get(cfg, "Aliases");
	json_object_object_add(ep, "IPAMConfig", ipam ? json_object_get(ipam) : json_object_new_object());
	json_object_object_add(ep, "Aliases", aliases ? json_object_get(aliases) : json_object_new_array());
	json_object_object_add(ep, "Gateway", json_object_new_string(r->gateway));
	json_object_object_add(ep, "IPAddress", json_object_new_string(r->ip));
	json_object_object_add(ep, "IPPrefixLen", json_object_new_int(r->prefixlen));
	json_object_object_add(ep, "IPv6Gateway", json_object_new_string(r->gateway6));
	json_object_object_add(ep, "GlobalIPv6Address", json_object_new_string(r->ip6));
	json_object_object_add(ep, "GlobalIPv6PrefixLen", json_object_new_int(r->prefixlen6));
	json_object_object_add(ep, "MacAddress", json_object_new_string(r->mac));
	json_object_object_add(ep, "Interface", json_object_new_string(r->ifname));
	json_object_object_add(ep, "Bridge", json_object_new_string(r->bridge));
	for (char **it = dns_names; it && *it; it++)
		json_object_array_add(names, json_object_new_string(*it));
	json_object_object_add(ep, "DNSNames", names);
	return ep;
}

static const char *cfg_str(json_object *o, const char *k)
{
	const char *s = json_object_get_string(json_object_object_get(o, k));
	return s && *s ? s : NULL;
}

/* -p, then -P's EXPOSEd ports not published already (a host port chosen). */
static int ports_of(json_object *rec, struct cell_port *ports, size_t max, size_t *ret_n, cell_error **err)
{
	json_object *hc = json_object_object_get(rec, "HostConfig");
	json_object *pb = json_object_object_get(hc, "PortBindings");
	size_t n = pb ? json_object_array_length(pb) : 0;
	if (n > max)
		return cell_error_set(err, "too many published ports (%zu, at most %zu)", n, max);
	for (size_t i = 0; i < n; i++)
		if (cell_port_parse(json_object_get_string(json_object_array_get_idx(pb, i)), &ports[i], err) < 0)
			return -1;
	if (json_object_get_boolean(json_object_object_get(hc, "PublishAllPorts"))) {
		json_object *exp = json_object_object_get(json_object_object_get(rec, "Config"), "ExposedPorts");
		if (!exp || !json_object_is_type(exp, json_type_object))
			exp = NULL;
		for (struct lh_entry *le = exp ? json_object_get_object(exp)->head : NULL; le; le = le->next) {
			const char *k = (const char *)lh_entry_k(le);
			struct cell_port p;
			bool dup = false;
			if (cell_port_parse(k, &p, err) < 0)
				return cell_error_wrap(err, "-P: the image's EXPOSE %s", k);
			for (size_t i = 0; i < n && !dup; i++)
				dup = ports[i].port == p.port && ports[i].proto == p.proto;
			if (dup)
				continue;
			if (n >= max)
				return cell_error_set(err, "-P: too many published ports (at most %zu)", max);
			ports[n++] = p;
		}
	}
	*ret_n = n;
	return 0;
}

/* Lease an address, veth, routes and published ports for the created
 * container's netns, before its process starts: on each network of
 * NetworkingConfig.EndpointsConfig in order (eth0, eth1, ...; the first
 * holds the default route, the ports, the hosts file and the flags). */
static int attach_network(struct cell_engine *e, const char *id, json_object *rec, pid_t pid, cell_error **err)
{
	json_object *hc = json_object_object_get(rec, "HostConfig");
	const char *mode = json_object_get_string(json_object_object_get(hc, "NetworkMode"));
	json_object *eps = json_object_object_get(json_object_object_get(rec, "NetworkingConfig"), "EndpointsConfig");
	struct cell_port ports[16];
	size_t n = 0;
	if (ports_of(rec, ports, ARRAY_SIZE(ports), &n, err) < 0)
		return -1;
	_cleanup_free_ char *hosts = xasprintf("%s/%s/hosts", e->ctr_root, id);
	const char *hostname = json_object_get_string(
		json_object_object_get(json_object_object_get(rec, "Config"), "Hostname"));
	const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
	name = name && *name == '/' ? name + 1 : name;
	/* the networks: the endpoints in order (records older than them: the mode) */
	_cleanup_strv_ char **nets = xcalloc(1, sizeof(char *));
	size_t nn = 0;
	if (eps) {
		json_object_object_foreach(eps, k, v) {
			(void)v;
			nets = realloc(nets, (nn + 2) * sizeof(char *));
			nets[nn++] = xstrdup(k);
			nets[nn] = NULL;
		}
	}
	if (nn == 0) {
		nets = realloc(nets, 2 * sizeof(char *));
		nets[0] = xstrdup(mode ? mode : "bridge");
		nets[1] = NULL;
		nn = 1;
	}
	/* --add-host NAME:host-gateway: the first network's gateway */
	_cleanup_strv_ char **extra = NULL;
	json_object *eh = json_object_object_get(hc, "ExtraHosts");
	size_t ne = eh ? json_object_array_length(eh) : 0;
	extra = xcalloc(ne + 1, sizeof(char *));
	for (size_t i = 0; i < ne; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(eh, i));
		size_t kl = strcspn(s, ":=");
		const char *ip = s[kl] ? s + kl + 1 : "";
		char gw[64] = "";
		if (streq(ip, "host-gateway")) {
			struct cell_network *net = NULL;
			if (cell_network_load(e->root, engine_net_name(nets[0]), &net, err) < 0)
				return -1;
			cell_prefix_str(&net->gateway, false, gw, sizeof(gw));
			cell_network_free(net);
			ip = gw;
		}
		extra[i] = xasprintf("%.*s:%s", (int)kl, s, ip);
	}
	json_object *networks = json_object_new_object();
	struct cell_net_result first;
	memset(&first, 0, sizeof(first));
	int r = 0;
	for (size_t i = 0; i < nn && r == 0; i++) {
		json_object *cfg = json_object_object_get(eps, nets[i]);
		json_object *ipam = json_object_object_get(cfg, "IPAMConfig");
		json_object *al = json_object_object_get(cfg, "Aliases");
		size_t na = al ? json_object_array_length(al) : 0;
		_cleanup_free_ char **aliases = xcalloc(na + 2, sizeof(char *));
		char ifname[IFNAMSIZ];
		aliases[0] = (char *)name;
		for (size_t j = 0; j < na; j++)
			aliases[j + 1] = (char *)json_object_get_string(json_object_array_get_idx(al, j));
		snprintf(ifname, sizeof(ifname), "eth%d", (int)(i % 1000));
		struct cell_net_opts o = {
			.hostname = hostname, .aliases = aliases, .ifname = ifname,
			.ip = cfg_str(ipam, "IPv4Address"), .mac = cfg_str(cfg, "MacAddress"),
			.ports = i == 0 ? ports : NULL, .n_ports = i == 0 ? n : 0,
			.hosts_path = i == 0 ? hosts : NULL, .add_hosts = i == 0 ? extra : NULL,
		};
		struct cell_net_result res;
		memset(&res, 0, sizeof(res));
		r = cell_net_attach(e->root, engine_net_name(nets[i]), id, pid, &o, &res, err);
		if (r == 0) {
			char *dns[16] = { (char *)name, (char *)hostname };
			size_t nd = hostname && *hostname && !streq(hostname, name) ? 2 : 1;
			for (size_t j = 1; aliases[j] && nd < ARRAY_SIZE(dns) - 1; j++)
				dns[nd++] = aliases[j];
			dns[nd] = NULL;
			json_object_object_add(networks, nets[i], engine_endpoint_json(&res, cfg, dns));
			if (i == 0)
				first = res;
		}
	}
	if (r == 0) {
		struct net_record nr = { .network = engine_net_name(nets[0]), .r = &first, .networks = networks };
		r = cell_ctr_update(e, id, record_network, &nr, err);
	}
	json_object_put(networks);
	return r;
}

/* container:X: the bundle's network namespace is X's, whatever X's pid now. */
static int join_netns(struct cell_engine *e, const char *id, const char *target, cell_error **err)
{
	json_object *trec = NULL, *doc = NULL;
	_cleanup_free_ char *cfg = xasprintf("%s/%s/bundle/config.json", e->ctr_root, id);
	_cleanup_free_ char *text = NULL, *ns = NULL;
	if (cell_ctr_load(e, target, &trec, err) < 0)
		return cell_error_wrap(err, "--network container:%.12s", target);
	const char *st = cell_ctr_status(trec);
	pid_t pid = cell_ctr_pid(trec);
	const char *tname = rec_str(trec, "Name", NULL);
	if ((!streq(st, "running") && !streq(st, "paused")) || pid <= 0) {
		cell_error_set(err, "--network container:%s: the container is %s; its network namespace lives only "
			       "while it runs (start it first)", tname && *tname == '/' ? tname + 1 : target, st);
		json_object_put(trec);
		return -1;
	}
	json_object_put(trec);
	ns = xasprintf("/proc/%d/ns/net", (int)pid);
	if (read_file(cfg, &text, NULL, err) < 0)
		return -1;
	doc = json_tokener_parse(text);
	json_object *a = json_object_object_get(json_object_object_get(doc, "linux"), "namespaces");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *o = json_object_array_get_idx(a, i);
		if (streq(json_object_get_string(json_object_object_get(o, "type")), "network"))
			json_object_object_add(o, "path", json_object_new_string(ns));
	}
	const char *out = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	int r = write_file_atomic(cfg, out, strlen(out), 0600, err);
	json_object_put(doc);
	return r;
}

static int record_sandbox(json_object *rec, void *data, cell_error **err)
{
	json_object *ns = json_object_object_get(rec, "NetworkSettings");
	if (!ns) {
		ns = json_object_new_object();
		json_object_object_add(rec, "NetworkSettings", ns);
	}
	json_object_object_add(ns, "SandboxKey", json_object_new_string(data));
	return 0;
}

/* `cell network connect` can give any container a lease, whatever its
 * network mode: those go with the container too. */
static bool has_lease(struct cell_engine *e, const char *id)
{
	struct cell_lease *all = NULL;
	size_t n = 0;
	bool found = false;
	cell_error *x = NULL;
	if (cell_lease_list(e->root, NULL, &all, &n, &x) < 0) {
		cell_error_free(&x);
		return false;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = all[i].container && streq(all[i].container, id);
	cell_lease_list_free(all, n);
	return found;
}

static void detach_network(struct cell_engine *e, const char *id, json_object *rec)
{
	const char *mode = json_object_get_string(
		json_object_object_get(json_object_object_get(rec, "HostConfig"), "NetworkMode"));
	cell_error *x = NULL;
	if ((engine_net_attached(mode) || has_lease(e, id)) && cell_net_detach(e->root, id, &x) < 0)
		cell_error_free(&x);
	/* phys: back to the host, /run/netns/NAME gone (kept for prune on failure) */
	if (cell_net_unhold(e->root, id, &x) < 0)
		cell_error_free(&x);
}

int cell_ctr_rootfs(struct cell_engine *e, const char *id, char **ret, cell_error **err)
{
	json_object *rec = NULL;
	if (engine_record_read(e, id, &rec, err) < 0)
		return -1;
	int r = ensure_rootfs(e, id, rec, err);
	json_object_put(rec);
	if (r == 0)
		*ret = xasprintf("%s/%s/rootfs", e->ctr_root, id);
	return r;
}

/* A container created under --cgroup-manager systemd keeps its scope
 * whatever later commands say: its cgroupsPath is "slice:prefix:name". */
static bool bundle_systemd_cgroup(const char *bundle)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	json_object *spec = NULL, *lx, *cp;
	cell_error *x = NULL;
	if (cj_parse_file(path, &spec, &x) < 0) {
		cell_error_free(&x);
		return false;
	}
	const char *cg = json_object_object_get_ex(spec, "linux", &lx) &&
				 json_object_object_get_ex(lx, "cgroupsPath", &cp) ? json_object_get_string(cp) : NULL;
	bool sd = cg && cg[0] != '/' && strchr(cg, ':');
	json_object_put(spec);
	return sd;
}

int engine_rt_launch(struct cell_engine *e, const char *id, const char *console_socket, pid_t *ret_pid,
		     cell_error **err)
{
	_cleanup_free_ char *bundle = xasprintf("%s/%s/bundle", e->ctr_root, id);
	struct cell_rt_opts o = { .root = e->rt_root, .bundle = bundle, .console_socket = console_socket,
				  .detach = true, .systemd_cgroup = bundle_systemd_cgroup(bundle) };
	cell_error *x = NULL;
	json_object *rec = NULL;
	int status = 0, r = -1;
	if (engine_record_read(e, id, &rec, err) < 0)
		return -1;
	const char *mode = json_object_get_string(
		json_object_object_get(json_object_object_get(rec, "HostConfig"), "NetworkMode"));
	bool attach = engine_net_attached(mode);
	const char *netns_name = rec_str(rec, "HostConfig", "NetnsName");
	const char *phys = mode && strncmp(mode, "phys:", 5) == 0 ? mode + 5 : NULL;
	if (netns_name && !*netns_name)
		netns_name = NULL;
	/* set up between the runtime's create and start */
	bool split = attach || phys || netns_name;
	/* state and leases of an earlier run of this container */
	if (cell_rt_delete(e->rt_root, id, true, &x) < 0)
		cell_error_free(&x);
	if (split)
		detach_network(e, id, rec);
	if (mode && strncmp(mode, "container:", 10) == 0 && join_netns(e, id, mode + 10, err) < 0)
		goto out;
	/* without a network to attach, run --detach does create + start in one */
	if (split ? cell_rt_create(id, &o, err) < 0 : cell_rt_run(id, &o, &status, err) < 0)
		goto out;
	struct cell_state *st = NULL;
	if (cell_state_load(e->rt_root, id, false, &st, err) < 0)
		goto undo;
	*ret_pid = st->pid;
	cell_state_free(st);
	if (attach && attach_network(e, id, rec, *ret_pid, err) < 0)
		goto undo;
	if (split && !attach && !phys && cell_net_none(*ret_pid, err) < 0)
		goto undo;
	if ((phys || netns_name) && cell_net_hold(e->root, id, *ret_pid, phys, netns_name, err) < 0)
		goto undo;
	if (netns_name) {
		_cleanup_free_ char *key = xasprintf("%s/%s", CELL_NETNS_DIR, netns_name);
		if (cell_ctr_update(e, id, record_sandbox, key, err) < 0)
			goto undo;
	}
	if (split && cell_rt_start(e->rt_root, id, err) < 0)
		goto undo;
	r = 0;
	goto out;
undo:
	if (cell_rt_delete(e->rt_root, id, true, &x) < 0)
		cell_error_free(&x);
	if (split)
		detach_network(e, id, rec);
out:
	json_object_put(rec);
	return r;
}

static bool oom_killed(struct cell_engine *e, const char *id)
{
	struct cell_state *st = NULL;
	struct cell_cgroup *cg = NULL;
	cell_error *x = NULL;
	bool oom = false;
	if (cell_state_load(e->rt_root, id, false, &st, &x) == 0 && st->cgroup &&
	    cell_cgroup_from_json(st->cgroup, &cg, &x) == 0 && cell_cgroup_oom_killed(cg, &oom, &x) < 0)
		oom = false;
	cell_error_free(&x);
	cell_cgroup_free(cg);
	cell_state_free(st);
	return oom;
}

struct exit_info {
	int code;
	bool oom;
};

static int record_exit(json_object *rec, void *data, cell_error **err)
{
	struct exit_info *x = data;
	json_object *st = state_obj(rec);
	_cleanup_free_ char *now = engine_now();
	set_str(st, "Status", "exited");
	json_object_object_add(st, "Running", json_object_new_boolean(false));
	json_object_object_add(st, "Paused", json_object_new_boolean(false));
	json_object_object_add(st, "Restarting", json_object_new_boolean(false));
	json_object_object_add(st, "OOMKilled", json_object_new_boolean(x->oom));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	json_object_object_add(st, "ExitCode", json_object_new_int(x->code));
	set_str(st, "FinishedAt", now);
	return 0;
}

int engine_after_exit(struct cell_engine *e, const char *id, int ws, cell_error **err)
{
	struct exit_info x = { .code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws) };
	x.oom = oom_killed(e, id);
	cell_error *y = NULL;
	if (cell_rt_delete(e->rt_root, id, true, &y) < 0)
		cell_error_free(&y);
	json_object *rec = NULL;
	if (engine_record_read(e, id, &rec, &y) == 0)
		detach_network(e, id, rec);
	cell_error_free(&y);
	json_object_put(rec);
	/* the events before the record says exited: whoever waits on the
	 * record (cell stop, then its "stop" event; the API's wait reading the
	 * code of a removed container from "die") finds them written */
	if (x.oom)
		cell_event_ctr_id(e, "oom", id, NULL);
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *code = xasprintf("%d", x.code);
	json_object_object_add(attrs, "exitCode", json_object_new_string(code));
	cell_event_ctr_id(e, "die", id, attrs);
	if (cell_ctr_update(e, id, record_exit, &x, err) < 0)
		return -1;
	return x.code;
}

int engine_orphan_settle(struct cell_engine *e, const char *id, int code)
{
	cell_error *x = NULL;
	_cleanup_close_ int lock = engine_lock(e, id, &x);
	json_object *rec = NULL;
	int r = 0;
	if (lock < 0 || engine_record_read(e, id, &rec, &x) < 0)
		goto out;
	json_object *st = state_obj(rec);
	const char *s = cell_ctr_status(rec);
	bool live = streq(s, "running") || streq(s, "paused");
	char rs[32];
	/* under the lock: a new start or a live watcher writes its own record */
	if ((!live && !streq(s, "restarting")) || monitor_alive(rec, NULL) || engine_op_busy(rec) ||
	    (live && engine_rt_status(e, id, rs, sizeof(rs), NULL) > 0))
		goto out;
	if (live) {
		/* the init's parent was the watcher: its status went to whoever
		 * reaped it (the host's init), so it is known only when we caused
		 * it, or when the kernel's OOM killer did */
		if (code < 0)
			code = oom_killed(e, id) ? 137 : 255;
		if (cell_rt_delete(e->rt_root, id, true, &x) < 0)
			cell_error_free(&x);
		detach_network(e, id, rec);
		_cleanup_free_ char *now = engine_now();
		const char *started = rec_str(rec, "State", "StartedAt");
		set_str(st, "FinishedAt", started && strcmp(now, started) < 0 ? started : now);
		json_object_object_add(st, "ExitCode", json_object_new_int(code));
		json_object_object_add(st, "OOMKilled", json_object_new_boolean(code == 137 && oom_killed(e, id)));
		set_str(st, "Error", code == 255 ? "the container's monitor died: exit code unknown"
						 : "the container's monitor died");
	} else {
		/* killed in the restart policy's wait: the last exit stays */
		set_str(st, "Error", "the container's monitor died while waiting to restart it");
	}
	set_str(st, "Status", "exited");
	json_object_object_add(st, "Running", json_object_new_boolean(false));
	json_object_object_add(st, "Paused", json_object_new_boolean(false));
	json_object_object_add(st, "Restarting", json_object_new_boolean(false));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	json_object_object_add(st, "Unwatched", json_object_new_boolean(true));
	if (engine_record_write(e, id, rec, &x) < 0)
		goto out;
	r = 1;
	{
		json_object *attrs = json_object_new_object();
		_cleanup_free_ char *c = xasprintf("%d", json_object_get_int(json_object_object_get(st, "ExitCode")));
		json_object_object_add(attrs, "exitCode", json_object_new_string(c));
		cell_event_ctr_id(e, "die", id, attrs);
	}
out:
	cell_error_free(&x);
	json_object_put(rec);
	return r;
}

int engine_destroy(struct cell_engine *e, const char *id, json_object *rec, cell_error **err)
{
	_cleanup_free_ char *cdir = cell_ctr_dir(e, id);
	if (cell_rt_delete(e->rt_root, id, true, err) < 0)
		return cell_error_wrap(err, "remove container `%.12s`", id);
	detach_network(e, id, rec);
	if (cell_image_unmount_rootfs(cdir, true, err) < 0)
		return cell_error_wrap(err, "remove container `%.12s`", id);
	const char *name = rec_str(rec, "Name", NULL);
	if (name && *name == '/')
		name++;
	/* the record goes first: a half-removed directory is then invisible */
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", cdir);
	unlink(cfg);
	if (rm_rf(cdir, err) < 0)
		return cell_error_wrap(err, "remove container `%.12s`", id);
	engine_name_release(e, name, id);
	/* Docker: a --rm container takes its anonymous volumes with it */
	if (json_object_get_boolean(json_object_object_get(json_object_object_get(rec, "HostConfig"), "AutoRemove")))
		engine_volumes_release_anonymous(e, rec);
	return 0;
}

/* ---- start (detached: through the monitor) ---- */

static int check_startable(json_object *rec, const char *id, cell_error **err)
{
	const char *s = cell_ctr_status(rec);
	if (streq(s, "running") || streq(s, "paused") || streq(s, "restarting"))
		return cell_error_set(err, "container `%.12s` is %s already", id, s);
	return 0;
}

static int clear_stop_flag(json_object *rec, void *data, cell_error **err)
{
	json_object_object_add(state_obj(rec), "StoppedByUser", json_object_new_boolean(false));
	json_object_object_del(state_obj(rec), "Unwatched");
	set_str(state_obj(rec), "Error", "");
	return 0;
}

int engine_ctr_start(struct cell_engine *e, const char *id, int attach_fd, cell_error **err)
{
	/* taken from the status check to the monitor's verdict: a second start
	 * waits and finds it running, an rm -f waits until the overlay it
	 * unmounts is no longer being mounted */
	int op = engine_op_take(e, id, "starting", err);
	if (op < 0)
		return -1;
	json_object *rec = NULL;
	int r = cell_ctr_load(e, id, &rec, err);
	if (r == 0)
		r = check_startable(rec, id, err);
	if (r == 0)
		r = ensure_rootfs(e, id, rec, err);
	json_object_put(rec);
	if (r == 0)
		r = cell_ctr_update(e, id, clear_stop_flag, NULL, err);
	if (r == 0)
		r = engine_monitor_start(e, id, attach_fd, err);
	engine_op_release(e, id, op);
	return r < 0 ? -1 : 0;
}

int cell_ctr_start(struct cell_engine *e, const char *id, cell_error **err)
{
	return engine_ctr_start(e, id, -1, err);
}

/* ---- foreground run ---- */

/* ---- a restart policy its dead monitor can no longer apply ---- */

static int count_restart(json_object *rec, void *data, cell_error **err)
{
	json_object *rc = json_object_object_get(rec, "RestartCount");
	json_object_object_add(rec, "RestartCount", json_object_new_int(json_object_get_int(rc) + 1));
	return 0;
}

int cell_ctr_revive(struct cell_engine *e, const char *id)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (engine_record_read(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return 0;
	}
	json_object *st = state_obj(rec);
	json_object *rp = json_object_object_get(json_object_object_get(rec, "HostConfig"), "RestartPolicy");
	const char *pol = json_object_get_string(json_object_object_get(rp, "Name"));
	int max = json_object_get_int(json_object_object_get(rp, "MaximumRetryCount"));
	int count = json_object_get_int(json_object_object_get(rec, "RestartCount"));
	int code = json_object_get_int(json_object_object_get(st, "ExitCode"));
	bool due = json_object_get_boolean(json_object_object_get(st, "Unwatched")) &&
		   streq(cell_ctr_status(rec), "exited") &&
		   !json_object_get_boolean(json_object_object_get(st, "StoppedByUser")) && !engine_op_busy(rec) && pol &&
		   (streq(pol, "always") || streq(pol, "unless-stopped") ||
		    (streq(pol, "on-failure") && code != 0 && (max == 0 || count < max)));
	json_object_put(rec);
	if (!due)
		return 0;
	/* as its monitor would have: counted, then started (a new monitor) */
	if (cell_ctr_update(e, id, count_restart, NULL, &x) < 0 || engine_ctr_start(e, id, -1, &x) < 0) {
		cell_log(CELL_LOG_WARN, "restart container `%.12s` (its monitor died; --restart %s): %s", id, pol,
			 x ? x->msg : "failed");
		cell_error_free(&x);
		return -1;
	}
	return 1;
}

static pid_t fg_pid;
static void fg_forward(int sig)
{
	if (fg_pid > 0)
		kill(fg_pid, sig);
}

struct running_info {
	pid_t pid;
	pid_t monitor;
};

static int record_running(json_object *rec, void *data, cell_error **err)
{
	struct running_info *ri = data;
	json_object *st = state_obj(rec);
	_cleanup_free_ char *now = engine_now();
	set_str(st, "Status", "running");
	json_object_object_add(st, "Running", json_object_new_boolean(true));
	json_object_object_add(st, "Restarting", json_object_new_boolean(false));
	json_object_object_add(st, "OOMKilled", json_object_new_boolean(false));
	json_object_object_add(st, "Pid", json_object_new_int(ri->pid));
	json_object_object_add(st, "ExitCode", json_object_new_int(0));
	set_str(st, "Error", "");
	set_str(st, "StartedAt", now);
	json_object_object_add(st, "MonitorPid", json_object_new_int(ri->monitor));
	json_object_object_add(st, "MonitorStart", json_object_new_int64((int64_t)proc_start_time(ri->monitor)));
	/* a foreground run's start ends here (a monitor step's start ends in
	 * `cell start`, which holds it: not ours to drop) */
	engine_op_clear(rec);
	return 0;
}

int engine_record_running(struct cell_engine *e, const char *id, pid_t pid, cell_error **err)
{
	struct running_info ri = { .pid = pid, .monitor = getpid() };
	if (cell_ctr_update(e, id, record_running, &ri, err) < 0)
		return -1;
	cell_event_ctr_id(e, "start", id, NULL);
	return 0;
}

int engine_record_running_for(struct cell_engine *e, const char *id, pid_t pid, pid_t monitor, cell_error **err)
{
	struct running_info ri = { .pid = pid, .monitor = monitor };
	if (cell_ctr_update(e, id, record_running, &ri, err) < 0)
		return -1;
	cell_event_ctr_id(e, "start", id, NULL);
	return 0;
}

static int record_error(json_object *rec, void *data, cell_error **err)
{
	const cell_error *x = data;
	json_object *st = state_obj(rec);
	_cleanup_free_ char *now = engine_now();
	set_str(st, "Status", "exited");
	set_str(st, "Error", x->msg);
	/* a start that failed has finished now (ps: "Exited (127) N seconds ago") */
	set_str(st, "FinishedAt", now);
	json_object_object_add(st, "ExitCode", json_object_new_int(cell_ctr_exit_code(x)));
	json_object_object_add(st, "Running", json_object_new_boolean(false));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	return 0;
}

int engine_record_error(struct cell_engine *e, const char *id, const cell_error *x)
{
	cell_error *y = NULL;
	if (cell_ctr_update(e, id, record_error, (void *)x, &y) < 0)
		cell_error_free(&y);
	return 0;
}

/* A listening socket for --console-socket: the runtime connects and sends
 * the pty master while create runs in this same process, so the kernel
 * queues both until we accept after create returns. */
int engine_console_listen(const char *path, cell_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return cell_error_set(err, "console socket path `%s` is too long", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_error_errno(err, errno, "create the console socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int x = errno;
		close(fd);
		return cell_error_errno(err, x, "listen on the console socket `%s`", path);
	}
	return fd;
}

int engine_console_receive(int lfd, cell_error **err)
{
	_cleanup_close_ int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return cell_error_errno(err, errno, "accept on the console socket");
	char data[4096];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return cell_error_errno(err, errno, "receive the pty master");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			return fd;
		}
	return cell_error_set(err, "the runtime sent no pty master over the console socket");
}

int engine_launch_tty(struct cell_engine *e, const char *id, pid_t *ret_pid, int *ret_master, cell_error **err)
{
	/* short: sun_path holds 108 bytes, an engine root may be long */
	_cleanup_free_ char *path = xasprintf("%s/.console-%.16s-%d", e->rt_root, id, (int)getpid());
	_cleanup_close_ int lfd = engine_console_listen(path, err);
	if (lfd < 0)
		return -1;
	int r = engine_rt_launch(e, id, path, ret_pid, err);
	unlink(path);
	if (r < 0)
		return -1;
	int m = engine_console_receive(lfd, err);
	if (m < 0) {
		cell_error *x = NULL;
		if (cell_rt_delete(e->rt_root, id, true, &x) < 0)
			cell_error_free(&x);
		return -1;
	}
	*ret_master = m;
	return 0;
}

int cell_ctr_run_attached(struct cell_engine *e, const char *id, int *ret_status, cell_error **err)
{
	json_object *rec = NULL;
	*ret_status = 125;
	/* with a tty, the container runs under a monitor and we attach to it,
	 * so that Ctrl-P Ctrl-Q can leave it running (attach.c) */
	int mr;
	if (engine_run_monitored(e, id, ret_status, &mr, err))
		return mr;
	/* taken until the record says running (record_running drops it) */
	int op = engine_op_take(e, id, "starting", err);
	if (op < 0)
		return -1;
	if (cell_ctr_load(e, id, &rec, err) < 0) {
		engine_op_release(e, id, op);
		return -1;
	}
	int r = check_startable(rec, id, err);
	if (r == 0)
		r = ensure_rootfs(e, id, rec, err);
	bool tty = json_object_get_boolean(json_object_object_get(json_object_object_get(rec, "Config"), "Tty"));
	bool autorm = json_object_get_boolean(json_object_object_get(json_object_object_get(rec, "HostConfig"),
								     "AutoRemove"));
	if (r < 0) {
		engine_op_release(e, id, op);
		json_object_put(rec);
		return -1;
	}
	bool open_stdin = json_object_get_boolean(
		json_object_object_get(json_object_object_get(rec, "Config"), "OpenStdin"));
	if (!open_stdin && !tty) {
		/* Docker: without -i the container's stdin is empty */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			close(null);
		}
	}
	pid_t pid = 0;
	int master = -1, out = -1, errfd = -1;
	r = tty ? engine_launch_tty(e, id, &pid, &master, err) : engine_launch_piped(e, id, &pid, &out, &errfd, err);
	if (r < 0) {
		*ret_status = cell_ctr_exit_code(*err);
		engine_record_error(e, id, *err);
		if (autorm) {
			cell_error *x = NULL;
			if (engine_destroy(e, id, rec, &x) < 0)
				cell_error_free(&x);
		}
		engine_op_release(e, id, op);
		json_object_put(rec);
		return -1;
	}
	cell_error *x = NULL;
	if (engine_record_running(e, id, pid, &x) < 0) {
		cell_error_free(&x);
		engine_op_release(e, id, op);
	}
	int ws = 0;
	if (master >= 0) {
		ws = cell_tty_relay(master, pid);
		close(master);
	} else {
		fg_pid = pid;
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
		struct sigaction sa = { .sa_handler = fg_forward, .sa_flags = SA_RESTART };
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
		/* the output goes to us and to the log, so that `logs` shows it too */
		ws = engine_pump_foreground(e, id, pid, out, errfd);
		fg_pid = 0;
	}
	int code;
	if (autorm) {
		/* removed at once: no exit record to write first (the record is
		 * one more file to create; ps reads a stopped runtime state as
		 * exited should the removal fail) */
		code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		json_object *now = NULL;	/* with what the start added (networks) */
		int rm = engine_op_take(e, id, "removing", &x);	/* fails when rm -f has it */
		if (rm < 0 || engine_record_read(e, id, &now, &x) < 0)
			cell_error_free(&x);
		else if (engine_destroy(e, id, now, &x) < 0) {
			cell_error_free(&x);
			engine_op_release(e, id, rm);
		}
		json_object_put(now);
	} else if ((code = engine_after_exit(e, id, ws, &x)) < 0) {
		/* removed meanwhile (rm -f) */
		cell_error_free(&x);
		code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	*ret_status = code;
	json_object_put(rec);
	return 0;
}

/* ---- kill, stop ---- */

static int need_running(struct cell_engine *e, const char *id, json_object **ret, cell_error **err)
{
	json_object *rec = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	const char *s = cell_ctr_status(rec);
	if (!streq(s, "running") && !streq(s, "paused")) {
		json_object_put(rec);
		return cell_error_set(err, "container `%.12s` is not running (it is %s)", id, s);
	}
	*ret = rec;
	return 0;
}

int cell_ctr_kill(struct cell_engine *e, const char *id, int sig, cell_error **err)
{
	json_object *rec = NULL;
	if (engine_op_observe(e, id, err) < 0 || need_running(e, id, &rec, err) < 0)
		return -1;
	json_object_put(rec);
	if (cell_rt_kill(e->rt_root, id, sig, false, err) < 0)
		return -1;
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *signum = xasprintf("%d", sig);
	json_object_object_add(attrs, "signal", json_object_new_string(signum));
	cell_event_ctr_id(e, "kill", id, attrs);
	return 0;
}

static int set_stopped_by_user(json_object *rec, void *data, cell_error **err)
{
	json_object_object_add(state_obj(rec), "StoppedByUser", json_object_new_boolean(true));
	return 0;
}

/* Wait until pid is gone, at most ms milliseconds. True when gone. */
static bool wait_pid_gone(pid_t pid, int ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	close(fd);
	return r > 0;
}

/* Wait for the watcher to record the exit; do it ourselves when it is gone. */
static void settle(struct cell_engine *e, const char *id, int sig)
{
	for (int i = 0; i < 300; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (engine_record_read(e, id, &rec, &x) < 0) {
			cell_error_free(&x);
			return;
		}
		const char *s = cell_ctr_status(rec);
		bool done = !streq(s, "running") && !streq(s, "paused");
		bool watched = monitor_alive(rec, NULL);
		json_object_put(rec);
		if (done)
			return;
		if (!watched) {
			/* our SIGKILL is what ended it; anything else: unknown */
			engine_orphan_settle(e, id, sig == SIGKILL ? 128 + SIGKILL : -1);
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int stop_taken(struct cell_engine *e, const char *id, int timeout, cell_error **err);

int cell_ctr_stop(struct cell_engine *e, const char *id, int timeout, cell_error **err)
{
	/* a second stop waits for the first and then finds it stopped */
	int op = engine_op_take(e, id, "stopping", err);
	if (op < 0)
		return -1;
	int r = stop_taken(e, id, timeout, err);
	engine_op_release(e, id, op);
	return r;
}

int cell_ctr_restart(struct cell_engine *e, const char *id, int timeout, cell_error **err)
{
	/* one operation: nothing starts or removes it between the stop and the start */
	int op = engine_op_take(e, id, "restarting", err);
	if (op < 0)
		return -1;
	int r = stop_taken(e, id, timeout, err);
	if (r == 0)
		r = engine_ctr_start(e, id, -1, err);
	engine_op_release(e, id, op);
	return r;
}

static int stop_taken(struct cell_engine *e, const char *id, int timeout, cell_error **err)
{
	json_object *rec = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	if (cell_ctr_update(e, id, set_stopped_by_user, NULL, err) < 0) {
		json_object_put(rec);
		return -1;
	}
	const char *s = cell_ctr_status(rec);
	if (!streq(s, "running") && !streq(s, "paused")) {
		json_object_put(rec);
		engine_monitor_cancel_restart(e, id);
		settle(e, id, 0);
		return 0;
	}
	json_object *cfg = json_object_object_get(rec, "Config");
	const char *signame = rec_str(rec, "Config", "StopSignal");
	int sig = signame ? signal_parse(signame) : SIGTERM;
	if (sig <= 0)
		sig = SIGTERM;
	if (timeout < 0)
		timeout = json_object_get_int(json_object_object_get(cfg, "StopTimeout"));
	pid_t pid = cell_ctr_pid(rec);
	bool paused = streq(s, "paused");	/* s is rec's */
	json_object_put(rec);
	cell_error *x = NULL;
	if (paused && cell_rt_pause(e->rt_root, id, false, &x) < 0)
		cell_error_free(&x);
	int last = sig;
	if (cell_rt_kill(e->rt_root, id, sig, false, &x) < 0)
		cell_error_free(&x);
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *signum = xasprintf("%d", sig);
	json_object_object_add(attrs, "signal", json_object_new_string(signum));
	cell_event_ctr_id(e, "kill", id, attrs);
	if (timeout < 0 || !wait_pid_gone(pid, timeout * 1000)) {
		last = SIGKILL;
		if (cell_rt_kill(e->rt_root, id, SIGKILL, true, &x) < 0)
			cell_error_free(&x);
		wait_pid_gone(pid, 10000);
	}
	settle(e, id, last);
	cell_event_ctr_id(e, "stop", id, NULL);
	return 0;
}

/* ---- remove ---- */

static int remove_taken(struct cell_engine *e, const char *id, bool force, cell_error **err);

int cell_ctr_remove(struct cell_engine *e, const char *id, bool force, cell_error **err)
{
	/* a start, stop or pause under way ends first (a stop at once: its
	 * container gets SIGKILL); a second rm gets "is being removed" */
	int op = engine_op_take(e, id, "removing", err);
	if (op < 0)
		return -1;
	int r = remove_taken(e, id, force, err);
	if (r < 0)
		engine_op_release(e, id, op);
	return r;
}

static int remove_taken(struct cell_engine *e, const char *id, bool force, cell_error **err)
{
	json_object *rec = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	const char *s = cell_ctr_status(rec);
	bool live = streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
	if (live && !force) {
		json_object_put(rec);
		return cell_error_set(err, "container `%.12s` is %s: stop it first, or use `rm -f`", id, s);
	}
	pid_t mon = 0;
	bool is_monitor = json_object_get_boolean(json_object_object_get(state_obj(rec), "Detached"));
	if (is_monitor && monitor_alive(rec, &mon)) {
		/* the monitor would restart it or race us over the record */
		kill(mon, SIGKILL);
		wait_pid_gone(mon, 2000);
	}
	_cleanup_close_ int lock = engine_lock(e, id, err);
	if (lock < 0) {
		json_object_put(rec);
		return -1;
	}
	int r = engine_destroy(e, id, rec, err);
	if (r == 0)
		cell_event_ctr(e, "destroy", id, rec, NULL);
	json_object_put(rec);
	return r;
}

int cell_ctr_prune(struct cell_engine *e, char ***ret_ids, uint64_t *ret_bytes, cell_error **err)
{
	return cell_ctr_prune_if(e, NULL, NULL, ret_ids, ret_bytes, err);
}

/* ---- wait, pause ---- */

int cell_ctr_wait(struct cell_engine *e, const char *id, int *ret_code, cell_error **err)
{
	for (;;) {
		json_object *rec = NULL;
		if (engine_record_read(e, id, &rec, err) < 0)
			return -1;
		const char *s = cell_ctr_status(rec);
		pid_t pid = cell_ctr_pid(rec);
		bool watched = monitor_alive(rec, NULL);
		if (!streq(s, "running") && !streq(s, "paused") && !streq(s, "restarting")) {
			*ret_code = json_object_get_int(json_object_object_get(state_obj(rec), "ExitCode"));
			json_object_put(rec);
			return 0;
		}
		json_object_put(rec);
		if (!watched) {
			json_object *r2 = NULL;
			if (cell_ctr_load(e, id, &r2, err) < 0)
				return -1;
			/* cell_ctr_load recorded the exit of an init gone unwatched
			 * (255: unknown); the next read returns it */
			bool gone = streq(cell_ctr_status(r2), "exited");
			json_object_put(r2);
			if (!gone && pid > 0)
				wait_pid_gone(pid, 200);	/* an init no one watches: checked again soon */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (pid > 0)
			wait_pid_gone(pid, 1000);
		/* then the watcher's record update */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int cell_ctr_pause(struct cell_engine *e, const char *id, bool pause, cell_error **err)
{
	int op = engine_op_take(e, id, pause ? "pausing" : "unpausing", err);
	if (op < 0)
		return -1;
	json_object *rec = NULL;
	int r = need_running(e, id, &rec, err);
	json_object_put(rec);
	if (r == 0)
		r = cell_rt_pause(e->rt_root, id, pause, err);
	engine_op_release(e, id, op);
	if (r < 0)
		return -1;
	cell_event_ctr_id(e, pause ? "pause" : "unpause", id, NULL);
	return 0;
}

/* ---- exec ---- */

int cell_ctr_exec(struct cell_engine *e, const char *id, const struct cell_exec_request *req, int *ret_status,
		  cell_error **err)
{
	json_object *rec = NULL;
	*ret_status = 125;
	if (engine_op_observe(e, id, err) < 0 || need_running(e, id, &rec, err) < 0)
		return -1;
	const char *s = cell_ctr_status(rec);
	if (streq(s, "paused")) {
		json_object_put(rec);
		return cell_error_set(err, "container `%.12s` is paused: unpause it first", id);
	}
	json_object_put(rec);
	_cleanup_free_ char *user = NULL;
	if (req->user) {
		_cleanup_free_ char *rootfs = xasprintf("%s/%s/rootfs", e->ctr_root, id);
		json_object *u = NULL;
		if (engine_user_resolve(rootfs, req->user, &u, err) < 0)
			return -1;
		user = xasprintf("%d:%d", json_object_get_int(json_object_object_get(u, "uid")),
				 json_object_get_int(json_object_object_get(u, "gid")));
		json_object_put(u);
	}
	char **caps = req->privileged ? cell_all_caps() : NULL;
	struct cell_exec_opts o = {
		.args = req->args, .env = req->env, .cwd = req->workdir, .user = user,
		.tty = req->tty, .detach = req->detach, .caps = caps,
		.console_socket = req->console_socket, .pid_file = req->pid_file,
		.console_height = req->rows, .console_width = req->cols,
	};
	/* Docker's "exec_create: CMD ARGS", "exec_start: ...", "exec_die" */
	_cleanup_free_ char *exec_id = cell_id_new();
	char cmdline[512] = "";
	for (size_t i = 0, n = 0; req->args && req->args[i] && n < sizeof(cmdline) - 1; i++)
		n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, "%s%s", i ? " " : "", req->args[i]);
	_cleanup_free_ char *created = xasprintf("exec_create: %s", cmdline);
	_cleanup_free_ char *started = xasprintf("exec_start: %s", cmdline);
	json_object *a = json_object_new_object();
	json_object_object_add(a, "execID", json_object_new_string(exec_id));
	cell_event_ctr_id(e, created, id, json_object_get(a));
	cell_event_ctr_id(e, started, id, json_object_get(a));
	int r = cell_rt_exec(e->rt_root, id, &o, ret_status, err);
	strv_free(caps);
	if (r < 0)
		*ret_status = cell_ctr_exit_code(*err);
	if (!req->detach) {
		_cleanup_free_ char *code = xasprintf("%d", *ret_status);
		json_object_object_add(a, "exitCode", json_object_new_string(code));
		cell_event_ctr_id(e, "exec_die", id, json_object_get(a));
	}
	json_object_put(a);
	return r;
}
