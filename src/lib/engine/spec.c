/* The runtime's config.json for a container: the image config under the
 * `cell run` flags, with Docker's defaults (capabilities, masked and
 * read-only /proc paths, mounts, device rules, hostname).
 *
 * engine_spec_build() checks every flag value and touches nothing but the
 * files it must read (--env-file, seccomp=FILE, -v sources); the user is
 * resolved later by engine_spec_set_user(), once the rootfs is mounted and
 * its /etc/passwd can be read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine-internal.h"
#include "image/image.h"
#include "json.h"
#include "net/net.h"
#include "root.h"
#include "util.h"

/* The default seccomp profile (seccomp.c); build with 0 to leave containers
 * without a filter unless --security-opt seccomp=FILE gives one. */
#ifndef ENGINE_DEFAULT_SECCOMP
#define ENGINE_DEFAULT_SECCOMP 1
#endif

static json_object *jstrv(char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *jcstrv(const char *const *v)
{
	return jstrv((char *const *)v);
}

static json_object *mount_obj(const char *dst, const char *type, const char *src, const char *const *opts)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(src));
	json_object_object_add(m, "options", jcstrv(opts));
	return m;
}

/* ---- environment ---- */

static void env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t n = strv_len(*env);
	for (size_t i = 0; i < n; i++) {
		if (strncmp((*env)[i], kv, klen) == 0 && ((*env)[i][klen] == '=' || (*env)[i][klen] == 0)) {
			free((*env)[i]);
			(*env)[i] = xstrdup(kv);
			return;
		}
	}
	*env = realloc(*env, (n + 2) * sizeof(char *));
	(*env)[n] = xstrdup(kv);
	(*env)[n + 1] = NULL;
}

static bool env_has(char **env, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, k) == 0 && env[i][k] == '=')
			return true;
	return false;
}

/* -e K=V sets, -e K takes K from our own environment (and is skipped when unset). */
static int env_add_flag(char ***env, const char *flag, const char *v, cell_error **err)
{
	if (!*v || *v == '=')
		return cell_error_set(err, "invalid %s `%s`: expected KEY=VALUE or KEY", flag, v);
	for (const char *p = v; *p && *p != '='; p++)
		if (isspace((unsigned char)*p))
			return cell_error_set(err, "invalid %s `%s`: the variable name has whitespace", flag, v);
	if (strchr(v, '=')) {
		env_set(env, v);
		return 0;
	}
	const char *val = getenv(v);
	if (val) {
		_cleanup_free_ char *kv = xasprintf("%s=%s", v, val);
		env_set(env, kv);
	}
	return 0;
}

static int env_file(char ***env, const char *path, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, &text, NULL, err) < 0)
		return cell_error_wrap(err, "--env-file");
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[n - 1] = 0;
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#')
			continue;
		if (env_add_flag(env, "--env-file line", l, err) < 0)
			return cell_error_wrap(err, "--env-file `%s`", path);
	}
	return 0;
}

/* ---- capabilities ---- */

static bool strv_contains(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

static int caps_build(const struct cell_run_request *req, char ***ret, cell_error **err)
{
	char **caps = NULL;
	bool drop_all = false, add_all = req->privileged;
	for (size_t i = 0; req->cap_drop && req->cap_drop[i]; i++) {
		_cleanup_free_ char *c = cell_cap_normalize(req->cap_drop[i]);
		if (!c)
			return cell_error_set(err, "invalid --cap-drop `%s`: unknown capability", req->cap_drop[i]);
		if (streq(c, "ALL"))
			drop_all = true;
	}
	for (size_t i = 0; req->cap_add && req->cap_add[i]; i++) {
		_cleanup_free_ char *c = cell_cap_normalize(req->cap_add[i]);
		if (!c)
			return cell_error_set(err, "invalid --cap-add `%s`: unknown capability", req->cap_add[i]);
		if (streq(c, "ALL"))
			add_all = true;
	}
	if (add_all) {
		caps = cell_all_caps();
	} else {
		caps = xcalloc(1, sizeof(char *));
		if (!drop_all)
			for (size_t i = 0; cell_default_caps[i]; i++)
				env_set(&caps, cell_default_caps[i]);
	}
	/* Docker: drops apply to the defaults, then adds win */
	for (size_t i = 0; !req->privileged && req->cap_drop && req->cap_drop[i]; i++) {
		_cleanup_free_ char *c = cell_cap_normalize(req->cap_drop[i]);
		if (streq(c, "ALL"))
			continue;
		size_t n = strv_len(caps);
		for (size_t j = 0; j < n; j++)
			if (streq(caps[j], c)) {
				free(caps[j]);
				memmove(caps + j, caps + j + 1, (n - j) * sizeof(char *));
				break;
			}
	}
	for (size_t i = 0; !add_all && req->cap_add && req->cap_add[i]; i++) {
		_cleanup_free_ char *c = cell_cap_normalize(req->cap_add[i]);
		if (!strv_contains(caps, c))
			env_set(&caps, c);
	}
	*ret = caps;
	return 0;
}

static json_object *caps_json(char **caps)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "bounding", jstrv(caps));
	json_object_object_add(o, "effective", jstrv(caps));
	json_object_object_add(o, "permitted", jstrv(caps));
	return o;
}

