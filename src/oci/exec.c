#define _GNU_SOURCE
#include <stdlib.h>

#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

static void push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = realloc(*v, (n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

int oci_exec(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, 'S' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "detach", no_argument, NULL, 'd' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, 'n' },
		{ "preserve-fds", required_argument, NULL, 'F' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "process-label", required_argument, NULL, 'l' },
		{ "apparmor", required_argument, NULL, 'a' },
		{ "ignore-paused", no_argument, NULL, 'i' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const help[] = {
		"a process.json (OCI process) to run instead of the command line",
		"allocate a pty", "unix socket that receives the pty master", "write the process's pid here",
		"do not wait for the process", "set an environment variable (NAME=VALUE)",
		"working directory", "uid[:gid]", "add a capability", "set no_new_privs",
		"pass N extra fds (from fd 3)", "add a supplementary gid (repeat, or comma-separated)",
		"(accepted for runc compatibility)", "(accepted for runc compatibility)",
		"exec even into a paused container (the process stays frozen until resume)",
		"run in an existing sub-cgroup: [controller[,controller]:]path (repeatable)", NULL,
	};
	struct cell_exec_opts o = { 0 };
	char **env = NULL, **caps = NULL, **gids = NULL, **cgroups = NULL;
	int c, status = 0, r = -1;
	int64_t n;

	while ((c = getopt_long_only(argc, argv, "+p:tdu:e:g:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o.process_file = optarg; break;
		case 't': o.tty = true; break;
		case 'S': o.console_socket = optarg; break;
		case 'P': o.pid_file = optarg; break;
		case 'd': o.detach = true; break;
		case 'e': push(&env, optarg); break;
		case 'w': o.cwd = optarg; break;
		case 'u': o.user = optarg; break;
		case 'c': push(&caps, optarg); break;
		case 'n': o.no_new_privs = true; break;
		case 'F':
			if (parse_int64(optarg, &n) < 0 || n < 0 || n > 65536) {
				cell_error_set(err, "exec: --preserve-fds `%s`: expected a number of fds", optarg);
				goto out;
			}
			o.preserve_fds = (int)n;
			break;
		case 'g': {
			_cleanup_free_ char *copy = xstrdup(optarg);
			char *save = NULL;
			for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save))
				push(&gids, g);
			break;
		}
		case 'G': push(&cgroups, optarg); break;
		case 'i': o.ignore_paused = true; break;
		case 'l': case 'a': break;
		case 'h': oci_usage("exec", opts, help); r = 0; goto out;
		default: cell_error_set(err, "exec: unknown option (see `cell-runtime exec --help`)"); goto out;
		}
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		goto out;
	o.args = argv + optind + 1;
	o.env = env;
	o.caps = caps;
	o.additional_gids = gids;
	o.cgroups = cgroups;
	if (cell_rt_exec(oci.root, argv[optind], &o, &status, err) < 0)
		goto fail;
	r = status;
	goto out;
fail:
	/* runc's exit status when the process could not be started at all, so
	 * that callers tell it from the process's own status */
	r = 255;
out:
	strv_free(env);
	strv_free(caps);
	strv_free(gids);
	strv_free(cgroups);
	return r;
}
