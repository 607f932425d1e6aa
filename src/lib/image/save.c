/* `cell image save`: images out of the store as an OCI archive (an OCI image
 * layout in a tar, what skopeo, podman and `ctr image import` read) or a
 * docker-archive (what `docker load` and `podman load` read). The file is
 * written beside its final name and renamed at the end, so a failed save
 * leaves nothing behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl-archive.h"
#include "image-internal.h"
#include "json.h"
#include "util.h"

struct saver {
	struct cell_store *s;
	struct archive *a;
	json_object *written;	/* paths already in the archive */
	char buf[1 << 16];
};

static int add_dir(struct saver *sv, const char *path, cell_error **err)
{
	if (json_object_object_get_ex(sv->written, path, NULL))
		return 0;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	int r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return cell_error_set(err, "write `%s`: %s", path, archive_error_string(sv->a));
	json_object_object_add(sv->written, path, NULL);
	return 0;
}

static int add_data(struct saver *sv, const char *path, const void *data, size_t len, cell_error **err)
{
	if (json_object_object_get_ex(sv->written, path, NULL))
		return 0;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	int r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK || (len && archive_write_data(sv->a, data, len) != (la_ssize_t)len))
		return cell_error_set(err, "write `%s`: %s", path, archive_error_string(sv->a));
	json_object_object_add(sv->written, path, NULL);
	return 0;
}

static int add_file(struct saver *sv, const char *path, const char *src, cell_error **err)
{
	if (json_object_object_get_ex(sv->written, path, NULL))
		return 0;
	_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return cell_error_errno(err, errno, "open `%s`", src);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	int r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return cell_error_set(err, "write `%s`: %s", path, archive_error_string(sv->a));
	for (;;) {
		ssize_t n = read(fd, sv->buf, sizeof(sv->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cell_error_errno(err, errno, "read `%s`", src);
		if (n == 0)
			break;
		if (archive_write_data(sv->a, sv->buf, (size_t)n) != n)
			return cell_error_set(err, "write `%s`: %s", path, archive_error_string(sv->a));
	}
	json_object_object_add(sv->written, path, NULL);
	return 0;
}

/* The image's manifest, parsed. */
static int load_manifest(struct saver *sv, const struct cell_image *img, char **text, size_t *len,
			 json_object **ret, cell_error **err)
{
	if (cell_blob_read(sv->s, img->manifest_digest, text, len, err) < 0 ||
	    cj_parse_string(img->manifest_digest, *text, ret, err) < 0)
		return -1;
	json_object *layers = NULL;
	if (cj_array(*ret, "layers", "manifest", &layers, err) < 0)
		return -1;
	if ((layers ? json_object_array_length(layers) : 0) != img->n_layers)
		return cell_error_set(err, "manifest `%s` lists %zu layers, the record %zu", img->manifest_digest,
				      layers ? json_object_array_length(layers) : 0, img->n_layers);
	return 0;
}

static int save_oci_blobs(struct saver *sv, const struct cell_image *img, json_object *m, const char *mtext,
			  size_t mlen, cell_error **err)
{
	_cleanup_free_ char *cfg = cell_blob_path(sv->s, img->id);
	_cleanup_free_ char *cpath = xasprintf("blobs/sha256/%s", cell_digest_hex(img->id));
	_cleanup_free_ char *mpath = xasprintf("blobs/sha256/%s", cell_digest_hex(img->manifest_digest));
	json_object *layers = NULL;
	_cleanup_error_ cell_error *e = NULL;

	if (add_file(sv, cpath, cfg, err) < 0 || add_data(sv, mpath, mtext, mlen, err) < 0)
		return -1;
	cj_array(m, "layers", "manifest", &layers, &e);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *d = NULL;
		if (cj_string(json_object_array_get_idx(layers, i), "digest", "manifest.layers[]", &d, err) <= 0 ||
		    !cell_digest_valid(d))
			return cell_error_set(err, "manifest `%s`: layer %zu without a digest", img->manifest_digest, i);
		_cleanup_free_ char *src = cell_blob_path(sv->s, d);
		_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", cell_digest_hex(d));
		if (add_file(sv, path, src, err) < 0)
			return -1;
	}
	return 0;
}

static json_object *index_entry(const char *mt, const struct cell_image *img, size_t mlen, const char *name)
{
	json_object *d = json_object_new_object();
	json_object_object_add(d, "mediaType", json_object_new_string(mt));
	json_object_object_add(d, "digest", json_object_new_string(img->manifest_digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)mlen));
	if (name) {
		struct cell_ref r;
		_cleanup_error_ cell_error *e = NULL;
		json_object *ann = json_object_new_object();
		if (cell_ref_parse(name, &r, &e) == 0) {
			_cleanup_free_ char *full = xasprintf("%s/%s:%s", r.domain, r.path, r.tag ? r.tag : "latest");
			json_object_object_add(ann, "io.containerd.image.name", json_object_new_string(full));
			json_object_object_add(ann, "org.opencontainers.image.ref.name",
					       json_object_new_string(r.tag ? r.tag : "latest"));
			cell_ref_clear(&r);
		}
		json_object_object_add(d, "annotations", ann);
	}
	return d;
}

