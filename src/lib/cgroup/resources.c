/* linux.resources -> struct cg_resources, every value checked before any
 * cgroup is made, so that a bad spec leaves nothing behind; and the
 * conversions between the v1 and v2 interfaces, with runc's formulas so that
 * a container gets the same limits under cell as under runc. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "json.h"
#include "util.h"

#define CTX "linux.resources"

uint64_t cg_shares_to_weight(uint64_t shares)
{
	/* runc ConvertCPUSharesToCgroupV2Value: [2-262144] -> [1-10000] */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_to_io_weight(uint64_t w)
{
	/* runc ConvertBlkIOToIOWeightValue: [10-1000] -> [1-10000] */
	if (w == 0)
		return 0;
	if (w < 10)
		w = 10;
	return 1 + (w - 10) * 9999 / 990;
}

int cg_swap_v1_to_v2(int64_t memsw, bool has_swap, int64_t memory, bool has_memory,
		     int64_t *ret, cell_error **err)
{
	if (!has_memory)
		memory = 0;
	if (!has_swap)
		memsw = 0;
	/* as with v1: unlimited memory with swap unset means unlimited swap too */
	if (memory == -1 && memsw == 0) {
		*ret = -1;
		return 0;
	}
	if (memsw == -1 || memsw == 0) {
		*ret = memsw;
		return 0;
	}
	if (memory == 0 || memory == -1)
		return cell_error_set(err, CTX ".memory.swap = %lld: a swap limit needs a memory limit "
				      "(v1 swap is memory+swap)", (long long)memsw);
	if (memsw < memory)
		return cell_error_set(err, CTX ".memory.swap = %lld: below memory.limit %lld "
				      "(swap is memory+swap, so it must be >= the memory limit)",
				      (long long)memsw, (long long)memory);
	*ret = memsw - memory;
	return 0;
}

void cg_dev_rule_format(const struct cg_dev_rule *r, char *buf, size_t len)
{
	char maj[24], min[24];
	if (r->major < 0)
		strcpy(maj, "*");
	else
		snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
	if (r->minor < 0)
		strcpy(min, "*");
	else
		snprintf(min, sizeof(min), "%lld", (long long)r->minor);
	if (r->type == 'a')
		snprintf(buf, len, "a");
	else
		snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, r->access);
}

void cg_resources_clear(struct cg_resources *r)
{
	free(r->cpu.cpus);
	free(r->cpu.mems);
	for (size_t i = 0; i < r->n_huge; i++)
		free(r->huge[i].size);
	free(r->huge);
	free(r->blkio.wdev);
	for (int k = 0; k < CG_THR_N; k++)
		free(r->blkio.thr[k]);
	for (size_t i = 0; i < r->net.n_prios; i++)
		free(r->net.prios[i].name);
	free(r->net.prios);
	free(r->dev);
	for (size_t i = 0; i < r->n_unified; i++) {
		free(r->unified[i].key);
		free(r->unified[i].value);
	}
	free(r->unified);
	for (size_t i = 0; i < r->n_rdma; i++) {
		free(r->rdma[i].key);
		free(r->rdma[i].value);
	}
	free(r->rdma);
	memset(r, 0, sizeof(*r));
}

static int range(const char *field, int64_t v, int64_t lo, int64_t hi, cell_error **err)
{
	if (v < lo || v > hi)
		return cell_error_set(err, CTX ".%s = %lld: out of range %lld-%lld", field,
				      (long long)v, (long long)lo, (long long)hi);
	return 0;
}

