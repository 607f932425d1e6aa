/* `cell healthcheck run NAME` (podman's): run the container's healthcheck
 * now, as its monitor does on its timer; the result is recorded the same way
 * (State.Health, health_status events, --health-on-failure). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/health.h"
#include "util.h"

static void healthcheck_usage(FILE *f)
{
	fprintf(f, "Usage: cell healthcheck run CONTAINER\n\n"
		   "Run a container's healthcheck now: prints the container's status when the check\n"
		   "passed (exit 0), unhealthy when it failed (exit 1). The container's monitor runs the same check on its\n"
		   "own timer (--health-interval); no daemon or systemd timer is involved.\n");
}

int cmd_healthcheck(int argc, char **argv, cell_error **err)
{
	if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		healthcheck_usage(stdout);
		return 0;
	}
	if (argc < 2 || !streq(argv[1], "run")) {
		healthcheck_usage(stderr);
		return cell_error_set(err, "healthcheck: expected `run CONTAINER`"), EXIT_CELL;
	}
	if (argc != 3 || argv[2][0] == '-') {
		if (argc == 3 && streq(argv[2], "--help")) {
			healthcheck_usage(stdout);
			return 0;
		}
		return cell_error_set(err, "`cell healthcheck run` requires exactly 1 argument: the container"),
		       EXIT_CELL;
	}
	struct cell_engine *e = NULL;
	if (cli_engine_open(&e, err) < 0)
		return EXIT_CELL;
	_cleanup_free_ char *id = NULL;
	const char *status = NULL;
	bool passed = false;
	int rc = EXIT_CELL;
	if (cli_lookup(e, argv[2], &id, err) == 0 && cell_health_run(e, id, &status, &passed, err) == 0) {
		/* podman's: this check's verdict */
		printf("%s\n", passed ? status : "unhealthy");
		rc = passed ? 0 : 1;
	}
	fflush(stdout);
	cell_engine_free(e);
	return rc;
}
