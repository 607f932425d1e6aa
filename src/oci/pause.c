#define _GNU_SOURCE
#include "oci.h"
#include "runtime/runtime.h"

static int pause_resume(int argc, char **argv, bool pause, cell_error **err)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int c;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage(pause ? "pause" : "resume", opts, NULL);
			return 0;
		}
		return cell_error_set(err, "%s: unknown option", argv[0]);
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	return cell_rt_pause(oci.root, argv[optind], pause, err) < 0 ? -1 : 0;
}

int oci_pause(int argc, char **argv, cell_error **err)
{
	return pause_resume(argc, argv, true, err);
}

int oci_resume(int argc, char **argv, cell_error **err)
{
	return pause_resume(argc, argv, false, err);
}