static int mem_value(json_object *m, const char *key, bool *has, int64_t *v, cell_error **err)
{
	int r = cj_int64(m, key, CTX ".memory", v, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (*v < -1)
		return cell_error_set(err, CTX ".memory.%s = %lld: must be a byte count or -1 (unlimited)",
				      key, (long long)*v);
	*has = true;
	return 0;
}

static int parse_memory(json_object *res, struct cg_resources *r, cell_error **err)
{
	json_object *m;
	int k = cj_object(res, "memory", CTX, &m, err);
	if (k <= 0)
		return k;
	if (mem_value(m, "limit", &r->mem.has_limit, &r->mem.limit, err) < 0 ||
	    mem_value(m, "reservation", &r->mem.has_reservation, &r->mem.reservation, err) < 0 ||
	    mem_value(m, "swap", &r->mem.has_swap, &r->mem.swap, err) < 0 ||
	    mem_value(m, "kernel", &r->mem.has_kernel, &r->mem.kernel, err) < 0 ||
	    mem_value(m, "kernelTCP", &r->mem.has_kernel_tcp, &r->mem.kernel_tcp, err) < 0)
		return -1;
	k = cj_uint64(m, "swappiness", CTX ".memory", &r->mem.swappiness, err);
	if (k < 0)
		return -1;
	if (k > 0) {
		if (r->mem.swappiness > 100)
			return cell_error_set(err, CTX ".memory.swappiness = %llu: out of range 0-100",
					      (unsigned long long)r->mem.swappiness);
		r->mem.has_swappiness = true;
	}
	k = cj_bool(m, "disableOOMKiller", CTX ".memory", &r->mem.disable_oom, err);
	if (k < 0)
		return -1;
	r->mem.has_disable_oom = k > 0;
	bool hier = true;
	if (cj_bool(m, "useHierarchy", CTX ".memory", &hier, err) < 0 ||
	    cj_bool(m, "checkBeforeUpdate", CTX ".memory", &r->mem.check_before_update, err) < 0)
		return -1;
	if (r->mem.has_swap && r->mem.swap > 0 && r->mem.has_limit && r->mem.limit > 0 &&
	    r->mem.swap < r->mem.limit)
		return cell_error_set(err, CTX ".memory.swap = %lld: below memory.limit %lld (swap is "
				      "memory+swap, so it must be >= the memory limit)",
				      (long long)r->mem.swap, (long long)r->mem.limit);
	return 0;
}

/* "0-3,5" as cpuset.cpus takes it; "" means unset. */
static int cpu_list(json_object *c, const char *key, char **ret, cell_error **err)
{
	const char *s;
	int k = cj_string(c, key, CTX ".cpu", &s, err);
	if (k <= 0)
		return k;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != ',' && *p != '-' && *p != ' ')
			return cell_error_set(err, CTX ".cpu.%s = \"%s\": not a list such as \"0-2,4\"",
					      key, s);
	if (*s)
		*ret = xstrdup(s);
	return 0;
}

static int parse_cpu(json_object *res, struct cg_resources *r, cell_error **err)
{
	json_object *c;
	int k = cj_object(res, "cpu", CTX, &c, err);
	if (k <= 0)
		return k;
#define U(key, field, has)                                                     \
	if ((k = cj_uint64(c, key, CTX ".cpu", &r->cpu.field, err)) < 0)       \
		return -1;                                                     \
	r->cpu.has = k > 0;
#define I(key, field, has)                                                     \
	if ((k = cj_int64(c, key, CTX ".cpu", &r->cpu.field, err)) < 0)        \
		return -1;                                                     \
	r->cpu.has = k > 0;
	U("shares", shares, has_shares);
	I("quota", quota, has_quota);
	U("period", period, has_period);
	U("burst", burst, has_burst);
	I("realtimeRuntime", rt_runtime, has_rt_runtime);
	U("realtimePeriod", rt_period, has_rt_period);
	I("idle", idle, has_idle);
#undef U
#undef I
	/* 0 is Go's zero value, which runc reads as "unset" */
	if (r->cpu.has_shares && r->cpu.shares == 0)
		r->cpu.has_shares = false;
	if (r->cpu.has_shares && range("cpu.shares", (int64_t)r->cpu.shares, 2, 262144, err) < 0)
		return -1;
	if (r->cpu.has_quota && r->cpu.quota == 0)
		r->cpu.has_quota = false;
	if (r->cpu.has_quota && r->cpu.quota < -1)
		return cell_error_set(err, CTX ".cpu.quota = %lld: must be positive or -1 (unlimited)",
				      (long long)r->cpu.quota);
	if (r->cpu.has_period && r->cpu.period == 0)
		r->cpu.has_period = false;
	if (r->cpu.has_period && range("cpu.period", (int64_t)r->cpu.period, 1000, 1000000, err) < 0)
		return -1;
	if (r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.quota < 1000)
		return cell_error_set(err, CTX ".cpu.quota = %lld: below the kernel's minimum 1000 (1ms)",
				      (long long)r->cpu.quota);
	if (r->cpu.has_idle && range("cpu.idle", r->cpu.idle, 0, 1, err) < 0)
		return -1;
	if (r->cpu.has_rt_runtime && r->cpu.rt_runtime == 0 && !r->cpu.has_rt_period)
		r->cpu.has_rt_runtime = false;
	if (r->cpu.has_rt_period && r->cpu.rt_period == 0)
		r->cpu.has_rt_period = false;
	if (cpu_list(c, "cpus", &r->cpu.cpus, err) < 0 || cpu_list(c, "mems", &r->cpu.mems, err) < 0)
		return -1;
	return 0;
}

