/* The store's records: images.json under images.lock, layers kept while a
 * record names them, images kept while a container names them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "json.h"
#include "util.h"

int cell_store_open(const char *root, struct cell_store **ret, cell_error **err)
{
	static const char *dirs[] = { "", "/blobs/sha256", "/layers", "/tmp" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", root, dirs[i]);
		if (mkdir_p(p, 0700, err) < 0)
			return cell_error_wrap(err, "image store `%s`", root);
	}
	struct cell_store *s = xcalloc(1, sizeof(*s));
	s->root = realpath(root, NULL);	/* layer paths handed to the kernel are absolute */
	if (!s->root) {
		free(s);
		return cell_error_errno(err, errno, "image store `%s`", root);
	}
	s->lock_fd = -1;
	s->use_fd = -1;
	*ret = s;
	return 0;
}

void cell_store_free(struct cell_store *s)
{
	if (!s)
		return;
	safe_close(s->lock_fd);
	safe_close(s->use_fd);
	free(s->root);
	free(s);
}

const char *cell_store_root(const struct cell_store *s)
{
	return s->root;
}

int store_lock(struct cell_store *s, cell_error **err)
{
	if (s->lock_depth++ > 0)
		return 0;
	_cleanup_free_ char *p = xasprintf("%s/images.lock", s->root);
	s->lock_fd = lock_file(p, true, err);
	if (s->lock_fd < 0) {
		s->lock_depth = 0;
		return -1;
	}
	return 0;
}

void store_unlock(struct cell_store *s)
{
	if (s->lock_depth > 0 && --s->lock_depth == 0)
		s->lock_fd = safe_close(s->lock_fd);
}

/* Temp files of an operation killed -9 (a pull's blobs/sha256/.tmp-*, an
 * import's layers/.tmp-* and tmp/<dir>): called holding gc.lock exclusive,
 * so no live operation owns them. */
static void clean_stale(struct cell_store *s)
{
	static const char *dirs[] = { "layers", "blobs/sha256", "tmp" };
	for (size_t k = 0; k < ARRAY_SIZE(dirs); k++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", s->root, dirs[k]);
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
			    (k < 2 && strncmp(de->d_name, ".tmp-", 5) != 0))
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
			_cleanup_error_ cell_error *e = NULL;
			rm_rf(p, &e);
		}
		closedir(d);
	}
}

int store_use(struct cell_store *s, bool exclusive, cell_error **err)
{
	if (s->use_depth++ > 0)
		return 0;
	_cleanup_free_ char *p = xasprintf("%s/gc.lock", s->root);
	if (!exclusive) {
		/* alone in the store: what a killed operation left goes now, not
		 * at the next prune; then the shared lock as asked */
		int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			clean_stale(s);
			int r;
			while ((r = flock(fd, LOCK_SH)) < 0 && errno == EINTR)
				;
			if (r == 0) {
				s->use_fd = fd;
				return 0;
			}
		}
		safe_close(fd);
	}
	s->use_fd = lock_file(p, exclusive, err);
	if (s->use_fd < 0) {
		s->use_depth = 0;
		return -1;
	}
	return 0;
}

void store_unuse(struct cell_store *s)
{
	if (s->use_depth > 0 && --s->use_depth == 0)
		s->use_fd = safe_close(s->use_fd);
}

/* Readers take the lock shared unless they already hold it; *fd stays -1
 * then. */
static int lock_shared(struct cell_store *s, int *fd, cell_error **err)
{
	*fd = -1;
	if (s->lock_depth > 0)
		return 0;
	_cleanup_free_ char *p = xasprintf("%s/images.lock", s->root);
	*fd = lock_file(p, false, err);
	return *fd < 0 ? -1 : 0;
}

