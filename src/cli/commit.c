/* `cell commit CONTAINER [REPOSITORY[:TAG]]`: the container's changes (its
 * overlay upper dir) become a new image on top of the one it runs. A running
 * container is paused meanwhile (Docker's --pause, on by default) so that the
 * layer is a consistent snapshot. A container in a user namespace of its own
 * (run --userns auto, --uidmap) wrote host ids: the layer holds its
 * container ids, so the image runs the same with or without remapping. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "image/image.h"
#include "json.h"
#include "util.h"

static const char commit_usage[] =
	"Usage: cell commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
	"Create a new image from a container's changes.\n\n"
	"Options:\n"
	"  -a, --author string    author (e.g. \"Jane Doe <jane@example.com>\")\n"
	"  -c, --change list      apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,\n"
	"                         STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
	"  -m, --message string   commit message\n"
	"  -p, --pause            pause the container during the commit (default true; --pause=false)\n";

static void strv_append(char ***v, const char *s)
{
	size_t n = *v ? strv_len(*v) : 0;
	*v = realloc(*v, (n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

int cmd_commit(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "author", required_argument, NULL, 'a' }, { "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' }, { "pause", optional_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	_cleanup_strv_ char **changes = NULL;
	struct cell_commit_opts o = { 0 };
	bool pause = true;
	int c;

	while ((c = getopt_long(argc, argv, "a:c:m:ph", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.author = optarg; break;
		case 'c': strv_append(&changes, optarg); break;
		case 'm': o.message = optarg; break;
		case 'p': pause = !optarg || !streq(optarg, "false"); break;
		case 'h': printf("%s", commit_usage); return 0;
		default: return cell_error_set(err, "commit: bad option (see `cell commit --help`)"), EXIT_CELL;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cell_error_set(err, "commit: requires CONTAINER and an optional REPOSITORY[:TAG] "
					   "(see `cell commit --help`)"), EXIT_CELL;
	o.changes = changes;
	o.name = argc - optind == 2 ? argv[optind + 1] : NULL;

	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL, *new_id = NULL;
	int r = EXIT_CELL;
	if (cell_engine_open(cell_globals.root, cell_globals.runroot, &e, err) < 0 ||
	    cell_ctr_lookup(e, argv[optind], &id, err) < 0)
		goto out;
	if (cell_ctr_commit(e, id, argv[optind], pause, &o, &new_id, err) == 0) {
		printf("%s\n", new_id);
		r = 0;
	}
out:
	cell_engine_free(e);
	return r;
}