/* ---- resources ---- */

static int resources_build(const struct cell_run_request *req, json_object **ret, cell_error **err)
{
	json_object *r = json_object_new_object();
	json_object *mem = NULL, *cpu = NULL;
	int64_t memory = 0;
	if (req->memory) {
		if (parse_size(req->memory, &memory) < 0 || memory <= 0)
			goto bad_memory;
		if (memory < 6 * 1024 * 1024) {
			json_object_put(r);
			return cell_error_set(err, "invalid --memory `%s`: the minimum is 6m", req->memory);
		}
		mem = json_object_new_object();
		json_object_object_add(mem, "limit", json_object_new_int64(memory));
	}
	if (req->memory_swap) {
		int64_t swap;
		if (streq(req->memory_swap, "-1")) {
			swap = -1;
		} else if (parse_size(req->memory_swap, &swap) < 0 || swap <= 0) {
			json_object_put(r);
			json_object_put(mem);
			return cell_error_set(err, "invalid --memory-swap `%s`: expected a size such as 1g, or -1",
					      req->memory_swap);
		}
		if (!memory) {
			json_object_put(r);
			json_object_put(mem);
			return cell_error_set(err, "--memory-swap needs --memory as well");
		}
		if (swap > 0 && swap < memory) {
			json_object_put(r);
			json_object_put(mem);
			return cell_error_set(err, "invalid --memory-swap `%s`: it is memory plus swap, so it must "
					      "be at least --memory", req->memory_swap);
		}
		json_object_object_add(mem, "swap", json_object_new_int64(swap));
	}
	if (mem)
		json_object_object_add(r, "memory", mem);
	if (req->cpus || req->cpu_shares || req->cpuset_cpus) {
		cpu = json_object_new_object();
		json_object_object_add(r, "cpu", cpu);
	}
	if (req->cpus) {
		int64_t quota;
		if (cell_cpus_parse(req->cpus, &quota, err) < 0)
			goto fail;
		json_object_object_add(cpu, "quota", json_object_new_int64(quota));
		json_object_object_add(cpu, "period", json_object_new_int64(100000));
	}
	if (req->cpu_shares) {
		uint64_t v;
		if (parse_uint64(req->cpu_shares, &v) < 0 || v < 2 || v > 262144) {
			cell_error_set(err, "invalid --cpu-shares `%s`: expected an integer from 2 to 262144",
				       req->cpu_shares);
			goto fail;
		}
		json_object_object_add(cpu, "shares", json_object_new_uint64(v));
	}
	if (req->cpuset_cpus) {
		for (const char *p = req->cpuset_cpus; *p; p++)
			if (!isdigit((unsigned char)*p) && *p != ',' && *p != '-') {
				cell_error_set(err, "invalid --cpuset-cpus `%s`: expected a list such as 0-1,3",
					       req->cpuset_cpus);
				goto fail;
			}
		json_object_object_add(cpu, "cpus", json_object_new_string(req->cpuset_cpus));
	}
	if (req->pids_limit) {
		int64_t v;
		if (parse_int64(req->pids_limit, &v) < 0 || v == 0 || v < -1) {
			cell_error_set(err, "invalid --pids-limit `%s`: expected a positive integer or -1",
				       req->pids_limit);
			goto fail;
		}
		json_object *p = json_object_new_object();
		json_object_object_add(p, "limit", json_object_new_int64(v));
		json_object_object_add(r, "pids", p);
	}
	/* Docker's device rules: deny all, then the usual character devices */
	json_object *devs = json_object_new_array();
	json_object *d = json_object_new_object();
	json_object_object_add(d, "allow", json_object_new_boolean(req->privileged));
	json_object_object_add(d, "access", json_object_new_string("rwm"));
	json_object_array_add(devs, d);
	json_object_object_add(r, "devices", devs);
	*ret = r;
	return 0;
bad_memory:
	json_object_put(r);
	return cell_error_set(err, "invalid --memory `%s`: expected a size such as 512m or 1g", req->memory);
fail:
	json_object_put(r);
	return -1;
}

/* ---- security options ---- */

struct secopts {
	bool nnp;
	bool seccomp_unconfined;
	json_object *seccomp;	/* from a file */
};