int store_index_load(struct cell_store *s, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/images.json", s->root);
	json_object *o = NULL, *imgs = NULL;

	if (access(p, F_OK) < 0 && errno == ENOENT) {
		o = json_object_new_object();
		json_object_object_add(o, "images", json_object_new_array());
		*ret = o;
		return 0;
	}
	if (cj_parse_file(p, &o, err) < 0)
		return -1;
	if (cj_expect_object(o, "images.json", err) < 0 || cj_array(o, "images", "images.json", &imgs, err) < 0) {
		json_object_put(o);
		return -1;
	}
	if (!imgs)
		json_object_object_add(o, "images", json_object_new_array());
	*ret = o;
	return 0;
}

int store_index_save(struct cell_store *s, json_object *index, cell_error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/images.json", s->root);
	const char *text = cj_to_string(index, true);
	return write_file_atomic(p, text, strlen(text), 0600, err);
}

static json_object *images_of(json_object *index)
{
	json_object *a = NULL;
	json_object_object_get_ex(index, "images", &a);
	return a;
}

static const char *rec_str(json_object *rec, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *rec_arr(json_object *rec, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_array)) {
		v = json_object_new_array();
		json_object_object_add(rec, key, v);
	}
	return v;
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Does the record carry this name? (compared in full: docker.io/library/x:tag) */
static int rec_name_index(json_object *rec, const char *key)
{
	json_object *names = rec_arr(rec, "names");
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		_cleanup_free_ char *k = store_name_key(json_object_get_string(json_object_array_get_idx(names, i)));
		if (k && streq(k, key))
			return (int)i;
	}
	return -1;
}

static json_object *find_kind(json_object *index, const char *ref, bool *ret_by_name, cell_error **err)
{
	json_object *imgs = images_of(index);
	size_t n = json_object_array_length(imgs);

	if (ret_by_name)
		*ret_by_name = false;
	if (cell_digest_valid(ref)) {
		for (size_t i = 0; i < n; i++) {
			json_object *rec = json_object_array_get_idx(imgs, i);
			if (streq(rec_str(rec, "id"), ref))
				return rec;
		}
	}
	_cleanup_free_ char *key = store_name_key(ref);
	if (key) {
		struct cell_ref r;
		_cleanup_error_ cell_error *e = NULL;
		cell_ref_parse(ref, &r, &e);
		for (size_t i = 0; i < n; i++) {
			json_object *rec = json_object_array_get_idx(imgs, i);
			if (r.digest ? streq(rec_str(rec, "manifest") ?: "", r.digest) : rec_name_index(rec, key) >= 0) {
				if (ret_by_name)
					*ret_by_name = !r.digest;
				cell_ref_clear(&r);
				return rec;
			}
		}
		cell_ref_clear(&r);
	}
	const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
	if (strlen(hex) >= 3 && is_hex(hex)) {
		json_object *found = NULL;
		for (size_t i = 0; i < n; i++) {
			json_object *rec = json_object_array_get_idx(imgs, i);
			const char *id = rec_str(rec, "id");
			if (id && strncmp(id + 7, hex, strlen(hex)) == 0) {
				if (found) {
					cell_error_set(err, "ambiguous image id prefix `%s`: matches several images", ref);
					return NULL;
				}
				found = rec;
			}
		}
		if (found)
			return found;
	}
	cell_error_set(err, "no such image: `%s`", ref);
	return NULL;
}

json_object *store_find(json_object *index, const char *ref, cell_error **err)
{
	return find_kind(index, ref, NULL, err);
}

char *store_mkdtemp(struct cell_store *s, cell_error **err)
{
	char *p = xasprintf("%s/tmp/XXXXXX", s->root);
	if (!mkdtemp(p)) {
		cell_error_errno(err, errno, "create temp dir `%s`", p);
		free(p);
		return NULL;
	}
	return p;
}

static void json_set_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* Take name off every record but keep. */
static void untag_others(json_object *index, json_object *keep, const char *key)
{
	json_object *imgs = images_of(index);
	for (size_t i = 0; i < json_object_array_length(imgs); i++) {
		json_object *rec = json_object_array_get_idx(imgs, i);
		int k;
		if (rec == keep)
			continue;
		while ((k = rec_name_index(rec, key)) >= 0)
			json_object_array_del_idx(rec_arr(rec, "names"), (size_t)k, 1);
	}
}

