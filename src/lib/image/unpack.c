/* Layer unpacking: a security boundary.
 *
 * A layer is an untrusted tar stream (maybe compressed). Each entry is
 * written below the layer dir and nowhere else:
 *
 *  - names are cleaned lexically first: absolute names and any `..`
 *    component are refused outright, `.` and empty components dropped;
 *  - the parent dir is then opened with openat2(RESOLVE_IN_ROOT |
 *    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the
 *    layer root, so even an entry reaching a symlink made earlier in the same
 *    archive (the "symlink replaced mid-archive" trick) is refused rather than
 *    followed; missing parents are created one component at a time the same way;
 *  - the last component is created with the *at() call of its type and
 *    O_NOFOLLOW / AT_SYMLINK_NOFOLLOW; hard link targets are resolved the same
 *    way, inside the layer.
 *
 * Symlink entries themselves are stored with whatever target they carry: they
 * are evaluated later inside the container's root, where `/` and `..` cannot
 * leave it, and they are never followed here.
 *
 * OCI whiteouts become what overlayfs expects: `.wh.NAME` a 0/0 character
 * device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its dir.
 * trusted.overlay.* xattrs carried by the archive itself are dropped: they
 * would let a layer steer overlayfs (redirects, metacopy) outside its dir.
 *
 * The stream is read twice over without being stored: a first libarchive
 * reader only decompresses (format "raw") and hashes what it yields, which is
 * the layer's diff id; a second one parses tar from the first one's output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dl-archive.h"
#include "image-internal.h"
#include "util.h"

#define RESOLVE_SAFE (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct unpack {
	int rootfd;
	struct archive *raw;	/* decompressor */
	struct archive *tar;	/* tar parser fed by raw */
	struct cell_sha256 *hash;
	int tee_fd;
	char buf[1 << 16];
	char raw_error[512];
	uint64_t size, entries;
	uint64_t max_size, max_entries;	/* tar bombs stop here */
	uint64_t raw_bytes, max_raw;	/* the uncompressed stream: ratio and absolute bound */
	uint64_t next_df, min_free;	/* free space checked every 16 MiB of it */
	const char *what;
	cell_error *lerr;		/* a bound hit inside raw_read */
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Lexical cleaning: "./a//b/./c" → "a/b/c"; NULL + why for refused names. */
static char *clean_name(const char *in, const char **why)
{
	if (!in || !*in) {
		*why = "empty name";
		return NULL;
	}
	if (in[0] == '/') {
		*why = "absolute path (entries must be relative to the layer root)";
		return NULL;
	}
	char *out = xmalloc(strlen(in) + 1);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			*why = "path leaves the layer (`..` component)";
			return NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	return out;
}

/* Open the dir `path` (cleaned) below the root as O_PATH, creating missing
 * components (mode 0755) when create. Never follows a symlink. */
static int open_dir(struct unpack *u, const char *path, bool create, const char *entry, cell_error **err)
{
	if (!*path)
		return fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
	int fd = sys_openat2(u->rootfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_SAFE);
	if (fd >= 0)
		return fd;
	if (errno == ENOSYS)
		return cell_error_errno(err, errno, "openat2 (kernel 5.6 or later is needed for safe unpacking)");
	if (errno != ENOENT || !create) {
		int e = errno;
		if (e == ELOOP || e == ENOTDIR || e == EXDEV)
			return cell_error_set(err, "entry `%s`: refused: its parent `%s` is a symlink or not a directory "
					      "(writing through it could leave the layer)", entry, path);
		return cell_error_errno(err, e, "entry `%s`: open parent `%s`", entry, path);
	}
	/* walk, creating what is missing */
	_cleanup_free_ char *p = xstrdup(path);
	int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
	for (char *c = p; c && *c;) {
		char *slash = strchr(c, '/');
		if (slash)
			*slash = '\0';
		int next = sys_openat2(cur, c, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_SAFE);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return cell_error_errno(err, e, "entry `%s`: create parent `%s`", entry, c);
			}
			fchmodat(cur, c, 0755, 0);	/* whatever the umask: it is not an entry of its own */
			next = sys_openat2(cur, c, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_SAFE);
		}
		if (next < 0) {
			int e = errno;
			close(cur);
			if (e == ELOOP || e == ENOTDIR || e == EXDEV)
				return cell_error_set(err, "entry `%s`: refused: its parent `%s` is a symlink or not a "
						      "directory (writing through it could leave the layer)", entry, c);
			return cell_error_errno(err, e, "entry `%s`: open parent `%s`", entry, c);
		}
		close(cur);
		cur = next;
		c = slash ? slash + 1 : NULL;
	}
	return cur;
}