static int secopts_parse(const struct cell_run_request *req, struct secopts *s, cell_error **err)
{
	for (size_t i = 0; req->security_opts && req->security_opts[i]; i++) {
		const char *o = req->security_opts[i];
		if (streq(o, "no-new-privileges") || streq(o, "no-new-privileges=true") ||
		    streq(o, "no-new-privileges:true")) {
			s->nnp = true;
		} else if (streq(o, "no-new-privileges=false") || streq(o, "no-new-privileges:false")) {
			s->nnp = false;
		} else if (strncmp(o, "seccomp=", 8) == 0 || strncmp(o, "seccomp:", 8) == 0) {
			const char *v = o + 8;
			if (streq(v, "unconfined")) {
				s->seccomp_unconfined = true;
				continue;
			}
			json_object *doc = NULL;
			if (cj_parse_file(v, &doc, err) < 0)
				return cell_error_wrap(err, "--security-opt seccomp");
			if (!json_object_is_type(doc, json_type_object)) {
				json_object_put(doc);
				return cell_error_set(err, "--security-opt seccomp=`%s`: not a JSON object", v);
			}
			json_object_put(s->seccomp);
			s->seccomp = doc;
		} else if (strncmp(o, "apparmor", 8) == 0 || strncmp(o, "label", 5) == 0) {
			/* no LSM on this engine yet: accepted as Docker does on hosts without one */
		} else {
			return cell_error_set(err, "invalid --security-opt `%s`: expected no-new-privileges or "
					      "seccomp=unconfined|FILE", o);
		}
	}
	return 0;
}

/* ---- network flags ---- */

static bool net_is_container(const char *m)
{
	return strncmp(m, "container:", 10) == 0;
}

static bool net_is_phys(const char *m)
{
	return strncmp(m, "phys:", 5) == 0;
}

/* none, host, container:X, phys:IF: a network namespace not of cell's networks */
static bool net_special(const char *m)
{
	return streq(m, "none") || streq(m, "host") || net_is_container(m) || net_is_phys(m);
}

static bool ip_ok(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* a host or domain name: letters, digits, '-', '_', '.' */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

/* Every --network (each may be "a,b") into one list; the special modes alone. */
static void json_putp(json_object **o)
{
	json_object_put(*o);
}

/* Docker 25's advanced syntax: name=NET,alias=A,ip=IP,ip6=IP,mac-address=M
 * (keys repeated for aliases). Adds {"ip","ip6","mac","aliases"} under the
 * name to opts; *ret_name is the network (caller frees). */
static int network_advanced_parse(const char *s, json_object *opts, char **ret_name, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	_cleanup_free_ char *name = NULL;
	json_object *o = json_object_new_object(), *aliases = json_object_new_array();
	char *save = NULL;
	uint8_t mac[6];
	int r = -1;

	json_object_object_add(o, "aliases", aliases);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq || eq == t || !eq[1]) {
			cell_error_set(err, "invalid --network `%s`: `%s` is not KEY=VALUE (name, alias, ip, ip6, "
				       "mac-address)", s, t);
			goto out;
		}
		*eq++ = '\0';
		const char *v = eq;
		if (streq(t, "name")) {
			free(name);
			name = xstrdup(v);
		} else if (streq(t, "alias")) {
			if (!dns_name_ok(v)) {
				cell_error_set(err, "invalid --network `%s`: alias `%s` is not a host name", s, v);
				goto out;
			}
			json_object_array_add(aliases, json_object_new_string(v));
		} else if (streq(t, "ip") || streq(t, "ip6")) {
			bool six = streq(t, "ip6");
			if (strchr(v, '/') || !ip_ok(v) || (six != (strchr(v, ':') != NULL))) {
				cell_error_set(err, "invalid --network `%s`: %s `%s` is not an IPv%c address", s, t, v,
					       six ? '6' : '4');
				goto out;
			}
			json_object_object_add(o, t, json_object_new_string(v));
		} else if (streq(t, "mac-address")) {
			if (cell_mac_parse(v, mac) < 0 || (mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
				cell_error_set(err, "invalid --network `%s`: mac-address `%s` is not a unicast MAC", s, v);
				goto out;
			}
			json_object_object_add(o, "mac", json_object_new_string(v));
		} else {
			cell_error_set(err, "invalid --network `%s`: unknown key `%s` (name, alias, ip, ip6, "
				       "mac-address)", s, t);
			goto out;
		}
	}
	if (!name) {
		cell_error_set(err, "invalid --network `%s`: no name=NETWORK", s);
		goto out;
	}
	if (net_special(name) || streq(name, "bridge") || streq(name, "default")) {
		cell_error_set(err, "invalid --network `%s`: options go with a network of your own, not `%s`", s,
			       name);
		goto out;
	}
	json_object_object_add(opts, name, json_object_get(o));
	*ret_name = TAKE_PTR(name);
	r = 0;
out:
	json_object_put(o);
	return r;
}

