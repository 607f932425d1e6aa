/* Shared between the engine's files; not for the command line. */
#ifndef CELL_ENGINE_INTERNAL_H
#define CELL_ENGINE_INTERNAL_H

#include "engine.h"

struct cell_image;

/* --userns / --uidmap / --gidmap (userns.c) */
#define ENGINE_IDMAP_MAX 8
struct engine_idmap {
	uint32_t ctr, host, size;
};
struct engine_userns {
	const char *mode;	/* NULL: the host's; "auto"; "private" (--uidmap/--gidmap) */
	struct engine_idmap uid[ENGINE_IDMAP_MAX], gid[ENGINE_IDMAP_MAX];
	size_t n_uid, n_gid;
};
/* Check the flags (nothing touched); ret->mode NULL without a user namespace. */
int engine_userns_check(const struct cell_run_request *req, const char *network, struct engine_userns *ret,
			cell_error **err);
/* Pick the range for auto, write <cdir>/idmap.json (the allocation, read by
 * the image mount), under <root>/userns.lock. */
int engine_userns_allocate(struct cell_engine *e, const char *id, const char *cdir, struct engine_userns *u,
			   cell_error **err);
/* Volumes for the container's root: <root>/volumes searchable, and the
 * _data of the volumes this create made (names in created) its own when
 * nothing from the image gave them an owner. */
int engine_userns_volumes(struct cell_engine *e, char **created, const struct engine_userns *u, cell_error **err);
/* The user namespace and mappings into config.json. */
void engine_userns_apply(json_object *doc, const struct engine_userns *u);
/* The host id of container id `id`, UINT32_MAX when unmapped. */
uint32_t engine_userns_host(const struct engine_idmap *m, size_t n, uint32_t id);
/* HostConfig.IDMappings: {"UidMap": ["0:100000:65536"], "GidMap": [...]} */
json_object *engine_userns_record(const struct engine_userns *u);

/* The runtime config built from flags and image, plus what the record keeps. */
struct engine_spec {
	struct engine_userns userns;
	json_object *doc;		/* config.json */
	char *hostname;
	char **entrypoint, **cmd, **env;
	const char *network;		/* "none", "host", "bridge" or a network name */
	char **networks;		/* every network, the first is `network` (owned) */
	json_object *net_opts;		/* name → {ip, ip6, mac, aliases} of --network name=N,ip=... */
};

/* Every --network (each may be "a,b", or Docker 25's "name=N,ip=IP,ip6=IP,
 * alias=A,mac-address=M") into one list, Docker's override and combination
 * rules applied (none, host, container:, phys: stand alone). ret_opts (may
 * be NULL): name → {"ip","ip6","mac","aliases":[...]} for the networks given
 * with options, NULL when none was. */
int engine_networks_parse(const struct cell_run_request *req, char ***ret, json_object **ret_opts,
			  cell_error **err);
int engine_spec_build(const struct cell_run_request *req, const struct cell_image *img, const char *id,
		      const char *cdir, struct engine_spec *ret, cell_error **err);
void engine_spec_clear(struct engine_spec *s);
/* user[:group] → {"uid","gid","additionalGids"} from the rootfs's passwd/group. */
int engine_user_resolve(const char *rootfs, const char *user, json_object **ret, cell_error **err);
int engine_spec_set_user(json_object *doc, const char *rootfs, const char *user, cell_error **err);
/* Docker-like default seccomp profile for the capability set caps. */
json_object *engine_default_seccomp(char **caps);
/* --init: where cell-init is bound in the container, and the host binary. */
#define ENGINE_INIT_DEST "/sbin/docker-init"
int engine_init_find(char **ret, cell_error **err);
/* Every capability as "CAP_X" (strv_free). */
char **cell_all_caps(void);

/* --console-socket for the runtime (lifecycle.c): a listening socket at
 * path, and the pty master the runtime sends on it (accepted once). */
int engine_console_listen(const char *path, cell_error **err);
int engine_console_receive(int lfd, cell_error **err);

/* Record files. */
int engine_record_read(struct cell_engine *e, const char *id, json_object **ret, cell_error **err);
int engine_record_write(struct cell_engine *e, const char *id, json_object *rec, cell_error **err);
/* Lock of one container (exclusive), an fd to close. */
int engine_lock(struct cell_engine *e, const char *id, cell_error **err);
/* Operations (record.c): take the container for op ("starting",
 * "stopping", "restarting", "removing", "pausing", "unpausing") until
 * engine_op_release. Waits (30 s at most) while another command's
 * operation runs, but fails at once against a removal, with "container X
 * is being removed by another command (pid N)"; rm -f SIGKILLs a container
 * being stopped rather than wait out the stop's timeout. Returns 0 when
 * taken, 1 when already ours (nested in our own operation, or we are a
 * monitor step of the command that holds it), -1 on failure. */