static int add_name(json_object *index, json_object *rec, const char *name, cell_error **err)
{
	struct cell_ref r;
	if (cell_ref_parse(name, &r, err) < 0)
		return -1;
	if (r.digest) {
		cell_ref_clear(&r);
		return cell_error_set(err, "`%s`: a tag cannot hold a digest", name);
	}
	_cleanup_free_ char *fam = cell_ref_familiar(&r);
	cell_ref_clear(&r);
	_cleanup_free_ char *key = store_name_key(fam);
	untag_others(index, rec, key);
	if (rec_name_index(rec, key) < 0)
		json_object_array_add(rec_arr(rec, "names"), json_object_new_string(fam));
	return 0;
}

int store_add_image(struct cell_store *s, const char *id, const char *manifest_digest,
		    const struct store_layer *layers, size_t n_layers, const char *created,
		    const char *name, cell_error **err)
{
	json_object *index = NULL;
	if (store_lock(s, err) < 0)
		return -1;
	if (store_index_load(s, &index, err) < 0) {
		store_unlock(s);
		return -1;
	}
	json_object *imgs = images_of(index);
	json_object *rec = NULL;
	for (size_t i = 0; i < json_object_array_length(imgs); i++) {
		json_object *r = json_object_array_get_idx(imgs, i);
		if (streq(rec_str(r, "id") ?: "", id))
			rec = r;
	}
	if (!rec) {
		rec = json_object_new_object();
		json_set_str(rec, "id", id);
		json_object_object_add(rec, "names", json_object_new_array());
		json_object_array_add(imgs, rec);
	}
	json_set_str(rec, "manifest", manifest_digest);
	json_set_str(rec, "created", created);
	json_object *ls = json_object_new_array();
	for (size_t i = 0; i < n_layers; i++) {
		json_object *l = json_object_new_object();
		json_set_str(l, "blob", layers[i].blob);
		json_set_str(l, "diff_id", layers[i].diff_id);
		json_set_str(l, "chain_id", layers[i].chain_id);
		json_set_str(l, "media_type", layers[i].media_type);
		json_object_object_add(l, "blob_size", json_object_new_int64((int64_t)layers[i].blob_size));
		json_object_object_add(l, "size", json_object_new_int64((int64_t)layers[i].size));
		json_object_array_add(ls, l);
	}
	json_object_object_add(rec, "layers", ls);
	int r = 0;
	if (name)
		r = add_name(index, rec, name, err);
	if (r == 0)
		r = store_index_save(s, index, err);
	json_object_put(index);
	store_unlock(s);
	return r;
}

/* The unpacked size of a layer some record already knows, else 0. */
static uint64_t known_layer_size(struct cell_store *s, const char *chain)
{
	json_object *index = NULL;
	_cleanup_error_ cell_error *e = NULL;
	uint64_t size = 0;
	if (store_index_load(s, &index, &e) < 0)
		return 0;
	json_object *imgs = images_of(index);
	for (size_t i = 0; i < json_object_array_length(imgs) && !size; i++) {
		json_object *ls = rec_arr(json_object_array_get_idx(imgs, i), "layers");
		for (size_t j = 0; j < json_object_array_length(ls); j++) {
			json_object *l = json_object_array_get_idx(ls, j), *v;
			if (streq(rec_str(l, "chain_id") ?: "", chain) && json_object_object_get_ex(l, "size", &v))
				size = (uint64_t)json_object_get_int64(v);
		}
	}
	json_object_put(index);
	return size;
}

