/* The systemd cgroup driver (`cell-runtime --systemd-cgroup`), as runc's:
 *
 *   cgroupsPath "slice:prefix:name"  ->  unit "prefix-name.scope" in "slice"
 *
 *   create (before the init is cloned)   parse the path and resources, load
 *                                        libsystemd, connect to the bus
 *   enter (the init's pid)               StartTransientUnit(Delegate=yes,
 *                                        PIDs=[pid], resources as
 *                                        properties), wait for the job's
 *                                        JobRemoved; then every resource
 *                                        written to the scope's files as
 *                                        cgroupfs v2 does (runc does both)
 *   update                               SetUnitProperties + the files
 *   pause, kill --all, stats             the scope's cgroup directly
 *   destroy                              cgroup.kill, StopUnit (wait for the
 *                                        job), ResetFailedUnit
 *
 * The init is cloned before the scope exists (systemd needs a pid to put in
 * it), so clone_fd() finds no directory and the runtime moves it with
 * cell_cgroup_enter(), which starts the unit.
 *
 * libsystemd is dlopen()ed here only: a cgroupfs run never maps it. Drives
 * cgroup v2 (unified) hosts; systemd on hybrid and legacy is refused with a
 * message saying so. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "cgroup-internal.h"
#include "dl.h"
#include "json.h"
#include "util.h"

/* ---- libsystemd, dlopen()ed (dl.h) ---- */

#define SD_SYMS(X) \
	X(sd_bus_call) \
	X(sd_bus_call_method) \
	X(sd_bus_error_free) \
	X(sd_bus_error_has_name) \
	X(sd_bus_flush_close_unref) \
	X(sd_bus_match_signal) \
	X(sd_bus_message_append) \
	X(sd_bus_message_append_array) \
	X(sd_bus_message_close_container) \
	X(sd_bus_message_new_method_call) \
	X(sd_bus_message_open_container) \
	X(sd_bus_message_read) \
	X(sd_bus_message_unref) \
	X(sd_bus_open_system) \
	X(sd_bus_process) \
	X(sd_bus_slot_unref) \
	X(sd_bus_wait)

SD_SYMS(CELL_DLSYM_PROTOTYPE_X)
SD_SYMS(CELL_DLSYM_DEFINE_X)

/* call sites keep the library's names */
#define sd_bus_call sym_sd_bus_call
#define sd_bus_call_method sym_sd_bus_call_method
#define sd_bus_error_free sym_sd_bus_error_free
#define sd_bus_error_has_name sym_sd_bus_error_has_name
#define sd_bus_flush_close_unref sym_sd_bus_flush_close_unref
#define sd_bus_match_signal sym_sd_bus_match_signal
#define sd_bus_message_append sym_sd_bus_message_append
#define sd_bus_message_append_array sym_sd_bus_message_append_array
#define sd_bus_message_close_container sym_sd_bus_message_close_container
#define sd_bus_message_new_method_call sym_sd_bus_message_new_method_call
#define sd_bus_message_open_container sym_sd_bus_message_open_container
#define sd_bus_message_read sym_sd_bus_message_read
#define sd_bus_message_unref sym_sd_bus_message_unref
#define sd_bus_open_system sym_sd_bus_open_system
#define sd_bus_process sym_sd_bus_process
#define sd_bus_slot_unref sym_sd_bus_slot_unref
#define sd_bus_wait sym_sd_bus_wait

static int dl_systemd(cell_error **err)
{
	static void *handle;
	static const struct cell_dl_sym syms[] = { SD_SYMS(CELL_DLSYM) };
	return cell_dlopen_many(&handle, "libsystemd.so.0", "libsystemd0", syms, ARRAY_SIZE(syms), err);
}

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_US (60ULL * 1000000)

struct cg_systemd {
	char *unit, *slice;
	bool started;			/* the unit was started (or came from state.json) */
	struct cg_resources res;	/* create -> enter */
	bool has_res;
	struct cg_sd_props extra;	/* org.systemd.property.* annotations */
	sd_bus *bus;
};

/* ---- pure parts (unit-tested) ---- */

