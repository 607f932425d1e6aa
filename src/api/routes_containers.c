/* The API's container routes: list, inspect, create, start, stop, kill,
 * restart, wait, remove, pause, unpause, rename. A create's JSON (Config,
 * HostConfig, NetworkingConfig) becomes the struct cell_run_request the
 * `cell create` command line fills, so both front doors make the same
 * container. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>

#include "api.h"
#include "engine/events.h"
#include "engine/volume.h"
#include "net/net.h"
#include "log.h"
#include "util.h"

/* ---- JSON helpers ---- */

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *v = get(o, k);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* Strings a request borrows: freed together once the create is done. */
struct keep {
	char **s;
	size_t n;
};

static const char *keep(struct keep *k, char *s)
{
	k->s = realloc(k->s, (k->n + 2) * sizeof(char *));
	if (!k->s)
		abort();
	k->s[k->n++] = s;
	k->s[k->n] = NULL;
	return s;
}

static void keep_free(struct keep *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->s[i]);
	free(k->s);
}

/* A JSON array of strings as a NULL-ended vector (the strings borrowed from
 * the JSON); NULL when absent. The vector itself is kept. */
static char **str_array(struct keep *k, json_object *a, bool *bad)
{
	if (!a || json_object_is_type(a, json_type_null))
		return NULL;
	if (!json_object_is_type(a, json_type_array)) {
		*bad = true;
		return NULL;
	}
	size_t n = json_object_array_length(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(a, i);
		if (!json_object_is_type(x, json_type_string)) {
			free(v);
			*bad = true;
			return NULL;
		}
		v[i] = (char *)json_object_get_string(x);
	}
	keep(k, (char *)v);
	return v;
}

/* A growing vector of strings we own through k. */
struct vec {
	char **v;
	size_t n;
};

static void vec_add(struct keep *k, struct vec *v, char *s)
{
	v->v = realloc(v->v, (v->n + 2) * sizeof(char *));
	if (!v->v)
		abort();
	v->v[v->n++] = (char *)keep(k, s);
	v->v[v->n] = NULL;
}

static char **vec_take(struct keep *k, struct vec *v)
{
	if (!v->v)
		return NULL;
	keep(k, (char *)v->v);
	return v->v;
}

static const char *num(struct keep *k, json_object *o, const char *key)
{
	json_object *v = get(o, key);
	if (!v || json_object_is_type(v, json_type_null))
		return NULL;
	int64_t n = json_object_get_int64(v);
	if (n == 0 && !json_object_is_type(v, json_type_int))
		return NULL;
	if (n == 0)
		return NULL;	/* Docker: 0 is "not set" for every limit */
	return keep(k, xasprintf("%" PRId64, n));
}

static const char *ns_duration(struct keep *k, json_object *o, const char *key)
{
	json_object *v = get(o, key);
	if (!v || !json_object_get_int64(v))
		return NULL;
	return keep(k, xasprintf("%" PRId64 "ns", json_object_get_int64(v)));
}

/* ---- create ---- */

static bool shell_word_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+", *s))
			return false;
	return true;
}

/* Healthcheck.Test ["CMD", a, b] as the one shell line --health-cmd takes */
static const char *health_cmd(struct keep *k, json_object *hc, struct cell_run_request *q, bool *bad)
{
	json_object *t = get(hc, "Test");
	if (!t || !json_object_is_type(t, json_type_array) || json_object_array_length(t) == 0)
		return NULL;
	const char *kind = json_object_get_string(json_object_array_get_idx(t, 0));
	size_t n = json_object_array_length(t);
	if (streq(kind, "NONE")) {
		q->no_healthcheck = true;
		return NULL;
	}
	if (streq(kind, "CMD-SHELL") && n >= 2)
		return json_object_get_string(json_object_array_get_idx(t, 1));
	if (streq(kind, "CMD") && n >= 2) {
		struct strbuf { char *s; size_t len; } b = { xstrdup(""), 0 };
		for (size_t i = 1; i < n; i++) {
			const char *w = json_object_get_string(json_object_array_get_idx(t, i));
			char *next;
			if (shell_word_safe(w)) {
				next = xasprintf("%s%s%s", b.s, i > 1 ? " " : "", w);
			} else {
				/* single-quoted, ' as '\'' */
				char *q2 = xcalloc(1, strlen(w) * 4 + 3), *p = q2;
				*p++ = '\'';
				for (const char *c = w; *c; c++) {
					if (*c == '\'') {
						memcpy(p, "'\\''", 4);
						p += 4;
					} else {
						*p++ = *c;
					}
				}
				*p++ = '\'';
				next = xasprintf("%s%s%s", b.s, i > 1 ? " " : "", q2);
				free(q2);
			}
			free(b.s);
			b.s = next;
		}
		return keep(k, b.s);
	}
	if (streq(kind, "CMD") || streq(kind, "CMD-SHELL"))
		return NULL;
	*bad = true;
	return NULL;
}

/* PortBindings {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} as -p values */
static int port_bindings(struct keep *k, json_object *pb, struct vec *out)
{
	if (!pb || json_object_is_type(pb, json_type_null))
		return 0;
	if (!json_object_is_type(pb, json_type_object))
		return -1;
	json_object_object_foreach(pb, port, binds)
	{
		if (!binds || !json_object_is_type(binds, json_type_array) || json_object_array_length(binds) == 0) {
			vec_add(k, out, xstrdup(port));
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(binds); i++) {
			json_object *b = json_object_array_get_idx(binds, i);
			const char *ip = nonempty(get_str(b, "HostIp")), *hp = nonempty(get_str(b, "HostPort"));
			bool v6 = ip && strchr(ip, ':');
			if (ip)
				vec_add(k, out, xasprintf(v6 ? "[%s]:%s:%s" : "%s:%s:%s", ip, hp ? hp : "", port));
			else if (hp)
				vec_add(k, out, xasprintf("%s:%s", hp, port));
			else
				vec_add(k, out, xstrdup(port));
		}
	}
	return 0;
}

