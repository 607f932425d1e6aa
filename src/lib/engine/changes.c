/* A container's changes since its creation (engine.h: cell_ctr_changes),
 * read from its overlay upper dir: a whiteout (0/0 character device) is a
 * deletion, an entry whose path exists in one of the image's layers a
 * change, anything else an addition. The layers are looked into with
 * RESOLVE_BENEATH and no symlinks followed: their content came from an
 * image. The walk's state is per thread (nftw has no user pointer; the
 * API serves one request per thread). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine.h"
#include "image/image.h"
#include "util.h"

struct walk {
	int *layers;		/* fds of the image's layer dirs, top first */
	size_t n_layers;
	size_t skip;		/* strlen(upper) */
	char **lines;
	size_t n, cap;
};

static __thread struct walk *cur;

static bool in_lower(const char *rel)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	for (size_t i = 0; i < cur->n_layers; i++) {
		int fd = (int)syscall(SYS_openat2, cur->layers[i], rel, &how, sizeof(how));
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
	struct walk *d = cur;
	if (ftw->level == 0)
		return 0;
	const char *rel = path + d->skip + 1;
	char kind;
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		kind = 'D';
	else
		kind = in_lower(rel) ? 'C' : 'A';
	if (d->n + 1 >= d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->lines = realloc(d->lines, d->cap * sizeof(char *));
		if (!d->lines)
			abort();
	}
	d->lines[d->n++] = xasprintf("%c /%s", kind, rel);
	d->lines[d->n] = NULL;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

int cell_ctr_changes(struct cell_engine *e, const char *id, char ***ret, cell_error **err)
{
	struct cell_store *store = NULL;
	struct cell_image *img = NULL;
	json_object *rec = NULL;
	_cleanup_free_ char *upper = NULL, *cdir = NULL;
	struct walk d = { 0 };
	int rc = -1;
	*ret = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
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
			cell_error_errno(err, errno, "open the image layer `%s`", img->layer_dirs[i]);
			goto out;
		}
		d.layers[d.n_layers++] = fd;
	}
	cur = &d;
	int w = access(upper, F_OK) == 0 ? nftw(upper, visit, 32, FTW_PHYS | FTW_MOUNT) : 0;
	cur = NULL;
	if (w != 0) {
		cell_error_errno(err, errno, "walk the container's upper dir `%s`", upper);
		goto out;
	}
	if (d.n)
		qsort(d.lines, d.n, sizeof(char *), by_path);
	*ret = d.lines ? d.lines : xcalloc(1, sizeof(char *));
	d.lines = NULL;
	rc = 0;
out:
	strv_free(d.lines);
	for (size_t i = 0; i < d.n_layers; i++)
		close(d.layers[i]);
	free(d.layers);
	json_object_put(rec);
	cell_image_free(img);
	cell_store_free(store);
	return rc;
}

int cell_ctr_commit(struct cell_engine *e, const char *id, const char *ref, bool pause, struct cell_commit_opts *o,
		    char **ret_id, cell_error **err)
{
	struct cell_store *s = NULL;
	_cleanup_free_ char *dir = NULL, *upper = NULL, *image = NULL, *by = NULL;
	json_object *rec = NULL;
	bool paused = false;
	int r = -1;
	if (!ref)
		ref = id;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		goto out;
	const char *img = json_object_get_string(json_object_object_get(rec, "Image"));
	if (!img || !*img) {
		cell_error_set(err, "container `%s` records no image", ref);
		goto out;
	}
	image = xstrdup(img);
	dir = cell_ctr_dir(e, id);
	upper = xasprintf("%s/upper", dir);
	if (access(upper, F_OK) < 0) {
		cell_error_set(err, "container `%s` has no upper dir `%s` (was it created from an image?)", ref, upper);
		goto out;
	}
	/* --userns: the upper dir holds host ids, the layer gets the container's */
	struct cell_id_shift ids;
	if (cell_id_shift_read(dir, &ids, err) < 0)
		goto out;
	o->ids = &ids;
	const char *status = cell_ctr_status(rec);
	if (pause && status && streq(status, "running")) {
		if (cell_ctr_pause(e, id, true, err) < 0) {
			cell_error_wrap(err, "pause `%s` for the commit (--pause=false commits it running)", ref);
			goto out;
		}
		paused = true;
	}
	if (!o->created_by)
		o->created_by = by = xasprintf("cell commit %s", ref);
	if (cell_store_open(e->root, &s, err) == 0 && cell_image_commit(s, image, upper, o, ret_id, err) == 0)
		r = 0;
	if (paused) {
		cell_error *e2 = NULL;
		if (cell_ctr_pause(e, id, false, r == 0 ? err : &e2) < 0 && r == 0) {
			free(*ret_id);
			*ret_id = NULL;
			r = -1;
		}
		cell_error_free(&e2);
	}
out:
	o->ids = NULL;
	json_object_put(rec);
	cell_store_free(s);
	return r;
}