static int save_oci(struct saver *sv, struct cell_image **imgs, size_t n, cell_error **err)
{
	json_object *index = json_object_new_object(), *ms = json_object_new_array();
	int r = 0;

	json_object_object_add(index, "schemaVersion", json_object_new_int(2));
	json_object_object_add(index, "mediaType", json_object_new_string("application/vnd.oci.image.index.v1+json"));
	json_object_object_add(index, "manifests", ms);
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (add_data(sv, "oci-layout", layout, strlen(layout), err) < 0 || add_dir(sv, "blobs", err) < 0 ||
	    add_dir(sv, "blobs/sha256", err) < 0)
		r = -1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *mtext = NULL;
		json_object *m = NULL;
		size_t mlen = 0;
		const char *mt = NULL;
		_cleanup_error_ cell_error *e = NULL;
		r = load_manifest(sv, imgs[i], &mtext, &mlen, &m, err);
		if (r == 0)
			r = save_oci_blobs(sv, imgs[i], m, mtext, mlen, err);
		if (r == 0) {
			cj_string(m, "mediaType", "manifest", &mt, &e);
			mt = mt ? mt : "application/vnd.oci.image.manifest.v1+json";
			if (!imgs[i]->names[0])
				json_object_array_add(ms, index_entry(mt, imgs[i], mlen, NULL));
			for (size_t k = 0; imgs[i]->names[k]; k++)
				json_object_array_add(ms, index_entry(mt, imgs[i], mlen, imgs[i]->names[k]));
		}
		json_object_put(m);
	}
	if (r == 0) {
		const char *t = cj_to_string(index, false);
		r = add_data(sv, "index.json", t, strlen(t), err);
	}
	json_object_put(index);
	return r;
}

/* A layer as an uncompressed tar file (docker-archive wants tar). Returns the
 * path of the blob itself or of a decompressed temp copy (*tmp set). */
static char *plain_layer(struct saver *sv, const char *digest, const char *scratch, char **tmp, cell_error **err)
{
	char *blob = cell_blob_path(sv->s, digest);
	_cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cell_error_errno(err, errno, "open layer blob `%s`", blob);
		free(blob);
		return NULL;
	}
	if (strcmp(cell_layer_media_type(fd, false), "application/vnd.oci.image.layer.v1.tar") == 0)
		return blob;
	free(blob);
	*tmp = xasprintf("%s/%s.tar", scratch, cell_digest_hex(digest));
	_cleanup_close_ int out = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	la_ssize_t n = 0;
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (out < 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
		goto fail;
	while ((n = archive_read_data(a, sv->buf, sizeof(sv->buf))) > 0)
		if (write(out, sv->buf, (size_t)n) != n)
			goto fail;
	if (n < 0)
		goto fail;
	archive_read_free(a);
	return xstrdup(*tmp);
fail:
	cell_error_set(err, "decompress layer `%s`: %s", digest, out < 0 ? strerror(errno) : archive_error_string(a));
	archive_read_free(a);
	return NULL;
}

