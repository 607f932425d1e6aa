/* `cell cp CONTAINER:SRC DEST` and `cell cp SRC CONTAINER:DEST`.
 *
 * The container side is its root file system as mounted on the host; every
 * path there is resolved with openat2(RESOLVE_IN_ROOT), and the copy walks
 * with O_NOFOLLOW from that fd, so a symlink in the container can never
 * lead the copy to the host's files. (Volumes mounted into the container
 * are not seen: they are not under its root on the host.) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "util.h"

static int open_in_root(int rootfd, const char *path, int flags, cell_error **err)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	const char *p = path;
	while (*p == '/')
		p++;
	int fd = (int)syscall(SYS_openat2, rootfd, *p ? p : ".", &how, sizeof(how));
	if (fd < 0)
		return cell_error_errno(err, errno, "`%s` in the container", path);
	return fd;
}

static int copy_file(int sfd, int dirfd, const char *name, mode_t mode, cell_error **err)
{
	_cleanup_close_ int d = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (d < 0)
		return cell_error_errno(err, errno, "create `%s`", name);
	char buf[65536];
	ssize_t n;
	while ((n = read(sfd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(d, buf + off, (size_t)(n - off));
			if (w < 0)
				return cell_error_errno(err, errno, "write `%s`", name);
			off += w;
		}
	if (n < 0)
		return cell_error_errno(err, errno, "read the source of `%s`", name);
	fchmod(d, mode & 07777);
	return 0;
}

/* Copy the entry `sname` of directory sdir to `dname` in directory ddir. */
static int copy_entry(int sdir, const char *sname, int ddir, const char *dname, cell_error **err)
{
	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "stat `%s`", sname);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
		if (n < 0)
			return cell_error_errno(err, errno, "readlink `%s`", sname);
		target[n] = 0;
		unlinkat(ddir, dname, 0);
		if (symlinkat(target, ddir, dname) < 0)
			return cell_error_errno(err, errno, "symlink `%s`", dname);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return cell_error_errno(err, errno, "open `%s`", sname);
		return copy_file(s, ddir, dname, st.st_mode, err);
	}
	if (!S_ISDIR(st.st_mode))
		return 0;	/* devices, fifos and sockets are not copied */
	if (mkdirat(ddir, dname, st.st_mode & 07777) < 0 && errno != EEXIST)
		return cell_error_errno(err, errno, "mkdir `%s`", dname);
	int s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0)
		return cell_error_errno(err, errno, "open directory `%s`", sname);
	_cleanup_close_ int d = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0) {
		close(s);
		return cell_error_errno(err, errno, "open directory `%s`", dname);
	}
	DIR *dir = fdopendir(s);
	if (!dir) {
		close(s);
		return cell_error_errno(err, errno, "read directory `%s`", sname);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			r = copy_entry(dirfd(dir), de->d_name, d, de->d_name, err);
	closedir(dir);
	return r;
}

/* Split "/a/b/c" into an fd of "/a/b" (in the root, or on the host when
 * rootfd < 0) and "c". Trailing slashes and "." are kept out of name. */
static int open_parent(int rootfd, const char *path, char **ret_name, cell_error **err)
{
	_cleanup_free_ char *a = xstrdup(path), *b = xstrdup(path);
	size_t n = strlen(a);
	while (n > 1 && a[n - 1] == '/') {
		n--;
		a[n] = b[n] = 0;
	}
	const char *base = basename(a);
	const char *dir = dirname(b);
	*ret_name = xstrdup(streq(base, "/") ? "." : base);
	if (rootfd >= 0)
		return open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY, err);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s`", dir);
	return fd;
}

/* Docker's rule: copying onto an existing directory puts SRC inside it. */
static int copy(int sroot, const char *src, int droot, const char *dst, cell_error **err)
{
	_cleanup_free_ char *sname = NULL, *dname = NULL;
	_cleanup_close_ int sdir = open_parent(sroot, src, &sname, err);
	if (sdir < 0)
		return -1;
	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "`%s`", src);
	cell_error *x = NULL;
	int into = droot >= 0 ? open_in_root(droot, dst, O_RDONLY | O_DIRECTORY, &x) :
				open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cell_error_free(&x);
	if (into >= 0) {
		_cleanup_close_ int d = into;
		const char *name = streq(sname, ".") ? NULL : sname;
		if (!name)	/* "dir/." copies the contents */
			return copy_entry(sdir, ".", d, ".", err);
		return copy_entry(sdir, sname, d, name, err);
	}
	_cleanup_close_ int ddir = open_parent(droot, dst, &dname, err);
	if (ddir < 0)
		return -1;
	return copy_entry(sdir, sname, ddir, dname, err);
}

int cmd_cp(int argc, char **argv, cell_error **err)
{
	int first = 1;
	while (first < argc && argv[first][0] == '-' && argv[first][1]) {
		if (streq(argv[first], "--help") || streq(argv[first], "-h")) {
			printf("Usage: cell cp CONTAINER:SRC_PATH DEST_PATH\n       cell cp SRC_PATH CONTAINER:DEST_PATH\n");
			return 0;
		}
		first++;	/* -a, -L: accepted, the copy keeps modes and symlinks */
	}
	if (argc - first != 2)
		return cell_error_set(err, "usage: cell cp CONTAINER:SRC DEST | SRC CONTAINER:DEST"), EXIT_CELL;
	const char *a = argv[first], *b = argv[first + 1];
	const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
	if (a[0] == '/' || a[0] == '.')
		ca = NULL;
	if (b[0] == '/' || b[0] == '.')
		cb = NULL;
	if (!ca == !cb)
		return cell_error_set(err, "cp: exactly one of the two paths must be CONTAINER:PATH"), EXIT_CELL;
	const char *spec = ca ? a : b, *colon = ca ? ca : cb;
	_cleanup_free_ char *ref = strndup(spec, (size_t)(colon - spec));
	const char *cpath = *(colon + 1) ? colon + 1 : "/";
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL, *rootfs = NULL;
	int status = EXIT_CELL;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, ref, &id, err) < 0 || cell_ctr_rootfs(e, id, &rootfs, err) < 0)
		goto out;
	_cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		cell_error_errno(err, errno, "open the root of container `%s`", ref);
		goto out;
	}
	if (ca ? copy(rootfd, cpath, -1, b, err) < 0 : copy(-1, a, rootfd, cpath, err) < 0)
		goto out;
	status = 0;
out:
	cell_engine_free(e);
	return status;
}
