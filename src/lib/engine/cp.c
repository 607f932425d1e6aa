/* Copies between a container and the host or a tar stream (engine.h:
 * cell_ctr_cp), for `cell cp` and the API's /containers/{id}/archive.
 *
 * The container side is what the container sees: its root file system (the
 * overlay mounted on the host, also for a stopped container) with its mounts
 * on top: volumes, bind mounts and the /etc/hostname, hosts and resolv.conf
 * files, from the record's Mounts (Destination → Source, the longest
 * Destination holding a path wins), as Docker's cp works on the container's
 * mounts. A path is resolved one component at a time as the container would:
 * a symlink is read in the mount holding it and its target taken from the
 * container's root, so /vol/link → /etc is the container's /etc, never the
 * host's. Every lookup on the host is an openat2(RESOLVE_IN_ROOT or
 * RESOLVE_NO_SYMLINKS) below a mount's source, and the copy walks with
 * O_NOFOLLOW, so neither a symlink nor a rename racing the copy leads it out
 * of the container's files. A read-only mount (or --read-only's root) is
 * refused for writes with Docker's messages; a tmpfs mount has no files on
 * the host and is refused.
 *
 * Owners, as Docker's: files copied into a container belong to its root
 * (uid 0 inside: the hostID of 0 on disk when the container has a user
 * namespace of its own, <container dir>/idmap.json); with -a they keep the
 * source's uid/gid, taken as ids inside the container and mapped to the host
 * ids the container writes. Files copied out belong to the caller; with -a
 * to the container's ids (host id - base; 65534 for ids the mapping does not
 * hold, as the container sees them). A tar stream (`-`) carries the
 * container's ids.
 *
 * The copy is a walk (host directory, container directory or tar on stdin)
 * feeding a sink (host directory, container directory or tar on stdout),
 * entry by entry; devices, fifos and sockets are not copied to directories. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl-archive.h"
#include "engine/engine.h"
#include "image/image.h"
#include "json.h"
#include "root.h"
#include "util.h"

#define MAX_LINKS 40
#define OVERFLOW_ID 65534	/* what a user namespace shows for an unmapped id */

/* ---- the container's file system: its root and its mounts ---- */

struct cmount {
	char *dest;		/* where the container sees it, "/" for the root */
	char *src;		/* on the host; NULL: no files on the host (tmpfs) */
	const char *type;
	bool rw, file;		/* file: a bind mount of a single file */
	int fd;			/* O_PATH of src when a directory, else -1 */
};

struct ctrfs {
	const char *ref;
	struct cmount *m;
	size_t n;
	bool ro_root;
	struct cell_id_shift ids;
};

/* A resolved entry: name in the O_PATH directory dirfd ("." for a mount's
 * root directory), its canonical path in the container and its mount. */
struct loc {
	int dirfd;
	char *name, *cpath;
	struct cmount *m;
};

static void loc_clear(struct loc *l)
{
	safe_close(l->dirfd);
	free(l->name);
	free(l->cpath);
	*l = (struct loc){ .dirfd = -1 };
}

/* "/a//b/./c/" → "/a/b/c" (no "..": a mount's Destination is clean) */
static char *clean_path(const char *p)
{
	char *out = xcalloc(1, strlen(p) + 2), *o = out;
	while (*p) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len && !(len == 1 && p[0] == '.')) {
			*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == out)
		*o++ = '/';
	*o = 0;
	return out;
}

static void add_mount(struct ctrfs *fs, const char *dest, const char *src, const char *type, bool rw)
{
	fs->m = realloc(fs->m, (fs->n + 1) * sizeof(*fs->m));
	if (!fs->m)
		abort();
	struct cmount *m = &fs->m[fs->n++];
	*m = (struct cmount){ .dest = clean_path(dest), .type = type, .rw = rw, .fd = -1 };
	struct stat st;
	if (src && src[0] == '/' && stat(src, &st) == 0) {
		m->src = xstrdup(src);
		m->file = !S_ISDIR(st.st_mode);
		if (!m->file)
			m->fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
}

static void ctrfs_free(struct ctrfs *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->m[i].dest);
		free(fs->m[i].src);
		safe_close(fs->m[i].fd);
	}
	free(fs->m);
}

