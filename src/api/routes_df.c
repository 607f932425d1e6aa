/* The API's disk use and pruning: GET /system/df (engine/df.h, the
 * numbers `cell system df` prints), POST /containers/prune and
 * /images/prune with dockerd's filters (until, label; dangling for images)
 * and replies (ContainersDeleted / ImagesDeleted, SpaceReclaimed). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "engine/df.h"
#include "engine/events.h"
#include "engine/health.h"
#include "engine/volume.h"
#include "image/image.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static json_object *strv_json(char **v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Labels "k=v" of an image config as {"k": "v"} */
static json_object *labels_obj(char **labels)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; labels && labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		_cleanup_free_ char *k = eq ? strndup(labels[i], (size_t)(eq - labels[i])) : xstrdup(labels[i]);
		json_object_object_add(o, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	return o;
}

/* ---- df ---- */

static json_object *df_image(const struct cell_df_image *di)
{
	const struct cell_image *img = di->img;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Id", json_object_new_string(img->id));
	json_object_object_add(o, "ParentId", json_object_new_string(""));
	json_object_object_add(o, "RepoTags", strv_json(img->names));
	json_object *digests = json_object_new_array();
	json_object_object_add(o, "RepoDigests", digests);
	json_object_object_add(o, "Created", json_object_new_int64(api_time_unix(img->created)));
	json_object_object_add(o, "Size", json_object_new_int64((int64_t)di->size));
	json_object_object_add(o, "SharedSize", json_object_new_int64((int64_t)di->shared));
	/* docker 20.10 reads VirtualSize (gone from 1.44) */
	json_object_object_add(o, "VirtualSize", json_object_new_int64((int64_t)di->size));
	json_object_object_add(o, "Labels", labels_obj(img->config.labels));
	json_object_object_add(o, "Containers", json_object_new_int(di->containers));
	return o;
}

static json_object *df_ctr(const struct cell_df_ctr *c, const struct cell_df *d)
{
	json_object *o = api_ctr_summary(c->rec, c->id);
	uint64_t image = 0;
	for (size_t i = 0; i < d->n_images; i++)
		if (streq(d->images[i].img->id, c->image))
			image = d->images[i].size;
	json_object_object_add(o, "SizeRw", json_object_new_int64((int64_t)c->size));
	json_object_object_add(o, "SizeRootFs", json_object_new_int64((int64_t)(c->size + image)));
	/* the CLI counts LOCAL VOLUMES by their driver */
	json_object *mounts = get(o, "Mounts");
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *t = json_object_get_string(get(m, "Type"));
		if (t && streq(t, "volume") && !get(m, "Driver"))
			json_object_object_add(m, "Driver", json_object_new_string("local"));
	}
	return o;
}

static json_object *df_volume(struct cell_engine *e, const struct cell_df *d, size_t k)
{
	json_object *o = NULL;
	cell_error *err = NULL;
	if (cell_volume_get(e, d->vols[k], &o, &err) < 0) {
		cell_error_free(&err);
		o = json_object_new_object();
		json_object_object_add(o, "Name", json_object_new_string(d->vols[k]));
		json_object_object_add(o, "Driver", json_object_new_string("local"));
		json_object_object_add(o, "Scope", json_object_new_string("local"));
	}
	if (!json_object_is_type(get(o, "Labels"), json_type_object))
		json_object_object_add(o, "Labels", json_object_new_object());
	if (!json_object_is_type(get(o, "Options"), json_type_object))
		json_object_object_add(o, "Options", json_object_new_object());
	json_object *u = json_object_new_object();
	json_object_object_add(u, "Size", json_object_new_int64((int64_t)d->vol_size[k]));
	json_object_object_add(u, "RefCount", json_object_new_int64(d->vol_links[k]));
	json_object_object_add(o, "UsageData", u);
	return o;
}

