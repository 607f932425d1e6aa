/* The API's remaining container and image routes: GET
 * /containers/{id}/export (docker export, streamed from a child),
 * /containers/{id}/changes (docker diff), POST /commit (docker commit),
 * GET /images/{name}/history (docker history). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "image/export.h"
#include "image/image.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool lookup(struct api_req *r, const char *ref, char **ret)
{
	cell_error *err = NULL;
	if (!ref || cell_ctr_lookup(r->engine, ref, ret, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref ? ref : "");
		return false;
	}
	return true;
}

/* ---- export ---- */

static int export_child(void *cls, int fd)
{
	cell_error *err = NULL;
	return cell_dir_export_tar(cls, fd, &err);
}

static void export_(struct api_req *r)
{
	_cleanup_free_ char *id = NULL, *rootfs = NULL;
	if (!lookup(r, api_param(r, "id"), &id))
		return;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_rootfs(r->engine, id, &rootfs, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_child(r, 200, "application/x-tar", export_child, rootfs);
}

/* ---- changes: [{"Path", "Kind": 0 changed, 1 added, 2 deleted}] ---- */

static void changes(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!lookup(r, api_param(r, "id"), &id))
		return;
	char **lines = NULL;
	cell_error *err = NULL;
	if (cell_ctr_changes(r->engine, id, &lines, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	json_object *a = json_object_new_array();
	for (size_t i = 0; lines[i]; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Path", json_object_new_string(lines[i] + 2));
		json_object_object_add(o, "Kind", json_object_new_int(lines[i][0] == 'C' ? 0 : lines[i][0] == 'A' ? 1 : 2));
		json_object_array_add(a, o);
	}
	strv_free(lines);
	/* dockerd answers null for no change */
	if (json_object_array_length(a) == 0) {
		json_object_put(a);
		api_reply_text(r, 200, "application/json", "null\n");
		return;
	}
	api_reply_json(r, 200, a);
}

/* ---- commit ---- */

static void push_line(char ***v, size_t *n, char *line)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		abort();
	nv[(*n)++] = line;
	nv[*n] = NULL;
	*v = nv;
}

/* The body's config (a container config, as docker commit's SDK callers
 * send it) as Dockerfile change lines: Cmd, Entrypoint, Env, WorkingDir,
 * User, Labels, ExposedPorts, Volumes, StopSignal. */
static void config_changes(json_object *c, char ***v, size_t *n)
{
	static const char *const arrays[][2] = { { "Cmd", "CMD" }, { "Entrypoint", "ENTRYPOINT" } };
	for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
		json_object *a = get(c, arrays[i][0]);
		if (a && json_object_is_type(a, json_type_array))
			push_line(v, n, xasprintf("%s %s", arrays[i][1], json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN)));
	}
	json_object *env = get(c, "Env");
	for (size_t i = 0; env && json_object_is_type(env, json_type_array) && i < json_object_array_length(env); i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(env, i));
		if (kv && strchr(kv, '='))
			push_line(v, n, xasprintf("ENV %s", kv));
	}
	static const char *const strs[][2] = { { "WorkingDir", "WORKDIR" }, { "User", "USER" }, { "StopSignal", "STOPSIGNAL" } };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		const char *s = json_object_get_string(get(c, strs[i][0]));
		if (s && *s)
			push_line(v, n, xasprintf("%s %s", strs[i][1], s));
	}
	json_object *labels = get(c, "Labels");
	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, val)
			push_line(v, n, xasprintf("LABEL %s=%s", k, val ? json_object_get_string(val) : ""));
	}
	json_object *ports = get(c, "ExposedPorts");
	if (ports && json_object_is_type(ports, json_type_object)) {
		json_object_object_foreach(ports, k, val) {
			(void)val;
			push_line(v, n, xasprintf("EXPOSE %s", k));
		}
	}
	json_object *vols = get(c, "Volumes");
	if (vols && json_object_is_type(vols, json_type_object)) {
		json_object_object_foreach(vols, k, val) {
			(void)val;
			push_line(v, n, xasprintf("VOLUME %s", k));
		}
	}
}

