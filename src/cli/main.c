/* cell: a Docker-like command line on top of the cell library. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "log.h"
#include "util.h"

struct cell_globals cell_globals = {
	.root = "/var/lib/cell",
	.runroot = "/run/cell",
};

/* Keep sorted by group as `cell --help` shows them. */
static const struct cell_cmd commands[] = {
	{ "version", cmd_version, 0, "Show the cell version" },
	{ "run", cmd_run, CMD_NEEDS_ROOT, "Create and start a container" },
	{ "create", cmd_create, CMD_NEEDS_ROOT, "Create a container" },
	{ "start", cmd_start, CMD_NEEDS_ROOT, "Start containers" },
	{ "attach", cmd_attach, CMD_NEEDS_ROOT, "Attach to a running container's input and output" },
	{ "stop", cmd_stop, CMD_NEEDS_ROOT, "Stop containers" },
	{ "restart", cmd_restart, CMD_NEEDS_ROOT, "Restart containers" },
	{ "kill", cmd_kill, CMD_NEEDS_ROOT, "Send a signal to containers" },
	{ "rm", cmd_rm, CMD_NEEDS_ROOT, "Remove containers" },
	{ "ps", cmd_ps, CMD_NEEDS_ROOT, "List containers" },
	{ "logs", cmd_logs, CMD_NEEDS_ROOT, "Show a container's output" },
	{ "exec", cmd_exec, CMD_NEEDS_ROOT, "Run a command in a running container" },
	{ "inspect", cmd_inspect, CMD_NEEDS_ROOT, "Show containers in detail (JSON)" },
	{ "wait", cmd_wait, CMD_NEEDS_ROOT, "Wait for containers to stop, print their exit codes" },
	{ "pause", cmd_pause, CMD_NEEDS_ROOT, "Freeze every process of containers" },
	{ "unpause", cmd_unpause, CMD_NEEDS_ROOT, "Thaw paused containers" },
	{ "top", cmd_top, CMD_NEEDS_ROOT, "Show a container's processes" },
	{ "stats", cmd_stats, CMD_NEEDS_ROOT, "Show containers' resource usage" },
	{ "rename", cmd_rename, CMD_NEEDS_ROOT, "Rename a container" },
	{ "port", cmd_port, CMD_NEEDS_ROOT, "Show a container's published ports" },
	{ "cp", cmd_cp, CMD_NEEDS_ROOT, "Copy files between a container and the host" },
	{ "healthcheck", cmd_healthcheck, CMD_NEEDS_ROOT, "Run a container's healthcheck now (run)" },
	{ "events", cmd_events, CMD_NEEDS_ROOT, "Show the engine's events, and follow them" },
	{ "diff", cmd_diff, CMD_NEEDS_ROOT, "Show a container's file changes (A, C, D)" },
	{ "export", cmd_export, CMD_NEEDS_ROOT, "Write a container's file system as a tar archive" },
	{ "update", cmd_update, CMD_NEEDS_ROOT, "Change a container's resource limits and restart policy" },
	{ "container", cmd_container, CMD_NEEDS_ROOT, "Manage containers (ls, prune, and every container command)" },
	{ "image", cmd_image, CMD_NEEDS_ROOT, "Manage images (ls, inspect, rm, prune, tag, history, import, load, save)" },
	{ "images", cmd_images, CMD_NEEDS_ROOT, "List images" },
	{ "rmi", cmd_rmi, CMD_NEEDS_ROOT, "Remove images" },
	{ "load", cmd_load, CMD_NEEDS_ROOT, "Load images from an archive" },
	{ "pull", cmd_pull, CMD_NEEDS_ROOT, "Download an image from a registry" },
	{ "push", cmd_push, CMD_NEEDS_ROOT, "Upload an image to a registry" },
	{ "login", cmd_login, 0, "Save credentials for a registry" },
	{ "logout", cmd_logout, 0, "Remove the saved credentials of a registry" },
	{ "save", cmd_save, CMD_NEEDS_ROOT, "Save images to an archive (image save)" },
	{ "tag", cmd_tag, CMD_NEEDS_ROOT, "Give an image another name (image tag)" },
	{ "history", cmd_history, CMD_NEEDS_ROOT, "Show how an image was made (image history)" },
	{ "import", cmd_import, CMD_NEEDS_ROOT, "Make an image of a file system tarball, e.g. of export (image import)" },
	{ "commit", cmd_commit, CMD_NEEDS_ROOT, "Create a new image from a container's changes" },
	{ "build", cmd_build, CMD_NEEDS_ROOT, "Build an image from a Dockerfile or Containerfile" },
	{ "builder", cmd_builder, CMD_NEEDS_ROOT, "Manage the build cache (prune)" },
	{ "ns", cmd_ns, 0, "List namespaces with their containers (ls), show a container's (show)" },
	{ "enter", cmd_enter, 0, "Run a command in the namespaces of a container or process (nsenter)" },
	{ "unshare", cmd_unshare, 0, "Run a command in new namespaces (unshare), warning about the traps" },
	{ "network", cmd_network, CMD_NEEDS_ROOT, "Manage networks (create, ls, inspect, rm, prune, diagram)" },
	{ "netns", cmd_netns, CMD_NEEDS_ROOT, "Named network namespaces in /run/netns, as `ip netns`" },
	{ "volume", cmd_volume, CMD_NEEDS_ROOT, "Manage volumes (create, ls, inspect, rm, prune)" },
	{ "system", cmd_system, CMD_NEEDS_ROOT, "Disk usage (df), cleanup (prune), the Docker API (service)" },
	{ "compose", cmd_compose, CMD_NEEDS_ROOT, "Run docker-compose against cell (a Docker API service for the call)" },
	{ "info", cmd_info, CMD_NEEDS_ROOT, "Show system-wide information" },
	{ "monitor-step", cmd_monitor_step, CMD_NEEDS_ROOT, NULL },	/* cell-monitor's, hidden */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cell [--root DIR] [--debug] [--cgroup-manager systemd|cgroupfs] COMMAND [ARG...]\n\n"
		   "A daemonless container engine.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary)
			fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'cell COMMAND --help' for more on a command.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "debug", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "cgroup-manager", required_argument, NULL, 'C' },
		{ 0 },
	};
	cell_error *err = NULL;
	int c;
	/* podman's flag; CELL_CGROUP_MANAGER is the default */
	const char *cgroup_manager = getenv("CELL_CGROUP_MANAGER");

	/* stop at the first non-option: it is the command */
	while ((c = getopt_long(argc, argv, "+hvD", opts, NULL)) != -1) {
		switch (c) {
		case 'r': cell_globals.root = optarg; break;
		case 'D': cell_globals.debug = true; break;
		case 'C': cgroup_manager = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'v': return cmd_version(0, NULL, &err);
		default: usage(stderr); return EXIT_CELL;
		}
	}
	cell_log_init("cell", NULL, false, cell_globals.debug, NULL);
	if (cgroup_manager && *cgroup_manager) {
		if (!streq(cgroup_manager, "systemd") && !streq(cgroup_manager, "cgroupfs")) {
			cell_log(CELL_LOG_ERROR, "--cgroup-manager `%s`: expected systemd or cgroupfs", cgroup_manager);
			return EXIT_CELL;
		}
		cell_engine_systemd_cgroup = streq(cgroup_manager, "systemd");
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_CELL;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!streq(commands[i].name, name))
			continue;
		if ((commands[i].flags & CMD_NEEDS_ROOT) && geteuid() != 0) {
			cell_log(CELL_LOG_ERROR, "`%s` needs root (it creates namespaces, mounts and cgroups)", name);
			return EXIT_CELL;
		}
		int cargc = argc - optind;
		char **cargv = argv + optind;
		optind = 0;	/* commands run their own getopt_long from cargv[0] */
		int r = commands[i].fn(cargc, cargv, &err);
		if (err) {
			cell_log_error(&err);
			if (r == 0)
				r = EXIT_CELL;
		}
		return r;
	}
	cell_log(CELL_LOG_ERROR, "unknown command `%s` (see `cell --help`)", name);
	return EXIT_CELL;
}
