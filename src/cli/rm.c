/* `cell rm [-f] [-v]`: everything of the container goes. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int rm_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	return cell_ctr_remove(e, id, *(bool *)data, err);
}

int cmd_rm(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "volumes", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "fv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'v': break;	/* no anonymous volumes yet */
		case 'h': printf("Usage: cell rm [-f] [-v] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "rm: bad option"), EXIT_CELL;
		}
	}
	return cli_each(argc, argv, optind, true, rm_one, &force, err);
}
