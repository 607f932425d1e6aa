/* `cell create`: every flag checked, then the name, the directory, the
 * rootfs mount, the bundle and the record, in that order; undone in reverse
 * on failure so that bad input leaves nothing behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "flags.h"
#include "health.h"
#include "image/image.h"
#include "json.h"
#include "net/net.h"
#include "root.h"
#include "util.h"
#include "volume.h"


static json_object *jstrv(char **v)
{
	if (!v)
		return NULL;
	json_object *a = json_object_new_array();
	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *labels_json(const struct cell_run_request *req, const struct cell_image *img,
				cell_error **err)
{
	json_object *o = json_object_new_object();
	for (size_t pass = 0; pass < 2; pass++) {
		char **v = pass == 0 ? img->config.labels : req->labels;
		for (size_t i = 0; v && v[i]; i++) {
			const char *eq = strchr(v[i], '=');
			if (!eq && pass == 1 && !*v[i]) {
				json_object_put(o);
				cell_error_set(err, "invalid --label `%s`: expected key=value", v[i]);
				return NULL;
			}
			_cleanup_free_ char *k = eq ? strndup(v[i], (size_t)(eq - v[i])) : xstrdup(v[i]);
			json_object_object_add(o, k, json_object_new_string(eq ? eq + 1 : ""));
		}
	}
	return o;
}

static json_object *mounts_json(json_object *spec_mounts)
{
	json_object *a = json_object_new_array();
	size_t n = json_object_array_length(spec_mounts);
	/* the first ten are the defaults (proc, dev, ..., the /etc files) */
	for (size_t i = 10; i < n; i++) {
		json_object *m = json_object_array_get_idx(spec_mounts, i);
		const char *type = json_object_get_string(json_object_object_get(m, "type"));
		if (streq(json_object_get_string(json_object_object_get(m, "destination")), ENGINE_INIT_DEST))
			continue;	/* --init's binary is no mount of the user's, as in Docker */
		json_object *opts = json_object_object_get(m, "options");
		bool rw = true;
		for (size_t j = 0; j < json_object_array_length(opts); j++)
			if (streq(json_object_get_string(json_object_array_get_idx(opts, j)), "ro"))
				rw = false;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Type", json_object_new_string(type));
		json_object_object_add(o, "Source", json_object_get(json_object_object_get(m, "source")));
		json_object_object_add(o, "Destination", json_object_get(json_object_object_get(m, "destination")));
		json_object_object_add(o, "RW", json_object_new_boolean(rw));
		json_object_array_add(a, o);
	}
	return a;
}

static int write_etc_files(const char *root, const char *cdir, const char *hostname, const char *network,
			   const struct cell_run_request *req, char **add_hosts, cell_error **err)
{
	_cleanup_free_ char *hn = xasprintf("%s/hostname", cdir);
	_cleanup_free_ char *hs = xasprintf("%s/hosts", cdir);
	_cleanup_free_ char *rc = xasprintf("%s/resolv.conf", cdir);
	_cleanup_free_ char *hn_text = xasprintf("%s\n", hostname);
	_cleanup_free_ char *hosts = NULL;
	_cleanup_free_ char *resolv = NULL;
	cell_error *x = NULL;
	{
		char *s = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&s, &len);
		fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", hostname);
		/* NAME:IP (attach rewrites the file with them on a network of cell's) */
		for (char **it = add_hosts; it && *it; it++) {
			const char *colon = strchr(*it, ':');
			if (colon && colon[1])
				fprintf(f, "%s\t%.*s\n", colon + 1, (int)(colon - *it), *it);
		}
		fclose(f);
		hosts = s;
	}
	bool dns = (req->dns && *req->dns) || (req->dns_search && *req->dns_search) ||
		   (req->dns_options && *req->dns_options);
	if (streq(network, "host")) {
		if (read_file("/etc/resolv.conf", &resolv, NULL, &x) < 0)
			cell_error_free(&x);
	} else if (engine_net_attached(network) || strncmp(network, "phys:", 5) == 0 || dns) {
		/* the host's servers minus loopback ones, unreachable from a netns */
		/* on a user network: its resolver (net/dns.c), unless --dns */
		resolv = engine_net_attached(network)
				 ? cell_net_resolv_for(root, engine_net_name(network), "/etc/resolv.conf", req->dns,
						       req->dns_search, req->dns_options, &x)
				 : cell_net_resolv_opts("/etc/resolv.conf", req->dns, req->dns_search, req->dns_options, &x);
		cell_error_free(&x);
	}
	if (!resolv)
		resolv = xstrdup("");
	if (write_file_atomic(hn, hn_text, strlen(hn_text), 0644, err) < 0 ||
	    write_file_atomic(hs, hosts, strlen(hosts), 0644, err) < 0 ||
	    write_file_atomic(rc, resolv, strlen(resolv), 0644, err) < 0)
		return -1;
	return 0;
}

