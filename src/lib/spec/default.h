/* The config.json `cell-runtime spec` writes: runc's `runc spec`, with
 * hostname "cell". */
#ifndef CELL_SPEC_DEFAULT_H
#define CELL_SPEC_DEFAULT_H

#include <json-c/json.h>
#include <stdbool.h>

/* A new object the caller puts. rootless: a user namespace mapping the
 * current euid/egid to root, no network namespace, /sys as a read-only
 * rbind of the host's (which also brings /sys/fs/cgroup), no uid=/gid=
 * mount options and no linux.resources, as `runc spec --rootless`. The
 * cgroup namespace is in the list when cgroups are unified v2, as runc
 * does. */
json_object *cell_spec_default(bool rootless);

#endif
