#define _GNU_SOURCE
#include "oci.h"
#include "runtime/runtime.h"

int oci_delete(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "kill the container first if it is running; succeed if it does not exist", NULL };
	bool force = false;
	int c;
	while ((c = getopt_long_only(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': oci_usage("delete", opts, help); return 0;
		default: return cell_error_set(err, "delete: unknown option");
		}
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	int r = 0;
	for (int i = optind; i < argc; i++)
		if (cell_rt_delete(oci.root, argv[i], force, err) < 0)
			r = -1;
	return r;
}
