/* --explain: the shell commands (unshare, mount, ip, nft, nsenter) that build
 * by hand what `cell network create` and `cell run` build, one comment per
 * step naming the kernel feature and why, in the spirit of the seeds' script.
 * The scripts use their own names (bridge ce-<name>, table inet cell_explain,
 * /run/netns/<container>) so they never touch cell's real objects; every
 * name and address is a shell variable with a default, to be overridden. */
#ifndef CELL_EXPLAIN_H
#define CELL_EXPLAIN_H

#include <stdio.h>

#include "engine/engine.h"
#include "net/net.h"

/* The script of `cell network create NAME` with opts (subnet NULL: a
 * placeholder 10.99.0.0/24, since cell would pick one at create time). */
int cell_explain_network(FILE *out, const char *name, const struct cell_network_opts *opts, cell_error **err);
/* The script of `cell run` for req: image layers from the store, network
 * from its file when it exists (nothing is created). */
int cell_explain_run(FILE *out, struct cell_engine *e, const struct cell_run_request *req, cell_error **err);

#endif
