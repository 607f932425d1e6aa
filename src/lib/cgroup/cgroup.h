/* cgroups on every layout: legacy v1, hybrid (v1 controllers + a cgroup2
 * mount, as on the development machines) and unified v2.
 *
 * The runtime calls, in order:
 *   cell_cgroup_create()   before the init is cloned: makes the cgroup
 *                          (every v1 controller, or the v2 dir), applies
 *                          linux.resources, validating every value first
 *   cell_cgroup_clone_fd() v2 and hybrid: the cgroup2 dir fd for clone3
 *                          CLONE_INTO_CGROUP
 *   cell_cgroup_enter[_cloned]() the (rest of the) hierarchies
 *   cell_cgroup_to_json()  saved in state.json so later commands (kill,
 *                          pause, delete) find it again without the spec
 *   cell_cgroup_destroy()  on delete and on every failure path: kills what
 *                          is left, removes every directory it created
 *
 * Paths follow runc: linux.cgroupsPath absolute ("/a/b") is under each
 * hierarchy's root; relative ("a/b") is under the runtime's own cgroup; absent
 * means "/cell/<id>". With --systemd-cgroup it is "slice:prefix:name" (runc's
 * systemd driver, systemd.c): a transient scope prefix-name.scope in that
 * slice, started over D-Bus when the init enters it.
 *
 * Devices: when linux.resources.devices is present, runc's default allow
 * list (null, zero, full, random, urandom, tty, ptmx, pts, tun, mknod of
 * anything) is appended after the spec's rules, as runc does. Allow rules
 * for linux.devices entries are the caller's to add to resources.devices.
 */
#ifndef CELL_CGROUP_H
#define CELL_CGROUP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum cell_cgroup_mode {
	CELL_CGROUP_LEGACY,	/* v1 only */
	CELL_CGROUP_HYBRID,	/* v1 controllers, cgroup2 mounted at /sys/fs/cgroup/unified */
	CELL_CGROUP_UNIFIED,	/* cgroup2 at /sys/fs/cgroup */
};

/* Detected once per process from statfs() of /sys/fs/cgroup and children. */
int cell_cgroup_mode(enum cell_cgroup_mode *ret, cell_error **err);
const char *cell_cgroup_mode_name(enum cell_cgroup_mode mode);

struct cell_cgroup;

/* cgroups_path: linux.cgroupsPath or NULL; resources: linux.resources or
 * NULL; systemd: --systemd-cgroup. On failure nothing is left behind. */
int cell_cgroup_create(const char *id, const char *cgroups_path, json_object *resources,
		       bool systemd, struct cell_cgroup **ret, cell_error **err);
/* runc's org.systemd.property.NAME annotations, set on the unit when it
 * starts (--systemd-cgroup; nothing for cgroupfs). Call before enter. */
int cell_cgroup_set_annotations(struct cell_cgroup *cg, json_object *annotations, cell_error **err);
/* "cgroupfs" or "systemd". */
const char *cell_cgroup_driver(const struct cell_cgroup *cg);
/* A cgroup made by an earlier process, from state.json. */
int cell_cgroup_from_json(json_object *o, struct cell_cgroup **ret, cell_error **err);
json_object *cell_cgroup_to_json(const struct cell_cgroup *cg);

/* Point the cgroup at existing sub-cgroups, runc's `exec --cgroup`
 * values "[CTRL[,CTRL]:]PATH" (PATH relative; no CTRL: every hierarchy). */
int cell_cgroup_descend(struct cell_cgroup *cg, char **subs, cell_error **err);
/* O_DIRECTORY fd of the cgroup2 leaf for CLONE_INTO_CGROUP, or -1 (legacy v1). */
int cell_cgroup_clone_fd(struct cell_cgroup *cg);
/* Move a single-threaded process (just cloned or forked) into the cgroup. */
int cell_cgroup_enter(struct cell_cgroup *cg, pid_t pid, cell_error **err);
/* The same after a clone3 with CLONE_INTO_CGROUP on cell_cgroup_clone_fd():
 * only the v1 hierarchies are left to join (hybrid). */
int cell_cgroup_enter_cloned(struct cell_cgroup *cg, pid_t pid, cell_error **err);
/* Only the cgroup2 part (the v1 ones joined by the process itself). */
int cell_cgroup_enter_v2(struct cell_cgroup *cg, pid_t pid, cell_error **err);

/* A process joining its v1 hierarchies itself: another process writing its
 * pid waits out an RCU grace period per hierarchy (5-20 ms), a thread
 * writing "0" for itself does not. The runtime opens the `tasks` files
 * (permission is checked against the opener) before cloning the init; the
 * single-threaded init writes "0" to each. dirs borrow from the cgroup. */
struct cell_cgroup_self {
	int fds[16];
	const char *dirs[16];
	size_t n;
};
int cell_cgroup_self_fds(struct cell_cgroup *cg, struct cell_cgroup_self *ret, cell_error **err);
/* Write "0" to each and close it; the caller must be single-threaded. */
int cell_cgroup_join_self(struct cell_cgroup_self *s, cell_error **err);
void cell_cgroup_self_close(struct cell_cgroup_self *s);

/* The cgroup path as the container sees it in /proc/self/cgroup ("/cell/ID"),
 * and the absolute directory for a controller ("memory", or "" for v2). */
const char *cell_cgroup_path(const struct cell_cgroup *cg);
char *cell_cgroup_dir(const struct cell_cgroup *cg, const char *controller);

/* Live changes and queries. */
int cell_cgroup_update(struct cell_cgroup *cg, json_object *resources, cell_error **err);
int cell_cgroup_freeze(struct cell_cgroup *cg, bool frozen, cell_error **err);
int cell_cgroup_is_frozen(struct cell_cgroup *cg, bool *ret, cell_error **err);
/* Rootless without a writable hierarchy: the container has no cgroup. */
bool cell_cgroup_is_none(const struct cell_cgroup *cg);
int cell_cgroup_pids(struct cell_cgroup *cg, pid_t **ret, size_t *ret_n, cell_error **err);
/* Signal every process, race-free (cgroup.kill, or freeze + kill + thaw). */
int cell_cgroup_kill(struct cell_cgroup *cg, int sig, cell_error **err);
/* runc's `events --stats` shape: {"cpu":..,"memory":..,"pids":..,"blkio":..,"hugetlb":..}. */
int cell_cgroup_stats(struct cell_cgroup *cg, json_object **ret, cell_error **err);
/* How many processes of this cgroup the OOM killer has killed so far
 * (memory.events / memory.oom_control oom_kill; 0 where unknown). */
int cell_cgroup_oom_count(struct cell_cgroup *cg, uint64_t *ret, cell_error **err);
/* True when the OOM killer has killed a process of this cgroup. */
int cell_cgroup_oom_killed(struct cell_cgroup *cg, bool *ret, cell_error **err);

/* Fields accepted but ignored on this host ("linux.resources.memory.kernel
 * is ignored: ..."), for the runtime to print as warnings; NULL if none.
 * Owned by cg. */
char **cell_cgroup_notes(const struct cell_cgroup *cg);

/* Kill what is left and remove every directory created. ENOENT is success. */
int cell_cgroup_destroy(struct cell_cgroup *cg, cell_error **err);
void cell_cgroup_free(struct cell_cgroup *cg);

#endif
