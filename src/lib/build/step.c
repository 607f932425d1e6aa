/* One RUN step in a container, and the builder's own mounts of a stage root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-internal.h"
#include "engine/engine.h"
#include "image/image.h"
#include "util.h"

/* Whether dir holds anything. */
static int dir_empty(const char *dir, cell_error **err)
{
	DIR *d = opendir(dir);
	if (!d)
		return cell_error_errno(err, errno, "open `%s`", dir);
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int bstep_commit_dir(struct cell_store *s, const char *image, const char *dir, const char *created_by,
		     char **ret_id, cell_error **err)
{
	int empty = dir_empty(dir, err);
	if (empty < 0)
		return -1;
	if (empty)
		return bimg_meta(s, image, NULL, NULL, created_by, true, ret_id, err);
	struct cell_commit_opts co = { .created_by = created_by };
	return cell_image_commit(s, image, dir, &co, ret_id, err);
}

int bstep_run(struct cell_engine *e, struct cell_store *s, const struct bstep_run *r, int *ret_status,
	      char **ret_id, cell_error **err)
{
	struct cell_run_request req = {
		.image = r->image,
		.cmd = r->argv,
		.entrypoint = "",
		.entrypoint_set = true,
		.env = r->env,
		.network = r->network,
		.mounts = r->mounts,
		.no_healthcheck = true,
	};
	_cleanup_free_ char *id = NULL, *dir = NULL, *upper = NULL;
	_cleanup_error_ cell_error *e2 = NULL;
	int status = -1, ret = -1;

	*ret_status = 0;
	if (cell_ctr_create(e, &req, &id, err) < 0)
		return cell_error_wrap(err, "create the container of the step");
	dir = cell_ctr_dir(e, id);
	if (cell_ctr_run_attached(e, id, &status, err) < 0) {
		*ret_status = cell_ctr_exit_code(*err);
		cell_error_wrap(err, "run the step");
		goto out;
	}
	if (status != 0) {
		*ret_status = status;
		cell_error_set(err, "process \"%s\" did not complete successfully: exit code: %d",
			       r->command ? r->command : r->created_by, status);
		goto out;
	}
	if (cell_image_unmount_rootfs(dir, false, err) < 0)
		goto out;
	upper = xasprintf("%s/upper", dir);
	if (r->before_commit)
		r->before_commit(upper, r->mounts);
	ret = bstep_commit_dir(s, r->image, upper, r->created_by, ret_id, err);
out:
	if (cell_ctr_remove(e, id, true, &e2) < 0 && ret == 0) {
		*err = TAKE_PTR(e2);
		free(*ret_id);
		*ret_id = NULL;
		ret = cell_error_wrap(err, "remove the container of the step");
	}
	return ret;
}

/* ---- the builder's own mounts ---- */

int bmount_open(struct cell_store *s, const char *image, struct bmount *m, cell_error **err)
{
	struct cell_image *img = NULL;
	_cleanup_free_ char *base = xasprintf("%s/build-tmp", cell_store_root(s));
	int r = -1;

	*m = (struct bmount){ .root_fd = -1, .lock_fd = -1 };
	if (mkdir_p(base, 0700, err) < 0)
		return -1;
	m->dir = xasprintf("%s/XXXXXX", base);
	if (!mkdtemp(m->dir)) {
		cell_error_errno(err, errno, "make a temp dir in `%s`", base);
		free(m->dir);
		m->dir = NULL;
		return -1;
	}
	m->lock_fd = lock_dir(m->dir, true, err);
	if (m->lock_fd < 0 || cell_image_resolve(s, image, &img, err) < 0)
		goto out;
	if (cell_image_mount_rootfs_volatile(s, img, m->dir, &m->rootfs, err) < 0)
		goto out;
	m->upper = xasprintf("%s/upper", m->dir);
	m->root_fd = open(m->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->root_fd < 0) {
		cell_error_errno(err, errno, "open `%s`", m->rootfs);
		goto out;
	}
	r = 0;
out:
	cell_image_free(img);
	if (r < 0)
		bmount_clear(m);
	return r;
}

int bmount_unmount(struct bmount *m, cell_error **err)
{
	m->root_fd = safe_close(m->root_fd);
	if (!m->dir)
		return 0;
	return cell_image_unmount_rootfs(m->dir, false, err);
}

void bmount_clear(struct bmount *m)
{
	_cleanup_error_ cell_error *e = NULL, *e2 = NULL;
	m->root_fd = safe_close(m->root_fd);
	if (m->dir) {
		cell_image_unmount_rootfs(m->dir, true, &e);
		rm_rf(m->dir, &e2);
	}
	safe_close(m->lock_fd);
	free(m->dir);
	free(m->rootfs);
	free(m->upper);
	*m = (struct bmount){ .root_fd = -1, .lock_fd = -1 };
}
