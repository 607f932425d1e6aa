/* `cell rename OLD NEW`. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

int cmd_rename(int argc, char **argv, cell_error **err)
{
	if (argc != 3)
		return cell_error_set(err, "usage: cell rename CONTAINER NEW_NAME"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int r = cli_engine_open(&e, err);
	if (r == 0)
		r = cli_lookup(e, argv[1], &id, err);
	if (r == 0)
		r = cell_ctr_rename(e, id, argv[2], err);
	cell_engine_free(e);
	return r < 0 ? EXIT_CELL : 0;
}