int engine_networks_parse(const struct cell_run_request *req, char ***ret, json_object **ret_opts,
			  cell_error **err)
{
	char *one[] = { (char *)(req->network ? req->network : "bridge"), NULL };
	char **src = req->networks && req->networks[0] ? req->networks : one;
	_cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
	json_object *opts = json_object_new_object();
	size_t n = 0;
	int r = -1;

	/* several --network with none, host, container: or phys: among them:
	 * the last one wins, as one --network overrode another before */
	for (size_t i = 0; src[0] && src[1] && src[i]; i++)
		if (net_special(src[i]) || strstr(src[i], ",none") || strstr(src[i], "none,")) {
			src += strv_len(src) - 1;
			break;
		}
	for (size_t i = 0; src[i]; i++) {
		if (strchr(src[i], '=')) {
			char *name = NULL;
			if (network_advanced_parse(src[i], opts, &name, err) < 0)
				goto fail;
			for (size_t j = 0; j < n; j++)
				if (streq(v[j], name)) {
					cell_error_set(err, "invalid --network: `%s` is given twice", name);
					free(name);
					goto fail;
				}
			v = realloc(v, (n + 2) * sizeof(char *));
			if (!v)
				abort();
			v[n++] = name;
			v[n] = NULL;
			continue;
		}
		_cleanup_free_ char *copy = xstrdup(src[i]);
		size_t len = strlen(copy);
		char *save = NULL;
		if (!len || copy[0] == ',' || copy[len - 1] == ',' || strstr(copy, ",,")) {
			cell_error_set(err, "invalid --network `%s`: an empty network name", src[i]);
			goto fail;
		}
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if ((net_is_container(t) && !t[10]) || (net_is_phys(t) && (!t[5] || strlen(t + 5) >= 16 ||
			    strchr(t + 5, '/') || strchr(t + 5, ':'))) || (!net_special(t) && strchr(t, '/'))) {
				cell_error_set(err, "invalid --network `%s`: expected bridge, none, host, "
					       "container:NAME|ID, phys:HOSTIF or a network name", t);
				goto fail;
			}
			for (size_t j = 0; j < n; j++)
				if (streq(v[j], t)) {
					cell_error_set(err, "invalid --network: `%s` is given twice", t);
					goto fail;
				}
			v = realloc(v, (n + 2) * sizeof(char *));
			if (!v)
				abort();
			v[n++] = xstrdup(t);
			v[n] = NULL;
		}
	}
	for (size_t i = 0; n > 1 && i < n; i++)
		if (net_special(v[i])) {
			cell_error_set(err, "--network %s cannot be combined with other networks", v[i]);
			goto fail;
		}
	*ret = TAKE_PTR(v);
	if (ret_opts && json_object_object_length(opts) > 0)
		*ret_opts = json_object_get(opts);
	else if (ret_opts)
		*ret_opts = NULL;
	r = 0;
fail:
	json_object_put(opts);
	return r;
}

static int net_conflict(const char *flag, const char *mode, const char *why, cell_error **err)
{
	return cell_error_set(err, "conflicting options: %s and --network %s (%s)", flag, mode, why);
}

/* Which flags go with which mode, and the syntax of each value. */
static int net_flags_check(const struct cell_run_request *req, char **nets, cell_error **err)
{
	const char *m = nets[0];
	bool container = net_is_container(m), host = streq(m, "host");
	bool ports = req->publish && req->publish[0];
	const struct { const char *flag; bool given; } cell_only[] = {
		{ "--ip", req->ip }, { "--ip6", req->ip6 }, { "--mac-address", req->mac_address },
		{ "--network-alias", req->network_aliases && req->network_aliases[0] },
	}, own_ns[] = {
		{ "--hostname", req->hostname }, { "--dns", req->dns && req->dns[0] },
		{ "--dns-search", req->dns_search && req->dns_search[0] },
		{ "--dns-option", req->dns_options && req->dns_options[0] },
		{ "--add-host", req->add_hosts && req->add_hosts[0] }, { "--netns-name", req->netns_name },
	};
	uint8_t mac[6];

	if ((ports || req->publish_all) && net_special(m))
		return cell_error_set(err, "%s cannot publish ports with --network %s", ports ? "-p" : "-P", m);
	for (size_t i = 0; net_special(m) && i < ARRAY_SIZE(cell_only); i++)
		if (cell_only[i].given)
			return net_conflict(cell_only[i].flag, m, "it needs a network of cell's: bridge or a network name",
					    err);
	for (size_t i = 0; container && i < ARRAY_SIZE(own_ns); i++)
		if (own_ns[i].given)
			return net_conflict(own_ns[i].flag, m, "the container shares the other one's network namespace, "
					    "hostname and /etc files", err);
	if (host) {
		for (size_t i = 1; i < ARRAY_SIZE(own_ns); i++)
			if (own_ns[i].given && !streq(own_ns[i].flag, "--add-host"))
				return net_conflict(own_ns[i].flag, m, "the host's own network namespace and resolv.conf "
						    "are used", err);
	}
	if (req->ip && (strchr(req->ip, '/') || !ip_ok(req->ip) || strchr(req->ip, ':')))
		return cell_error_set(err, "invalid --ip `%s`: expected an IPv4 address", req->ip);
	if (req->ip6 && (strchr(req->ip6, '/') || !ip_ok(req->ip6) || !strchr(req->ip6, ':')))
		return cell_error_set(err, "invalid --ip6 `%s`: expected an IPv6 address", req->ip6);
	if (req->mac_address && (cell_mac_parse(req->mac_address, mac) < 0 || (mac[0] & 1) ||
				 !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])))
		return cell_error_set(err, "invalid --mac-address `%s`: expected a unicast MAC xx:xx:xx:xx:xx:xx",
				      req->mac_address);
	for (char **it = req->dns; it && *it; it++)
		if (!ip_ok(*it))
			return cell_error_set(err, "invalid --dns `%s`: expected an IP address", *it);
	for (char **it = req->dns_search; it && *it; it++)
		if (!streq(*it, ".") && !dns_name_ok(*it))
			return cell_error_set(err, "invalid --dns-search `%s`: expected a domain name", *it);
	for (char **it = req->dns_options; it && *it; it++)
		if (!**it || strpbrk(*it, " \t\n"))
			return cell_error_set(err, "invalid --dns-option `%s`: one option without spaces (ndots:2)", *it);
	for (char **it = req->add_hosts; it && *it; it++) {
		/* NAME:IP or NAME=IP, the IP possibly IPv6 (split at the first) */
		size_t k = strcspn(*it, ":=");
		_cleanup_free_ char *name = strndup(*it, k);
		const char *ip = (*it)[k] ? *it + k + 1 : "";
		if (!dns_name_ok(name) || (!streq(ip, "host-gateway") && !ip_ok(ip)))
			return cell_error_set(err, "invalid --add-host `%s`: expected NAME:IP (IP an address or "
					      "host-gateway)", *it);
	}
	for (char **it = req->network_aliases; it && *it; it++)
		if (!dns_name_ok(*it))
			return cell_error_set(err, "invalid --network-alias `%s`: expected a host name", *it);
	if (req->netns_name && (!*req->netns_name || strlen(req->netns_name) > 200 || strchr(req->netns_name, '/') ||
				streq(req->netns_name, ".") || streq(req->netns_name, "..")))
		return cell_error_set(err, "invalid --netns-name `%s`: 1-200 characters without '/'", req->netns_name);
	return 0;
}

