/* Internals shared by the files of src/lib/cgroup/:
 *
 *   mode.c       layout detection: which hierarchy holds which controller
 *                (mountinfo + statfs), the runtime's own cgroup, runc's path
 *                semantics
 *   resources.c  linux.resources JSON -> struct cg_resources, validated
 *                before anything is created; the v1 <-> v2 conversions
 *   write.c      writing a knob with runc-style one-line errors and an undo
 *                log (update leaves the cgroup as it was on failure)
 *   apply-v1.c   resources onto v1 controllers (memory, cpu, cpuset, pids,
 *                blkio, hugetlb, net_cls, net_prio, devices)
 *   apply-v2.c   resources onto the cgroup2 dir (also hugetlb on hybrid)
 *   devices-bpf.c the v2 device filter: hand-assembled eBPF program
 *   stats.c      runc's `events --stats` JSON, OOM detection
 *   cgroup.c     the public API: create, enter, freeze, kill, destroy
 *   systemd.c    --systemd-cgroup: a transient scope per container over
 *                D-Bus (libsystemd dlopen()ed on that path only)
 */
#ifndef CELL_CGROUP_INTERNAL_H
#define CELL_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"

#define CG_ROOT "/sys/fs/cgroup"

/* ---- layout (mode.c) ---- */

struct cg_hier {
	char *name;	/* "cpu", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
	char *mount;	/* mount point */
	char *root;	/* the cgroup mounted there (mountinfo field 4), usually "/" */
	bool v2;
};

struct cg_layout {
	enum cell_cgroup_mode mode;
	struct cg_hier *h;
	size_t n;
	int v2;			/* index of the cgroup2 hierarchy in h, or -1 */
	char **v2_controllers;	/* cgroup.controllers at the cgroup2 root */
};

/* Detected once per process (cached); never freed. */
int cg_layout_get(const struct cg_layout **ret, cell_error **err);
/* Build a layout from mountinfo text (unit tests feed their own). */
int cg_layout_parse(const char *mountinfo, struct cg_layout *ret, cell_error **err);
void cg_layout_free(struct cg_layout *l);

/* True when ctrl is one of the comma-separated names in list. */
bool cg_list_has(const char *list, const char *ctrl);

/* The path of each hierarchy for a process, from /proc/PID/cgroup text:
 * returns the path for hierarchy `name` ("" = cgroup2), or NULL. */
char *cg_proc_path(const char *proc_cgroup, const char *name);

/* runc's cgroupsPath semantics for one hierarchy: NULL/"" -> "/cell/<id>",
 * "/a/b" as is, "a/b" under own (the runtime's own cgroup there). Rejects
 * ".." components. Returns a normalized absolute cgroup path. */
int cg_resolve_path(const char *id, const char *cgroups_path, const char *own, char **ret,
		    cell_error **err);
/* Directory of cgroup path `path` in hierarchy h (maps through h->root). */
char *cg_hier_dir(const struct cg_hier *h, const char *path);

/* ---- resources (resources.c) ---- */

struct cg_dev_rule {
	bool allow;
	char type;		/* 'a', 'c', 'b' */
	int64_t major, minor;	/* -1 = any */
	char access[4];		/* subset of "rwm" */
};

struct cg_weight_dev {
	int64_t major, minor;
	bool has_weight, has_leaf;
	uint16_t weight, leaf;
};

struct cg_throttle {
	int64_t major, minor;
	uint64_t rate;
};

struct cg_hugepage {
	char *size;	/* "2MB", "1GB" */
	uint64_t limit;
};

struct cg_prio {
	char *name;
	uint32_t prio;
};

struct cg_kv {
	char *key, *value;
};

enum { CG_THR_READ_BPS, CG_THR_WRITE_BPS, CG_THR_READ_IOPS, CG_THR_WRITE_IOPS, CG_THR_N };

