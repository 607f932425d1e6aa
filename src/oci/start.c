#define _GNU_SOURCE
#include "oci.h"
#include "runtime/runtime.h"

int oci_start(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int c;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage("start", opts, NULL);
			return 0;
		}
		return cell_error_set(err, "start: unknown option");
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	return cell_rt_start(oci.root, argv[optind], err) < 0 ? -1 : 0;
}
