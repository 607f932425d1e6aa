#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

/* runc's flags, each landing in the linux.resources object. */
static int set_path(json_object *res, const char *section, const char *key, const char *val,
		    bool is_string, const char *flag, cell_error **err)
{
	json_object *sec = NULL;
	if (!json_object_object_get_ex(res, section, &sec)) {
		sec = json_object_new_object();
		json_object_object_add(res, section, sec);
	}
	if (is_string) {
		json_object_object_add(sec, key, json_object_new_string(val));
		return 0;
	}
	int64_t v;
	if (parse_int64(val, &v) < 0 && parse_size(val, &v) < 0)
		return cell_error_set(err, "update: %s `%s`: expected a number", flag, val);
	json_object_object_add(sec, key, json_object_new_int64(v));
	return 0;
}

int oci_update(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, 's' },
		{ "memory-reservation", required_argument, NULL, 'R' },
		{ "cpu-quota", required_argument, NULL, 'q' },
		{ "cpu-period", required_argument, NULL, 'p' },
		{ "cpu-shares", required_argument, NULL, 'S' },
		{ "cpuset-cpus", required_argument, NULL, 'c' },
		{ "cpuset-mems", required_argument, NULL, 'M' },
		{ "pids-limit", required_argument, NULL, 'P' },
		{ "blkio-weight", required_argument, NULL, 'b' },
		{ "cpu-rt-period", required_argument, NULL, 'T' },
		{ "cpu-rt-runtime", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const help[] = {
		"a linux.resources JSON file, or - for stdin", "memory limit (bytes, or 512m...)",
		"memory + swap limit", "memory soft limit", "CPU CFS quota (microseconds)",
		"CPU CFS period (microseconds)", "CPU shares (relative weight)", "CPUs to use (0-3, 0,1)",
		"memory nodes to use", "maximum number of processes", "block IO weight (10-1000)",
		"CPU realtime period (microseconds, cgroup v1 cpu.rt_period_us)",
		"CPU realtime runtime (microseconds, cgroup v1 cpu.rt_runtime_us)", NULL,
	};
	json_object *res = NULL;
	json_object *flags = json_object_new_object();
	int c, r = -1;

	while ((c = getopt_long_only(argc, argv, "r:h", opts, NULL)) != -1) {
		int x = 0;
		switch (c) {
		case 'r': {
			const char *path = streq(optarg, "-") ? "/dev/stdin" : optarg;
			json_object_put(res);
			res = NULL;
			if (cj_parse_file(path, &res, err) < 0 || cj_expect_object(res, "--resources", err) < 0)
				goto out;
			break;
		}
		case 'm': x = set_path(flags, "memory", "limit", optarg, false, "--memory", err); break;
		case 's': x = set_path(flags, "memory", "swap", optarg, false, "--memory-swap", err); break;
		case 'R': x = set_path(flags, "memory", "reservation", optarg, false, "--memory-reservation", err); break;
		case 'q': x = set_path(flags, "cpu", "quota", optarg, false, "--cpu-quota", err); break;
		case 'p': x = set_path(flags, "cpu", "period", optarg, false, "--cpu-period", err); break;
		case 'S': x = set_path(flags, "cpu", "shares", optarg, false, "--cpu-shares", err); break;
		case 'c': x = set_path(flags, "cpu", "cpus", optarg, true, "--cpuset-cpus", err); break;
		case 'M': x = set_path(flags, "cpu", "mems", optarg, true, "--cpuset-mems", err); break;
		case 'P': x = set_path(flags, "pids", "limit", optarg, false, "--pids-limit", err); break;
		case 'b': x = set_path(flags, "blockIO", "weight", optarg, false, "--blkio-weight", err); break;
		case 'T': x = set_path(flags, "cpu", "realtimePeriod", optarg, false, "--cpu-rt-period", err); break;
		case 'U': x = set_path(flags, "cpu", "realtimeRuntime", optarg, false, "--cpu-rt-runtime", err); break;
		case 'h': oci_usage("update", opts, help); r = 0; goto out;
		default: cell_error_set(err, "update: unknown option"); goto out;
		}
		if (x < 0)
			goto out;
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		goto out;
	if (!res) {
		res = flags;
		flags = NULL;
	} else {
		/* flags override the file, section by section */
		json_object_object_foreach(flags, sec, val) {
			json_object *dst = NULL;
			if (!json_object_object_get_ex(res, sec, &dst)) {
				json_object_object_add(res, sec, json_object_get(val));
				continue;
			}
			json_object_object_foreach(val, k, v)
				json_object_object_add(dst, k, json_object_get(v));
		}
	}
	r = cell_rt_update(oci.root, argv[optind], res, err) < 0 ? -1 : 0;
out:
	json_object_put(res);
	json_object_put(flags);
	return r;
}
