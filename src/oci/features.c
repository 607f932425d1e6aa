#define _GNU_SOURCE
#include <stdio.h>

#include "json.h"
#include "oci.h"
#include "spec/features.h"

int oci_features(int argc, char **argv, cell_error **err)
{
	json_object *o = cell_features();
	printf("%s\n", cj_to_string(o, true));
	json_object_put(o);
	return 0;
}
