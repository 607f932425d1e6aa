/* A container's root: overlayfs of the image's layers (read-only, shared)
 * and the container's own upper/work dirs.
 *
 * A container in a user namespace of its own (`cell run --userns`) finds
 * <container_dir>/idmap.json ({"uidMappings": [...], "gidMappings": [...]},
 * the OCI form). Its layers, owned on disk by the image's own ids, are then
 * each cloned as an id-mapped mount (open_tree + mount_setattr
 * MOUNT_ATTR_IDMAP + move_mount) under <container_dir>/lower/N, and the
 * overlay stacks those: the container's root sees the image's files as its
 * own, while the shared layers stay untouched and no copy or chown is made.
 * The upper dir is not id-mapped but owned by the container's root on the
 * host (hostID of id 0), so what the container writes lands on disk with
 * the host ids it runs as, as with Docker's userns-remap. Overlayfs accepts
 * id-mapped lower layers since Linux 5.19. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/mount.h>
#include <sys/syscall.h>

#include "image-internal.h"
#include "json.h"
#include "linux/idmap.h"
#include "util.h"

static int mkdir_one(const char *p, mode_t mode, cell_error **err);

struct idmaps {
	struct cell_idmap uid[8], gid[8];
	size_t n_uid, n_gid;
};

/* 1 and the mappings when the container has a user namespace of its own
 * (<container_dir>/idmap.json, read by cell_id_shift_read()). */
static int read_idmaps(const char *container_dir, struct idmaps *m, cell_error **err)
{
	struct cell_id_shift s;
	if (cell_id_shift_read(container_dir, &s, err) < 0)
		return -1;
	if (s.n_uid == 0 && s.n_gid == 0)
		return 0;
	if (s.n_uid == 0 || s.n_gid == 0)
		return cell_error_set(err, "`%s/idmap.json`: both uidMappings and gidMappings are needed",
				      container_dir);
	for (size_t i = 0; i < s.n_uid; i++)
		m->uid[i] = (struct cell_idmap){ s.uid[i].ctr, s.uid[i].host, s.uid[i].size };
	for (size_t i = 0; i < s.n_gid; i++)
		m->gid[i] = (struct cell_idmap){ s.gid[i].ctr, s.gid[i].host, s.gid[i].size };
	m->n_uid = s.n_uid;
	m->n_gid = s.n_gid;
	return 1;
}

static uint32_t host_of_root(const struct cell_idmap *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].container_id == 0)
			return m[i].host_id;
	return UINT32_MAX;
}

/* Unmount <container_dir>/lower/<N> (lazily: the overlay may still hold them) */
static int unmount_lowers(const char *container_dir, cell_error **err)
{
	for (unsigned i = 0;; i++) {
		_cleanup_free_ char *p = xasprintf("%s/lower/%u", container_dir, i);
		if (access(p, F_OK) < 0)
			return 0;
		if (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
			return cell_error_errno(err, errno, "unmount the id-mapped layer `%s`", p);
	}
}

/* Each layer (bottom first) id-mapped at <container_dir>/lower/<i>. */
static int mount_idmapped_lowers(const struct cell_image *img, const char *container_dir, const struct idmaps *m,
				 cell_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/lower", container_dir);
	if (unmount_lowers(container_dir, err) < 0 || mkdir_one(dir, 0700, err) < 0)
		return -1;
	_cleanup_close_ int userns = cell_userns_fd(m->uid, m->n_uid, m->gid, m->n_gid, err);
	if (userns < 0)
		return cell_error_wrap(err, "id-map the image's layers");
	for (size_t i = 0; i < img->n_layers; i++) {
		_cleanup_free_ char *dst = xasprintf("%s/%zu", dir, i);
		if (mkdir_one(dst, 0700, err) < 0)
			goto fail;
		_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, img->layer_dirs[i],
							OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0) {
			cell_error_errno(err, errno, "clone layer `%s` for an id-mapped mount", img->layer_dirs[i]);
			goto fail;
		}
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
					   .userns_fd = (uint64_t)userns };
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
			cell_error_errno(err, errno, "id-map layer `%s` (does its file system support id-mapped "
					 "mounts? kernel 5.12+; ext4, xfs, btrfs and tmpfs 6.3+ do)", img->layer_dirs[i]);
			goto fail;
		}
		if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			cell_error_errno(err, errno, "attach the id-mapped layer on `%s`", dst);
			goto fail;
		}
	}
	return 0;