static int ctrfs_open(struct cell_engine *e, const char *id, const char *ref, struct ctrfs *fs, cell_error **err)
{
	json_object *rec = NULL;
	_cleanup_free_ char *rootfs = NULL, *cdir = cell_ctr_dir(e, id);
	*fs = (struct ctrfs){ .ref = ref };
	if (cell_ctr_load(e, id, &rec, err) < 0 || cell_id_shift_read(cdir, &fs->ids, err) < 0 ||
	    cell_ctr_rootfs(e, id, &rootfs, err) < 0) {
		json_object_put(rec);
		return -1;
	}
	json_object *hc = json_object_object_get(rec, "HostConfig");
	fs->ro_root = json_object_get_boolean(json_object_object_get(hc, "ReadonlyRootfs"));
	add_mount(fs, "/", rootfs, "rootfs", !fs->ro_root);
	if (fs->m[0].fd < 0) {
		json_object_put(rec);
		return cell_error_errno(err, errno, "open the root of container `%s` (`%s`)", ref, rootfs);
	}
	static const char *const etc[][2] = { { "HostnamePath", "/etc/hostname" }, { "HostsPath", "/etc/hosts" },
					      { "ResolvConfPath", "/etc/resolv.conf" } };
	for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
		const char *p = json_object_get_string(json_object_object_get(rec, etc[i][0]));
		if (p && *p && access(p, F_OK) == 0)
			add_mount(fs, etc[i][1], p, "bind", true);
	}
	json_object *mounts = json_object_object_get(rec, "Mounts");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *dest = json_object_get_string(json_object_object_get(m, "Destination"));
		const char *type = json_object_get_string(json_object_object_get(m, "Type"));
		json_object *rw = json_object_object_get(m, "RW");
		/* static strings: the record goes before the mounts */
		const char *t = type && streq(type, "volume") ? "volume" : type && streq(type, "bind") ? "bind" : "tmpfs";
		if (dest && dest[0] == '/')
			add_mount(fs, dest, json_object_get_string(json_object_object_get(m, "Source")), t,
				  !rw || json_object_get_boolean(rw));
	}
	json_object_put(rec);
	return 0;
}

/* The mount holding the canonical path p (longest Destination, the last of
 * equals) and p's path below it ("" for the mount point itself). */
static struct cmount *mount_for(struct ctrfs *fs, const char *p, const char **ret_rel)
{
	struct cmount *best = &fs->m[0];
	size_t best_len = 0;
	for (size_t i = 1; i < fs->n; i++) {
		size_t len = strlen(fs->m[i].dest);
		if (len >= best_len && strncmp(p, fs->m[i].dest, len) == 0 && (p[len] == 0 || p[len] == '/')) {
			best = &fs->m[i];
			best_len = len;
		}
	}
	const char *rel = p + best_len;
	while (*rel == '/')
		rel++;
	*ret_rel = rel;
	return best;
}

static int unreachable(struct ctrfs *fs, struct cmount *m, const char *cpath, cell_error **err)
{
	return cell_error_set(err, "`%s` in container `%s` is on its %s mount `%s`, which has no files on the host "
			      "(%s)", cpath, fs->ref, m->type, m->dest,
			      streq(m->type, "tmpfs") ? "cp reaches volumes and bind mounts" : "its source is gone");
}

/* The O_PATH directory `dir` below the mount m: no symlink followed (the
 * caller resolved them) and never above m's source. */
static int open_below(struct cmount *m, const char *dir, cell_error **err, const char *cpath)
{
	int fd = cell_openat2(m->fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC,
			      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && err)
		return cell_error_errno(err, errno, "`%s` in the container", cpath);
	return fd;
}

