/* Opening files that a container's root or an image supplies.
 *
 * Everything below a rootfs, an upper dir or an unpacked layer is hostile:
 * an image (or a process of a running container) can make /etc/passwd a
 * symlink to a host file (absolute or ../../..), to /dev/zero, a fifo, a
 * directory or a 1 GiB sparse file. The lookups here resolve every component
 * inside the root (openat2 RESOLVE_IN_ROOT, no magic links such as
 * /proc/self/root), do not follow a symlink at the end, open without
 * blocking on a fifo, accept regular files only and bound what is read.
 */
#ifndef CELL_ROOT_H
#define CELL_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The bare openat2(2) syscall: fd or -1 with errno (ENOSYS before 5.6).
 * An empty path means the dir itself ("."). */
int cell_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve);

/* Open `path` (absolute or relative, resolved inside rootfd) as a regular
 * file: O_RDONLY | extra flags, O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS. Returns the fd, or a negative errno with *err set
 * (-ENOENT when the file is missing, so callers can treat that as "none"). */
int open_in_root(int rootfd, const char *path, int flags, cell_error **err);

/* Read the regular file `path` inside rootfd whole, refusing one over max
 * bytes, into a NUL-terminated buffer. Returns 0, or a negative errno as
 * open_in_root() does (-EFBIG when too large). */
int read_in_root(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len, cell_error **err);

/* read_in_root() on a root given by its path. */
int read_in_root_path(const char *root, const char *path, size_t max, char **ret, size_t *ret_len,
		      cell_error **err);

#endif