/* ---- the whole document ---- */

static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap", NULL,
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_object *default_mounts(const struct cell_run_request *req, const char *cdir)
{
	static const char *const proc_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const dev_o[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts_o[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
					     "gid=5", NULL };
	static const char *const sys_ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rw[] = { "nosuid", "noexec", "nodev", "rw", NULL };
	static const char *const shm_o[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const mq_o[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const cg_o[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	static const char *const file_o[] = { "rbind", "rprivate", NULL };
	json_object *a = json_object_new_array();
	json_object_array_add(a, mount_obj("/proc", "proc", "proc", proc_o));
	json_object_array_add(a, mount_obj("/dev", "tmpfs", "tmpfs", dev_o));
	json_object_array_add(a, mount_obj("/dev/pts", "devpts", "devpts", pts_o));
	json_object_array_add(a, mount_obj("/sys", "sysfs", "sysfs", req->privileged ? sys_rw : sys_ro));
	json_object_array_add(a, mount_obj("/sys/fs/cgroup", "cgroup", "cgroup", cg_o));
	json_object_array_add(a, mount_obj("/dev/mqueue", "mqueue", "mqueue", mq_o));
	json_object_array_add(a, mount_obj("/dev/shm", "tmpfs", "shm", shm_o));
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *src = xasprintf("%s/%s", cdir, files[i]);
		_cleanup_free_ char *dst = xasprintf("/etc/%s", files[i]);
		json_object_array_add(a, mount_obj(dst, "bind", src, file_o));
	}
	return a;
}

/* cell-init beside the running `cell` (installed next to it, as docker-init
 * is next to docker), or where the build tree puts it. */
int engine_init_find(char **ret, cell_error **err)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return cell_error_errno(err, errno, "--init: read `/proc/self/exe` to find cell-init beside cell");
	self[n] = 0;
	/* rebuilt or reinstalled while we ran: the new file is beside the old name */
	static const char deleted[] = " (deleted)";
	size_t l = strlen(self), d = sizeof(deleted) - 1;
	if (l > d && streq(self + l - d, deleted))
		self[l - d] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	static const char *const rel[] = { "cell-init", "src/init/cell-init", "../libexec/cell/cell-init" };
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		char *p = xasprintf("%s/%s", self, rel[i]);
		if (access(p, X_OK) == 0) {
			*ret = p;
			return 0;
		}
		free(p);
	}
	return cell_error_set(err, "--init: no executable `cell-init` in `%s` (it is installed beside cell; "
			      "reinstall cell or build it with ninja)", self);
}

static json_object *namespaces(const char *network)
{
	static const char *const ns[] = { "pid", "ipc", "uts", "mount", "network", "cgroup" };
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		if (streq(ns[i], "network") && streq(network, "host"))
			continue;
		/* container:X joins X's netns: the path is set at each start (X's pid) */
		if (streq(ns[i], "network") && net_is_container(network)) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "type", json_object_new_string("network"));
			json_object_object_add(o, "path", json_object_new_string(""));
			json_object_array_add(a, o);
			continue;
		}
		/* Docker's default: a private cgroup namespace on cgroup v2 only */
		if (streq(ns[i], "cgroup") && access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(ns[i]));
		json_object_array_add(a, o);
	}
	return a;
}

