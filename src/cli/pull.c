/* `cell pull` and `cell push`: images from and to registries. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "image/image.h"
#include "image/registry.h"
#include "util.h"

static const char pull_usage[] =
	"Usage: cell pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nDownload an image from a registry.\n\n"
	"Options:\n"
	"      --creds USER:PASS    credentials (default: ~/.docker/config.json, else anonymous)\n"
	"      --insecure           plain HTTP, no TLS verification (localhost always uses HTTP)\n"
	"      --tls-verify=false   the same\n"
	"      --platform OS/ARCH   pick this platform from a multi-platform image\n"
	"  -q, --quiet              print only the image name\n\n"
	"Credentials go to the registry's host:port only. Bounds from the environment:\n"
	"CELL_PULL_TIMEOUT (s, 3600), CELL_PULL_MIN_RATE (B/s, 1024) over CELL_PULL_RATE_WINDOW\n"
	"(s, 30), CELL_LAYER_MAX_RATIO (100), CELL_STORE_MIN_FREE (MiB, 256); see cell(1).\n";

static const char push_usage[] =
	"Usage: cell push [OPTIONS] IMAGE [DESTINATION]\n\nUpload an image to a registry.\n\n"
	"Options:\n"
	"      --creds USER:PASS    credentials (default: ~/.docker/config.json, else anonymous)\n"
	"      --insecure           plain HTTP, no TLS verification (localhost always uses HTTP)\n"
	"      --tls-verify=false   the same\n"
	"  -q, --quiet              print nothing\n";

static bool tty;

/* One line per blob and state, as Docker prints without a terminal; on a
 * terminal the line of the blob downloading is redrawn as a bar. */
static void print_progress(void *data, const char *digest, const char *status)
{
	if (streq(status, "Downloading") || streq(status, "Pushing"))
		return;
	printf("%s%.12s: %-60s\n", tty ? "\r" : "", digest + 7, status);
	fflush(stdout);
}

static void print_bytes(void *data, const char *digest, uint64_t done, uint64_t total)
{
	char bar[41];
	int w = total ? (int)(done * 40 / (total ? total : 1)) : 0;
	if (w > 40)
		w = 40;
	memset(bar, '=', (size_t)w);
	if (w < 40)
		bar[w] = '>';
	memset(bar + w + 1, ' ', w < 40 ? (size_t)(39 - w) : 0);
	bar[40] = '\0';
	printf("\r%.12s: Downloading [%s] %.1fMB/%.1fMB", digest + 7, bar, done / 1e6, total / 1e6);
	fflush(stdout);
}

static int parse_opts(int argc, char **argv, const char *usage, struct cell_registry_opts *o, bool *quiet,
		      cell_error **err)
{
	static const struct option opts[] = {
		{ "creds", required_argument, NULL, 'c' }, { "insecure", no_argument, NULL, 'i' },
		{ "tls-verify", required_argument, NULL, 't' }, { "platform", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->creds = optarg; break;
		case 'i': o->insecure = true; break;
		case 't': o->insecure = streq(optarg, "false"); break;
		case 'p': o->platform = optarg; break;
		case 'q': *quiet = true; break;
		case 'h': printf("%s", usage); return 1;
		default: return cell_error_set(err, "%s: bad option (see `cell %s --help`)", argv[0], argv[0]);
		}
	}
	return 0;
}

int cmd_pull(int argc, char **argv, cell_error **err)
{
	struct cell_registry_opts o = { .progress = print_progress };
	bool quiet = false;
	struct cell_store *s = NULL;
	_cleanup_free_ char *id = NULL;
	tty = isatty(1);
	if (tty)
		o.bytes = print_bytes;
	_cleanup_free_ char *digest = NULL;
	struct cell_ref ref;

	int r = parse_opts(argc, argv, pull_usage, &o, &quiet, err);
	if (r != 0)
		return r < 0 ? EXIT_CELL : 0;
	if (optind + 1 != argc)
		return cell_error_set(err, "pull: requires exactly 1 argument (see `cell pull --help`)"), EXIT_CELL;
	const char *name = argv[optind];
	if (cell_ref_parse(name, &ref, err) < 0)
		return EXIT_CELL;
	if (quiet) {
		o.progress = NULL;
		o.bytes = NULL;
	} else {
		if (!strchr(strrchr(name, '/') ? strrchr(name, '/') : name, ':') && !ref.digest)
			printf("Using default tag: latest\n");
		printf("%s: Pulling from %s\n", ref.digest ? ref.digest : ref.tag, ref.path);
	}
	char *full = cell_ref_familiar(&ref);
	cell_ref_clear(&ref);
	if (cell_store_open(cell_globals.root, &s, err) < 0) {
		free(full);
		return EXIT_CELL;
	}
	_cleanup_free_ char *before = NULL;	/* the id the name had, to say "up to date" */
	struct cell_image *old = NULL;
	cell_error *e = NULL;
	if (cell_image_resolve(s, full, &old, &e) == 0)
		before = xstrdup(old->id);
	cell_error_free(&e);
	cell_image_free(old);
	if (cell_image_pull(s, name, &o, &id, &digest, err) < 0) {
		cell_store_free(s);
		free(full);
		return EXIT_CELL;
	}
	if (!quiet) {
		printf("Digest: %s\n", digest);
		if (before && streq(before, id))
			printf("Status: Image is up to date for %s\n", full);
		else
			printf("Status: Downloaded newer image for %s\n", full);
	}
	printf("%s\n", full);
	free(full);
	cell_store_free(s);
	return 0;
}

int cmd_push(int argc, char **argv, cell_error **err)
{
	struct cell_registry_opts o = { .progress = print_progress };
	bool quiet = false;
	struct cell_store *s = NULL;
	_cleanup_free_ char *digest = NULL;

	int r = parse_opts(argc, argv, push_usage, &o, &quiet, err);
	if (r != 0)
		return r < 0 ? EXIT_CELL : 0;
	if (optind >= argc || argc - optind > 2)
		return cell_error_set(err, "push: requires IMAGE and an optional DESTINATION (see `cell push --help`)"),
		       EXIT_CELL;
	const char *local = argv[optind], *dest = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (quiet)
		o.progress = NULL;
	else
		printf("The push refers to repository [%s]\n", dest ? dest : local);
	if (cell_store_open(cell_globals.root, &s, err) < 0 || cell_image_push(s, local, dest, &o, &digest, err) < 0) {
		cell_store_free(s);
		return EXIT_CELL;
	}
	if (!quiet)
		printf("Digest: %s\n", digest);
	cell_store_free(s);
	return 0;
}