/* Where the canonical path p is on the host. */
static int locate(struct ctrfs *fs, const char *p, struct loc *ret, cell_error **err)
{
	const char *rel;
	_cleanup_free_ char *d = NULL;
	struct cmount *m = mount_for(fs, p, &rel);
	*ret = (struct loc){ .dirfd = -1, .cpath = xstrdup(p), .m = m };
	if (!m->src) {
		unreachable(fs, m, p, err);
		goto fail;
	}
	if (!*rel && m->file) {
		_cleanup_free_ char *a = xstrdup(m->src), *b = xstrdup(m->src);
		ret->dirfd = open(dirname(a), O_PATH | O_DIRECTORY | O_CLOEXEC);
		ret->name = xstrdup(basename(b));
		if (ret->dirfd < 0) {
			cell_error_errno(err, errno, "`%s` in the container (`%s` on the host)", p, m->src);
			goto fail;
		}
		return 0;
	}
	if (m->file) {
		cell_error_errno(err, ENOTDIR, "`%s` in the container", p);
		goto fail;
	}
	if (!*rel) {
		ret->dirfd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
		ret->name = xstrdup(".");
		return 0;
	}
	d = xstrdup(rel);
	char *slash = strrchr(d, '/');
	ret->name = xstrdup(slash ? slash + 1 : d);
	if (slash)
		*slash = 0;
	else
		*d = 0;
	ret->dirfd = open_below(m, d, err, p);
	if (ret->dirfd >= 0)
		return 0;
fail:
	loc_clear(ret);
	return -1;
}

/* 1 and the target when the canonical path p is a symlink, 0 when it is
 * not or does not exist. */
static int read_link(struct ctrfs *fs, const char *p, char *target, size_t size, cell_error **err)
{
	const char *rel;
	struct cmount *m = mount_for(fs, p, &rel);
	if (!*rel)
		return 0;	/* a mount point */
	if (!m->src || m->file)
		return 0;	/* refused or ENOTDIR when used */
	struct loc l;
	cell_error *x = NULL;
	if (locate(fs, p, &l, &x) < 0) {
		cell_error_free(&x);
		return 0;	/* a missing parent: said when it is used */
	}
	struct stat st;
	int r = 0;
	if (fstatat(l.dirfd, l.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(l.dirfd, l.name, target, size - 1);
		if (n < 0)
			r = cell_error_errno(err, errno, "readlink `%s` in container `%s`", p, fs->ref);
		else
			target[n] = 0, r = 1;
	}
	loc_clear(&l);
	return r;
}

/* Resolve a path as the container would: symlinks in it (the last one only
 * with follow_last) are followed inside the container's file system. */
static int resolve(struct ctrfs *fs, const char *path, bool follow_last, struct loc *ret, cell_error **err)
{
	char *rest = xstrdup(path);
	char cur[PATH_MAX] = "";
	int links = 0, r = 0;
	for (;;) {
		char *p = rest + strspn(rest, "/");
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		_cleanup_free_ char *comp = strndup(p, len);
		const char *after = p + len;
		bool last = after[strspn(after, "/")] == 0;
		memmove(rest, after, strlen(after) + 1);
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			char *s = strrchr(cur, '/');
			if (s)
				*s = 0;
			continue;
		}
		size_t keep = strlen(cur);
		if (keep + 1 + len >= sizeof(cur)) {
			r = cell_error_errno(err, ENAMETOOLONG, "`%s` in container `%s`", path, fs->ref);
			break;
		}
		cur[keep] = '/';
		memcpy(cur + keep + 1, comp, len + 1);
		if (last && !follow_last)
			continue;
		char target[PATH_MAX];
		int k = read_link(fs, cur, target, sizeof(target), err);
		if (k < 0) {
			r = -1;
			break;
		}
		if (k == 0)
			continue;
		if (++links > MAX_LINKS) {
			r = cell_error_errno(err, ELOOP, "`%s` in container `%s`", path, fs->ref);
			break;
		}
		cur[target[0] == '/' ? 0 : keep] = 0;
		char *next = xasprintf("%s/%s", target, rest);
		free(rest);
		rest = next;
	}
	free(rest);
	if (r < 0)
		return -1;
	return locate(fs, *cur ? cur : "/", ret, err);
}

/* ---- entries and sinks ---- */

enum side { SIDE_HOST, SIDE_CTR, SIDE_TAR };

struct ent {
	const char *rel;	/* below the top: "" for the top itself */
	struct stat st;		/* uid/gid: host ids from the host, container ids from a container or a tar */
	const char *symlink;
	const char *hardlink;	/* tar: the path (relative as rel) of an earlier entry */
	int fd;			/* a regular file's content, or -1 and ar */
	struct archive *ar;
};

