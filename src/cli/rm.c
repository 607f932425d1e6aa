/* `cell rm [-f] [-v]`: everything of the container goes. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "json.h"
#include "util.h"

struct rm_opts {
	bool force, volumes;
};

static int rm_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	const struct rm_opts *o = data;
	json_object *rec = NULL;
	/* -v: the anonymous volumes go once the container is gone */
	if (o->volumes && cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	int r = cell_ctr_remove(e, id, o->force, err);
	if (r == 0 && rec)
		engine_volumes_release_anonymous(e, rec);
	json_object_put(rec);
	return r;
}

int cmd_rm(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "volumes", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct rm_opts o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "fv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.force = true; break;
		case 'v': o.volumes = true; break;
		case 'h': printf("Usage: cell rm [-f] [-v] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "rm: bad option"), EXIT_CELL;
		}
	}
	return cli_each(argc, argv, optind, true, rm_one, &o, err);
}

/* `cell container prune [-f]`: remove every stopped container. */
static int prune(int argc, char **argv, cell_error **err)
{
	struct cell_engine *e = NULL;
	char **ids = NULL;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cell_ctr_prune(e, &ids, NULL, err) < 0)
		goto out;
	printf("Deleted Containers:\n");
	for (size_t i = 0; ids[i]; i++)
		printf("%s\n", ids[i]);
	status = 0;
out:
	strv_free(ids);
	cell_engine_free(e);
	return status;
}

int cmd_container(int argc, char **argv, cell_error **err)
{
	static const struct { const char *name; int (*fn)(int, char **, cell_error **); } subs[] = {
		{ "ls", cmd_ps }, { "ps", cmd_ps }, { "list", cmd_ps }, { "run", cmd_run }, { "create", cmd_create },
		{ "start", cmd_start }, { "stop", cmd_stop }, { "restart", cmd_restart }, { "kill", cmd_kill },
		{ "rm", cmd_rm }, { "logs", cmd_logs }, { "exec", cmd_exec }, { "inspect", cmd_inspect },
		{ "wait", cmd_wait }, { "pause", cmd_pause }, { "unpause", cmd_unpause }, { "top", cmd_top },
		{ "stats", cmd_stats }, { "rename", cmd_rename }, { "port", cmd_port }, { "prune", prune },
		{ "attach", cmd_attach },
	};
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("Usage: cell container COMMAND\n\nCommands:");
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
			printf(" %s", subs[i].name);
		printf("\n");
		return argc < 2 ? EXIT_CELL : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (streq(subs[i].name, argv[1]))
			return subs[i].fn(argc - 1, argv + 1, err);
	return cell_error_set(err, "unknown command `container %s` (see `cell container --help`)", argv[1]), EXIT_CELL;
}
