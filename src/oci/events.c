#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "json.h"
#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

/* runc's {"type":"stats","id":ID,"data":{...}} lines. */
static int print_stats(const char *id, cell_error **err)
{
	json_object *data = NULL;
	if (cell_rt_stats(oci.root, id, &data, err) < 0)
		return -1;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "data", data);
	printf("%s\n", cj_to_string(o, false));
	fflush(stdout);
	json_object_put(o);
	return 0;
}

int oci_events(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' }, { "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "print one snapshot and exit", "seconds between snapshots (default 5)", NULL };
	bool once = false;
	int64_t interval = 5;
	int c;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': once = true; break;
		case 'i':
			if (parse_int64(optarg, &interval) < 0) {
				/* runc takes Go durations such as "5s" */
				int64_t v;
				if (parse_size(optarg, &v) == 0)
					interval = v;
				else if (sscanf(optarg, "%lld", (long long *)&interval) != 1 || interval <= 0)
					return cell_error_set(err, "events: --interval `%s`: expected seconds", optarg);
			}
			break;
		case 'h': oci_usage("events", opts, help); return 0;
		default: return cell_error_set(err, "events: unknown option");
		}
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	if (interval <= 0)
		interval = 1;
	for (;;) {
		if (print_stats(argv[optind], err) < 0)
			return -1;
		if (once)
			return 0;
		sleep((unsigned)interval);
	}
}