static int save_docker(struct saver *sv, struct cell_image **imgs, size_t n, const char *scratch, cell_error **err)
{
	json_object *manifest = json_object_new_array();
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct cell_image *img = imgs[i];
		json_object *ent = json_object_new_object(), *tags = json_object_new_array(), *ls = json_object_new_array();
		json_object *m = NULL, *layers = NULL, *rootfs = NULL, *diffs = NULL;
		_cleanup_free_ char *mtext = NULL;
		size_t mlen;
		_cleanup_free_ char *cname = xasprintf("%s.json", cell_digest_hex(img->id));
		_cleanup_free_ char *cfg = cell_blob_path(sv->s, img->id);
		_cleanup_error_ cell_error *e = NULL;

		json_object_object_add(ent, "Config", json_object_new_string(cname));
		json_object_object_add(ent, "RepoTags", tags);
		json_object_object_add(ent, "Layers", ls);
		json_object_array_add(manifest, ent);
		for (size_t k = 0; img->names[k]; k++)
			json_object_array_add(tags, json_object_new_string(img->names[k]));
		r = load_manifest(sv, img, &mtext, &mlen, &m, err);
		if (r == 0)
			r = add_file(sv, cname, cfg, err);
		cj_array(m, "layers", "manifest", &layers, &e);
		cj_object(img->config_json, "rootfs", "config", &rootfs, &e);
		if (rootfs)
			cj_array(rootfs, "diff_ids", "config.rootfs", &diffs, &e);
		if (r == 0 && (!diffs || json_object_array_length(diffs) != img->n_layers))
			r = cell_error_set(err, "image `%s`: config lists no diff id for every layer", img->id);
		for (size_t k = 0; r == 0 && k < img->n_layers; k++) {
			const char *d = NULL, *diff = json_object_get_string(json_object_array_get_idx(diffs, k));
			cj_string(json_object_array_get_idx(layers, k), "digest", "", &d, &e);
			_cleanup_free_ char *tmp = NULL;
			_cleanup_free_ char *src = d && cell_digest_valid(d) ? plain_layer(sv, d, scratch, &tmp, err) : NULL;
			if (!src) {
				if (!*err)
					cell_error_set(err, "manifest `%s`: layer %zu without a digest", img->manifest_digest, k);
				r = -1;
				break;
			}
			_cleanup_free_ char *dir = xasprintf("%s", cell_digest_valid(diff) ? cell_digest_hex(diff) : "x");
			_cleanup_free_ char *path = xasprintf("%s/layer.tar", dir);
			r = add_dir(sv, dir, err);
			if (r == 0)
				r = add_file(sv, path, src, err);
			if (tmp)
				unlink(tmp);
			json_object_array_add(ls, json_object_new_string(path));
		}
		json_object_put(m);
	}
	if (r == 0) {
		const char *t = cj_to_string(manifest, false);
		r = add_data(sv, "manifest.json", t, strlen(t), err);
	}
	json_object_put(manifest);
	return r;
}

/* As Docker: an image saved by name carries that name only, one saved by
 * id none. */
static void only_requested_name(struct cell_image *img, const char *ref)
{
	_cleanup_free_ char *key = store_name_key(ref);
	char *keep = NULL;
	for (size_t i = 0; key && img->names[i] && !keep; i++) {
		_cleanup_free_ char *k = store_name_key(img->names[i]);
		if (k && streq(k, key))
			keep = xstrdup(img->names[i]);
	}
	strv_free(img->names);
	img->names = xcalloc(2, sizeof(char *));
	img->names[0] = keep;
}

int cell_image_save(struct cell_store *s, char **refs, const char *out, enum cell_save_format fmt,
		    cell_error **err)
{
	size_t n = strv_len(refs);
	struct cell_image **imgs = xcalloc(n + 1, sizeof(*imgs));
	struct saver sv = { .s = s, .written = json_object_new_object() };
	bool to_stdout = streq(out, "-");
	_cleanup_free_ char *tmp = to_stdout ? NULL : xasprintf("%s.tmp-%d", out, (int)getpid());
	_cleanup_free_ char *scratch = NULL;
	int r = -1;

	if (cell_dl_archive(err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (cell_image_resolve(s, refs[i], &imgs[i], err) < 0)
			goto out;
		only_requested_name(imgs[i], refs[i]);
	}
	if (store_use(s, false, err) < 0)
		goto out;
	scratch = store_mkdtemp(s, err);
	if (!scratch)
		goto unlock;
	sv.a = archive_write_new();
	archive_write_set_format_pax_restricted(sv.a);
	if ((to_stdout ? archive_write_open_fd(sv.a, 1) : archive_write_open_filename(sv.a, tmp)) != ARCHIVE_OK) {
		cell_error_set(err, "create `%s`: %s", to_stdout ? "stdout" : tmp, archive_error_string(sv.a));
		goto unlock;
	}
	r = fmt == CELL_SAVE_OCI_ARCHIVE ? save_oci(&sv, imgs, n, err) : save_docker(&sv, imgs, n, scratch, err);
	if (archive_write_close(sv.a) != ARCHIVE_OK && r == 0)
		r = cell_error_set(err, "write `%s`: %s", out, archive_error_string(sv.a));
	if (r == 0 && tmp && rename(tmp, out) < 0)
		r = cell_error_errno(err, errno, "rename `%s` to `%s`", tmp, out);
unlock:
	if (scratch) {
		_cleanup_error_ cell_error *e = NULL;
		rm_rf(scratch, &e);
	}
	store_unuse(s);
out:
	if (r < 0 && tmp)
		unlink(tmp);
	if (sv.a)
		archive_write_free(sv.a);
	json_object_put(sv.written);
	for (size_t i = 0; i < n; i++)
		cell_image_free(imgs[i]);
	free(imgs);
	if (r < 0)
		cell_error_wrap(err, "save to `%s`", out);
	return r;
}
