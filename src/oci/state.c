#define _GNU_SOURCE
#include <stdio.h>

#include "json.h"
#include "oci.h"
#include "runtime/runtime.h"

int oci_state(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	json_object *o = NULL;
	int c;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage("state", opts, NULL);
			return 0;
		}
		return cell_error_set(err, "state: unknown option");
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	if (cell_rt_state(oci.root, argv[optind], &o, err) < 0)
		return -1;
	printf("%s\n", cj_to_string(o, true));
	json_object_put(o);
	return 0;
}
