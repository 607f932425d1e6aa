#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "oci.h"
#include "spec/default.h"
#include "util.h"

int oci_spec(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "rootless", no_argument, NULL, 'r' }, { "bundle", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "a config for an unprivileged user (user namespace)",
					    "write config.json in this directory", NULL };
	bool rootless = false;
	const char *bundle = ".";
	int c;
	while ((c = getopt_long_only(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rootless = true; break;
		case 'b': bundle = optarg; break;
		case 'h': oci_usage("spec", opts, help); return 0;
		default: return cell_error_set(err, "spec: unknown option");
		}
	}
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	if (access(path, F_OK) == 0)
		return cell_error_set(err, "spec: `%s` already exists: remove it first", path);
	json_object *o = cell_spec_default(rootless);
	const char *text = cj_to_string(o, true);
	_cleanup_free_ char *data = xasprintf("%s\n", text);
	int r = write_file_atomic(path, data, strlen(data), 0644, err);
	json_object_put(o);
	return r < 0 ? -1 : 0;
}