struct cg_resources {
	struct {
		bool has_limit, has_reservation, has_swap, has_swappiness, has_kernel,
			has_kernel_tcp, has_disable_oom;
		int64_t limit, reservation, swap, kernel, kernel_tcp;
		uint64_t swappiness;
		bool disable_oom, check_before_update;
	} mem;
	struct {
		bool has_shares, has_quota, has_period, has_burst, has_rt_runtime, has_rt_period,
			has_idle;
		uint64_t shares, period, burst, rt_period;
		int64_t quota, rt_runtime, idle;
		char *cpus, *mems;
	} cpu;
	bool has_pids;
	int64_t pids;
	struct cg_hugepage *huge;
	size_t n_huge;
	struct {
		bool has_weight, has_leaf;
		uint16_t weight, leaf;
		struct cg_weight_dev *wdev;
		size_t n_wdev;
		struct cg_throttle *thr[CG_THR_N];
		size_t n_thr[CG_THR_N];
	} blkio;
	struct {
		bool has_classid;
		uint32_t classid;
		struct cg_prio *prios;
		size_t n_prios;
	} net;
	bool has_devices;
	struct cg_dev_rule *dev;
	size_t n_dev;
	struct cg_kv *unified;
	size_t n_unified;
	struct cg_kv *rdma;	/* device -> "hca_handle=N hca_object=M" */
	size_t n_rdma;
};

/* Parse and validate linux.resources (NULL = nothing). On error ret is
 * cleaned. Messages name the field: "linux.resources.memory.swappiness:
 * 150 is out of range 0-100". */
int cg_resources_parse(json_object *o, struct cg_resources *ret, cell_error **err);
void cg_resources_clear(struct cg_resources *r);
/* runc's default device allow list, appended after the spec's rules. */
void cg_resources_add_default_devices(struct cg_resources *r);

/* Conversions (runc's formulas). */
uint64_t cg_shares_to_weight(uint64_t shares);	/* 0 -> 0 (unset) */
uint64_t cg_blkio_to_io_weight(uint64_t w);	/* 0 -> 0 (unset) */
/* v1 memsw (memory+swap) -> v2 swap.max (swap only). *ret -1 = "max",
 * 0 = leave alone. */
int cg_swap_v1_to_v2(int64_t memsw, bool has_swap, int64_t memory, bool has_memory,
		     int64_t *ret, cell_error **err);
/* "c 1:3 rwm" as v1 devices.allow wants it; buf >= 64 bytes. */
void cg_dev_rule_format(const struct cg_dev_rule *r, char *buf, size_t len);

/* ---- writing knobs (write.c) ---- */

struct cg_undo;	/* list of (file, old value) for rollback on update */

struct cg_writer {
	const char *dir;	/* cgroup directory */
	struct cg_undo *undo;	/* NULL: no rollback (create removes the dir instead) */
	size_t n_undo;
	bool record;
};

/* Write value to dir/file. On failure: "<what>: <file> = <value>: <strerror>
 * (<hint>)" where the hint depends on file and errno. */
int cg_write(struct cg_writer *w, const char *what, const char *file, const char *value,
	     cell_error **err);
int cg_writef(struct cg_writer *w, const char *what, const char *file, cell_error **err,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Undo everything recorded, newest first (best effort), and forget it. */
void cg_writer_rollback(struct cg_writer *w);
void cg_writer_clear(struct cg_writer *w);
bool cg_file_exists(const char *dir, const char *file);
/* Read dir/file, trailing newline stripped. */
int cg_read(const char *dir, const char *file, char **ret, cell_error **err);
int cg_read_u64(const char *dir, const char *file, uint64_t *ret, cell_error **err);
/* "key value" lines (memory.stat, memory.events, cpu.stat): value of key. */
int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret);

/* ---- applying (apply-v1.c, apply-v2.c, devices-bpf.c) ---- */

/* Where a controller lives for one cgroup. */
struct cg_target {
	const char *dir;
	bool v2;
};

typedef int (*cg_lookup_fn)(void *ctx, const char *ctrl, struct cg_target *ret);