/* ---- network parts: checks, the other container of container:X, the record ---- */

/* --add-host lines for the hosts file, host-gateway replaced by gw (NULL: refused). */
static int add_hosts_resolve(char **in, const char *gw, const char *mode, char ***ret, cell_error **err)
{
	size_t n = strv_len(in);
	_cleanup_strv_ char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		size_t k = strcspn(in[i], ":=");
		const char *ip = in[i][k] ? in[i] + k + 1 : "";
		if (streq(ip, "host-gateway")) {
			if (!gw)
				return cell_error_set(err, "--add-host %s: host-gateway needs a network of cell's (the "
						      "container runs with --network %s)", in[i], mode);
			ip = gw;
		}
		v[i] = xasprintf("%.*s:%s", (int)k, in[i], ip);
	}
	*ret = TAKE_PTR(v);
	return 0;
}

struct net_checked {
	char *ip4;		/* --ip, or the IPv4 address --ip6 goes with */
	json_object *ip4s;	/* network → its checked IPv4 address, from --network name=N,ip=... */
	char *target;		/* container:X: X's id */
	char **add_hosts;	/* resolved, NAME:IP */
};

static void net_checked_clear(struct net_checked *c)
{
	free(c->ip4);
	json_object_put(c->ip4s);
	free(c->target);
	strv_free(c->add_hosts);
}

/* container:X: X's netns (the path set at each start), hostname and /etc files. */
static int join_container(struct cell_engine *e, const char *ref, struct engine_spec *sp, struct net_checked *c,
			  cell_error **err)
{
	json_object *trec = NULL;
	if (cell_ctr_lookup(e, ref, &c->target, err) < 0)
		return cell_error_wrap(err, "--network container:%s", ref);
	if (engine_record_read(e, c->target, &trec, err) < 0)
		return cell_error_wrap(err, "--network container:%s", ref);
	const char *hn = json_object_get_string(json_object_object_get(json_object_object_get(trec, "Config"),
								       "Hostname"));
	if (hn && *hn) {
		free(sp->hostname);
		sp->hostname = xstrdup(hn);
		json_object_object_add(sp->doc, "hostname", json_object_new_string(hn));
	}
	json_object_put(trec);
	_cleanup_free_ char *tdir = cell_ctr_dir(e, c->target);
	json_object *mounts = json_object_object_get(sp->doc, "mounts");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *dst = json_object_get_string(json_object_object_get(m, "destination"));
		if (dst && (streq(dst, "/etc/hostname") || streq(dst, "/etc/hosts") || streq(dst, "/etc/resolv.conf"))) {
			_cleanup_free_ char *src = xasprintf("%s/%s", tdir, dst + 5);
			json_object_object_add(m, "source", json_object_new_string(src));
		}
	}
	/* the record names X by its id, as Docker's NetworkMode does */
	free(sp->networks[0]);
	sp->networks[0] = xasprintf("container:%s", c->target);
	sp->network = sp->networks[0];
	return 0;
}

static int net_check(struct cell_engine *e, const struct cell_run_request *req, struct engine_spec *sp,
		     struct net_checked *c, cell_error **err)
{
	const char *first = sp->networks[0];
	const char *gw = NULL;
	char gwbuf[64];