static int process_args(const struct cell_run_request *req, const struct cell_image_config *ic, char ***ret_ep,
			char ***ret_cmd, cell_error **err)
{
	char **ep = NULL, **cmd = NULL;
	if (req->entrypoint_set) {
		if (req->entrypoint && *req->entrypoint) {
			ep = xcalloc(2, sizeof(char *));
			ep[0] = xstrdup(req->entrypoint);
		}
	} else if (ic->entrypoint) {
		ep = xcalloc(strv_len(ic->entrypoint) + 1, sizeof(char *));
		for (size_t i = 0; ic->entrypoint[i]; i++)
			ep[i] = xstrdup(ic->entrypoint[i]);
	}
	char *const *src = req->cmd && req->cmd[0] ? req->cmd : (req->entrypoint_set ? NULL : ic->cmd);
	if (src) {
		cmd = xcalloc(strv_len((char **)src) + 1, sizeof(char *));
		for (size_t i = 0; src[i]; i++)
			cmd[i] = xstrdup(src[i]);
	}
	if (strv_len(ep) + strv_len(cmd) == 0) {
		strv_free(ep);
		strv_free(cmd);
		return cell_error_set(err, "no command specified: the image has no Cmd or Entrypoint, give one "
				      "after the image name");
	}
	*ret_ep = ep;
	*ret_cmd = cmd;
	return 0;
}

