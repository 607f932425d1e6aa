/* Local volumes (see volume.h for the layout and who owns what). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "json.h"
#include "root.h"
#include "util.h"
#include "volume.h"

static char *vol_root(struct cell_engine *e)
{
	return xasprintf("%s/volumes", e->root);
}

static char *vol_dir(struct cell_engine *e, const char *name)
{
	return xasprintf("%s/volumes/%s", e->root, name);
}

static int vol_lock(struct cell_engine *e, bool exclusive, cell_error **err)
{
	_cleanup_free_ char *root = vol_root(e);
	if (mkdir_p(root, 0700, err) < 0)
		return cell_error_wrap(err, "volume store");
	_cleanup_free_ char *p = xasprintf("%s/.lock", root);
	return lock_file(p, exclusive, err);
}

bool cell_volume_name_valid(const char *name)
{
	return name && strlen(name) >= 2 && cell_name_valid(name);
}

bool cell_volume_is_anonymous(json_object *rec)
{
	json_object *labels = json_object_object_get(rec, "Labels");
	return labels && json_object_object_get_ex(labels, CELL_VOLUME_ANON_LABEL, NULL);
}

static int no_such(const char *name, cell_error **err)
{
	cell_error_set(err, "no such volume: `%s`", name);
	(*err)->errnum = ENOENT;
	return -ENOENT;
}

int cell_volume_get(struct cell_engine *e, const char *name, json_object **ret, cell_error **err)
{
	if (!cell_volume_name_valid(name))
		return no_such(name, err);
	_cleanup_free_ char *dir = vol_dir(e, name);
	_cleanup_free_ char *p = xasprintf("%s/volume.json", dir);
	if (access(p, F_OK) < 0) {
		if (errno == ENOENT)
			return no_such(name, err);
		return cell_error_errno(err, errno, "volume `%s`", name);
	}
	return cj_parse_file(p, ret, err);
}

static json_object *labels_obj(char **labels, bool anonymous, cell_error **err)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; labels && labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		if (!*labels[i] || eq == labels[i]) {
			json_object_put(o);
			cell_error_set(err, "invalid --label `%s`: expected key=value", labels[i]);
			return NULL;
		}
		_cleanup_free_ char *k = eq ? strndup(labels[i], (size_t)(eq - labels[i])) : xstrdup(labels[i]);
		json_object_object_add(o, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	if (anonymous)
		json_object_object_add(o, CELL_VOLUME_ANON_LABEL, json_object_new_string(""));
	return o;
}

int cell_volume_create(struct cell_engine *e, const char *name, char **labels, bool anonymous,
		       json_object **ret_rec, bool *ret_created, cell_error **err)
{
	_cleanup_free_ char *anon = NULL;
	if (!name)
		name = anon = cell_id_new();
	else if (!cell_volume_name_valid(name))
		return cell_error_set(err, "invalid volume name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, "
				      "at least two characters (a name with a `/` is a host path)", name);
	json_object *lab = labels_obj(labels, anonymous, err);
	if (!lab)
		return -1;
	_cleanup_free_ char *root = vol_root(e);
	_cleanup_free_ char *dir = vol_dir(e, name);
	_cleanup_free_ char *tmpl = xasprintf("%s/.tmp-XXXXXX", root);
	json_object *existing = NULL;
	cell_error *x = NULL;
	if (cell_volume_get(e, name, &existing, &x) == 0) {
		json_object_put(lab);
		if (ret_rec)
			*ret_rec = existing;
		else
			json_object_put(existing);
		if (ret_created)
			*ret_created = false;
		return 0;
	}
	cell_error_free(&x);
	if (mkdir_p(root, 0700, err) < 0 || !mkdtemp(tmpl)) {
		json_object_put(lab);
		if (!*err)
			cell_error_errno(err, errno, "create a directory in `%s`", root);
		return cell_error_wrap(err, "create volume `%s`", name);
	}
	/* containers' users must reach _data: the volume dir is 0755 as Docker's
	 * <root>/volumes/<name> (the store root stays 0700) */
	chmod(tmpl, 0755);
	_cleanup_free_ char *data = xasprintf("%s/_data", tmpl);
	_cleanup_free_ char *mountpoint = xasprintf("%s/_data", dir);
	_cleanup_free_ char *rec_path = xasprintf("%s/volume.json", tmpl);
	_cleanup_free_ char *now = engine_now();
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "CreatedAt", json_object_new_string(now));
	json_object_object_add(rec, "Driver", json_object_new_string("local"));
	json_object_object_add(rec, "Labels", lab);
	json_object_object_add(rec, "Mountpoint", json_object_new_string(mountpoint));
	json_object_object_add(rec, "Name", json_object_new_string(name));
	json_object_object_add(rec, "Options", json_object_new_object());
	json_object_object_add(rec, "Scope", json_object_new_string("local"));
	const char *text = cj_to_string(rec, true);
	int r = 0;
	if (mkdir(data, 0755) < 0)
		r = cell_error_errno(err, errno, "create `%s`", data);
	else
		r = write_file_atomic(rec_path, text, strlen(text), 0644, err);
	if (r == 0 && rename(tmpl, dir) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			/* another create of the same name won: use theirs */
			rm_rf(tmpl, &x);
			cell_error_free(&x);
			json_object_put(rec);
			if (cell_volume_get(e, name, &rec, err) < 0)
				return cell_error_wrap(err, "create volume `%s`", name);
			if (ret_created)
				*ret_created = false;
			goto done;
		}
		r = cell_error_errno(err, errno, "rename `%s` to `%s`", tmpl, dir);
	}
	if (r < 0) {
		rm_rf(tmpl, &x);
		cell_error_free(&x);
		json_object_put(rec);
		return cell_error_wrap(err, "create volume `%s`", name);
	}
	if (ret_created)
		*ret_created = true;
	json_object *va = json_object_new_object();
	json_object_object_add(va, "driver", json_object_new_string("local"));
	cell_event(e, "volume", "create", name, va);