static void system_df(struct api_req *r)
{
	struct cell_df d = { 0 };
	cell_error *err = NULL;
	api_lock();
	int rc = cell_df_collect(r->engine, &d, &err);
	api_unlock();
	if (rc < 0) {
		cell_df_free(&d);
		api_error_from(r, &err, 500);
		return;
	}
	json_object *o = json_object_new_object();
	uint64_t layers = 0;
	for (size_t i = 0; i < d.n_layers; i++)
		layers += d.layers[i].size;
	json_object_object_add(o, "LayersSize", json_object_new_int64((int64_t)layers));
	json_object *imgs = json_object_new_array(), *ctrs = json_object_new_array(), *vols = json_object_new_array();
	for (size_t i = 0; i < d.n_images; i++)
		json_object_array_add(imgs, df_image(&d.images[i]));
	for (size_t i = 0; i < d.n_ctrs; i++)
		json_object_array_add(ctrs, df_ctr(&d.ctrs[i], &d));
	for (size_t k = 0; d.vols && d.vols[k]; k++)
		json_object_array_add(vols, df_volume(r->engine, &d, k));
	json_object_object_add(o, "Images", imgs);
	json_object_object_add(o, "Containers", ctrs);
	json_object_object_add(o, "Volumes", vols);
	json_object_object_add(o, "BuildCache", json_object_new_array());
	cell_df_free(&d);
	api_reply_json(r, 200, o);
}

/* ---- prune ---- */

/* dockerd's `until`: a Unix time, an RFC 3339 date, or a duration back
 * from now (24h); ret in Unix seconds. */
static bool until_param(struct api_req *r, json_object *f, long long *ret)
{
	json_object *u = get(f, "until");
	*ret = 0;
	if (!u || !json_object_array_length(u))
		return true;
	if (json_object_array_length(u) > 1) {
		api_error(r, 400, "more than one until filter specified");
		return false;
	}
	const char *v = json_object_get_string(json_object_array_get_idx(u, 0));
	char *end;
	errno = 0;
	double t = strtod(v, &end);
	int64_t d;
	if (!errno && end != v && !*end)
		*ret = (long long)t;
	else if (api_time_unix(v) > 0)
		*ret = api_time_unix(v);
	else if (cell_duration_parse(v, &d) == 0 && d >= 0)
		*ret = (long long)time(NULL) - d / 1000000000;
	else {
		api_error(r, 400, "invalid until filter `%s`: a Unix time, an RFC 3339 date or a duration (24h)", v);
		return false;
	}
	return true;
}

/* Docker's label=k / label=k=v, and label!=k / label!=k=v */
static bool labels_ok(json_object *labels, json_object *f)
{
	if (!api_labels_match(labels, get(f, "label")))
		return false;
	json_object *not = get(f, "label!");
	for (size_t i = 0; not && i < json_object_array_length(not); i++) {
		json_object *one = json_object_new_array();
		json_object_array_add(one, json_object_get(json_object_array_get_idx(not, i)));
		bool has = api_labels_match(labels, one);
		json_object_put(one);
		if (has)
			return false;
	}
	return true;
}

struct ctr_filter {
	json_object *f;
	long long until;
};

static bool ctr_wanted(json_object *rec, void *data)
{
	struct ctr_filter *cf = data;
	if (cf->until && api_time_unix(json_object_get_string(get(rec, "Created"))) >= cf->until)
		return false;
	return labels_ok(get(get(rec, "Config"), "Labels"), cf->f);
}

static void containers_prune(struct api_req *r)
{
	static const char *const known[] = { "until", "label", "label!", NULL };
	bool ok;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	struct ctr_filter cf = { .f = f };
	if (!until_param(r, f, &cf.until)) {
		json_object_put(f);
		return;
	}
	char **gone = NULL;
	uint64_t bytes = 0;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_prune_if(r->engine, ctr_wanted, &cf, &gone, &bytes, &err);
	api_unlock();
	json_object_put(f);
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *rb = xasprintf("%llu", (unsigned long long)bytes);
	json_object_object_add(attrs, "reclaimed", json_object_new_string(rb));
	cell_event(r->engine, "container", "prune", "", attrs);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ContainersDeleted", strv_json(gone));
	json_object_object_add(o, "SpaceReclaimed", json_object_new_int64((int64_t)bytes));
	strv_free(gone);
	api_reply_json(r, 200, o);
}