static int major_minor(json_object *e, const char *ctx, int64_t *maj, int64_t *min, bool required,
		       cell_error **err)
{
	*maj = *min = -1;
	int a = cj_int64(e, "major", ctx, maj, err);
	if (a < 0)
		return -1;
	int b = cj_int64(e, "minor", ctx, min, err);
	if (b < 0)
		return -1;
	if (required && (a == 0 || b == 0))
		return cell_error_set(err, "%s: major and minor are required", ctx);
	if (*maj < -1 || *min < -1 || (required && (*maj < 0 || *min < 0)))
		return cell_error_set(err, "%s: bad device number %lld:%lld", ctx, (long long)*maj,
				      (long long)*min);
	return 0;
}

static int parse_blkio(json_object *res, struct cg_resources *r, cell_error **err)
{
	json_object *b, *a;
	uint64_t v;
	int k = cj_object(res, "blockIO", CTX, &b, err);
	if (k <= 0)
		return k;
	if ((k = cj_uint64(b, "weight", CTX ".blockIO", &v, err)) < 0)
		return -1;
	if (k > 0 && v != 0) {
		if (range("blockIO.weight", (int64_t)v, 10, 1000, err) < 0)
			return -1;
		r->blkio.has_weight = true;
		r->blkio.weight = (uint16_t)v;
	}
	if ((k = cj_uint64(b, "leafWeight", CTX ".blockIO", &v, err)) < 0)
		return -1;
	if (k > 0 && v != 0) {
		if (range("blockIO.leafWeight", (int64_t)v, 10, 1000, err) < 0)
			return -1;
		r->blkio.has_leaf = true;
		r->blkio.leaf = (uint16_t)v;
	}
	if ((k = cj_array(b, "weightDevice", CTX ".blockIO", &a, err)) < 0)
		return -1;
	if (k > 0) {
		size_t n = json_object_array_length(a);
		r->blkio.wdev = xcalloc(n ? n : 1, sizeof(*r->blkio.wdev));
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			char ctx[80];
			struct cg_weight_dev *d = &r->blkio.wdev[i];
			snprintf(ctx, sizeof(ctx), CTX ".blockIO.weightDevice[%zu]", i);
			if (cj_expect_object(e, ctx, err) < 0 ||
			    major_minor(e, ctx, &d->major, &d->minor, true, err) < 0)
				return -1;
			if ((k = cj_uint64(e, "weight", ctx, &v, err)) < 0)
				return -1;
			if (k > 0) {
				if (v < 10 || v > 1000)
					return cell_error_set(err, "%s.weight = %llu: out of range 10-1000",
							      ctx, (unsigned long long)v);
				d->has_weight = true;
				d->weight = (uint16_t)v;
			}
			if ((k = cj_uint64(e, "leafWeight", ctx, &v, err)) < 0)
				return -1;
			if (k > 0) {
				if (v < 10 || v > 1000)
					return cell_error_set(err, "%s.leafWeight = %llu: out of range 10-1000",
							      ctx, (unsigned long long)v);
				d->has_leaf = true;
				d->leaf = (uint16_t)v;
			}
			r->blkio.n_wdev++;
		}
	}
	static const char *const names[CG_THR_N] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
		"throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	for (int t = 0; t < CG_THR_N; t++) {
		if ((k = cj_array(b, names[t], CTX ".blockIO", &a, err)) < 0)
			return -1;
		if (k == 0)
			continue;
		size_t n = json_object_array_length(a);
		r->blkio.thr[t] = xcalloc(n ? n : 1, sizeof(struct cg_throttle));
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			char ctx[80];
			struct cg_throttle *d = &r->blkio.thr[t][i];
			snprintf(ctx, sizeof(ctx), CTX ".blockIO.%s[%zu]", names[t], i);
			if (cj_expect_object(e, ctx, err) < 0 ||
			    major_minor(e, ctx, &d->major, &d->minor, true, err) < 0)
				return -1;
			if ((k = cj_uint64(e, "rate", ctx, &d->rate, err)) < 0)
				return -1;
			if (k == 0)
				return cell_error_set(err, "%s: rate is required", ctx);
			r->blkio.n_thr[t]++;
		}
	}
	return 0;
}

