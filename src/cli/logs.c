/* `cell logs [-f] [--tail N] [-t] [--since T]`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

int cmd_logs(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "tail", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' }, { "since", required_argument, NULL, 'S' },
		{ "details", no_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct cell_logs_opts o = { .tail = -1 };
	char since[64];
	int c;
	while ((c = getopt_long(argc, argv, "fn:t", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.follow = true; break;
		case 't': o.timestamps = true; break;
		case 'S': {
			/* the journal's times are RFC 3339 in UTC with nanoseconds: compared as text */
			int64_t ns;
			if (cli_time_parse("--since", optarg, &ns, err) < 0)
				return EXIT_CELL;
			time_t sec = (time_t)(ns / 1000000000);
			struct tm tm;
			char base[32];
			gmtime_r(&sec, &tm);
			strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(since, sizeof(since), "%s.%09lldZ", base, (long long)(ns % 1000000000));
			o.since = since;
			break;
		}
		case 'D': break;
		case 'n':
			if (streq(optarg, "all")) {
				o.tail = -1;
			} else {
				int64_t v;
				if (parse_int64(optarg, &v) < 0 || v < 0)
					return cell_error_set(err, "invalid --tail `%s`: a number of lines or `all`",
							      optarg), EXIT_CELL;
				o.tail = (long)v;
			}
			break;
		case 'h': printf("Usage: cell logs [-f] [--tail N] [-t] [--since TIME] CONTAINER\n"); return 0;
		default: return cell_error_set(err, "logs: bad option"), EXIT_CELL;
		}
	}
	if (argc - optind != 1)
		return cell_error_set(err, "`cell logs` takes exactly one container"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int r = cli_engine_open(&e, err);
	if (r == 0)
		r = cli_lookup(e, argv[optind], &id, err);
	if (r == 0)
		r = cell_ctr_logs(e, id, &o, err);
	cell_engine_free(e);
	return r < 0 ? EXIT_CELL : 0;
}
