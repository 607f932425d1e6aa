/* The API's volume routes, in dockerd's shapes: list, inspect, create,
 * delete, prune. The volumes are the engine's local ones (engine/volume.c),
 * whose records are Docker's Volume objects already. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine/volume.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* A record as dockerd's Volume: Status and UsageData are optional there */
static json_object *volume_json(json_object *rec)
{
	if (!get(rec, "Options") || json_object_is_type(get(rec, "Options"), json_type_null))
		json_object_object_add(rec, "Options", json_object_new_object());
	if (!get(rec, "Labels") || json_object_is_type(get(rec, "Labels"), json_type_null))
		json_object_object_add(rec, "Labels", json_object_new_object());
	return rec;
}

static bool unused(struct api_req *r, const char *name)
{
	_cleanup_strv_ char **users = NULL;
	cell_error *e = NULL;
	if (cell_volume_users(r->engine, name, &users, &e) < 0) {
		cell_error_free(&e);
		return false;
	}
	return users[0] == NULL;
}

static bool bool_value(const char *v, bool *ret)
{
	if (streq(v, "true") || streq(v, "1"))
		*ret = true;
	else if (streq(v, "false") || streq(v, "0"))
		*ret = false;
	else
		return false;
	return true;
}

static void list(struct api_req *r)
{
	static const char *const known[] = { "name", "label", "dangling", "driver", NULL };
	bool ok;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	json_object *names_f = get(f, "name"), *drivers = get(f, "driver"), *dang = get(f, "dangling");
	int dangling = -1;
	if (dang && json_object_array_length(dang)) {
		bool b;
		const char *v = json_object_get_string(json_object_array_get_idx(dang, 0));
		if (!bool_value(v, &b)) {
			api_error(r, 400, "invalid filter 'dangling=%s': expected true or false", v);
			json_object_put(f);	/* after: v is its */
			return;
		}
		dangling = b;
	}
	_cleanup_strv_ char **names = NULL;
	cell_error *e = NULL;
	if (cell_volume_list(r->engine, &names, &e) < 0) {
		json_object_put(f);
		api_error_from(r, &e, 500);
		return;
	}
	json_object *vols = json_object_new_array();
	for (char **it = names; *it; it++) {
		json_object *rec = NULL;
		if (cell_volume_get(r->engine, *it, &rec, &e) < 0) {
			cell_error_free(&e);	/* removed meanwhile */
			continue;
		}
		bool want = !names_f || !json_object_array_length(names_f);
		for (size_t i = 0; names_f && i < json_object_array_length(names_f) && !want; i++)
			want = strstr(*it, json_object_get_string(json_object_array_get_idx(names_f, i))) != NULL;
		if (want && drivers && json_object_array_length(drivers)) {
			want = false;
			for (size_t i = 0; i < json_object_array_length(drivers) && !want; i++)
				want = streq(json_object_get_string(json_object_array_get_idx(drivers, i)), "local");
		}
		if (want)
			want = api_labels_match(get(rec, "Labels"), get(f, "label"));
		if (want && dangling >= 0)
			want = unused(r, *it) == (dangling == 1);
		if (want)
			json_object_array_add(vols, volume_json(rec));
		else
			json_object_put(rec);
	}
	json_object_put(f);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Volumes", vols);
	json_object_object_add(o, "Warnings", json_object_new_array());
	api_reply_json(r, 200, o);
}

static void inspect(struct api_req *r)
{
	json_object *rec = NULL;
	cell_error *e = NULL;
	const char *name = api_param(r, "name");
	if (cell_volume_get(r->engine, name, &rec, &e) < 0) {
		if (cell_error_code(e) == ENOENT) {
			cell_error_free(&e);
			api_error(r, 404, "get %s: no such volume", name);
		} else {
			api_error_from(r, &e, 500);
		}
		return;
	}
	api_reply_json(r, 200, volume_json(rec));
}

