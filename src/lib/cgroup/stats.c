/* `events --stats` in runc's JSON shape (types/events.go: cpu, memory, pids,
 * blkio, hugetlb with the same keys and units: nanoseconds, bytes), read
 * from whichever hierarchy holds each controller, and OOM-kill detection. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

static void put_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static uint64_t rd(const char *dir, const char *file)
{
	uint64_t v = 0;
	cell_error *e = NULL;
	if (cg_read_u64(dir, file, &v, &e) < 0)
		v = 0;
	cell_error_free(&e);
	return v == UINT64_MAX ? 0 : v;
}

static bool is_v2(struct cell_cgroup *cg, const char *dir)
{
	_cleanup_free_ char *v2 = cell_cgroup_dir(cg, "");
	return v2 && streq(v2, dir);
}

static json_object *u64_list(const char *text)
{
	json_object *a = json_object_new_array();
	_cleanup_free_ char *s = xstrdup(text);
	char *save = NULL;
	for (char *t = strtok_r(s, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		uint64_t v;
		if (parse_uint64(t, &v) == 0)
			json_object_array_add(a, json_object_new_uint64(v));
	}
	return a;
}

static json_object *cpu_stats(struct cell_cgroup *cg)
{
	json_object *cpu = json_object_new_object(), *usage = json_object_new_object(),
		    *thr = json_object_new_object();
	_cleanup_free_ char *acct = cell_cgroup_dir(cg, "cpuacct");
	_cleanup_free_ char *cd = cell_cgroup_dir(cg, "cpu");
	uint64_t v;

	if (acct && !is_v2(cg, acct)) {
		_cleanup_free_ char *pc = NULL;
		cell_error *e = NULL;
		long hz = sysconf(_SC_CLK_TCK);
		put_u64(usage, "total", rd(acct, "cpuacct.usage"));
		if (cg_read(acct, "cpuacct.usage_percpu", &pc, &e) == 0)
			json_object_object_add(usage, "percpu", u64_list(pc));
		cell_error_free(&e);
		/* cpuacct.stat is in USER_HZ ticks; runc reports nanoseconds */
		if (hz <= 0)
			hz = 100;
		if (cg_read_keyed(acct, "cpuacct.stat", "system", &v) == 0)
			put_u64(usage, "kernel", v * (1000000000ull / (uint64_t)hz));
		if (cg_read_keyed(acct, "cpuacct.stat", "user", &v) == 0)
			put_u64(usage, "user", v * (1000000000ull / (uint64_t)hz));
	} else if (cd && is_v2(cg, cd)) {
		if (cg_read_keyed(cd, "cpu.stat", "usage_usec", &v) == 0)
			put_u64(usage, "total", v * 1000);
		if (cg_read_keyed(cd, "cpu.stat", "system_usec", &v) == 0)
			put_u64(usage, "kernel", v * 1000);
		if (cg_read_keyed(cd, "cpu.stat", "user_usec", &v) == 0)
			put_u64(usage, "user", v * 1000);
	}
	if (cd) {
		bool v2 = is_v2(cg, cd);
		if (cg_read_keyed(cd, "cpu.stat", "nr_periods", &v) == 0)
			put_u64(thr, "periods", v);
		if (cg_read_keyed(cd, "cpu.stat", "nr_throttled", &v) == 0)
			put_u64(thr, "throttledPeriods", v);
		if (cg_read_keyed(cd, "cpu.stat", v2 ? "throttled_usec" : "throttled_time", &v) == 0)
			put_u64(thr, "throttledTime", v2 ? v * 1000 : v);
	}
	json_object_object_add(cpu, "usage", usage);
	json_object_object_add(cpu, "throttling", thr);
	return cpu;
}

static json_object *mem_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	json_object *o = json_object_new_object();
	put_u64(o, "limit", limit);
	put_u64(o, "usage", usage);
	put_u64(o, "max", max);
	put_u64(o, "failcnt", failcnt);
	return o;
}

static json_object *raw_stat(const char *dir, const char *file)
{
	json_object *raw = json_object_new_object();
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, file, &s, &e) < 0) {
		cell_error_free(&e);
		return raw;
	}
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		uint64_t v;
		if (!sp)
			continue;
		*sp = '\0';
		if (parse_uint64(sp + 1, &v) == 0)
			put_u64(raw, line, v);
	}
	return raw;
}

