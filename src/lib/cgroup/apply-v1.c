/* linux.resources onto cgroup v1 controllers, one controller directory at a
 * time. File names and write orders follow runc's libcontainer/cgroups/fs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util.h"

#define CTX "linux.resources"

static int v1_memory(const struct cg_resources *r, struct cg_writer *w, char ***notes,
		     cell_error **err)
{
	const char *lim = "memory.limit_in_bytes", *sw = "memory.memsw.limit_in_bytes";
	bool has_lim = r->mem.has_limit && r->mem.limit != 0;
	bool has_sw = r->mem.has_swap && r->mem.swap != 0;
	int64_t swap = r->mem.swap;

	/* unlimited memory with swap unset: unlimited swap too (runc) */
	if (has_lim && r->mem.limit == -1 && !has_sw && cg_file_exists(w->dir, sw)) {
		has_sw = true;
		swap = -1;
	}
	/* a new limit alone must still fit under memsw: where memsw equals the
	 * old limit (no swap allowed) keep it so, and where the new limit
	 * would exceed memsw raise memsw with it (runc 1.1.5's update fails
	 * there with EINVAL instead: runc-differences.md) */
	if (has_lim && !has_sw && r->mem.limit > 0 && cg_file_exists(w->dir, sw)) {
		uint64_t cur_lim = 0, cur_sw = 0;
		cell_error *e = NULL;
		if (cg_read_u64(w->dir, lim, &cur_lim, &e) == 0 && cg_read_u64(w->dir, sw, &cur_sw, &e) == 0 &&
		    (cur_sw == cur_lim || (uint64_t)r->mem.limit > cur_sw)) {
			has_sw = true;
			swap = r->mem.limit;
		}
		cell_error_free(&e);
	}
	if (has_sw && !cg_file_exists(w->dir, sw))
		return cell_error_set(err, CTX ".memory.swap: %s/%s does not exist: swap accounting is off "
				      "(boot with swapaccount=1) or the kernel lacks it", w->dir, sw);
	if (has_lim && r->mem.check_before_update && r->mem.limit > 0) {
		uint64_t usage;
		cell_error *e = NULL;
		if (cg_read_u64(w->dir, "memory.usage_in_bytes", &usage, &e) == 0 &&
		    usage > (uint64_t)r->mem.limit) {
			cell_error_set(err, CTX ".memory.limit: %s = %lld: below current usage %llu "
				       "(checkBeforeUpdate)", lim, (long long)r->mem.limit,
				       (unsigned long long)usage);
			(*err)->errnum = EBUSY;
			return -EBUSY;
		}
		cell_error_free(&e);
	}
	if (has_lim && has_sw) {
		/* memsw must stay >= limit at every step: raise memsw first
		 * when growing, lower the limit first when shrinking */
		uint64_t cur = 0;
		cell_error *e = NULL;
		if (cg_read_u64(w->dir, lim, &cur, &e) < 0)
			cell_error_free(&e);
		if (swap == -1 || cur < (uint64_t)swap) {
			if (cg_writef(w, CTX ".memory.swap", sw, err, "%lld", (long long)swap) < 0 ||
			    cg_writef(w, CTX ".memory.limit", lim, err, "%lld", (long long)r->mem.limit) < 0)
				return -1;
		} else {
			if (cg_writef(w, CTX ".memory.limit", lim, err, "%lld", (long long)r->mem.limit) < 0 ||
			    cg_writef(w, CTX ".memory.swap", sw, err, "%lld", (long long)swap) < 0)
				return -1;
		}
	} else if (has_lim) {
		if (cg_writef(w, CTX ".memory.limit", lim, err, "%lld", (long long)r->mem.limit) < 0)
			return -1;
	} else if (has_sw) {
		if (cg_writef(w, CTX ".memory.swap", sw, err, "%lld", (long long)swap) < 0)
			return -1;
	}
	if (r->mem.has_reservation && r->mem.reservation != 0 &&
	    cg_writef(w, CTX ".memory.reservation", "memory.soft_limit_in_bytes", err, "%lld",
		      (long long)r->mem.reservation) < 0)
		return -1;
	if (r->mem.has_swappiness &&
	    cg_writef(w, CTX ".memory.swappiness", "memory.swappiness", err, "%llu",
		      (unsigned long long)r->mem.swappiness) < 0)
		return -1;
	if (r->mem.has_disable_oom && r->mem.disable_oom &&
	    cg_write(w, CTX ".memory.disableOOMKiller", "memory.oom_control", "1", err) < 0)
		return -1;
	return 0;
}

static int v1_cpu(const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	if (r->cpu.has_shares) {
		if (cg_writef(w, CTX ".cpu.shares", "cpu.shares", err, "%llu",
			      (unsigned long long)r->cpu.shares) < 0)
			return -1;
	}
	if (r->cpu.has_period || r->cpu.has_quota) {
		/* the kernel checks quota against period at each write: try
		 * period first, and if that is refused, quota first (runc) */
		cell_error *e = NULL;
		int rp = 0;
		if (r->cpu.has_period)
			rp = cg_writef(w, CTX ".cpu.period", "cpu.cfs_period_us", &e, "%llu",
				       (unsigned long long)r->cpu.period);
		if (r->cpu.has_quota &&
		    cg_writef(w, CTX ".cpu.quota", "cpu.cfs_quota_us", err, "%lld", (long long)r->cpu.quota) < 0) {
			cell_error_free(&e);
			return -1;
		}
		if (rp < 0) {
			cell_error_free(&e);
			if (cg_writef(w, CTX ".cpu.period", "cpu.cfs_period_us", err, "%llu",
				      (unsigned long long)r->cpu.period) < 0)
				return -1;
		}
	}
	if (r->cpu.has_burst &&
	    cg_writef(w, CTX ".cpu.burst", "cpu.cfs_burst_us", err, "%llu", (unsigned long long)r->cpu.burst) < 0)
		return -1;
	if (r->cpu.has_rt_period &&
	    cg_writef(w, CTX ".cpu.realtimePeriod", "cpu.rt_period_us", err, "%llu",
		      (unsigned long long)r->cpu.rt_period) < 0)
		return -1;
	if (r->cpu.has_rt_runtime &&
	    cg_writef(w, CTX ".cpu.realtimeRuntime", "cpu.rt_runtime_us", err, "%lld",
		      (long long)r->cpu.rt_runtime) < 0)
		return -1;
	if (r->cpu.has_idle &&
	    cg_writef(w, CTX ".cpu.idle", "cpu.idle", err, "%lld", (long long)r->cpu.idle) < 0)
		return -1;
	return 0;
}

