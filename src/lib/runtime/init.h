/* The container init: the process cloned by `create`, which sets the
 * container up from the inside and then waits on the exec socket. See sync.h
 * for the conversation with the runtime. */
#ifndef CELL_INIT_H
#define CELL_INIT_H

#include <stdbool.h>

#include "cgroup/cgroup.h"
#include "spec/spec.h"

struct cell_seccomp;

struct cell_init_ctx {
	const struct cell_spec *spec;
	int sync;			/* our end of the socketpair */
	int exec_sock;			/* listening exec.sock: accept() waits for start */
	int ns_fds[CELL_NS_COUNT];	/* namespaces to join, -1 where none */
	struct cell_seccomp *seccomp;	/* compiled by the runtime, or NULL */
	bool new_userns;
	bool no_pivot, no_new_keyring;
	int preserve_fds;
	const int *idmap_trees;		/* per mount, prepared id-mapped trees or NULL */
	struct cell_cgroup_self *cg_self; /* v1 `tasks` to write "0" to ourselves, or NULL */
};

/* Never returns. */
__attribute__((noreturn)) void cell_init_main(struct cell_init_ctx *c);

#endif