/* HostConfig.Mounts [{Type, Source, Target, ReadOnly, ...}] as --mount values */
static int mounts(struct keep *k, json_object *m, struct vec *out)
{
	if (!m || json_object_is_type(m, json_type_null))
		return 0;
	if (!json_object_is_type(m, json_type_array))
		return -1;
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		json_object *x = json_object_array_get_idx(m, i);
		const char *type = nonempty(get_str(x, "Type")), *src = nonempty(get_str(x, "Source")),
			   *dst = nonempty(get_str(x, "Target"));
		if (!type || !dst)
			return -1;
		char *s = xasprintf("type=%s,target=%s", type, dst);
		if (src) {
			char *t = xasprintf("%s,source=%s", s, src);
			free(s);
			s = t;
		}
		if (json_object_get_boolean(get(x, "ReadOnly"))) {
			char *t = xasprintf("%s,readonly", s);
			free(s);
			s = t;
		}
		json_object *bo = get(x, "BindOptions");
		const char *prop = nonempty(get_str(bo, "Propagation"));
		if (prop) {
			char *t = xasprintf("%s,bind-propagation=%s", s, prop);
			free(s);
			s = t;
		}
		json_object *to = get(x, "TmpfsOptions");
		if (get(to, "SizeBytes") && json_object_get_int64(get(to, "SizeBytes")) > 0) {
			char *t = xasprintf("%s,tmpfs-size=%" PRId64, s, json_object_get_int64(get(to, "SizeBytes")));
			free(s);
			s = t;
		}
		if (get(to, "Mode") && json_object_get_int(get(to, "Mode")) > 0) {
			char *t = xasprintf("%s,tmpfs-mode=%o", s, (unsigned)json_object_get_int(get(to, "Mode")));
			free(s);
			s = t;
		}
		vec_add(k, out, s);
	}
	return 0;
}

static void kv_object(struct keep *k, json_object *o, const char *sep, struct vec *out)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, key, val)
	{
		const char *v = val ? json_object_get_string(val) : "";
		vec_add(k, out, xasprintf("%s%s%s", key, sep, v ? v : ""));
	}
}

/* Fill q from a create body; false with a 400 sent when it is malformed. */
/* Config.Volumes {"/path": {}} not covered by a bind or a mount: anonymous
 * volumes, as `-v /path` (docker run -v /path sends only this). */
static char **anonymous_volumes(struct keep *k, char **binds, json_object *vols, json_object *mounts)
{
	if (!vols || !json_object_is_type(vols, json_type_object) || !json_object_object_length(vols))
		return binds;
	struct vec all = { 0 };
	for (char **it = binds; it && *it; it++)
		vec_add(k, &all, xstrdup(*it));
	json_object_object_foreach(vols, path, v) {
		(void)v;
		bool covered = false;
		for (char **it = binds; it && *it && !covered; it++) {
			const char *c1 = strchr(*it, ':');
			size_t n = c1 ? strcspn(c1 + 1, ":") : 0;
			covered = c1 ? strlen(path) == n && strncmp(c1 + 1, path, n) == 0 : streq(*it, path);
		}
		for (size_t i = 0; mounts && json_object_is_type(mounts, json_type_array) &&
				   i < json_object_array_length(mounts) && !covered; i++) {
			const char *t = get_str(json_object_array_get_idx(mounts, i), "Target");
			covered = t && streq(t, path);
		}
		if (!covered)
			vec_add(k, &all, xstrdup(path));
	}
	return vec_take(k, &all);
}

