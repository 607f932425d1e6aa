/* Namespaces as the host sees them: what `lsns` lists, plus the container
 * that owns each one.
 *
 * A namespace is known by its nsfs inode ("net:[4026532253]"). The scan
 * walks /proc/[0-9]*\/ns/<type> (processes, not threads, as lsns does), keeps
 * the lowest pid holding each namespace and counts the processes in it,
 * adds namespaces that only a bind mount keeps alive (`ip netns add` mounts
 * the nsfs inode on /run/netns/NAME, found in /proc/self/mountinfo), asks
 * the kernel for the netnsid of each network namespace (RTM_GETNSID), and
 * for the parent and owner of each (NS_GET_PARENT / NS_GET_USERNS ioctls).
 *
 * Containers are found through their runtime's state files: the cell engine
 * (<runroot>/runtime/<id>/state.json, named from its record), cell-runtime
 * (/run/cell-runtime/<id>/state.json, "pid"), runc and podman with runc
 * (/run/runc/<id>/state.json, "init_process_pid"), containerd's runc shim
 * (/run/containerd/runc/<namespace>/<id>/state.json), crun and podman with
 * crun (/run/crun/<id>/status, "pid"), Docker's runc
 * (/run/docker/runtime-runc/moby/<id>/state.json). A container owns the
 * namespaces of its init process that differ from the caller's. */
#ifndef CELL_NSINFO_H
#define CELL_NSINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* In the order lsns sorts them when inodes tie (never: inodes are unique)
 * and the order in which `cell enter` joins them: user first. */
enum cell_ns_type {
	CELL_NS_USER, CELL_NS_CGROUP, CELL_NS_IPC, CELL_NS_UTS, CELL_NS_NET,
	CELL_NS_PID, CELL_NS_MNT, CELL_NS_TIME,
	CELL_NS_NTYPES
};

/* "mnt", "net", ... as /proc/PID/ns names them; NULL when out of range. */
const char *cell_ns_type_name(int type);
/* Parse a type name (also "mount", "network"); -1 when unknown. */
int cell_ns_type_parse(const char *name);
/* The CLONE_NEW* flag of a type. */
int cell_ns_type_flag(int type);

/* Parse an nsfs link or mountinfo root, "net:[4026532253]". */
int cell_ns_parse_link(const char *s, int *ret_type, uint64_t *ret_ino);

/* One line of /proc/PID/mountinfo (proc(5)), octal escapes undone. */
struct cell_mountinfo {
	char *root;		/* field 4: the mount's root within its file system */
	char *mountpoint;	/* field 5 */
	char *fstype, *source, *options;	/* after the "-": type, source, super options */
};
int cell_mountinfo_parse_line(const char *line, struct cell_mountinfo *ret);
void cell_mountinfo_clear(struct cell_mountinfo *m);

/* One line of /proc/PID/mountinfo: if it is an nsfs mount, its namespace
 * and mount point (octal escapes undone, caller frees); 0 if not nsfs. */
int cell_ns_parse_mountinfo_line(const char *line, int *ret_type, uint64_t *ret_ino,
				 char **ret_mountpoint);

#define CELL_NETNSID_NONE (-2)	/* not a network namespace, or unknown */
#define CELL_NETNSID_UNASSIGNED (-1)

struct cell_ns {
	uint64_t ino;
	int type;
	unsigned nprocs;	/* processes in it; 0 when only a bind mount holds it */
	pid_t pid;		/* lowest pid in it, 0 if none */
	pid_t ppid;
	uid_t uid;		/* owner of pid */
	char *command;		/* cmdline of pid (comm for kernel threads) */
	char *path;		/* /proc/PID/ns/TYPE, or the first nsfs mount */
	char **nsfs;		/* where it is bind-mounted, NULL-terminated, may be NULL */
	int netnsid;		/* CELL_NETNSID_* or the id */
	uint64_t parent;	/* NS_GET_PARENT (user, pid), 0 if none/unknown */
	uint64_t owner;		/* NS_GET_USERNS, 0 if unknown */
	char *container;	/* owning container, "ID" for cell, "runc:ID", ... */
};

struct cell_ns_list {
	struct cell_ns *ns;	/* sorted by inode */
	size_t n;
};

struct cell_ns_filter {
	unsigned types;		/* bit (1 << type) per wanted type, 0 = all */
	pid_t pid;		/* only the namespaces of this process, 0 = all */
	uint64_t ino;		/* only this namespace, 0 = all */
};

int cell_ns_scan(const struct cell_ns_filter *f, struct cell_ns_list **ret, cell_error **err);
void cell_ns_list_free(struct cell_ns_list *l);
const struct cell_ns *cell_ns_find(const struct cell_ns_list *l, uint64_t ino);

/* The inode of /proc/PID/ns/TYPE ("self" for pid 0); 0 and *err on failure. */
uint64_t cell_ns_ino(pid_t pid, int type, cell_error **err);

/* The netnsid the caller's network namespace gives the namespace open at
 * nsfd, or CELL_NETNSID_UNASSIGNED. */
int cell_ns_netnsid(int nsfd, cell_error **err);

/* A container found in some runtime's state. */
struct cell_ns_ctr {
	char *name;	/* as shown: NAME (cell engine), ID (cell-runtime), "runc:ID",
			 * "containerd:NS/ID", "crun:ID", "docker:ID" */
	char *id;
	pid_t pid;	/* init, 0 if stopped or its pid was reused */
};

/* Where the cell engine keeps its records and its runtime state (`cell
 * --root`, default /var/lib/cell; runroot, default /run/cell): its
 * containers are found in <runroot>/runtime/<id>/state.json and shown by
 * the name in <root>/containers/<id>/config.json. */
void cell_ns_ctr_set_engine(const char *root, const char *runroot);

/* Every container with a live init, of every runtime cell knows about. */
int cell_ns_ctr_scan(struct cell_ns_ctr **ret, size_t *ret_n, cell_error **err);
void cell_ns_ctr_free(struct cell_ns_ctr *v, size_t n);
/* Resolve a container name (id, unique id prefix, or "runtime:id") to its
 * init pid. */
int cell_ns_ctr_resolve(const char *name, pid_t *ret_pid, char **ret_name, cell_error **err);

/* Human reading of one uid_map/gid_map line: "0 1000 1" gives
 * "id 0 inside is 1000 outside (1 id)". Caller frees; NULL if malformed. */
char *cell_idmap_explain(const char *line, const char *what);

#endif
