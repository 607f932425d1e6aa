/* The API's network routes, in dockerd's shapes: list, inspect, create,
 * delete, connect, disconnect, prune. The networks are cell's bridge
 * networks (src/lib/net); cell0 is Docker's `bridge`. Connect and
 * disconnect are the engine's (engine/network.c), as `cell network` calls
 * them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine/network.h"
#include "json.h"
#include "log.h"
#include "net/net.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* ---- shared with routes_volumes.c ---- */

json_object *api_filters(struct api_req *r, const char *const *known, bool *ok)
{
	const char *q = api_query(r, "filters");
	json_object *out = json_object_new_object(), *f = NULL;
	*ok = true;
	if (!q || !*q)
		return out;
	cell_error *e = NULL;
	if (cj_parse_string("filters", q, &f, &e) < 0 || !json_object_is_type(f, json_type_object)) {
		api_error(r, 400, "invalid filters: %s", e ? e->msg : "expected a JSON object");
		cell_error_free(&e);
		json_object_put(f);
		json_object_put(out);
		*ok = false;
		return NULL;
	}
	json_object_object_foreach(f, key, val) {
		bool k_ok = false;
		for (const char *const *k = known; *k && !k_ok; k++)
			k_ok = streq(*k, key);
		if (!k_ok) {
			/* dockerd refuses a filter it does not know */
			api_error(r, 400, "invalid filter '%s'", key);
			json_object_put(f);
			json_object_put(out);
			*ok = false;
			return NULL;
		}
		json_object *a = json_object_new_array();
		/* {"k": ["v", ...]}, or the older {"k": {"v": true}} */
		if (json_object_is_type(val, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				json_object *x = json_object_array_get_idx(val, i);
				if (json_object_is_type(x, json_type_string))
					json_object_array_add(a, json_object_get(x));
			}
		} else if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, v2, b) {
				if (json_object_get_boolean(b))
					json_object_array_add(a, json_object_new_string(v2));
			}
		}
		json_object_object_add(out, key, a);
	}
	json_object_put(f);
	return out;
}

bool api_labels_match(json_object *labels, json_object *wants)
{
	for (size_t i = 0; wants && i < json_object_array_length(wants); i++) {
		const char *w = json_object_get_string(json_object_array_get_idx(wants, i));
		const char *eq = strchr(w, '=');
		_cleanup_free_ char *k = eq ? strndup(w, (size_t)(eq - w)) : xstrdup(w);
		json_object *v = get(labels, k);
		if (!v || (eq && !streq(json_object_get_string(v), eq + 1)))
			return false;
	}
	return true;
}

/* A {"k": "v"} object as "k=v" strings (kept by the caller's vector);
 * false when a value is not a string. */
bool api_kv_strings(json_object *o, char ***ret)
{
	size_t n = 0;
	*ret = xcalloc(1, sizeof(char *));
	if (!o || json_object_is_type(o, json_type_null))
		return true;
	if (!json_object_is_type(o, json_type_object))
		return false;
	json_object_object_foreach(o, k, v) {
		if (!json_object_is_type(v, json_type_string))
			return false;
		*ret = realloc(*ret, (n + 2) * sizeof(char *));
		if (!*ret)
			abort();
		(*ret)[n++] = xasprintf("%s=%s", k, json_object_get_string(v));
		(*ret)[n] = NULL;
	}
	return true;
}

/* ---- shapes ---- */

static const char *docker_name(const struct cell_network *n)
{
	return streq(n->name, CELL_DEFAULT_NETWORK) ? "bridge" : n->name;
}

