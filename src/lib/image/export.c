/* A directory tree as a tar archive (`cell export`): see export.h. The tree
 * may be a running container's root, whose processes can swap a directory
 * for a symlink while we walk: every file is opened again inside the root
 * (openat2 RESOLVE_IN_ROOT, no symlink followed at the end). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dl-archive.h"
#include "export.h"
#include "util.h"

static struct {
	struct archive *w;
	int root;
	size_t skip;
	cell_error **err;
} x;

static int add(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	const char *rel = path + x.skip + 1;
	struct archive_entry *ent = archive_entry_new();
	archive_entry_copy_stat(ent, st);
	_cleanup_free_ char *name = S_ISDIR(st->st_mode) ? xasprintf("%s/", rel) : xstrdup(rel);
	archive_entry_set_pathname(ent, name);
	int fd = -1, r = 0;
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		archive_entry_set_symlink(ent, target);
	} else if (S_ISREG(st->st_mode)) {
		struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW, .resolve = RESOLVE_IN_ROOT };
		fd = (int)syscall(SYS_openat2, x.root, rel, &how, sizeof(how));
		if (fd < 0) {
			/* gone meanwhile (a running container): left out */
			archive_entry_free(ent);
			return 0;
		}
	} else if (!S_ISDIR(st->st_mode)) {
		archive_entry_set_size(ent, 0);
	}
	if (archive_write_header(x.w, ent) != ARCHIVE_OK) {
		cell_error_set(x.err, "export: write `%s`: %s", rel, archive_error_string(x.w));
		r = 1;
	}
	char buf[65536];
	ssize_t n;
	int64_t left = st->st_size;
	/* exactly the size in the header, whatever the file does meanwhile */
	while (r == 0 && fd >= 0 && left > 0 && (n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf))) > 0) {
		if (archive_write_data(x.w, buf, (size_t)n) < 0) {
			cell_error_set(x.err, "export: write `%s`: %s", rel, archive_error_string(x.w));
			r = 1;
		}
		left -= n;
	}
	memset(buf, 0, sizeof(buf));
	while (r == 0 && fd >= 0 && left > 0) {
		size_t k = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
		archive_write_data(x.w, buf, k);
		left -= (int64_t)k;
	}
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	return r;
}

int cell_dir_export_tar(const char *dir, int out, cell_error **err)
{
	if (cell_dl_archive(err) < 0)
		return -1;
	x.root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x.root < 0)
		return cell_error_errno(err, errno, "export: open `%s`", dir);
	x.w = archive_write_new();
	x.skip = strlen(dir);
	x.err = err;
	int r = -1;
	archive_write_set_format_pax_restricted(x.w);
	if (archive_write_open_fd(x.w, out) != ARCHIVE_OK) {
		cell_error_set(err, "export: open the output: %s", archive_error_string(x.w));
		goto done;
	}
	int k = nftw(dir, add, 32, FTW_PHYS | FTW_MOUNT);
	if (k < 0) {
		cell_error_errno(err, errno, "export: walk `%s`", dir);
		goto done;
	}
	if (k > 0)
		goto done;
	if (archive_write_close(x.w) != ARCHIVE_OK) {
		cell_error_set(err, "export: finish the archive: %s", archive_error_string(x.w));
		goto done;
	}
	r = 0;
done:
	archive_write_free(x.w);
	close(x.root);
	return r;
}
