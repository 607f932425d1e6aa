/* A container's root: overlayfs of the image's layers (read-only, shared)
 * and the container's own upper/work dirs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "util.h"

/* mode set explicitly: the upper dir's mode is the container's `/`, and a
 * umask of 077 must not make it 0700 */
static int mkdir_one(const char *p, mode_t mode, cell_error **err)
{
	if (mkdir(p, mode) < 0) {
		if (errno != EEXIST)
			return cell_error_errno(err, errno, "create directory `%s`", p);
		return 0;
	}
	if (chmod(p, mode) < 0)
		return cell_error_errno(err, errno, "chmod `%s`", p);
	return 0;
}

int cell_image_mount_rootfs(struct cell_store *s, const struct cell_image *img,
			    const char *dir, char **ret_rootfs, cell_error **err)
{
	/* the mount is made from <root>/layers: every other path must be absolute */
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *container_dir = realpath(dir, NULL);
	if (!container_dir)
		return cell_error_errno(err, errno, "resolve `%s`", dir);
	_cleanup_free_ char *upper = xasprintf("%s/upper", container_dir);
	_cleanup_free_ char *work = xasprintf("%s/work", container_dir);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", container_dir);
	_cleanup_free_ char *empty = NULL;
	_cleanup_free_ char *layers = xasprintf("%s/layers", s->root);
	long page = sysconf(_SC_PAGESIZE);

	if (mkdir_p(container_dir, 0700, err) < 0 || mkdir_one(upper, 0755, err) < 0 ||
	    mkdir_one(work, 0700, err) < 0 || mkdir_one(rootfs, 0755, err) < 0)
		return -1;

	/* lowerdir: top layer first, names relative to <root>/layers */
	size_t len = 1;
	for (size_t i = 0; i < img->n_layers; i++)
		len += CELL_DIGEST_LEN + 1;
	_cleanup_free_ char *lower = xcalloc(1, len);
	for (size_t i = img->n_layers; i-- > 0;) {
		if (access(img->layer_dirs[i], F_OK) < 0)
			return cell_error_errno(err, errno, "image `%s`: layer `%s` is missing from the store",
						img->id, img->layer_dirs[i]);
		strcat(lower, cell_digest_hex(img->chain_ids[i]));
		if (i)
			strcat(lower, ":");
	}
	if (img->n_layers == 0) {
		empty = xasprintf("%s/empty", container_dir);
		if (mkdir_one(empty, 0755, err) < 0)
			return -1;
	}
	_cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", empty ? empty : lower, upper, work);
	if ((long)strlen(opts) >= page)
		return cell_error_set(err, "image `%s`: %zu layers make overlay options longer than a page (%ld bytes)",
				      img->id, img->n_layers, page);

	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return cell_error_errno(err, errno, "open the current directory");
	if (chdir(layers) < 0)
		return cell_error_errno(err, errno, "chdir `%s`", layers);
	int r = mount("overlay", rootfs, "overlay", 0, opts);
	int e = errno;
	if (fchdir(cwd) < 0) { /* nothing better to do: the mount is made or not */ }
	if (r < 0)
		return cell_error_errno(err, e, "mount overlay on `%s` (%zu layers from `%s`, upper `%s`)%s",
					rootfs, img->n_layers, layers, upper,
					e == EINVAL ? ": upper/work on a filesystem overlay cannot use, or a layer dir is bad" : "");
	*ret_rootfs = TAKE_PTR(rootfs);
	return 0;
}

int cell_image_unmount_rootfs(const char *container_dir, bool remove, cell_error **err)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", container_dir);
	if (umount2(rootfs, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
		if (errno != EBUSY || umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return cell_error_errno(err, errno, "unmount `%s`", rootfs);
	}
	if (!remove)
		return 0;
	static const char *dirs[] = { "rootfs", "upper", "work", "empty" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", container_dir, dirs[i]);
		if (rm_rf(p, err) < 0)
			return -1;
	}
	return 0;
}