static json_object *labels_json(char **labels)
{
	json_object *o = json_object_new_object();
	for (char **it = labels; it && *it; it++) {
		const char *eq = strchr(*it, '=');
		_cleanup_free_ char *k = eq ? strndup(*it, (size_t)(eq - *it)) : xstrdup(*it);
		json_object_object_add(o, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	return o;
}

/* dockerd's Network object; containers: its endpoints (inspect), else {} */
static json_object *network_json(struct api_req *r, const struct cell_network *n, bool containers)
{
	json_object *o = json_object_new_object(), *ipam = json_object_new_object(), *cfgs = json_object_new_array();
	json_object *c4 = json_object_new_object(), *ctrs = json_object_new_object(), *opts = json_object_new_object();
	char b[64];

	json_object_object_add(o, "Name", json_object_new_string(docker_name(n)));
	json_object_object_add(o, "Id", json_object_new_string(n->id));
	json_object_object_add(o, "Created", json_object_new_string(n->created));
	json_object_object_add(o, "Scope", json_object_new_string("local"));
	json_object_object_add(o, "Driver", json_object_new_string("bridge"));
	json_object_object_add(o, "EnableIPv6", json_object_new_boolean(n->subnet6.family != 0));
	json_object_object_add(c4, "Subnet", json_object_new_string(cell_prefix_str(&n->subnet, true, b, sizeof(b))));
	json_object_object_add(c4, "Gateway", json_object_new_string(cell_prefix_str(&n->gateway, false, b, sizeof(b))));
	if (memcmp(&n->range, &n->subnet, sizeof(n->range)) != 0)
		json_object_object_add(c4, "IPRange", json_object_new_string(cell_prefix_str(&n->range, true, b, sizeof(b))));
	json_object_array_add(cfgs, c4);
	if (n->subnet6.family) {
		json_object *c6 = json_object_new_object();
		json_object_object_add(c6, "Subnet", json_object_new_string(cell_prefix_str(&n->subnet6, true, b, sizeof(b))));
		json_object_object_add(c6, "Gateway", json_object_new_string(cell_prefix_str(&n->gateway6, false, b, sizeof(b))));
		json_object_array_add(cfgs, c6);
	}
	json_object_object_add(ipam, "Driver", json_object_new_string("default"));
	json_object_object_add(ipam, "Options", json_object_new_object());
	json_object_object_add(ipam, "Config", cfgs);
	json_object_object_add(o, "IPAM", ipam);
	json_object_object_add(o, "Internal", json_object_new_boolean(n->internal));
	json_object_object_add(o, "Attachable", json_object_new_boolean(false));
	json_object_object_add(o, "Ingress", json_object_new_boolean(false));
	json_object *cf = json_object_new_object();
	json_object_object_add(cf, "Network", json_object_new_string(""));
	json_object_object_add(o, "ConfigFrom", cf);
	json_object_object_add(o, "ConfigOnly", json_object_new_boolean(false));
	if (containers) {
		struct cell_lease *l = NULL;
		size_t nl = 0;
		cell_error *e = NULL;
		if (cell_lease_list(r->engine->root, n->name, &l, &nl, &e) < 0)
			cell_error_free(&e);
		for (size_t i = 0; i < nl; i++) {
			json_object *c = json_object_new_object(), *rec = NULL;
			const char *name = l[i].hostname;
			if (cell_ctr_load(r->engine, l[i].container, &rec, &e) == 0) {
				const char *rn = json_object_get_string(get(rec, "Name"));
				if (rn && *rn)
					name = *rn == '/' ? rn + 1 : rn;
			}
			cell_error_free(&e);
			json_object_object_add(c, "Name", json_object_new_string(name ? name : ""));
			json_object_object_add(c, "EndpointID", json_object_new_string(""));
			json_object_object_add(c, "MacAddress", json_object_new_string(l[i].mac ? l[i].mac : ""));
			json_object_object_add(c, "IPv4Address", json_object_new_string(cell_prefix_str(&l[i].ip, true, b, sizeof(b))));
			if (n->subnet6.family) {
				struct cell_prefix ip6;
				cell_network_ip6(n, &l[i].ip, &ip6);
				cell_prefix_str(&ip6, true, b, sizeof(b));
			} else {
				b[0] = 0;
			}
			json_object_object_add(c, "IPv6Address", json_object_new_string(b));
			json_object_object_add(ctrs, l[i].container, c);
			json_object_put(rec);
		}
		cell_lease_list_free(l, nl);
	}
	json_object_object_add(o, "Containers", ctrs);
	json_object_object_add(opts, "com.docker.network.bridge.name", json_object_new_string(n->bridge));
	if (n->unprotected4)
		json_object_object_add(opts, "com.docker.network.bridge.gateway_mode_ipv4", json_object_new_string("nat-unprotected"));
	if (n->unprotected6)
		json_object_object_add(opts, "com.docker.network.bridge.gateway_mode_ipv6", json_object_new_string("nat-unprotected"));
	json_object_object_add(o, "Options", opts);
	json_object_object_add(o, "Labels", labels_json(n->labels));
	return o;
}

/* A network library error as dockerd answers it. */
static void net_error(struct api_req *r, cell_error **e, unsigned fallback)
{
	int code = cell_error_code(*e);
	unsigned status = code == ENOENT ? 404 : code == EEXIST || code == EBUSY ? 409 : 0;
	if (!status) {
		api_error_from(r, e, fallback);
		return;
	}
	api_error(r, status, "%s", (*e)->msg);
	cell_error_free(e);
}

static void revive_dns(struct api_req *r)
{
	/* the resolver killed while containers still need it: back (as `cell network` does) */
	cell_error *e = NULL;
	if (cell_net_dns_revive(r->engine->root, &e) < 0) {
		cell_warn("%s", e->msg);
		cell_error_free(&e);
	}
}

/* ---- list, inspect ---- */

static bool any_of(json_object *vals, bool (*fn)(const char *v, const struct cell_network *n), const struct cell_network *n)
{
	size_t k = vals ? json_object_array_length(vals) : 0;
	for (size_t i = 0; i < k; i++)
		if (fn(json_object_get_string(json_object_array_get_idx(vals, i)), n))
			return true;
	return k == 0;
}

static bool f_name(const char *v, const struct cell_network *n) { return strstr(docker_name(n), v) != NULL; }
static bool f_id(const char *v, const struct cell_network *n) { return strncmp(n->id, v, strlen(v)) == 0; }
static bool f_driver(const char *v, const struct cell_network *n) { return streq(v, "bridge"); }
static bool f_scope(const char *v, const struct cell_network *n) { return streq(v, "local"); }
static bool f_type(const char *v, const struct cell_network *n)
{
	/* dockerd: builtin are bridge, host and none; the rest are custom */
	return streq(v, streq(n->name, CELL_DEFAULT_NETWORK) ? "builtin" : "custom");
}

static bool in_use(struct api_req *r, const struct cell_network *n)
{
	struct cell_lease *l = NULL;
	size_t nl = 0;
	cell_error *e = NULL;
	if (cell_lease_list(r->engine->root, n->name, &l, &nl, &e) < 0) {
		cell_error_free(&e);
		return true;
	}
	cell_lease_list_free(l, nl);
	return nl > 0;
}

static void list(struct api_req *r)
{
	static const char *const known[] = { "name", "id", "label", "driver", "type", "scope", "dangling", NULL };
	bool ok;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	_cleanup_strv_ char **names = NULL;
	cell_error *e = NULL;
	revive_dns(r);
	if (cell_network_list(r->engine->root, &names, &e) < 0) {
		json_object_put(f);
		api_error_from(r, &e, 500);
		return;
	}
	json_object *dangling = get(f, "dangling");
	const char *dv = dangling && json_object_array_length(dangling)
				 ? json_object_get_string(json_object_array_get_idx(dangling, 0)) : NULL;
	if (dv && !streq(dv, "true") && !streq(dv, "1") && !streq(dv, "false") && !streq(dv, "0")) {
		api_error(r, 400, "invalid filter 'dangling=%s': expected true or false", dv);
		json_object_put(f);	/* after: dv is its */
		return;
	}
	json_object *out = json_object_new_array();
	for (char **it = names; *it; it++) {
		_cleanup_cell_network_ struct cell_network *n = NULL;
		if (cell_network_load(r->engine->root, *it, &n, &e) < 0) {
			cell_error_free(&e);	/* removed meanwhile */
			continue;
		}
		if (!any_of(get(f, "name"), f_name, n) || !any_of(get(f, "id"), f_id, n) ||
		    !any_of(get(f, "driver"), f_driver, n) || !any_of(get(f, "type"), f_type, n) ||
		    !any_of(get(f, "scope"), f_scope, n))
			continue;
		json_object *labels = labels_json(n->labels);
		bool lok = api_labels_match(labels, get(f, "label"));
		json_object_put(labels);
		if (!lok)
			continue;
		if (dv && in_use(r, n) == (streq(dv, "true") || streq(dv, "1")))
			continue;
		json_object_array_add(out, network_json(r, n, false));
	}
	json_object_put(f);
	api_reply_json(r, 200, out);
}

/* The network of {id}; NULL with the reply sent. */
static struct cell_network *find(struct api_req *r)
{
	struct cell_network *n = NULL;
	cell_error *e = NULL;
	const char *ref = api_param(r, "id");
	if (cell_network_find(r->engine->root, ref, &n, &e) < 0) {
		if (cell_error_code(e) == ENOENT) {
			cell_error_free(&e);
			api_error(r, 404, "network %s not found", ref);
		} else {
			api_error(r, 400, "%s", e->msg);
			cell_error_free(&e);
		}
		return NULL;
	}
	return n;
}

static void inspect(struct api_req *r)
{
	revive_dns(r);
	_cleanup_cell_network_ struct cell_network *n = find(r);
	if (n)
		api_reply_json(r, 200, network_json(r, n, true));
}

/* ---- create ---- */

static bool str_field(struct api_req *r, json_object *o, const char *k, const char **ret)
{
	json_object *v = get(o, k);
	*ret = NULL;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		api_error(r, 400, "invalid %s: expected a string", k);
		return false;
	}
	*ret = *json_object_get_string(v) ? json_object_get_string(v) : NULL;
	return true;
}

static bool bool_field(struct api_req *r, json_object *o, const char *k, bool *ret)
{
	json_object *v = get(o, k);
	*ret = false;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		api_error(r, 400, "invalid %s: expected true or false", k);
		return false;
	}
	*ret = json_object_get_boolean(v);
	return true;
}

