/* `cell diff CONTAINER`: Docker's list of changes, read from the container's
 * overlay upper dir: a whiteout (0/0 character device) is a deletion, an
 * entry whose path exists in one of the image's layers a change, anything
 * else an addition. The layers are looked into with RESOLVE_BENEATH and no
 * symlinks followed: their content came from an image. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "image/image.h"
#include "util.h"

static struct {
	int *layers;		/* fds of the image's layer dirs, top first */
	size_t n_layers;
	size_t skip;		/* strlen(upper) */
	char **lines;
	size_t n, cap;
} d;

static bool in_lower(const char *rel)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	for (size_t i = 0; i < d.n_layers; i++) {
		int fd = (int)syscall(SYS_openat2, d.layers[i], rel, &how, sizeof(how));
		if (fd >= 0) {
			struct stat st;
			bool whiteout = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
			close(fd);
			/* a whiteout in a higher layer hides the lower ones */
			return !whiteout;
		}
	}
	return false;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	const char *rel = path + d.skip + 1;
	char kind;
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		kind = 'D';
	else
		kind = in_lower(rel) ? 'C' : 'A';
	if (d.n == d.cap) {
		d.cap = d.cap ? d.cap * 2 : 64;
		d.lines = realloc(d.lines, d.cap * sizeof(char *));
		if (!d.lines)
			abort();
	}
	d.lines[d.n++] = xasprintf("%c /%s", kind, rel);
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

int cmd_diff(int argc, char **argv, cell_error **err)
{
	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		printf("Usage: cell diff CONTAINER\n\nList the files and directories a container changed since it "
		       "was created:\nA added, C changed, D deleted.\n");
		return 0;
	}
	if (argc != 2)
		return cell_error_set(err, "`cell diff` requires exactly 1 argument: the container"), EXIT_CELL;
	struct cell_engine *e = NULL;
	struct cell_store *store = NULL;
	struct cell_image *img = NULL;
	json_object *rec = NULL;
	_cleanup_free_ char *id = NULL, *upper = NULL, *cdir = NULL;
	int rc = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, argv[1], &id, err) < 0 ||
	    cell_ctr_load(e, id, &rec, err) < 0)
		goto out;
	const char *image = json_object_get_string(json_object_object_get(rec, "Image"));
	if (cell_store_open(e->root, &store, err) < 0 || cell_image_resolve(store, image ? image : "", &img, err) < 0)
		goto out;
	cdir = cell_ctr_dir(e, id);
	upper = xasprintf("%s/upper", cdir);
	d.skip = strlen(upper);
	d.layers = xcalloc(img->n_layers + 1, sizeof(int));
	for (size_t i = img->n_layers; i-- > 0;) {
		int fd = open(img->layer_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			cell_error_errno(err, errno, "diff: open the image layer `%s`", img->layer_dirs[i]);
			goto out;
		}
		d.layers[d.n_layers++] = fd;
	}
	if (access(upper, F_OK) == 0 && nftw(upper, visit, 32, FTW_PHYS | FTW_MOUNT) != 0) {
		cell_error_errno(err, errno, "diff: walk the container's upper dir `%s`", upper);
		goto out;
	}
	qsort(d.lines, d.n, sizeof(char *), by_path);
	for (size_t i = 0; i < d.n; i++)
		printf("%s\n", d.lines[i]);
	rc = 0;
out:
	fflush(stdout);
	for (size_t i = 0; i < d.n; i++)
		free(d.lines[i]);
	free(d.lines);
	for (size_t i = 0; i < d.n_layers; i++)
		close(d.layers[i]);
	free(d.layers);
	json_object_put(rec);
	cell_image_free(img);
	cell_store_free(store);
	cell_engine_free(e);
	return rc;
}
