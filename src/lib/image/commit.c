/* `cell commit`: a container's overlay upper dir becomes a new layer on top
 * of its image.
 *
 * The upper dir speaks overlayfs; a layer speaks OCI. On the way out:
 *   0/0 character device NAME          → empty file .wh.NAME
 *   dir with trusted.overlay.opaque=y  → the dir, then DIR/.wh..wh..opq
 *   trusted.overlay.* xattrs            → dropped (overlay's bookkeeping)
 * Hard links inside the upper dir stay hard links. A container in a user
 * namespace of its own wrote host ids (its mappings' hostID + id): the layer
 * gets its container ids back, so that the image is the same as one committed
 * from a container without remapping. The tar is written to the
 * store uncompressed while hashed (its digest is both blob and diff id), then
 * unpacked into layers/<chain> by the same guarded unpacker as any layer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dl-archive.h"
#include "image-internal.h"
#include "json.h"
#include "util.h"

struct committer {
	struct archive *a;
	struct cell_blob_writer *w;
	cell_error *werr;
	json_object *links;	/* "dev:ino" → first path, for hard links */
	const struct cell_id_shift *ids;	/* NULL: ids as on disk */
	char buf[1 << 16];
};

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
	struct committer *c = data;
	if (cell_blob_writer_write(c->w, buf, len, &c->werr) < 0) {
		archive_set_error(a, EIO, "%s", c->werr->msg);
		return -1;
	}
	return (la_ssize_t)len;
}

static void add_xattrs(struct archive_entry *e, int dfd, const char *name)
{
	char p[64 + 4096], list[8192];
	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dfd, name);
	ssize_t n = llistxattr(p, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *k = list + off;
		char val[65536];
		if (strncmp(k, "trusted.overlay.", 16) == 0)
			continue;
		ssize_t vl = lgetxattr(p, k, val, sizeof(val));
		if (vl >= 0)
			archive_entry_xattr_add_entry(e, k, val, (size_t)vl);
	}
}

static int write_header(struct committer *c, struct archive_entry *e, const char *path, cell_error **err)
{
	if (archive_write_header(c->a, e) != ARCHIVE_OK)
		return cell_error_set(err, "add `%s` to the layer: %s", path, archive_error_string(c->a));
	return 0;
}

static int add_whiteout(struct committer *c, const char *dir, const char *name, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s%s.wh.%s", dir, *dir ? "/" : "", name);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, p);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	int r = write_header(c, e, p, err);
	archive_entry_free(e);
	return r;
}

static int walk(struct committer *c, int dfd, const char *rel, cell_error **err);

