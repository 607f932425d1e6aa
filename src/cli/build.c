/* `cell build` (`cell image build`) and `cell builder prune`: see
 * src/lib/build/build.h. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build.h"
#include "commands.h"
#include "engine/engine.h"
#include "image/image.h"
#include "util.h"

static const char build_usage[] =
	"Usage: cell build [OPTIONS] CONTEXT\n\n"
	"Build an image from a Dockerfile (or Containerfile) and a context: a directory, or `-` for a tar\n"
	"(or a lone Dockerfile) on standard input. Each step's result is cached under the engine root;\n"
	"a rebuild with nothing changed starts no container.\n\n"
	"Options:\n"
	"  -t, --tag NAME[:TAG]       name the image (repeatable)\n"
	"  -f, --file FILE            the Dockerfile (`-`: standard input; default CONTEXT/Dockerfile,\n"
	"                             then CONTEXT/Containerfile)\n"
	"      --build-arg K[=V]      set a build argument (K alone: from the environment; repeatable)\n"
	"      --target STAGE         build up to this stage\n"
	"      --no-cache             run every step again\n"
	"      --pull[=POLICY]        missing (default), always or never; --pull alone: always\n"
	"      --network MODE         network of RUN steps: bridge (default), none, host or a network name\n"
	"      --label K=V            set a label on the image (repeatable)\n"
	"      --iidfile FILE         write the image id to FILE\n"
	"  -q, --quiet                print the image id alone\n"
	"      --progress MODE        auto, plain or tty (the output is plain)\n"
	"      --platform P           linux/amd64 only (this host)\n"
	"      --secret id=ID,src=FILE  a file RUN --mount=type=secret,id=ID sees (repeatable)\n"
	"      --format F             docker (default: the config keeps HEALTHCHECK, SHELL, ONBUILD) or oci\n"
	"                             (those dropped, with a warning)\n";

enum { O_BUILD_ARG = 256, O_TARGET, O_NO_CACHE, O_PULL, O_NETWORK, O_LABEL, O_IIDFILE, O_PROGRESS, O_PLATFORM,
       O_SECRET, O_FORMAT, O_CACHE_FROM, O_RM, O_FORCE_RM, O_LAYERS, O_ISOLATION };

static int pull_fn(struct cell_engine *e, const char *image, const char *policy, cell_error **err)
{
	optind = 0;	/* cmd_pull parses its own argv with getopt */
	return cli_run_pull(e, image, policy, err);
}

