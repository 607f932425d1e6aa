/* Container state on disk: <root>/<id>/state.json, written atomically under
 * a lock on the directory, plus the exec socket and a copy of config.json.
 *
 * The status is derived, never trusted from the file: a pid whose start time
 * differs from the recorded one is a reused pid, so the container is
 * stopped, whatever state.json says. */
#ifndef CELL_STATE_H
#define CELL_STATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CELL_RUNTIME_ROOT "/run/cell-runtime"
#define CELL_ID_MAX 1024

enum cell_status {
	CELL_STATUS_CREATING, CELL_STATUS_CREATED, CELL_STATUS_RUNNING,
	CELL_STATUS_PAUSED, CELL_STATUS_STOPPED,
};

struct cell_cgroup;

struct cell_state {
	char *root;		/* runtime root (--root) */
	char *id;
	char *dir;		/* <root>/<id> */
	char *bundle;
	char *rootfs;
	char *created;		/* RFC 3339 */
	char *owner;
	pid_t pid;		/* 0 while creating */
	uint64_t start_time;	/* /proc/PID/stat field 22 */
	pid_t creator;		/* pid of the `create` process while creating */
	json_object *annotations;
	json_object *cgroup;	/* cell_cgroup_to_json() */
	bool systemd_cgroup;
	int lock_fd;
};

/* A valid id: 1..CELL_ID_MAX bytes of [A-Za-z0-9_+.-], not "." or "..". */
int cell_state_check_id(const char *id, cell_error **err);

/* Create <root>/<id> and take its lock; EEXIST says the id is in use. */
int cell_state_new(const char *root, const char *id, struct cell_state **ret, cell_error **err);
/* Load an existing container, locked (exclusive) unless lock is false. */
int cell_state_load(const char *root, const char *id, bool lock, struct cell_state **ret, cell_error **err);
int cell_state_save(struct cell_state *st, cell_error **err);
/* Remove the state directory (the container's kernel objects are the
 * caller's to remove first). */
int cell_state_remove(struct cell_state *st, cell_error **err);
void cell_state_free(struct cell_state *st);

enum cell_status cell_state_status(struct cell_state *st);
const char *cell_status_name(enum cell_status s);
/* The OCI state JSON ({"ociVersion","id","status","pid","bundle",...}). */
json_object *cell_state_to_oci(struct cell_state *st);
/* Is the recorded init still the same live, non-zombie process? */
bool cell_state_init_alive(const struct cell_state *st);
/* Path of a file in the state dir ("exec.sock", "config.json"). */
char *cell_state_path(const struct cell_state *st, const char *name);
struct cell_spec;
/* The config.json saved at create time (hooks and exec after create use it,
 * whatever became of the bundle since). */
int cell_state_load_spec(const struct cell_state *st, struct cell_spec **ret, cell_error **err);
/* Ids of every container under root, sorted. */
int cell_state_list(const char *root, char ***ret, cell_error **err);

#endif
