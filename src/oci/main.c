/* cell-runtime: an OCI runtime with runc's command line, so that podman,
 * containerd and Docker can use it in runc's place. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "oci.h"
#include "runtime/state.h"
#include "util.h"

struct oci_globals oci = { .root = CELL_RUNTIME_ROOT, .log_format = "text" };

static const struct oci_cmd commands[] = {
	{ "create", oci_create, "[options] <container-id>", "create a container" },
	{ "start", oci_start, "<container-id>", "start a created container" },
	{ "run", oci_run, "[options] <container-id>", "create and start a container, wait for it" },
	{ "exec", oci_exec, "[options] <container-id> [command [args...]]", "run a process in a container" },
	{ "kill", oci_kill, "[--all] <container-id> [signal]", "send a signal to the container's init (default SIGTERM)" },
	{ "delete", oci_delete, "[--force] <container-id>", "delete a container and everything it holds" },
	{ "state", oci_state, "<container-id>", "print the OCI state of a container" },
	{ "list", oci_list, "[--format table|json] [-q]", "list containers" },
	{ "ps", oci_ps, "[--format table|json] <container-id> [ps options]", "list the processes of a container" },
	{ "pause", oci_pause, "<container-id>", "freeze every process of a container" },
	{ "resume", oci_resume, "<container-id>", "thaw a paused container" },
	{ "update", oci_update, "[options] <container-id>", "change the resource limits of a container" },
	{ "events", oci_events, "[--stats] [--interval N] <container-id>", "print cgroup statistics as JSON" },
	{ "spec", oci_spec, "[--rootless] [--bundle DIR]", "write a default config.json" },
	{ "features", oci_features, "", "print the features this runtime supports (OCI features JSON)" },
	{ "checkpoint", oci_checkpoint, "[options] <container-id>", "checkpoint a running container with CRIU" },
	{ "restore", oci_restore, "[options] <container-id>", "restore a container from a CRIU checkpoint" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cell-runtime [global options] COMMAND [options] [args]\n\n"
		   "An OCI container runtime with runc's command line.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options:\n"
		   "  --root DIR              state directory (default %s)\n"
		   "  --log FILE              also write messages to FILE\n"
		   "  --log-format text|json  format of the --log file (json: runc's JSON lines)\n"
		   "  --debug                 debug messages\n"
		   "  --systemd-cgroup        a systemd scope per container, cgroupsPath slice:prefix:name\n"
		   "  --criu PATH             the criu binary for checkpoint and restore (default: criu)\n"
		   "  --version, -v           print the version\n"
		   "  --help, -h              this help (also: help COMMAND)\n", CELL_RUNTIME_ROOT);
}

void oci_usage(const char *name, const struct option *opts, const char *const *help)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!streq(commands[i].name, name))
			continue;
		printf("Usage: cell-runtime %s %s\n\n%s\n", name, commands[i].usage, commands[i].summary);
	}
	if (opts && opts[0].name)
		printf("\nOptions:\n");
	for (size_t i = 0; opts && opts[i].name; i++) {
		if (streq(opts[i].name, "help"))
			continue;
		printf("  --%-20s %s\n", opts[i].name, help && help[i] ? help[i] : "");
	}
}

int oci_need_args(int argc, char **argv, int n, const char *what, cell_error **err)
{
	if (argc - optind < n)
		return cell_error_set(err, "`%s` needs %s (see `cell-runtime %s --help`)", argv[0], what, argv[0]);
	return 0;
}

static void version(void)
{
	/* runc's three lines, in its order: tools (containerd, podman) parse them */
	printf("cell-runtime version %s\ncommit: %s\nspec: 1.2.0\n", CELL_VERSION, CELL_COMMIT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'D' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "rootless", required_argument, NULL, 'R' },
		{ "criu", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	cell_error *err = NULL;
	int c;

	while ((c = getopt_long_only(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r': oci.root = optarg; break;
		case 'l': oci.log = optarg; break;
		case 'f': oci.log_format = optarg; break;
		case 'D': oci.debug = true; break;
		case 's': oci.systemd_cgroup = true; break;
		case 'C': oci.criu = optarg; break;
		case 'R': break;	/* accepted for compatibility */
		case 'h': usage(stdout); return 0;
		case 'v': version(); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!streq(oci.log_format, "text") && !streq(oci.log_format, "json")) {
		fprintf(stderr, "cell-runtime: --log-format `%s`: must be text or json\n", oci.log_format);
		return 1;
	}
	if (cell_log_init("cell-runtime", oci.log, streq(oci.log_format, "json"), oci.debug, &err) < 0) {
		cell_log_error(&err);
		return 1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *name = argv[optind];
	/* runc's `help [COMMAND]` (urfave/cli's, also spelt `h`): the same
	 * text as `COMMAND --help` */
	char *help_argv[] = { NULL, "--help", NULL };
	if (streq(name, "help") || streq(name, "h")) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		name = help_argv[0] = argv[optind + 1];
		argv = help_argv;
		argc = 2;
		optind = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!streq(commands[i].name, name))
			continue;
		int cargc = argc - optind;
		char **cargv = argv + optind;
		optind = 0;
		cell_debug("cell-runtime %s (commit %s): %s, root %s", CELL_VERSION, CELL_COMMIT, name, oci.root);
		int r = commands[i].fn(cargc, cargv, &err);
		cell_debug("%s: %s (status %d)", name, err ? "failed" : "done", err ? (r > 0 ? r : 1) : (r < 0 ? 1 : r));
		if (err) {
			cell_log_error(&err);
			return r > 0 ? r : 1;
		}
		return r < 0 ? 1 : r;
	}
	cell_log(CELL_LOG_ERROR, "unknown command `%s` (see `cell-runtime --help`)", name);
	return 1;
}