static int parse_devices(json_object *res, struct cg_resources *r, cell_error **err)
{
	json_object *a;
	int k = cj_array(res, "devices", CTX, &a, err);
	if (k <= 0)
		return k;
	size_t n = json_object_array_length(a);
	r->has_devices = true;
	r->dev = xcalloc(n + 16, sizeof(*r->dev));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct cg_dev_rule *d = &r->dev[i];
		char ctx[80];
		const char *type = "a", *access = "rwm";
		snprintf(ctx, sizeof(ctx), CTX ".devices[%zu]", i);
		if (cj_expect_object(e, ctx, err) < 0)
			return -1;
		if ((k = cj_bool(e, "allow", ctx, &d->allow, err)) < 0)
			return -1;
		if (k == 0)
			return cell_error_set(err, "%s: `allow` is required", ctx);
		if (cj_string(e, "type", ctx, &type, err) < 0 || cj_string(e, "access", ctx, &access, err) < 0)
			return -1;
		if (!*type)
			type = "a";
		if (strlen(type) != 1 || !strchr("acb", type[0]))
			return cell_error_set(err, "%s.type = \"%s\": must be \"a\", \"c\" or \"b\"", ctx, type);
		d->type = type[0];
		if (!*access)
			access = "rwm";
		/* any order and repeats, as runc; runc also takes `a` and drops
		 * it (it grants nothing: "rwa" is "rw"), so do we */
		if (strspn(access, "rwma") != strlen(access))
			return cell_error_set(err, "%s.access = \"%s\": must be letters of \"rwm\"", ctx, access);
		if (strspn(access, "a") == strlen(access))
			return cell_error_set(err, "%s.access = \"%s\": `a` grants nothing (runc drops it); use letters "
					      "of \"rwm\"", ctx, access);
		/* normalized as "rwm" order, no duplicates */
		size_t o = 0;
		for (const char *c = "rwm"; *c; c++)
			if (strchr(access, *c))
				d->access[o++] = *c;
		d->access[o] = '\0';
		if (major_minor(e, ctx, &d->major, &d->minor, false, err) < 0)
			return -1;
		r->n_dev++;
	}
	return 0;
}

void cg_resources_add_default_devices(struct cg_resources *r)
{
	/* runc's AllowedDevices (libcontainer/specconv): what every container
	 * needs whatever the spec says, appended after its rules */
	static const struct cg_dev_rule defaults[] = {
		{ true, 'c', -1, -1, "m" },	/* mknod of any char device */
		{ true, 'b', -1, -1, "m" },	/* mknod of any block device */
		{ true, 'c', 1, 3, "rwm" },	/* /dev/null */
		{ true, 'c', 1, 8, "rwm" },	/* /dev/random */
		{ true, 'c', 1, 7, "rwm" },	/* /dev/full */
		{ true, 'c', 5, 0, "rwm" },	/* /dev/tty */
		{ true, 'c', 1, 5, "rwm" },	/* /dev/zero */
		{ true, 'c', 1, 9, "rwm" },	/* /dev/urandom */
		{ true, 'c', 136, -1, "rwm" },	/* /dev/pts/N */
		{ true, 'c', 5, 2, "rwm" },	/* /dev/ptmx */
		{ true, 'c', 10, 200, "rwm" },	/* /dev/net/tun */
	};
	if (!r->has_devices)
		return;
	/* parse_devices reserved room for 16 more */
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		r->dev[r->n_dev++] = defaults[i];
}

static bool valid_page_size(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && (streq(s + n, "KB") || streq(s + n, "MB") || streq(s + n, "GB"));
}