static int v1_blkio(const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	/* blkio.weight went with CFQ (Linux 5.0); BFQ offers blkio.bfq.weight */
	bool cfq = cg_file_exists(w->dir, "blkio.weight");
	bool bfq = cg_file_exists(w->dir, "blkio.bfq.weight");
	const char *wf = cfq ? "blkio.weight" : "blkio.bfq.weight";
	const char *wdf = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";

	if ((r->blkio.has_weight || r->blkio.n_wdev) && !cfq && !bfq)
		return cell_error_set(err, CTX ".blockIO.weight: neither blkio.weight nor blkio.bfq.weight "
				      "exists in %s (no CFQ/BFQ I/O scheduler in the kernel)", w->dir);
	if (r->blkio.has_weight &&
	    cg_writef(w, CTX ".blockIO.weight", wf, err, "%u", r->blkio.weight) < 0)
		return -1;
	if (r->blkio.has_leaf || (r->blkio.n_wdev && r->blkio.wdev[0].has_leaf)) {
		if (!cg_file_exists(w->dir, "blkio.leaf_weight"))
			return cell_error_set(err, CTX ".blockIO.leafWeight: %s/blkio.leaf_weight does not "
					      "exist (leaf weights went with the CFQ scheduler in Linux 5.0)",
					      w->dir);
		if (r->blkio.has_leaf &&
		    cg_writef(w, CTX ".blockIO.leafWeight", "blkio.leaf_weight", err, "%u", r->blkio.leaf) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->blkio.n_wdev; i++) {
		const struct cg_weight_dev *d = &r->blkio.wdev[i];
		if (d->has_weight &&
		    cg_writef(w, CTX ".blockIO.weightDevice", wdf, err, "%lld:%lld %u", (long long)d->major,
			      (long long)d->minor, d->weight) < 0)
			return -1;
		if (d->has_leaf &&
		    cg_writef(w, CTX ".blockIO.weightDevice", "blkio.leaf_weight_device", err, "%lld:%lld %u",
			      (long long)d->major, (long long)d->minor, d->leaf) < 0)
			return -1;
	}
	static const char *const files[CG_THR_N] = { "blkio.throttle.read_bps_device",
		"blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
		"blkio.throttle.write_iops_device" };
	static const char *const names[CG_THR_N] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
		"throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	for (int t = 0; t < CG_THR_N; t++)
		for (size_t i = 0; i < r->blkio.n_thr[t]; i++) {
			const struct cg_throttle *d = &r->blkio.thr[t][i];
			char what[80];
			snprintf(what, sizeof(what), CTX ".blockIO.%s", names[t]);
			if (cg_writef(w, what, files[t], err, "%lld:%lld %llu", (long long)d->major,
				      (long long)d->minor, (unsigned long long)d->rate) < 0)
				return -1;
		}
	return 0;
}

static int v1_devices(const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	for (size_t i = 0; i < r->n_dev; i++) {
		char rule[64], what[48];
		cg_dev_rule_format(&r->dev[i], rule, sizeof(rule));
		snprintf(what, sizeof(what), CTX ".devices[%zu]", i);
		if (cg_write(w, what, r->dev[i].allow ? "devices.allow" : "devices.deny", rule, err) < 0)
			return -1;
	}
	return 0;
}

int cg_apply_v1(const char *ctrl, const char *dir, const struct cg_resources *r,
		struct cg_writer *w, char ***notes, cell_error **err)
{
	w->dir = dir;
	if (streq(ctrl, "memory"))
		return v1_memory(r, w, notes, err);
	if (streq(ctrl, "cpu"))
		return v1_cpu(r, w, err);
	if (streq(ctrl, "cpuset") || streq(ctrl, "pids") || streq(ctrl, "rdma"))
		return cg_apply_same(ctrl, r, w, err);
	if (streq(ctrl, "hugetlb"))
		return cg_apply_hugetlb(r, w, "limit_in_bytes", err);
	if (streq(ctrl, "blkio"))
		return v1_blkio(r, w, err);
	if (streq(ctrl, "net_cls"))
		return cg_writef(w, CTX ".network.classID", "net_cls.classid", err, "%u", r->net.classid);
	if (streq(ctrl, "net_prio")) {
		for (size_t i = 0; i < r->net.n_prios; i++)
			if (cg_writef(w, CTX ".network.priorities", "net_prio.ifpriomap", err, "%s %u",
				      r->net.prios[i].name, r->net.prios[i].prio) < 0)
				return -1;
		return 0;
	}
	if (streq(ctrl, "devices"))
		return v1_devices(r, w, err);
	return 0;
}