static void commit(struct api_req *r)
{
	_cleanup_free_ char *id = NULL, *name = NULL, *new_id = NULL;
	const char *ref = api_query(r, "container");
	if (!ref || !*ref) {
		api_error(r, 400, "commit: the query parameter `container` is needed");
		return;
	}
	json_object *body = NULL;
	if (!api_body_json(r, &body))
		return;
	if (!lookup(r, ref, &id)) {
		json_object_put(body);
		return;
	}
	const char *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
	if (repo && *repo)
		name = xasprintf("%s:%s", repo, tag && *tag ? tag : "latest");
	if (name) {
		struct cell_ref cr;
		cell_error *e = NULL;
		if (cell_ref_parse(name, &cr, &e) < 0) {
			json_object_put(body);
			api_error(r, 400, "commit: invalid reference %s: %s", name, e->msg);
			cell_error_free(&e);
			return;
		}
		cell_ref_clear(&cr);
	}
	char **lines = NULL;
	size_t n = 0;
	_cleanup_free_ const char **given = api_query_all(r, "changes");
	for (size_t i = 0; given && given[i]; i++) {
		/* one parameter may hold several lines (the SDKs join them) */
		_cleanup_free_ char *copy = xstrdup(given[i]);
		for (char *s = strtok(copy, "\n"); s; s = strtok(NULL, "\n"))
			if (*s)
				push_line(&lines, &n, xstrdup(s));
	}
	if (body)
		config_changes(body, &lines, &n);
	json_object_put(body);
	struct cell_commit_opts o = { .name = name, .changes = lines };
	const char *comment = api_query(r, "comment"), *author = api_query(r, "author");
	o.message = comment && *comment ? comment : NULL;
	o.author = author && *author ? author : NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_commit(r->engine, id, ref, api_query_bool(r, "pause", true), &o, &new_id, &err);
	api_unlock();
	strv_free(lines);
	if (rc < 0) {
		api_error_from(r, &err, strstr(err->msg, "change") ? 400 : 500);
		return;
	}
	json_object *out = json_object_new_object();
	json_object_object_add(out, "Id", json_object_new_string(new_id));
	api_reply_json(r, 201, out);
}

/* ---- image history, newest first ---- */

static void history(struct api_req *r)
{
	struct cell_store *s = NULL;
	struct cell_image *img = NULL;
	cell_error *err = NULL;
	if (cell_store_open(r->engine->root, &s, &err) < 0 ||
	    cell_image_resolve(s, api_param(r, "name"), &img, &err) < 0) {
		cell_store_free(s);
		api_error_from(r, &err, 404);
		return;
	}
	json_object *hist = get(img->config_json, "history");
	size_t n = hist && json_object_is_type(hist, json_type_array) ? json_object_array_length(hist) : 0;
	size_t layer = img->n_layers;
	json_object *out = json_object_new_array();
	for (size_t k = 0; k < n; k++) {
		json_object *h = json_object_array_get_idx(hist, n - 1 - k);
		const char *created = json_object_get_string(get(h, "created"));
		const char *by = json_object_get_string(get(h, "created_by"));
		const char *comment = json_object_get_string(get(h, "comment"));
		bool empty = json_object_get_boolean(get(h, "empty_layer"));
		uint64_t size = !empty && layer > 0 ? img->layer_sizes[--layer] : 0;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Id", json_object_new_string(k == 0 ? img->id : "<missing>"));
		json_object_object_add(o, "Created", json_object_new_int64(created ? api_time_unix(created) : 0));
		json_object_object_add(o, "CreatedBy", json_object_new_string(by ? by : ""));
		json_object *tags = json_object_new_array();
		for (size_t i = 0; k == 0 && img->names && img->names[i]; i++)
			json_object_array_add(tags, json_object_new_string(img->names[i]));
		json_object_object_add(o, "Tags", k == 0 ? tags : (json_object_put(tags), NULL));
		json_object_object_add(o, "Size", json_object_new_int64((int64_t)size));
		json_object_object_add(o, "Comment", json_object_new_string(comment ? comment : ""));
		json_object_array_add(out, o);
	}
	cell_image_free(img);
	cell_store_free(s);
	api_reply_json(r, 200, out);
}

/* ---- POST /containers/{id}/update: docker update ---- */

static json_object *res_section(json_object *res, const char *name)
{
	json_object *s = get(res, name);
	if (!s) {
		s = json_object_new_object();
		json_object_object_add(res, name, s);
	}
	return s;
}

