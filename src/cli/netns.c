/* `cell netns ls|add|del|exec|attach`: the /run/netns files that `ip netns`
 * uses, made the way iproute2 makes them (see src/lib/net/netns.c), so
 * `ip netns exec NAME` works on what cell made and the other way round. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "net/net.h"
#include "util.h"

static const char netns_usage[] =
	"Usage: cell netns COMMAND\n\n"
	"Network namespace files in /run/netns, shared with `ip netns`.\n\n"
	"Commands:\n"
	"  ls                 list the named network namespaces\n"
	"  add NAME           create a new network namespace NAME\n"
	"  del NAME...        remove the names (the namespace lives on while used)\n"
	"  exec NAME CMD...   run CMD in NAME, with /etc/netns/NAME files over /etc\n"
	"  attach NAME PID    name the network namespace of process PID\n";

int cmd_netns(int argc, char **argv, cell_error **err)
{
	const char *sub = argc > 1 ? argv[1] : "ls";

	if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
		fputs(netns_usage, stdout);
		return 0;
	}
	if (streq(sub, "ls") || streq(sub, "list")) {
		_cleanup_strv_ char **names = NULL;
		if (cell_netns_list(&names, err) < 0)
			return EXIT_CELL;
		for (char **it = names; *it; it++)
			printf("%s\n", *it);
		return 0;
	}
	if (streq(sub, "add") && argc == 3)
		return cell_netns_add(argv[2], err) < 0 ? EXIT_CELL : 0;
	if ((streq(sub, "del") || streq(sub, "delete")) && argc >= 3) {
		for (int i = 2; i < argc; i++)
			if (cell_netns_del(argv[i], err) < 0)
				return EXIT_CELL;
		return 0;
	}
	if (streq(sub, "attach") && argc == 4) {
		int64_t pid;
		if (parse_int64(argv[3], &pid) < 0 || pid <= 0) {
			cell_error_set(err, "netns attach: `%s` is not a process id", argv[3]);
			return EXIT_CELL;
		}
		return cell_netns_attach(argv[2], (pid_t)pid, err) < 0 ? EXIT_CELL : 0;
	}
	if (streq(sub, "exec") && argc >= 4) {
		int i = 3;
		if (streq(argv[i], "--"))
			i++;
		if (i >= argc) {
			cell_error_set(err, "netns exec `%s`: no command", argv[2]);
			return EXIT_CELL;
		}
		int fd = cell_netns_open(argv[2], err);
		if (fd < 0)
			return EXIT_CELL;
		close(fd);
		cell_netns_exec(argv[2], argv + i, err);
		/* as `ip netns exec`: 127 when the command cannot run */
		return cell_error_code(*err) == ENOENT ? 127 : EXIT_CELL;
	}
	fputs(netns_usage, stderr);
	return EXIT_CELL;
}
