/* `cell exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD...` */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

int cmd_exec(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' }, { "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' }, { "workdir", required_argument, NULL, 'w' },
		{ "privileged", no_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct cell_exec_request req = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "+itde:u:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': req.interactive = true; break;
		case 't': req.tty = true; break;
		case 'd': req.detach = true; break;
		case 'e': cli_strv_push(&req.env, optarg); break;
		case 'u': req.user = optarg; break;
		case 'w': req.workdir = optarg; break;
		case 'P': req.privileged = true; break;
		case 'h': printf("Usage: cell exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND...\n");
			free(req.env);
			return 0;
		default: free(req.env); return cell_error_set(err, "exec: bad option"), EXIT_CELL;
		}
	}
	if (argc - optind < 2) {
		free(req.env);
		return cell_error_set(err, "`cell exec` requires a container and a command"), EXIT_CELL;
	}
	if (req.workdir && req.workdir[0] != '/') {
		free(req.env);
		return cell_error_set(err, "invalid -w `%s`: the working directory must be absolute", req.workdir),
		       EXIT_CELL;
	}
	req.args = argv + optind + 1;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) == 0 && cli_lookup(e, argv[optind], &id, err) == 0 &&
	    cell_ctr_exec(e, id, &req, &status, err) < 0)
		status = cell_ctr_exit_code(*err);
	cell_engine_free(e);
	free(req.env);
	return status;
}