static void split(char *path, const char **dir, const char **base)
{
	char *s = strrchr(path, '/');
	if (s) {
		*s = '\0';
		*dir = path;
		*base = s + 1;
	} else {
		*dir = "";
		*base = path;
	}
}

/* Remove whatever is at base unless it is a dir and keep_dir. Returns 1 when
 * a dir was kept. */
static int clear_target(int pfd, const char *base, bool keep_dir, const char *entry, cell_error **err)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "entry `%s`: stat", entry);
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		if (unlinkat(pfd, base, AT_REMOVEDIR) < 0)
			return cell_error_errno(err, errno, "entry `%s`: replace directory", entry);
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0)
		return cell_error_errno(err, errno, "entry `%s`: replace existing file", entry);
	return 0;
}

/* xattrs from the archive; fd >= 0 for regular files and dirs, else the
 * node is addressed through /proc/self/fd/<pfd>/<base> without following. */
static int apply_xattrs(struct archive_entry *e, int fd, int pfd, const char *base, const char *entry,
			cell_error **err)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (strncmp(name, "trusted.overlay.", 16) == 0)
			continue;
		int r;
		if (fd >= 0) {
			r = fsetxattr(fd, name, value, size, 0);
		} else {
			char p[64 + 256];
			snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, base);
			r = lsetxattr(p, name, value, size, 0);
		}
		if (r < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
			return cell_error_errno(err, errno, "entry `%s`: set xattr `%s`", entry, name);
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int write_data(struct unpack *u, int fd, struct archive_entry *e, const char *entry, cell_error **err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->tar, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (len > 0) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return cell_error_errno(err, errno, "entry `%s`: write", entry);
			p += n;
			len -= (size_t)n;
			off += n;
		}
	}
	if (r != ARCHIVE_EOF)
		return cell_error_set(err, "entry `%s`: read data: %s", entry,
				      u->raw_error[0] ? u->raw_error : archive_error_string(u->tar));
	if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
		return cell_error_errno(err, errno, "entry `%s`: set size", entry);
	u->size += (uint64_t)archive_entry_size(e);
	return 0;
}

/* Owner, mode, xattrs (after chown, which clears file capabilities) and times
 * of a regular file or dir open as fd. */
static int finish_fd(struct archive_entry *e, int fd, const char *entry, cell_error **err)
{
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return cell_error_errno(err, errno, "entry `%s`: chown", entry);
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return cell_error_errno(err, errno, "entry `%s`: chmod", entry);
	return apply_xattrs(e, fd, -1, NULL, entry, err);
}

static int add_dir_time(struct unpack *u, const char *path, struct archive_entry *e)
{
	if (u->n_dirs == u->cap_dirs) {
		u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
		u->dirs = realloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
		if (!u->dirs)
			abort();
	}
	u->dirs[u->n_dirs].path = xstrdup(path);
	entry_times(e, u->dirs[u->n_dirs].ts);
	u->n_dirs++;
	return 0;
}

static int do_whiteout(struct unpack *u, int pfd, const char *base, const char *entry, cell_error **err)
{
	if (streq(base, ".wh..wh..opq")) {
		_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return cell_error_errno(err, errno, "entry `%s`: mark directory opaque "
						"(trusted.overlay.opaque needs root and a filesystem with xattrs)", entry);
		return 0;
	}
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return 0;	/* aufs internals (.wh..wh.plnk...): nothing for overlay */
	const char *name = base + 4;
	if (!*name || streq(name, ".") || streq(name, ".."))
		return cell_error_set(err, "entry `%s`: refused: whiteout of an invalid name", entry);
	if (clear_target(pfd, name, false, entry, err) < 0)
		return -1;
	if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return cell_error_errno(err, errno, "entry `%s`: create whiteout device `%s`", entry, name);
	return 0;
}