int engine_spec_build(const struct cell_run_request *req, const struct cell_image *img, const char *id,
		      const char *cdir, struct engine_spec *ret, cell_error **err)
{
	const struct cell_image_config *ic = &img->config;
	_cleanup_strv_ char **env = NULL, **caps = NULL, **ep = NULL, **cmd = NULL;
	json_object *resources = NULL, *rlimits = NULL, *mounts = NULL;
	struct secopts sec = { 0 };
	_cleanup_strv_ char **nets = NULL;
	__attribute__((cleanup(json_putp))) json_object *net_opts = NULL;
	const char *network;
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", cdir);
	_cleanup_free_ char *cgpath = cell_engine_systemd_cgroup ? xasprintf("machine.slice:cell:%s", id)
							       : xasprintf("/cell/%s", id);

	if (engine_networks_parse(req, &nets, &net_opts, err) < 0 || net_flags_check(req, nets, err) < 0)
		return -1;
	/* --ip and friends are the first network's: not twice */
	if (json_object_object_get(net_opts, nets[0]) &&
	    (req->ip || req->ip6 || req->mac_address || (req->network_aliases && req->network_aliases[0])))
		return cell_error_set(err, "conflicting options: --ip, --ip6, --mac-address or --network-alias, and "
				      "options in --network name=%s,... (give them in one place)", nets[0]);
	network = nets[0];
	_cleanup_free_ char *init_bin = NULL;
	if (req->init && engine_init_find(&init_bin, err) < 0)
		return -1;
	struct engine_userns userns;
	if (engine_userns_check(req, network, &userns, err) < 0)
		return -1;
	if (req->hostname && (strlen(req->hostname) > 63 || !*req->hostname))
		return cell_error_set(err, "invalid --hostname `%s`: 1 to 63 characters", req->hostname);
	if (req->workdir && req->workdir[0] != '/')
		return cell_error_set(err, "invalid -w `%s`: the working directory must be absolute", req->workdir);
	if (process_args(req, ic, &ep, &cmd, err) < 0)
		return -1;

	env = xcalloc(1, sizeof(char *));
	for (size_t i = 0; ic->env && ic->env[i]; i++)
		env_set(&env, ic->env[i]);
	if (!env_has(env, "PATH"))
		env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	_cleanup_free_ char *host = xstrdup(req->hostname ? req->hostname : "");
	if (!*host) {
		free(host);
		host = strndup(id, 12);
	}
	_cleanup_free_ char *hn = xasprintf("HOSTNAME=%s", host);
	env_set(&env, hn);
	if (req->tty)
		env_set(&env, "TERM=xterm");
	for (size_t i = 0; req->env_files && req->env_files[i]; i++)
		if (env_file(&env, req->env_files[i], err) < 0)
			return -1;
	for (size_t i = 0; req->env && req->env[i]; i++)
		if (env_add_flag(&env, "-e", req->env[i], err) < 0)
			return -1;
	if (caps_build(req, &caps, err) < 0)
		return -1;
	if (secopts_parse(req, &sec, err) < 0)
		goto fail;
	if (resources_build(req, &resources, err) < 0)
		goto fail;
	rlimits = json_object_new_array();
	/* without --ulimit the container inherits ours, as Docker's inherit the daemon's */
	for (size_t i = 0; req->ulimits && req->ulimits[i]; i++) {
		json_object *u = NULL;
		if (cell_ulimit_parse(req->ulimits[i], &u, err) < 0)
			goto fail;
		json_object_array_add(rlimits, u);
	}
	mounts = default_mounts(req, cdir);
	for (size_t i = 0; req->volumes && req->volumes[i]; i++) {
		json_object *m = NULL;
		if (cell_volume_parse(req->volumes[i], &m, err) < 0)
			goto fail;
		json_object_array_add(mounts, m);
	}
	for (size_t i = 0; req->mounts && req->mounts[i]; i++) {
		json_object *m = NULL;
		if (cell_mount_flag_parse(req->mounts[i], &m, err) < 0)
			goto fail;
		json_object_array_add(mounts, m);
	}
	for (size_t i = 0; req->tmpfs && req->tmpfs[i]; i++) {
		_cleanup_free_ char *spec = NULL;
		const char *colon = strchr(req->tmpfs[i], ':');
		if (colon)
			spec = xasprintf("type=tmpfs,target=%.*s", (int)(colon - req->tmpfs[i]), req->tmpfs[i]);
		else
			spec = xasprintf("type=tmpfs,target=%s", req->tmpfs[i]);
		json_object *m = NULL;
		if (cell_mount_flag_parse(spec, &m, err) < 0)
			goto fail;
		json_object_array_add(mounts, m);
	}
	if (req->stop_signal && signal_parse(req->stop_signal) <= 0) {
		cell_error_set(err, "invalid --stop-signal `%s`: not a signal name or number", req->stop_signal);
		goto fail;
	}

	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "ociVersion", json_object_new_string("1.0.2"));
	json_object *proc = json_object_new_object();
	json_object_object_add(proc, "terminal", json_object_new_boolean(req->tty));
	json_object *user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(proc, "user", user);
	json_object *args = json_object_new_array();
	if (init_bin) {
		/* Docker's `docker-init -- CMD`: the init is bound last, over any volume */
		static const char *const init_o[] = { "bind", "ro", "nosuid", "nodev", NULL };
		json_object_array_add(args, json_object_new_string(ENGINE_INIT_DEST));
		json_object_array_add(args, json_object_new_string("--"));
		json_object_array_add(mounts, mount_obj(ENGINE_INIT_DEST, "bind", init_bin, init_o));
	}
	for (size_t i = 0; ep && ep[i]; i++)
		json_object_array_add(args, json_object_new_string(ep[i]));
	for (size_t i = 0; cmd && cmd[i]; i++)
		json_object_array_add(args, json_object_new_string(cmd[i]));
	json_object_object_add(proc, "args", args);
	json_object_object_add(proc, "env", jstrv(env));
	const char *cwd = req->workdir ? req->workdir : (ic->working_dir && *ic->working_dir ? ic->working_dir : "/");
	json_object_object_add(proc, "cwd", json_object_new_string(cwd));
	json_object_object_add(proc, "capabilities", caps_json(caps));
	json_object_object_add(proc, "rlimits", rlimits);
	rlimits = NULL;
	json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(sec.nnp));
	json_object_object_add(doc, "process", proc);

	json_object *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(req->read_only));
	json_object_object_add(doc, "root", root);
	json_object_object_add(doc, "hostname", json_object_new_string(host));
	json_object_object_add(doc, "mounts", mounts);
	mounts = NULL;

	json_object *linux_ = json_object_new_object();
	json_object_object_add(linux_, "namespaces", namespaces(network));
	json_object_object_add(linux_, "resources", resources);
	resources = NULL;
	json_object_object_add(linux_, "cgroupsPath", json_object_new_string(cgpath));
	if (!req->privileged) {
		json_object_object_add(linux_, "maskedPaths", jcstrv(masked_paths));
		json_object_object_add(linux_, "readonlyPaths", jcstrv(readonly_paths));
	}
	json_object *seccomp = NULL;
	if (sec.seccomp && !req->privileged)
		seccomp = json_object_get(sec.seccomp);
	else if (ENGINE_DEFAULT_SECCOMP && !sec.seccomp_unconfined && !req->privileged)
		seccomp = engine_default_seccomp(caps);
	if (seccomp)
		json_object_object_add(linux_, "seccomp", seccomp);
	json_object_object_add(doc, "linux", linux_);

	memset(ret, 0, sizeof(*ret));
	ret->doc = doc;
	ret->userns = userns;
	ret->hostname = TAKE_PTR(host);
	ret->entrypoint = TAKE_PTR(ep);
	ret->cmd = TAKE_PTR(cmd);
	ret->env = TAKE_PTR(env);
	ret->network = network;
	ret->networks = TAKE_PTR(nets);
	ret->net_opts = TAKE_PTR(net_opts);
	json_object_put(sec.seccomp);
	return 0;
fail:
	json_object_put(sec.seccomp);
	json_object_put(resources);
	json_object_put(rlimits);
	json_object_put(mounts);
	return -1;
}

void engine_spec_clear(struct engine_spec *s)
{
	json_object_put(s->doc);
	free(s->hostname);
	strv_free(s->entrypoint);
	strv_free(s->cmd);
	strv_free(s->env);
	strv_free(s->networks);
	json_object_put(s->net_opts);
	memset(s, 0, sizeof(*s));
}

/* ---- users ---- */

/* The image's /etc/passwd and /etc/group are hostile input: read inside the
 * rootfs (a symlink to a host file, /dev/zero or a fifo is refused, not
 * followed), bounded, then parsed by libc from memory. */
#define ETC_FILE_MAX (8u << 20)

