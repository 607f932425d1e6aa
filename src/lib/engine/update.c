/* `cell update` and the API's POST /containers/{id}/update (engine.h:
 * cell_ctr_update_resources): a running container's cgroup is changed
 * through the runtime's update (the path `cell-runtime update` takes); the
 * bundle's linux.resources and the record's HostConfig keep the new values
 * for the next start. */
#define _GNU_SOURCE
#include <string.h>

#include "engine.h"
#include "json.h"
#include "runtime/runtime.h"
#include "util.h"

static json_object *section(json_object *res, const char *name)
{
	json_object *s = json_object_object_get(res, name);
	if (!s) {
		s = json_object_new_object();
		json_object_object_add(res, name, s);
	}
	return s;
}

static void merge(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, k, v) {
		json_object *d = json_object_object_get(dst, k);
		if (json_object_is_type(v, json_type_object) && json_object_is_type(d, json_type_object))
			merge(d, v);
		else
			json_object_object_add(dst, k, json_object_get(v));
	}
}

static int record_update(json_object *rec, void *data, cell_error **err)
{
	const struct cell_update_req *u = data;
	json_object *hc = json_object_object_get(rec, "HostConfig");
	if (!hc)
		return cell_error_set(err, "the container's record has no HostConfig");
	merge(hc, u->hc);
	if (u->restart) {
		json_object *rp = json_object_new_object();
		json_object_object_add(rp, "Name", json_object_new_string(u->restart));
		json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(u->restart_max));
		json_object_object_add(hc, "RestartPolicy", rp);
	}
	return 0;
}

int cell_ctr_update_resources(struct cell_engine *e, const char *id, const struct cell_update_req *u,
			      cell_error **err)
{
	json_object *rec = NULL;
	if (cell_ctr_load(e, id, &rec, err) < 0)
		return -1;
	const char *s = cell_ctr_status(rec);
	bool live = streq(s, "running") || streq(s, "paused");
	bool autorm = json_object_get_boolean(json_object_object_get(json_object_object_get(rec, "HostConfig"),
								     "AutoRemove"));
	json_object_put(rec);
	if (u->restart && !streq(u->restart, "no") && autorm)
		return cell_error_set(err, "cannot update container `%.12s`: --restart %s conflicts with its --rm", id,
				      u->restart);
	if (live && json_object_object_length(u->res) > 0 && cell_rt_update(e->rt_root, id, u->res, err) < 0)
		return cell_error_wrap(err, "update container `%.12s`", id);
	/* the next start's bundle */
	_cleanup_free_ char *cfg = xasprintf("%s/%s/bundle/config.json", e->ctr_root, id);
	json_object *doc = NULL;
	if (json_object_object_length(u->res) > 0) {
		if (cj_parse_file(cfg, &doc, err) < 0)
			return -1;
		json_object *linux_ = json_object_object_get(doc, "linux");
		if (!linux_) {
			linux_ = json_object_new_object();
			json_object_object_add(doc, "linux", linux_);
		}
		merge(section(linux_, "resources"), u->res);
		const char *text = cj_to_string(doc, false);
		int r = write_file_atomic(cfg, text, strlen(text), 0600, err);
		json_object_put(doc);
		if (r < 0)
			return -1;
	}
	return cell_ctr_update(e, id, record_update, (void *)u, err);
}

