/* `cell diff CONTAINER`: Docker's list of changes (src/lib/engine/changes.c). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

int cmd_diff(int argc, char **argv, cell_error **err)
{
	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		printf("Usage: cell diff CONTAINER\n\nList the files and directories a container changed since it "
		       "was created:\nA added, C changed, D deleted.\n");
		return 0;
	}
	if (argc != 2)
		return cell_error_set(err, "`cell diff` requires exactly 1 argument: the container"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	char **lines = NULL;
	int rc = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, argv[1], &id, err) < 0)
		goto out;
	if (cell_ctr_changes(e, id, &lines, err) < 0) {
		cell_error_wrap(err, "diff");
		goto out;
	}
	for (size_t i = 0; lines[i]; i++)
		printf("%s\n", lines[i]);
	rc = 0;
out:
	fflush(stdout);
	strv_free(lines);
	cell_engine_free(e);
	return rc;
}