static bool request_from_json(struct api_req *r, json_object *body, struct cell_run_request *q, struct keep *k)
{
	bool bad = false;
	json_object *hc = get(body, "HostConfig"), *nc = get(body, "NetworkingConfig");
	q->image = nonempty(get_str(body, "Image"));
	if (!q->image) {
		api_error(r, 400, "config: no image given (the create body's `Image`)");
		return false;
	}
	q->hostname = nonempty(get_str(body, "Hostname"));
	q->user = nonempty(get_str(body, "User"));
	q->workdir = nonempty(get_str(body, "WorkingDir"));
	q->tty = json_object_get_boolean(get(body, "Tty"));
	q->interactive = json_object_get_boolean(get(body, "OpenStdin"));
	q->stop_signal = nonempty(get_str(body, "StopSignal"));
	if (get(body, "StopTimeout") && !json_object_is_type(get(body, "StopTimeout"), json_type_null))
		q->stop_timeout = keep(k, xasprintf("%d", json_object_get_int(get(body, "StopTimeout"))));
	q->env = str_array(k, get(body, "Env"), &bad);
	char **cmd = NULL;
	json_object *c = get(body, "Cmd");
	if (c && json_object_is_type(c, json_type_string)) {
		/* old clients: a string is a shell line */
		struct vec v = { 0 };
		vec_add(k, &v, xstrdup("/bin/sh"));
		vec_add(k, &v, xstrdup("-c"));
		vec_add(k, &v, xstrdup(json_object_get_string(c)));
		cmd = vec_take(k, &v);
	} else {
		cmd = str_array(k, c, &bad);
	}
	json_object *ep = get(body, "Entrypoint");
	if (ep && !json_object_is_type(ep, json_type_null)) {
		q->entrypoint_set = true;
		if (json_object_is_type(ep, json_type_string)) {
			q->entrypoint = json_object_get_string(ep);
		} else {
			char **epv = str_array(k, ep, &bad);
			if (epv && epv[0]) {
				/* the first word is the entrypoint, the others go before Cmd */
				q->entrypoint = epv[0];
				if (epv[1]) {
					struct vec v = { 0 };
					for (size_t i = 1; epv[i]; i++)
						vec_add(k, &v, xstrdup(epv[i]));
					for (size_t i = 0; cmd && cmd[i]; i++)
						vec_add(k, &v, xstrdup(cmd[i]));
					cmd = vec_take(k, &v);
				}
			} else {
				q->entrypoint = "";
			}
		}
	}
	q->cmd = cmd && cmd[0] ? cmd : NULL;
	struct vec labels = { 0 };
	kv_object(k, get(body, "Labels"), "=", &labels);
	q->labels = vec_take(k, &labels);
	json_object *h = get(body, "Healthcheck");
	if (h) {
		q->health_cmd = health_cmd(k, h, q, &bad);
		q->health_interval = ns_duration(k, h, "Interval");
		q->health_timeout = ns_duration(k, h, "Timeout");
		q->health_start_period = ns_duration(k, h, "StartPeriod");
		q->health_start_interval = ns_duration(k, h, "StartInterval");
		q->health_retries = num(k, h, "Retries");
	}
	if (json_object_get_boolean(get(body, "NetworkDisabled")))
		q->network = "none";

	/* HostConfig */
	q->volumes = str_array(k, get(hc, "Binds"), &bad);
	q->volumes = anonymous_volumes(k, q->volumes, get(body, "Volumes"), get(hc, "Mounts"));
	struct vec pub = { 0 }, mnt = { 0 }, tmpfs = { 0 }, sysctls = { 0 }, ulimits = { 0 }, devices = { 0 },
		   logopts = { 0 }, nets = { 0 };
	if (port_bindings(k, get(hc, "PortBindings"), &pub) < 0 || mounts(k, get(hc, "Mounts"), &mnt) < 0)
		bad = true;
	q->publish = vec_take(k, &pub);
	q->mounts = vec_take(k, &mnt);
	q->publish_all = json_object_get_boolean(get(hc, "PublishAllPorts"));
	const char *nm = nonempty(get_str(hc, "NetworkMode"));
	if (nm && !streq(nm, "default"))
		q->network = nm;
	json_object *rp = get(hc, "RestartPolicy");
	const char *rpn = nonempty(get_str(rp, "Name"));
	if (rpn && !streq(rpn, "no")) {
		int max = json_object_get_int(get(rp, "MaximumRetryCount"));
		q->restart = streq(rpn, "on-failure") && max > 0 ? keep(k, xasprintf("on-failure:%d", max)) : rpn;
	}
	q->rm = json_object_get_boolean(get(hc, "AutoRemove"));
	q->privileged = json_object_get_boolean(get(hc, "Privileged"));
	q->read_only = json_object_get_boolean(get(hc, "ReadonlyRootfs"));
	q->init = json_object_get_boolean(get(hc, "Init"));
	q->cap_add = str_array(k, get(hc, "CapAdd"), &bad);
	q->cap_drop = str_array(k, get(hc, "CapDrop"), &bad);
	q->dns = str_array(k, get(hc, "Dns"), &bad);
	q->dns_search = str_array(k, get(hc, "DnsSearch"), &bad);
	q->dns_options = str_array(k, get(hc, "DnsOptions"), &bad);
	q->add_hosts = str_array(k, get(hc, "ExtraHosts"), &bad);
	q->security_opts = str_array(k, get(hc, "SecurityOpt"), &bad);
	q->group_add = str_array(k, get(hc, "GroupAdd"), &bad);
	q->memory = num(k, hc, "Memory");
	q->memory_swap = num(k, hc, "MemorySwap");
	q->memory_reservation = num(k, hc, "MemoryReservation");
	q->cpu_shares = num(k, hc, "CpuShares");
	q->cpu_period = num(k, hc, "CpuPeriod");
	q->cpu_quota = num(k, hc, "CpuQuota");
	q->blkio_weight = num(k, hc, "BlkioWeight");
	q->shm_size = num(k, hc, "ShmSize");
	q->oom_score_adj = num(k, hc, "OomScoreAdj");
	json_object *pl = get(hc, "PidsLimit");
	if (pl && json_object_get_int64(pl) != 0)
		q->pids_limit = keep(k, xasprintf("%" PRId64, json_object_get_int64(pl)));
	int64_t nano = json_object_get_int64(get(hc, "NanoCpus"));
	if (nano > 0)
		q->cpus = keep(k, xasprintf("%" PRId64 ".%09" PRId64, nano / 1000000000, nano % 1000000000));
	q->cpuset_cpus = nonempty(get_str(hc, "CpusetCpus"));
	q->cpuset_mems = nonempty(get_str(hc, "CpusetMems"));
	q->oom_kill_disable = json_object_get_boolean(get(hc, "OomKillDisable"));
	q->ipc = nonempty(get_str(hc, "IpcMode"));
	if (q->ipc && streq(q->ipc, "private"))
		q->ipc = NULL;	/* Docker's default for a container */
	q->uts = nonempty(get_str(hc, "UTSMode"));
	q->pid = nonempty(get_str(hc, "PidMode"));
	q->cgroupns = nonempty(get_str(hc, "CgroupnsMode"));
	q->cgroup_parent = nonempty(get_str(hc, "CgroupParent"));
	q->userns = nonempty(get_str(hc, "UsernsMode"));
	json_object *tm = get(hc, "Tmpfs");
	if (tm && json_object_is_type(tm, json_type_object)) {
		json_object_object_foreach(tm, path, opts)
		{
			const char *o = opts ? json_object_get_string(opts) : "";
			vec_add(k, &tmpfs, *o ? xasprintf("%s:%s", path, o) : xstrdup(path));
		}
	}
	q->tmpfs = vec_take(k, &tmpfs);
	kv_object(k, get(hc, "Sysctls"), "=", &sysctls);
	q->sysctls = vec_take(k, &sysctls);
	json_object *ul = get(hc, "Ulimits");
	for (size_t i = 0; ul && json_object_is_type(ul, json_type_array) && i < json_object_array_length(ul); i++) {
		json_object *u = json_object_array_get_idx(ul, i);
		const char *name = get_str(u, "Name");
		if (!name) {
			bad = true;
			break;
		}
		vec_add(k, &ulimits, xasprintf("%s=%" PRId64 ":%" PRId64, name, json_object_get_int64(get(u, "Soft")),
					       json_object_get_int64(get(u, "Hard"))));
	}
	q->ulimits = vec_take(k, &ulimits);
	json_object *dv = get(hc, "Devices");
	for (size_t i = 0; dv && json_object_is_type(dv, json_type_array) && i < json_object_array_length(dv); i++) {
		json_object *d = json_object_array_get_idx(dv, i);
		const char *ph = nonempty(get_str(d, "PathOnHost")), *pc = nonempty(get_str(d, "PathInContainer")),
			   *perm = nonempty(get_str(d, "CgroupPermissions"));
		if (!ph) {
			bad = true;
			break;
		}
		vec_add(k, &devices, xasprintf("%s:%s%s%s", ph, pc ? pc : ph, perm ? ":" : "", perm ? perm : ""));
	}
	q->devices = vec_take(k, &devices);
	json_object *lc = get(hc, "LogConfig");
	const char *ld = nonempty(get_str(lc, "Type"));
	if (ld)
		q->log_driver = ld;
	kv_object(k, get(lc, "Config"), "=", &logopts);
	q->log_opts = vec_take(k, &logopts);

	/* NetworkingConfig.EndpointsConfig: the first network's aliases and address */
	json_object *eps = get(nc, "EndpointsConfig");
	if (eps && json_object_is_type(eps, json_type_object)) {
		bool first = true;
		json_object_object_foreach(eps, net, ep2)
		{
			if (first && q->network && !streq(q->network, net) && !streq(q->network, "bridge"))
				continue;
			if (first) {
				if (!q->network)
					q->network = net;
				if (streq(q->network, net)) {
					q->network_aliases = str_array(k, get(ep2, "Aliases"), &bad);
					json_object *ipam = get(ep2, "IPAMConfig");
					q->ip = nonempty(get_str(ipam, "IPv4Address"));
					q->ip6 = nonempty(get_str(ipam, "IPv6Address"));
					q->mac_address = nonempty(get_str(ep2, "MacAddress"));
					first = false;
				}
			} else {
				vec_add(k, &nets, xstrdup(net));
			}
		}
	}
	if (!q->mac_address)
		q->mac_address = nonempty(get_str(body, "MacAddress"));
	if (nets.n) {
		/* every network in order, the first included */
		struct vec all = { 0 };
		vec_add(k, &all, xstrdup(q->network));
		for (size_t i = 0; i < nets.n; i++)
			vec_add(k, &all, xstrdup(nets.v[i]));
		free(nets.v);
		q->networks = vec_take(k, &all);
	}
	if (bad) {
		api_error(r, 400, "invalid create body: a field has the wrong JSON type (see the Docker Engine API's "
			  "ContainerConfig)");
		return false;
	}
	return true;
}