/* IPAM {"Driver": "default", "Config": [{"Subnet", "Gateway", "IPRange"}]}:
 * one IPv4 entry and one IPv6 entry at most, as cell's networks have */
static bool ipam_opts(struct api_req *r, json_object *ipam, struct cell_network_opts *o)
{
	const char *drv;
	if (!ipam || json_object_is_type(ipam, json_type_null))
		return true;
	if (!json_object_is_type(ipam, json_type_object)) {
		api_error(r, 400, "invalid IPAM: expected an object");
		return false;
	}
	if (!str_field(r, ipam, "Driver", &drv))
		return false;
	if (drv && !streq(drv, "default")) {
		api_error(r, 400, "IPAM driver `%s` is not supported (only `default`)", drv);
		return false;
	}
	json_object *cfgs = get(ipam, "Config");
	if (!cfgs || json_object_is_type(cfgs, json_type_null))
		return true;
	if (!json_object_is_type(cfgs, json_type_array)) {
		api_error(r, 400, "invalid IPAM.Config: expected an array");
		return false;
	}
	for (size_t i = 0; i < json_object_array_length(cfgs); i++) {
		json_object *c = json_object_array_get_idx(cfgs, i);
		const char *sub, *gw, *range;
		if (!json_object_is_type(c, json_type_object)) {
			api_error(r, 400, "invalid IPAM.Config[%zu]: expected an object", i);
			return false;
		}
		if (!str_field(r, c, "Subnet", &sub) || !str_field(r, c, "Gateway", &gw) ||
		    !str_field(r, c, "IPRange", &range))
			return false;
		json_object *ax = get(c, "AuxiliaryAddresses");
		if (ax && json_object_is_type(ax, json_type_object) && json_object_object_length(ax)) {
			api_error(r, 400, "IPAM.Config[%zu]: AuxiliaryAddresses are not supported", i);
			return false;
		}
		bool v6 = (sub && strchr(sub, ':')) || (!sub && gw && strchr(gw, ':'));
		if (v6) {
			if (o->subnet6 || range) {
				api_error(r, 400, "IPAM.Config: %s", o->subnet6 ? "one IPv6 subnet at most"
									      : "IPRange is for the IPv4 subnet only");
				return false;
			}
			o->subnet6 = sub;
			o->gateway6 = gw;
			o->ipv6 = true;
		} else {
			if (o->subnet) {
				api_error(r, 400, "IPAM.Config: one IPv4 subnet at most (cell's networks have one)");
				return false;
			}
			if (!sub && (gw || range)) {
				api_error(r, 400, "IPAM.Config[%zu]: a Gateway or IPRange needs its Subnet", i);
				return false;
			}
			o->subnet = sub;
			o->gateway = gw;
			o->ip_range = range;
		}
	}
	return true;
}

