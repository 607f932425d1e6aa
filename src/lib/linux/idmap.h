/* Id-mapped bind mounts (mounts[].options "idmap"/"ridmap"): the runtime,
 * still in the host's user namespace, clones the source tree detached,
 * marks it id-mapped with a user namespace holding the mount's mappings (or
 * the container's), and hands the tree fd to the init, which attaches it
 * with move_mount() where the spec asks. */
#ifndef CELL_IDMAP_H
#define CELL_IDMAP_H

#include <sys/types.h>

#include "error.h"
#include "spec/spec.h"

/* Write /proc/PID/uid_map or gid_map (file: "uid_map" / "gid_map"). */
int cell_idmap_write(pid_t pid, const char *file, const struct cell_idmap *m, size_t n, cell_error **err);
/* A user namespace with these mappings, as an fd (the process that made it
 * is gone when this returns). */
int cell_userns_fd(const struct cell_idmap *uid, size_t n_uid, const struct cell_idmap *gid, size_t n_gid,
		   cell_error **err);
/* For every idmap mount, a detached id-mapped tree; -1 elsewhere. The
 * caller closes the fds and frees the array. */
int cell_idmap_prepare(const struct cell_spec *s, int **ret_fds, cell_error **err);
/* Attach a prepared tree on the O_PATH fd of its destination. */
int cell_idmap_attach(int tree, int dest, const char *shown, cell_error **err);

#endif
