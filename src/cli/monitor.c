/* `cell monitor-step STEP ID [ARG]`: not for people. cell-monitor runs it for
 * the heavy one-off work of a container's life (create + start, recording
 * the exit, --rm), so that the monitor itself stays small; see
 * src/lib/engine/monitor-proto.h. */
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/monitor-proto.h"

int cmd_monitor_step(int argc, char **argv, cell_error **err)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "Usage: cell monitor-step launch|exited ID [ARG]\n"
				"Run by cell-monitor with its channel on fd %d; not for direct use.\n",
			MONITOR_CHANNEL_FD);
		return EXIT_CELL;
	}
	struct cell_engine *e = NULL;
	if (cli_engine_open(&e, err) < 0)
		return EXIT_CELL;
	int r = cell_monitor_step(e, argv[1], argv[2], argc > 3 ? argv[3] : NULL, MONITOR_CHANNEL_FD, err);
	cell_engine_free(e);
	return r < 0 ? EXIT_CELL : 0;
}