/* Apply every resource; lookup says where each controller is. notes get
 * strings for accepted-but-ignored fields. Undo records go into the writers
 * when `record` (update). */
int cg_apply(const struct cg_resources *r, cg_lookup_fn lookup, void *ctx, bool record,
	     char ***notes, cell_error **err);

/* cpuset, pids, rdma: written alike on both versions (write.c). */
int cg_apply_same(const char *ctrl, const struct cg_resources *r, struct cg_writer *w, cell_error **err);
/* hugetlb on either version: limit is "limit_in_bytes" (v1) or "max" (v2). */
int cg_apply_hugetlb(const struct cg_resources *r, struct cg_writer *w, const char *limit, cell_error **err);
int cg_apply_v1(const char *ctrl, const char *dir, const struct cg_resources *r,
		struct cg_writer *w, char ***notes, cell_error **err);
int cg_apply_v2(const char *ctrl, const char *dir, const struct cg_resources *r,
		struct cg_writer *w, char ***notes, cell_error **err);

/* Build the BPF_PROG_TYPE_CGROUP_DEVICE program for rules (later rules win,
 * default deny). Returns the number of instructions; *ret is malloc'd. */
size_t cg_devices_bpf_build(const struct cg_dev_rule *rules, size_t n, void **ret);
/* Load it and attach to the cgroup dir (BPF_F_ALLOW_MULTI), then detach
 * whatever device programs were attached before. */
int cg_devices_bpf_apply(const char *dir, const struct cg_dev_rule *rules, size_t n,
			 cell_error **err);