struct etc_file {
	char *text;
	FILE *f;	/* NULL when the image has no such file (or it is empty) */
};

static void etc_file_done(struct etc_file *e)
{
	if (e->f)
		fclose(e->f);
	free(e->text);
}

static int etc_file_open(const char *rootfs, const char *file, struct etc_file *ret, cell_error **err)
{
	size_t len = 0;
	*ret = (struct etc_file){ 0 };
	int r = read_in_root_path(rootfs, file, ETC_FILE_MAX, &ret->text, &len, err);
	if (r == -ENOENT) {
		cell_error_free(err);
		return 0;
	}
	if (r < 0)
		return cell_error_wrap(err, "read the image's `%s`", file);
	if (len == 0)
		return 0;
	ret->f = fmemopen(ret->text, len, "r");
	if (!ret->f)
		return cell_error_errno(err, errno, "read the image's `%s`", file);
	return 0;
}

static int lookup_passwd(const char *rootfs, const char *name, bool numeric, uint32_t uid_in, uint32_t *uid,
			 uint32_t *gid, char **ret_name, bool *found, cell_error **err)
{
	__attribute__((cleanup(etc_file_done))) struct etc_file e = { 0 };
	*found = false;
	if (etc_file_open(rootfs, "/etc/passwd", &e, err) < 0)
		return -1;
	struct passwd *pw;
	while (e.f && (pw = fgetpwent(e.f))) {
		if (numeric ? pw->pw_uid == uid_in : streq(pw->pw_name, name)) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			*ret_name = xstrdup(pw->pw_name);
			*found = true;
			return 0;
		}
	}
	return 0;
}

static int lookup_group(const char *rootfs, const char *name, uint32_t *gid, bool *found, cell_error **err)
{
	__attribute__((cleanup(etc_file_done))) struct etc_file e = { 0 };
	*found = false;
	if (etc_file_open(rootfs, "/etc/group", &e, err) < 0)
		return -1;
	struct group *gr;
	while (e.f && (gr = fgetgrent(e.f))) {
		if (streq(gr->gr_name, name)) {
			*gid = gr->gr_gid;
			*found = true;
			return 0;
		}
	}
	return 0;
}

static int supplementary_gids(const char *rootfs, const char *user, uint32_t primary, json_object **ret,
			      cell_error **err)
{
	__attribute__((cleanup(etc_file_done))) struct etc_file e = { 0 };
	*ret = json_object_new_array();
	if (!user)
		return 0;
	if (etc_file_open(rootfs, "/etc/group", &e, err) < 0)
		return -1;
	struct group *gr;
	while (e.f && (gr = fgetgrent(e.f))) {
		if (gr->gr_gid == primary)
			continue;
		for (char **m = gr->gr_mem; m && *m; m++)
			if (streq(*m, user)) {
				json_object_array_add(*ret, json_object_new_int64(gr->gr_gid));
				break;
			}
	}
	return 0;
}

int engine_user_resolve(const char *rootfs, const char *spec, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *u = xstrdup(spec && *spec ? spec : "0");
	char *g = strchr(u, ':');
	if (g)
		*g++ = 0;
	uint32_t uid = 0, gid = 0;
	uint64_t v;
	bool found = false;
	_cleanup_free_ char *name = NULL;
	bool numeric = parse_uint64(u, &v) == 0;
	if (numeric && v > UINT32_MAX - 1)
		return cell_error_set(err, "invalid user `%s`: uid out of range", spec);
	if (lookup_passwd(rootfs, u, numeric, (uint32_t)v, &uid, &gid, &name, &found, err) < 0)
		return cell_error_wrap(err, "user `%s`", u);
	if (!found) {
		if (!numeric)
			return cell_error_set(err, "unable to find user `%s`: no matching entry in the image's "
					      "/etc/passwd", u);
		uid = (uint32_t)v;
		gid = 0;
	}
	if (g && *g) {
		if (parse_uint64(g, &v) == 0 && v < UINT32_MAX) {
			gid = (uint32_t)v;
		} else {
			if (lookup_group(rootfs, g, &gid, &found, err) < 0)
				return cell_error_wrap(err, "group `%s`", g);
			if (!found)
				return cell_error_set(err, "unable to find group `%s`: no matching entry in the image's "
						      "/etc/group", g);
		}
	}
	json_object *extra = NULL;
	if (supplementary_gids(rootfs, name, gid, &extra, err) < 0) {
		json_object_put(extra);
		return cell_error_wrap(err, "supplementary groups of `%s`", name);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "uid", json_object_new_int64(uid));
	json_object_object_add(o, "gid", json_object_new_int64(gid));
	if (json_object_array_length(extra))
		json_object_object_add(o, "additionalGids", extra);
	else
		json_object_put(extra);
	*ret = o;
	return 0;
}

int engine_spec_set_user(json_object *doc, const char *rootfs, const char *user, cell_error **err)
{
	json_object *u = NULL;
	if (engine_user_resolve(rootfs, user, &u, err) < 0)
		return -1;
	json_object_object_add(json_object_object_get(doc, "process"), "user", u);
	return 0;
}