static int do_hardlink(struct unpack *u, int pfd, const char *base, const char *target,
		       const char *entry, cell_error **err)
{
	const char *why = NULL;
	_cleanup_free_ char *t = clean_name(target, &why);
	if (!t)
		return cell_error_set(err, "entry `%s`: refused: hard link target `%s`: %s", entry, target, why);
	if (!*t)
		return cell_error_set(err, "entry `%s`: refused: hard link to the layer root", entry);
	const char *tdir, *tbase;
	split(t, &tdir, &tbase);
	_cleanup_close_ int tfd = open_dir(u, tdir, false, entry, err);
	if (tfd < 0)
		return cell_error_wrap(err, "hard link target `%s`", target);
	struct stat st;
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "entry `%s`: hard link target `%s` is not in the layer", entry, target);
	if (S_ISDIR(st.st_mode))
		return cell_error_set(err, "entry `%s`: refused: hard link to directory `%s`", entry, target);
	if (clear_target(pfd, base, false, entry, err) < 0)
		return -1;
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		return cell_error_errno(err, errno, "entry `%s`: hard link to `%s`", entry, target);
	return 0;
}

static int do_entry(struct unpack *u, struct archive_entry *e, cell_error **err)
{
	const char *entry = archive_entry_pathname(e);
	const char *why = NULL;
	_cleanup_free_ char *path = clean_name(entry, &why);
	if (!path)
		return cell_error_set(err, "entry `%s`: refused: %s", entry ? entry : "", why);
	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	struct timespec ts[2];
	entry_times(e, ts);

	if (!*path) {	/* "./": the layer root itself */
		if (type != AE_IFDIR)
			return cell_error_set(err, "entry `%s`: refused: the layer root must be a directory", entry);
		if (finish_fd(e, u->rootfd, entry, err) < 0)
			return -1;
		return add_dir_time(u, "", e);
	}
	_cleanup_free_ char *copy = xstrdup(path);
	const char *dir, *base;
	split(copy, &dir, &base);
	_cleanup_close_ int pfd = open_dir(u, dir, true, entry, err);
	if (pfd < 0)
		return -1;

	if (strncmp(base, ".wh.", 4) == 0)
		return do_whiteout(u, pfd, base, entry, err);
	if (hardlink)
		return do_hardlink(u, pfd, base, hardlink, entry, err);

	int kept = clear_target(pfd, base, type == AE_IFDIR, entry, err);
	if (kept < 0)
		return -1;
	switch (type) {
	case AE_IFREG: {
		_cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return cell_error_errno(err, errno, "entry `%s`: create file", entry);
		if (write_data(u, fd, e, entry, err) < 0 || finish_fd(e, fd, entry, err) < 0)
			return -1;
		if (futimens(fd, ts) < 0)
			return cell_error_errno(err, errno, "entry `%s`: set times", entry);
		return 0;
	}
	case AE_IFDIR: {
		if (!kept && mkdirat(pfd, base, 0700) < 0)
			return cell_error_errno(err, errno, "entry `%s`: create directory", entry);
		_cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return cell_error_errno(err, errno, "entry `%s`: open directory", entry);
		if (finish_fd(e, fd, entry, err) < 0)
			return -1;
		return add_dir_time(u, path, e);
	}
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return cell_error_set(err, "entry `%s`: refused: symlink without a target", entry);
		if (symlinkat(target, pfd, base) < 0)
			return cell_error_errno(err, errno, "entry `%s`: create symlink", entry);
		break;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: {
		dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
		if (mknodat(pfd, base, type | 0600, type == AE_IFIFO ? 0 : dev) < 0)
			return cell_error_errno(err, errno, "entry `%s`: create %s", entry,
						type == AE_IFIFO ? "fifo" : "device node");
		break;
	}
	case AE_IFSOCK:
		return 0;	/* sockets make no sense in a layer; tar skips them too */
	default:
		return cell_error_set(err, "entry `%s`: refused: unknown file type 0%o", entry, (unsigned)type);
	}
	/* symlinks, devices, fifos: by name, never following */
	if (fchownat(pfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "entry `%s`: chown", entry);
	if (type != AE_IFLNK && fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
		return cell_error_errno(err, errno, "entry `%s`: chmod", entry);
	if (apply_xattrs(e, -1, pfd, base, entry, err) < 0)
		return -1;
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "entry `%s`: set times", entry);
	return 0;
}

/* Dir times last, deepest first: creating entries changed them. */
static int apply_dir_times(struct unpack *u, cell_error **err)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		struct dir_time *d = &u->dirs[i];
		int fd = *d->path ? sys_openat2(u->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_SAFE)
				  : fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			continue;	/* replaced later in the archive */
		int r = futimens(fd, d->ts);
		close(fd);
		if (r < 0)
			return cell_error_errno(err, errno, "set times of `%s`", d->path);
	}
	return 0;
}