int store_ensure_layer(struct cell_store *s, struct store_layer *l, cell_error **err)
{
	_cleanup_free_ char *final = xasprintf("%s/layers/%s", s->root, cell_digest_hex(l->chain_id));
	if (access(final, F_OK) == 0) {
		if (!l->size)
			l->size = known_layer_size(s, l->chain_id);
		return 0;
	}
	_cleanup_free_ char *tmp = xasprintf("%s/layers/.tmp-XXXXXX", s->root);
	if (!mkdtemp(tmp))
		return cell_error_errno(err, errno, "create layer temp dir in `%s/layers`", s->root);
	chmod(tmp, 0755);
	_cleanup_free_ char *blob = cell_blob_path(s, l->blob);
	_cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
	char diff[CELL_DIGEST_LEN + 1];
	int r;
	if (fd < 0)
		r = cell_error_errno(err, errno, "open layer blob `%s`", blob);
	else
		r = cell_layer_unpack(fd, tmp, l->blob, diff, &l->size, err);
	if (r == 0 && l->diff_id[0] && !streq(diff, l->diff_id))
		r = cell_error_set(err, "layer `%s`: uncompressed content hashes to `%s`, the config says `%s`",
				   l->blob, diff, l->diff_id);
	if (r == 0 && rename(tmp, final) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY) {	/* a concurrent pull made it first */
			_cleanup_error_ cell_error *e = NULL;
			rm_rf(tmp, &e);
			return 0;
		}
		r = cell_error_errno(err, errno, "rename `%s` to `%s`", tmp, final);
	}
	if (r < 0) {
		_cleanup_error_ cell_error *e = NULL;
		rm_rf(tmp, &e);
		return -1;
	}
	return 0;
}

/* ---- containers as users of images ---- */

static bool container_uses(json_object *index, json_object *rec, const char *cfg_path)
{
	static const char *keys[] = { "image", "Image", "ImageID", "image_id", "imageID" };
	json_object *cfg = NULL;
	_cleanup_error_ cell_error *e = NULL;
	bool used = false;

	if (cj_parse_file(cfg_path, &cfg, &e) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys) && !used; i++) {
		json_object *v;
		if (!json_object_object_get_ex(cfg, keys[i], &v) || !json_object_is_type(v, json_type_string))
			continue;
		const char *s = json_object_get_string(v);
		const char *id = rec_str(rec, "id");
		if (streq(s, id) || streq(s, id + 7)) {
			used = true;
		} else {
			_cleanup_error_ cell_error *e2 = NULL;
			used = find_kind(index, s, NULL, &e2) == rec;
		}
	}
	json_object_put(cfg);
	return used;
}

static char *image_user(struct cell_store *s, json_object *index, json_object *rec)
{
	_cleanup_free_ char *dir = xasprintf("%s/containers", s->root);
	DIR *d = opendir(dir);
	struct dirent *de;
	char *who = NULL;

	if (!d)
		return NULL;
	while (!who && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *cfg = xasprintf("%s/%s/config.json", dir, de->d_name);
		if (container_uses(index, rec, cfg))
			who = xstrdup(de->d_name);
	}
	closedir(d);
	return who;
}

char *cell_store_image_user(struct cell_store *s, const char *id)
{
	json_object *index = NULL;
	_cleanup_error_ cell_error *e = NULL;
	char *who = NULL;
	if (store_index_load(s, &index, &e) < 0)
		return NULL;
	json_object *rec = find_kind(index, id, NULL, &e);
	if (rec)
		who = image_user(s, index, rec);
	json_object_put(index);
	return who;
}

/* ---- reading records ---- */

static uint64_t rec_size(json_object *rec)
{
	json_object *ls = rec_arr(rec, "layers"), *v;
	uint64_t n = 0;
	for (size_t j = 0; j < json_object_array_length(ls); j++)
		if (json_object_object_get_ex(json_object_array_get_idx(ls, j), "size", &v))
			n += (uint64_t)json_object_get_int64(v);
	return n;
}

static char **rec_strv(json_object *rec, const char *key)
{
	json_object *a = rec_arr(rec, key);
	size_t n = json_object_array_length(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(a, i)));
	return v;
}

void cell_image_free(struct cell_image *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->manifest_digest);
	strv_free(img->names);
	strv_free(img->layer_dirs);
	strv_free(img->chain_ids);
	free(img->layer_sizes);
	free(img->architecture);
	free(img->os);
	free(img->created);
	cell_image_config_clear(&img->config);
	json_object_put(img->config_json);
	free(img);
}