done:
	if (ret_rec)
		*ret_rec = rec;
	else
		json_object_put(rec);
	return 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cell_volume_list(struct cell_engine *e, char ***ret, cell_error **err)
{
	_cleanup_free_ char *root = vol_root(e);
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT) {
			*ret = v;
			return 0;
		}
		free(v);
		return cell_error_errno(err, errno, "list volumes in `%s`", root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !cell_volume_name_valid(de->d_name))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s/volume.json", root, de->d_name);
		if (access(p, F_OK) < 0)
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), by_str);
	*ret = v;
	return 0;
}

static bool ctr_uses(json_object *rec, const char *name)
{
	json_object *mounts = json_object_object_get(rec, "Mounts");
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *type = json_object_get_string(json_object_object_get(m, "Type"));
		const char *n = json_object_get_string(json_object_object_get(m, "Name"));
		if (type && n && streq(type, "volume") && streq(n, name))
			return true;
	}
	return false;
}

int cell_volume_users(struct cell_engine *e, const char *name, char ***ret, cell_error **err)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	DIR *d = opendir(e->ctr_root);
	if (!d) {
		free(v);
		return cell_error_errno(err, errno, "list containers in `%s`", e->ctr_root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (engine_record_read(e, de->d_name, &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		if (ctr_uses(rec, name)) {
			v = realloc(v, (n + 2) * sizeof(char *));
			v[n++] = xstrdup(de->d_name);
			v[n] = NULL;
		}
		json_object_put(rec);
	}
	closedir(d);
	*ret = v;
	return 0;
}

/* Under the exclusive lock. */
static int remove_locked(struct cell_engine *e, const char *name, bool force, cell_error **err)
{
	json_object *rec = NULL;
	if (cell_volume_get(e, name, &rec, err) < 0) {
		if (force && cell_error_code(*err) == ENOENT) {
			cell_error_free(err);
			return 0;
		}
		return -1;
	}
	json_object_put(rec);
	_cleanup_strv_ char **users = NULL;
	if (cell_volume_users(e, name, &users, err) < 0)
		return cell_error_wrap(err, "remove volume `%s`", name);
	if (users[0])
		return cell_error_set(err, "remove volume `%s`: volume is in use by container `%.12s`%s "
				      "(remove the container first)", name, users[0], users[1] ? " and others" : ""),
		       -EBUSY;
	_cleanup_free_ char *dir = vol_dir(e, name);
	_cleanup_free_ char *cfg = xasprintf("%s/volume.json", dir);
	/* the record first: a half-removed volume is then no volume */
	unlink(cfg);
	if (rm_rf(dir, err) < 0)
		return cell_error_wrap(err, "remove volume `%s`", name);
	return 0;
}

int cell_volume_remove(struct cell_engine *e, const char *name, bool force, cell_error **err)
{
	_cleanup_close_ int lock = vol_lock(e, true, err);
	if (lock < 0)
		return -1;
	if (remove_locked(e, name, force, err) < 0)
		return -1;
	json_object *va = json_object_new_object();
	json_object_object_add(va, "driver", json_object_new_string("local"));
	cell_event(e, "volume", "destroy", name, va);
	return 0;
}

static uint64_t dir_size_at(int dfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	if (depth > 256)
		return 0;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	uint64_t sum = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			sum += dir_size_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return sum;
}

uint64_t cell_volume_size(struct cell_engine *e, const char *name)
{
	_cleanup_free_ char *data = xasprintf("%s/volumes/%s/_data", e->root, name);
	return dir_size_at(AT_FDCWD, data, 0);
}

uint64_t cell_dir_size(const char *path)
{
	return dir_size_at(AT_FDCWD, path, 0);
}

bool cell_volume_has_label(json_object *rec, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
	json_object *v = NULL;
	if (!json_object_object_get_ex(json_object_object_get(rec, "Labels"), k, &v))
		return false;
	return !eq || streq(json_object_get_string(v), eq + 1);
}

int cell_volume_prune(struct cell_engine *e, bool all, char **labels, char ***ret_names, uint64_t *ret_bytes,
		      cell_error **err)
{
	_cleanup_close_ int lock = vol_lock(e, true, err);
	if (lock < 0)
		return -1;
	_cleanup_strv_ char **names = NULL;
	if (cell_volume_list(e, &names, err) < 0)
		return -1;
	char **gone = xcalloc(1, sizeof(char *));
	size_t n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; names[i]; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_volume_get(e, names[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		bool want = all || cell_volume_is_anonymous(rec);
		for (char **it = labels; it && *it && want; it++)
			want = cell_volume_has_label(rec, *it);
		json_object_put(rec);
		if (!want)
			continue;
		uint64_t size = cell_volume_size(e, names[i]);
		if (remove_locked(e, names[i], false, &x) < 0) {
			/* in use: kept, that is the point of prune */
			cell_error_free(&x);
			continue;
		}
		bytes += size;
		gone = realloc(gone, (n + 2) * sizeof(char *));
		gone[n++] = xstrdup(names[i]);
		gone[n] = NULL;
	}
	*ret_names = gone;
	if (ret_bytes)
		*ret_bytes = bytes;
	return 0;
}

char **cell_volume_anonymous_of(struct cell_engine *e, json_object *ctr_rec)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	json_object *mounts = json_object_object_get(ctr_rec, "Mounts");
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *type = json_object_get_string(json_object_object_get(m, "Type"));
		const char *name = json_object_get_string(json_object_object_get(m, "Name"));
		if (!type || !name || !streq(type, "volume"))
			continue;
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_volume_get(e, name, &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		bool anon = cell_volume_is_anonymous(rec);
		json_object_put(rec);
		if (!anon)
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(name);
		v[n] = NULL;
	}
	return v;
}

void engine_volumes_release_anonymous(struct cell_engine *e, json_object *ctr_rec)
{
	_cleanup_strv_ char **names = cell_volume_anonymous_of(e, ctr_rec);
	for (size_t i = 0; names[i]; i++) {
		cell_error *x = NULL;
		if (cell_volume_remove(e, names[i], true, &x) < 0)
			cell_error_free(&x);	/* used by another container: it stays */
	}
}

/* ---- populating a new volume from the image ---- */

static int copy_meta(int fd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0)
		return -1;
	futimens(fd, ts);
	return 0;
}

static int copy_file(int sfd, int ddir, const char *name, const struct stat *st, cell_error **err)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return cell_error_errno(err, errno, "open `%s`", name);
	_cleanup_close_ int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return cell_error_errno(err, errno, "create `%s`", name);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0)
			return cell_error_errno(err, errno, "read `%s`", name);
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				return cell_error_errno(err, errno, "write `%s`", name);
			off += w;
		}
	}
	if (copy_meta(out, st) < 0)
		return cell_error_errno(err, errno, "set owner and mode of `%s`", name);
	return 0;
}