static void create(struct api_req *r)
{
	json_object *body = NULL;
	const char *name, *driver;
	bool ingress = false, config_only = false;
	struct cell_network_opts o = { 0 };
	_cleanup_strv_ char **labels = NULL, **options = NULL;
	_cleanup_cell_network_ struct cell_network *n = NULL;
	cell_error *e = NULL;

	if (!api_body_json(r, &body))
		return;
	if (!body) {
		api_error(r, 400, "network create: a JSON body with Name is required");
		return;
	}
	if (!str_field(r, body, "Name", &name) || !str_field(r, body, "Driver", &driver) ||
	    !bool_field(r, body, "Internal", &o.internal) || !bool_field(r, body, "EnableIPv6", &o.ipv6) ||
	    !bool_field(r, body, "Ingress", &ingress) || !bool_field(r, body, "ConfigOnly", &config_only) ||
	    !ipam_opts(r, get(body, "IPAM"), &o))
		goto out;
	if (!name) {
		api_error(r, 400, "network create: Name is required");
		goto out;
	}
	if (streq(name, "bridge") || streq(name, "host") || streq(name, "none")) {
		api_error(r, 403, "%s is a pre-defined network and cannot be created", name);
		goto out;
	}
	if (driver && !streq(driver, "bridge")) {
		api_error(r, 400, "network driver `%s` is not supported (cell's networks are `bridge`)", driver);
		goto out;
	}
	if (ingress || config_only) {
		api_error(r, 400, "%s networks are not supported (swarm mode)", ingress ? "Ingress" : "ConfigOnly");
		goto out;
	}
	if (!api_kv_strings(get(body, "Labels"), &labels)) {
		api_error(r, 400, "invalid Labels: expected an object of strings");
		goto out;
	}
	if (!api_kv_strings(get(body, "Options"), &options)) {
		api_error(r, 400, "invalid Options: expected an object of strings");
		goto out;
	}
	for (char **it = options; *it; it++)
		if (cell_network_opt_parse(&o, *it, &e) < 0) {
			api_error(r, 400, "%s", e->msg);
			cell_error_free(&e);
			goto out;
		}
	o.labels = labels;
	/* CheckDuplicate or not, a name is one network here (dockerd >= 1.44 too) */
	api_lock();
	int rc = cell_network_create(r->engine->root, name, &o, &n, &e);
	api_unlock();
	if (rc < 0) {
		if (cell_error_code(e) == EEXIST) {
			cell_error_free(&e);
			api_error(r, 409, "network with name %s already exists", name);
		} else {
			net_error(r, &e, 400);
		}
		goto out;
	}
	json_object *res = json_object_new_object();
	json_object_object_add(res, "Id", json_object_new_string(n->id));
	json_object_object_add(res, "Warning", json_object_new_string(""));
	api_reply_json(r, 201, res);
out:
	json_object_put(body);
}