int engine_op_take(struct cell_engine *e, const char *id, const char *op, cell_error **err);
/* Is rec's operation held by another command (not us, not the command we act for)? */
bool engine_op_busy(json_object *rec);
/* Give back what engine_op_take returned (only 0 releases anything). */
void engine_op_release(struct cell_engine *e, const char *id, int taken);
/* Drop our operation from a record being written anyway (in a
 * cell_ctr_update callback); true when there was one. */
bool engine_op_clear(json_object *rec);
/* For commands that do not take the container (kill, exec): wait out a
 * start, fail against a removal. */
int engine_op_observe(struct cell_engine *e, const char *id, cell_error **err);
/* Before the monitor is started: its steps act for our operation. */
void engine_op_owner_env(char *buf, size_t size);
/* Remove everything of a container whose processes are gone or killed:
 * runtime state and cgroup, rootfs mount, directory, name. */
int engine_destroy(struct cell_engine *e, const char *id, json_object *rec, cell_error **err);

/* Is the runtime's container still alive (created, running or paused)?
 * ret_status gets the runtime status ("running", "paused", "stopped", ...) or
 * "" when the runtime has no such container. */
int engine_rt_status(struct cell_engine *e, const char *id, char *ret_status, size_t len, int *ret_pid);

/* Start cell-monitor for the container (monitor.c) and wait until the
 * container runs, or fail with the reason. attach_fd: a SOCK_SEQPACKET
 * socket the monitor takes as its first attach client (-1: none). */
int engine_monitor_start(struct cell_engine *e, const char *id, int attach_fd, cell_error **err);
/* A stop while the monitor waits to restart the container: wake it, and
 * wait (5 s at most) until it recorded the container as exited. */
void engine_monitor_cancel_restart(struct cell_engine *e, const char *id);
/* cell_ctr_start with the monitor's first attach client (lifecycle.c). */
int engine_ctr_start(struct cell_engine *e, const char *id, int attach_fd, cell_error **err);

/* Create + start the runtime container with the given stdio; ret_pid the init. */
int engine_rt_launch(struct cell_engine *e, const char *id, const char *console_socket, pid_t *ret_pid,
		     cell_error **err);
/* After the init exited with wait status ws: oom check, runtime delete,
 * record update. Returns Docker's exit code. */
int engine_after_exit(struct cell_engine *e, const char *id, int ws, cell_error **err);
/* A container whose watcher (cell-monitor, or a foreground `cell run`) died
 * and whose init is gone (or that was waiting to restart): its exit is
 * recorded as the watcher would have (runtime state, network, the record),
 * with `code` when the caller knows it (>= 0), else 137 for an OOM kill, else
 * Docker's 255 for "unknown"; FinishedAt now, never before StartedAt;
 * State.Unwatched set so that the restart policy is resumed by
 * cell_ctr_revive(). Nothing is done while another command works on it or a
 * live watcher exists. 1 when it recorded an exit, 0 when nothing was due. */
int engine_orphan_settle(struct cell_engine *e, const char *id, int code);

/* Time now, RFC 3339 (caller frees). */
char *engine_now(void);

int engine_record_running(struct cell_engine *e, const char *id, pid_t pid, cell_error **err);
/* The same, watched by process monitor rather than by us. */
int engine_record_running_for(struct cell_engine *e, const char *id, pid_t pid, pid_t monitor, cell_error **err);
int engine_record_error(struct cell_engine *e, const char *id, const cell_error *x);
int engine_launch_tty(struct cell_engine *e, const char *id, pid_t *ret_pid, int *ret_master, cell_error **err);
int engine_name_reserve(struct cell_engine *e, const char *name, const char *id, cell_error **err);
void engine_name_release(struct cell_engine *e, const char *name, const char *id);

/* Does this NetworkMode get an interface through cell_net_attach? */
bool engine_net_attached(const char *mode);
/* The cell network of a NetworkMode ("bridge" → cell0). */
const char *engine_net_name(const char *mode);
/* NetworkSettings.Networks' entry of a network joined (res may be NULL: one
 * recorded, not joined yet); cfg: its EndpointsConfig entry (may be NULL). */
struct cell_net_result;
json_object *engine_endpoint_json(const struct cell_net_result *r, json_object *cfg, char **dns_names);

/* Foreground runs: launch with stdout/stderr on pipes, then copy them to
 * ours and to ctr.log until the init exits; returns its wait status. */
int engine_launch_piped(struct cell_engine *e, const char *id, pid_t *ret_pid, int *ret_out, int *ret_err,
			cell_error **err);
int engine_pump_foreground(struct cell_engine *e, const char *id, pid_t pid, int out, int errfd);

/* attach.c: runs a foreground `run -t` through a monitor with us attached;
 * false when this container is not run that way (then nothing was done),
 * else *ret is the result (0 or -1) and *ret_status Docker's exit status. */
bool engine_run_monitored(struct cell_engine *e, const char *id, int *ret_status, int *ret, cell_error **err);

#endif