static bool is_false(json_object *a)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(a, i));
		if (streq(v, "false") || streq(v, "0") || strcasecmp(v, "false") == 0)
			return true;
	}
	return false;
}

static void images_prune(struct api_req *r)
{
	static const char *const known[] = { "until", "label", "label!", "dangling", NULL };
	bool ok;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	long long until;
	if (!until_param(r, f, &until)) {
		json_object_put(f);
		return;
	}
	/* dangling=false: every image no container uses, not only the unnamed */
	bool all = is_false(get(f, "dangling"));
	bool chosen = until || get(f, "label") || get(f, "label!");
	struct cell_store *s = NULL;
	struct cell_image_summary *sum = NULL;
	size_t n = 0;
	cell_error *err = NULL;
	char **only = NULL, **deleted = NULL;
	uint64_t reclaimed = 0;
	api_lock();
	int rc = cell_store_open(r->engine->root, &s, &err);
	if (rc == 0)
		rc = cell_image_list(s, &sum, &n, &err);
	if (rc == 0 && chosen) {
		only = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0, k = 0; i < n; i++) {
			struct cell_image *img = NULL;
			cell_error *x = NULL;
			if (until && api_time_unix(sum[i].created) >= until)
				continue;
			if (cell_image_resolve(s, sum[i].id, &img, &x) < 0) {
				cell_error_free(&x);
				continue;
			}
			json_object *labels = labels_obj(img->config.labels);
			if (labels_ok(labels, f))
				only[k++] = xstrdup(sum[i].id);
			json_object_put(labels);
			cell_image_free(img);
		}
	}
	if (rc == 0)
		rc = cell_image_prune_only(s, all, chosen ? only : NULL, &deleted, &reclaimed, &err);
	api_unlock();
	json_object_put(f);
	strv_free(only);
	if (rc < 0) {
		cell_image_summary_free(sum, n);
		cell_store_free(s);
		strv_free(deleted);
		api_error_from(r, &err, 500);
		return;
	}
	/* dockerd's list: each name untagged, then the image deleted */
	json_object *list = json_object_new_array();
	for (size_t i = 0; deleted && deleted[i]; i++) {
		for (size_t j = 0; j < n; j++) {
			if (!streq(sum[j].id, deleted[i]))
				continue;
			for (size_t t = 0; sum[j].names && sum[j].names[t]; t++) {
				json_object *u = json_object_new_object();
				json_object_object_add(u, "Untagged", json_object_new_string(sum[j].names[t]));
				json_object_array_add(list, u);
			}
		}
		json_object *d = json_object_new_object();
		json_object_object_add(d, "Deleted", json_object_new_string(deleted[i]));
		json_object_array_add(list, d);
		cell_event(r->engine, "image", "delete", deleted[i], NULL);
	}
	cell_image_summary_free(sum, n);
	cell_store_free(s);
	strv_free(deleted);
	json_object *attrs = json_object_new_object();
	_cleanup_free_ char *rb = xasprintf("%llu", (unsigned long long)reclaimed);
	json_object_object_add(attrs, "reclaimed", json_object_new_string(rb));
	cell_event(r->engine, "image", "prune", "", attrs);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ImagesDeleted", json_object_array_length(list) ? list : (json_object_put(list), NULL));
	json_object_object_add(o, "SpaceReclaimed", json_object_new_int64((int64_t)reclaimed));
	api_reply_json(r, 200, o);
}

const struct api_route api_routes_df[] = {
	{ "GET", "/system/df", system_df },
	{ "POST", "/containers/prune", containers_prune },
	{ "POST", "/images/prune", images_prune },
	{ NULL, NULL, NULL },
};
