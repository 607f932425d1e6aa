/* `cell top`: the container's processes, from its cgroup. */
#define _GNU_SOURCE
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "runtime/runtime.h"
#include "util.h"

static void print_proc(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *cmd = NULL, *stat_ = NULL;
	size_t n = 0;
	cell_error *x = NULL;
	if (read_file(path, &cmd, &n, &x) < 0) {
		cell_error_free(&x);
		return;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	_cleanup_free_ char *sp = xasprintf("/proc/%d/stat", (int)pid);
	unsigned long ut = 0, st = 0;
	int ppid = 0;
	if (read_file(sp, &stat_, NULL, &x) == 0) {
		char *r = strrchr(stat_, ')');
		if (r)
			sscanf(r + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut, &st);
	} else {
		cell_error_free(&x);
	}
	struct stat sb;
	_cleanup_free_ char *pd = xasprintf("/proc/%d", (int)pid);
	const char *user = "?";
	char uidbuf[16];
	if (stat(pd, &sb) == 0) {
		struct passwd *pw = getpwuid(sb.st_uid);
		snprintf(uidbuf, sizeof(uidbuf), "%u", sb.st_uid);
		user = pw ? pw->pw_name : uidbuf;
	}
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long secs = (ut + st) / (unsigned long)(hz > 0 ? hz : 100);
	printf("%-10s %-8d %-8d %02lu:%02lu:%02lu   %s\n", user, (int)pid, ppid, secs / 3600, secs / 60 % 60,
	       secs % 60, n ? cmd : "");
}

int cmd_top(int argc, char **argv, cell_error **err)
{
	if (argc < 2)
		return cell_error_set(err, "usage: cell top CONTAINER"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	json_object *rec = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, argv[1], &id, err) < 0 || cell_ctr_load(e, id, &rec, err) < 0)
		goto out;
	const char *s = cell_ctr_status(rec);
	if (!streq(s, "running") && !streq(s, "paused")) {
		cell_error_set(err, "container `%s` is not running", argv[1]);
		goto out;
	}
	if (cell_rt_pids(e->rt_root, id, &pids, &n, err) < 0)
		goto out;
	printf("%-10s %-8s %-8s %-11s %s\n", "UID", "PID", "PPID", "TIME", "CMD");
	for (size_t i = 0; i < n; i++)
		print_proc(pids[i]);
	status = 0;
out:
	free(pids);
	json_object_put(rec);
	cell_engine_free(e);
	return status;
}