	if (strncmp(first, "container:", 10) == 0)
		return join_container(e, first + 10, sp, c, err);
	if (strncmp(first, "phys:", 5) == 0) {
		_cleanup_cell_nl_ struct cell_nl *nl = NULL;
		struct cell_link l;
		if (cell_nl_open(-1, &nl, err) < 0)
			return -1;
		int idx = cell_link_index(nl, first + 5, err);
		if (idx < 0)
			return -1;
		if (idx == 0)
			return cell_error_set(err, "--network %s: no interface `%s` on the host", first, first + 5);
		if (cell_link_get(nl, first + 5, &l, err) < 0)
			return -1;
		if (streq(first + 5, "lo") || streq(l.kind, "bridge"))
			return cell_error_set(err, "--network %s: a %s cannot be given to a container", first,
					      streq(first + 5, "lo") ? "loopback" : "bridge");
	}
	for (char **it = sp->networks; engine_net_attached(first) && *it; it++) {
		struct cell_network *net = NULL;
		if (streq(*it, "bridge") || streq(*it, "default"))
			continue;
		if (cell_network_load(e->root, *it, &net, err) < 0) {
			cell_error_free(err);
			return cell_error_set(err, "network `%s` not found (create it with `cell network create`)", *it);
		}
		cell_network_free(net);
	}
	if (engine_net_attached(first)) {
		if (cell_net_check_ip(e->root, engine_net_name(first), req->ip, req->ip6, &c->ip4, err) < 0)
			return -1;
		/* --network name=N,ip=...,ip6=...: each network's own, checked the same way */
		c->ip4s = json_object_new_object();
		for (char **it = sp->networks; *it; it++) {
			json_object *o = json_object_object_get(sp->net_opts, *it);
			const char *ip = json_object_get_string(json_object_object_get(o, "ip"));
			const char *ip6 = json_object_get_string(json_object_object_get(o, "ip6"));
			_cleanup_free_ char *ip4 = NULL;
			if (!ip && !ip6)
				continue;
			if (cell_net_check_ip(e->root, *it, ip, ip6, &ip4, err) < 0)
				return cell_error_wrap(err, "--network name=%s", *it);
			json_object_object_add(c->ip4s, *it, json_object_new_string(ip4 ? ip4 : ""));
		}
		struct cell_network *net = NULL;
		if (req->add_hosts && !streq(engine_net_name(first), CELL_DEFAULT_NETWORK) &&
		    cell_network_load(e->root, engine_net_name(first), &net, err) == 0) {
			gw = cell_prefix_str(&net->gateway, false, gwbuf, sizeof(gwbuf));
			cell_network_free(net);
		} else if (req->add_hosts) {
			cell_error_free(err);
			gw = "";	/* cell0's, known once attached */
		}
	} else if (streq(first, "host")) {
		gw = "127.0.0.1";
	}
	if (add_hosts_resolve(req->add_hosts, gw, first, &c->add_hosts, err) < 0)
		return -1;
	if (req->netns_name) {
		_cleanup_free_ char *p = xasprintf("%s/%s", CELL_NETNS_DIR, req->netns_name);
		if (access(p, F_OK) == 0)
			return cell_error_set(err, "--netns-name %s: the name is in use (%s exists)", req->netns_name, p);
	}
	return 0;
}

