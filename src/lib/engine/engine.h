/* The engine: containers as `cell` sees them, on top of the runtime and the
 * image store. No daemon: each detached container has one small monitor
 * process (cell-monitor, src/monitor/; cell's side in monitor.c); every
 * other command reads the records and asks the runtime for the truth.
 *
 * Layout under the engine root (`cell --root`, default /var/lib/cell):
 *
 *   containers/<id>/config.json   the record (Docker's inspect keys: Id, Name,
 *                                 Created, Image, ImageID, Config, HostConfig,
 *                                 State, Mounts, LogPath ...), atomic writes
 *   containers/<id>/              the directory itself is flock()ed while the
 *                                 record changes (no lock file to create)
 *   containers/<id>/bundle/       config.json for the runtime
 *   containers/<id>/rootfs        overlay (upper, work beside it)
 *   containers/<id>/ctr.log       JSON lines {"log","stream","time"}, .1 rotated
 *   containers/<id>/attach.sock   the monitor's attach socket (monitor-proto.h)
 *   containers/<id>/hosts, hostname, resolv.conf
 *   containers/.names/<name>      symlink to the id: the name's one owner,
 *                                 made with symlink() so two creates of one
 *                                 name cannot both win
 *
 * Runtime state lives under the runtime root (`<runroot>/runtime`), the
 * runtime container id is the engine id.
 */
#ifndef CELL_ENGINE_H
#define CELL_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct cell_engine {
	char *root;		/* engine root */
	char *ctr_root;		/* <root>/containers */
	char *rt_root;		/* runtime root */
	const char *detach_keys;	/* `run -it --detach-keys`: NULL for Docker's ctrl-p,ctrl-q */
};

/* `cell --cgroup-manager systemd`: new containers get a systemd scope
 * (cgroupsPath "machine.slice:cell:ID", the runtime's --systemd-cgroup)
 * instead of /cell/ID. Set by the CLI before the first cell_engine_open(). */
extern bool cell_engine_systemd_cgroup;

int cell_engine_open(const char *root, const char *runroot, struct cell_engine **ret, cell_error **err);
void cell_engine_free(struct cell_engine *e);

/* ---- what `run` and `create` ask for (strings borrowed from argv) ---- */
struct cell_run_request {
	const char *image;
	char **cmd;			/* NULL: the image's Cmd */
	const char *name;		/* NULL: a random Docker-style name */
	char **env, **env_files;	/* -e K=V or K (taken from our env), --env-file */
	char **volumes;			/* -v host:ctr[:ro|rw], name:ctr, ctr (volumes: volume.h) */
	char **mounts;			/* --mount type=bind|volume|tmpfs,... */
	char **labels;			/* --label k=v */
	char **cap_add, **cap_drop;
	char **ulimits;			/* --ulimit nofile=1024:2048 */
	char **security_opts;		/* no-new-privileges, seccomp=unconfined|FILE */
	char **tmpfs;			/* --tmpfs /path[:opts] */
	char **publish;			/* -p [IP:][HOST:]PORT[/proto] */
	char **log_opts;		/* --log-opt max-size=10m */
	const char *workdir, *user, *hostname, *entrypoint;
	const char *network;		/* none, host, bridge (cell0) or a network name; NULL: bridge */
	/* every --network in order (each may be "a,b"); network is the first.
	 * Also container:NAME|ID (its netns) and phys:HOSTIF (an interface moved in). */
	char **networks;
	const char *ip, *ip6, *mac_address;	/* --ip, --ip6, --mac-address: the first network */
	char **network_aliases;		/* --network-alias: names on the first network */
	char **dns, **dns_search, **dns_options;	/* resolv.conf */
	char **add_hosts;		/* --add-host NAME:IP (IP may be host-gateway) */
	const char *netns_name;		/* --netns-name: /run/netns/NAME while it runs */
	bool publish_all;		/* -P: every EXPOSE on a host port chosen */
	bool entrypoint_set;
	const char *memory, *memory_swap, *cpus, *cpu_shares, *cpuset_cpus, *pids_limit;
	const char *restart;		/* no|on-failure[:N]|always|unless-stopped */
	const char *stop_signal, *stop_timeout;
	bool read_only, privileged, rm, tty, interactive, init, detach;
	/* --userns host|auto (NULL: host); --uidmap/--gidmap CTR:HOST:N (podman's) */
	const char *userns;
	char **uidmaps, **gidmaps;
	/* --health-cmd, --health-interval ... over the image's HEALTHCHECK (health.h) */
	const char *health_cmd, *health_interval, *health_timeout, *health_retries, *health_start_period,
		*health_start_interval, *health_on_failure;
	bool no_healthcheck;
	/* Docker's run flags applied by flags.c */
	char **devices, **sysctls, **group_add, **annotations;
	char **device_read_bps, **device_write_bps, **device_read_iops, **device_write_iops;
	const char *shm_size, *oom_score_adj, *ipc, *uts, *pid, *cgroupns, *cgroup_parent;
	const char *memory_reservation, *cpu_period, *cpu_quota, *cpuset_mems, *blkio_weight;
	bool oom_kill_disable;
	const char *log_driver;		/* json-file (NULL) or none: the monitor keeps no ctr.log */
};

