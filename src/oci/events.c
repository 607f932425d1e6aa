#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

static void print_event(const char *type, const char *id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "id", json_object_new_string(id));
	printf("%s\n", cj_to_string(o, false));
	fflush(stdout);
	json_object_put(o);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An {"type":"oom"} line for each OOM kill since *seen. */
static void check_oom(const char *id, uint64_t *seen)
{
	uint64_t n = 0;
	cell_error *e = NULL;
	if (cell_rt_oom_count(oci.root, id, &n, &e) < 0) {
		cell_error_free(&e);
		return;
	}
	for (; *seen < n; (*seen)++)
		print_event("oom", id);
}

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
	const char *id = argv[optind];
	if (once)
		return print_stats(id, err);
	/* stats every interval, an oom line as soon as the OOM killer strikes
	 * (checked every 100 ms), and the end once the init is gone: runc exits
	 * then too, and a caller must never be left waiting */
	_cleanup_close_ int pidfd = cell_rt_init_pidfd(oci.root, id, err);
	if (pidfd < 0)
		return -1;
	uint64_t ooms = 0;
	if (cell_rt_oom_count(oci.root, id, &ooms, err) < 0)
		return -1;
	int64_t next = now_ms();
	for (;;) {
		if (now_ms() >= next) {
			cell_error *e = NULL;
			if (print_stats(id, &e) < 0) {
				cell_debug("events: %s", e->msg);
				cell_error_free(&e);
			}
			next = now_ms() + interval * 1000;
		}
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int r = poll(&p, 1, 100);
		check_oom(id, &ooms);
		if (r > 0)
			return 0;
	}
}