static void create(struct api_req *r)
{
	json_object *body = NULL;
	if (!api_body_json(r, &body))
		return;
	if (!body) {
		api_error(r, 400, "config cannot be empty in order to create a container");
		return;
	}
	struct cell_run_request q = { 0 };
	struct keep k = { 0 };
	q.name = nonempty(api_query(r, "name"));
	if (q.name && *q.name == '/')
		q.name++;
	if (q.name && !cell_name_valid(q.name)) {
		api_error(r, 400, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", q.name);
		goto out;
	}
	if (!request_from_json(r, body, &q, &k))
		goto out;
	q.detach = true;
	cell_error *err = NULL;
	_cleanup_free_ char *id = NULL;
	api_lock();
	int rc = cell_ctr_create(r->engine, &q, &id, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 400);
		goto out;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Id", json_object_new_string(id));
	json_object_object_add(o, "Warnings", json_object_new_array());
	api_reply_json(r, 201, o);
out:
	keep_free(&k);
	json_object_put(body);
}

/* ---- lookups ---- */

/* The id of {id}; false with a 404 sent. */
static bool lookup(struct api_req *r, char **ret)
{
	cell_error *err = NULL;
	const char *ref = api_param(r, "id");
	if (cell_ctr_lookup(r->engine, ref, ret, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref);
		return false;
	}
	return true;
}

static json_object *load(struct api_req *r, const char *id)
{
	json_object *rec = NULL;
	cell_error *err = NULL;
	if (cell_ctr_load(r->engine, id, &rec, &err) < 0) {
		api_error_from(r, &err, 404);
		return NULL;
	}
	return rec;
}

/* ---- list ---- */

/* filters {"k": ["v", ...]} (or the old {"k": {"v": true}}) as {"k": [..]} */
static json_object *filters_norm(json_object *f)
{
	json_object *out = json_object_new_object();
	if (!f || !json_object_is_type(f, json_type_object))
		return out;
	json_object_object_foreach(f, key, val)
	{
		json_object *a = json_object_new_array();
		if (json_object_is_type(val, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(val); i++)
				json_object_array_add(a, json_object_get(json_object_array_get_idx(val, i)));
		} else if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, v2, b)
			{
				if (json_object_get_boolean(b))
					json_object_array_add(a, json_object_new_string(v2));
			}
		}
		json_object_object_add(out, key, a);
	}
	return out;
}