/* ---- delete, prune ---- */

static void remove_(struct api_req *r)
{
	const char *ref = api_param(r, "id");
	/* asked before the lookup, which would make the default network first */
	if (streq(ref, "bridge") || streq(ref, CELL_DEFAULT_NETWORK)) {
		api_error(r, 403, "bridge is a pre-defined network and cannot be removed");
		return;
	}
	_cleanup_cell_network_ struct cell_network *n = find(r);
	cell_error *e = NULL;
	if (!n)
		return;
	if (streq(n->name, CELL_DEFAULT_NETWORK)) {
		api_error(r, 403, "bridge is a pre-defined network and cannot be removed");
		return;
	}
	api_lock();
	int rc = cell_network_remove(r->engine->root, n->name, false, &e);
	api_unlock();
	if (rc < 0) {
		net_error(r, &e, 500);
		return;
	}
	api_reply_empty(r, 204);
}

static void prune(struct api_req *r)
{
	static const char *const known[] = { "label", "until", NULL };
	bool ok;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	json_object *until = get(f, "until");
	if (until && json_object_array_length(until)) {
		json_object_put(f);
		api_error(r, 400, "network prune: the `until` filter is not supported");
		return;
	}
	json_object *lf = get(f, "label");
	size_t nl = lf ? json_object_array_length(lf) : 0;
	_cleanup_free_ char **labels = xcalloc(nl + 1, sizeof(char *));
	for (size_t i = 0; i < nl; i++)
		labels[i] = (char *)json_object_get_string(json_object_array_get_idx(lf, i));
	_cleanup_strv_ char **gone = NULL;
	cell_error *e = NULL;
	api_lock();
	int rc = cell_network_prune(r->engine->root, labels, &gone, NULL, NULL, &e);
	api_unlock();
	json_object_put(f);
	if (rc < 0) {
		api_error_from(r, &e, 500);
		return;
	}
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	for (char **it = gone; *it; it++)
		json_object_array_add(a, json_object_new_string(*it));
	json_object_object_add(o, "NetworksDeleted", a);
	api_reply_json(r, 200, o);
}