struct cp {
	struct ctrfs *fs;
	bool archive, follow;
	enum side to;
	int host_base;		/* SIDE_HOST: the directory the top is made in */
	char *ctr_base;		/* SIDE_CTR: the canonical path of that directory */
	char *top;		/* the top's name there; "." merges into it */
	struct archive *aw;	/* SIDE_TAR */
	char buf[1 << 16];
};

/* The owner a new entry gets: 0 to leave it the caller's, 1 with ids. */
static int ids_for(struct cp *c, const struct ent *e, const char *shown, uid_t *u, gid_t *g, cell_error **err)
{
	if (c->to == SIDE_HOST) {
		*u = e->st.st_uid;
		*g = e->st.st_gid;
		return c->archive;
	}
	uint32_t cu = c->archive ? (uint32_t)e->st.st_uid : 0, cg = c->archive ? (uint32_t)e->st.st_gid : 0;
	uint32_t hu = cell_id_to_host(&c->fs->ids, false, cu), hg = cell_id_to_host(&c->fs->ids, true, cg);
	if (hu == UINT32_MAX || hg == UINT32_MAX)
		return cell_error_set(err, "cp -a: the source of `%s` is owned by %s %u, which the user namespace of container `%s` "
				      "does not map (copy it without -a to give it to the container's root)", shown,
				      hu == UINT32_MAX ? "uid" : "gid", hu == UINT32_MAX ? cu : cg, c->fs->ref);
	*u = hu;
	*g = hg;
	return 1;
}