static bool label_ok(json_object *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
	json_object *v = get(labels, key);
	if (!v)
		return false;
	return !eq || streq(json_object_get_string(v), eq + 1);
}

/* every value of a key must match (Docker: OR within a key for most, AND
 * for labels) */
static bool filters_ok(json_object *f, json_object *rec, const char *id)
{
	json_object *cfg = get(rec, "Config"), *st = get(rec, "State");
	const char *name = get_str(rec, "Name");
	if (name && *name == '/')
		name++;
	json_object_object_foreach(f, key, vals)
	{
		size_t n = json_object_array_length(vals);
		if (!n)
			continue;
		if (streq(key, "label")) {
			for (size_t i = 0; i < n; i++)
				if (!label_ok(get(cfg, "Labels"), json_object_get_string(json_object_array_get_idx(vals, i))))
					return false;
			continue;
		}
		bool any = false;
		for (size_t i = 0; i < n && !any; i++) {
			const char *v = json_object_get_string(json_object_array_get_idx(vals, i));
			if (streq(key, "id"))
				any = strncmp(id, v, strlen(v)) == 0;
			else if (streq(key, "name"))
				any = name && strstr(name, *v == '/' ? v + 1 : v);
			else if (streq(key, "status"))
				any = streq(cell_ctr_status(rec), v);
			else if (streq(key, "ancestor"))
				any = streq(get_str(cfg, "Image") ? get_str(cfg, "Image") : "", v) ||
				      (get_str(rec, "Image") && strstr(get_str(rec, "Image"), v));
			else if (streq(key, "exited"))
				any = streq(cell_ctr_status(rec), "exited") &&
				      json_object_get_int(get(st, "ExitCode")) == atoi(v);
			else if (streq(key, "network"))
				any = get(get(get(rec, "NetworkSettings"), "Networks"), v) != NULL;
			else if (streq(key, "health"))
				any = streq(get_str(get(st, "Health"), "Status") ? get_str(get(st, "Health"), "Status") : "none", v);
			else
				any = true;	/* unknown keys: dockerd refuses; we ignore */
		}
		if (!any)
			return false;
	}
	return true;
}

static void ports_docker(json_object *rec);