static int copy_tree(int sdir, int ddir, int depth, cell_error **err);

static int copy_entry(int sdir, int ddir, const char *name, int depth, cell_error **err)
{
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "stat `%s`", name);
	if (S_ISREG(st.st_mode))
		return copy_file(sdir, ddir, name, &st, err);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(ddir, name, 0700) < 0)
			return cell_error_errno(err, errno, "create `%s`", name);
		_cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return cell_error_errno(err, errno, "open `%s`", name);
		if (copy_tree(s, d, depth + 1, err) < 0)
			return cell_error_wrap(err, "%s", name);
		if (copy_meta(d, &st) < 0)
			return cell_error_errno(err, errno, "set owner and mode of `%s`", name);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return cell_error_errno(err, errno, "read link `%s`", name);
		target[n] = 0;
		if (symlinkat(target, ddir, name) < 0)
			return cell_error_errno(err, errno, "create link `%s`", name);
		fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	/* devices, fifos, sockets: as they are */
	if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0)
		return cell_error_errno(err, errno, "create `%s`", name);
	fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_tree(int sdir, int ddir, int depth, cell_error **err)
{
	if (depth > 256)
		return cell_error_set(err, "directories nested deeper than 256 levels");
	int fd = dup(sdir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		safe_close(fd);
		return cell_error_errno(err, errno, "read a directory");
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((r = copy_entry(sdir, ddir, de->d_name, depth, err)) < 0)
			break;
	}
	closedir(d);
	return r;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

/* Docker copies what the image has at the mount point into an empty volume,
 * keeping owners and modes, the mount point's own included. The source is
 * opened inside the rootfs (RESOLVE_IN_ROOT): an image's symlink cannot
 * point the copy at the host. */
static int populate(const char *rootfs, const char *dst, const char *data, cell_error **err)
{
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return cell_error_errno(err, errno, "open `%s`", rootfs);
	_cleanup_close_ int src = cell_openat2(root, dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
					      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (src < 0)
		return 0;	/* nothing there in the image (or not a directory): nothing to copy */
	_cleanup_close_ int dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_error_errno(err, errno, "open `%s`", data);
	if (copy_tree(src, dfd, 0, err) < 0)
		return cell_error_wrap(err, "copy the image's `%s` into the volume", dst);
	struct stat st;
	if (fstat(src, &st) == 0)
		copy_meta(dfd, &st);
	return 0;
}

/* ---- resolving a container's volume mounts ---- */

static char *clean_path(const char *p)
{
	/* "/a//b/" → "/a/b" for comparing mount points */
	char *s = xstrdup(p);
	char *w = s;
	for (const char *r = p; *r; r++) {
		if (*r == '/' && w > s && w[-1] == '/')
			continue;
		*w++ = *r;
	}
	*w = 0;
	while (w - s > 1 && w[-1] == '/')
		*--w = 0;
	return s;
}

static bool has_destination(json_object *mounts, const char *dst)
{
	_cleanup_free_ char *want = clean_path(dst);
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		const char *d = json_object_get_string(json_object_object_get(json_object_array_get_idx(mounts, i),
									      "destination"));
		if (!d)
			continue;
		_cleanup_free_ char *have = clean_path(d);
		if (streq(have, want))
			return true;
	}
	return false;
}

static void strv_add(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = realloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

/* One "volume" mount of the spec into a bind of the volume's _data. */
static int resolve_one(struct cell_engine *e, json_object *m, const char *rootfs, json_object *entries,
		       char ***created, cell_error **err)
{
	const char *src = json_object_get_string(json_object_object_get(m, "source"));
	const char *dst = json_object_get_string(json_object_object_get(m, "destination"));
	json_object *opts = json_object_object_get(m, "options");
	bool anon = !src || !*src, nocopy = false, rw = true;
	json_object *kept = json_object_new_array();
	for (size_t j = 0; opts && j < json_object_array_length(opts); j++) {
		const char *o = json_object_get_string(json_object_array_get_idx(opts, j));
		if (streq(o, "nocopy")) {
			nocopy = true;
			continue;
		}
		if (streq(o, "ro"))
			rw = false;
		json_object_array_add(kept, json_object_new_string(o));
	}
	json_object *rec = NULL;
	bool made = false;
	if (cell_volume_create(e, anon ? NULL : src, NULL, anon, &rec, &made, err) < 0) {
		json_object_put(kept);
		return -1;
	}
	const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
	const char *data = json_object_get_string(json_object_object_get(rec, "Mountpoint"));
	if (made)
		strv_add(created, name);
	if (!nocopy && dir_empty(data) && populate(rootfs, dst, data, err) < 0) {
		json_object_put(kept);
		json_object_put(rec);
		return cell_error_wrap(err, "volume `%s`", name);
	}
	json_object_object_add(m, "type", json_object_new_string("bind"));
	json_object_object_add(m, "source", json_object_new_string(data));
	json_object_object_add(m, "options", kept);

	json_object *d = json_object_new_object();
	json_object_object_add(d, "Type", json_object_new_string("volume"));
	json_object_object_add(d, "Name", json_object_new_string(name));
	json_object_object_add(d, "Source", json_object_new_string(data));
	json_object_object_add(d, "Destination", json_object_new_string(dst));
	json_object_object_add(d, "Driver", json_object_new_string("local"));
	json_object_object_add(d, "Mode", json_object_new_string(rw ? "z" : "ro"));
	json_object_object_add(d, "RW", json_object_new_boolean(rw));
	json_object_object_add(d, "Propagation", json_object_new_string(""));
	json_object_array_add(entries, d);
	json_object_put(rec);
	return 0;
}

static size_t depth(json_object *m)
{
	_cleanup_free_ char *d = clean_path(json_object_get_string(json_object_object_get(m, "destination")));
	size_t n = 0;
	for (const char *p = d; *p; p++)
		n += *p == '/';
	return n;
}

/* Docker mounts parents before children whatever the order of the flags
 * (`-v a:/x/y -v b:/x` would hide a otherwise; an image volume /srv comes
 * last but must go under a flag's /srv/app). The defaults (proc, dev, ...,
 * the /etc files: create.c's first ten) keep their place. */
#define DEFAULT_MOUNTS 10
static void sort_by_depth(json_object *mounts)
{
	size_t n = json_object_array_length(mounts);
	for (size_t i = DEFAULT_MOUNTS + 1; i < n; i++) {
		/* insertion sort: stable, and n is small */
		for (size_t j = i; j > DEFAULT_MOUNTS; j--) {
			json_object *a = json_object_array_get_idx(mounts, j - 1);
			json_object *b = json_object_array_get_idx(mounts, j);
			if (depth(a) <= depth(b))
				break;
			json_object_get(a);
			json_object_get(b);
			json_object_array_put_idx(mounts, j - 1, b);
			json_object_array_put_idx(mounts, j, a);
		}
	}
}

int engine_volumes_resolve(struct cell_engine *e, json_object *doc, const char *rootfs, char **image_volumes,
			   json_object **ret_mounts, char ***ret_created, int *ret_lock, cell_error **err)
{
	json_object *mounts = json_object_object_get(doc, "mounts");
	json_object *entries = json_object_new_array();
	char **created = xcalloc(1, sizeof(char *));
	int lock = -1;
	/* the image's Volumes not covered by a flag become anonymous volumes */
	for (size_t i = 0; image_volumes && image_volumes[i]; i++) {
		if (image_volumes[i][0] != '/' || has_destination(mounts, image_volumes[i]))
			continue;
		_cleanup_free_ char *dst = clean_path(image_volumes[i]);
		static const char *const o[] = { "rbind", "rw", "rprivate" };
		json_object *m = json_object_new_object();
		json_object_object_add(m, "destination", json_object_new_string(dst));
		json_object_object_add(m, "type", json_object_new_string("volume"));
		json_object_object_add(m, "source", json_object_new_string(""));
		json_object *opts = json_object_new_array();
		for (size_t j = 0; j < ARRAY_SIZE(o); j++)
			json_object_array_add(opts, json_object_new_string(o[j]));
		json_object_object_add(m, "options", opts);
		json_object_array_add(mounts, m);
	}
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *type = json_object_get_string(json_object_object_get(m, "type"));
		if (!type || !streq(type, "volume"))
			continue;
		if (lock < 0 && (lock = vol_lock(e, false, err)) < 0)
			goto fail;
		if (resolve_one(e, m, rootfs, entries, &created, err) < 0)
			goto fail;
	}
	sort_by_depth(mounts);
	*ret_mounts = entries;
	*ret_created = created;
	*ret_lock = lock;
	return 0;
fail:
	json_object_put(entries);
	engine_volumes_undo(e, created);
	strv_free(created);
	safe_close(lock);
	return -1;
}

void engine_volumes_undo(struct cell_engine *e, char **created)
{
	for (size_t i = 0; created && created[i]; i++) {
		_cleanup_free_ char *dir = vol_dir(e, created[i]);
		_cleanup_free_ char *cfg = xasprintf("%s/volume.json", dir);
		cell_error *x = NULL;
		unlink(cfg);
		if (rm_rf(dir, &x) < 0)
			cell_error_free(&x);
	}
}

void engine_volumes_record(json_object *rec, json_object *vols)
{
	json_object *mounts = json_object_object_get(rec, "Mounts");
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *src = json_object_get_string(json_object_object_get(m, "Source"));
		const char *dst = json_object_get_string(json_object_object_get(m, "Destination"));
		for (size_t j = 0; vols && j < json_object_array_length(vols); j++) {
			json_object *v = json_object_array_get_idx(vols, j);
			if (src && dst && streq(src, json_object_get_string(json_object_object_get(v, "Source"))) &&
			    streq(dst, json_object_get_string(json_object_object_get(v, "Destination")))) {
				json_object_array_put_idx(mounts, i, json_object_get(v));
				break;
			}
		}
	}
}
