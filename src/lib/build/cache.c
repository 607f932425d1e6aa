/* The build cache: <root>/build-cache/<key hex> holds the id of the image a
 * step made (see build.h). Written to a temp file and renamed. */
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
#include "image/image-internal.h"
#include "util.h"

static char *entry_path(struct cell_store *s, const char *key)
{
	return xasprintf("%s/build-cache/%s", cell_store_root(s), cell_digest_hex(key));
}

char *bcache_get(struct cell_store *s, const char *key)
{
	_cleanup_free_ char *p = entry_path(s, key), *text = NULL;
	_cleanup_error_ cell_error *e = NULL;
	struct cell_image *img = NULL;
	size_t len = 0;

	if (read_file(p, &text, &len, &e) < 0)
		return NULL;
	while (len && (text[len - 1] == '\n'))
		text[--len] = 0;
	if (!cell_digest_valid(text) || cell_image_resolve(s, text, &img, &e) < 0 || !streq(img->id, text)) {
		cell_image_free(img);
		return NULL;
	}
	cell_image_free(img);
	return TAKE_PTR(text);
}

int bcache_put(struct cell_store *s, const char *key, const char *image_id, cell_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/build-cache", cell_store_root(s));
	_cleanup_free_ char *p = entry_path(s, key);
	_cleanup_free_ char *line = xasprintf("%s\n", image_id);
	if (mkdir_p(dir, 0700, err) < 0 || write_file_atomic(p, line, strlen(line), 0600, err) < 0)
		return cell_error_wrap(err, "record a build cache entry");
	return 0;
}

/* Bytes of the layers under <root>/layers, for the size report. */
static uint64_t du_at(int dfd)
{
	uint64_t n = 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				n += du_at(sub);
		} else {
			n += (uint64_t)st.st_blocks * 512;
		}
	}
	closedir(d);
	return n;
}

static uint64_t du(const char *root, const char *sub)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, sub);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? 0 : du_at(fd);
}

int cell_build_cache_prune(struct cell_engine *eng, struct cell_store *s, bool all, size_t *ret_entries,
			   uint64_t *ret_reclaimed, cell_error **err)
{
	const char *root = cell_store_root(s);
	_cleanup_free_ char *dir = xasprintf("%s/build-cache", root);
	uint64_t before = du(root, "layers") + du(root, "blobs") + du(root, "build-cache") + du(root, "build-tmp");
	size_t n = 0;

	/* leftovers of builds killed mid-way: their step containers, and temp
	 * mounts no build holds */
	if (eng && bstep_remove_orphans(eng, NULL, err) < 0)
		return cell_error_wrap(err, "remove the containers of killed builds");
	_cleanup_free_ char *tmp = xasprintf("%s/build-tmp", root);
	DIR *td = opendir(tmp);
	if (td) {
		struct dirent *de;
		while ((de = readdir(td))) {
			if (de->d_name[0] == '.')
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", tmp, de->d_name);
			_cleanup_error_ cell_error *e = NULL;
			int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
				cell_image_unmount_rootfs(p, true, &e);
				cell_error_free(&e);
				rm_rf(p, &e);
			}
			close(fd);
		}
		closedir(td);
	}

	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			return cell_error_errno(err, errno, "open the build cache `%s`", dir);
	} else {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name), *text = NULL;
			_cleanup_error_ cell_error *e = NULL;
			struct cell_image *img = NULL;
			if (read_file(p, &text, NULL, &e) < 0)
				continue;
			text[strcspn(text, "\n")] = 0;
			bool named = false;
			if (cell_digest_valid(text) && cell_image_resolve(s, text, &img, &e) == 0)
				named = img->names && img->names[0];
			cell_image_free(img);
			if (named && !all)
				continue;
			if (unlink(p) == 0)
				n++;
		}
		closedir(d);
	}
	/* the unnamed images the cache kept go with the store's prune of
	 * dangling images */
	char **deleted = NULL;
	uint64_t reclaimed = 0;
	int r = cell_image_prune(s, false, &deleted, &reclaimed, err);
	strv_free(deleted);
	if (r < 0)
		return cell_error_wrap(err, "remove the images of the build cache");
	uint64_t after = du(root, "layers") + du(root, "blobs") + du(root, "build-cache") + du(root, "build-tmp");
	if (ret_entries)
		*ret_entries = n;
	if (ret_reclaimed)
		*ret_reclaimed = before > after ? before - after : 0;
	return 0;
}