static int image_from_rec(struct cell_store *s, json_object *rec, struct cell_image **ret, cell_error **err)
{
	struct cell_image *img = xcalloc(1, sizeof(*img));
	const char *id = rec_str(rec, "id");
	_cleanup_free_ char *text = NULL;
	json_object *ls = rec_arr(rec, "layers");

	img->id = xstrdup(id);
	img->manifest_digest = xstrdup(rec_str(rec, "manifest"));
	img->names = rec_strv(rec, "names");
	img->n_layers = json_object_array_length(ls);
	img->layer_dirs = xcalloc(img->n_layers + 1, sizeof(char *));
	img->chain_ids = xcalloc(img->n_layers + 1, sizeof(char *));
	img->layer_sizes = xcalloc(img->n_layers + 1, sizeof(uint64_t));
	for (size_t i = 0; i < img->n_layers; i++) {
		json_object *l = json_object_array_get_idx(ls, i), *sz;
		const char *chain = rec_str(l, "chain_id");
		if (json_object_object_get_ex(l, "size", &sz))
			img->layer_sizes[i] = (uint64_t)json_object_get_int64(sz);
		if (!cell_digest_valid(chain)) {
			cell_image_free(img);
			return cell_error_set(err, "image `%s`: layer %zu has no valid chain id: the store is corrupt", id, i);
		}
		img->chain_ids[i] = xstrdup(chain);
		img->layer_dirs[i] = xasprintf("%s/layers/%s", s->root, cell_digest_hex(chain));
	}
	if (cell_blob_read(s, id, &text, NULL, err) < 0 ||
	    cj_parse_string(id, text, &img->config_json, err) < 0 ||
	    cell_image_config_parse(img->config_json, &img->config, err) < 0) {
		cell_image_free(img);
		return cell_error_wrap(err, "image `%s`: config", id);
	}
	const char *v = NULL;
	_cleanup_error_ cell_error *e = NULL;
	if (cj_string(img->config_json, "architecture", "config", &v, &e) > 0)
		img->architecture = xstrdup(v);
	if (cj_string(img->config_json, "os", "config", &v, &e) > 0)
		img->os = xstrdup(v);
	if (cj_string(img->config_json, "created", "config", &v, &e) > 0)
		img->created = xstrdup(v);
	*ret = img;
	return 0;
}

int cell_image_resolve(struct cell_store *s, const char *ref, struct cell_image **ret, cell_error **err)
{
	_cleanup_close_ int lk = -1;
	json_object *index = NULL;
	int r = -1;

	if (lock_shared(s, &lk, err) < 0 || store_index_load(s, &index, err) < 0)
		return -1;
	json_object *rec = store_find(index, ref, err);
	if (rec)
		r = image_from_rec(s, rec, ret, err);
	json_object_put(index);
	return r;
}

void cell_image_summary_free(struct cell_image_summary *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		strv_free(v[i].names);
		free(v[i].manifest_digest);
		free(v[i].created);
	}
	free(v);
}

int cell_image_list(struct cell_store *s, struct cell_image_summary **ret, size_t *ret_n, cell_error **err)
{
	_cleanup_close_ int lk = -1;
	json_object *index = NULL;

	if (lock_shared(s, &lk, err) < 0 || store_index_load(s, &index, err) < 0)
		return -1;
	json_object *imgs = images_of(index);
	size_t n = json_object_array_length(imgs);
	struct cell_image_summary *v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		json_object *rec = json_object_array_get_idx(imgs, i);
		v[i].id = xstrdup(rec_str(rec, "id"));
		v[i].names = rec_strv(rec, "names");
		v[i].manifest_digest = xstrdup(rec_str(rec, "manifest"));
		v[i].created = xstrdup(rec_str(rec, "created"));
		v[i].size = rec_size(rec);
	}
	json_object_put(index);
	*ret = v;
	*ret_n = n;
	return 0;
}