static int write_all(int fd, const char *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int copy_data(struct cp *c, const struct ent *e, int out, const char *shown, cell_error **err)
{
	if (e->ar) {
		const void *blk;
		size_t len;
		la_int64_t off;
		int r;
		while ((r = archive_read_data_block(e->ar, &blk, &len, &off)) == ARCHIVE_OK)
			if (pwrite(out, blk, len, off) != (ssize_t)len)
				return cell_error_errno(err, errno, "write `%s`", shown);
		if (r != ARCHIVE_EOF)
			return cell_error_set(err, "read `%s` from the tar: %s", shown, archive_error_string(e->ar));
		return ftruncate(out, e->st.st_size) < 0 ? cell_error_errno(err, errno, "write `%s`", shown) : 0;
	}
	ssize_t n;
	while ((n = read(e->fd, c->buf, sizeof(c->buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cell_error_errno(err, errno, "read the source of `%s`", shown);
		if (write_all(out, c->buf, (size_t)n) < 0)
			return cell_error_errno(err, errno, "write `%s`", shown);
	}
	return 0;
}

/* Make the entry as `name` in dfd (an O_PATH directory); link: an earlier
 * entry to hard-link to. An existing directory is merged into, an existing
 * file overwritten (in place: a bind-mounted file stays the container's). */
static int make(struct cp *c, int dfd, const char *name, const struct ent *e, const struct loc *link,
		const char *shown, cell_error **err)
{
	uid_t u = 0;
	gid_t g = 0;
	int own = ids_for(c, e, shown, &u, &g, err);
	mode_t perm = e->st.st_mode & 07777;
	struct stat old;
	bool exists = fstatat(dfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if (own < 0)
		return -1;
	if (S_ISDIR(e->st.st_mode)) {
		if (exists && S_ISDIR(old.st_mode))
			return 0;
		if (exists)
			return cell_error_set(err, "cannot overwrite non-directory `%s` with a directory", shown);
		if (mkdirat(dfd, name, 0700) < 0)
			return cell_error_errno(err, errno, "create directory `%s`", shown);
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || (own && fchown(fd, u, g) < 0) || fchmod(fd, perm) < 0)
			return cell_error_errno(err, errno, "set owner and mode of `%s`", shown);
		return 0;
	}
	if (!S_ISREG(e->st.st_mode) && !S_ISLNK(e->st.st_mode))
		return 0;	/* devices, fifos, sockets */
	if (exists && S_ISDIR(old.st_mode))
		return cell_error_set(err, "cannot overwrite directory `%s` with non-directory", shown);
	if (exists && (S_ISLNK(e->st.st_mode) || link || !S_ISREG(old.st_mode)) && unlinkat(dfd, name, 0) < 0)
		return cell_error_errno(err, errno, "replace `%s`", shown);
	if (link) {
		if (linkat(link->dirfd, link->name, dfd, name, 0) < 0)
			return cell_error_errno(err, errno, "hard link `%s` to `%s`", shown, e->hardlink);
		return 0;
	}
	if (S_ISLNK(e->st.st_mode)) {
		if (symlinkat(e->symlink, dfd, name) < 0)
			return cell_error_errno(err, errno, "create symlink `%s`", shown);
		if (own && fchownat(dfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
			return cell_error_errno(err, errno, "set the owner of `%s`", shown);
		return 0;
	}
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_error_errno(err, errno, "create `%s`", shown);
	if (copy_data(c, e, fd, shown, err) < 0)
		return -1;
	struct timespec t[2] = { e->st.st_atim, e->st.st_mtim };
	if ((own && fchown(fd, u, g) < 0) || fchmod(fd, perm) < 0 || futimens(fd, t) < 0)
		return cell_error_errno(err, errno, "set owner, mode and times of `%s`", shown);
	return 0;
}

static int put_host(struct cp *c, const struct ent *e, const char *path, cell_error **err)
{
	_cleanup_free_ char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	const char *name = slash ? slash + 1 : d;
	if (slash)
		*slash = 0;
	_cleanup_close_ int dfd = cell_openat2(c->host_base, slash ? d : ".", O_PATH | O_DIRECTORY | O_CLOEXEC,
					       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open the directory of `%s`", path);
	if (streq(name, "."))
		return 0;	/* the destination directory itself */
	return make(c, dfd, name, e, NULL, path, err);
}

static int put_ctr(struct cp *c, const struct ent *e, const char *path, cell_error **err)
{
	_cleanup_free_ char *cpath = xasprintf("%s/%s", c->ctr_base, path);
	struct loc l, link = { .dirfd = -1 };
	if (resolve(c->fs, cpath, false, &l, err) < 0)
		return -1;
	int r = -1;
	if (!l.m->rw) {
		cell_error_set(err, "cannot copy to `%s` in container `%s`: %s", l.cpath, c->fs->ref,
			       l.m == &c->fs->m[0] ? "container rootfs is marked read-only" :
						    "mounted volume is marked read-only");
		goto out;
	}
	if (streq(l.name, ".")) {	/* a mount point: a directory, merged into */
		r = S_ISDIR(e->st.st_mode) ? 0 :
			cell_error_set(err, "cannot overwrite directory `%s` with non-directory", l.cpath);
		goto out;
	}
	if (e->hardlink) {
		_cleanup_free_ char *lp = xasprintf("%s/%s/%s", c->ctr_base, c->top, e->hardlink);
		if (resolve(c->fs, lp, false, &link, err) < 0)
			goto out;
		if (link.m != l.m) {
			cell_error_set(err, "hard link `%s` to `%s`: they are on different mounts of the container", l.cpath,
				       link.cpath);
			goto out;
		}
	}
	r = make(c, l.dirfd, l.name, e, e->hardlink ? &link : NULL, l.cpath, err);
out:
	loc_clear(&link);
	loc_clear(&l);
	return r;
}

static int put_tar(struct cp *c, const struct ent *e, const char *path, cell_error **err)
{
	if (S_ISSOCK(e->st.st_mode))
		return 0;
	struct archive_entry *ae = archive_entry_new();
	archive_entry_copy_stat(ae, &e->st);
	archive_entry_set_pathname(ae, path);
	archive_entry_set_uname(ae, "");
	archive_entry_set_gname(ae, "");
	if (e->symlink)
		archive_entry_set_symlink(ae, e->symlink);
	if (!S_ISREG(e->st.st_mode))
		archive_entry_set_size(ae, 0);
	int r = 0;
	if (archive_write_header(c->aw, ae) != ARCHIVE_OK)
		r = cell_error_set(err, "write `%s` to the tar: %s", path, archive_error_string(c->aw));
	archive_entry_free(ae);
	ssize_t n;
	while (r == 0 && S_ISREG(e->st.st_mode) && e->fd >= 0 && (n = read(e->fd, c->buf, sizeof(c->buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = cell_error_errno(err, errno, "read `%s`", path);
		else if (archive_write_data(c->aw, c->buf, (size_t)n) != n)
			r = cell_error_set(err, "write `%s` to the tar: %s", path, archive_error_string(c->aw));
	}
	return r;
}

static int put(struct cp *c, const struct ent *e, cell_error **err)
{
	_cleanup_free_ char *path = *e->rel ? xasprintf("%s/%s", c->top, e->rel) : xstrdup(c->top);
	switch (c->to) {
	case SIDE_HOST: return put_host(c, e, path, err);
	case SIDE_CTR: return put_ctr(c, e, path, err);
	default: return put_tar(c, e, path, err);
	}
}

/* ---- walks ---- */

static bool is_mount_point(struct ctrfs *fs, const char *cpath)
{
	for (size_t i = 1; i < fs->n; i++)
		if (streq(fs->m[i].dest, cpath))
			return true;
	return false;
}

/* The entry name in dfd, cpath in the container when fs (then its ids are
 * shown as the container's), and below it when a directory. */
static int walk(struct cp *c, struct ctrfs *fs, int dfd, const char *name, const char *cpath, const char *rel,
		bool follow, cell_error **err)
{
	struct ent e = { .rel = rel, .fd = -1 };
	const char *shown = cpath ? cpath : name;
	if (fstatat(dfd, name, &e.st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "stat `%s`", shown);
	if (fs) {
		uint32_t u = cell_id_to_ctr(&fs->ids, false, e.st.st_uid), g = cell_id_to_ctr(&fs->ids, true, e.st.st_gid);
		e.st.st_uid = u == UINT32_MAX ? OVERFLOW_ID : u;
		e.st.st_gid = g == UINT32_MAX ? OVERFLOW_ID : g;
	}
	char target[PATH_MAX];
	if (S_ISLNK(e.st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return cell_error_errno(err, errno, "readlink `%s`", shown);
		target[n] = 0;
		e.symlink = target;
	}
	_cleanup_close_ int fd = -1;
	if (S_ISREG(e.st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (fd < 0)
			return cell_error_errno(err, errno, "open `%s`", shown);
		e.fd = fd;
	}
	if (put(c, &e, err) < 0)
		return -1;
	if (!S_ISDIR(e.st.st_mode))
		return 0;
	int s = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	DIR *dir = s < 0 ? NULL : fdopendir(s);
	if (!dir) {
		safe_close(s);
		return cell_error_errno(err, errno, "read directory `%s`", shown);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(dir))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *crel = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		_cleanup_free_ char *cp = cpath ? xasprintf("%s/%s", streq(cpath, "/") ? "" : cpath, de->d_name) : NULL;
		if (fs && is_mount_point(fs, cp)) {	/* a volume or bind mount: its files, as the container sees */
			struct loc l;
			r = locate(fs, cp, &l, err);
			if (r == 0)
				r = walk(c, fs, l.dirfd, l.name, cp, crel, false, err);
			loc_clear(&l);
		} else {
			r = walk(c, fs, dirfd(dir), de->d_name, cp, crel, false, err);
		}
	}
	closedir(dir);
	return r;
}

/* Tar path → relative path, refusing what leaves the destination. */
static char *tar_rel(const char *p, cell_error **err)
{
	_cleanup_free_ char *c = clean_path(p);
	for (const char *s = c; *s;) {
		s += strspn(s, "/");
		size_t len = strcspn(s, "/");
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			cell_error_set(err, "tar entry `%s` leaves the destination directory (`..`)", p);
			return NULL;
		}
		s += len;
	}
	return xstrdup(c + 1);
}

static int walk_tar(struct cp *c, int fd, cell_error **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r = 0, k;
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		r = cell_error_set(err, "read the tar: %s", archive_error_string(a));
		goto out;
	}
	while (r == 0 && (k = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
			r = cell_error_set(err, "read the tar: %s", archive_error_string(a));
			break;
		}
		_cleanup_free_ char *rel = tar_rel(archive_entry_pathname(ae), err);
		_cleanup_free_ char *hl = NULL;
		if (!rel || (archive_entry_hardlink(ae) && !(hl = tar_rel(archive_entry_hardlink(ae), err)))) {
			r = -1;
			break;
		}
		struct ent e = { .rel = rel, .fd = -1, .ar = a, .hardlink = hl, .symlink = archive_entry_symlink(ae) };
		e.st.st_mode = archive_entry_filetype(ae) | archive_entry_perm(ae);
		e.st.st_uid = (uid_t)archive_entry_uid(ae);
		e.st.st_gid = (gid_t)archive_entry_gid(ae);
		e.st.st_size = archive_entry_size(ae);
		e.st.st_mtim.tv_sec = archive_entry_mtime(ae);
		e.st.st_mtim.tv_nsec = archive_entry_mtime_nsec(ae);
		e.st.st_atim = e.st.st_mtim;
		r = put(c, &e, err);
	}
out:
	archive_read_free(a);
	return r;
}

/* ---- the command ---- */

/* The name SRC's top gets: its last component, "." for SRC/. (its contents). */
static char *src_base(const char *path)
{
	size_t n = strlen(path);
	if ((n >= 2 && streq(path + n - 2, "/.")) || streq(path, "."))
		return xstrdup(".");
	_cleanup_free_ char *c = clean_path(path);
	const char *s = strrchr(c, '/');
	return xstrdup(streq(c, "/") ? "." : s ? s + 1 : c);
}

static bool ends_with_slash(const char *p)
{
	size_t n = strlen(p);
	return n > 1 && p[n - 1] == '/';
}

/* Docker's rules: onto an existing directory SRC goes inside it (its contents
 * for SRC/.), else SRC becomes DEST (whose parent must exist). */
static int dest_host(struct cp *c, const char *dst, const char *base, bool src_dir, cell_error **err)
{
	struct stat st;
	int k = stat(dst, &st);
	if (k == 0 && S_ISDIR(st.st_mode)) {
		c->host_base = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
		c->top = xstrdup(base);
	} else if (k == 0 && src_dir) {
		return cell_error_set(err, "cannot copy a directory to the file `%s`", dst);
	} else if (k < 0 && errno != ENOENT) {
		return cell_error_errno(err, errno, "`%s`", dst);
	} else {
		if (k < 0 && ends_with_slash(dst) && !src_dir)
			return cell_error_set(err, "destination directory `%s` does not exist", dst);
		_cleanup_free_ char *a = xstrdup(dst), *b = xstrdup(dst);
		c->host_base = open(dirname(a), O_PATH | O_DIRECTORY | O_CLOEXEC);
		c->top = xstrdup(basename(b));
	}
	if (c->host_base < 0)
		return cell_error_errno(err, errno, "open the directory of `%s`", dst);
	return 0;
}

static int dest_ctr(struct cp *c, const char *dst, const char *base, bool src_dir, bool must_be_dir, cell_error **err)
{
	struct loc d;
	struct stat st;
	if (resolve(c->fs, dst, true, &d, err) < 0)
		return -1;
	bool exists = fstatat(d.dirfd, d.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	int r = 0;
	if (exists && S_ISDIR(st.st_mode)) {
		c->ctr_base = xstrdup(d.cpath);
		c->top = xstrdup(base);
	} else if (must_be_dir) {
		r = cell_error_set(err, "destination `%s` in container `%s` must be a directory", dst, c->fs->ref);
	} else if (exists && src_dir) {
		r = cell_error_set(err, "cannot copy a directory to the file `%s` in container `%s`", dst, c->fs->ref);
	} else if (!exists && ends_with_slash(dst) && !src_dir) {
		r = cell_error_set(err, "destination directory `%s` does not exist in container `%s`", dst, c->fs->ref);
	} else {
		char *s = strrchr(d.cpath, '/');
		c->top = xstrdup(s + 1);
		c->ctr_base = s == d.cpath ? xstrdup("/") : strndup(d.cpath, (size_t)(s - d.cpath));
	}
	loc_clear(&d);
	return r;
}

static int tar_write_open(struct cp *c, int fd, cell_error **err)
{
	c->aw = archive_write_new();
	archive_write_set_format_pax_restricted(c->aw);
	if (archive_write_open_fd(c->aw, fd) != ARCHIVE_OK)
		return cell_error_set(err, "write the tar: %s", archive_error_string(c->aw));
	return 0;
}

int cell_ctr_cp(struct cell_engine *e, const struct cell_cp_req *q, cell_error **err)
{
	struct cp c = { .host_base = -1, .archive = q->archive, .follow = q->follow };
	struct ctrfs fs = { 0 };
	struct loc src = { .dirfd = -1 };
	_cleanup_free_ char *base = NULL;
	const char *ref = q->ref ? q->ref : q->id, *cpath = q->ctr_path && *q->ctr_path ? q->ctr_path : "/";
	bool tar = !q->host_path;
	int r = -1;
	if ((tar && cell_dl_archive(err) < 0) || ctrfs_open(e, q->id, ref, &fs, err) < 0)
		goto out;
	c.fs = &fs;
	if (!q->into) {
		struct stat st;
		if (resolve(&fs, cpath, c.follow, &src, err) < 0)
			goto out;
		if (fstatat(src.dirfd, src.name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			cell_error_errno(err, errno, "could not find `%s` in container `%s`", cpath, ref);
			goto out;
		}
		base = src_base(cpath);
		if (tar) {
			c.to = SIDE_TAR;
			c.top = xstrdup(base);
			if (tar_write_open(&c, q->tar_fd, err) < 0)
				goto out;
		} else if (c.to = SIDE_HOST, dest_host(&c, q->host_path, base, S_ISDIR(st.st_mode), err) < 0) {
			goto out;
		}
		if (walk(&c, &fs, src.dirfd, src.name, src.cpath, "", false, err) < 0)
			goto out;
		if (c.aw && archive_write_close(c.aw) != ARCHIVE_OK) {
			cell_error_set(err, "write the tar: %s", archive_error_string(c.aw));
			goto out;
		}
	} else {
		c.to = SIDE_CTR;
		if (tar) {
			if (dest_ctr(&c, cpath, ".", true, true, err) < 0 || walk_tar(&c, q->tar_fd, err) < 0)
				goto out;
		} else {
			struct stat st;
			if ((c.follow ? stat(q->host_path, &st) : lstat(q->host_path, &st)) < 0) {
				cell_error_errno(err, errno, "could not find `%s` on the host", q->host_path);
				goto out;
			}
			base = src_base(q->host_path);
			if (dest_ctr(&c, cpath, base, S_ISDIR(st.st_mode), false, err) < 0 ||
			    walk(&c, NULL, AT_FDCWD, q->host_path, NULL, "", c.follow, err) < 0)
				goto out;
		}
	}
	r = 0;
out:
	if (c.aw)
		archive_write_free(c.aw);
	loc_clear(&src);
	safe_close(c.host_base);
	free(c.ctr_base);
	free(c.top);
	ctrfs_free(&fs);
	return r;
}

int cell_ctr_cp_stat(struct cell_engine *e, const char *id, const char *ref, const char *path, struct stat *ret,
		     char **ret_link, cell_error **err)
{
	struct ctrfs fs = { 0 };
	struct loc l = { .dirfd = -1 }, t = { .dirfd = -1 };
	int r = -1;
	*ret_link = NULL;
	if (!ref)
		ref = id;
	if (ctrfs_open(e, id, ref, &fs, err) < 0 || resolve(&fs, path && *path ? path : "/", false, &l, err) < 0)
		goto out;
	if (fstatat(l.dirfd, l.name, ret, AT_SYMLINK_NOFOLLOW) < 0) {
		r = cell_error_errno(err, errno, "could not find `%s` in container `%s`", path, ref);
		goto out;
	}
	uint32_t u = cell_id_to_ctr(&fs.ids, false, ret->st_uid), g = cell_id_to_ctr(&fs.ids, true, ret->st_gid);
	ret->st_uid = u == UINT32_MAX ? OVERFLOW_ID : u;
	ret->st_gid = g == UINT32_MAX ? OVERFLOW_ID : g;
	/* a link: where it leads in the container, as Docker's linkTarget */
	if (S_ISLNK(ret->st_mode)) {
		cell_error *x = NULL;
		if (resolve(&fs, path, true, &t, &x) == 0)
			*ret_link = xstrdup(t.cpath);
		cell_error_free(&x);
	}
	r = 0;
out:
	loc_clear(&l);
	loc_clear(&t);
	ctrfs_free(&fs);
	return r;
}
