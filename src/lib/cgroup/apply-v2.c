/* linux.resources onto a cgroup2 directory, converting the v1-shaped OCI
 * values as runc's libcontainer/cgroups/fs2 does: shares -> cpu.weight,
 * blkio weight -> io.weight, memsw -> swap.max. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util.h"

#define CTX "linux.resources"

static int v2_memory(const struct cg_resources *r, struct cg_writer *w, char ***notes,
		     cell_error **err)
{
	int64_t swap = 0;
	bool has_lim = r->mem.has_limit && r->mem.limit != 0;

	if (cg_swap_v1_to_v2(r->mem.swap, r->mem.has_swap, r->mem.limit, has_lim, &swap, err) < 0)
		return -1;
	if (has_lim && r->mem.check_before_update && r->mem.limit > 0) {
		uint64_t cur;
		cell_error *e = NULL;
		if (cg_read_u64(w->dir, "memory.current", &cur, &e) == 0 && cur > (uint64_t)r->mem.limit) {
			cell_error_set(err, CTX ".memory.limit: memory.max = %lld: below current usage %llu "
				       "(checkBeforeUpdate)", (long long)r->mem.limit, (unsigned long long)cur);
			(*err)->errnum = EBUSY;
			return -EBUSY;
		}
		cell_error_free(&e);
	}
	if (swap != 0) {
		if (!cg_file_exists(w->dir, "memory.swap.max"))
			return cell_error_set(err, CTX ".memory.swap: %s/memory.swap.max does not exist "
					      "(swap accounting off, or no swap controller)", w->dir);
		if (swap == -1 ? cg_write(w, CTX ".memory.swap", "memory.swap.max", "max", err) < 0
			       : cg_writef(w, CTX ".memory.swap", "memory.swap.max", err, "%lld",
					   (long long)swap) < 0)
			return -1;
	}
	if (has_lim) {
		if (r->mem.limit == -1 ? cg_write(w, CTX ".memory.limit", "memory.max", "max", err) < 0
				       : cg_writef(w, CTX ".memory.limit", "memory.max", err, "%lld",
						   (long long)r->mem.limit) < 0)
			return -1;
	}
	if (r->mem.has_reservation && r->mem.reservation != 0) {
		if (r->mem.reservation == -1 ? cg_write(w, CTX ".memory.reservation", "memory.low", "max", err) < 0
					     : cg_writef(w, CTX ".memory.reservation", "memory.low", err, "%lld",
							 (long long)r->mem.reservation) < 0)
			return -1;
	}
	if (r->mem.has_swappiness)
		cg_note(notes, CTX ".memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness");
	if (r->mem.has_disable_oom && r->mem.disable_oom)
		cg_note(notes, CTX ".memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer");
	return 0;
}

static int v2_cpu(const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	if (r->cpu.has_rt_period || r->cpu.has_rt_runtime)
		return cell_error_set(err, CTX ".cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
				      "realtime bandwidth files (cpu.rt_*), remove them from the spec");
	if (r->cpu.has_shares &&
	    cg_writef(w, CTX ".cpu.shares", "cpu.weight", err, "%llu",
		      (unsigned long long)cg_shares_to_weight(r->cpu.shares)) < 0)
		return -1;
	if (r->cpu.has_quota || r->cpu.has_period) {
		char v[64];
		int n;
		if (r->cpu.has_quota && r->cpu.quota > 0)
			n = snprintf(v, sizeof(v), "%lld", (long long)r->cpu.quota);
		else
			n = snprintf(v, sizeof(v), "max");
		if (r->cpu.has_period)
			snprintf(v + n, sizeof(v) - (size_t)n, " %llu", (unsigned long long)r->cpu.period);
		if (cg_write(w, r->cpu.has_quota ? CTX ".cpu.quota" : CTX ".cpu.period", "cpu.max", v, err) < 0)
			return -1;
	}
	if (r->cpu.has_burst &&
	    cg_writef(w, CTX ".cpu.burst", "cpu.max.burst", err, "%llu", (unsigned long long)r->cpu.burst) < 0)
		return -1;
	if (r->cpu.has_idle &&
	    cg_writef(w, CTX ".cpu.idle", "cpu.idle", err, "%lld", (long long)r->cpu.idle) < 0)
		return -1;
	return 0;
}

static int v2_io(const struct cg_resources *r, struct cg_writer *w, cell_error **err)
{
	bool bfq = cg_file_exists(w->dir, "io.bfq.weight");
	if (r->blkio.has_leaf)
		return cell_error_set(err, CTX ".blockIO.leafWeight: cgroup v2 has no leaf weights");
	if (r->blkio.has_weight) {
		/* io.bfq.weight takes blkio's 1-1000 scale; io.weight 1-10000 */
		if (bfq ? cg_writef(w, CTX ".blockIO.weight", "io.bfq.weight", err, "%u", r->blkio.weight) < 0
			: cg_writef(w, CTX ".blockIO.weight", "io.weight", err, "default %llu",
				    (unsigned long long)cg_blkio_to_io_weight(r->blkio.weight)) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->blkio.n_wdev; i++) {
		const struct cg_weight_dev *d = &r->blkio.wdev[i];
		if (d->has_leaf)
			return cell_error_set(err, CTX ".blockIO.weightDevice[%zu].leafWeight: cgroup v2 has "
					      "no leaf weights", i);
		if (!d->has_weight)
			continue;
		if (bfq ? cg_writef(w, CTX ".blockIO.weightDevice", "io.bfq.weight", err, "%lld:%lld %u",
				    (long long)d->major, (long long)d->minor, d->weight) < 0
			: cg_writef(w, CTX ".blockIO.weightDevice", "io.weight", err, "%lld:%lld %llu",
				    (long long)d->major, (long long)d->minor,
				    (unsigned long long)cg_blkio_to_io_weight(d->weight)) < 0)
			return -1;
	}
	static const char *const keys[CG_THR_N] = { "rbps", "wbps", "riops", "wiops" };
	static const char *const names[CG_THR_N] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
		"throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	for (int t = 0; t < CG_THR_N; t++)
		for (size_t i = 0; i < r->blkio.n_thr[t]; i++) {
			const struct cg_throttle *d = &r->blkio.thr[t][i];
			char what[80];
			snprintf(what, sizeof(what), CTX ".blockIO.%s", names[t]);
			/* io.max: 0 would mean "no I/O at all"; runc writes max */
			if (d->rate == 0
				    ? cg_writef(w, what, "io.max", err, "%lld:%lld %s=max", (long long)d->major,
						(long long)d->minor, keys[t]) < 0
				    : cg_writef(w, what, "io.max", err, "%lld:%lld %s=%llu", (long long)d->major,
						(long long)d->minor, keys[t], (unsigned long long)d->rate) < 0)
				return -1;
		}
	return 0;
}

int cg_apply_v2(const char *ctrl, const char *dir, const struct cg_resources *r,
		struct cg_writer *w, char ***notes, cell_error **err)
{
	w->dir = dir;
	if (streq(ctrl, "memory"))
		return v2_memory(r, w, notes, err);
	if (streq(ctrl, "cpu"))
		return v2_cpu(r, w, err);
	if (streq(ctrl, "cpuset") || streq(ctrl, "pids") || streq(ctrl, "rdma"))
		return cg_apply_same(ctrl, r, w, err);
	if (streq(ctrl, "hugetlb"))
		return cg_apply_hugetlb(r, w, "max", err);
	if (streq(ctrl, "blkio") || streq(ctrl, "io"))
		return v2_io(r, w, err);
	if (streq(ctrl, "net_cls") || streq(ctrl, "net_prio"))
		return cell_error_set(err, CTX ".network: cgroup v2 has no %s controller (match the "
				      "cgroup in nftables instead)", ctrl);
	if (streq(ctrl, "devices"))
		return cg_devices_bpf_apply(dir, r->dev, r->n_dev, err) < 0
			       ? cell_error_wrap(err, CTX ".devices")
			       : 0;
	return 0;
}
