#define _GNU_SOURCE
#include <signal.h>

#include "oci.h"
#include "runtime/runtime.h"
#include "util.h"

int oci_kill(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	static const char *const help[] = { "send the signal to every process of the container", NULL };
	bool all = false;
	int c, sig = SIGTERM;
	while ((c = getopt_long_only(argc, argv, "ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'h': oci_usage("kill", opts, help); return 0;
		default: return cell_error_set(err, "kill: unknown option");
		}
	}
	if (oci_need_args(argc, argv, 1, "a container id", err) < 0)
		return -1;
	if (optind + 1 < argc) {
		/* 0 checks that the container is alive (runc accepts it) */
		sig = streq(argv[optind + 1], "0") ? 0 : signal_parse(argv[optind + 1]);
		if (sig < 0)
			return cell_error_set(err, "kill: unknown signal `%s` (a name such as TERM or KILL, or a number)",
					      argv[optind + 1]);
	}
	return cell_rt_kill(oci.root, argv[optind], sig, all, err) < 0 ? -1 : 0;
}