void cg_note(char ***notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the container's cgroup (cgroup.c) ---- */

struct cg_dir {
	char *name;	/* hierarchy: "cpu,cpuacct", "name=systemd", "" = cgroup2 */
	char *mount;	/* where that hierarchy is mounted */
	char *dir;
	int created;	/* trailing components made by us */
	bool v2;
};

struct cg_systemd;	/* systemd.c: the unit behind --systemd-cgroup */

struct cell_cgroup {
	enum cell_cgroup_mode mode;
	char *id;
	char *path;
	struct cg_dir *d;
	size_t n;
	int clone_fd;
	char **notes;
	bool default_path;	/* "/cell/<id>": /cell is ours to remove once empty */
	struct cg_systemd *sd;	/* NULL: cgroupfs */
	size_t skipped;		/* rootless: hierarchies not writable, not used */
};

void cg_add_dir(struct cell_cgroup *cg, const char *name, const char *mount, char *dir, int created,
		bool v2);
/* Every resource onto the files (enabling controllers in the ancestors). */
int cg_apply_all(struct cell_cgroup *cg, const struct cg_resources *r, bool record, cell_error **err);
/* Write pid into every directory's cgroup.procs / tasks. */
int cg_enter_dirs(struct cell_cgroup *cg, pid_t pid, cell_error **err);

/* ---- backends (cgroup.c, systemd.c) ----
 *
 * How a container's cgroup is driven once it exists, one table per way of
 * managing it, as crun's libcrun_cgroup_manager: cgroupfs on v1 (legacy, and
 * the v1 hierarchies of hybrid, falling back to the cgroup2 dir for what v1
 * lacks there), cgroupfs on v2 (unified), and systemd (--systemd-cgroup: a
 * transient scope over D-Bus, then the same files as cgroupfs v2 inside it).
 * cg_backend_of() chooses. The last three slots are NULL for cgroupfs
 * (cgroup.c does the work itself). */
struct cg_backend_ops {
	const char *name;
	/* Freeze (true) or thaw every process of the container. */
	int (*freeze)(struct cell_cgroup *cg, bool frozen, cell_error **err);
	/* What was last asked (v1 freezer.state FROZEN, v2 cgroup.freeze 1). */
	int (*is_frozen)(struct cell_cgroup *cg, bool *ret, cell_error **err);
	/* Whether freeze can work at all on this host. */
	bool (*can_freeze)(const struct cell_cgroup *cg);
	/* Signal every process at once where the kernel can (v2 cgroup.kill,
	 * SIGKILL only): 1 when done, 0 when the caller must freeze, list and
	 * signal, -1 on error. */
	int (*kill_all)(struct cell_cgroup *cg, int sig, cell_error **err);
	/* The directory whose cgroup.procs lists every process of the container. */
	const char *(*procs_dir)(const struct cell_cgroup *cg);
	/* Put pid (the init just cloned, or an exec'd process) in the cgroup. */
	int (*enter)(struct cell_cgroup *cg, pid_t pid, cell_error **err);
	/* Change resources (already validated) on a live cgroup. */
	int (*update)(struct cell_cgroup *cg, const struct cg_resources *r, cell_error **err);
	/* Kill what is left and remove the cgroup. */
	int (*destroy)(struct cell_cgroup *cg, cell_error **err);
};

extern const struct cg_backend_ops cg_backend_cgroupfs_v1, cg_backend_cgroupfs_v2, cg_backend_systemd;
const struct cg_backend_ops *cg_backend(enum cell_cgroup_mode mode);
const struct cg_backend_ops *cg_backend_of(const struct cell_cgroup *cg);

/* ---- systemd (systemd.c) ---- */

/* cgroupsPath "slice:prefix:name" (NULL/"" = "system.slice:cell:<id>"). */
struct cg_sd_path {
	char *slice;	/* "system.slice", "kubepods-besteffort.slice" */
	char *unit;	/* "prefix-name.scope" */
	char *dir;	/* cgroup path: "/kubepods.slice/kubepods-besteffort.slice/x-y.scope" */
};
int cg_sd_parse_path(const char *id, const char *cgroups_path, struct cg_sd_path *ret, cell_error **err);
void cg_sd_path_clear(struct cg_sd_path *p);
/* systemd's slice nesting: "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> "/". */
int cg_sd_expand_slice(const char *slice, char **ret, cell_error **err);

/* A unit property as StartTransientUnit / SetUnitProperties take it. */
struct cg_sd_prop {
	char *name;
	char type;	/* D-Bus: 't' 'u' 'x' 'i' 'q' 'n' 'y' 'd' 'b' 's'; 'B' = "ay", 'P' = "au" */
	uint64_t u;	/* t u q y; P: the pid */
	int64_t x;	/* x i n */
	double d;
	bool b;
	char *s;
	uint8_t *bytes;	/* B */
	size_t n_bytes;
};
struct cg_sd_props {
	struct cg_sd_prop *v;
	size_t n;
};
void cg_sd_props_clear(struct cg_sd_props *p);
/* The last property called name, or NULL. */
const struct cg_sd_prop *cg_sd_props_find(const struct cg_sd_props *p, const char *name);
/* linux.resources as unit properties, runc's formulas (CPUQuotaPerSecUSec
 * rounded up to 10 ms, -1 limits = infinity). */
int cg_sd_resource_props(const struct cg_resources *r, struct cg_sd_props *p, cell_error **err);
/* "0-3,7" as systemd's AllowedCPUs= bit mask (byte i bit j = cpu 8i+j). */
int cg_sd_cpuset_bits(const char *list, uint8_t **ret, size_t *ret_n, cell_error **err);
/* runc's org.systemd.property.NAME annotations: value in GVariant text
 * (`true`, `uint64 42`, `'text'`, 42 = int32; NAMEsec in seconds becomes
 * NAMEUSec). Appended to p. */
int cg_sd_annotation_props(json_object *annotations, struct cg_sd_props *p, cell_error **err);

int cg_systemd_create(const char *id, const char *cgroups_path, json_object *resources,
		      struct cell_cgroup **ret, cell_error **err);
int cg_systemd_set_annotations(struct cell_cgroup *cg, json_object *annotations, cell_error **err);
json_object *cg_systemd_to_json(const struct cell_cgroup *cg);
int cg_systemd_from_json(struct cell_cgroup *cg, json_object *o, cell_error **err);
void cg_systemd_free(struct cg_systemd *sd);

#endif
