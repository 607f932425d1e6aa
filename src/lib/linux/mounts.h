/* The container's file system view, built inside its mount namespace before
 * and after pivot_root. Every destination is resolved inside the rootfs with
 * openat2(RESOLVE_IN_ROOT), and mounts target the resolved O_PATH fd through
 * /proc/self/fd, so a symlink in the image cannot redirect a mount onto the
 * host (the CVE-2021-30465 class). */
#ifndef CELL_MOUNTS_H
#define CELL_MOUNTS_H

#include <stdbool.h>

#include "error.h"

struct cell_spec;

/* Detach from the host's propagation and make the rootfs a mount point. */
int cell_rootfs_prepare(const struct cell_spec *s, cell_error **err);
/* Every mount of the spec, then /dev content (default devices, spec
 * devices, /dev symlinks). idmap_trees[i], when not NULL and >= 0, is the
 * detached id-mapped tree prepared for mounts[i] (see idmap.h). */
int cell_rootfs_mount_all(const struct cell_spec *s, bool in_userns, const int *idmap_trees, cell_error **err);
/* Detach every mount strictly below root_path in our mount namespace: what
 * a container without a mount namespace of its own mounted there. */
int cell_rootfs_unmount_below(const char *root_path, cell_error **err);
/* pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot). */
int cell_rootfs_pivot(const struct cell_spec *s, bool no_pivot, cell_error **err);
/* After pivot: maskedPaths, readonlyPaths, read-only root, rootfsPropagation. */
int cell_rootfs_finish(const struct cell_spec *s, cell_error **err);

/* Resolve path inside rootfd (creating it as a dir, or a file when
 * as_file, if missing) and return an O_PATH fd. */
int cell_resolve_in_root(int rootfd, const char *path, bool create, bool as_file, cell_error **err);

/* Write data to a procfs file (/proc/sys/..., /proc/self/attr/...) through
 * a procfs instance of the process's own, so that nothing mounted over the
 * path in the container can redirect the write (CVE-2025-52881). */
int cell_proc_write(const char *path, const char *data, cell_error **err);
/* Bind the pty (an fd, not a path) on /dev/console, resolved without
 * symlinks (CVE-2025-52565); nothing when there is no /dev. */
int cell_console_mount(int pty, cell_error **err);
/* tmpcopyup: copy the tree below src_dir (the destination before the
 * tmpfs went on it) into dst_dir (the new tmpfs), nothing followed. */
int cell_copyup(int src_dir, int dst_dir, const char *destination, cell_error **err);

#endif
