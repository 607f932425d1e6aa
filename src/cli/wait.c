/* `cell wait`: block until the containers stop, print their exit codes. */
#define _GNU_SOURCE
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int wait_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	int code = 0;
	if (cell_ctr_wait(e, id, &code, err) < 0)
		return -1;
	printf("%d\n", code);
	fflush(stdout);
	return 0;
}

int cmd_wait(int argc, char **argv, cell_error **err)
{
	return cli_each(argc, argv, 1, false, wait_one, NULL, err);
}
