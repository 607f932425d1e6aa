/* `cell system service [--time SECONDS] [--allow-remote] [--group G] [URI]`:
 * the Docker Engine API (src/api), as `podman system service`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../api/api.h"
#include "commands.h"
#include "util.h"

static const char usage[] =
	"Usage: cell system service [OPTIONS] [URI]\n\n"
	"Serve the Docker Engine API (versions " API_VERSION_MIN " to " API_VERSION_MAX "), so that the docker\n"
	"command, docker-compose and the Docker SDKs drive cell. The containers are the\n"
	"ones `cell ps` shows; they live under their monitors, not under the service.\n\n"
	"URI: unix:///run/cell/cell.sock (the default; mode 0660) or tcp://127.0.0.1:PORT.\n"
	"A socket passed by systemd (LISTEN_FDS) is used when there is one.\n\n"
	"Options:\n"
	"  -t, --time SECONDS   exit after this long without a request (default 5; 0: never)\n"
	"      --allow-remote   accept a tcp:// address other than loopback (the API is\n"
	"                       root on this host: never on a network others reach)\n"
	"      --group NAME     the unix socket's group (default: root's)\n";

int cmd_service(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "allow-remote", no_argument, NULL, 'R' },
		{ "group", required_argument, NULL, 'g' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct api_server_opts o = { .idle_seconds = 5, .listen_fd = -1 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0)
				return cell_error_set(err, "--time `%s`: expected seconds, 0 for never", optarg), EXIT_CELL;
			o.idle_seconds = v;
			break;
		}
		case 'R': o.allow_remote = true; break;
		case 'g': o.group = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return EXIT_CELL;
		}
	}
	if (optind < argc)
		o.uri = argv[optind++];
	if (optind < argc)
		return cell_error_set(err, "system service: one URI at most"), EXIT_CELL;
	/* socket activation, as sd_listen_fds(): one socket at fd 3 for us */
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!o.uri && pid && fds && atoi(pid) == (int)getpid() && atoi(fds) >= 1)
		o.listen_fd = 3;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");

	struct cell_engine *e = NULL;
	if (cell_engine_open(cell_globals.root, cell_globals.runroot, &e, err) < 0)
		return EXIT_CELL;
	int r = api_serve(e, &o, err);
	cell_engine_free(e);
	return r < 0 ? EXIT_CELL : 0;
}
