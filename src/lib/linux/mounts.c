#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "idmap.h"
#include "spec/spec.h"
#include "util.h"

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static const char *fdpath(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

int cell_resolve_in_root(int rootfd, const char *path, bool create, bool as_file, cell_error **err)
{
	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	int fd = openat2_(rootfd, rel, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? fd : cell_error_errno(err, errno, "resolve `%s` in the rootfs", path);

	/* create the parent first, then the last component inside it */
	_cleanup_free_ char *parent = xstrdup(rel);
	char *slash = strrchr(parent, '/');
	const char *base = rel;
	_cleanup_close_ int pfd = -1;
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		pfd = cell_resolve_in_root(rootfd, parent, true, false, err);
		if (pfd < 0)
			return -1;
	} else {
		pfd = openat2_(rootfd, ".", O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT);
		if (pfd < 0)
			return cell_error_errno(err, errno, "open the rootfs");
	}
	/* mkdirat/openat need a real directory fd, not O_PATH */
	_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open `%s` in the rootfs", slash ? parent : "/");
	if (as_file) {
		int f = openat(dfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST)
			return cell_error_errno(err, errno, "create mount point `%s` in the rootfs", path);
		safe_close(f);
	} else if (mkdirat(dfd, base, 0755) < 0 && errno != EEXIST) {
		return cell_error_errno(err, errno, "create directory `%s` in the rootfs", path);
	}
	fd = openat2_(dfd, base, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return cell_error_errno(err, errno, "resolve `%s` in the rootfs", path);
	return fd;
}

static void flags_text(unsigned long f, char *buf, size_t len)
{
	static const struct { unsigned long f; const char *n; } names[] = {
		{ MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" },
		{ MS_NOEXEC, "noexec" }, { MS_BIND, "bind" }, { MS_REC, "rec" },
		{ MS_REMOUNT, "remount" }, { MS_PRIVATE, "private" }, { MS_SLAVE, "slave" },
		{ MS_SHARED, "shared" }, { MS_UNBINDABLE, "unbindable" }, { MS_MOVE, "move" },
		{ MS_NOATIME, "noatime" }, { MS_RELATIME, "relatime" }, { MS_STRICTATIME, "strictatime" },
	};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (f & names[i].f)
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "," : "", names[i].n);
	if (!off)
		snprintf(buf, len, "none");
}

/* mount(2) with an error naming source, target, type, flags and data. */
static int mount_verbose(const char *src, const char *target, const char *shown_target,
			 const char *type, unsigned long flags, const char *data, cell_error **err)
{
	if (mount(src, target, type, flags, data) == 0)
		return 0;
	int e = errno;
	char f[160];
	flags_text(flags, f, sizeof(f));
	return cell_error_errno(err, e, "mount `%s` on `%s` (type %s, flags %s%s%s)", src ? src : "none",
				shown_target, type ? type : "none", f, data ? ", data " : "", data ? data : "");
}

int cell_rootfs_prepare(const struct cell_spec *s, cell_error **err)
{
	/* mounts made for the container must never propagate back to the host:
	 * rslave keeps host mounts visible yet stops the way back (runc's default) */
	unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : (MS_SLAVE | MS_REC);
	if (prop & MS_SHARED)
		prop = MS_SLAVE | MS_REC;	/* made shared again after pivot_root */
	if (mount_verbose(NULL, "/", "/", NULL, prop, NULL, err) < 0)
		return -1;
	/* the rootfs must be a mount point for pivot_root */
	if (mount_verbose(s->root_path, s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL, err) < 0)
		return cell_error_wrap(err, "root.path");
	return 0;
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Remount a bind mount with its per-mount flags; flags the source mount has
 * locked (from a less privileged namespace) must be kept or EPERM follows. */
static int bind_remount(const char *target, const char *shown, const char *src, unsigned long flags,
			cell_error **err)
{
	unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
	if (mount(NULL, target, NULL, f, NULL) == 0)
		return 0;
	if (errno == EPERM) {
		unsigned long locked = src ? locked_flags(src) : 0;
		if (mount(NULL, target, NULL, f | locked, NULL) == 0)
			return 0;
	}
	return mount_verbose(NULL, target, shown, NULL, f, NULL, err);
}

static int mount_cgroup(const struct cell_spec *s, const struct cell_mount *m, int rootfd, cell_error **err);

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is key= one of the comma-separated options in data? */
static bool has_data_key(const char *data, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = data; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, key, k) == 0 && p[k] == '=')
			return true;
	return false;
}

static int mount_one(const struct cell_spec *s, const struct cell_mount *m, int rootfd, bool in_userns,
		     int idmap_tree, cell_error **err)
{
	char buf[32];
	const char *type = m->type;
	bool as_file = false;
	_cleanup_close_ int fd = -1;

	if (type && (streq(type, "cgroup") || streq(type, "cgroup2")) && !m->bind)
		return mount_cgroup(s, m, rootfd, err);
	if (m->bind) {
		struct stat st;
		/* a tree cloned by the runtime: the source may be out of our reach */
		if (idmap_tree >= 0 ? fstat(idmap_tree, &st) < 0 : stat(m->source, &st) < 0)
			return cell_error_errno(err, errno, "bind source `%s`", m->source);
		as_file = !S_ISDIR(st.st_mode);
	}
	if (!m->bind && type && (streq(type, "proc") || streq(type, "sysfs"))) {
		/* procfs and sysfs on a symlink would land wherever the image
		 * points it; runc refuses, and so do we */
		_cleanup_close_ int t = openat2_(rootfd, m->destination, O_PATH | O_NOFOLLOW | O_CLOEXEC,
						 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		struct stat tst;
		if ((t < 0 && errno == ELOOP) || (t >= 0 && fstat(t, &tst) == 0 && S_ISLNK(tst.st_mode)))
			return cell_error_set(err, "`%s` in the rootfs is a symlink (or lies below one): %s must be "
					      "mounted on an ordinary directory", m->destination, type);
		if (t >= 0 && !S_ISDIR(tst.st_mode))
			return cell_error_set(err, "`%s` in the rootfs is not a directory: %s must be mounted on an "
					      "ordinary directory", m->destination, type);
	}
	/* a tmpfs on a directory the image has takes that directory's mode
	 * unless mode= says otherwise, as runc (an image's 0750 dir stays 0750) */
	mode_t keep_mode = 0;
	if (!m->bind && type && streq(type, "tmpfs") && !(m->data && has_data_key(m->data, "mode"))) {
		cell_error *e = NULL;
		_cleanup_close_ int old = cell_resolve_in_root(rootfd, m->destination, false, false, &e);
		struct stat ost;
		if (old >= 0 && fstat(old, &ost) == 0 && S_ISDIR(ost.st_mode))
			keep_mode = ost.st_mode & 07777;
		cell_error_free(&e);
	}
	fd = cell_resolve_in_root(rootfd, m->destination, true, as_file, err);
	if (fd < 0)
		return -1;
	const char *target = fdpath(fd, buf);

	if (idmap_tree >= 0) {
		if (cell_idmap_attach(idmap_tree, fd, m->destination, err) < 0)
			return -1;
		/* a plain bind cloned before the user switch still needs its flags */
		if (!m->idmap && (m->flags & ~(MS_REC | MS_BIND))) {
			fd = safe_close(fd);
			fd = cell_resolve_in_root(rootfd, m->destination, false, false, err);
			if (fd < 0)
				return -1;
			target = fdpath(fd, buf);
			if (bind_remount(target, m->destination, m->source, m->flags, err) < 0)
				return -1;
		}
	} else if (m->bind) {
		unsigned long f = MS_BIND | (m->recursive ? MS_REC : 0);
		if (mount_verbose(m->source, target, m->destination, NULL, f, NULL, err) < 0)
			return -1;
		/* reopen: the fd still points at the dentry under the new mount */
		fd = safe_close(fd);
		fd = cell_resolve_in_root(rootfd, m->destination, false, false, err);
		if (fd < 0)
			return -1;
		target = fdpath(fd, buf);
		if ((m->flags & ~(MS_REC | MS_BIND)) && bind_remount(target, m->destination, m->source, m->flags, err) < 0)
			return -1;
	} else {
		if (!type)
			return cell_error_set(err, "mount on `%s`: `type` is required unless the mount is a bind mount",
					      m->destination);
		/* a read-only /dev still gets /dev/pts, /dev/shm and the device
		 * nodes below it: mounted writable now, read-only once the rest
		 * is in place (cell_rootfs_mount_all), as runc does */
		unsigned long flags = m->flags;
		if (streq(m->destination, "/dev"))
			flags &= ~(unsigned long)MS_RDONLY;
		/* tmpcopyup: the directory as the image has it, read once the
		 * tmpfs hides it (a read-only tmpfs is filled, then made so) */
		bool copyup = m->tmpcopyup && streq(type, "tmpfs");
		_cleanup_close_ int below = -1;
		if (copyup) {
			below = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (below < 0)
				return cell_error_errno(err, errno, "tmpcopyup: open `%s` in the rootfs", m->destination);
			flags &= ~(unsigned long)MS_RDONLY;
		}
		int r = mount_verbose(m->source ? m->source : type, target, m->destination, type,
				      flags, m->data, err);
		if (r == 0 && (copyup || keep_mode)) {
			_cleanup_close_ int top = cell_resolve_in_root(rootfd, m->destination, false, false, err);
			_cleanup_close_ int dir = top < 0 ? -1 : openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (top < 0)
				return -1;
			if (dir < 0)
				return cell_error_errno(err, errno, "open the tmpfs on `%s`", m->destination);
			if (keep_mode && fchmod(dir, keep_mode) < 0)
				return cell_error_errno(err, errno, "give the tmpfs on `%s` the mode of the directory "
							"below it (%04o)", m->destination, (unsigned)keep_mode);
			if (copyup && cell_copyup(below, dir, m->destination, err) < 0)
				return -1;
			if ((m->flags & MS_RDONLY) &&
			    mount_verbose(NULL, fdpath(dir, buf), m->destination, NULL,
					  MS_REMOUNT | (m->flags & ~(unsigned long)MS_REC), m->data, err) < 0)
				return -1;
		}
		if (r < 0 && streq(type, "sysfs") && in_userns && cell_error_code(*err) == EPERM) {
			/* without its own network namespace a user namespace may not
			 * mount sysfs: bind the host's, read-only, as runc does */
			cell_error_free(err);
			if (mount_verbose("/sys", target, m->destination, NULL, MS_BIND | MS_REC, NULL, err) < 0)
				return -1;
			r = 0;
		}
		if (r < 0)
			return -1;
	}
	if (m->propagation) {
		fd = safe_close(fd);
		fd = cell_resolve_in_root(rootfd, m->destination, false, false, err);
		if (fd < 0)
			return -1;
		if (mount_verbose(NULL, fdpath(fd, buf), m->destination, NULL, m->propagation, NULL, err) < 0)
			return -1;
	}
	if (m->attr_set || m->attr_clr) {
		struct mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
		fd = safe_close(fd);
		fd = cell_resolve_in_root(rootfd, m->destination, false, false, err);
		if (fd < 0)
			return -1;
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			return cell_error_errno(err, errno, "set recursive attributes on `%s`", m->destination);
	}
	return 0;
}

/* cgroup mounts. A v2 host (or a "cgroup2" request) gets cgroup2. On v1 and
 * hybrid hosts, a tmpfs with one directory per hierarchy: with a cgroup
 * namespace each is a fresh mount rooted at the container's cgroup; without
 * one, a bind of the container's own directory, as runc does. */
static int mount_cgroup(const struct cell_spec *s, const struct cell_mount *m, int rootfd, cell_error **err)
{
	char buf[32];
	bool unified_host = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	_cleanup_close_ int fd = cell_resolve_in_root(rootfd, m->destination, true, false, err);
	if (fd < 0)
		return -1;
	unsigned long flags = m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (unified_host || streq(m->type, "cgroup2"))
		return mount_verbose("cgroup2", fdpath(fd, buf), m->destination, "cgroup2", flags, NULL, err);

	if (mount_verbose("tmpfs", fdpath(fd, buf), m->destination, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=755", err) < 0)
		return -1;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cell_error_errno(err, errno, "read /proc/self/mountinfo");
	char *line = NULL;
	_cleanup_free_ char *own_cgroups = NULL;
	size_t cap = 0;
	int r = 0;
	bool cgns = s->ns[CELL_NS_CGROUP].enabled;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		/* ... mountpoint ... - fstype source superoptions */
		char root[PATH_MAX], mp[PATH_MAX], fstype[64], super[512];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*d %*d %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, super) != 2)
			continue;
		if (strncmp(mp, "/sys/fs/cgroup/", 15) != 0 || strchr(mp + 15, '/'))
			continue;
		if (!streq(fstype, "cgroup") && !streq(fstype, "cgroup2"))
			continue;
		const char *name = mp + 15;
		_cleanup_free_ char *dst = xasprintf("%s/%s", m->destination, name);
		_cleanup_close_ int dfd = cell_resolve_in_root(rootfd, dst, true, false, err);
		if (dfd < 0) {
			r = -1;
			break;
		}
		if (cgns) {
			/* options: keep only controller names / name= / none */
			char opts[512] = "";
			if (streq(fstype, "cgroup")) {
				char *save = NULL;
				for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
					if (streq(o, "rw") || streq(o, "ro"))
						continue;
					if (*opts)
						strncat(opts, ",", sizeof(opts) - strlen(opts) - 1);
					strncat(opts, o, sizeof(opts) - strlen(opts) - 1);
				}
			}
			r = mount_verbose(fstype, fdpath(dfd, buf), dst, fstype, flags, *opts ? opts : NULL, err);
		} else {
			/* the container's own cgroup dir in this hierarchy;
			 * /proc/self/cgroup read once for all of them */
			char own[PATH_MAX] = "/";
			if (!own_cgroups && read_file("/proc/self/cgroup", &own_cgroups, NULL, err) < 0) {
				r = -1;
				break;
			}
			for (char *l2 = own_cgroups; l2 && *l2;) {
				char *end = strchrnul(l2, '\n');
				char *a = memchr(l2, ':', (size_t)(end - l2));
				char *b = a ? memchr(a + 1, ':', (size_t)(end - a - 1)) : NULL;
				if (b) {
					_cleanup_free_ char *ctrls = xasprintf("%.*s", (int)(b - a - 1), a + 1);
					bool match = streq(fstype, "cgroup2") ? !*ctrls : *ctrls && strstr(super, ctrls);
					if (match)
						snprintf(own, sizeof(own), "%.*s", (int)(end - b - 1), b + 1);
				}
				l2 = *end ? end + 1 : end;
			}
			_cleanup_free_ char *src = xasprintf("%s%s", mp, own);
			if (!is_dir(src)) {
				free(src);
				src = xstrdup(mp);
			}
			/* a detached clone made read-only etc., then attached: no
			 * second lookup of the target for a remount */
			_cleanup_close_ int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
			struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
							       ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) };
			if (tree < 0)
				r = cell_error_errno(err, errno, "clone cgroup `%s` for `%s`", src, dst);
			else if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
				r = cell_error_errno(err, errno, "set the flags of cgroup `%s` for `%s`", src, dst);
			else if (move_mount(tree, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				r = cell_error_errno(err, errno, "mount cgroup `%s` on `%s`", src, dst);
		}
		(void)root;
	}
	free(line);
	fclose(f);
	if (r == 0 && (m->flags & MS_RDONLY)) {
		safe_close(fd);
		fd = cell_resolve_in_root(rootfd, m->destination, false, false, err);
		if (fd < 0)
			return -1;
		r = bind_remount(fdpath(fd, buf), m->destination, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
	}
	return r;
}

static const struct { const char *path; char type; int major, minor; } default_devices[] = {
	{ "/dev/null", 'c', 1, 3 }, { "/dev/zero", 'c', 1, 5 }, { "/dev/full", 'c', 1, 7 },
	{ "/dev/random", 'c', 1, 8 }, { "/dev/urandom", 'c', 1, 9 }, { "/dev/tty", 'c', 5, 0 },
};

/* devfd: /dev of the rootfs, opened once for the nodes right below it;
 * the umask is 0 meanwhile (setup_dev), so mknod's mode is exact. */
static int make_device(int rootfd, int devfd, const char *path, char type, int64_t major, int64_t minor,
		       mode_t perm, uid_t uid, gid_t gid, bool bind, cell_error **err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	*slash = '\0';
	_cleanup_close_ int dfd = -1;
	if (devfd >= 0 && streq(parent, "/dev")) {
		dfd = fcntl(devfd, F_DUPFD_CLOEXEC, 3);
	} else {
		_cleanup_close_ int pfd = cell_resolve_in_root(rootfd, *parent ? parent : "/", true, false, err);
		if (pfd < 0)
			return -1;
		dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return cell_error_errno(err, errno, "open `%s`", parent);
	const char *base = slash + 1;
	if (bind) {
		/* mknod is not allowed in a user namespace: bind the host's node */
		char buf[32];
		int f = openat(dfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0 && errno != EEXIST)
			return cell_error_errno(err, errno, "create `%s`", path);
		safe_close(f);
		_cleanup_close_ int t = cell_resolve_in_root(rootfd, path, false, false, err);
		if (t < 0)
			return -1;
		return mount_verbose(path, fdpath(t, buf), path, NULL, MS_BIND, NULL, err);
	}
	mode_t mode = perm & 07777;
	switch (type) {
	case 'c': case 'u': mode |= S_IFCHR; break;
	case 'b': mode |= S_IFBLK; break;
	case 'p': mode |= S_IFIFO; break;
	}
	unlinkat(dfd, base, 0);
	if (mknodat(dfd, base, mode, makedev(major, minor)) < 0)
		return cell_error_errno(err, errno, "create device `%s` (%c %lld:%lld)", path, type,
					(long long)major, (long long)minor);
	/* made by root with umask 0: mode exact, owner 0:0 already; the
	 * setuid/setgid/sticky bits mknod may drop are set again */
	if (((perm & 07000) && fchmodat(dfd, base, perm & 07777, 0) < 0) ||
	    ((uid != 0 || gid != 0) && fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0))
		return cell_error_errno(err, errno, "set owner and mode of device `%s`", path);
	return 0;
}

static int make_devices(const struct cell_spec *s, int rootfd, int devfd, bool dev_tmpfs, bool in_userns,
			cell_error **err);
static int dev_links(const struct cell_spec *s, int dfd, cell_error **err);

static int setup_dev(const struct cell_spec *s, int rootfd, bool in_userns, cell_error **err)
{
	/* spec devices always; the defaults and links unless /dev is a bind
	 * mount (runc's needsSetupDev): an image's own /dev gets them too */
	bool dev_tmpfs = true;
	for (size_t i = 0; i < s->n_mounts; i++)
		if (streq(s->mounts[i].destination, "/dev") && s->mounts[i].bind)
			dev_tmpfs = false;
	_cleanup_close_ int devfd = -1;
	if (dev_tmpfs || s->n_devices) {
		_cleanup_close_ int p = cell_resolve_in_root(rootfd, "/dev", true, false, err);
		if (p < 0)
			return -1;
		devfd = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (devfd < 0)
			return cell_error_errno(err, errno, "open /dev in the rootfs");
	}
	mode_t old_umask = umask(0);
	int r = make_devices(s, rootfd, devfd, dev_tmpfs, in_userns, err);
	umask(old_umask);
	if (r < 0)
		return -1;
	if (!dev_tmpfs)
		return 0;
	return dev_links(s, devfd, err);
}

static int make_devices(const struct cell_spec *s, int rootfd, int devfd, bool dev_tmpfs, bool in_userns,
			cell_error **err)
{
	if (dev_tmpfs) {
		for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
			bool overridden = false;
			for (size_t j = 0; j < s->n_devices; j++)
				if (streq(s->devices[j].path, default_devices[i].path))
					overridden = true;
			if (!overridden && make_device(rootfd, devfd, default_devices[i].path, default_devices[i].type,
						       default_devices[i].major, default_devices[i].minor, 0666, 0, 0,
						       in_userns, err) < 0)
				return -1;
		}
	}
	for (size_t j = 0; j < s->n_devices; j++) {
		const struct cell_device *d = &s->devices[j];
		if (make_device(rootfd, devfd, d->path, d->type, d->major, d->minor, d->has_mode ? d->mode : 0666,
				d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, in_userns, err) < 0)
			return cell_error_wrap(err, "linux.devices[%zu]", j);
	}
	return 0;
}

static int dev_links(const struct cell_spec *s, int dfd, cell_error **err)
{
	static const struct { const char *link, *target; } links[] = {
		{ "/dev/fd", "/proc/self/fd" }, { "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
		{ "/dev/core", "/proc/kcore" }, { "/dev/ptmx", "pts/ptmx" },
	};
	bool has_proc = false;
	for (size_t i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].type && streq(s->mounts[i].type, "proc"))
			has_proc = true;
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		if (streq(links[i].link, "/dev/core") && !has_proc)
			continue;
		if (symlinkat(links[i].target, dfd, links[i].link + 5) < 0 && errno != EEXIST)
			return cell_error_errno(err, errno, "create symlink `%s` → `%s`", links[i].link, links[i].target);
	}
	return 0;
}

