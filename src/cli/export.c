/* `cell export [-o FILE] CONTAINER`: the container's file system (its
 * overlay root, as the host sees it: no /proc or volume of the container's
 * mount namespace) as a tar archive, written with libarchive, symlinks kept
 * as symlinks, never followed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "image/export.h"
#include "util.h"

int cmd_export(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *output = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h':
			printf("Usage: cell export [-o FILE] CONTAINER\n\nWrite a container's file system as a tar "
			       "archive to FILE or stdout.\n");
			return 0;
		default: return cell_error_set(err, "export: bad option (see `cell export --help`)"), EXIT_CELL;
		}
	}
	if (optind + 1 != argc)
		return cell_error_set(err, "`cell export` requires exactly 1 argument: the container"), EXIT_CELL;
	if (!output && isatty(1))
		return cell_error_set(err, "export: refusing to write a tar archive to a terminal (use -o FILE or "
					   "redirect)"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL, *rootfs = NULL;
	int rc = EXIT_CELL, fd = 1;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, argv[optind], &id, err) < 0 ||
	    cell_ctr_rootfs(e, id, &rootfs, err) < 0)
		goto out;
	if (output) {
		fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			cell_error_errno(err, errno, "export: create `%s`", output);
			goto out;
		}
	}
	if (cell_dir_export_tar(rootfs, fd, err) == 0)
		rc = 0;
	else if (output)
		unlink(output);
	if (output)
		close(fd);
out:
	cell_engine_free(e);
	return rc;
}