/* What attach_network reads at every start, in Docker's places. */
static void net_record(json_object *rec, const struct cell_run_request *req, const struct cell_image *img,
		       const struct engine_spec *sp, const struct net_checked *c)
{
	json_object *hc = json_object_object_get(rec, "HostConfig"), *cfg = json_object_object_get(rec, "Config");
	json_object *empty = json_object_new_array();
	json_object_object_add(hc, "Dns", req->dns ? jstrv(req->dns) : json_object_get(empty));
	json_object_object_add(hc, "DnsSearch", req->dns_search ? jstrv(req->dns_search) : json_object_get(empty));
	json_object_object_add(hc, "DnsOptions", req->dns_options ? jstrv(req->dns_options) : json_object_get(empty));
	json_object_object_add(hc, "ExtraHosts", req->add_hosts ? jstrv(req->add_hosts) : json_object_get(empty));
	json_object_put(empty);
	json_object_object_add(hc, "PublishAllPorts", json_object_new_boolean(req->publish_all));
	json_object_object_add(hc, "NetnsName", json_object_new_string(req->netns_name ? req->netns_name : ""));
	json_object *exp = json_object_new_object();
	for (char **it = img->config.exposed_ports; it && *it; it++)
		json_object_object_add(exp, *it, json_object_new_object());
	json_object_object_add(cfg, "ExposedPorts", exp);
	/* one endpoint per network, in order; the flags go to the first */
	json_object *eps = json_object_new_object();
	for (size_t i = 0; engine_net_attached(sp->network) && sp->networks[i]; i++) {
		json_object *ep = json_object_new_object(), *ipam = json_object_new_object();
		json_object *aliases = json_object_new_array();
		/* --network name=N,ip=...: that network's; else the flags, for the first */
		json_object *o = json_object_object_get(sp->net_opts, sp->networks[i]);
		const char *mac = i == 0 ? req->mac_address : NULL;
		if (o) {
			const char *ip4 = json_object_get_string(json_object_object_get(c->ip4s, sp->networks[i]));
			const char *ip6 = json_object_get_string(json_object_object_get(o, "ip6"));
			json_object_object_add(ipam, "IPv4Address", json_object_new_string(ip4 ? ip4 : ""));
			json_object_object_add(ipam, "IPv6Address", json_object_new_string(ip6 ? ip6 : ""));
			json_object *al = json_object_object_get(o, "aliases");
			for (size_t k = 0; al && k < json_object_array_length(al); k++)
				json_object_array_add(aliases, json_object_get(json_object_array_get_idx(al, k)));
			mac = json_object_get_string(json_object_object_get(o, "mac"));
		} else if (i == 0) {
			json_object_object_add(ipam, "IPv4Address", json_object_new_string(c->ip4 ? c->ip4 : ""));
			json_object_object_add(ipam, "IPv6Address", json_object_new_string(req->ip6 ? req->ip6 : ""));
			for (char **it = req->network_aliases; it && *it; it++)
				json_object_array_add(aliases, json_object_new_string(*it));
		}
		json_object_object_add(ep, "IPAMConfig", ipam);
		json_object_object_add(ep, "Aliases", aliases);
		json_object_object_add(ep, "MacAddress", json_object_new_string(mac ? mac : ""));
		json_object_object_add(eps, sp->networks[i], ep);
	}
	json_object *nc = json_object_new_object();
	json_object_object_add(nc, "EndpointsConfig", eps);
	json_object_object_add(rec, "NetworkingConfig", nc);
	/* the networks it will join, without addresses until it starts (as
	 * dockerd shows a created container: compose reads their Aliases) */
	json_object *ns = json_object_object_get(rec, "NetworkSettings"), *nets = json_object_new_object();
	json_object_object_foreach(eps, k, ep)
		json_object_object_add(nets, k, engine_endpoint_json(NULL, ep, NULL));
	if (ns)
		json_object_object_add(ns, "Networks", nets);
	else
		json_object_put(nets);
}

/* In its own user namespace the container's root must reach its root file
 * system and own its /etc files: the container directory is searchable by
 * its root's group only, the files are its root's (as Docker's userns-remap
 * gives /var/lib/docker/<uid>.<gid> to the remapped root). */
static int userns_own_files(const char *cdir, const struct engine_userns *u, cell_error **err)
{
	uint32_t uid = engine_userns_host(u->uid, u->n_uid, 0), gid = engine_userns_host(u->gid, u->n_gid, 0);
	if (uid == UINT32_MAX || gid == UINT32_MAX)
		return 0;	/* no root inside: nothing the container may own */
	if (chown(cdir, 0, gid) < 0 || chmod(cdir, 0710) < 0)
		return cell_error_errno(err, errno, "let the container's root group (%u) into `%s`", gid, cdir);
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", cdir, files[i]);
		if (chown(p, uid, gid) < 0 && errno != ENOENT)
			return cell_error_errno(err, errno, "chown `%s` to the container's root (%u:%u)", p, uid, gid);
	}
	return 0;
}

/* Docker's -w (or the image's WORKDIR) that the image lacks: made, as the
 * container's root and 0755, one component at a time inside the mounted
 * root. Each parent is resolved with RESOLVE_IN_ROOT and mkdirat() follows
 * no link; a dangling link of the image on the way (/new -> /elsewhere)
 * is read and its target made inside the root, as Docker's
 * FollowSymlinkInScope does. */
