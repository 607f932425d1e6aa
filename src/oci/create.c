#define _GNU_SOURCE
#include <stdlib.h>

#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

/* Options shared by create and run; returns 1 when handled. */
int oci_parse_create_opt(int c, struct cell_rt_opts *o, cell_error **err);
const struct option oci_create_opts[] = {
	{ "bundle", required_argument, NULL, 'b' },
	{ "pid-file", required_argument, NULL, 'p' },
	{ "console-socket", required_argument, NULL, 'c' },
	{ "no-pivot", no_argument, NULL, 'P' },
	{ "no-new-keyring", no_argument, NULL, 'K' },
	{ "preserve-fds", required_argument, NULL, 'F' },
	{ "detach", no_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, 'k' },
	{ "no-subreaper", no_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};
const char *const oci_create_help[] = {
	"bundle directory holding config.json (default: current directory)",
	"write the container's init pid to this file",
	"unix socket that receives the pty master (process.terminal)",
	"use MS_MOVE + chroot instead of pivot_root (for ramfs roots)",
	"do not give the container a new session keyring",
	"pass N extra fds (from fd 3) to the container",
	"(run) do not wait for the container",
	"(run) keep the container after it exits",
	"(run) accepted for runc compatibility",
	NULL,
};

int oci_parse_create_opt(int c, struct cell_rt_opts *o, cell_error **err)
{
	int64_t n;
	switch (c) {
	case 'b': o->bundle = optarg; return 1;
	case 'p': o->pid_file = optarg; return 1;
	case 'c': o->console_socket = optarg; return 1;
	case 'P': o->no_pivot = true; return 1;
	case 'K': o->no_new_keyring = true; return 1;
	case 'd': o->detach = true; return 1;
	case 'k': o->keep = true; return 1;
	case 'S': return 1;
	case 'F':
		if (parse_int64(optarg, &n) < 0 || n < 0 || n > 65536)
			return cell_error_set(err, "--preserve-fds `%s`: expected a number of fds", optarg);
		o->preserve_fds = (int)n;
		return 1;
	}
	return 0;
}

int oci_create(int argc, char **argv, cell_error **err)
{
	struct cell_rt_opts o = { .root = oci.root, .systemd_cgroup = oci.systemd_cgroup };
	int c, r;
	while ((c = getopt_long_only(argc, argv, "b:h", oci_create_opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage("create", oci_create_opts, oci_create_help);
			return 0;
		}
		if ((r = oci_parse_create_opt(c, &o, err)) < 0)
			return -1;
		if (r == 0)
			return cell_error_set(err, "create: unknown option (see `cell-runtime create --help`)");
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	return cell_rt_create(argv[optind], &o, err) < 0 ? -1 : 0;
}
