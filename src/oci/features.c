#define _GNU_SOURCE
#include <stdio.h>

#include "json.h"
#include "oci.h"
#include "spec/features.h"

int oci_features(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	int c;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			oci_usage("features", opts, NULL);
			return 0;
		}
		return cell_error_set(err, "features: unknown option (see `cell-runtime features --help`)");
	}
	json_object *o = cell_features();
	printf("%s\n", cj_to_string(o, true));
	json_object_put(o);
	return 0;
}