static json_object *memory_stats(struct cell_cgroup *cg)
{
	_cleanup_free_ char *d = cell_cgroup_dir(cg, "memory");
	json_object *m = json_object_new_object();
	uint64_t v = 0;
	if (!d)
		return m;
	if (!is_v2(cg, d)) {
		if (cg_read_keyed(d, "memory.stat", "total_cache", &v) == 0 ||
		    cg_read_keyed(d, "memory.stat", "cache", &v) == 0)
			put_u64(m, "cache", v);
		json_object_object_add(m, "usage", mem_entry(rd(d, "memory.limit_in_bytes"),
			rd(d, "memory.usage_in_bytes"), rd(d, "memory.max_usage_in_bytes"),
			rd(d, "memory.failcnt")));
		if (cg_file_exists(d, "memory.memsw.usage_in_bytes"))
			json_object_object_add(m, "swap", mem_entry(rd(d, "memory.memsw.limit_in_bytes"),
				rd(d, "memory.memsw.usage_in_bytes"), rd(d, "memory.memsw.max_usage_in_bytes"),
				rd(d, "memory.memsw.failcnt")));
		json_object_object_add(m, "kernel", mem_entry(rd(d, "memory.kmem.limit_in_bytes"),
			rd(d, "memory.kmem.usage_in_bytes"), rd(d, "memory.kmem.max_usage_in_bytes"),
			rd(d, "memory.kmem.failcnt")));
		json_object_object_add(m, "kernelTCP", mem_entry(rd(d, "memory.kmem.tcp.limit_in_bytes"),
			rd(d, "memory.kmem.tcp.usage_in_bytes"), rd(d, "memory.kmem.tcp.max_usage_in_bytes"),
			rd(d, "memory.kmem.tcp.failcnt")));
	} else {
		uint64_t maxev = 0;
		if (cg_read_keyed(d, "memory.stat", "file", &v) == 0)
			put_u64(m, "cache", v);
		(void)cg_read_keyed(d, "memory.events", "max", &maxev);
		/* "max" reads as the largest uint64, as runc reports it */
		uint64_t cur = rd(d, "memory.current"), lim = UINT64_MAX;
		cell_error *e = NULL;
		if (cg_read_u64(d, "memory.max", &lim, &e) < 0)
			cell_error_free(&e);
		json_object_object_add(m, "usage", mem_entry(lim, cur, rd(d, "memory.peak"), maxev));
		if (cg_file_exists(d, "memory.swap.current")) {
			/* runc reports v2 swap as memory+swap, the v1 meaning */
			uint64_t sl = rd(d, "memory.swap.max");
			json_object_object_add(m, "swap", mem_entry(sl && lim != UINT64_MAX ? sl + lim : UINT64_MAX,
				cur + rd(d, "memory.swap.current"), 0, 0));
		}
	}
	json_object_object_add(m, "raw", raw_stat(d, "memory.stat"));
	return m;
}

static void blkio_v1(json_object *b, const char *dir, const char *file, const char *key)
{
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, file, &s, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	json_object *a = json_object_new_array();
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char op[16];
		unsigned long long v;
		if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) != 4)
			continue;
		json_object *en = json_object_new_object();
		put_u64(en, "major", maj);
		put_u64(en, "minor", min);
		json_object_object_add(en, "op", json_object_new_string(op));
		put_u64(en, "value", v);
		json_object_array_add(a, en);
	}
	json_object_object_add(b, key, a);
}

static void blkio_v2(json_object *b, const char *dir)
{
	_cleanup_free_ char *s = NULL;
	cell_error *e = NULL;
	if (cg_read(dir, "io.stat", &s, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	json_object *bytes = json_object_new_array(), *ios = json_object_new_array();
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		int off = 0;
		if (sscanf(line, "%u:%u %n", &maj, &min, &off) < 2)
			continue;
		static const struct { const char *key, *op; int bytes; } map[] = {
			{ "rbytes=", "Read", 1 }, { "wbytes=", "Write", 1 }, { "rios=", "Read", 0 },
			{ "wios=", "Write", 0 }, { "dbytes=", "Discard", 1 }, { "dios=", "Discard", 0 } };
		for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
			char *p = strstr(line + off, map[i].key);
			unsigned long long v;
			if (!p || sscanf(p + strlen(map[i].key), "%llu", &v) != 1)
				continue;
			json_object *en = json_object_new_object();
			put_u64(en, "major", maj);
			put_u64(en, "minor", min);
			json_object_object_add(en, "op", json_object_new_string(map[i].op));
			put_u64(en, "value", v);
			json_object_array_add(map[i].bytes ? bytes : ios, en);
		}
	}
	json_object_object_add(b, "ioServiceBytesRecursive", bytes);
	json_object_object_add(b, "ioServicedRecursive", ios);
}