int cg_sd_expand_slice(const char *slice, char **ret, cell_error **err)
{
	/* runc's ExpandSlice: "a-b.slice" is a.slice/a-b.slice */
	size_t n = strlen(slice);
	if (n <= 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
		return cell_error_set(err, "invalid slice name `%s`: a systemd slice ends in .slice and has no `/`",
				      slice);
	_cleanup_free_ char *base = strndup(slice, n - 6);
	if (streq(base, "-")) {
		*ret = xstrdup("/");
		return 0;
	}
	size_t bl = strlen(base);
	if (base[0] == '-' || base[bl - 1] == '-' || strstr(base, "--"))
		return cell_error_set(err, "invalid slice name `%s`: `-` separates nested slices and cannot "
				      "begin or end the name or come twice", slice);
	_cleanup_free_ char *path = xstrdup("");
	for (const char *p = base;; p++) {
		if (*p != '-' && *p != '\0')
			continue;
		char *nx = xasprintf("%s/%.*s.slice", path, (int)(p - base), base);
		free(path);
		path = nx;
		if (!*p)
			break;
	}
	*ret = TAKE_PTR(path);
	return 0;
}

void cg_sd_path_clear(struct cg_sd_path *p)
{
	free(p->slice);
	free(p->unit);
	free(p->dir);
	*p = (struct cg_sd_path){ 0 };
}

int cg_sd_parse_path(const char *id, const char *cgroups_path, struct cg_sd_path *ret, cell_error **err)
{
	_cleanup_free_ char *slice = NULL, *prefix = NULL, *name = NULL;
	if (!cgroups_path || !*cgroups_path) {
		/* runc's default is system.slice:runc:<id> */
		slice = xstrdup("system.slice");
		prefix = xstrdup("cell");
		name = xstrdup(id ? id : "");
	} else {
		const char *c1 = strchr(cgroups_path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || strchr(c2 + 1, ':'))
			return cell_error_set(err, "linux.cgroupsPath `%s`: expected \"slice:prefix:name\" with "
					      "--systemd-cgroup (e.g. \"system.slice:cell:ID\")", cgroups_path);
		slice = strndup(cgroups_path, (size_t)(c1 - cgroups_path));
		prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		name = xstrdup(c2 + 1);
		if (!*slice) {
			free(slice);
			slice = xstrdup("system.slice");
		}
	}
	if (!*name)
		return cell_error_set(err, "linux.cgroupsPath `%s`: the name part is empty",
				      cgroups_path ? cgroups_path : "");
	if (strchr(prefix, '/') || strchr(name, '/'))
		return cell_error_set(err, "linux.cgroupsPath `%s`: a unit name cannot contain `/`", cgroups_path);
	size_t nl = strlen(name);
	if (nl > 6 && streq(name + nl - 6, ".slice"))
		return cell_error_set(err, "linux.cgroupsPath `%s`: a name ending in .slice (a slice of the "
				      "container's own) is not supported; give a scope name", cgroups_path);
	_cleanup_free_ char *sdir = NULL;
	if (cg_sd_expand_slice(slice, &sdir, err) < 0)
		return cell_error_wrap(err, "linux.cgroupsPath `%s`", cgroups_path ? cgroups_path : "");
	ret->unit = *prefix ? xasprintf("%s-%s.scope", prefix, name) : xasprintf("%s.scope", name);
	ret->dir = xasprintf("%s/%s", streq(sdir, "/") ? "" : sdir, ret->unit);
	ret->slice = TAKE_PTR(slice);
	return 0;
}

void cg_sd_props_clear(struct cg_sd_props *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].s);
		free(p->v[i].bytes);
	}
	free(p->v);
	*p = (struct cg_sd_props){ 0 };
}

static struct cg_sd_prop *prop_add(struct cg_sd_props *p, const char *name, char type)
{
	p->v = realloc(p->v, (p->n + 1) * sizeof(*p->v));
	if (!p->v)
		abort();
	struct cg_sd_prop *x = &p->v[p->n++];
	*x = (struct cg_sd_prop){ .name = xstrdup(name), .type = type };
	return x;
}

static void prop_u64(struct cg_sd_props *p, const char *name, uint64_t v)
{
	prop_add(p, name, 't')->u = v;
}

static void prop_bool(struct cg_sd_props *p, const char *name, bool v)
{
	prop_add(p, name, 'b')->b = v;
}

const struct cg_sd_prop *cg_sd_props_find(const struct cg_sd_props *p, const char *name)
{
	for (size_t i = p->n; i-- > 0;)
		if (streq(p->v[i].name, name))
			return &p->v[i];
	return NULL;
}