static void create(struct api_req *r)
{
	json_object *body = NULL, *rec = NULL;
	_cleanup_strv_ char **labels = NULL, **opts = NULL;
	cell_error *e = NULL;
	const char *name = NULL, *driver = NULL;

	if (!api_body_json(r, &body))
		return;
	json_object *n = get(body, "Name"), *d = get(body, "Driver");
	if ((n && !json_object_is_type(n, json_type_string) && !json_object_is_type(n, json_type_null)) ||
	    (d && !json_object_is_type(d, json_type_string) && !json_object_is_type(d, json_type_null))) {
		api_error(r, 400, "invalid volume create: Name and Driver are strings");
		goto out;
	}
	name = n && json_object_is_type(n, json_type_string) && *json_object_get_string(n) ? json_object_get_string(n) : NULL;
	driver = d && json_object_is_type(d, json_type_string) && *json_object_get_string(d) ? json_object_get_string(d) : NULL;
	if (driver && !streq(driver, "local")) {
		api_error(r, 400, "volume driver `%s` is not supported (cell has the `local` driver only)", driver);
		goto out;
	}
	if (!api_kv_strings(get(body, "Labels"), &labels)) {
		api_error(r, 400, "invalid Labels: expected an object of strings");
		goto out;
	}
	if (!api_kv_strings(get(body, "DriverOpts"), &opts)) {
		api_error(r, 400, "invalid DriverOpts: expected an object of strings");
		goto out;
	}
	if (opts[0]) {
		/* the local driver's type/device/o mount something else there */
		api_error(r, 400, "DriverOpts `%s`: driver options are not supported (cell's local volumes are plain "
			  "directories)", opts[0]);
		goto out;
	}
	if (name && !cell_volume_name_valid(name)) {
		api_error(r, 400, "create %s: \"%s\" includes invalid characters for a local volume name, only "
			  "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed", name, name);
		goto out;
	}
	api_lock();
	int rc = cell_volume_create(r->engine, name, labels, false, &rec, NULL, &e);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &e, 500);
		goto out;
	}
	api_reply_json(r, 201, volume_json(rec));
out:
	json_object_put(body);
}

static void remove_(struct api_req *r)
{
	cell_error *e = NULL;
	const char *name = api_param(r, "name");
	bool force = api_query_bool(r, "force", false);
	api_lock();
	int rc = cell_volume_remove(r->engine, name, force, &e);
	api_unlock();
	if (rc < 0) {
		if (cell_error_code(e) == ENOENT) {
			cell_error_free(&e);
			api_error(r, 404, "get %s: no such volume", name);
		} else {
			api_error_from(r, &e, 500);	/* in use: 409 */
		}
		return;
	}
	api_reply_empty(r, 204);
}

static void prune(struct api_req *r)
{
	static const char *const known[] = { "label", "all", NULL };
	bool ok, all = false;
	json_object *f = api_filters(r, known, &ok);
	if (!ok)
		return;
	json_object *af = get(f, "all"), *lf = get(f, "label");
	if (af && json_object_array_length(af)) {
		const char *v = json_object_get_string(json_object_array_get_idx(af, 0));
		if (!bool_value(v, &all)) {
			api_error(r, 400, "invalid filter 'all=%s': expected true or false", v);
			json_object_put(f);	/* after: v is its */
			return;
		}
	}
	/* before API 1.42, prune took every unused volume, named or not */
	if (r->version < 142)
		all = true;
	size_t nl = lf ? json_object_array_length(lf) : 0;
	_cleanup_free_ char **labels = xcalloc(nl + 1, sizeof(char *));
	for (size_t i = 0; i < nl; i++)
		labels[i] = (char *)json_object_get_string(json_object_array_get_idx(lf, i));
	_cleanup_strv_ char **gone = NULL;
	uint64_t bytes = 0;
	cell_error *e = NULL;
	api_lock();
	int rc = cell_volume_prune(r->engine, all, labels, &gone, &bytes, &e);
	api_unlock();
	json_object_put(f);
	if (rc < 0) {
		api_error_from(r, &e, 500);
		return;
	}
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	for (char **it = gone; *it; it++)
		json_object_array_add(a, json_object_new_string(*it));
	json_object_object_add(o, "VolumesDeleted", a);
	json_object_object_add(o, "SpaceReclaimed", json_object_new_int64((int64_t)bytes));
	api_reply_json(r, 200, o);
}

const struct api_route api_routes_volumes[] = {
	{ "GET", "/volumes", list },
	{ "POST", "/volumes/create", create },
	{ "POST", "/volumes/prune", prune },
	{ "GET", "/volumes/{name}", inspect },
	{ "DELETE", "/volumes/{name}", remove_ },
	{ NULL, NULL, NULL },
};
