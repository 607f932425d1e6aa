/* `cell kill [-s SIGNAL]`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int kill_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	return cell_ctr_kill(e, id, *(int *)data, err);
}

int cmd_kill(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	int sig = SIGKILL, c;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = signal_parse(optarg);
			if (sig <= 0)
				return cell_error_set(err, "invalid signal `%s`", optarg), EXIT_CELL;
			break;
		case 'h': printf("Usage: cell kill [-s SIGNAL] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "kill: bad option"), EXIT_CELL;
		}
	}
	return cli_each(argc, argv, optind, true, kill_one, &sig, err);
}