int cg_sd_cpuset_bits(const char *list, uint8_t **ret, size_t *ret_n, cell_error **err)
{
	_cleanup_free_ uint8_t *bits = NULL;
	size_t n = 0;
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\n')
			t++;
		if (!*t)
			continue;
		char *dash = strchr(t, '-');
		uint64_t a, b;
		if (dash)
			*dash = '\0';
		if (parse_uint64(t, &a) < 0 || (dash ? parse_uint64(dash + 1, &b) : (b = a, 0)) < 0 || b < a ||
		    b >= 8192)
			return cell_error_set(err, "cpu list `%s`: expected ranges like 0-3,7 (below 8192)", list);
		if (b / 8 + 1 > n) {
			bits = realloc(bits, b / 8 + 1);
			if (!bits)
				abort();
			memset(bits + n, 0, b / 8 + 1 - n);
			n = b / 8 + 1;
		}
		for (uint64_t c = a; c <= b; c++)
			bits[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	if (n == 0)
		return cell_error_set(err, "cpu list `%s` is empty", list);
	*ret = TAKE_PTR(bits);
	*ret_n = n;
	return 0;
}

static int prop_bits(struct cg_sd_props *p, const char *name, const char *list, const char *field,
		     cell_error **err)
{
	uint8_t *bits;
	size_t n;
	if (cg_sd_cpuset_bits(list, &bits, &n, err) < 0)
		return cell_error_wrap(err, "linux.resources.cpu.%s", field);
	struct cg_sd_prop *x = prop_add(p, name, 'B');
	x->bytes = bits;
	x->n_bytes = n;
	return 0;
}

static uint64_t limit_u64(int64_t v)
{
	return v < 0 ? UINT64_MAX : (uint64_t)v;	/* -1: infinity */
}

int cg_sd_resource_props(const struct cg_resources *r, struct cg_sd_props *p, cell_error **err)
{
	if (r->mem.has_limit && r->mem.limit != 0)
		prop_u64(p, "MemoryMax", limit_u64(r->mem.limit));
	if (r->mem.has_reservation && r->mem.reservation != 0)
		prop_u64(p, "MemoryLow", limit_u64(r->mem.reservation));
	int64_t swap = 0;
	cell_error *e = NULL;
	if (cg_swap_v1_to_v2(r->mem.swap, r->mem.has_swap, r->mem.limit, r->mem.has_limit, &swap, &e) < 0)
		cell_error_free(&e);	/* the file writer says it */
	else if (swap != 0)
		prop_u64(p, "MemorySwapMax", limit_u64(swap));
	if (r->cpu.has_shares && r->cpu.shares)
		prop_u64(p, "CPUWeight", cg_shares_to_weight(r->cpu.shares));
	uint64_t period = r->cpu.has_period ? r->cpu.period : 0;
	int64_t quota = r->cpu.has_quota ? r->cpu.quota : 0;
	if (period)
		prop_u64(p, "CPUQuotaPeriodUSec", period);	/* systemd 242+ */
	if (quota != 0 || period != 0) {
		/* runc: systemd keeps CPUQuota as a whole percentage, so round
		 * up to 10 ms per second for cpu.max to be at least the asked */
		uint64_t per_sec = UINT64_MAX;
		if (quota > 0) {
			per_sec = (uint64_t)quota * 1000000 / (period ? period : 100000);
			if (per_sec % 10000)
				per_sec = (per_sec / 10000 + 1) * 10000;
		}
		prop_u64(p, "CPUQuotaPerSecUSec", per_sec);
	}
	if (r->has_pids && (r->pids > 0 || r->pids == -1))
		prop_u64(p, "TasksMax", limit_u64(r->pids));
	if (r->cpu.cpus && *r->cpu.cpus && prop_bits(p, "AllowedCPUs", r->cpu.cpus, "cpus", err) < 0)
		return -1;
	if (r->cpu.mems && *r->cpu.mems && prop_bits(p, "AllowedMemoryNodes", r->cpu.mems, "mems", err) < 0)
		return -1;
	if (r->blkio.has_weight && r->blkio.weight)
		prop_u64(p, "IOWeight", cg_blkio_to_io_weight(r->blkio.weight));
	return 0;
}

/* A GVariant text value, the subset runc's users write: true/false, a bare
 * integer (int32) or decimal (double), `TYPE N` for the integer types,
 * '...' or "..." without escapes. */
static int parse_variant(const char *v, struct cg_sd_prop *p)
{
	static const struct { const char *kw; char type; } kws[] = {
		{ "uint64", 't' }, { "uint32", 'u' }, { "uint16", 'q' }, { "byte", 'y' },
		{ "int64", 'x' }, { "int32", 'i' }, { "int16", 'n' }, { "double", 'd' },
		{ "@t", 't' }, { "@u", 'u' }, { "@q", 'q' }, { "@y", 'y' },
		{ "@x", 'x' }, { "@i", 'i' }, { "@n", 'n' }, { "@d", 'd' },
	};
	while (*v == ' ')
		v++;
	size_t n = strlen(v);
	while (n && v[n - 1] == ' ')
		n--;
	if (n == 4 && strncmp(v, "true", 4) == 0)
		return p->type = 'b', p->b = true, 0;
	if (n == 5 && strncmp(v, "false", 5) == 0)
		return p->type = 'b', p->b = false, 0;
	if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
		if (memchr(v + 1, '\\', n - 2) || memchr(v + 1, v[0], n - 2))
			return -1;
		p->type = 's';
		p->s = strndup(v + 1, n - 2);
		return 0;
	}
	char type = 0;
	for (size_t i = 0; i < ARRAY_SIZE(kws); i++) {
		size_t k = strlen(kws[i].kw);
		if (n > k && strncmp(v, kws[i].kw, k) == 0 && v[k] == ' ') {
			type = kws[i].type;
			v += k + 1;
			n -= k + 1;
			while (*v == ' ')
				v++, n--;
			break;
		}
	}
	_cleanup_free_ char *num = strndup(v, n);
	if (!*num)
		return -1;
	bool decimal = strpbrk(num, ".eE") && !strpbrk(num, "xX");
	if (!type)
		type = decimal ? 'd' : 'i';
	p->type = type;
	if (type == 'd') {
		char *end;
		errno = 0;
		p->d = strtod(num, &end);
		return *end || errno ? -1 : 0;
	}
	if (decimal)
		return -1;
	static const struct { char type; int64_t min; uint64_t max; } ranges[] = {
		{ 't', 0, UINT64_MAX }, { 'u', 0, UINT32_MAX }, { 'q', 0, UINT16_MAX }, { 'y', 0, UINT8_MAX },
		{ 'x', INT64_MIN, INT64_MAX }, { 'i', INT32_MIN, INT32_MAX }, { 'n', INT16_MIN, INT16_MAX },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		if (ranges[i].type != type)
			continue;
		if (ranges[i].min == 0) {
			uint64_t u;
			if (num[0] == '-' || parse_uint64(num, &u) < 0 || u > ranges[i].max)
				return -1;
			p->u = u;
		} else {
			int64_t x;
			if (parse_int64(num, &x) < 0 || x < ranges[i].min || (x > 0 && (uint64_t)x > ranges[i].max))
				return -1;
			p->x = x;
		}
		return 0;
	}
	return -1;
}

