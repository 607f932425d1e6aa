#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "oci.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util.h"

int oci_list(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "table or json", "print the ids only", NULL };
	const char *format = "table";
	bool quiet = false;
	_cleanup_strv_ char **ids = NULL;
	int c;
	while ((c = getopt_long_only(argc, argv, "f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'q': quiet = true; break;
		case 'h': oci_usage("list", opts, help); return 0;
		default: return cell_error_set(err, "list: unknown option");
		}
	}
	if (!streq(format, "table") && !streq(format, "json"))
		return cell_error_set(err, "list: --format `%s`: must be table or json", format);
	if (cell_state_list(oci.root, &ids, err) < 0)
		return -1;
	json_object *all = json_object_new_array();
	for (size_t i = 0; ids[i]; i++) {
		json_object *o = NULL;
		cell_error *e = NULL;
		if (cell_rt_state(oci.root, ids[i], &o, &e) < 0) {
			cell_error_free(&e);	/* removed meanwhile */
			continue;
		}
		json_object_array_add(all, o);
	}
	size_t n = json_object_array_length(all);
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", json_object_get_string(json_object_object_get(json_object_array_get_idx(all, i), "id")));
	} else if (streq(format, "json")) {
		printf("%s\n", n ? cj_to_string(all, false) : "null");
	} else {
		printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(all, i);
#define F(k) json_object_get_string(json_object_object_get(o, k))
			printf("%-20s %-8s %-10s %-40s %-30s %s\n", F("id"), F("pid"), F("status"), F("bundle"),
			       F("created"), F("owner"));
#undef F
		}
	}
	json_object_put(all);
	return 0;
}