static int make_workdir(const char *rootfs, const char *cwd, const struct engine_userns *u, cell_error **err)
{
	if (!cwd || cwd[0] != '/' || streq(cwd, "/"))
		return 0;
	uint32_t uid = 0, gid = 0;
	if (u->mode) {
		uid = engine_userns_host(u->uid, u->n_uid, 0);
		gid = engine_userns_host(u->gid, u->n_gid, 0);
	}
	const uint64_t in_root = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return cell_error_errno(err, errno, "open the container's root `%s`", rootfs);
	_cleanup_free_ char *path = xstrdup(cwd);
	int links = 0;
again:
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int fd = cell_openat2(root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, in_root);
		if (fd < 0 && errno == ENOENT) {
			char *slash = strrchr(path, '/');
			_cleanup_free_ char *parent = slash == path ? xstrdup("/") : strndup(path, (size_t)(slash - path));
			_cleanup_close_ int pfd = cell_openat2(root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, in_root);
			if (pfd >= 0 && mkdirat(pfd, slash + 1, 0755) < 0 && errno == EEXIST) {
				char target[4096];
				ssize_t n = readlinkat(pfd, slash + 1, target, sizeof(target) - 1);
				if (n > 0 && ++links <= 40) {
					/* a dangling link: its target, then the rest of cwd */
					target[n] = '\0';
					*p = c;
					char *np = target[0] == '/' ? xasprintf("%s%s", target, p)
								  : xasprintf("%s/%s%s", parent, target, p);
					free(path);
					path = np;
					goto again;
				}
				errno = n > 0 ? ELOOP : ENOTDIR;
				pfd = safe_close(pfd);
			}
			if (pfd < 0 || (fd = cell_openat2(root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, in_root)) < 0)
				return cell_error_errno(err, errno, "create the working directory `%s` in the container "
							"(at `%s`)", cwd, path);
			/* O_PATH fds take no fchown: through /proc/self/fd, which names the dir itself */
			_cleanup_free_ char *fdp = xasprintf("/proc/self/fd/%d", fd);
			if ((uid || gid) && chown(fdp, uid, gid) < 0) {
				int e = errno;
				close(fd);
				return cell_error_errno(err, e, "chown the working directory `%s` to the container's "
							"root (%u:%u)", path, uid, gid);
			}
		}
		if (fd < 0)
			return cell_error_errno(err, errno, "the working directory `%s` of the container (at `%s`): "
						"not a directory, or a link that leaves the container's root?", cwd, path);
		close(fd);
		*p = c;
		if (!c)
			break;
		while (p[1] == '/')
			p++;
		if (!p[1])
			break;
	}
	return 0;
}

