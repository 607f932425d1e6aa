/* `cell system service [--time SECONDS] [--allow-remote] [--group G] [URI]`:
 * the Docker Engine API (src/api), as `podman system service`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
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
	"      --group NAME     the unix socket's group (default: the config's service.group,\n"
	"                       else the group `cell` when there is one, else root's)\n\n"
	"Config: /etc/cell/cell.json (or $CELL_CONFIG), e.g. {\"service\": {\"group\": \"docker\",\n"
	"\"uri\": \"unix:///run/cell/cell.sock\", \"time\": 0}}; options given win.\n";

/* The service's part of cell's config file: group, uri, time. A missing
 * file is no config; one that is not a JSON object is an error. */
static int read_config(char **group, char **uri, long *time, cell_error **err)
{
	const char *path = getenv("CELL_CONFIG");
	if (!path || !*path)
		path = "/etc/cell/cell.json";
	if (access(path, F_OK) < 0)
		return 0;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_file(path, &text, &len, err) < 0)
		return cell_error_wrap(err, "config `%s`", path);
	json_tokener *t = json_tokener_new();
	json_object *o = json_tokener_parse_ex(t, text, (int)len);
	bool bad = json_tokener_get_error(t) != json_tokener_success || !json_object_is_type(o, json_type_object);
	json_tokener_free(t);
	json_object *svc = NULL, *v = NULL;
	int r = 0;
	if (bad) {
		r = cell_error_set(err, "config `%s`: not a JSON object", path);
	} else if (json_object_object_get_ex(o, "service", &svc)) {
		if (!json_object_is_type(svc, json_type_object))
			r = cell_error_set(err, "config `%s`: \"service\" must be an object", path);
		if (!r && json_object_object_get_ex(svc, "group", &v)) {
			if (json_object_is_type(v, json_type_string))
				*group = xstrdup(json_object_get_string(v));
			else
				r = cell_error_set(err, "config `%s`: service.group must be a group name", path);
		}
		if (!r && json_object_object_get_ex(svc, "uri", &v)) {
			if (json_object_is_type(v, json_type_string))
				*uri = xstrdup(json_object_get_string(v));
			else
				r = cell_error_set(err, "config `%s`: service.uri must be a string", path);
		}
		if (!r && json_object_object_get_ex(svc, "time", &v)) {
			if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
				*time = (long)json_object_get_int64(v);
			else
				r = cell_error_set(err, "config `%s`: service.time must be seconds (0: never)", path);
		}
	}
	json_object_put(o);
	return r;
}

int cmd_service(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "allow-remote", no_argument, NULL, 'R' },
		{ "group", required_argument, NULL, 'g' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct api_server_opts o = { .idle_seconds = 5, .listen_fd = -1 };
	_cleanup_free_ char *cfg_group = NULL, *cfg_uri = NULL;
	long cfg_time = -1;
	bool time_given = false;
	int c;
	if (read_config(&cfg_group, &cfg_uri, &cfg_time, err) < 0)
		return EXIT_CELL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0)
				return cell_error_set(err, "--time `%s`: expected seconds, 0 for never", optarg), EXIT_CELL;
			o.idle_seconds = v;
			time_given = true;
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
	if (!time_given && cfg_time >= 0)
		o.idle_seconds = cfg_time;
	if (!o.group)
		o.group = cfg_group ? cfg_group : getgrnam("cell") ? "cell" : NULL;
	if (optind < argc)
		return cell_error_set(err, "system service: one URI at most"), EXIT_CELL;
	/* socket activation, as sd_listen_fds(): one socket at fd 3 for us */
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!o.uri && pid && fds && atoi(pid) == (int)getpid() && atoi(fds) >= 1)
		o.listen_fd = 3;
	if (!o.uri && o.listen_fd < 0 && cfg_uri)
		o.uri = cfg_uri;
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