/* Validate everything, then create the record, the rootfs mount and the
 * bundle. On failure nothing is left. ret_id: 64 hex, caller frees. */
int cell_ctr_create(struct cell_engine *e, const struct cell_run_request *req, char **ret_id,
		    cell_error **err);

/* ---- records ---- */

/* Find a container by full id, unique id prefix or name. ret_id caller frees. */
int cell_ctr_lookup(struct cell_engine *e, const char *ref, char **ret_id, cell_error **err);
/* All ids (NULL-terminated, strv_free), sorted by creation, newest first. */
int cell_ctr_list(struct cell_engine *e, char ***ret, cell_error **err);
/* Load the record; its State.Status reconciled with the runtime's view (a
 * "running" record whose init is gone reads "exited"). Caller puts. */
int cell_ctr_load(struct cell_engine *e, const char *id, json_object **ret, cell_error **err);
/* Record helpers. */
const char *cell_ctr_status(json_object *rec);
int cell_ctr_pid(json_object *rec);
char *cell_ctr_dir(struct cell_engine *e, const char *id);
/* Lock, load, let fn change the record, write it back atomically. */
int cell_ctr_update(struct cell_engine *e, const char *id,
		    int (*fn)(json_object *rec, void *data, cell_error **err), void *data, cell_error **err);
/* The container's root file system on the host (mounted again if a reboot
 * lost it), for `cp`. Caller frees. */
int cell_ctr_rootfs(struct cell_engine *e, const char *id, char **ret, cell_error **err);

/* cp.c: a copy between a container (running or stopped: its root and its
 * mounts, as it sees them, never leaving them through a link) and the host
 * or a tar stream; Docker's rules for where SRC lands (docs/cell.1 cp). */
struct cell_cp_req {
	const char *id;
	const char *ref;		/* the name the user gave, for messages (NULL: id) */
	const char *ctr_path;
	bool into;			/* host (or tar) → container */
	const char *host_path;		/* NULL: a tar on tar_fd (read when into, else written) */
	int tar_fd;
	bool archive;			/* keep uid/gid (-a; the API's copyUIDGID) */
	bool follow;			/* follow a link as SRC (-L) */
};
int cell_ctr_cp(struct cell_engine *e, const struct cell_cp_req *q, cell_error **err);
/* changes.c: what the container changed since its creation, sorted by path:
 * "A /added", "C /changed", "D /deleted" (NULL-terminated, caller frees). */
int cell_ctr_changes(struct cell_engine *e, const char *id, char ***ret, cell_error **err);
/* update.c: new resource limits and restart policy. res: OCI
 * linux.resources with only what changes; hc: the same as HostConfig keys
 * (Memory, NanoCpus, ...); restart: a policy name or NULL. */
struct cell_update_req {
	json_object *res;
	json_object *hc;
	const char *restart;
	int restart_max;
};
int cell_ctr_update_resources(struct cell_engine *e, const char *id, const struct cell_update_req *u,
			      cell_error **err);
/* The container's changes as a new image (cell_image_commit), paused for
 * the time of it when running and pause is set; o->ids is filled in here.
 * ref: the name the user gave, for messages and the history's created_by. */