static json_object *new_state(void)
{
	json_object *st = json_object_new_object();
	json_object_object_add(st, "Status", json_object_new_string("created"));
	json_object_object_add(st, "Running", json_object_new_boolean(false));
	json_object_object_add(st, "Paused", json_object_new_boolean(false));
	json_object_object_add(st, "Restarting", json_object_new_boolean(false));
	json_object_object_add(st, "OOMKilled", json_object_new_boolean(false));
	json_object_object_add(st, "Dead", json_object_new_boolean(false));
	json_object_object_add(st, "Pid", json_object_new_int(0));
	json_object_object_add(st, "ExitCode", json_object_new_int(0));
	json_object_object_add(st, "Error", json_object_new_string(""));
	json_object_object_add(st, "StartedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(st, "FinishedAt", json_object_new_string("0001-01-01T00:00:00Z"));
	return st;
}

struct request_checks {
	int64_t log_max;
	char *restart;
	int restart_max;
	int stop_timeout;
};

static int check_request(const struct cell_run_request *req, struct request_checks *c, cell_error **err)
{
	if (!req->image || !*req->image)
		return cell_error_set(err, "no image given: `cell run [OPTIONS] IMAGE [COMMAND] [ARG...]`");
	if (req->name && !cell_name_valid(req->name))
		return cell_error_set(err, "invalid container name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				      req->name);
	if (cell_restart_parse(req->restart, &c->restart, &c->restart_max, err) < 0)
		return -1;
	if (req->rm && !streq(c->restart, "no"))
		return cell_error_set(err, "conflicting options: --restart %s and --rm", c->restart);
	for (size_t i = 0; req->log_opts && req->log_opts[i]; i++) {
		const char *o = req->log_opts[i];
		if (strncmp(o, "max-size=", 9) == 0) {
			if (parse_size(o + 9, &c->log_max) < 0 || c->log_max < 4096)
				return cell_error_set(err, "invalid --log-opt `%s`: a size of at least 4k", o);
		} else if (strncmp(o, "max-file=", 9) != 0) {
			return cell_error_set(err, "invalid --log-opt `%s`: max-size=SIZE is supported", o);
		}
	}
	c->stop_timeout = 10;
	if (req->stop_timeout) {
		int64_t v;
		if (parse_int64(req->stop_timeout, &v) < 0 || v < -1 || v > 86400)
			return cell_error_set(err, "invalid --stop-timeout `%s`: expected seconds", req->stop_timeout);
		c->stop_timeout = (int)v;
	}
	return 0;
}

static json_object *build_record(const struct cell_run_request *req, const struct cell_image *img,
				 const char *id, const char *name, const char *cdir, const struct engine_spec *sp,
				 const struct request_checks *c, json_object *labels)
{
	json_object *rec = json_object_new_object();
	_cleanup_free_ char *now = engine_now();
	_cleanup_free_ char *slash_name = xasprintf("/%s", name);
	json_object *args = json_object_object_get(json_object_object_get(sp->doc, "process"), "args");
	json_object_object_add(rec, "Id", json_object_new_string(id));
	json_object_object_add(rec, "Created", json_object_new_string(now));
	size_t a0 = req->init ? 2 : 0;	/* Path and Args are the command, not `docker-init --` */
	json_object_object_add(rec, "Path", json_object_get(json_object_array_get_idx(args, a0)));
	json_object *rest = json_object_new_array();
	for (size_t i = a0 + 1; i < json_object_array_length(args); i++)
		json_object_array_add(rest, json_object_get(json_object_array_get_idx(args, i)));
	json_object_object_add(rec, "Args", rest);
	json_object_object_add(rec, "State", new_state());
	json_object_object_add(rec, "Image", json_object_new_string(img->id));
	json_object_object_add(rec, "Name", json_object_new_string(slash_name));
	json_object_object_add(rec, "RestartCount", json_object_new_int(0));
	_cleanup_free_ char *log = xasprintf("%s/ctr.log", cdir);
	_cleanup_free_ char *hn = xasprintf("%s/hostname", cdir);
	_cleanup_free_ char *hs = xasprintf("%s/hosts", cdir);
	_cleanup_free_ char *rc = xasprintf("%s/resolv.conf", cdir);
	_cleanup_free_ char *bundle = xasprintf("%s/bundle", cdir);
	json_object_object_add(rec, "LogPath", json_object_new_string(log));
	json_object_object_add(rec, "HostnamePath", json_object_new_string(hn));
	json_object_object_add(rec, "HostsPath", json_object_new_string(hs));
	json_object_object_add(rec, "ResolvConfPath", json_object_new_string(rc));
	json_object_object_add(rec, "BundlePath", json_object_new_string(bundle));
	json_object_object_add(rec, "Driver", json_object_new_string("overlay"));

	json_object *cfg = json_object_new_object();
	json_object_object_add(cfg, "Hostname", json_object_new_string(sp->hostname));
	json_object_object_add(cfg, "User", json_object_new_string(req->user ? req->user :
		(img->config.user ? img->config.user : "")));
	json_object_object_add(cfg, "Tty", json_object_new_boolean(req->tty));
	json_object_object_add(cfg, "OpenStdin", json_object_new_boolean(req->interactive));
	json_object_object_add(cfg, "Env", jstrv(sp->env));
	json_object_object_add(cfg, "Cmd", jstrv(sp->cmd));
	json_object_object_add(cfg, "Entrypoint", jstrv(sp->entrypoint));
	json_object_object_add(cfg, "Image", json_object_new_string(req->image));
	json_object *proc = json_object_object_get(sp->doc, "process");
	json_object_object_add(cfg, "WorkingDir", json_object_get(json_object_object_get(proc, "cwd")));
	json_object_object_add(cfg, "Labels", labels);
	const char *stopsig = req->stop_signal ? req->stop_signal :
		(img->config.stop_signal ? img->config.stop_signal : "SIGTERM");
	json_object_object_add(cfg, "StopSignal", json_object_new_string(stopsig));
	json_object_object_add(cfg, "StopTimeout", json_object_new_int(c->stop_timeout));
	json_object_object_add(rec, "Config", cfg);

	json_object *hc = json_object_new_object();
	json_object_object_add(hc, "AutoRemove", json_object_new_boolean(req->rm));
	json_object *rp = json_object_new_object();
	json_object_object_add(rp, "Name", json_object_new_string(c->restart));
	json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(c->restart_max));
	json_object_object_add(hc, "RestartPolicy", rp);
	json_object_object_add(hc, "NetworkMode", json_object_new_string(sp->network));
	json_object *lc = json_object_new_object();
	json_object_object_add(lc, "Type", json_object_new_string(req->log_driver ? req->log_driver : "json-file"));
	json_object_object_add(lc, "MaxSize", json_object_new_int64(c->log_max ? c->log_max : 10 * 1024 * 1024));
	json_object_object_add(hc, "LogConfig", lc);
	json_object_object_add(hc, "Privileged", json_object_new_boolean(req->privileged));
	json_object_object_add(hc, "Init", json_object_new_boolean(req->init));
	json_object_object_add(hc, "UsernsMode", json_object_new_string(sp->userns.mode ? sp->userns.mode : ""));
	if (sp->userns.mode)
		json_object_object_add(hc, "IDMappings", engine_userns_record(&sp->userns));
	json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(req->read_only));
	json_object_object_add(hc, "CapAdd", jstrv(req->cap_add));
	json_object_object_add(hc, "CapDrop", jstrv(req->cap_drop));
	json_object_object_add(hc, "SecurityOpt", jstrv(req->security_opts));
	json_object_object_add(hc, "Binds", jstrv(req->volumes));
	json_object *pb = jstrv(req->publish);
	json_object_object_add(hc, "PortBindings", pb ? pb : json_object_new_array());
	json_object *res = json_object_object_get(json_object_object_get(sp->doc, "linux"), "resources");
	json_object *mem = json_object_object_get(res, "memory"), *cpu = json_object_object_get(res, "cpu");
	json_object_object_add(hc, "Memory", json_object_new_int64(json_object_get_int64(json_object_object_get(mem, "limit"))));
	json_object_object_add(hc, "MemorySwap", json_object_new_int64(json_object_get_int64(json_object_object_get(mem, "swap"))));
	json_object_object_add(hc, "NanoCpus", json_object_new_int64(json_object_get_int64(json_object_object_get(cpu, "quota")) * 10000));
	json_object_object_add(hc, "CpuShares", json_object_new_int64(json_object_get_int64(json_object_object_get(cpu, "shares"))));
	json_object_object_add(hc, "CpusetCpus", json_object_new_string(req->cpuset_cpus ? req->cpuset_cpus : ""));
	json_object_object_add(hc, "PidsLimit", json_object_new_int64(json_object_get_int64(
		json_object_object_get(json_object_object_get(res, "pids"), "limit"))));
	json_object_object_add(rec, "HostConfig", hc);
	json_object_object_add(rec, "Mounts", mounts_json(json_object_object_get(sp->doc, "mounts")));
	json_object_object_add(rec, "NetworkSettings", json_object_new_object());
	return rec;
}

