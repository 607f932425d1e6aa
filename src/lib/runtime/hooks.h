/* OCI hooks: each runs as a child of the runtime (or of the container init
 * for createContainer and startContainer), the container state JSON on its
 * stdin, bounded by its timeout. */
#ifndef CELL_HOOKS_H
#define CELL_HOOKS_H

#include "error.h"
#include "spec/spec.h"

/* Run every hook of one kind in order; the first failure stops and is
 * returned ("hooks.createRuntime[1] `/bin/x`: exited with status 3"). */
int cell_hooks_run(const struct cell_spec *s, enum cell_hook_kind kind, const char *state_json,
		   cell_error **err);

#endif