struct cell_commit_opts;
int cell_ctr_commit(struct cell_engine *e, const char *id, const char *ref, bool pause, struct cell_commit_opts *o,
		    char **ret_id, cell_error **err);
/* lstat of path as the container sees it (ids as the container's); a link's
 * *ret_link is where it leads in the container, else NULL (caller frees). */
int cell_ctr_cp_stat(struct cell_engine *e, const char *id, const char *ref, const char *path, struct stat *ret,
		     char **ret_link, cell_error **err);
int cell_ctr_rename(struct cell_engine *e, const char *id, const char *name, cell_error **err);

/* ---- lifecycle ---- */

/* Start detached: start cell-monitor, which creates and starts the
 * container and reports back once it runs (or why it did not). */
int cell_ctr_start(struct cell_engine *e, const char *id, cell_error **err);
/* A container whose monitor died (State.Unwatched, see cell_ctr_load) is
 * started again when its restart policy says so, as the monitor would have:
 * what `cell ps` does for each container. 1 when restarted, 0 when not due,
 * -1 when the start failed (warned). */
int cell_ctr_revive(struct cell_engine *e, const char *id);
/* The same, the monitor taking attach_fd (one end of a SOCK_SEQPACKET pair)
 * as its first attach client before the container starts: the other end
 * sees everything from the first byte (the API's attach-then-start). */
int cell_ctr_start_fd(struct cell_engine *e, const char *id, int attach_fd, cell_error **err);
/* ---- attach (attach.c): the container's monitor relays stdio ---- */
#define CELL_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"
#define CELL_DETACH_KEYS_MAX 16
struct cell_attach_opts {
	bool no_stdin;			/* --no-stdin */
	bool sig_proxy;			/* pass our signals on (without a tty) */
	const char *detach_keys;	/* NULL: CELL_DETACH_KEYS_DEFAULT */
	bool stdin_once;		/* `run -i` without a tty: our EOF closes the container's stdin */
};
/* Relay our stdio to a running container until it exits (*ret_status its
 * exit status) or the detach keys are typed on its tty (*ret_status 0, the
 * container runs on). */
int cell_ctr_attach(struct cell_engine *e, const char *id, const struct cell_attach_opts *o, int *ret_status,
		    cell_error **err);
/* Start under a monitor and attach from the first byte (`start -a`). */
int cell_ctr_start_attached(struct cell_engine *e, const char *id, const struct cell_attach_opts *o,
			    int *ret_status, cell_error **err);
/* Docker's --detach-keys "ctrl-p,ctrl-q" → the bytes 0x10 0x11. */
int cell_detach_keys_parse(const char *s, unsigned char *ret, size_t *ret_len, cell_error **err);

/* `cell monitor-step STEP ID [ARG]`, run by cell-monitor only (monitor.c):
 * chan is the fd of its channel to the monitor. */
int cell_monitor_step(struct cell_engine *e, const char *step, const char *id, const char *arg, int chan,
		      cell_error **err);
/* Run in the foreground with our stdio (a pty relayed when Config.Tty),
 * forwarding signals; *ret_status: Docker's exit status. With AutoRemove the
 * container is removed afterwards. */
int cell_ctr_run_attached(struct cell_engine *e, const char *id, int *ret_status, cell_error **err);
/* Signal the init (all: every process of the cgroup). */
int cell_ctr_kill(struct cell_engine *e, const char *id, int sig, cell_error **err);
/* StopSignal, then SIGKILL after timeout seconds (-1: the container's own). */
int cell_ctr_stop(struct cell_engine *e, const char *id, int timeout, cell_error **err);
/* Stop, then start, as one operation (nothing else acts in between). */
int cell_ctr_restart(struct cell_engine *e, const char *id, int timeout, cell_error **err);
/* Remove: force stops a running one first. Everything goes: runtime state,
 * cgroup, network, rootfs mount, the directory and the name. */
int cell_ctr_remove(struct cell_engine *e, const char *id, bool force, cell_error **err);
/* Remove every stopped container (exited, created, dead); one that fails is
 * warned about and skipped. *ret_ids: the removed ids (strv_free), bytes
 * their writable layers held (may be NULL). */
