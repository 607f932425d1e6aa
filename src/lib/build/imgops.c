/* Images the builder makes without a new layer: the empty base of `FROM
 * scratch` and the config-only images of metadata steps. Layer steps go
 * through cell_image_commit() (image.h). Uses the store's internals
 * (image-internal.h) for the layers of a base image and the commit of a new
 * record, as src/lib/image/commit.c does. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build-internal.h"
#include "image/image-internal.h"
#include "json.h"
#include "util.h"

/* The layer descriptors of img from its manifest (as commit.c's base_layers). */
static int img_layers(struct cell_store *s, const struct cell_image *img, struct store_layer *ls, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	json_object *m = NULL, *layers = NULL;
	int r = 0;

	if (img->n_layers == 0)
		return 0;
	if (cell_blob_read(s, img->manifest_digest, &text, NULL, err) < 0 ||
	    cj_parse_string(img->manifest_digest, text, &m, err) < 0 ||
	    cj_array(m, "layers", "manifest", &layers, err) < 0) {
		json_object_put(m);
		return -1;
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		json_object *d = layers ? json_object_array_get_idx(layers, i) : NULL;
		const char *dg = NULL, *mt = NULL;
		int64_t size = 0;
		if (!d || cj_string(d, "digest", "manifest.layers[]", &dg, err) <= 0 || !cell_digest_valid(dg)) {
			r = *err ? -1 : cell_error_set(err, "manifest `%s`: layer %zu without a digest", img->manifest_digest, i);
			break;
		}
		_cleanup_error_ cell_error *e = NULL;
		cj_string(d, "mediaType", "manifest.layers[]", &mt, &e);
		cj_int64(d, "size", "manifest.layers[]", &size, &e);
		snprintf(ls[i].blob, sizeof(ls[i].blob), "%s", dg);
		snprintf(ls[i].media_type, sizeof(ls[i].media_type), "%s",
			 mt ? mt : "application/vnd.oci.image.layer.v1.tar");
		ls[i].blob_size = (uint64_t)size;
		ls[i].size = img->layer_sizes ? img->layer_sizes[i] : 0;
	}
	json_object_put(m);
	return r;
}

/* Record config_doc as an image with the layers of img (NULL: none). */
static int commit_config(struct cell_store *s, const struct cell_image *img, json_object *doc, char **ret_id,
			 cell_error **err)
{
	size_t n = img ? img->n_layers : 0;
	struct store_layer *ls = xcalloc(n + 1, sizeof(*ls));
	char id[CELL_DIGEST_LEN + 1];
	int r = -1;

	if (store_use(s, false, err) < 0)
		goto out;
	const char *text = cj_to_string(doc, false);
	if ((!img || img_layers(s, img, ls, err) == 0) &&
	    store_commit_image(s, text, strlen(text), NULL, ls, n, NULL, id, err) == 0)
		r = 0;
	store_unuse(s);
out:
	free(ls);
	if (r == 0)
		*ret_id = xstrdup(id);
	return r;
}

int bimg_scratch(struct cell_store *s, char **ret_id, cell_error **err)
{
	json_object *doc = json_object_new_object(), *rootfs = json_object_new_object();
	json_object_object_add(doc, "architecture", json_object_new_string(cell_host_arch()));
	json_object_object_add(doc, "os", json_object_new_string("linux"));
	json_object_object_add(doc, "config", json_object_new_object());
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", json_object_new_array());
	json_object_object_add(doc, "rootfs", rootfs);
	json_object_object_add(doc, "history", json_object_new_array());
	int r = commit_config(s, NULL, doc, ret_id, err);
	json_object_put(doc);
	return r < 0 ? cell_error_wrap(err, "make the empty image of `FROM scratch`") : 0;
}

int bimg_meta(struct cell_store *s, const char *base_id, bimg_edit_fn edit, void *data, const char *created_by,
	      bool history, char **ret_id, cell_error **err)
{
	struct cell_image *img = NULL;
	json_object *doc = NULL, *inner = NULL, *hist = NULL;
	char now[64];
	int r = -1;

	if (cell_image_resolve(s, base_id, &img, err) < 0)
		return -1;
	if (json_object_deep_copy(img->config_json, &doc, NULL) < 0) {
		cell_error_set(err, "copy the config of image `%s`", base_id);
		goto out;
	}
	rfc3339_now(now, sizeof(now));
	inner = json_object_object_get(doc, "config");
	if (!json_object_is_type(inner, json_type_object)) {
		inner = json_object_new_object();
		json_object_object_add(doc, "config", inner);
	}
	if (edit && edit(doc, inner, data, err) < 0)
		goto out;
	if (history) {
		hist = json_object_object_get(doc, "history");
		if (!json_object_is_type(hist, json_type_array)) {
			hist = json_object_new_array();
			json_object_object_add(doc, "history", hist);
		}
		json_object *h = json_object_new_object();
		json_object_object_add(h, "created", json_object_new_string(now));
		json_object_object_add(h, "created_by", json_object_new_string(created_by));
		json_object_object_add(h, "empty_layer", json_object_new_boolean(true));
		json_object_array_add(hist, h);
	}
	json_object_object_add(doc, "created", json_object_new_string(now));
	r = commit_config(s, img, doc, ret_id, err);
out:
	json_object_put(doc);
	cell_image_free(img);
	return r;
}