static int parse_misc(json_object *res, struct cg_resources *r, cell_error **err)
{
	json_object *o, *a;
	int k;

	if ((k = cj_object(res, "pids", CTX, &o, err)) < 0)
		return -1;
	if (k > 0) {
		if ((k = cj_int64(o, "limit", CTX ".pids", &r->pids, err)) < 0)
			return -1;
		r->has_pids = k > 0;
	}
	if ((k = cj_array(res, "hugepageLimits", CTX, &a, err)) < 0)
		return -1;
	if (k > 0) {
		size_t n = json_object_array_length(a);
		r->huge = xcalloc(n ? n : 1, sizeof(*r->huge));
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			char ctx[80];
			const char *ps = NULL;
			snprintf(ctx, sizeof(ctx), CTX ".hugepageLimits[%zu]", i);
			if (cj_expect_object(e, ctx, err) < 0 || cj_string(e, "pageSize", ctx, &ps, err) < 0)
				return -1;
			if (!ps || !valid_page_size(ps))
				return cell_error_set(err, "%s.pageSize = \"%s\": expected a size such as \"2MB\"",
						      ctx, ps ? ps : "");
			if ((k = cj_uint64(e, "limit", ctx, &r->huge[i].limit, err)) < 0)
				return -1;
			if (k == 0)
				return cell_error_set(err, "%s: limit is required", ctx);
			r->huge[i].size = xstrdup(ps);
			r->n_huge++;
		}
	}
	if ((k = cj_object(res, "network", CTX, &o, err)) < 0)
		return -1;
	if (k > 0) {
		uint64_t cid;
		if ((k = cj_uint64(o, "classID", CTX ".network", &cid, err)) < 0)
			return -1;
		if (k > 0) {
			if (cid > UINT32_MAX)
				return cell_error_set(err, CTX ".network.classID = %llu: out of range",
						      (unsigned long long)cid);
			r->net.has_classid = true;
			r->net.classid = (uint32_t)cid;
		}
		if ((k = cj_array(o, "priorities", CTX ".network", &a, err)) < 0)
			return -1;
		if (k > 0) {
			size_t n = json_object_array_length(a);
			r->net.prios = xcalloc(n ? n : 1, sizeof(*r->net.prios));
			for (size_t i = 0; i < n; i++) {
				json_object *e = json_object_array_get_idx(a, i);
				char ctx[80];
				const char *name = NULL;
				uint64_t p = 0;
				snprintf(ctx, sizeof(ctx), CTX ".network.priorities[%zu]", i);
				if (cj_expect_object(e, ctx, err) < 0 || cj_string(e, "name", ctx, &name, err) < 0 ||
				    cj_uint64(e, "priority", ctx, &p, err) < 0)
					return -1;
				if (!name || !*name || strchr(name, ' ') || strchr(name, '\n') || p > UINT32_MAX)
					return cell_error_set(err, "%s: needs an interface name and a priority", ctx);
				r->net.prios[i].name = xstrdup(name);
				r->net.prios[i].prio = (uint32_t)p;
				r->net.n_prios++;
			}
		}
	}
	if ((k = cj_object(res, "unified", CTX, &o, err)) < 0)
		return -1;
	if (k > 0) {
		size_t n = (size_t)json_object_object_length(o), i = 0;
		r->unified = xcalloc(n ? n : 1, sizeof(*r->unified));
		json_object_object_foreach(o, key, val) {
			if (!val || json_object_get_type(val) != json_type_string)
				return cell_error_set(err, CTX ".unified.%s: expected a string value", key);
			if (!strchr(key, '.') || strchr(key, '/') || key[0] == '.')
				return cell_error_set(err, CTX ".unified.%s: not a cgroup file name such as "
						      "\"memory.high\"", key);
			r->unified[i].key = xstrdup(key);
			r->unified[i].value = xstrdup(json_object_get_string(val));
			r->n_unified = ++i;
		}
	}
	if ((k = cj_object(res, "rdma", CTX, &o, err)) < 0)
		return -1;
	if (k > 0) {
		size_t n = (size_t)json_object_object_length(o);
		r->rdma = xcalloc(n ? n : 1, sizeof(*r->rdma));
		json_object_object_foreach(o, dev, val) {
			char ctx[96];
			uint64_t h = 0, ob = 0;
			int kh, ko;
			snprintf(ctx, sizeof(ctx), CTX ".rdma.%.40s", dev);
			if (cj_expect_object(val, ctx, err) < 0 ||
			    (kh = cj_uint64(val, "hcaHandles", ctx, &h, err)) < 0 ||
			    (ko = cj_uint64(val, "hcaObjects", ctx, &ob, err)) < 0)
				return -1;
			if (!*dev || strchr(dev, ' ') || strchr(dev, '\n'))
				return cell_error_set(err, "%s: not a device name", ctx);
			char v[96] = "";
			if (kh > 0)
				snprintf(v, sizeof(v), "hca_handle=%llu", (unsigned long long)h);
			if (ko > 0)
				snprintf(v + strlen(v), sizeof(v) - strlen(v), "%shca_object=%llu", kh > 0 ? " " : "",
					 (unsigned long long)ob);
			if (!*v)
				continue;
			r->rdma[r->n_rdma].key = xstrdup(dev);
			r->rdma[r->n_rdma].value = xstrdup(v);
			r->n_rdma++;
		}
	}
	return 0;
}

int cg_resources_parse(json_object *o, struct cg_resources *ret, cell_error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!o)
		return 0;
	if (cj_expect_object(o, CTX, err) < 0 || parse_memory(o, ret, err) < 0 || parse_cpu(o, ret, err) < 0 ||
	    parse_blkio(o, ret, err) < 0 || parse_devices(o, ret, err) < 0 || parse_misc(o, ret, err) < 0) {
		cg_resources_clear(ret);
		return -1;
	}
	return 0;
}