int cell_ctr_prune(struct cell_engine *e, char ***ret_ids, uint64_t *ret_bytes, cell_error **err);
/* Wait for the container to be stopped; *ret_code its exit code. */
int cell_ctr_wait(struct cell_engine *e, const char *id, int *ret_code, cell_error **err);
int cell_ctr_pause(struct cell_engine *e, const char *id, bool pause, cell_error **err);
/* Exit status of exec'ing a process in a running container (Docker's codes). */
struct cell_exec_request {
	char **args, **env;
	const char *user, *workdir;
	bool tty, interactive, detach, privileged;
	const char *console_socket;	/* with tty: the pty master goes there (runc's --console-socket) */
	const char *pid_file;		/* the exec'd process's pid, written once it runs */
	unsigned short rows, cols;	/* with tty: its size from the start, 0: none */
};
int cell_ctr_exec(struct cell_engine *e, const char *id, const struct cell_exec_request *req,
		  int *ret_status, cell_error **err);

/* An exec whose I/O another program relays (the API service, exec.c): the
 * exec runs in a child process of ours (a session of its own) with stdin,
 * stdout, stderr the fds given (-1: /dev/null); with req->tty its stdio is a
 * pty and *master its master. Returns once the process runs, or failed to:
 * then -1, *err the reason, status Docker's code (126, 127, 125), the child
 * reaped. On success waitpid(child) is the caller's: its exit status is
 * the exec's (Docker's codes). */
struct cell_exec_spawn {
	int in, out, err;		/* given */
	pid_t child;			/* out: ours, to wait for */
	int pidfd;			/* out: the child's pidfd (readable once it exits), caller closes */
	int master;			/* out: the pty master with req->tty, else -1; caller closes */
	pid_t pid;			/* out: the exec'd process (host pid) */
	int status;			/* out: on failure, the exit code to report */
};
int cell_ctr_exec_spawn(struct cell_engine *e, const char *id, const struct cell_exec_request *req,
			struct cell_exec_spawn *s, cell_error **err);

/* Docker's exit status for a failed start or exec: 127 command not found,
 * 126 not executable, else 125. */
int cell_ctr_exit_code(const cell_error *err);

/* ---- logs ---- */
struct cell_logs_opts {
	bool follow, timestamps;
	long tail;		/* -1: all */
	const char *since;	/* RFC 3339 or NULL */
};
int cell_ctr_logs(struct cell_engine *e, const char *id, const struct cell_logs_opts *o, cell_error **err);

/* ---- pieces with unit tests ---- */

/* "adjective_surname" from Docker's word lists. Caller frees. */
char *cell_name_random(void);
/* Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
bool cell_name_valid(const char *name);
/* 64 random hex digits. */
char *cell_id_new(void);
/* --restart: "no", "always", "unless-stopped", "on-failure[:N]". */
int cell_restart_parse(const char *s, char **ret_name, int *ret_max, cell_error **err);
/* --cpus 1.5 → quota 150000 for period 100000. */
int cell_cpus_parse(const char *s, int64_t *ret_quota, cell_error **err);
/* --ulimit name=soft[:hard] → {"type":"RLIMIT_NOFILE","soft":..,"hard":..}. */
int cell_ulimit_parse(const char *s, json_object **ret, cell_error **err);
/* -v host:ctr[:opts] → OCI bind mount (host path must exist, made absolute);
 * -v name:ctr[:ro,nocopy] and -v ctr[:ro] → a mount of type "volume" (source
 * the name, "" when anonymous) that create.c resolves through volume.h. */
int cell_volume_parse(const char *s, json_object **ret, cell_error **err);
/* --mount type=bind|volume|tmpfs,source=,target=,readonly,volume-nocopy,tmpfs-size= → OCI mount. */
int cell_mount_flag_parse(const char *s, json_object **ret, cell_error **err);
/* A capability name as Docker accepts it ("net_admin", "CAP_NET_ADMIN", "ALL")
 * → "CAP_NET_ADMIN" (or "ALL"). NULL when unknown. Caller frees. */
char *cell_cap_normalize(const char *s);
/* Docker's default capability set, NULL-terminated. */
extern const char *const cell_default_caps[];

/* A log line as written: {"log":..., "stream":..., "time":...}\n. Caller frees. */
char *cell_log_line(const char *stream, const char *data, size_t len);

#endif