static la_ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;
	la_ssize_t n = archive_read_data(u->raw, u->buf, sizeof(u->buf));
	if (n < 0) {
		snprintf(u->raw_error, sizeof(u->raw_error), "%s", archive_error_string(u->raw));
		archive_set_error(a, EIO, "%s", u->raw_error);
		return -1;
	}
	u->raw_bytes += (uint64_t)n;
	if (u->max_raw && u->raw_bytes > u->max_raw && !u->lerr)
		cell_error_set(&u->lerr, "refused: it decompresses to more than %llu MiB (%s; a decompression bomb? raise "
			       "CELL_LAYER_MAX_RATIO or CELL_LAYER_MAX_BYTES)", (unsigned long long)(u->max_raw >> 20),
			       u->max_raw == u->max_size ? "CELL_LAYER_MAX_BYTES" : "CELL_LAYER_MAX_RATIO times its size");
	if (!u->lerr && u->raw_bytes >= u->next_df) {
		struct statvfs vs;
		u->next_df = u->raw_bytes + (16u << 20);
		if (fstatvfs(u->rootfd, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < u->min_free)
			cell_error_set(&u->lerr, "refused: the store's file system has %llu MiB free, less than the %llu MiB "
				       "kept free (CELL_STORE_MIN_FREE)",
				       (unsigned long long)((uint64_t)vs.f_bavail * vs.f_frsize >> 20),
				       (unsigned long long)(u->min_free >> 20));
	}
	if (u->lerr) {
		snprintf(u->raw_error, sizeof(u->raw_error), "%s", u->lerr->msg);
		archive_set_error(a, EFBIG, "%s", u->raw_error);
		return -1;
	}
	cell_sha256_update(u->hash, u->buf, (size_t)n);
	if (u->tee_fd >= 0 && n > 0) {
		for (la_ssize_t off = 0; off < n;) {
			ssize_t w = write(u->tee_fd, u->buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				snprintf(u->raw_error, sizeof(u->raw_error), "write uncompressed copy: %s", strerror(errno));
				archive_set_error(a, errno, "%s", u->raw_error);
				return -1;
			}
			off += w;
		}
	}
	*buf = u->buf;
	return n;
}

