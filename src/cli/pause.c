/* `cell pause` and `cell unpause`: the cgroup freezer. */
#define _GNU_SOURCE
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int pause_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	return cell_ctr_pause(e, id, *(bool *)data, err);
}

int cmd_pause(int argc, char **argv, cell_error **err)
{
	bool p = true;
	return cli_each(argc, argv, 1, true, pause_one, &p, err);
}

int cmd_unpause(int argc, char **argv, cell_error **err)
{
	bool p = false;
	return cli_each(argc, argv, 1, true, pause_one, &p, err);
}
