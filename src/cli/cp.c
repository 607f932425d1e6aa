/* `cell cp [-aL] CONTAINER:SRC DEST|-` and `cell cp [-aL] SRC|- CONTAINER:DEST`:
 * the copy itself is the engine's (src/lib/engine/cp.c: what the container
 * side is, owners, links). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static const char cp_usage[] =
	"Usage: cell cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
	"       cell cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
	"Copy files between a container and the host. The container side includes its\n"
	"volumes and bind mounts; it may be running or stopped. `-` as DEST_PATH writes\n"
	"a tar of SRC_PATH to stdout; `-` as SRC_PATH extracts a tar from stdin into the\n"
	"directory DEST_PATH.\n\n"
	"Options:\n"
	"  -a, --archive       keep uid/gid of the source (mapped into a container's\n"
	"                      user namespace); without it copies into a container\n"
	"                      belong to its root, copies out to the caller\n"
	"  -L, --follow-link   follow a symbolic link in SRC_PATH\n"
	"  -q, --quiet         accepted for Docker (no progress is printed)\n";

/* "NAME:PATH" names a container unless it is a path (starts with / or .) or - */
static const char *ctr_colon(const char *a)
{
	if (a[0] == '/' || a[0] == '.' || streq(a, "-"))
		return NULL;
	return strchr(a, ':');
}

int cmd_cp(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "archive", no_argument, NULL, 'a' }, { "follow-link", no_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct cell_cp_req q = { .tar_fd = -1 };
	int o;
	while ((o = getopt_long(argc, argv, "+aLqh", opts, NULL)) != -1) {
		switch (o) {
		case 'a': q.archive = true; break;
		case 'L': q.follow = true; break;
		case 'q': break;
		case 'h': printf("%s", cp_usage); return 0;
		default: return cell_error_set(err, "cp: bad option (see `cell cp --help`)"), EXIT_CELL;
		}
	}
	if (argc - optind != 2)
		return cell_error_set(err, "cp: requires 2 arguments: CONTAINER:SRC DEST or SRC CONTAINER:DEST "
					   "(see `cell cp --help`)"), EXIT_CELL;
	const char *a = argv[optind], *b = argv[optind + 1];
	const char *ca = ctr_colon(a), *cb = ctr_colon(b);
	if (!ca == !cb)
		return cell_error_set(err, "cp: exactly one of the two paths must be CONTAINER:PATH"), EXIT_CELL;
	const char *spec = ca ? a : b, *colon = ca ? ca : cb;
	_cleanup_free_ char *ref = strndup(spec, (size_t)(colon - spec));
	q.ref = ref;
	q.ctr_path = *(colon + 1) ? colon + 1 : "/";
	q.into = !ca;
	const char *host = ca ? b : a;
	if (streq(host, "-"))
		q.tar_fd = ca ? STDOUT_FILENO : STDIN_FILENO;
	else
		q.host_path = host;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, ref, &id, err) < 0)
		goto out;
	q.id = id;
	if (cell_ctr_cp(e, &q, err) == 0)
		status = 0;
out:
	cell_engine_free(e);
	return status;
}