fail:;
	cell_error *x = NULL;
	if (unmount_lowers(container_dir, &x) < 0)
		cell_error_free(&x);
	return -1;
}

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

static int mount_rootfs(struct cell_store *s, const struct cell_image *img, const char *dir, bool vol,
			char **ret_rootfs, cell_error **err)
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
	struct idmaps maps = { 0 };
	int mapped = read_idmaps(container_dir, &maps, err);
	if (mapped < 0)
		return -1;
	if (mapped) {
		/* the container's root owns its `/` (the upper dir's root) */
		uint32_t uid = host_of_root(maps.uid, maps.n_uid), gid = host_of_root(maps.gid, maps.n_gid);
		if (uid != UINT32_MAX && gid != UINT32_MAX && chown(upper, uid, gid) < 0)
			return cell_error_errno(err, errno, "chown `%s` to the container's root (%u:%u)", upper, uid, gid);
		if (img->n_layers && mount_idmapped_lowers(img, container_dir, &maps, err) < 0)
			return -1;
		free(layers);
		layers = xasprintf("%s/lower", container_dir);
	}

	/* lowerdir: top layer first, names relative to <root>/layers */
	size_t len = 1;
	for (size_t i = 0; i < img->n_layers; i++)
		len += CELL_DIGEST_LEN + 1;
	_cleanup_free_ char *lower = xcalloc(1, len);
	for (size_t i = img->n_layers; i-- > 0;) {
		if (access(img->layer_dirs[i], F_OK) < 0)
			return cell_error_errno(err, errno, "image `%s`: layer `%s` is missing from the store",
						img->id, img->layer_dirs[i]);
		if (mapped) {
			char n[24];
			snprintf(n, sizeof(n), "%zu", i);
			strcat(lower, n);
		} else {
			strcat(lower, cell_digest_hex(img->chain_ids[i]));
		}
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
	int r = -1, e = EINVAL;
	if (vol) {
		_cleanup_free_ char *v = xasprintf("%s,volatile", opts);
		r = mount("overlay", rootfs, "overlay", 0, v);
		e = errno;
	}
	if (r < 0 && e == EINVAL) {	/* a kernel before 5.10 knows no `volatile` */
		r = mount("overlay", rootfs, "overlay", 0, opts);
		e = errno;
	}
	if (fchdir(cwd) < 0) { /* nothing better to do: the mount is made or not */ }
	if (r < 0 && mapped) {
		cell_error *x = NULL;
		if (unmount_lowers(container_dir, &x) < 0)
			cell_error_free(&x);
	}
	_cleanup_free_ char *dirty = r < 0 ? xasprintf("%s/work/incompat/volatile", work) : NULL;
	if (r < 0 && e == EINVAL && access(dirty, F_OK) == 0)
		return cell_error_set(err, "mount overlay on `%s`: its upper dir `%s` was mounted volatile (run --rm) "
				      "when the system went down and may have lost writes; the container can only be "
				      "removed (`cell rm -f`)", rootfs, upper);
	if (r < 0)
		return cell_error_errno(err, e, "mount overlay on `%s` (%zu layers from `%s`, upper `%s`)%s",
					rootfs, img->n_layers, layers, upper,
					e == EINVAL ? ": upper/work on a filesystem overlay cannot use, or a layer dir is bad" : "");
	*ret_rootfs = TAKE_PTR(rootfs);
	return 0;
}

int cell_image_mount_rootfs(struct cell_store *s, const struct cell_image *img,
			    const char *dir, char **ret_rootfs, cell_error **err)
{
	return mount_rootfs(s, img, dir, false, ret_rootfs, err);
}

int cell_image_mount_rootfs_volatile(struct cell_store *s, const struct cell_image *img,
				     const char *dir, char **ret_rootfs, cell_error **err)
{
	return mount_rootfs(s, img, dir, true, ret_rootfs, err);
}

int cell_image_unmount_rootfs(const char *container_dir, bool remove, cell_error **err)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", container_dir);
	if (umount2(rootfs, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
		if (errno != EBUSY || umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return cell_error_errno(err, errno, "unmount `%s`", rootfs);
	}
	if (unmount_lowers(container_dir, err) < 0)
		return -1;
	if (!remove)
		return 0;
	static const char *dirs[] = { "rootfs", "upper", "work", "empty", "lower" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", container_dir, dirs[i]);
		if (rm_rf(p, err) < 0)
			return -1;
	}
	return 0;
}