int cell_rootfs_mount_all(const struct cell_spec *s, bool in_userns, const int *idmap_trees, cell_error **err)
{
	_cleanup_close_ int rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cell_error_errno(err, errno, "open root.path `%s`", s->root_path);
	for (size_t i = 0; i < s->n_mounts; i++)
		if (mount_one(s, &s->mounts[i], rootfd, in_userns, idmap_trees ? idmap_trees[i] : -1, err) < 0)
			return cell_error_wrap(err, "mounts[%zu]", i);
	if (setup_dev(s, rootfd, in_userns, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct cell_mount *m = &s->mounts[i];
		if (m->bind || !streq(m->destination, "/dev") || !(m->flags & MS_RDONLY))
			continue;
		char buf[32];
		_cleanup_close_ int fd = cell_resolve_in_root(rootfd, "/dev", false, false, err);
		if (fd < 0 || bind_remount(fdpath(fd, buf), "/dev", NULL, m->flags, err) < 0)
			return cell_error_wrap(err, "mounts[%zu]: make /dev read-only", i);
	}
	return 0;
}

/* Before --no-pivot's MS_MOVE + chroot: the host's own full proc and sysfs
 * mounts stay in this mount namespace, outside the chroot, and the kernel
 * lets a new user namespace mount procfs while a fully visible one exists
 * (`unshare -mrpf mount -t proc`). Detach them, or cover them with a tmpfs
 * where that is refused, as runc's msMoveRoot does. Mount points are those
 * of /proc/self/mountinfo, whose fields escape blanks as octal (\040). */
static void unescape_octal(char *p)
{
	char *o = p;
	for (; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static int hide_host_pseudo_fs(const char *root_path, cell_error **err)
{
	/* mountinfo shows canonical paths */
	char rootfs[PATH_MAX];
	if (!realpath(root_path, rootfs))
		return cell_error_errno(err, errno, "resolve root.path `%s` (--no-pivot)", root_path);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cell_error_errno(err, errno, "read /proc/self/mountinfo (--no-pivot)");
	char *line = NULL, **mps = NULL;
	size_t cap = 0, n = 0, rlen = strlen(rootfs);
	while (getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], mp[PATH_MAX], fstype[64];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*d %*d %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (!streq(root, "/") || (!streq(fstype, "proc") && !streq(fstype, "sysfs")))
			continue;
		unescape_octal(mp);
		if (strncmp(mp, rootfs, rlen) == 0 && (mp[rlen] == '/' || mp[rlen] == '\0'))
			continue;	/* the container's own */
		char **t = realloc(mps, (n + 1) * sizeof(*mps));
		if (!t)
			abort();	/* as x*alloc */
		mps = t;
		mps[n++] = xstrdup(mp);
	}
	free(line);
	fclose(f);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r == 0) {
			/* umount events must not reach the host */
			if (mount(NULL, mps[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
				if (errno != ENOENT)	/* below one already detached */
					r = cell_error_errno(err, errno, "--no-pivot: make host mount `%s` a slave",
							     mps[i]);
			} else if (umount2(mps[i], MNT_DETACH) < 0) {
				if (errno != EINVAL && errno != EPERM)
					r = cell_error_errno(err, errno, "--no-pivot: detach host mount `%s`", mps[i]);
				else if (mount("tmpfs", mps[i], "tmpfs", MS_RDONLY, "size=0") < 0)
					r = cell_error_errno(err, errno, "--no-pivot: cover host mount `%s` "
							     "(it cannot be detached)", mps[i]);
			}
		}
		free(mps[i]);
	}
	free(mps);
	return r;
}

int cell_rootfs_pivot(const struct cell_spec *s, bool no_pivot, cell_error **err)
{
	if (chdir(s->root_path) < 0)
		return cell_error_errno(err, errno, "chdir to root.path `%s`", s->root_path);
	if (no_pivot) {
		if (hide_host_pseudo_fs(s->root_path, err) < 0)
			return -1;
		if (mount(s->root_path, "/", NULL, MS_MOVE, NULL) < 0)
			return cell_error_errno(err, errno, "move the rootfs `%s` to `/` (--no-pivot)", s->root_path);
		if (chroot(".") < 0)
			return cell_error_errno(err, errno, "chroot to `%s`", s->root_path);
	} else {
		/* pivot_root(".", ".") stacks the old root on top of the new
		 * one; unmounting "." then drops the old root (no temp dir) */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return cell_error_errno(err, errno, "pivot_root to `%s` (on a ramfs root use --no-pivot)",
						s->root_path);
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return cell_error_errno(err, errno, "make the old root a slave");
		if (umount2(".", MNT_DETACH) < 0)
			return cell_error_errno(err, errno, "detach the old root");
	}
	if (chdir("/") < 0)
		return cell_error_errno(err, errno, "chdir to the new root");
	return 0;
}

/* maskedPaths and readonlyPaths, against a container that controls its
 * root (CVE-2025-31133): every target is opened without following symlinks
 * and mounted on through its fd; files are masked with the container's
 * /dev/null only once it is opened without following symlinks and checked
 * to be the char device 1:3 (the container may have replaced it by a
 * symlink to a procfs file); directories share one empty read-only tmpfs
 * (one superblock, then a clone of it per directory). The host's /dev/null
 * cannot serve: its mount left the namespace with the old root. */
static int open_null(int *fd, cell_error **err)
{
	struct stat st;
	if (*fd >= 0)
		return 0;
	*fd = openat2_(AT_FDCWD, "/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (*fd < 0)
		return cell_error_errno(err, errno, "maskedPaths: open /dev/null in the container (not following "
					"symlinks)");
	if (fstat(*fd, &st) < 0)
		return cell_error_errno(err, errno, "maskedPaths: stat /dev/null in the container");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return cell_error_set(err, "maskedPaths: /dev/null in the container is not the null device "
				      "(char 1:3): refusing to bind it on masked files");
	return 0;
}

static int open_target(const char *what, const char *p, cell_error **err)
{
	int fd = openat2_(AT_FDCWD, p, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	struct stat st;
	/* O_PATH | O_NOFOLLOW opens a last component that is a symlink */
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
		safe_close(fd);
		fd = -1;
		errno = ELOOP;
	}
	if (fd >= 0 || errno == ENOENT)
		return fd < 0 ? -ENOENT : fd;
	if (errno == ELOOP)
		return cell_error_set(err, "%s: `%s` is a symlink or lies below one: refusing to mount through it",
				      what, p);
	return cell_error_errno(err, errno, "%s: open `%s`", what, p);
}

/* Attach a clone of the mount at from_fd on to_fd. */
static int clone_onto(int from_fd, int to_fd, unsigned flags, const char *what, const char *p, cell_error **err)
{
	_cleanup_close_ int tree = open_tree(from_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | flags);
	if (tree < 0)
		return cell_error_errno(err, errno, "%s: clone a mount for `%s`", what, p);
	if (move_mount(tree, "", to_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return cell_error_errno(err, errno, "%s: mount on `%s`", what, p);
	return 0;
}

static int empty_tmpfs(cell_error **err)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return cell_error_errno(err, errno, "maskedPaths: open a tmpfs context (fsopen)");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cell_error_errno(err, errno, "maskedPaths: create the empty tmpfs");
	int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (m < 0)
		return cell_error_errno(err, errno, "maskedPaths: mount the empty tmpfs (fsmount)");
	return m;
}

/* *empty: -1 before the first directory, then that directory (its mount);
 * *null: -1 until the first file needs the checked /dev/null. */
static int mask_path(const char *p, int *empty, int *null, cell_error **err)
{
	struct stat st;
	_cleanup_close_ int fd = open_target("maskedPaths", p, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return cell_error_errno(err, errno, "maskedPaths: stat `%s`", p);
	if (!S_ISDIR(st.st_mode)) {
		if (open_null(null, err) < 0)
			return cell_error_wrap(err, "mask `%s`", p);
		return clone_onto(*null, fd, 0, "maskedPaths", p, err);
	}
	if (*empty < 0) {
		_cleanup_close_ int m = empty_tmpfs(err);
		if (m < 0)
			return -1;
		if (move_mount(m, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return cell_error_errno(err, errno, "maskedPaths: mount the empty tmpfs on `%s`", p);
		/* the fd of the (now attached) mount, to clone for the next ones */
		*empty = m;
		m = -1;
		return 0;
	}
	return clone_onto(*empty, fd, 0, "maskedPaths", p, err);
}

static int readonly_path(const char *p, cell_error **err)
{
	_cleanup_close_ int fd = open_target("readonlyPaths", p, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return -1;
	_cleanup_close_ int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return cell_error_errno(err, errno, "readonlyPaths: clone the mount of `%s`", p);
	/* flags only added: those locked by a less privileged namespace stay */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					       MOUNT_ATTR_NOEXEC };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return cell_error_errno(err, errno, "readonlyPaths: make `%s` read-only", p);
	if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return cell_error_errno(err, errno, "readonlyPaths: mount on `%s`", p);
	return 0;
}

int cell_rootfs_unmount_below(const char *root_path, cell_error **err)
{
	char rootfs[PATH_MAX];
	if (!realpath(root_path, rootfs))
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "resolve root.path `%s`", root_path);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cell_error_errno(err, errno, "read /proc/self/mountinfo");
	char *line = NULL, **mps = NULL;
	size_t cap = 0, n = 0, rlen = strlen(rootfs);
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX];
		if (sscanf(line, "%*d %*d %*s %*s %4095s", mp) != 1)
			continue;
		unescape_octal(mp);
		/* strictly below: the rootfs itself may be the engine's overlay */
		if (strncmp(mp, rootfs, rlen) != 0 || mp[rlen] != '/')
			continue;
		char **t = realloc(mps, (n + 1) * sizeof(*mps));
		if (!t)
			abort();	/* as x*alloc */
		mps = t;
		mps[n++] = xstrdup(mp);
	}
	free(line);
	fclose(f);
	int r = 0;
	/* newest first: a mount over another comes later in mountinfo */
	for (size_t i = n; i-- > 0;) {
		if (umount2(mps[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT && r == 0)
			r = cell_error_errno(err, errno, "unmount `%s`", mps[i]);
		free(mps[i]);
	}
	free(mps);
	return r;
}

int cell_rootfs_finish(const struct cell_spec *s, cell_error **err)
{
	for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
		if (readonly_path(s->readonly_paths[i], err) < 0)
			return -1;
	int empty = -1, null = -1, r = 0;
	for (size_t i = 0; r == 0 && s->masked_paths && s->masked_paths[i]; i++)
		r = mask_path(s->masked_paths[i], &empty, &null, err);
	safe_close(empty);
	safe_close(null);
	if (r < 0)
		return -1;
	if (s->root_readonly && bind_remount("/", "/", NULL, MS_RDONLY, err) < 0)
		return cell_error_wrap(err, "root.readonly");
	if (s->rootfs_propagation && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
		return cell_error_errno(err, errno, "linux.rootfsPropagation: set propagation of `/`");
	return 0;
}

/* The runtime's writes to procfs (CVE-2025-52881): a path below the
 * container's /proc (checked to be a procfs root) is resolved with no
 * symlink, magic link or mount crossing, so a file mounted over it cannot
 * take the write: RESOLVE_NO_XDEV refuses it, and the write then goes
 * through a procfs of our own (a fresh detached instance, fsopen, or a
 * non-recursive clone of /proc, which leaves every overmount behind). No
 * new mount in the common case: a detached one costs an RCU wait when its
 * fd closes. */
static bool is_proc_root(int fd)
{
	struct statfs sf;
	struct stat st;
	return fstatfs(fd, &sf) == 0 && fstat(fd, &st) == 0 && sf.f_type == PROC_SUPER_MAGIC && st.st_ino == 1;
}

static int proc_dir_fd = -1, proc_own_fd = -1;

static int proc_own(cell_error **err)
{
	if (proc_own_fd >= 0)
		return proc_own_fd;
	int fd = -1;
	_cleanup_close_ int fs = fsopen("proc", FSOPEN_CLOEXEC);
	if (fs >= 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		fd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (fd < 0)
		fd = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return cell_error_errno(err, errno, "open a procfs of the runtime's own (fsopen, or a clone of /proc)");
	if (!is_proc_root(fd)) {
		safe_close(fd);
		return cell_error_set(err, "/proc is not the root of a procfs: refusing to write through it");
	}
	proc_own_fd = fd;
	return fd;
}

static int open_beneath(int root, const char *rel)
{
	return openat2_(root, rel, O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
}

int cell_proc_write(const char *path, const char *data, cell_error **err)
{
	char rel[PATH_MAX];
	const char *p = path;
	if (strncmp(p, "/proc/", 6) == 0)
		p += 6;
	/* self and thread-self are symlinks: name ourselves by number */
	if (strncmp(p, "self/", 5) == 0)
		snprintf(rel, sizeof(rel), "%d/%s", (int)getpid(), p + 5);
	else if (strncmp(p, "thread-self/", 12) == 0)
		snprintf(rel, sizeof(rel), "%d/task/%d/%s", (int)getpid(), (int)gettid(), p + 12);
	else
		snprintf(rel, sizeof(rel), "%s", p);
	if (proc_dir_fd < 0) {
		proc_dir_fd = openat2_(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC,
				       RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (proc_dir_fd >= 0 && !is_proc_root(proc_dir_fd))
			proc_dir_fd = safe_close(proc_dir_fd);
	}
	_cleanup_close_ int fd = proc_dir_fd >= 0 ? open_beneath(proc_dir_fd, rel) : -1;
	if (fd < 0 && (proc_dir_fd < 0 || errno == EXDEV || errno == ELOOP)) {
		/* no procfs at /proc, or something mounted over the path */
		int own = proc_own(err);
		if (own < 0)
			return cell_error_wrap(err, "write `%s`", path);
		fd = open_beneath(own, rel);
	}
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` for writing (on procfs)", path);
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return cell_error_set(err, "`%s` is not on procfs: refusing to write it", path);
	/* procfs files take their value in one write */
	size_t len = strlen(data);
	ssize_t n;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cell_error_errno(err, errno, "write `%s`", path);
	if ((size_t)n != len)
		return cell_error_set(err, "write `%s`: short write (%zd of %zu bytes)", path, n, len);
	return 0;
}

int cell_console_mount(int pty, cell_error **err)
{
	/* /dev/console gets the container's pty, as with runc; the target is
	 * never reached through a symlink and the source is the pty's own fd,
	 * not a path the container could redirect (CVE-2025-52565) */
	_cleanup_close_ int dev = openat2_(AT_FDCWD, "/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
					   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (dev < 0)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "open /dev in the container for the console");
	int t = openat2_(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC,
			 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (t < 0 && errno == ENOENT) {
		int f = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0)
			/* a read-only /dev: no console node, as before */
			return errno == EROFS ? 0 : cell_error_errno(err, errno, "create /dev/console in the container");
		safe_close(f);
		t = openat2_(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC,
			     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	}
	_cleanup_close_ int target = t;
	struct stat st = { 0 };
	/* O_PATH | O_NOFOLLOW opens a last component that is a symlink */
	if (target >= 0 && fstat(target, &st) == 0 && S_ISLNK(st.st_mode))
		errno = ELOOP;
	if ((target < 0 || S_ISLNK(st.st_mode)) && errno == ELOOP)
		return cell_error_set(err, "/dev/console in the container is a symlink: refusing to mount the "
				      "console through it");
	if (target < 0)
		return cell_error_errno(err, errno, "open /dev/console in the container");
	if (fstat(target, &st) < 0)
		return cell_error_errno(err, errno, "stat /dev/console in the container");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return cell_error_set(err, "/dev/console in the container is neither a file nor a device: "
				      "refusing to mount the console on it");
	return clone_onto(pty, target, 0, "process.terminal", "/dev/console", err);
}