static int add_one(struct committer *c, int dfd, const char *rel, const char *name, cell_error **err)
{
	struct stat st;
	_cleanup_free_ char *path = xasprintf("%s%s%s", rel, *rel ? "/" : "", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cell_error_errno(err, errno, "stat `%s`", path);
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		return add_whiteout(c, rel, name, err);

	if (c->ids) {
		uint32_t u = cell_id_to_ctr(c->ids, false, st.st_uid), g = cell_id_to_ctr(c->ids, true, st.st_gid);
		if (u == UINT32_MAX || g == UINT32_MAX)
			return cell_error_set(err, "`%s` is owned by host %s %u, outside the container's user namespace "
					      "(its ids are not mapped to any id in the container): chown it into the "
					      "range or remove it", path, u == UINT32_MAX ? "uid" : "gid",
					      u == UINT32_MAX ? (unsigned)st.st_uid : (unsigned)st.st_gid);
		st.st_uid = u;
		st.st_gid = g;
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_stat(e, &st);
	archive_entry_set_pathname(e, path);
	archive_entry_set_uname(e, "");
	archive_entry_set_gname(e, "");
	add_xattrs(e, dfd, name);
	int r = 0;
	_cleanup_close_ int fd = -1;
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			archive_entry_free(e);
			return cell_error_errno(err, errno, "readlink `%s`", path);
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		_cleanup_free_ char *key = xasprintf("%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
		json_object *first;
		if (json_object_object_get_ex(c->links, key, &first)) {
			archive_entry_set_hardlink(e, json_object_get_string(first));
			archive_entry_set_size(e, 0);
		} else {
			json_object_object_add(c->links, key, json_object_new_string(path));
		}
	}
	if (S_ISREG(st.st_mode) && !archive_entry_hardlink(e)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			r = cell_error_errno(err, errno, "open `%s`", path);
	}
	if (r == 0)
		r = write_header(c, e, path, err);
	archive_entry_free(e);
	while (r == 0 && fd >= 0) {
		ssize_t n = read(fd, c->buf, sizeof(c->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = cell_error_errno(err, errno, "read `%s`", path);
		else if (n == 0)
			break;
		else if (archive_write_data(c->a, c->buf, (size_t)n) != n)
			r = cell_error_set(err, "add `%s` to the layer: %s", path, archive_error_string(c->a));
	}
	if (r == 0 && S_ISDIR(st.st_mode)) {
		char v[4];
		char p[64 + 4096];
		snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dfd, name);
		ssize_t n = lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v));
		if (n == 1 && v[0] == 'y')
			r = add_whiteout(c, path, ".wh..opq", err);
		if (r == 0) {
			_cleanup_close_ int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? cell_error_errno(err, errno, "open `%s`", path) : walk(c, sub, path, err);
		}
	}
	return r;
}

/* Entries of one dir, sorted so that the layer is reproducible. */
static int walk(struct committer *c, int dfd, const char *rel, cell_error **err)
{
	struct dirent **names = NULL;
	_cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", dfd);
	int n = scandir(self, &names, NULL, alphasort);
	int r = 0;
	if (n < 0)
		return cell_error_errno(err, errno, "read directory `%s`", *rel ? rel : ".");
	for (int i = 0; i < n; i++) {
		if (r == 0 && !streq(names[i]->d_name, ".") && !streq(names[i]->d_name, ".."))
			r = add_one(c, dfd, rel, names[i]->d_name, err);
		free(names[i]);
	}
	free(names);
	return r;
}

/* The upper dir as a tar blob in the store. */
static int diff_to_blob(struct cell_store *s, const char *upper, const struct cell_id_shift *ids,
			struct store_layer *l, cell_error **err)
{
	struct committer c = { .links = json_object_new_object(), .ids = ids && (ids->n_uid || ids->n_gid) ? ids : NULL };
	_cleanup_close_ int dfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = -1;

	if (dfd < 0) {
		json_object_put(c.links);
		return cell_error_errno(err, errno, "open upper dir `%s`", upper);
	}
	c.w = cell_blob_writer_new(s, err);
	if (!c.w) {
		json_object_put(c.links);
		return -1;
	}
	c.a = archive_write_new();
	archive_write_set_format_pax_restricted(c.a);
	archive_write_set_bytes_in_last_block(c.a, 1);
	if (archive_write_open(c.a, &c, NULL, tar_write, NULL) != ARCHIVE_OK) {
		cell_error_set(err, "start layer tar: %s", archive_error_string(c.a));
		goto out;
	}
	r = walk(&c, dfd, "", err);
	if (archive_write_close(c.a) != ARCHIVE_OK && r == 0)
		r = cell_error_set(err, "finish layer tar: %s", c.werr ? c.werr->msg : archive_error_string(c.a));
	if (r == 0)
		r = cell_blob_writer_commit(c.w, NULL, l->blob, &l->blob_size, err);
	if (r == 0) {
		memcpy(l->diff_id, l->blob, sizeof(l->blob));
		snprintf(l->media_type, sizeof(l->media_type), "application/vnd.oci.image.layer.v1.tar");
	}
out:
	archive_write_free(c.a);
	cell_blob_writer_free(c.w);
	cell_error_free(&c.werr);
	json_object_put(c.links);
	return r;
}

/* The base image's config with the new layer, history entry and changes. */
static char *new_config(const struct cell_image *base, const struct store_layer *l,
			const struct cell_commit_opts *o, cell_error **err)
{
	char now[64];
	json_object *cfg = NULL, *rootfs = NULL, *ids = NULL, *hist = NULL, *inner = NULL;
	_cleanup_error_ cell_error *e = NULL;

	rfc3339_now(now, sizeof(now));
	if (json_object_deep_copy(base->config_json, &cfg, NULL) < 0) {
		cell_error_set(err, "copy the image config");
		return NULL;
	}
	if (cj_object(cfg, "rootfs", "config", &rootfs, &e) <= 0) {
		rootfs = json_object_new_object();
		json_object_object_add(rootfs, "type", json_object_new_string("layers"));
		json_object_object_add(cfg, "rootfs", rootfs);
	}
	if (cj_array(rootfs, "diff_ids", "config.rootfs", &ids, &e) <= 0) {
		ids = json_object_new_array();
		json_object_object_add(rootfs, "diff_ids", ids);
	}
	json_object_array_add(ids, json_object_new_string(l->diff_id));
	if (cj_array(cfg, "history", "config", &hist, &e) <= 0) {
		hist = json_object_new_array();
		json_object_object_add(cfg, "history", hist);
	}
	json_object *h = json_object_new_object();
	json_object_object_add(h, "created", json_object_new_string(now));
	json_object_object_add(h, "created_by", json_object_new_string(o && o->created_by ? o->created_by : "cell commit"));
	if (o && o->author)
		json_object_object_add(h, "author", json_object_new_string(o->author));
	if (o && o->message)
		json_object_object_add(h, "comment", json_object_new_string(o->message));
	json_object_array_add(hist, h);
	json_object_object_add(cfg, "created", json_object_new_string(now));
	if (o && o->author)
		json_object_object_add(cfg, "author", json_object_new_string(o->author));
	if (cj_object(cfg, "config", "config", &inner, &e) <= 0) {
		inner = json_object_new_object();
		json_object_object_add(cfg, "config", inner);
	}
	for (size_t i = 0; o && o->changes && o->changes[i]; i++)
		if (cell_image_config_change(inner, o->changes[i], err) < 0) {
			json_object_put(cfg);
			return NULL;
		}
	char *text = xstrdup(cj_to_string(cfg, false));
	json_object_put(cfg);
	return text;
}

/* The base image's layers as descriptors from its manifest. */
static int base_layers(struct cell_store *s, const struct cell_image *base, struct store_layer *ls, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	json_object *m = NULL, *layers = NULL;
	int r = 0;
	if (cell_blob_read(s, base->manifest_digest, &text, NULL, err) < 0 ||
	    cj_parse_string(base->manifest_digest, text, &m, err) < 0 ||
	    cj_array(m, "layers", "manifest", &layers, err) < 0) {
		json_object_put(m);
		return -1;
	}
	for (size_t i = 0; i < base->n_layers; i++) {
		json_object *d = layers ? json_object_array_get_idx(layers, i) : NULL;
		const char *dg = NULL, *mt = NULL;
		int64_t size = 0;
		if (!d || cj_string(d, "digest", "manifest.layers[]", &dg, err) <= 0 || !cell_digest_valid(dg)) {
			r = *err ? -1 : cell_error_set(err, "manifest `%s`: layer %zu without a digest", base->manifest_digest, i);
			break;
		}
		_cleanup_error_ cell_error *e = NULL;
		cj_string(d, "mediaType", "manifest.layers[]", &mt, &e);
		cj_int64(d, "size", "manifest.layers[]", &size, &e);
		snprintf(ls[i].blob, sizeof(ls[i].blob), "%s", dg);
		snprintf(ls[i].media_type, sizeof(ls[i].media_type), "%s", mt ? mt : "application/vnd.oci.image.layer.v1.tar");
		ls[i].blob_size = (uint64_t)size;
		ls[i].size = base->layer_sizes ? base->layer_sizes[i] : 0;
	}
	json_object_put(m);
	return r;
}

int cell_image_commit(struct cell_store *s, const char *base_ref, const char *upper_dir,
		      const struct cell_commit_opts *opts, char **ret_id, cell_error **err)
{
	struct cell_image *base = NULL;
	struct store_layer *ls = NULL;
	_cleanup_free_ char *config = NULL;
	char id[CELL_DIGEST_LEN + 1];
	int r = -1;

	if (cell_dl_archive(err) < 0 || cell_image_resolve(s, base_ref, &base, err) < 0)
		return cell_error_wrap(err, "commit `%s`", upper_dir);
	if (store_use(s, false, err) < 0)
		goto out;
	ls = xcalloc(base->n_layers + 2, sizeof(*ls));
	if (base_layers(s, base, ls, err) < 0 || diff_to_blob(s, upper_dir, opts ? opts->ids : NULL, &ls[base->n_layers], err) < 0)
		goto unlock;
	config = new_config(base, &ls[base->n_layers], opts, err);
	if (!config)
		goto unlock;
	r = store_commit_image(s, config, strlen(config), NULL, ls, base->n_layers + 1, opts ? opts->name : NULL, id, err);
unlock:
	if (r < 0) {
		store_gc_failed(s);
	}
	store_unuse(s);
out:
	free(ls);
	cell_image_free(base);
	if (r < 0)
		return cell_error_wrap(err, "commit `%s`", upper_dir);
	if (ret_id)
		*ret_id = xstrdup(id);
	return 0;
}

/* ---- a container's id mappings ---- */

static int read_ranges(json_object *o, const char *key, const char *path, struct cell_id_range *m, size_t *ret_n,
		       cell_error **err)
{
	json_object *a = NULL;
	_cleanup_free_ char *ctx = xasprintf("%s: %s", path, key);
	if (cj_array(o, key, path, &a, err) < 0)
		return -1;
	size_t n = a ? json_object_array_length(a) : 0;
	if (n > 8)
		return cell_error_set(err, "`%s`: at most 8 mappings expected, found %zu", ctx, n);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		uint64_t c = 0, h = 0, sz = 0;
		if (cj_expect_object(e, ctx, err) < 0 || cj_uint64(e, "containerID", ctx, &c, err) < 0 ||
		    cj_uint64(e, "hostID", ctx, &h, err) < 0 || cj_uint64(e, "size", ctx, &sz, err) < 0)
			return -1;
		if (c > UINT32_MAX || h > UINT32_MAX || !sz || c + sz > UINT32_MAX || h + sz > UINT32_MAX)
			return cell_error_set(err, "`%s[%zu]`: ids out of range", ctx, i);
		m[i] = (struct cell_id_range){ (uint32_t)c, (uint32_t)h, (uint32_t)sz };
	}
	*ret_n = n;
	return 0;
}