int cmd_build(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, O_BUILD_ARG },
		{ "target", required_argument, NULL, O_TARGET },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "pull", optional_argument, NULL, O_PULL },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "label", required_argument, NULL, O_LABEL },
		{ "iidfile", required_argument, NULL, O_IIDFILE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "cache-from", required_argument, NULL, O_CACHE_FROM },
		{ "rm", optional_argument, NULL, O_RM },
		{ "force-rm", optional_argument, NULL, O_FORCE_RM },
		{ "layers", optional_argument, NULL, O_LAYERS },
		{ "isolation", required_argument, NULL, O_ISOLATION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cell_build_opts o = { .out = stdout, .pull_fn = pull_fn };
	_cleanup_free_ char **tags = NULL, **bargs = NULL, **labels = NULL, **secrets = NULL;	/* borrowed strings */
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "t:f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 't': cli_strv_push(&tags, optarg); break;
		case 'f': o.dockerfile = optarg; break;
		case O_BUILD_ARG: cli_strv_push(&bargs, optarg); break;
		case O_TARGET: o.target = optarg; break;
		case O_NO_CACHE: o.no_cache = true; break;
		case O_PULL:
			o.pull = !optarg || streq(optarg, "true") ? "always" : streq(optarg, "false") ? "missing" : optarg;
			if (!streq(o.pull, "always") && !streq(o.pull, "missing") && !streq(o.pull, "never"))
				return cell_error_set(err, "build: --pull=%s: expected missing, always or never", optarg),
				       EXIT_CELL;
			break;
		case O_NETWORK: o.network = streq(optarg, "default") ? NULL : optarg; break;
		case O_LABEL: cli_strv_push(&labels, optarg); break;
		case O_IIDFILE: o.iidfile = optarg; break;
		case 'q': o.quiet = true; break;
		case O_PROGRESS:
			if (!streq(optarg, "auto") && !streq(optarg, "plain") && !streq(optarg, "tty"))
				return cell_error_set(err, "build: --progress=%s: expected auto, plain or tty", optarg),
				       EXIT_CELL;
			break;
		case O_PLATFORM:
			if (!streq(optarg, "linux/amd64") && !streq(optarg, "linux/x86_64"))
				return cell_error_set(err, "build: --platform %s: only linux/amd64 (this host) can be "
							   "built (no emulation)", optarg), EXIT_CELL;
			break;
		case O_SECRET:
			if (!strstr(optarg, "id=") || (!strstr(optarg, "src=") && !strstr(optarg, "source=")))
				return cell_error_set(err, "build: --secret `%s`: expected id=ID,src=FILE", optarg),
				       EXIT_CELL;
			cli_strv_push(&secrets, optarg);
			break;
		case O_FORMAT:
			if (!streq(optarg, "oci") && !streq(optarg, "docker"))
				return cell_error_set(err, "build: --format %s: expected oci or docker", optarg), EXIT_CELL;
			o.format = optarg;
			break;
		case O_CACHE_FROM: case O_RM: case O_FORCE_RM: case O_LAYERS: case O_ISOLATION:
			break;	/* podman's, accepted: the cache is local, containers always removed */
		case 'h': printf("%s", build_usage); return 0;
		default: return cell_error_set(err, "build: bad option (see `cell build --help`)"), EXIT_CELL;
		}
	}
	if (argc - optind != 1)
		return cell_error_set(err, "build: requires exactly one CONTEXT (a directory or `-`; see `cell build "
					   "--help`)"), EXIT_CELL;
	o.context = argv[optind];
	o.tags = tags;
	o.build_args = bargs;
	o.labels = labels;
	o.secrets = secrets;
	for (size_t i = 0; tags && tags[i]; i++) {
		struct cell_ref ref;
		if (cell_ref_parse(tags[i], &ref, err) < 0)
			return cell_error_wrap(err, "build: -t"), EXIT_CELL;
		cell_ref_clear(&ref);
	}

	struct cell_engine *e = NULL;
	struct cell_store *s = NULL;
	_cleanup_free_ char *id = NULL;
	int r = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cell_store_open(cell_globals.root, &s, err) < 0)
		goto out;
	if (cell_build(e, s, &o, &id, err) < 0) {
		cell_error_wrap(err, "build");
		goto out;
	}
	printf("%s\n", o.quiet ? id : id + 7);
	r = 0;
out:
	fflush(stdout);
	cell_store_free(s);
	cell_engine_free(e);
	return r;
}

static const char builder_usage[] =
	"Usage: cell builder prune [-a|--all] [-f|--force]\n\n"
	"Remove the build cache: its entries and the unnamed images they kept (with --all also the\n"
	"entries whose image has a name; the named images stay), and leftovers of killed builds.\n"
	"Unnamed images in the store go as with `cell image prune`.\n";

int cmd_builder(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool all = false, force = false;
	int c;
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("%s", builder_usage);
		return argc < 2 ? EXIT_CELL : 0;
	}
	if (streq(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1, err);
	if (!streq(argv[1], "prune"))
		return cell_error_set(err, "builder: unknown command `%s` (prune, build)", argv[1]), EXIT_CELL;
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "afh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'f': force = true; break;
		case 'h': printf("%s", builder_usage); return 0;
		default: return cell_error_set(err, "builder prune: bad option"), EXIT_CELL;
		}
	}
	if (!force && !cli_confirm("WARNING! This will remove all dangling build cache."))
		return 0;
	struct cell_store *s = NULL;
	struct cell_engine *e = NULL;
	size_t n = 0;
	uint64_t bytes = 0;
	if (cli_engine_open(&e, err) < 0 || cell_store_open(cell_globals.root, &s, err) < 0) {
		cell_engine_free(e);
		return EXIT_CELL;
	}
	int r = cell_build_cache_prune(e, s, all, &n, &bytes, err);
	cell_store_free(s);
	cell_engine_free(e);
	if (r < 0)
		return EXIT_CELL;
	char sz[32];
	cli_human_size(bytes, sz, sizeof(sz));
	printf("Deleted build cache objects: %zu\nTotal reclaimed space: %s\n", n, sz);
	return 0;
}