int cell_image_inspect_json(struct cell_store *s, const char *ref, json_object **ret, cell_error **err)
{
	struct cell_image *img = NULL;
	if (cell_image_resolve(s, ref, &img, err) < 0)
		return -1;
	json_object *o = json_object_new_object(), *tags = json_object_new_array(),
		    *digests = json_object_new_array(), *layers = json_object_new_array(), *v;
	json_set_str(o, "Id", img->id);
	for (size_t i = 0; img->names[i]; i++) {
		json_object_array_add(tags, json_object_new_string(img->names[i]));
		struct cell_ref r;
		_cleanup_error_ cell_error *e = NULL;
		if (img->manifest_digest && cell_ref_parse(img->names[i], &r, &e) == 0) {
			_cleanup_free_ char *repo = cell_ref_repo(&r);
			_cleanup_free_ char *d = xasprintf("%s@%s", repo, img->manifest_digest);
			json_object_array_add(digests, json_object_new_string(d));
			cell_ref_clear(&r);
		}
	}
	json_object_object_add(o, "RepoTags", tags);
	json_object_object_add(o, "RepoDigests", digests);
	json_set_str(o, "Created", img->created);
	json_set_str(o, "Architecture", img->architecture);
	json_set_str(o, "Os", img->os);
	static const char *copy[] = { "author", "comment" };
	static const char *as[] = { "Author", "Comment" };
	for (size_t i = 0; i < ARRAY_SIZE(copy); i++)
		if (json_object_object_get_ex(img->config_json, copy[i], &v))
			json_object_object_add(o, as[i], json_object_get(v));
	if (json_object_object_get_ex(img->config_json, "config", &v))
		json_object_object_add(o, "Config", json_object_get(v));
	json_object *rootfs = json_object_new_object(), *rf;
	json_set_str(rootfs, "Type", "layers");
	if (json_object_object_get_ex(img->config_json, "rootfs", &rf) &&
	    json_object_object_get_ex(rf, "diff_ids", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			json_object_array_add(layers, json_object_get(json_object_array_get_idx(v, i)));
	json_object_object_add(rootfs, "Layers", layers);
	json_object_object_add(o, "RootFS", rootfs);
	/* size: from the record */
	_cleanup_close_ int lk = -1;
	json_object *index = NULL;
	_cleanup_error_ cell_error *e = NULL;
	if (lock_shared(s, &lk, &e) == 0 && store_index_load(s, &index, &e) == 0) {
		json_object *rec = store_find(index, img->id, &e);
		if (rec)
			json_object_object_add(o, "Size", json_object_new_int64((int64_t)rec_size(rec)));
		json_object_put(index);
	}
	json_object *gd = json_object_new_object(), *data = json_object_new_object();
	json_set_str(gd, "Name", "overlay");
	size_t len = 1;
	for (size_t i = 0; i < img->n_layers; i++)
		len += strlen(img->layer_dirs[i]) + 1;
	_cleanup_free_ char *lower = xcalloc(1, len);
	for (size_t i = img->n_layers; i-- > 0;) {
		strcat(lower, img->layer_dirs[i]);
		if (i)
			strcat(lower, ":");
	}
	json_set_str(data, "LowerDir", lower);
	json_object_object_add(gd, "Data", data);
	json_object_object_add(o, "GraphDriver", gd);
	cell_image_free(img);
	*ret = o;
	return 0;
}

/* ---- changing records ---- */

int cell_image_tag(struct cell_store *s, const char *ref, const char *name, cell_error **err)
{
	json_object *index = NULL;
	int r = -1;

	if (store_lock(s, err) < 0)
		return -1;
	if (store_index_load(s, &index, err) == 0) {
		json_object *rec = store_find(index, ref, err);
		if (rec && add_name(index, rec, name, err) == 0)
			r = store_index_save(s, index, err);
	}
	json_object_put(index);
	store_unlock(s);
	return r;
}

static void set_add(json_object *set, const char *k)
{
	if (k)
		json_object_object_add(set, k, NULL);
}

/* Remove what no record names: layer dirs (and stale .tmp- ones), blobs,
 * scratch dirs. Called with the lock held, after the index was saved. */
static int store_gc(struct cell_store *s, json_object *index, json_object *sizes, uint64_t *reclaimed,
		    cell_error **err)
{
	json_object *keep = json_object_new_object();
	json_object *imgs = images_of(index);
	for (size_t i = 0; i < json_object_array_length(imgs); i++) {
		json_object *rec = json_object_array_get_idx(imgs, i);
		set_add(keep, rec_str(rec, "id") ? rec_str(rec, "id") + 7 : NULL);
		set_add(keep, rec_str(rec, "manifest") ? rec_str(rec, "manifest") + 7 : NULL);
		json_object *ls = rec_arr(rec, "layers");
		for (size_t j = 0; j < json_object_array_length(ls); j++) {
			json_object *l = json_object_array_get_idx(ls, j);
			const char *b = rec_str(l, "blob"), *c = rec_str(l, "chain_id");
			if (b && cell_digest_valid(b))
				set_add(keep, b + 7);
			if (c && cell_digest_valid(c))
				set_add(keep, c + 7);
		}
	}
	static const char *dirs[] = { "layers", "blobs/sha256", "tmp" };
	int r = 0;
	for (size_t k = 0; k < ARRAY_SIZE(dirs) && r == 0; k++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", s->root, dirs[k]);
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d)
			continue;
		while (r == 0 && (de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
			    (k < 2 && json_object_object_get_ex(keep, de->d_name, NULL)))
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
			struct stat st;
			json_object *v;
			if (k == 1 && lstat(p, &st) == 0)
				*reclaimed += (uint64_t)st.st_size;
			if (k == 0 && sizes && json_object_object_get_ex(sizes, de->d_name, &v))
				*reclaimed += (uint64_t)json_object_get_int64(v);
			r = rm_rf(p, err);
		}
		closedir(d);
	}
	json_object_put(keep);
	return r;
}

void store_gc_failed(struct cell_store *s)
{
	json_object *index = NULL;
	uint64_t reclaimed = 0;
	_cleanup_error_ cell_error *e = NULL;
	if (s->use_fd < 0 || flock(s->use_fd, LOCK_EX | LOCK_NB) < 0)
		return;	/* someone else is importing or pulling: prune will do it */
	if (store_lock(s, &e) == 0) {
		if (store_index_load(s, &index, &e) == 0)
			store_gc(s, index, NULL, &reclaimed, &e);
		json_object_put(index);
		store_unlock(s);
	}
	flock(s->use_fd, LOCK_SH);
}

/* Note the layer sizes of a record about to go, for the reclaimed figure. */
static void note_sizes(json_object *sizes, json_object *rec)
{
	json_object *ls = rec_arr(rec, "layers"), *v;
	for (size_t j = 0; j < json_object_array_length(ls); j++) {
		json_object *l = json_object_array_get_idx(ls, j);
		const char *c = rec_str(l, "chain_id");
		if (c && cell_digest_valid(c) && json_object_object_get_ex(l, "size", &v))
			json_object_object_add(sizes, c + 7, json_object_get(v));
	}
}

static void strv_push(char ***v, const char *s)
{
	size_t n = *v ? strv_len(*v) : 0;
	*v = realloc(*v, (n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

static void del_rec(json_object *index, json_object *rec)
{
	json_object *imgs = images_of(index);
	for (size_t i = 0; i < json_object_array_length(imgs); i++)
		if (json_object_array_get_idx(imgs, i) == rec) {
			json_object_array_del_idx(imgs, i, 1);
			return;
		}
}

static int remove_locked(struct cell_store *s, json_object *index, const char *ref, bool force,
			 char ***untagged, char ***deleted, cell_error **err)
{
	bool by_name = false;
	json_object *rec = find_kind(index, ref, &by_name, err);
	if (!rec)
		return -1;
	_cleanup_free_ char *id = xstrdup(rec_str(rec, "id"));
	json_object *names = rec_arr(rec, "names");
	_cleanup_free_ char *user = image_user(s, index, rec);
	size_t n_names = json_object_array_length(names);

	if (by_name && n_names > 1) {
		_cleanup_free_ char *key = store_name_key(ref);
		int k = rec_name_index(rec, key);
		strv_push(untagged, json_object_get_string(json_object_array_get_idx(names, (size_t)k)));
		json_object_array_del_idx(names, (size_t)k, 1);
		return store_index_save(s, index, err);
	}
	if (user && !force)
		return cell_error_set(err, "conflict: unable to remove image `%s` (must be forced): container `%s` is "
				      "using its image %.19s", ref, user, id);
	if (!by_name && n_names > 1 && !force)
		return cell_error_set(err, "conflict: unable to delete %.19s (must be forced): image is referenced in "
				      "multiple repositories", id);
	for (size_t i = 0; i < n_names; i++)
		strv_push(untagged, json_object_get_string(json_object_array_get_idx(names, i)));
	json_object_array_del_idx(names, 0, n_names);
	if (user)	/* forced: the names go, the record stays for the container */
		return store_index_save(s, index, err);
	json_object *sizes = json_object_new_object();
	note_sizes(sizes, rec);
	del_rec(index, rec);
	strv_push(deleted, id);
	uint64_t reclaimed = 0;
	int r = store_index_save(s, index, err);
	if (r == 0)
		r = store_gc(s, index, sizes, &reclaimed, err);
	json_object_put(sizes);
	return r;
}

int cell_image_remove(struct cell_store *s, const char *ref, bool force,
		      char ***ret_untagged, char ***ret_deleted, cell_error **err)
{
	json_object *index = NULL;
	int r = -1;

	if (store_use(s, true, err) < 0)
		return -1;
	if (store_lock(s, err) < 0) {
		store_unuse(s);
		return -1;
	}
	if (store_index_load(s, &index, err) == 0)
		r = remove_locked(s, index, ref, force, ret_untagged, ret_deleted, err);
	json_object_put(index);
	store_unlock(s);
	store_unuse(s);
	return r;
}

int cell_image_prune(struct cell_store *s, bool all, char ***ret_deleted, uint64_t *ret_reclaimed,
		     cell_error **err)
{
	return cell_image_prune_only(s, all, NULL, ret_deleted, ret_reclaimed, err);
}

static bool among(char **ids, const char *id)
{
	for (size_t i = 0; ids && ids[i]; i++)
		if (id && streq(ids[i], id))
			return true;
	return false;
}

int cell_image_prune_only(struct cell_store *s, bool all, char **only, char ***ret_deleted, uint64_t *ret_reclaimed,
			  cell_error **err)
{
	json_object *index = NULL, *sizes = json_object_new_object();
	int r = -1;

	*ret_reclaimed = 0;
	if (store_use(s, true, err) < 0 || store_lock(s, err) < 0) {
		store_unuse(s);
		json_object_put(sizes);
		return -1;
	}
	if (store_index_load(s, &index, err) == 0) {
		json_object *imgs = images_of(index);
		for (size_t i = json_object_array_length(imgs); i-- > 0;) {
			json_object *rec = json_object_array_get_idx(imgs, i);
			if (!all && json_object_array_length(rec_arr(rec, "names")) > 0)
				continue;
			if (only && !among(only, rec_str(rec, "id")))
				continue;
			_cleanup_free_ char *user = image_user(s, index, rec);
			if (user)
				continue;
			strv_push(ret_deleted, rec_str(rec, "id"));
			note_sizes(sizes, rec);
			json_object_array_del_idx(imgs, i, 1);
		}
		r = store_index_save(s, index, err);
		if (r == 0)
			r = store_gc(s, index, sizes, ret_reclaimed, err);
	}
	json_object_put(sizes);
	json_object_put(index);
	store_unlock(s);
	store_unuse(s);
	return r;
}