int cell_id_shift_read(const char *container_dir, struct cell_id_shift *ret, cell_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/idmap.json", container_dir);
	memset(ret, 0, sizeof(*ret));
	if (access(path, F_OK) < 0)
		return 0;
	json_object *o = NULL;
	if (cj_parse_file(path, &o, err) < 0)
		return -1;
	int r = read_ranges(o, "uidMappings", path, ret->uid, &ret->n_uid, err) < 0 ||
		read_ranges(o, "gidMappings", path, ret->gid, &ret->n_gid, err) < 0 ? -1 : 0;
	json_object_put(o);
	return r;
}

uint32_t cell_id_to_ctr(const struct cell_id_shift *s, bool gid, uint32_t host_id)
{
	const struct cell_id_range *m = gid ? s->gid : s->uid;
	size_t n = gid ? s->n_gid : s->n_uid;
	if (!s->n_uid && !s->n_gid)
		return host_id;
	for (size_t i = 0; i < n; i++)
		if (host_id >= m[i].host && host_id - m[i].host < m[i].size)
			return m[i].ctr + (host_id - m[i].host);
	return UINT32_MAX;
}

uint32_t cell_id_to_host(const struct cell_id_shift *s, bool gid, uint32_t ctr_id)
{
	const struct cell_id_range *m = gid ? s->gid : s->uid;
	size_t n = gid ? s->n_gid : s->n_uid;
	if (!s->n_uid && !s->n_gid)
		return ctr_id;
	for (size_t i = 0; i < n; i++)
		if (ctr_id >= m[i].ctr && ctr_id - m[i].ctr < m[i].size)
			return m[i].host + (ctr_id - m[i].ctr);
	return UINT32_MAX;
}
