/* Files a container root or an image supplies, opened inside that root:
 * see root.h for the threats. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "root.h"
#include "util.h"

int cell_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, path && *path ? path : ".", &how, sizeof(how));
}

static const char *open_hint(int e)
{
	switch (e) {
	case ELOOP:
		return " (a symlink: files the engine reads from a container are not followed through links)";
	case EXDEV:
		return " (a link that leaves the container's root)";
	case ENOSYS:
		return " (openat2 needs Linux 5.6 or later)";
	default:
		return "";
	}
}

int open_in_root(int rootfd, const char *path, int flags, cell_error **err)
{
	/* O_NONBLOCK: opening a fifo for reading would otherwise wait for a
	 * writer forever; it is refused below as not a regular file anyway. */
	int fd = cell_openat2(rootfd, path,
			      (uint64_t)(O_RDONLY | flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY),
			      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		int e = errno;
		cell_error_errno(err, e, "open `%s` in the container's root%s", path, open_hint(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		safe_close(fd);
		cell_error_errno(err, e, "stat `%s` in the container's root", path);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		safe_close(fd);
		cell_error_set(err, "`%s` in the container's root is not a regular file (a %s): refused",
			       path, S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "fifo"
			       : S_ISCHR(st.st_mode) ? "character device" : S_ISBLK(st.st_mode) ? "block device"
			       : S_ISSOCK(st.st_mode) ? "socket" : "special file");
		return -EINVAL;
	}
	/* reads of a regular file do not block: back to ordinary mode */
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int read_in_root(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len, cell_error **err)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path, 0, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		cell_error_errno(err, e, "stat `%s` in the container's root", path);
		return -e;
	}
	if ((uint64_t)st.st_size > max) {
		cell_error_set(err, "`%s` in the container's root is %lld bytes, over the %zu allowed: refused",
			       path, (long long)st.st_size, max);
		return -EFBIG;
	}
	/* the file may grow while read (a running container): read at most
	 * max + 1 bytes to tell, never more */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(buf);
				cell_error_set(err, "`%s` in the container's root grew over the %zu bytes allowed: refused",
					       path, max);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			cell_error_errno(err, e, "read `%s` in the container's root", path);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_in_root_path(const char *root, const char *path, size_t max, char **ret, size_t *ret_len,
		      cell_error **err)
{
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		int e = errno;
		cell_error_errno(err, e, "open the container's root `%s`", root);
		return -e;
	}
	return read_in_root(rootfd, path, max, ret, ret_len, err);
}
