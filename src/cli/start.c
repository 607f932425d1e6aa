/* `cell start` and `cell restart`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

struct start_data {
	bool attach;
	int status;
};

static int start_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	struct start_data *d = data;
	if (d->attach) {
		if (cell_ctr_run_attached(e, id, &d->status, err) < 0) {
			d->status = cell_ctr_exit_code(*err);
			return -1;
		}
		return 0;
	}
	if (cell_ctr_start(e, id, err) < 0) {
		d->status = cell_ctr_exit_code(*err);
		return -1;
	}
	return 0;
}

int cmd_start(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' }, { "interactive", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct start_data d = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "ai", opts, NULL)) != -1) {
		switch (c) {
		case 'a': d.attach = true; break;
		case 'i': break;
		case 'h': printf("Usage: cell start [-a] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "start: bad option"), EXIT_CELL;
		}
	}
	if (d.attach && argc - optind != 1)
		return cell_error_set(err, "start -a takes exactly one container"), EXIT_CELL;
	int r = cli_each(argc, argv, optind, !d.attach, start_one, &d, err);
	if (d.attach)
		return *err ? (d.status ? d.status : EXIT_CELL) : d.status;
	return r ? (d.status ? d.status : r) : 0;
}

static int restart_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	if (cell_ctr_stop(e, id, *(int *)data, err) < 0)
		return -1;
	return cell_ctr_start(e, id, err);
}

int cmd_restart(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	int timeout = -1, c;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v < -1 || v > 86400)
				return cell_error_set(err, "invalid --time `%s`: expected seconds", optarg), EXIT_CELL;
			timeout = (int)v;
			break;
		}
		case 'h': printf("Usage: cell restart [-t SECONDS] CONTAINER...\n"); return 0;
		default: return cell_error_set(err, "restart: bad option"), EXIT_CELL;
		}
	}
	return cli_each(argc, argv, optind, true, restart_one, &timeout, err);
}