static bool valid_prop_name(const char *s)
{
	/* runc's isValidName: an upper-case letter, then letters */
	if (strlen(s) < 3 || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (const char *c = s + 1; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z')))
			return false;
	return true;
}

/* runc's convertSecToUSec: numbers only, in seconds, to a uint64 of µs */
static int sec_to_usec(struct cg_sd_prop *p)
{
	double us;
	switch (p->type) {
	case 't': case 'u': case 'q': case 'y': us = (double)p->u * 1e6; break;
	case 'x': case 'i': case 'n': us = (double)p->x * 1e6; break;
	case 'd': us = p->d * 1e6; break;
	default: return -1;
	}
	if (us < 0 || us >= 18446744073709551615.0)
		return -1;
	p->type = 't';
	p->u = (uint64_t)us;
	return 0;
}

#define ANNOTATION "org.systemd.property."

int cg_sd_annotation_props(json_object *annotations, struct cg_sd_props *p, cell_error **err)
{
	if (!annotations || !json_object_is_type(annotations, json_type_object))
		return 0;
	json_object_object_foreach(annotations, key, val) {
		if (strncmp(key, ANNOTATION, strlen(ANNOTATION)) != 0)
			continue;
		const char *name = key + strlen(ANNOTATION);
		const char *v = json_object_get_string(val);
		if (!valid_prop_name(name))
			return cell_error_set(err, "annotation `%s`: `%s` is not a systemd property name "
					      "(an upper-case letter, then letters)", key, name);
		struct cg_sd_prop tmp = { 0 };
		if (!v || parse_variant(v, &tmp) < 0) {
			free(tmp.s);
			return cell_error_set(err, "annotation `%s` = `%s`: not a value cell understands (GVariant "
					      "text: true, false, 42, uint64 42, 'text')", key, v ? v : "");
		}
		_cleanup_free_ char *pname = xstrdup(name);
		size_t nl = strlen(name);
		/* runc: a name ending in lower-case letter + "Sec" is in seconds */
		if (nl > 3 && streq(name + nl - 3, "Sec") && name[nl - 4] >= 'a' && name[nl - 4] <= 'z') {
			if (sec_to_usec(&tmp) < 0) {
				free(tmp.s);
				return cell_error_set(err, "annotation `%s` = `%s`: a time in seconds must be a "
						      "non-negative number", key, v);
			}
			free(pname);
			pname = xasprintf("%.*sUSec", (int)(nl - 3), name);
		}
		struct cg_sd_prop *x = prop_add(p, pname, tmp.type);
		tmp.name = x->name;
		*x = tmp;
	}
	return 0;
}

/* ---- D-Bus ---- */

static int bus_error(cell_error **err, int r, const sd_bus_error *e, const char *fmt, const char *arg)
{
	if (e && e->message)
		return cell_error_set(err, "%s `%s`: %s", fmt, arg, e->message);
	return cell_error_errno(err, -r, "%s `%s`", fmt, arg);
}

static int bus_open(struct cg_systemd *sd, cell_error **err)
{
	if (sd->bus)
		return 0;
	if (access("/run/systemd/system", F_OK) != 0)
		return cell_error_set(err, "systemd is not running (no /run/systemd/system): --systemd-cgroup "
				      "needs systemd as init; run without it to use cgroupfs");
	if (dl_systemd(err) < 0)
		return -1;
	int r = sd_bus_open_system(&sd->bus);
	if (r < 0) {
		sd->bus = NULL;
		return cell_error_errno(err, -r, "connect to systemd over D-Bus (the system bus, "
					"/run/dbus/system_bus_socket: is dbus running?)");
	}
	/* JobRemoved goes to subscribed clients only */
	sd_bus_error e = SD_BUS_ERROR_NULL;
	if (sd_bus_call_method(sd->bus, SD_DEST, SD_PATH, SD_MGR, "Subscribe", &e, NULL, "") < 0) {
		cell_error_set(err, "subscribe to systemd's signals over D-Bus: %s",
			       e.message ? e.message : "no reply");
		sd_bus_error_free(&e);
		return -1;
	}
	sd_bus_error_free(&e);
	return 0;
}

struct job_wait {
	char *path;
	char *result;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_wait *w = userdata;
	uint32_t id;
	const char *path, *unit, *result;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->path && !w->result && streq(path, w->path))
		w->result = xstrdup(result);
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Call m (a method returning a job path) and wait for the job to finish.
 * 1: done; 0: no such unit (missing_ok); -1: error naming what and unit. */
static int call_job(struct cg_systemd *sd, sd_bus_message *m, const char *what, bool missing_ok,
		    cell_error **err)
{
	struct job_wait w = { 0 };
	sd_bus_slot *slot = NULL;
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = -1;
	int r = sd_bus_match_signal(sd->bus, &slot, NULL, SD_PATH, SD_MGR, "JobRemoved", on_job_removed, &w);
	if (r < 0) {
		cell_error_errno(err, -r, "%s `%s`: watch for JobRemoved", what, sd->unit);
		goto out;
	}
	r = sd_bus_call(sd->bus, m, 0, &e, &reply);
	if (r < 0) {
		if (missing_ok && (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit") ||
				   sd_bus_error_has_name(&e, "org.freedesktop.systemd1.LoadFailed"))) {
			rc = 0;
			goto out;
		}
		bus_error(err, r, &e, what, sd->unit);
		goto out;
	}
	const char *path;
	if ((r = sd_bus_message_read(reply, "o", &path)) < 0) {
		cell_error_errno(err, -r, "%s `%s`: read the job from systemd's reply", what, sd->unit);
		goto out;
	}
	w.path = xstrdup(path);
	uint64_t deadline = now_us() + JOB_TIMEOUT_US;
	while (!w.result) {
		r = sd_bus_process(sd->bus, NULL);
		if (r < 0) {
			cell_error_errno(err, -r, "%s `%s`: wait for the job %s", what, sd->unit, w.path);
			goto out;
		}
		if (r > 0)
			continue;
		uint64_t t = now_us();
		if (t >= deadline) {
			cell_error_set(err, "%s `%s`: job %s did not finish within %llus", what, sd->unit, w.path,
				       JOB_TIMEOUT_US / 1000000);
			goto out;
		}
		r = sd_bus_wait(sd->bus, deadline - t);
		if (r < 0 && r != -EINTR) {
			cell_error_errno(err, -r, "%s `%s`: wait for the job %s", what, sd->unit, w.path);
			goto out;
		}
	}
	if (!streq(w.result, "done")) {
		cell_error_set(err, "%s `%s`: the job ended `%s` (see `journalctl -u %s`)", what, sd->unit,
			       w.result, sd->unit);
		goto out;
	}
	rc = 1;
out:
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (slot)
		sd_bus_slot_unref(slot);
	free(w.path);
	free(w.result);
	return rc;
}

static int append_prop(sd_bus_message *m, const struct cg_sd_prop *p)
{
	int r;
	if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0 ||
	    (r = sd_bus_message_append(m, "s", p->name)) < 0)
		return r;
	switch (p->type) {
	case 't': r = sd_bus_message_append(m, "v", "t", p->u); break;
	case 'u': r = sd_bus_message_append(m, "v", "u", (uint32_t)p->u); break;
	case 'q': r = sd_bus_message_append(m, "v", "q", (int)(uint16_t)p->u); break;
	case 'y': r = sd_bus_message_append(m, "v", "y", (int)(uint8_t)p->u); break;
	case 'x': r = sd_bus_message_append(m, "v", "x", p->x); break;
	case 'i': r = sd_bus_message_append(m, "v", "i", (int32_t)p->x); break;
	case 'n': r = sd_bus_message_append(m, "v", "n", (int)(int16_t)p->x); break;
	case 'd': r = sd_bus_message_append(m, "v", "d", p->d); break;
	case 'b': r = sd_bus_message_append(m, "v", "b", (int)p->b); break;
	case 's': r = sd_bus_message_append(m, "v", "s", p->s); break;
	case 'B':
		if ((r = sd_bus_message_open_container(m, 'v', "ay")) >= 0 &&
		    (r = sd_bus_message_append_array(m, 'y', p->bytes, p->n_bytes)) >= 0)
			r = sd_bus_message_close_container(m);
		break;
	case 'P': r = sd_bus_message_append(m, "v", "au", 1, (uint32_t)p->u); break;
	default: r = -EINVAL;
	}
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_props(sd_bus_message *m, const struct cg_sd_props *p)
{
	int r = sd_bus_message_open_container(m, 'a', "(sv)");
	for (size_t i = 0; r >= 0 && i < p->n; i++)
		r = append_prop(m, &p->v[i]);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int new_call(struct cg_systemd *sd, const char *method, sd_bus_message **ret, cell_error **err)
{
	int r = sd_bus_message_new_method_call(sd->bus, ret, SD_DEST, SD_PATH, SD_MGR, method);
	if (r < 0)
		return cell_error_errno(err, -r, "build the D-Bus call %s for `%s`", method, sd->unit);
	return 0;
}

static int start_unit(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	struct cg_systemd *sd = cg->sd;
	struct cg_sd_props p = { 0 };
	sd_bus_message *m = NULL;
	int rc = -1, r;

	_cleanup_free_ char *desc = xasprintf("cell container %s", cg->id);
	prop_add(&p, "Description", 's')->s = xstrdup(desc);
	prop_add(&p, "Slice", 's')->s = xstrdup(sd->slice);
	prop_bool(&p, "Delegate", true);
	prop_add(&p, "PIDs", 'P')->u = (uint64_t)pid;
	prop_bool(&p, "MemoryAccounting", true);
	prop_bool(&p, "CPUAccounting", true);
	prop_bool(&p, "IOAccounting", true);
	prop_bool(&p, "TasksAccounting", true);
	prop_bool(&p, "DefaultDependencies", false);
	if (sd->has_res && cg_sd_resource_props(&sd->res, &p, err) < 0)
		goto out;
	for (size_t i = 0; i < sd->extra.n; i++) {	/* the annotations come last and win */
		struct cg_sd_prop *x = prop_add(&p, sd->extra.v[i].name, sd->extra.v[i].type), *y = &sd->extra.v[i];
		char *name = x->name;
		*x = *y;
		x->name = name;
		x->s = y->s ? xstrdup(y->s) : NULL;
		x->bytes = NULL;
	}
	if (new_call(sd, "StartTransientUnit", &m, err) < 0)
		goto out;
	if ((r = sd_bus_message_append(m, "ss", sd->unit, "replace")) < 0 || (r = append_props(m, &p)) < 0 ||
	    (r = sd_bus_message_append(m, "a(sa(sv))", 0)) < 0) {
		cell_error_errno(err, -r, "build the D-Bus call StartTransientUnit for `%s`", sd->unit);
		goto out;
	}
	if (call_job(sd, m, "start transient unit", false, err) < 0)
		goto out;
	rc = 0;
out:
	if (m)
		sd_bus_message_unref(m);
	cg_sd_props_clear(&p);
	return rc;
}

/* ---- the backend ---- */

static int sd_enter(struct cell_cgroup *cg, pid_t pid, cell_error **err)
{
	struct cg_systemd *sd = cg->sd;
	if (sd->started)
		return cg_enter_dirs(cg, pid, err);	/* exec: the scope exists */
	if (bus_open(sd, err) < 0 || start_unit(cg, pid, err) < 0)
		return -1;
	sd->started = true;
	/* systemd placed it: check it is where state.json says */
	_cleanup_free_ char *pc = NULL, *procp = xasprintf("/proc/%d/cgroup", (int)pid);
	if (read_file(procp, &pc, NULL, err) < 0)
		return -1;
	_cleanup_free_ char *now = cg_proc_path(pc, "");
	if (!now || !streq(now, cg->path))
		return cell_error_set(err, "unit `%s`: systemd put pid %d in cgroup `%s`, not `%s` (is this "
				      "systemd's cgroup namespace?)", sd->unit, (int)pid, now ? now : "?", cg->path);
	if (sd->has_res && cg_apply_all(cg, &sd->res, false, err) < 0)
		return cell_error_wrap(err, "unit `%s`", sd->unit);
	return 0;
}

static int sd_update(struct cell_cgroup *cg, const struct cg_resources *r, cell_error **err)
{
	struct cg_systemd *sd = cg->sd;
	struct cg_sd_props p = { 0 };
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = -1, k;
	if (bus_open(sd, err) < 0 || cg_sd_resource_props(r, &p, err) < 0)
		goto out;
	if (p.n) {
		if (new_call(sd, "SetUnitProperties", &m, err) < 0)
			goto out;
		if ((k = sd_bus_message_append(m, "sb", sd->unit, 1)) < 0 || (k = append_props(m, &p)) < 0) {
			cell_error_errno(err, -k, "build the D-Bus call SetUnitProperties for `%s`", sd->unit);
			goto out;
		}
		if ((k = sd_bus_call(sd->bus, m, 0, &e, &reply)) < 0) {
			bus_error(err, k, &e, "set properties of unit", sd->unit);
			goto out;
		}
	}
	rc = cg_apply_all(cg, r, true, err);
out:
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (m)
		sd_bus_message_unref(m);
	cg_sd_props_clear(&p);
	return rc;
}

static void sleep_10ms(void)
{
	struct timespec ts = { 0, 10000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool has_procs(const char *dir)
{
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, "cgroup.procs", &s, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	return *s != '\0';
}

static int sd_destroy(struct cell_cgroup *cg, cell_error **err)
{
	struct cg_systemd *sd = cg->sd;
	const char *dir = cg->n ? cg->d[0].dir : NULL;
	cell_error *e = NULL;
	/* kill first: StopUnit would SIGTERM and wait TimeoutStopSec */
	for (int i = 0; dir && i < 500 && has_procs(dir); i++) {
		if (i % 50 == 0 && cell_cgroup_kill(cg, SIGKILL, &e) < 0)
			cell_error_free(&e);
		sleep_10ms();
	}
	if (bus_open(sd, err) < 0) {
		if (dir && access(dir, F_OK) != 0) {
			cell_error_free(err);	/* nothing left anyway */
			return 0;
		}
		return cell_error_wrap(err, "stop unit `%s`", sd->unit);
	}
	sd_bus_message *m = NULL;
	int r;
	if (new_call(sd, "StopUnit", &m, err) < 0)
		return -1;
	if ((r = sd_bus_message_append(m, "ss", sd->unit, "replace")) < 0) {
		sd_bus_message_unref(m);
		return cell_error_errno(err, -r, "build the D-Bus call StopUnit for `%s`", sd->unit);
	}
	r = call_job(sd, m, "stop unit", true, err);
	sd_bus_message_unref(m);
	if (r < 0)
		return -1;
	/* a scope whose processes were killed may be left "failed" */
	sd_bus_error be = SD_BUS_ERROR_NULL;
	(void)sd_bus_call_method(sd->bus, SD_DEST, SD_PATH, SD_MGR, "ResetFailedUnit", &be, NULL, "s", sd->unit);
	sd_bus_error_free(&be);
	/* systemd removes the directory when the stop job ends; wait out the
	 * few ms it may take, then remove what a Delegate'd scope left below */
	for (int i = 0; dir && i < 200 && access(dir, F_OK) == 0; i++) {
		if (i == 100 && rmdir(dir) < 0 && errno != ENOENT && errno != EBUSY)
			return cell_error_errno(err, errno, "remove cgroup `%s` of unit `%s`", dir, sd->unit);
		sleep_10ms();
	}
	sd->started = false;
	return 0;
}

static int sd_freeze(struct cell_cgroup *cg, bool frozen, cell_error **err)
{
	return cg_backend_cgroupfs_v2.freeze(cg, frozen, err);
}

static int sd_is_frozen(struct cell_cgroup *cg, bool *ret, cell_error **err)
{
	return cg_backend_cgroupfs_v2.is_frozen(cg, ret, err);
}

static bool sd_can_freeze(const struct cell_cgroup *cg)
{
	return cg_backend_cgroupfs_v2.can_freeze(cg);
}

static int sd_kill_all(struct cell_cgroup *cg, int sig, cell_error **err)
{
	return cg_backend_cgroupfs_v2.kill_all(cg, sig, err);
}

static const char *sd_procs_dir(const struct cell_cgroup *cg)
{
	return cg_backend_cgroupfs_v2.procs_dir(cg);
}

const struct cg_backend_ops cg_backend_systemd = {
	.name = "systemd",
	.freeze = sd_freeze,
	.is_frozen = sd_is_frozen,
	.can_freeze = sd_can_freeze,
	.kill_all = sd_kill_all,
	.procs_dir = sd_procs_dir,
	.enter = sd_enter,
	.update = sd_update,
	.destroy = sd_destroy,
};

/* ---- creation and state ---- */

void cg_systemd_free(struct cg_systemd *sd)
{
	if (!sd)
		return;
	if (sd->bus)
		sd_bus_flush_close_unref(sd->bus);
	free(sd->unit);
	free(sd->slice);
	if (sd->has_res)
		cg_resources_clear(&sd->res);
	cg_sd_props_clear(&sd->extra);
	free(sd);
}

int cg_systemd_create(const char *id, const char *cgroups_path, json_object *resources,
		      struct cell_cgroup **ret, cell_error **err)
{
	const struct cg_layout *l;
	struct cg_sd_path sp = { 0 };
	struct cg_resources r;
	struct cg_sd_props check = { 0 };

	if (access("/run/systemd/system", F_OK) != 0)
		return cell_error_set(err, "systemd is not running (no /run/systemd/system): --systemd-cgroup "
				      "needs systemd as init; run without it to use cgroupfs");
	if (cg_layout_get(&l, err) < 0)
		return -1;
	if (l->mode != CELL_CGROUP_UNIFIED || l->v2 < 0)
		return cell_error_set(err, "--systemd-cgroup: this host's cgroups are %s; cell's systemd driver "
				      "drives cgroup v2 (unified) only: run without it to use cgroupfs",
				      cell_cgroup_mode_name(l->mode));
	if (cg_sd_parse_path(id, cgroups_path, &sp, err) < 0)
		return -1;
	if (cg_resources_parse(resources, &r, err) < 0) {
		cg_sd_path_clear(&sp);
		return -1;
	}
	cg_resources_add_default_devices(&r);
	/* the property values are checked before anything is cloned */
	int k = cg_sd_resource_props(&r, &check, err);
	cg_sd_props_clear(&check);
	if (k < 0) {
		cg_resources_clear(&r);
		cg_sd_path_clear(&sp);
		return -1;
	}

	struct cell_cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->mode = CELL_CGROUP_UNIFIED;
	cg->clone_fd = -1;
	cg->id = xstrdup(id ? id : "");
	cg->path = xstrdup(sp.dir);
	cg_add_dir(cg, "", l->h[l->v2].mount, cg_hier_dir(&l->h[l->v2], sp.dir), 0, true);
	cg->sd = xcalloc(1, sizeof(*cg->sd));
	cg->sd->unit = TAKE_PTR(sp.unit);
	cg->sd->slice = TAKE_PTR(sp.slice);
	cg->sd->res = r;
	cg->sd->has_res = true;
	cg_sd_path_clear(&sp);
	/* connect now: a missing bus fails before the init is cloned */
	if (bus_open(cg->sd, err) < 0) {
		cell_cgroup_free(cg);
		return -1;
	}
	*ret = cg;
	return 0;
}

int cg_systemd_set_annotations(struct cell_cgroup *cg, json_object *annotations, cell_error **err)
{
	return cg_sd_annotation_props(annotations, &cg->sd->extra, err);
}

json_object *cg_systemd_to_json(const struct cell_cgroup *cg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "unit", json_object_new_string(cg->sd->unit));
	json_object_object_add(o, "slice", json_object_new_string(cg->sd->slice));
	return o;
}

int cg_systemd_from_json(struct cell_cgroup *cg, json_object *o, cell_error **err)
{
	const char *unit = NULL, *slice = NULL;
	if (cj_expect_object(o, "cgroup.systemd", err) < 0 || cj_string(o, "unit", "cgroup.systemd", &unit, err) < 0 ||
	    cj_string(o, "slice", "cgroup.systemd", &slice, err) < 0)
		return -1;
	if (!unit || !slice || strchr(unit, '/') || cg->n != 1)
		return cell_error_set(err, "`cgroup.systemd`: a unit, its slice and one cgroup2 dir are required");
	cg->sd = xcalloc(1, sizeof(*cg->sd));
	cg->sd->unit = xstrdup(unit);
	cg->sd->slice = xstrdup(slice);
	cg->sd->started = true;
	return 0;
}