/* ---- connect, disconnect ---- */

static void connect_(struct api_req *r)
{
	json_object *body = NULL;
	const char *ctr, *ip = NULL;
	_cleanup_free_ char **aliases = NULL;
	cell_error *e = NULL;

	if (!api_body_json(r, &body))
		return;
	if (!str_field(r, body, "Container", &ctr))
		goto out;
	if (!ctr) {
		api_error(r, 400, "network connect: Container is required");
		goto out;
	}
	json_object *ep = get(body, "EndpointConfig");
	if (ep && !json_object_is_type(ep, json_type_null) && !json_object_is_type(ep, json_type_object)) {
		api_error(r, 400, "invalid EndpointConfig: expected an object");
		goto out;
	}
	json_object *ipam = get(ep, "IPAMConfig"), *al = get(ep, "Aliases");
	if (ipam && json_object_is_type(ipam, json_type_object) && !str_field(r, ipam, "IPv4Address", &ip))
		goto out;
	size_t na = al && json_object_is_type(al, json_type_array) ? json_object_array_length(al) : 0;
	aliases = xcalloc(na + 1, sizeof(char *));
	for (size_t i = 0; i < na; i++) {
		json_object *a = json_object_array_get_idx(al, i);
		if (!json_object_is_type(a, json_type_string)) {
			api_error(r, 400, "invalid EndpointConfig.Aliases: expected strings");
			goto out;
		}
		aliases[i] = (char *)json_object_get_string(a);
	}
	_cleanup_cell_network_ struct cell_network *n = find(r);
	if (!n)
		goto out;
	revive_dns(r);
	struct cell_connect_opts o = { .ip = ip, .aliases = aliases, .stopped_ok = true };
	api_lock();
	int rc = cell_ctr_network_connect(r->engine, n->id, ctr, &o, &e);
	api_unlock();
	if (rc < 0 && cell_error_code(e) == EEXIST) {
		/* libnetwork's answer to an endpoint that exists: forbidden */
		api_error(r, 403, "%s", e->msg);
		cell_error_free(&e);
	} else if (rc < 0) {
		api_error_from(r, &e, 400);
	} else {
		api_reply_empty(r, 200);
	}
out:
	json_object_put(body);
}

static void disconnect_(struct api_req *r)
{
	json_object *body = NULL;
	const char *ctr;
	bool force;
	cell_error *e = NULL;

	if (!api_body_json(r, &body))
		return;
	if (!str_field(r, body, "Container", &ctr) || !bool_field(r, body, "Force", &force))
		goto out;
	if (!ctr) {
		api_error(r, 400, "network disconnect: Container is required");
		goto out;
	}
	_cleanup_cell_network_ struct cell_network *n = find(r);
	if (!n)
		goto out;
	api_lock();
	int rc = cell_ctr_network_disconnect(r->engine, n->id, ctr, &e);
	api_unlock();
	if (rc < 0 && cell_error_code(e) == ENOENT && strstr(e->msg, "not connected")) {
		/* as libnetwork refuses it: forbidden, not missing */
		api_error(r, 403, "%s", e->msg);
		cell_error_free(&e);
	} else if (rc < 0) {
		api_error_from(r, &e, 500);
	} else {
		api_reply_empty(r, 200);
	}
out:
	json_object_put(body);
}

const struct api_route api_routes_networks[] = {
	{ "GET", "/networks", list },
	{ "POST", "/networks/create", create },
	{ "POST", "/networks/prune", prune },
	{ "GET", "/networks/{id}", inspect },
	{ "DELETE", "/networks/{id}", remove_ },
	{ "POST", "/networks/{id}/connect", connect_ },
	{ "POST", "/networks/{id}/disconnect", disconnect_ },
	{ NULL, NULL, NULL },
};
