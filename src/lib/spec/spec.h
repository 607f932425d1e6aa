/* The OCI runtime configuration (config.json), parsed and validated up front
 * so that a bad field is reported before anything is created.
 *
 * Parts handed whole to another module (linux.resources to cgroup/,
 * linux.seccomp to seccomp.c, process.capabilities to caps.c) stay as json-c
 * objects owned by spec->json. */
#ifndef CELL_SPEC_H
#define CELL_SPEC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum cell_ns_type {
	CELL_NS_PID, CELL_NS_NET, CELL_NS_IPC, CELL_NS_UTS, CELL_NS_MNT,
	CELL_NS_USER, CELL_NS_CGROUP, CELL_NS_TIME, CELL_NS_COUNT
};

struct cell_ns {
	bool enabled;	/* listed in linux.namespaces */
	char *path;	/* join this one instead of creating, or NULL */
};

struct cell_idmap {
	uint32_t container_id, host_id, size;
};

struct cell_mount {
	char *destination;	/* absolute, relative ones are made absolute */
	char *type;		/* may be NULL for bind mounts */
	char *source;
	unsigned long flags;	/* MS_* from options */
	unsigned long clear;	/* MS_* options asked to be cleared (rw, suid, ...) */
	unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (+MS_REC) */
	char *data;		/* remaining options for the file system */
	bool bind, recursive;
	bool idmap;		/* idmap / ridmap: id-mapped bind mount */
	bool tmpcopyup;		/* tmpfs: copy what is below the destination into it */
	struct cell_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	unsigned long attr_set, attr_clr; /* mount_setattr attributes (rro, ...) */
};

struct cell_rlimit {
	int resource;
	uint64_t soft, hard;
	char *name;
};

struct cell_device {
	char *path;
	char type;		/* c, b, u, p */
	int64_t major, minor;
	uint32_t mode;
	bool has_mode;
	uint32_t uid, gid;
	bool has_uid, has_gid;
};

struct cell_hook {
	char *path;
	char **args, **env;
	int timeout;		/* seconds, 0 = none */
};

enum cell_hook_kind {
	CELL_HOOK_PRESTART, CELL_HOOK_CREATE_RUNTIME, CELL_HOOK_CREATE_CONTAINER,
	CELL_HOOK_START_CONTAINER, CELL_HOOK_POSTSTART, CELL_HOOK_POSTSTOP, CELL_HOOK_COUNT
};

struct cell_process {
	bool terminal;
	uint32_t console_height, console_width;
	uint32_t uid, gid;
	int64_t umask;		/* -1 = unset */
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **args, **env;
	char *cwd;
	json_object *capabilities;
	struct cell_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile, *selinux_label;
	json_object *scheduler;	/* process.scheduler */
	json_object *io_priority; /* process.ioPriority */
};

struct cell_spec {
	json_object *json;	/* the whole document; owns the borrowed objects */
	char *bundle;		/* absolute bundle directory */
	char *oci_version;
	char *root_path;	/* absolute */
	bool root_readonly;
	char *hostname, *domainname;
	struct cell_process process;
	bool has_process;
	struct cell_mount *mounts;
	size_t n_mounts;
	struct cell_hook *hooks[CELL_HOOK_COUNT];
	size_t n_hooks[CELL_HOOK_COUNT];
	struct cell_ns ns[CELL_NS_COUNT];
	struct cell_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	int64_t time_offsets[2][2];	/* [monotonic|boottime][secs|nanosecs] */
	bool has_time_offsets;
	struct cell_device *devices;
	size_t n_devices;
	char *cgroups_path;
	json_object *resources;
	unsigned long rootfs_propagation;
	char **masked_paths, **readonly_paths;
	json_object *sysctl;
	json_object *seccomp;
	json_object *personality;
	json_object *net_devices;
	json_object *annotations;
	char *mount_label;
};

/* Parse and validate <bundle>/config.json. */
int cell_spec_load(const char *bundle, struct cell_spec **ret, cell_error **err);
/* Parse a document already read (for tests and fuzzing). */
int cell_spec_parse(json_object *doc, const char *bundle, struct cell_spec **ret, cell_error **err);
void cell_spec_free(struct cell_spec *s);

/* Parse process (used by `exec --process`) into p; strings are copies. */
int cell_spec_parse_process(json_object *o, const char *ctx, struct cell_process *p, cell_error **err);
void cell_spec_process_clear(struct cell_process *p);

const char *cell_ns_name(enum cell_ns_type t);	/* "pid", "network", ... */
const char *cell_ns_proc_name(enum cell_ns_type t); /* "pid", "net", ... as in /proc/PID/ns */
int cell_ns_clone_flag(enum cell_ns_type t);
const char *cell_hook_kind_name(enum cell_hook_kind k);

/* Parse one mount option list into m (used for tests). */
int cell_mount_parse_options(struct cell_mount *m, char **options, const char *ctx, cell_error **err);

#endif