int cell_ctr_create(struct cell_engine *e, const struct cell_run_request *req, char **ret_id, cell_error **err)
{
	struct request_checks c = { 0 };
	struct cell_store *store = NULL;
	struct cell_image *img = NULL;
	struct engine_spec sp = { 0 };
	struct net_checked nc = { 0 };
	json_object *labels = NULL, *rec = NULL, *health = NULL;
	const char *health_action = "none";
	_cleanup_free_ char *id = cell_id_new();
	_cleanup_free_ char *cdir = cell_ctr_dir(e, id);
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *bundle = xasprintf("%s/bundle", cdir);
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *rootfs = NULL;
	bool named = false, made_dir = false, mounted = false;
	int lfd = -1, vlock = -1;
	json_object *vols = NULL;
	char **vol_created = NULL;
	int r = -1;

	if (check_request(req, &c, err) < 0)
		goto out;
	if (cell_store_open(e->root, &store, err) < 0)
		goto out;
	if (cell_image_resolve(store, req->image, &img, err) < 0) {
		if (cell_error_code(*err) == ENOENT || strstr((*err)->msg, "no such image")) {
			cell_error_free(err);
			cell_error_set(err, "unable to find image `%s` locally (import it with `cell image import`)",
				       req->image);
		}
		goto out;
	}
	if (engine_spec_build(req, img, id, cdir, &sp, err) < 0)
		goto out;
	if (engine_health_config(req, json_object_object_get(img->config_json, "config"), &health, &health_action,
				 err) < 0)
		goto out;
	if (engine_flags_apply(req, sp.doc, id, err) < 0)
		goto out;
	if (!(labels = labels_json(req, img, err)))
		goto out;
	for (size_t i = 0; req->publish && req->publish[i]; i++) {
		struct cell_port port;
		if (cell_port_parse(req->publish[i], &port, err) < 0)
			goto out;
	}
	if (net_check(e, req, &sp, &nc, err) < 0)
		goto out;
	if (req->name) {
		name = xstrdup(req->name);
		if (engine_name_reserve(e, name, id, err) < 0)
			goto out;
	} else {
		for (int tries = 0;; tries++) {
			name = cell_name_random();
			if (tries >= 5) {
				char *n = xasprintf("%s_%.6s", name, id);
				free(name);
				name = n;
			}
			cell_error *x = NULL;
			if (engine_name_reserve(e, name, id, &x) == 0)
				break;
			if (tries >= 6) {
				*err = x;
				goto out;
			}
			cell_error_free(&x);
			free(name);
		}
	}
	named = true;
	if (mkdir(cdir, 0700) < 0) {
		cell_error_errno(err, errno, "create the container directory `%s`", cdir);
		goto out;
	}
	made_dir = true;
	/* held until the record exists: a directory without a record whose
	 * lock is free was left by a killed create (see cell_ctr_load) */
	lfd = lock_dir(cdir, true, err);
	if (lfd < 0)
		goto out;
	if (mkdir(bundle, 0700) < 0) {
		cell_error_errno(err, errno, "create the bundle directory `%s`", bundle);
		goto out;
	}
	/* before the mount: the image code reads the mappings it allocates */
	if (engine_userns_allocate(e, id, cdir, &sp.userns, err) < 0)
		goto out;
	/* --rm: the container's directory goes with its mount */
	if ((req->rm ? cell_image_mount_rootfs_volatile(store, img, cdir, &rootfs, err)
		     : cell_image_mount_rootfs(store, img, cdir, &rootfs, err)) < 0)
		goto out;
	mounted = true;
	const char *user = req->user ? req->user : img->config.user;
	if (engine_spec_set_user(sp.doc, rootfs, user, err) < 0 || engine_flags_groups(req, sp.doc, rootfs, err) < 0)
		goto out;
	if (write_etc_files(e->root, cdir, sp.hostname, sp.network, req, nc.add_hosts, err) < 0)
		goto out;
	if (sp.userns.mode && userns_own_files(cdir, &sp.userns, err) < 0)
		goto out;
	engine_userns_apply(sp.doc, &sp.userns);
	if (make_workdir(rootfs, json_object_get_string(json_object_object_get(
		json_object_object_get(sp.doc, "process"), "cwd")), &sp.userns, err) < 0)
		goto out;
	/* volumes: made and filled now that the image's content is mounted */
	if (engine_volumes_resolve(e, sp.doc, rootfs, img->config.volumes, &vols, &vol_created, &vlock, err) < 0)
		goto out;
	if (sp.userns.mode && engine_userns_volumes(e, vol_created, &sp.userns, err) < 0)
		goto out;
	const char *text = cj_to_string(sp.doc, false);
	if (write_file_atomic(cfg, text, strlen(text), 0600, err) < 0)
		goto out;
	rec = build_record(req, img, id, name, cdir, &sp, &c, labels);
	labels = NULL;
	json_object *rcfg = json_object_object_get(rec, "Config");
	engine_flags_record(req, sp.doc, json_object_object_get(rec, "HostConfig"));
	if (health)
		json_object_object_add(rcfg, "Healthcheck", TAKE_PTR(health));
	json_object_object_add(rcfg, "HealthcheckOnFailureAction", json_object_new_string(health_action));
	engine_volumes_record(rec, vols);
	net_record(rec, req, img, &sp, &nc);
	r = engine_record_write(e, id, rec, err);
	if (r == 0) {
		cell_event_ctr(e, "create", id, rec, NULL);
		*ret_id = TAKE_PTR(id);
	}
out:
	if (r < 0) {
		cell_error *x = NULL;
		if (mounted && cell_image_unmount_rootfs(cdir, true, &x) < 0)
			cell_error_free(&x);
		if (made_dir && rm_rf(cdir, &x) < 0)
			cell_error_free(&x);
		if (named)
			engine_name_release(e, name, id);
		engine_volumes_undo(e, vol_created);
	}
	safe_close(vlock);
	strv_free(vol_created);
	json_object_put(vols);
	safe_close(lfd);
	json_object_put(rec);
	json_object_put(labels);
	json_object_put(health);
	engine_spec_clear(&sp);
	net_checked_clear(&nc);
	cell_image_free(img);
	cell_store_free(store);
	free(c.restart);
	return r;
}
