/* `cell stop`: the stop signal, then SIGKILL after the timeout. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int stop_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	return cell_ctr_stop(e, id, *(int *)data, err);
}

int cmd_stop(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "timeout", required_argument, NULL, 't' },
		{ "signal", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	int timeout = -1, c;
	while ((c = getopt_long(argc, argv, "t:s:", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v < -1 || v > 86400)
				return cell_error_set(err, "invalid --time `%s`: expected seconds", optarg), EXIT_CELL;
			timeout = (int)v;
			break;
		}
		case 's': break;
		case 'h': printf("Usage: cell stop [-t SECONDS] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "stop: bad option"), EXIT_CELL;
		}
	}
	return cli_each(argc, argv, optind, true, stop_one, &timeout, err);
}