static json_object *ports_list(json_object *rec)
{
	json_object *out = json_object_new_array();
	ports_docker(rec);	/* the engine's list as Docker's map, read below */
	json_object *ports = get(get(rec, "NetworkSettings"), "Ports");
	if (!ports || !json_object_is_type(ports, json_type_object))
		return out;
	json_object_object_foreach(ports, key, binds)
	{
		int priv = atoi(key);
		const char *slash = strchr(key, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		if (!binds || !json_object_is_type(binds, json_type_array) || !json_object_array_length(binds)) {
			json_object *p = json_object_new_object();
			json_object_object_add(p, "PrivatePort", json_object_new_int(priv));
			json_object_object_add(p, "Type", json_object_new_string(proto));
			json_object_array_add(out, p);
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(binds); i++) {
			json_object *b = json_object_array_get_idx(binds, i);
			json_object *p = json_object_new_object();
			const char *ip = get_str(b, "HostIp");
			json_object_object_add(p, "IP", json_object_new_string(ip && *ip ? ip : "0.0.0.0"));
			json_object_object_add(p, "PrivatePort", json_object_new_int(priv));
			json_object_object_add(p, "PublicPort", json_object_new_int(atoi(get_str(b, "HostPort") ? get_str(b, "HostPort") : "0")));
			json_object_object_add(p, "Type", json_object_new_string(proto));
			json_object_array_add(out, p);
		}
	}
	return out;
}

static char *command_line(json_object *rec)
{
	const char *path = get_str(rec, "Path");
	_cleanup_free_ char *s = xstrdup(path ? path : "");
	json_object *args = get(rec, "Args");
	for (size_t i = 0; args && json_object_is_type(args, json_type_array) && i < json_object_array_length(args); i++) {
		char *t = xasprintf("%s%s%s", s, *s ? " " : "", json_object_get_string(json_object_array_get_idx(args, i)));
		free(s);
		s = t;
	}
	return TAKE_PTR(s);
}

json_object *api_ctr_summary(json_object *rec, const char *id)
{
	json_object *o = json_object_new_object(), *cfg = get(rec, "Config"), *hc = get(rec, "HostConfig");
	json_object_object_add(o, "Id", json_object_new_string(id));
	json_object *names = json_object_new_array();
	const char *name = get_str(rec, "Name");
	if (name) {
		_cleanup_free_ char *n = *name == '/' ? xstrdup(name) : xasprintf("/%s", name);
		json_object_array_add(names, json_object_new_string(n));
	}
	json_object_object_add(o, "Names", names);
	const char *img = get_str(cfg, "Image");
	json_object_object_add(o, "Image", json_object_new_string(img ? img : ""));
	const char *iid = get_str(rec, "Image");
	json_object_object_add(o, "ImageID", json_object_new_string(iid ? iid : ""));
	_cleanup_free_ char *cmd = command_line(rec);
	json_object_object_add(o, "Command", json_object_new_string(cmd));
	json_object_object_add(o, "Created", json_object_new_int64(api_time_unix(get_str(rec, "Created"))));
	json_object_object_add(o, "Ports", ports_list(rec));
	json_object *labels = get(cfg, "Labels");
	json_object_object_add(o, "Labels", labels && json_object_is_type(labels, json_type_object) ?
						    json_object_get(labels) : json_object_new_object());
	json_object_object_add(o, "State", json_object_new_string(cell_ctr_status(rec)));
	_cleanup_free_ char *status = api_status_text(rec);
	json_object_object_add(o, "Status", json_object_new_string(status));
	json_object *h = json_object_new_object();
	const char *nm = get_str(hc, "NetworkMode");
	json_object_object_add(h, "NetworkMode", json_object_new_string(nm ? nm : "default"));
	json_object_object_add(o, "HostConfig", h);
	json_object *ns = json_object_new_object();
	json_object *nets = get(get(rec, "NetworkSettings"), "Networks");
	json_object_object_add(ns, "Networks", nets ? json_object_get(nets) : json_object_new_object());
	json_object_object_add(o, "NetworkSettings", ns);
	json_object *m = get(rec, "Mounts");
	json_object_object_add(o, "Mounts", m ? json_object_get(m) : json_object_new_array());
	return o;
}

static int by_created_desc(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int64_t cx = json_object_get_int64(get(x, "Created")), cy = json_object_get_int64(get(y, "Created"));
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

static void list(struct api_req *r)
{
	bool all = api_query_bool(r, "all", false);
	long long limit;
	if (!api_query_int(r, "limit", -1, &limit))
		return;
	json_object *f = NULL;
	const char *fs = api_query(r, "filters");
	if (fs && *fs) {
		json_object *raw = json_tokener_parse(fs);
		if (!raw || !json_object_is_type(raw, json_type_object)) {
			json_object_put(raw);
			api_error(r, 400, "invalid filter: `%s` is not a JSON object", fs);
			return;
		}
		f = filters_norm(raw);
		json_object_put(raw);
	} else {
		f = json_object_new_object();
	}
	cell_error *err = NULL;
	_cleanup_strv_ char **ids = NULL;
	api_lock();
	if (cell_ctr_list(r->engine, &ids, &err) < 0) {
		api_unlock();
		json_object_put(f);
		api_error_from(r, &err, 500);
		return;
	}
	json_object **rows = xcalloc(strv_len(ids) + 1, sizeof(*rows));
	size_t n = 0;
	for (size_t i = 0; ids[i]; i++) {
		json_object *rec = NULL;
		if (cell_ctr_load(r->engine, ids[i], &rec, &err) < 0) {
			cell_error_free(&err);	/* removed meanwhile */
			continue;
		}
		const char *s = cell_ctr_status(rec);
		bool has_status = json_object_array_length(get(f, "status") ? get(f, "status") : json_object_new_array()) > 0;
		if ((all || has_status || streq(s, "running") || streq(s, "paused") || streq(s, "restarting")) &&
		    filters_ok(f, rec, ids[i]))
			rows[n++] = api_ctr_summary(rec, ids[i]);
		json_object_put(rec);
	}
	api_unlock();
	json_object_put(f);
	qsort(rows, n, sizeof(*rows), by_created_desc);
	json_object *out = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if (limit < 0 || (long long)i < limit)
			json_object_array_add(out, rows[i]);
		else
			json_object_put(rows[i]);
	}
	free(rows);
	api_reply_json(r, 200, out);
}

/* The record keeps -p's texts; Docker's PortBindings is a map
 * {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} */
static void port_bindings_docker(json_object *hc)
{
	json_object *pb = get(hc, "PortBindings");
	if (!pb || !json_object_is_type(pb, json_type_array))
		return;
	json_object *m = json_object_new_object();
	for (size_t i = 0; i < json_object_array_length(pb); i++) {
		struct cell_port p;
		cell_error *err = NULL;
		if (cell_port_parse(json_object_get_string(json_object_array_get_idx(pb, i)), &p, &err) < 0) {
			cell_error_free(&err);
			continue;
		}
		char key[32], hp[8];
		snprintf(key, sizeof(key), "%u/%s", p.port, p.proto == IPPROTO_UDP ? "udp" : "tcp");
		snprintf(hp, sizeof(hp), "%u", p.host_port);
		json_object *arr = get(m, key);
		if (!arr) {
			arr = json_object_new_array();
			json_object_object_add(m, key, arr);
		}
		json_object *b = json_object_new_object();
		json_object_object_add(b, "HostIp", json_object_new_string(p.host_ip));
		json_object_object_add(b, "HostPort", json_object_new_string(p.host_port ? hp : ""));
		json_object_array_add(arr, b);
	}
	json_object_object_add(hc, "PortBindings", m);
}

/* NetworkSettings.Ports: the engine's list of what was published as
 * dockerd's PortMap {"80/tcp": [{"HostIp", "HostPort"}]}, exposed ports not
 * published as null (docker inspect and compose read a map) */
static void ports_docker(json_object *rec)
{
	json_object *ns = get(rec, "NetworkSettings"), *ports = get(ns, "Ports");
	json_object *exp = get(get(rec, "Config"), "ExposedPorts");
	if (!ns || (ports && !json_object_is_type(ports, json_type_array)))
		return;
	json_object *m = json_object_new_object();
	for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
		json_object *p = json_object_array_get_idx(ports, i);
		char key[32], hp[16];
		const char *type = get_str(p, "Type");
		snprintf(key, sizeof(key), "%d/%s", json_object_get_int(get(p, "ContainerPort")), type ? type : "tcp");
		snprintf(hp, sizeof(hp), "%d", json_object_get_int(get(p, "HostPort")));
		json_object *arr = get(m, key);
		if (!arr || !json_object_is_type(arr, json_type_array)) {
			arr = json_object_new_array();
			json_object_object_add(m, key, arr);
		}
		json_object *b = json_object_new_object();
		const char *hip = get_str(p, "HostIp");
		json_object_object_add(b, "HostIp", json_object_new_string(hip ? hip : ""));
		json_object_object_add(b, "HostPort", json_object_new_string(hp));
		json_object_array_add(arr, b);
	}
	if (exp && json_object_is_type(exp, json_type_object)) {
		json_object_object_foreach(exp, k, v) {
			(void)v;
			if (!get(m, k))
				json_object_object_add(m, k, NULL);
		}
	}
	json_object_object_add(ns, "Ports", m);
}

