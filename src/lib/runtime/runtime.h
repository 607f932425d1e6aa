/* cell-runtime's operations, as the OCI runtime spec's lifecycle and runc's
 * command line define them. Both `cell-runtime` and the `cell` engine call
 * these; nothing here prints. */
#ifndef CELL_RUNTIME_H
#define CELL_RUNTIME_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct cell_rt_opts {
	const char *root;		/* --root, default CELL_RUNTIME_ROOT */
	const char *bundle;		/* --bundle, default "." */
	const char *pid_file;		/* --pid-file */
	const char *console_socket;	/* --console-socket */
	bool no_pivot, no_new_keyring, systemd_cgroup;
	int preserve_fds;		/* --preserve-fds */
	bool detach;			/* run --detach */
	bool keep;			/* run --keep: do not delete after exit */
};

int cell_rt_create(const char *id, const struct cell_rt_opts *o, cell_error **err);
int cell_rt_start(const char *root, const char *id, cell_error **err);
/* create + start + wait; *ret_status is the container's exit status
 * (128 + signal when killed), or 0 with detach. */
int cell_rt_run(const char *id, const struct cell_rt_opts *o, int *ret_status, cell_error **err);
int cell_rt_kill(const char *root, const char *id, int sig, bool all, cell_error **err);
int cell_rt_delete(const char *root, const char *id, bool force, cell_error **err);
int cell_rt_state(const char *root, const char *id, json_object **ret, cell_error **err);
int cell_rt_pause(const char *root, const char *id, bool pause, cell_error **err);
int cell_rt_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, cell_error **err);
int cell_rt_update(const char *root, const char *id, json_object *resources, cell_error **err);
int cell_rt_stats(const char *root, const char *id, json_object **ret, cell_error **err);
/* `events`: a pidfd of the container's init (readable once it exits), or -1
 * with "not running"; and the count of OOM kills in its cgroup so far. */
int cell_rt_init_pidfd(const char *root, const char *id, cell_error **err);
int cell_rt_oom_count(const char *root, const char *id, uint64_t *ret, cell_error **err);

struct cell_exec_opts {
	const char *process_file;	/* --process: a process.json */
	char **args;			/* or the command line */
	char **env;			/* --env, added */
	const char *cwd;		/* --cwd */
	const char *user;		/* --user uid[:gid] */
	char **caps;			/* --cap, added */
	bool tty;			/* -t */
	bool no_new_privs;		/* --no-new-privs */
	bool detach;			/* -d */
	const char *console_socket;
	const char *pid_file;
	int preserve_fds;
	char **additional_gids;		/* --additional-gids, numbers */
	char **cgroups;			/* --cgroup [CTRL:]PATH, sub-cgroups to run in */
	bool ignore_paused;		/* --ignore-paused */
	unsigned console_height, console_width;	/* process.consoleSize of the pty, 0: none */
};
int cell_rt_exec(const char *root, const char *id, const struct cell_exec_opts *o, int *ret_status,
		 cell_error **err);

#endif
