/* The engine root's disk use: see df.h. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "log.h"
#include "image/image.h"
#include "util.h"
#include "volume.h"

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = json_object_object_get(o, a);
	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : "";
}

static void add_layer(struct cell_df *d, const char *chain, uint64_t size, bool active)
{
	for (size_t i = 0; i < d->n_layers; i++)
		if (streq(d->layers[i].chain, chain)) {
			d->layers[i].active |= active;
			d->layers[i].images++;
			return;
		}
	d->layers = realloc(d->layers, (d->n_layers + 1) * sizeof(*d->layers));
	if (!d->layers)
		abort();
	d->layers[d->n_layers++] = (struct cell_df_layer){ chain, size, active, 1 };
}

void cell_df_free(struct cell_df *d)
{
	for (size_t i = 0; i < d->n_images; i++)
		cell_image_free(d->images[i].img);
	free(d->images);
	free(d->layers);
	for (size_t i = 0; i < d->n_ctrs; i++) {
		free(d->ctrs[i].id);
		free(d->ctrs[i].name);
		free(d->ctrs[i].image);
		free(d->ctrs[i].status);
		json_object_put(d->ctrs[i].rec);
	}
	free(d->ctrs);
	strv_free(d->vols);
	free(d->vol_size);
	free(d->vol_links);
}

int cell_df_collect(struct cell_engine *e, struct cell_df *d, cell_error **err)
{
	struct cell_store *s = NULL;
	struct cell_image_summary *sum = NULL;
	size_t n = 0;
	char **ids = NULL;
	if (cell_store_open(e->root, &s, err) < 0 || cell_image_list(s, &sum, &n, err) < 0 ||
	    cell_ctr_list(e, &ids, err) < 0 || cell_volume_list(e, &d->vols, err) < 0) {
		cell_image_summary_free(sum, n);
		cell_store_free(s);
		strv_free(ids);
		return -1;
	}
	for (size_t i = 0; ids[i]; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		const char *st = cell_ctr_status(rec);
		const char *name = str_at(rec, "Name", NULL);
		_cleanup_free_ char *cdir = cell_ctr_dir(e, ids[i]);
		_cleanup_free_ char *upper = xasprintf("%s/upper", cdir);
		struct cell_df_ctr c = {
			.id = xstrdup(ids[i]), .name = xstrdup(*name == '/' ? name + 1 : name),
			.image = xstrdup(str_at(rec, "Image", NULL)), .status = xstrdup(st),
			.size = cell_dir_size(upper),
			.running = streq(st, "running") || streq(st, "paused") || streq(st, "restarting"),
		};
		json_object *mounts = json_object_object_get(rec, "Mounts");
		for (size_t j = 0; mounts && j < json_object_array_length(mounts); j++) {
			const char *t = str_at(json_object_array_get_idx(mounts, j), "Type", NULL);
			const char *vn = str_at(json_object_array_get_idx(mounts, j), "Name", NULL);
			if (!streq(t, "volume"))
				continue;
			c.volumes++;
			for (size_t k = 0; d->vols[k]; k++)
				if (streq(d->vols[k], vn)) {
					d->vol_links = d->vol_links ? d->vol_links : xcalloc(strv_len(d->vols) + 1, sizeof(int));
					d->vol_links[k]++;
				}
		}
		d->ctrs = realloc(d->ctrs, (d->n_ctrs + 1) * sizeof(*d->ctrs));
		c.rec = rec;
		d->ctrs[d->n_ctrs++] = c;
	}
	strv_free(ids);
	size_t nv = strv_len(d->vols);
	d->vol_size = xcalloc(nv + 1, sizeof(uint64_t));
	if (!d->vol_links)
		d->vol_links = xcalloc(nv + 1, sizeof(int));
	for (size_t k = 0; k < nv; k++)
		d->vol_size[k] = cell_volume_size(e, d->vols[k]);
	for (size_t i = 0; i < n; i++) {
		struct cell_image *img = NULL;
		cell_error *x = NULL;
		if (cell_image_resolve(s, sum[i].id, &img, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		struct cell_df_image di = { .img = img };
		for (size_t j = 0; j < d->n_ctrs; j++)
			if (streq(d->ctrs[j].image, img->id))
				di.containers++;
		for (size_t j = 0; j < img->n_layers; j++) {
			di.size += img->layer_sizes[j];
			add_layer(d, img->chain_ids[j], img->layer_sizes[j], di.containers > 0);
		}
		d->images = realloc(d->images, (d->n_images + 1) * sizeof(*d->images));
		d->images[d->n_images++] = di;
	}
	/* shared: in a layer another image holds too (Docker's SharedSize) */
	for (size_t i = 0; i < d->n_images; i++) {
		const struct cell_image *img = d->images[i].img;
		for (size_t j = 0; j < img->n_layers; j++)
			for (size_t k = 0; k < d->n_layers; k++)
				if (streq(d->layers[k].chain, img->chain_ids[j]) && d->layers[k].images > 1)
					d->images[i].shared += img->layer_sizes[j];
	}
	cell_image_summary_free(sum, n);
	cell_store_free(s);
	return 0;
}


int cell_ctr_prune_if(struct cell_engine *e, bool (*want)(json_object *rec, void *data), void *data,
		      char ***ret_ids, uint64_t *ret_bytes, cell_error **err)
{
	_cleanup_strv_ char **ids = NULL;
	char **gone = xcalloc(1, sizeof(char *));
	size_t n = 0;
	uint64_t bytes = 0;

	if (cell_ctr_list(e, &ids, err) < 0) {
		free(gone);
		return -1;
	}
	for (size_t i = 0; ids[i]; i++) {
		json_object *rec = NULL;
		cell_error *x = NULL;
		if (cell_ctr_load(e, ids[i], &rec, &x) < 0) {
			cell_error_free(&x);
			continue;
		}
		const char *st = cell_ctr_status(rec);
		bool stopped = streq(st, "exited") || streq(st, "created") || streq(st, "dead");
		bool chosen = stopped && (!want || want(rec, data));
		json_object_put(rec);
		if (!chosen)
			continue;
		_cleanup_free_ char *upper = xasprintf("%s/%s/upper", e->ctr_root, ids[i]);
		uint64_t size = cell_dir_size(upper);
		/* not forced: one started since it was looked at stays */
		if (cell_ctr_remove(e, ids[i], false, &x) < 0) {
			cell_log(CELL_LOG_WARN, "%s", x->msg);
			cell_error_free(&x);
			continue;
		}
		bytes += size;
		gone = realloc(gone, (n + 2) * sizeof(char *));
		if (!gone)
			abort();
		gone[n++] = xstrdup(ids[i]);
		gone[n] = NULL;
	}
	*ret_ids = gone;
	if (ret_bytes)
		*ret_bytes = bytes;
	return 0;
}
