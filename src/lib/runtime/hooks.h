/* OCI hooks: each runs as a child of the runtime (or of the container init
 * for createContainer and startContainer), the container state JSON on its
 * stdin, bounded by its timeout. */
#ifndef CELL_HOOKS_H
#define CELL_HOOKS_H

#include <stdbool.h>

#include "error.h"
#include "spec/spec.h"

/* Run every hook of one kind in order; the first failure stops and is
 * returned ("hooks.createRuntime[1] `/bin/x`: exited with status 3"). */
int cell_hooks_run(const struct cell_spec *s, enum cell_hook_kind kind, const char *state_json,
		   cell_error **err);

/* Are there hooks the runtime must run while the init waits (prestart,
 * createRuntime)? Without them the init does not stop to ask. */
static inline bool cell_runtime_hooks_wanted(const struct cell_spec *s)
{
	return s->n_hooks[CELL_HOOK_PRESTART] + s->n_hooks[CELL_HOOK_CREATE_RUNTIME] > 0;
}

#endif