static void update(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	json_object *b = NULL;
	if (!api_body_json(r, &b))
		return;
	if (!lookup(r, api_param(r, "id"), &id)) {
		json_object_put(b);
		return;
	}
	/* HostConfig key → linux.resources section and key */
	static const char *const ints[][3] = {
		{ "Memory", "memory", "limit" },	 { "MemorySwap", "memory", "swap" },
		{ "MemoryReservation", "memory", "reservation" }, { "CpuShares", "cpu", "shares" },
		{ "CpuPeriod", "cpu", "period" },	 { "CpuQuota", "cpu", "quota" },
		{ "PidsLimit", "pids", "limit" },	 { "BlkioWeight", "blockIO", "weight" },
	};
	json_object *res = json_object_new_object(), *hc = json_object_new_object();
	_cleanup_free_ char *restart = NULL;
	int restart_max = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		json_object *v = get(b, ints[i][0]);
		if (!v || json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, json_type_int)) {
			api_error(r, 400, "update: %s must be an integer", ints[i][0]);
			goto out;
		}
		int64_t n = json_object_get_int64(v);
		if (n == 0 && !streq(ints[i][0], "PidsLimit"))
			continue;	/* Docker's 0: unchanged */
		if (streq(ints[i][0], "Memory") && n > 0 && n < 6 * 1024 * 1024) {
			api_error(r, 400, "Minimum memory limit allowed is 6MB");
			goto out;
		}
		if (streq(ints[i][0], "BlkioWeight") && (n < 10 || n > 1000)) {
			api_error(r, 400, "Range of blkio weight is from 10 to 1000");
			goto out;
		}
		if (streq(ints[i][0], "PidsLimit") && n == 0)
			continue;
		json_object_object_add(res_section(res, ints[i][1]), ints[i][2], json_object_new_int64(n));
		json_object_object_add(hc, ints[i][0], json_object_new_int64(n));
	}
	json_object *nano = get(b, "NanoCpus");
	if (nano && json_object_get_int64(nano) > 0) {
		int64_t quota = json_object_get_int64(nano) / 10000;
		json_object_object_add(res_section(res, "cpu"), "quota", json_object_new_int64(quota));
		json_object_object_add(res_section(res, "cpu"), "period", json_object_new_int64(100000));
		json_object_object_add(hc, "NanoCpus", json_object_new_int64(json_object_get_int64(nano)));
	}
	static const char *const strs[][2] = { { "CpusetCpus", "cpus" }, { "CpusetMems", "mems" } };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		const char *v = json_object_get_string(get(b, strs[i][0]));
		if (v && *v) {
			json_object_object_add(res_section(res, "cpu"), strs[i][1], json_object_new_string(v));
			json_object_object_add(hc, strs[i][0], json_object_new_string(v));
		}
	}
	json_object *rp = get(b, "RestartPolicy");
	const char *rname = json_object_get_string(get(rp, "Name"));
	if (rname && *rname) {
		if (!streq(rname, "no") && !streq(rname, "always") && !streq(rname, "unless-stopped") &&
		    !streq(rname, "on-failure")) {
			api_error(r, 400, "invalid restart policy '%s'", rname);
			goto out;
		}
		restart = xstrdup(rname);
		restart_max = json_object_get_int(get(rp, "MaximumRetryCount"));
	}
	if (json_object_object_length(hc) == 0 && !restart) {
		json_object *out = json_object_new_object();
		json_object_object_add(out, "Warnings", json_object_new_array());
		api_reply_json(r, 200, out);
		goto out;
	}
	struct cell_update_req q = { .res = res, .hc = hc, .restart = restart, .restart_max = restart_max };
	cell_error *err = NULL;
	api_lock();
	int rc = cell_ctr_update_resources(r->engine, id, &q, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, strstr(err->msg, "conflicts") ? 400 : 500);
		goto out;
	}
	json_object *out = json_object_new_object();
	json_object_object_add(out, "Warnings", json_object_new_array());
	api_reply_json(r, 200, out);
out:
	json_object_put(res);
	json_object_put(hc);
	json_object_put(b);
}

const struct api_route api_routes_misc[] = {
	{ "POST", "/containers/{id}/update", update, 0 },
	{ "GET", "/containers/{id}/export", export_, 0 },
	{ "GET", "/containers/{id}/changes", changes, 0 },
	{ "POST", "/commit", commit, 0 },
	{ "GET", "/images/{name*}/history", history, 0 },
	{ NULL, NULL, NULL, 0 },
};
