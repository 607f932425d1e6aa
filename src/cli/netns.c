/* `cell netns ls|add|del|exec|attach`: the /run/netns files that `ip netns`
 * uses, made the way iproute2 makes them (see src/lib/net/netns.c), so
 * `ip netns exec NAME` works on what cell made and the other way round. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "net/net.h"
#include "util.h"

static const char netns_usage[] =
	"Usage: cell netns COMMAND\n\n"
	"Network namespace files in /run/netns, shared with `ip netns`.\n\n"
	"Commands:\n"
	"  ls [-q] [--format table|json]   list the named network namespaces and the\n"
	"                                  cell container whose namespace each one is\n"
	"  add NAME                        create a new network namespace NAME\n"
	"  del NAME...                     remove the names (the namespace lives on while used)\n"
	"  exec NAME CMD...                run CMD in NAME, with /etc/netns/NAME files over /etc\n"
	"  attach NAME PID|CONTAINER       name the network namespace of a process or of a\n"
	"                                  running container (then `ip netns exec NAME` works)\n";

/* The running container whose network namespace has inode ino, by name;
 * NULL if none. Caller frees. */
static char *container_of_netns(struct cell_engine *e, char **ids, ino_t ino)
{
	for (char **id = ids; id && *id; id++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, *id, &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		int pid = streq(cell_ctr_status(rec), "running") || streq(cell_ctr_status(rec), "paused")
				  ? cell_ctr_pid(rec) : 0;
		struct stat st;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		char *name = NULL;
		if (pid > 0 && stat(path, &st) == 0 && st.st_ino == ino) {
			const char *n = json_object_get_string(json_object_object_get(rec, "Name"));
			name = xstrdup(n && *n == '/' ? n + 1 : n ? n : *id);
		}
		json_object_put(rec);
		if (name)
			return name;
	}
	return NULL;
}

static int netns_ls(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' }, { "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool quiet = false, json = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case 'F':
			if (streq(optarg, "json"))
				json = true;
			else if (!streq(optarg, "table")) {
				cell_error_set(err, "netns ls: --format `%s`: table or json", optarg);
				return EXIT_CELL;
			}
			break;
		case 'h':
			printf("Usage: cell netns ls [-q] [--format table|json]\n\n"
			       "The files in %s, as `ip netns list` shows them, with the cell\n"
			       "container (on --root) whose network namespace each one is.\n", CELL_NETNS_DIR);
			return 0;
		default:
			cell_error_set(err, "netns ls: bad option (see `cell netns ls --help`)");
			return EXIT_CELL;
		}
	}
	_cleanup_strv_ char **names = NULL;
	if (cell_netns_list(&names, err) < 0)
		return EXIT_CELL;
	if (quiet) {
		for (char **it = names; *it; it++)
			printf("%s\n", *it);
		return 0;
	}
	/* the containers are only looked at when there is something to match */
	struct cell_engine *e = NULL;
	_cleanup_strv_ char **ids = NULL;
	cell_error *x = NULL;
	if (names[0] && (cli_engine_open(&e, &x) < 0 || cell_ctr_list(e, &ids, &x) < 0))
		cell_error_free(&x);	/* no engine root: no container to show */
	json_object *rows = json_object_new_array();
	size_t w = strlen("NAME");
	for (char **it = names; *it; it++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", CELL_NETNS_DIR, *it);
		struct stat st;
		char *ctr = e && stat(path, &st) == 0 ? container_of_netns(e, ids, st.st_ino) : NULL;
		json_object *r = json_object_new_object();
		json_object_object_add(r, "Name", json_object_new_string(*it));
		json_object_object_add(r, "Path", json_object_new_string(path));
		json_object_object_add(r, "Container", ctr ? json_object_new_string(ctr) : NULL);
		json_object_array_add(rows, r);
		free(ctr);
		if (strlen(*it) > w)
			w = strlen(*it);
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-*s   %s\n", (int)w, "NAME", "CONTAINER");
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			json_object *r = json_object_array_get_idx(rows, i);
			const char *c = json_object_get_string(json_object_object_get(r, "Container"));
			printf("%-*s   %s\n", (int)w, json_object_get_string(json_object_object_get(r, "Name")),
			       c ? c : "-");
		}
	}
	json_object_put(rows);
	cell_engine_free(e);
	return 0;
}

/* `attach NAME TARGET`: a pid, or a running container of the engine. */
static int netns_attach(const char *name, const char *target, cell_error **err)
{
	int64_t pid;
	if (parse_int64(target, &pid) == 0) {
		if (pid <= 0) {
			cell_error_set(err, "netns attach: `%s` is not a process id", target);
			return EXIT_CELL;
		}
		return cell_netns_attach(name, (pid_t)pid, err) < 0 ? EXIT_CELL : 0;
	}
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	json_object *rec = NULL;
	int r = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, target, &id, err) < 0 ||
	    cell_ctr_load(e, id, &rec, err) < 0)
		goto out;
	if (!streq(cell_ctr_status(rec), "running") && !streq(cell_ctr_status(rec), "paused")) {
		cell_error_set(err, "netns attach: container `%s` is %s: only a running container has a "
			       "network namespace to name", target, cell_ctr_status(rec));
		goto out;
	}
	if (cell_netns_attach(name, (pid_t)cell_ctr_pid(rec), err) == 0)
		r = 0;
out:
	json_object_put(rec);
	cell_engine_free(e);
	return r;
}

int cmd_netns(int argc, char **argv, cell_error **err)
{
	const char *sub = argc > 1 ? argv[1] : "ls";

	if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
		fputs(netns_usage, stdout);
		return 0;
	}
	if (streq(sub, "ls") || streq(sub, "list"))
		return netns_ls(argc > 1 ? argc - 1 : 1, argc > 1 ? argv + 1 : argv, err);
	if (argc > 2 && (streq(argv[2], "--help") || streq(argv[2], "-h"))) {
		fputs(netns_usage, stdout);
		return 0;
	}
	if (streq(sub, "add") && argc == 3)
		return cell_netns_add(argv[2], err) < 0 ? EXIT_CELL : 0;
	if ((streq(sub, "del") || streq(sub, "delete")) && argc >= 3) {
		for (int i = 2; i < argc; i++)
			if (cell_netns_del(argv[i], err) < 0)
				return EXIT_CELL;
		return 0;
	}
	if (streq(sub, "attach") && argc == 4)
		return netns_attach(argv[2], argv[3], err);
	if (streq(sub, "exec") && argc >= 4) {
		int i = 3;
		if (streq(argv[i], "--"))
			i++;
		if (i >= argc) {
			cell_error_set(err, "netns exec `%s`: no command", argv[2]);
			return EXIT_CELL;
		}
		int fd = cell_netns_open(argv[2], err);
		if (fd < 0)
			return EXIT_CELL;
		close(fd);
		cell_netns_exec(argv[2], argv + i, err);
		/* as `ip netns exec`: 127 when the command cannot run */
		return cell_error_code(*err) == ENOENT ? 127 : EXIT_CELL;
	}
	cell_error_set(err, "netns: bad usage of `%s` (see `cell netns --help`)", sub);
	return EXIT_CELL;
}
