#define _GNU_SOURCE
#include "oci.h"
#include "runtime/runtime.h"

int oci_parse_create_opt(int c, struct cell_rt_opts *o, cell_error **err);
extern const struct option oci_create_opts[];
extern const char *const oci_create_help[];

int oci_run(int argc, char **argv, cell_error **err)
{
	struct cell_rt_opts o = { .root = oci.root, .systemd_cgroup = oci.systemd_cgroup };
	int c, r, status = 0;
	while ((c = getopt_long_only(argc, argv, "b:dh", oci_create_opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage("run", oci_create_opts, oci_create_help);
			return 0;
		}
		if ((r = oci_parse_create_opt(c, &o, err)) < 0)
			return -1;
		if (r == 0)
			return cell_error_set(err, "run: unknown option (see `cell-runtime run --help`)");
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	if (cell_rt_run(argv[optind], &o, &status, err) < 0)
		return -1;
	return status;
}