static void inspect(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	api_lock();
	json_object *rec = load(r, id);
	api_unlock();
	if (!rec)
		return;
	/* the record is Docker's inspect already; the state's flags derived */
	json_object *st = get(rec, "State");
	if (st) {
		/* a copy: replacing Status frees the string the record held */
		const char *s0 = cell_ctr_status(rec);
		_cleanup_free_ char *s = xstrdup(s0 ? s0 : "");
		json_object_object_add(st, "Status", json_object_new_string(s));
		json_object_object_add(st, "Running", json_object_new_boolean(streq(s, "running") || streq(s, "paused")));
		json_object_object_add(st, "Paused", json_object_new_boolean(streq(s, "paused")));
		json_object_object_add(st, "Restarting", json_object_new_boolean(streq(s, "restarting")));
		json_object_object_add(st, "Dead", json_object_new_boolean(streq(s, "dead")));
		json_object_object_del(st, "Operation");
	}
	port_bindings_docker(get(rec, "HostConfig"));
	ports_docker(rec);
	api_reply_json(r, 200, rec);
}

/* ---- lifecycle ---- */

static int status_of(struct api_req *r, const char *id, char *buf, size_t len)
{
	json_object *rec = NULL;
	cell_error *err = NULL;
	if (cell_ctr_load(r->engine, id, &rec, &err) < 0) {
		cell_error_free(&err);
		return -1;
	}
	snprintf(buf, len, "%s", cell_ctr_status(rec));
	json_object_put(rec);
	return 0;
}