static int run_unpack(struct unpack *u, int fd, cell_error **err)
{
	struct archive_entry *e;
	int r;

	u->raw = archive_read_new();
	archive_read_support_filter_all(u->raw);
	archive_read_support_format_raw(u->raw);
	if (archive_read_open_fd(u->raw, fd, 1 << 17) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
		return cell_error_set(err, "read: %s", archive_error_string(u->raw));

	u->tar = archive_read_new();
	archive_read_support_format_tar(u->tar);
	archive_read_support_format_gnutar(u->tar);
	if (archive_read_open(u->tar, u, NULL, raw_read, NULL) != ARCHIVE_OK)
		return cell_error_set(err, "not a tar archive: %s",
				      u->raw_error[0] ? u->raw_error : archive_error_string(u->tar));
	while ((r = archive_read_next_header(u->tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (++u->entries > u->max_entries)
			return cell_error_set(err, "entry `%s`: refused: more than %llu entries in one layer (a tar bomb? "
					      "raise CELL_LAYER_MAX_ENTRIES)", archive_entry_pathname(e),
					      (unsigned long long)u->max_entries);
		if (archive_entry_size(e) > 0 && u->size + (uint64_t)archive_entry_size(e) > u->max_size)
			return cell_error_set(err, "entry `%s`: refused: the layer would unpack to more than %llu bytes "
					      "(a tar bomb? raise CELL_LAYER_MAX_BYTES)", archive_entry_pathname(e),
					      (unsigned long long)u->max_size);
		if (do_entry(u, e, err) < 0)
			return -1;
	}
	if (r != ARCHIVE_EOF)
		return cell_error_set(err, "corrupt or truncated archive: %s",
				      u->raw_error[0] ? u->raw_error : archive_error_string(u->tar));
	/* the tar end blocks and padding count in the diff id too */
	const void *buf;
	while ((r = (int)raw_read(u->tar, u, &buf)) > 0)
		;
	if (r < 0)
		return cell_error_set(err, "corrupt or truncated archive: %s", u->raw_error);
	return apply_dir_times(u, err);
}

/* Limits against tar bombs, overridable from the environment. */
static uint64_t env_limit(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	uint64_t n;
	return v && parse_uint64(v, &n) == 0 && n > 0 ? n : def;
}

static int unpack_full(int fd, const char *dest, const char *what, int tee_fd,
		       char ret_diff_id[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err)
{
	if (cell_dl_archive(err) < 0)
		return cell_error_wrap(err, "layer `%s`", what);
	struct unpack *u = xcalloc(1, sizeof(*u));
	int r;

	u->tee_fd = tee_fd;
	u->max_entries = env_limit("CELL_LAYER_MAX_ENTRIES", 4000000);
	u->max_size = env_limit("CELL_LAYER_MAX_BYTES", 256ull << 30);
	u->min_free = env_limit("CELL_STORE_MIN_FREE", 256) << 20;
	u->what = what;
	/* the ratio bound: a layer of N compressed bytes unpacks to at most
	 * ratio * N (and at least 64 MiB may always come out of it) */
	struct stat st;
	uint64_t ratio = env_limit("CELL_LAYER_MAX_RATIO", 100);
	u->max_raw = u->max_size;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		uint64_t by_ratio = (uint64_t)st.st_size > UINT64_MAX / ratio ? UINT64_MAX : (uint64_t)st.st_size * ratio;
		if (by_ratio < (64u << 20))
			by_ratio = 64u << 20;
		if (by_ratio < u->max_raw)
			u->max_raw = by_ratio;
	}
	u->rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->rootfd < 0) {
		r = cell_error_errno(err, errno, "open layer dir `%s`", dest);
	} else {
		u->hash = cell_sha256_new();
		r = run_unpack(u, fd, err);
		if (r < 0 && u->lerr) {	/* the bound, not what it broke in libarchive */
			cell_error_free(err);
			*err = TAKE_PTR(u->lerr);
		}
		if (r < 0)
			cell_error_wrap(err, "layer `%s`", what);
		else
			cell_sha256_final(u->hash, ret_diff_id), u->hash = NULL;
	}
	if (r == 0 && ret_size)
		*ret_size = u->size;
	cell_sha256_free(u->hash);
	cell_error_free(&u->lerr);
	if (u->tar)
		archive_read_free(u->tar);
	if (u->raw)
		archive_read_free(u->raw);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	safe_close(u->rootfd);
	free(u);
	return r < 0 ? -1 : 0;
}

int cell_layer_unpack(int fd, const char *dest, const char *what,
		      char ret_diff_id[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err)
{
	return unpack_full(fd, dest, what, -1, ret_diff_id, ret_size, err);
}

int cell_layer_unpack_tee(int fd, const char *dest, const char *what, int tee_fd,
			  char ret_diff_id[CELL_DIGEST_LEN + 1], uint64_t *ret_size, cell_error **err)
{
	return unpack_full(fd, dest, what, tee_fd, ret_diff_id, ret_size, err);
}

const char *cell_layer_media_type(int fd, bool docker)
{
	unsigned char m[6] = { 0 };
	if (pread(fd, m, sizeof(m), 0) < 4)
		return docker ? "application/vnd.docker.image.rootfs.diff.tar" : "application/vnd.oci.image.layer.v1.tar";
	if (m[0] == 0x1f && m[1] == 0x8b)
		return docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
			      : "application/vnd.oci.image.layer.v1.tar+gzip";
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return docker ? "application/vnd.docker.image.rootfs.diff.tar.zstd"
			      : "application/vnd.oci.image.layer.v1.tar+zstd";
	if (m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X' && m[4] == 'Z')
		return "application/x-xz";
	if (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
		return "application/x-bzip2";
	return docker ? "application/vnd.docker.image.rootfs.diff.tar" : "application/vnd.oci.image.layer.v1.tar";
}