static json_object *hugetlb_stats(struct cell_cgroup *cg)
{
	json_object *h = json_object_new_object();
	_cleanup_free_ char *d = cell_cgroup_dir(cg, "hugetlb");
	if (!d)
		return h;
	bool v2 = is_v2(cg, d);
	_cleanup_free_ char *sizes = NULL;
	cell_error *e = NULL;
	/* page sizes from /sys/kernel/mm/hugepages: hugepages-2048kB -> 2MB */
	static const struct { const char *dir, *name; } ps[] = {
		{ "/sys/kernel/mm/hugepages/hugepages-64kB", "64KB" },
		{ "/sys/kernel/mm/hugepages/hugepages-2048kB", "2MB" },
		{ "/sys/kernel/mm/hugepages/hugepages-32768kB", "32MB" },
		{ "/sys/kernel/mm/hugepages/hugepages-1048576kB", "1GB" } };
	cell_error_free(&e);
	for (size_t i = 0; i < ARRAY_SIZE(ps); i++) {
		if (access(ps[i].dir, F_OK) != 0)
			continue;
		_cleanup_free_ char *usage = xasprintf("hugetlb.%s.%s", ps[i].name, v2 ? "current" : "usage_in_bytes");
		if (!cg_file_exists(d, usage))
			continue;
		json_object *o = json_object_new_object();
		put_u64(o, "usage", rd(d, usage));
		if (!v2) {
			_cleanup_free_ char *mx = xasprintf("hugetlb.%s.max_usage_in_bytes", ps[i].name);
			_cleanup_free_ char *fc = xasprintf("hugetlb.%s.failcnt", ps[i].name);
			put_u64(o, "max", rd(d, mx));
			put_u64(o, "failcnt", rd(d, fc));
		} else {
			_cleanup_free_ char *ev = xasprintf("hugetlb.%s.events", ps[i].name);
			uint64_t v = 0;
			(void)cg_read_keyed(d, ev, "max", &v);
			put_u64(o, "failcnt", v);
		}
		json_object_object_add(h, ps[i].name, o);
	}
	return h;
}

int cell_cgroup_stats(struct cell_cgroup *cg, json_object **ret, cell_error **err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cpu", cpu_stats(cg));
	json_object_object_add(o, "memory", memory_stats(cg));

	json_object *p = json_object_new_object();
	_cleanup_free_ char *pd = cell_cgroup_dir(cg, "pids");
	if (pd) {
		put_u64(p, "current", rd(pd, "pids.current"));
		put_u64(p, "limit", rd(pd, "pids.max"));
	}
	json_object_object_add(o, "pids", p);

	json_object *b = json_object_new_object();
	_cleanup_free_ char *bd = cell_cgroup_dir(cg, "blkio");
	_cleanup_free_ char *io = bd ? NULL : cell_cgroup_dir(cg, "io");
	if (bd && !is_v2(cg, bd)) {
		blkio_v1(b, bd, "blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive");
		blkio_v1(b, bd, "blkio.throttle.io_serviced_recursive", "ioServicedRecursive");
	} else if (bd || io) {
		blkio_v2(b, bd ? bd : io);
	}
	json_object_object_add(o, "blkio", b);
	json_object_object_add(o, "hugetlb", hugetlb_stats(cg));
	*ret = o;
	return 0;
}

int cell_cgroup_oom_count(struct cell_cgroup *cg, uint64_t *ret, cell_error **err)
{
	_cleanup_free_ char *d = cell_cgroup_dir(cg, "memory");
	uint64_t v = 0;
	*ret = 0;
	if (!d)
		return 0;
	if (is_v2(cg, d)) {
		if (cg_read_keyed(d, "memory.events", "oom_kill", &v) == 0)
			*ret = v;
		return 0;
	}
	if (cg_read_keyed(d, "memory.oom_control", "oom_kill", &v) == 0)
		*ret = v;
	return 0;
}

int cell_cgroup_oom_killed(struct cell_cgroup *cg, bool *ret, cell_error **err)
{
	_cleanup_free_ char *d = cell_cgroup_dir(cg, "memory");
	uint64_t v = 0;
	*ret = false;
	if (!d)
		return 0;
	if (is_v2(cg, d)) {
		if (cg_read_keyed(d, "memory.events", "oom_kill", &v) == 0)
			*ret = v > 0;
		return 0;
	}
	/* v1: memory.oom_control has "oom_kill N" since Linux 4.13 */
	if (cg_read_keyed(d, "memory.oom_control", "oom_kill", &v) == 0) {
		*ret = v > 0;
		return 0;
	}
	if (cg_read_keyed(d, "memory.oom_control", "under_oom", &v) == 0 && v > 0)
		*ret = true;
	return 0;
}