static void start(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	char s[32];
	cell_error *err = NULL;
	api_lock();
	if (status_of(r, id, s, sizeof(s)) == 0 && (streq(s, "running") || streq(s, "paused"))) {
		api_unlock();
		api_reply_empty(r, 304);
		return;
	}
	/* an attach made before (docker run) gets everything from the first byte */
	int fd = api_attach_take(id);
	cell_log(CELL_LOG_DEBUG, "api: start %.12s with %s", id, fd >= 0 ? "the attach waiting" : "no attach");
	int rc = fd >= 0 ? cell_ctr_start_fd(r->engine, id, fd, &err) : cell_ctr_start(r->engine, id, &err);
	api_attach_started(id, fd, rc < 0 ? err->msg : NULL);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static bool timeout_param(struct api_req *r, int *ret)
{
	long long t;
	const char *tk = api_query(r, "t") ? "t" : "timeout";
	if (!api_query_int(r, tk, -1, &t))
		return false;
	if (t < -1 || t > 86400 * 365) {
		api_error(r, 400, "invalid stop timeout %lld: expected seconds (-1: the container's own)", t);
		return false;
	}
	*ret = (int)t;
	return true;
}

static void stop(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	int t;
	if (!lookup(r, &id) || !timeout_param(r, &t))
		return;
	char s[32];
	if (status_of(r, id, s, sizeof(s)) == 0 && !streq(s, "running") && !streq(s, "paused") &&
	    !streq(s, "restarting")) {
		api_reply_empty(r, 304);
		return;
	}
	cell_error *err = NULL;
	/* a stop waits out the timeout: not under the lock, the engine's own
	 * operation lock keeps it whole */
	if (cell_ctr_stop(r->engine, id, t, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static void restart(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	int t;
	if (!lookup(r, &id) || !timeout_param(r, &t))
		return;
	cell_error *err = NULL;
	if (cell_ctr_restart(r->engine, id, t, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static int signal_number(const char *s)
{
	if (!s || !*s)
		return SIGKILL;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && strcasecmp(abbrev, s) == 0)
			return i;
	}
	return -1;
}

static void kill_(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	int sig = signal_number(api_query(r, "signal"));
	if (sig < 0) {
		api_error(r, 400, "invalid signal: %s", api_query(r, "signal"));
		return;
	}
	char s[32];
	if (status_of(r, id, s, sizeof(s)) == 0 && !streq(s, "running") && !streq(s, "paused")) {
		api_error(r, 409, "Cannot kill container: %s: container %.12s is not running", api_param(r, "id"), id);
		return;
	}
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_kill(r->engine, id, sig, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static void remove_(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	bool force = api_query_bool(r, "force", false);
	char s[32];
	if (!force && status_of(r, id, s, sizeof(s)) == 0 && (streq(s, "running") || streq(s, "paused") ||
							       streq(s, "restarting"))) {
		api_error(r, 409, "You cannot remove a %s container %s. Stop the container before attempting removal "
			  "or force remove", s, id);
		return;
	}
	cell_error *err = NULL;
	json_object *rec = NULL;
	/* v: its anonymous volumes go with it (docker rm -v, compose down -v) */
	if (api_query_bool(r, "v", false) && cell_ctr_load(r->engine, id, &rec, &err) < 0)
		cell_error_free(&err);
	if (cell_ctr_remove(r->engine, id, force, &err) < 0) {
		json_object_put(rec);
		api_error_from(r, &err, 500);
		return;
	}
	if (rec) {
		api_lock();
		engine_volumes_release_anonymous(r->engine, rec);
		api_unlock();
		json_object_put(rec);
	}
	api_reply_empty(r, 204);
}

static void pause_(struct api_req *r, bool pause)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_pause(r->engine, id, pause, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static void pause_on(struct api_req *r) { pause_(r, true); }
static void pause_off(struct api_req *r) { pause_(r, false); }

static void rename_(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	const char *name = api_query(r, "name");
	if (!name || !*name) {
		api_error(r, 400, "rename: the new name (query parameter `name`) is missing");
		return;
	}
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_rename(r->engine, id, *name == '/' ? name + 1 : name, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_empty(r, 204);
}

/* ---- wait ---- */

struct snapshot {
	bool exists, stopped;
	int code;
	char finished[64];
};

static void snap(struct api_req *r, const char *id, struct snapshot *s)
{
	json_object *rec = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_load(r->engine, id, &rec, &err);
	api_unlock();
	if (rc < 0) {
		cell_error_free(&err);
		s->exists = false;
		return;
	}
	const char *st = cell_ctr_status(rec);
	s->exists = true;
	s->stopped = !streq(st, "running") && !streq(st, "paused") && !streq(st, "restarting");
	json_object *state = get(rec, "State");
	s->code = json_object_get_int(get(state, "ExitCode"));
	const char *fin = get_str(state, "FinishedAt");
	snprintf(s->finished, sizeof(s->finished), "%s", fin ? fin : "");
	json_object_put(rec);
}

/* The exit code of a container removed before we saw it exit (--rm): its
 * last die event in the journal; -1 when there is none. */
static int code_from_events(struct cell_engine *e, const char *id)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", e->root, EVENTS_FILE), *text = NULL;
	cell_error *err = NULL;
	if (read_file(path, &text, NULL, &err) < 0) {
		cell_error_free(&err);
		return -1;
	}
	int code = -1;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, id) || !strstr(line, "\"die\""))
			continue;
		json_object *ev = json_tokener_parse(line);
		json_object *actor = get(ev, "Actor");
		const char *aid = get_str(actor, "ID"), *act = get_str(ev, "Action");
		const char *ec = get_str(get(actor, "Attributes"), "exitCode");
		if (aid && act && ec && streq(aid, id) && streq(act, "die"))
			code = atoi(ec);
		json_object_put(ev);
	}
	return code;
}

/* The client hung up (its wait is over for nobody). */
static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* A wait answers its headers at once and its body when the condition holds
 * (dockerd does so, and the docker CLI starts a container only once the
 * headers of its wait came back). */
struct waiter {
	struct api_req r;	/* engine and conn only */
	char *id;
	const char *cond;
	int fd;
	char *out;
	size_t len;
};

static void wait_until(struct waiter *w)
{
	struct api_req *r = &w->r;
	const char *id = w->id, *cond = w->cond;
	struct snapshot first = { 0 }, now = { 0 };
	snap(r, id, &first);
	now = first;
	bool seen_running = first.exists && !first.stopped;
	unsigned polls = 0;
	for (;;) {
		if (!now.exists) {
			/* removed (--rm): the code of its last exit, from its die
			 * event: a snapshot taken between the process's end and
			 * the recording of its code said 0 (docker 28's run -t
			 * --rm exited 0 for a container that exited 5) */
			int c = code_from_events(r->engine, id);
			if (c >= 0)
				now.code = c;
			break;
		}
		if (!now.stopped)
			seen_running = true;
		bool exited_since = strcmp(now.finished, first.finished) != 0 || (seen_running && now.stopped);
		if (streq(cond, "not-running") && now.stopped)
			break;
		if (streq(cond, "next-exit") && now.stopped && exited_since)
			break;
		if (client_gone(w->fd))
			break;
		/* 5 ms for the first second (a docker run's wait mostly ends
		 * there), then 20 ms, then 100 ms past ten seconds */
		polls++;
		struct timespec ts = { 0, (polls < 200 ? 5 : polls < 650 ? 20 : 100) * 1000 * 1000 };
		nanosleep(&ts, NULL);
		struct snapshot next;
		snap(r, id, &next);
		if (next.exists)
			now = next;
		else
			now.exists = false;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "StatusCode", json_object_new_int(now.code));
	json_object_object_add(o, "Error", NULL);
	w->out = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	w->len = strlen(w->out);
	json_object_put(o);
}

static ssize_t wait_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct waiter *w = cls;
	if (!w->out)
		wait_until(w);
	if (pos >= w->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = w->len - (size_t)pos < max ? w->len - (size_t)pos : max;
	memcpy(buf, w->out + pos, n);
	return (ssize_t)n;
}

static void wait_free(void *cls)
{
	struct waiter *w = cls;
	free(w->id);
	free(w->out);
	free(w);
}

static void wait_(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, &id))
		return;
	const char *cond = api_query(r, "condition");
	if (!cond || !*cond)
		cond = "not-running";
	if (streq(cond, "not-running"))
		cond = "not-running";
	else if (streq(cond, "next-exit"))
		cond = "next-exit";
	else if (streq(cond, "removed"))
		cond = "removed";
	else {
		api_error(r, 400, "invalid condition: \"%s\" (not-running, next-exit or removed)", cond);
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->r.engine = r->engine;
	w->id = TAKE_PTR(id);
	w->cond = cond;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	w->fd = ci ? ci->connect_fd : -1;
	api_reply_stream(r, 200, "application/json", wait_body, w, wait_free);
}

const struct api_route api_routes_containers[] = {
	{ "GET", "/containers/json", list },
	{ "POST", "/containers/create", create },
	{ "GET", "/containers/{id}/json", inspect },
	{ "POST", "/containers/{id}/start", start },
	{ "POST", "/containers/{id}/stop", stop },
	{ "POST", "/containers/{id}/restart", restart },
	{ "POST", "/containers/{id}/kill", kill_ },
	{ "POST", "/containers/{id}/wait", wait_ },
	{ "POST", "/containers/{id}/pause", pause_on },
	{ "POST", "/containers/{id}/unpause", pause_off },
	{ "POST", "/containers/{id}/rename", rename_ },
	{ "DELETE", "/containers/{id}", remove_ },
	{ NULL, NULL, NULL },
};
