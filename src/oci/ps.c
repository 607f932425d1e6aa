#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

int oci_ps(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "table (ps(1) output) or json (the pids)", NULL };
	const char *format = "table";
	pid_t *pids = NULL;
	size_t n = 0;
	int c;
	while ((c = getopt_long_only(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'h': oci_usage("ps", opts, help); return 0;
		default: return cell_error_set(err, "ps: unknown option");
		}
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	if (!streq(format, "table") && !streq(format, "json"))
		return cell_error_set(err, "ps: --format `%s`: must be table or json", format);
	if (cell_rt_pids(oci.root, argv[optind], &pids, &n, err) < 0)
		return -1;
	if (streq(format, "json")) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, json_object_new_int(pids[i]));
		printf("%s\n", cj_to_string(a, false));
		json_object_put(a);
		free(pids);
		return 0;
	}
	/* as runc: ps(1) with the given options, filtered to the container's pids */
	_cleanup_free_ char *list = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *l = xasprintf("%s%s%d", list, i ? "," : "", (int)pids[i]);
		free(list);
		list = l;
	}
	free(pids);
	int extra = argc - optind - 1;
	char **args = xcalloc((size_t)extra + 4, sizeof(char *));
	int k = 0;
	args[k++] = "ps";
	for (int i = 0; i < extra; i++)
		args[k++] = argv[optind + 1 + i];
	if (!extra)
		args[k++] = "-f";
	if (n) {
		args[k++] = "-p";
		args[k++] = list;
	}
	args[k] = NULL;
	fflush(stdout);
	if (!n) {
		free(args);
		printf("UID          PID    PPID  C STIME TTY          TIME CMD\n");
		return 0;
	}
	pid_t child = fork();
	if (child == 0) {
		execvp("ps", args);
		fprintf(stderr, "cell-runtime: ps: exec ps(1): %s\n", strerror(errno));
		_exit(127);
	}
	free(args);
	int status = 0;
	if (child < 0 || waitpid(child, &status, 0) < 0)
		return cell_error_errno(err, errno, "run ps(1)");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
