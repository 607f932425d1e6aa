/* tmpcopyup: what the image has below a tmpfs destination, copied into
 * the new tmpfs (runc's and crun's mount option; podman sets it on its
 * --tmpfs mounts). The tree is the container's own and may be hostile:
 * every step is relative to a directory fd, names come from readdir (no
 * `/`), nothing is followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), symlinks are
 * copied as symlinks, and the depth is bounded. */
#define _GNU_SOURCE
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define COPYUP_MAX_DEPTH 128

static int copy_meta(int dst_dir, const char *name, int fd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (fd >= 0) {
		if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0)
			return -1;
		return futimens(fd, ts);
	}
	if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	_cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -1;
	_cleanup_close_ int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;	/* shrank meanwhile: keep what was read */
		left -= n;
	}
	return copy_meta(dst_dir, name, out, st);
}

static int copy_tree(int src, int dst, int depth, const char **ret_what)
{
	if (depth > COPYUP_MAX_DEPTH) {
		*ret_what = "the tree is deeper than 128 levels";
		errno = ELOOP;
		return -1;
	}
	int dfd = dup(src);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		safe_close(dfd);
		return -1;
	}
	rewinddir(d);
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		const char *n = e->d_name;
		struct stat st;
		if (streq(n, ".") || streq(n, ".."))
			continue;
		*ret_what = n;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || mkdirat(dst, n, 0700) < 0) {
				r = -1;
				break;
			}
			_cleanup_close_ int t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = t < 0 ? -1 : copy_tree(s, t, depth + 1, ret_what);
			if (r == 0)
				r = copy_meta(dst, n, t, &st);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(src, dst, n, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len = readlinkat(src, n, target, sizeof(target) - 1);
			if (len < 0)
				r = -1;
			else {
				target[len] = '\0';
				r = symlinkat(target, dst, n) < 0 ? -1 : copy_meta(dst, n, -1, &st);
			}
		} else if (!S_ISSOCK(st.st_mode)) {
			/* fifos and device nodes: the node, not what it leads to */
			r = mknodat(dst, n, st.st_mode, st.st_rdev) < 0 ? -1 : copy_meta(dst, n, -1, &st);
		}
	}
	int e2 = errno;
	closedir(d);
	errno = e2;
	return r;
}

int cell_copyup(int src_dir, int dst_dir, const char *destination, cell_error **err)
{
	const char *what = ".";
	if (copy_tree(src_dir, dst_dir, 0, &what) < 0)
		return cell_error_errno(err, errno, "tmpcopyup: copy `%s` of the image's `%s` into the tmpfs",
					what, destination);
	return 0;
}
