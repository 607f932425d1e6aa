/* `cell attach`: our stdin, stdout and stderr to a running container's
 * monitor (Docker's flags). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

/* --sig-proxy, --sig-proxy=true|false as Docker's boolean flags. */
int cli_bool_flag(const char *name, const char *arg, bool *ret, cell_error **err)
{
	if (!arg || streq(arg, "true") || streq(arg, "1"))
		*ret = true;
	else if (streq(arg, "false") || streq(arg, "0"))
		*ret = false;
	else
		return cell_error_set(err, "invalid --%s `%s`: expected true or false", name, arg);
	return 0;
}

static void usage(void)
{
	printf("Usage: cell attach [OPTIONS] CONTAINER\n\n"
	       "Attach our standard input, output and error to a running container, through\n"
	       "its monitor. Ctrl-P Ctrl-Q detaches from a container with a tty and leaves it\n"
	       "running; the exit status is the container's when it ends while attached.\n\n"
	       "Options:\n"
	       "      --detach-keys KEYS     keys that detach, Docker's syntax (default \"ctrl-p,ctrl-q\")\n"
	       "      --no-stdin             do not attach stdin\n"
	       "      --sig-proxy[=BOOL]     pass the signals we get to the container (default\n"
	       "                             true; without a tty only, a tty sends Ctrl-C itself)\n");
}

int cmd_attach(int argc, char **argv, cell_error **err)
{
	enum { O_DETACH_KEYS = 1000, O_NO_STDIN, O_SIG_PROXY, O_HELP };
	static const struct option opts[] = {
		{ "detach-keys", required_argument, NULL, O_DETACH_KEYS }, { "no-stdin", no_argument, NULL, O_NO_STDIN },
		{ "sig-proxy", optional_argument, NULL, O_SIG_PROXY }, { "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	struct cell_attach_opts o = { .sig_proxy = true };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DETACH_KEYS: o.detach_keys = optarg; break;
		case O_NO_STDIN: o.no_stdin = true; break;
		case O_SIG_PROXY:
			if (cli_bool_flag("sig-proxy", optarg, &o.sig_proxy, err) < 0)
				return EXIT_CELL;
			break;
		case O_HELP: usage(); return 0;
		default: return cell_error_set(err, "attach: bad option (see `cell attach --help`)"), EXIT_CELL;
		}
	}
	if (argc - optind != 1)
		return cell_error_set(err, "`cell attach` takes exactly 1 container"), EXIT_CELL;
	if (o.detach_keys) {
		unsigned char keys[CELL_DETACH_KEYS_MAX];
		size_t n;
		if (cell_detach_keys_parse(o.detach_keys, keys, &n, err) < 0)
			return EXIT_CELL;
	}
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) == 0 && cli_lookup(e, argv[optind], &id, err) == 0 &&
	    cell_ctr_attach(e, id, &o, &status, err) < 0 && status == 0)
		status = EXIT_CELL;
	cell_engine_free(e);
	return *err ? EXIT_CELL : status;
}
