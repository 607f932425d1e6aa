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
	struct cell_attach_opts o;
	int status;
};

static int start_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	struct start_data *d = data;
	int r = d->attach ? cell_ctr_start_attached(e, id, &d->o, &d->status, err) : cell_ctr_start(e, id, err);
	if (r < 0 && (!d->attach || d->status == 0))
		d->status = cell_ctr_exit_code(*err);
	return r;
}

static void usage(void)
{
	printf("Usage: cell start [OPTIONS] CONTAINER...\n\n"
	       "Start stopped containers, each under its own monitor.\n\n"
	       "Options:\n"
	       "  -a, --attach               attach stdout/stderr (one container), exit with its status;\n"
	       "                             Ctrl-P Ctrl-Q on a tty detaches and leaves it running\n"
	       "  -i, --interactive          attach stdin too\n"
	       "      --detach-keys KEYS     keys that detach, Docker's syntax (default \"ctrl-p,ctrl-q\")\n");
}

int cmd_start(int argc, char **argv, cell_error **err)
{
	enum { O_DETACH_KEYS = 1000 };
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' }, { "interactive", no_argument, NULL, 'i' },
		{ "detach-keys", required_argument, NULL, O_DETACH_KEYS }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct start_data d = { .o = { .no_stdin = true, .sig_proxy = true } };
	int c;
	while ((c = getopt_long(argc, argv, "ai", opts, NULL)) != -1) {
		switch (c) {
		case 'a': d.attach = true; break;
		case 'i': d.o.no_stdin = false; d.attach = true; break;
		case O_DETACH_KEYS: d.o.detach_keys = optarg; break;
		case 'h': usage(); return 0;
		default: return cell_error_set(err, "start: bad option (see `cell start --help`)"), EXIT_CELL;
		}
	}
	if (d.attach && argc - optind != 1)
		return cell_error_set(err, "start -a takes exactly one container"), EXIT_CELL;
	if (d.o.detach_keys) {
		unsigned char keys[CELL_DETACH_KEYS_MAX];
		size_t n;
		if (cell_detach_keys_parse(d.o.detach_keys, keys, &n, err) < 0)
			return EXIT_CELL;
	}
	int r = cli_each(argc, argv, optind, !d.attach, start_one, &d, err);
	if (d.attach)
		return *err ? (d.status ? d.status : EXIT_CELL) : d.status;
	return r ? (d.status ? d.status : r) : 0;
}

static int restart_one(struct cell_engine *e, const char *id, void *data, cell_error **err)
{
	return cell_ctr_restart(e, id, *(int *)data, err);
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
