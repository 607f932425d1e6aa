/* `cell update [OPTIONS] CONTAINER...`: Docker's live resource change. A
 * running container's cgroup is changed through the runtime's update (the
 * path `cell-runtime update` takes); the bundle's linux.resources and the
 * record's HostConfig keep the new values for the next start. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "json.h"
#include "runtime/runtime.h"
#include "util.h"

struct update {
	json_object *res;	/* OCI linux.resources: only what was given */
	json_object *hc;	/* HostConfig keys */
	char *restart;
	int restart_max;
};

static json_object *section(json_object *res, const char *name)
{
	json_object *s = json_object_object_get(res, name);
	if (!s) {
		s = json_object_new_object();
		json_object_object_add(res, name, s);
	}
	return s;
}

static int set_num(struct update *u, const char *sec, const char *key, const char *hckey, int64_t v)
{
	json_object_object_add(section(u->res, sec), key, json_object_new_int64(v));
	json_object_object_add(u->hc, hckey, json_object_new_int64(v));
	return 0;
}

static int memory_flag(struct update *u, const char *flag, const char *key, const char *hckey, const char *val,
		       cell_error **err)
{
	int64_t v;
	if (streq(flag, "--memory-swap") && streq(val, "-1"))
		return set_num(u, "memory", key, hckey, -1);
	if (parse_size(val, &v) < 0 || v < 0)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: expected a size such as 512m or 1g",
				      val, flag);
	if (streq(flag, "--memory") && v > 0 && v < 6 * 1024 * 1024)
		return cell_error_set(err, "Minimum memory limit allowed is 6MB");
	return set_num(u, "memory", key, hckey, v);
}

static int int_flag(struct update *u, const char *flag, const char *sec, const char *key, const char *hckey,
		    const char *val, int64_t min, int64_t max, cell_error **err)
{
	int64_t v;
	if (parse_int64(val, &v) < 0)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: expected an integer", val, flag);
	if (v < min || v > max)
		return cell_error_set(err, "invalid argument \"%s\" for \"%s\" flag: expected %" PRId64 " to %" PRId64,
				      val, flag, min, max);
	return set_num(u, sec, key, hckey, v);
}

static int update_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	struct update *u = data;
	struct cell_update_req q = { .res = u->res, .hc = u->hc, .restart = u->restart, .restart_max = u->restart_max };
	return cell_ctr_update_resources(e, id, &q, err);
}

static const char update_usage[] =
	"Usage: cell update [OPTIONS] CONTAINER...\n\n"
	"Change the resource limits of containers (a running one at once, through the runtime's\n"
	"update) and their restart policy.\n\n"
	"Options:\n"
	"  -m, --memory SIZE              memory limit (6m at least)\n"
	"      --memory-swap SIZE         memory plus swap, -1 for unlimited swap\n"
	"      --memory-reservation SIZE  soft limit\n"
	"      --cpus N                   number of CPUs (1.5)\n"
	"  -c, --cpu-shares N             relative CPU weight\n"
	"      --cpu-period US, --cpu-quota US   the CFS period and quota, in microseconds\n"
	"      --cpuset-cpus LIST, --cpuset-mems LIST   CPUs and memory nodes allowed (0-1,3)\n"
	"      --pids-limit N             maximum number of processes (-1: unlimited)\n"
	"      --blkio-weight N           block IO weight, 10 to 1000\n"
	"      --restart POLICY           no, on-failure[:N], always, unless-stopped\n";

int cmd_update(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 'm' }, { "memory-swap", required_argument, NULL, 'S' },
		{ "memory-reservation", required_argument, NULL, 'R' }, { "cpus", required_argument, NULL, 'C' },
		{ "cpu-shares", required_argument, NULL, 'c' }, { "cpu-period", required_argument, NULL, 'P' },
		{ "cpu-quota", required_argument, NULL, 'Q' }, { "cpuset-cpus", required_argument, NULL, 'X' },
		{ "cpuset-mems", required_argument, NULL, 'M' }, { "pids-limit", required_argument, NULL, 'p' },
		{ "blkio-weight", required_argument, NULL, 'b' }, { "restart", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct update u = { .res = json_object_new_object(), .hc = json_object_new_object() };
	int c, r = 0, rc = EXIT_CELL;
	while (r == 0 && (c = getopt_long(argc, argv, "m:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': r = memory_flag(&u, "--memory", "limit", "Memory", optarg, err); break;
		case 'S': r = memory_flag(&u, "--memory-swap", "swap", "MemorySwap", optarg, err); break;
		case 'R': r = memory_flag(&u, "--memory-reservation", "reservation", "MemoryReservation", optarg, err); break;
		case 'C': {
			int64_t quota;
			if ((r = cell_cpus_parse(optarg, &quota, err)) == 0) {
				json_object *cpu = section(u.res, "cpu");
				json_object_object_add(cpu, "quota", json_object_new_int64(quota));
				json_object_object_add(cpu, "period", json_object_new_int64(100000));
				json_object_object_add(u.hc, "NanoCpus", json_object_new_int64(quota * 10000));
			}
			break;
		}
		case 'c': r = int_flag(&u, "--cpu-shares", "cpu", "shares", "CpuShares", optarg, 0, 262144, err); break;
		case 'P': r = int_flag(&u, "--cpu-period", "cpu", "period", "CpuPeriod", optarg, 1000, 1000000, err); break;
		case 'Q': r = int_flag(&u, "--cpu-quota", "cpu", "quota", "CpuQuota", optarg, -1, INT64_MAX, err); break;
		case 'X':
			json_object_object_add(section(u.res, "cpu"), "cpus", json_object_new_string(optarg));
			json_object_object_add(u.hc, "CpusetCpus", json_object_new_string(optarg));
			break;
		case 'M':
			json_object_object_add(section(u.res, "cpu"), "mems", json_object_new_string(optarg));
			json_object_object_add(u.hc, "CpusetMems", json_object_new_string(optarg));
			break;
		case 'p': r = int_flag(&u, "--pids-limit", "pids", "limit", "PidsLimit", optarg, -1, INT64_MAX, err); break;
		case 'b':
			r = int_flag(&u, "--blkio-weight", "blockIO", "weight", "BlkioWeight", optarg, 0, 1000, err);
			if (r == 0 && json_object_get_int64(json_object_object_get(u.hc, "BlkioWeight")) != 0 &&
			    json_object_get_int64(json_object_object_get(u.hc, "BlkioWeight")) < 10)
				r = cell_error_set(err, "Range of blkio weight is from 10 to 1000");
			break;
		case 'r': free(u.restart); r = cell_restart_parse(optarg, &u.restart, &u.restart_max, err); break;
		case 'h': printf("%s", update_usage); rc = 0; goto out;
		default: r = cell_error_set(err, "update: bad option (see `cell update --help`)"); break;
		}
	}
	if (r < 0)
		goto out;
	if (json_object_object_length(u.hc) == 0 && !u.restart) {
		cell_error_set(err, "you must provide one or more flags when using this command");
		goto out;
	}
	rc = cli_each(argc, argv, optind, true, update_one, &u, err);
out:
	json_object_put(u.res);
	json_object_put(u.hc);
	free(u.restart);
	return rc;
}
