/* The API's image routes: list, inspect, tag, remove, pull (POST
 * /images/create). The store does the work, as for `cell images`, `cell
 * tag`, `cell rmi` and `cell pull`. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "image/auth.h"
#include "image/image.h"
#include "image/registry.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool open_store(struct api_req *r, struct cell_store **s)
{
	cell_error *err = NULL;
	if (cell_store_open(r->engine->root, s, &err) < 0) {
		api_error_from(r, &err, 500);
		return false;
	}
	return true;
}

static json_object *repo_digests(const struct cell_image_summary *im)
{
	json_object *a = json_object_new_array();
	if (!im->manifest_digest || !*im->manifest_digest)
		return a;
	for (size_t i = 0; im->names && im->names[i]; i++) {
		_cleanup_free_ char *repo = xstrdup(im->names[i]);
		char *colon = strrchr(repo, ':');
		if (colon && !strchr(colon, '/'))
			*colon = 0;
		_cleanup_free_ char *d = xasprintf("%s@%s", repo, im->manifest_digest);
		json_object_array_add(a, json_object_new_string(d));
	}
	return a;
}

static bool ref_match(const char *name, const char *want)
{
	if (streq(name, want))
		return true;
	/* "busybox" matches "busybox:*"; a pattern ending in * a prefix */
	size_t n = strlen(want);
	if (n && want[n - 1] == '*')
		return strncmp(name, want, n - 1) == 0;
	return strncmp(name, want, n) == 0 && name[n] == ':';
}

static void list(struct api_req *r)
{
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	json_object *f = NULL;
	const char *fs = api_query(r, "filters");
	if (fs && *fs) {
		f = json_tokener_parse(fs);
		if (!f || !json_object_is_type(f, json_type_object)) {
			json_object_put(f);
			cell_store_free(s);
			api_error(r, 400, "invalid filter: `%s` is not a JSON object", fs);
			return;
		}
	}
	json_object *refs = get(f, "reference");
	const char *filter_ref = api_query(r, "filter");	/* API < 1.41 */
	struct cell_image_summary *v = NULL;
	size_t n = 0;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_image_list(s, &v, &n, &err);
	json_object *out = json_object_new_array();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct cell_image_summary *im = &v[i];
		bool want = true;
		if ((refs && json_object_is_type(refs, json_type_array) && json_object_array_length(refs)) || filter_ref) {
			want = false;
			for (size_t k = 0; im->names && im->names[k] && !want; k++) {
				if (filter_ref && ref_match(im->names[k], filter_ref))
					want = true;
				for (size_t j = 0; refs && j < json_object_array_length(refs) && !want; j++)
					want = ref_match(im->names[k], json_object_get_string(json_object_array_get_idx(refs, j)));
			}
		}
		if (!want)
			continue;
		json_object *o = json_object_new_object();
		_cleanup_free_ char *id = strncmp(im->id, "sha256:", 7) ? xasprintf("sha256:%s", im->id) : xstrdup(im->id);
		json_object_object_add(o, "Id", json_object_new_string(id));
		json_object_object_add(o, "ParentId", json_object_new_string(""));
		json_object *tags = json_object_new_array();
		for (size_t k = 0; im->names && im->names[k]; k++)
			json_object_array_add(tags, json_object_new_string(im->names[k]));
		json_object_object_add(o, "RepoTags", tags);
		json_object_object_add(o, "RepoDigests", repo_digests(im));
		json_object_object_add(o, "Created", json_object_new_int64(api_time_unix(im->created)));
		json_object_object_add(o, "Size", json_object_new_int64((int64_t)im->size));
		json_object_object_add(o, "SharedSize", json_object_new_int(-1));
		json_object_object_add(o, "VirtualSize", json_object_new_int64((int64_t)im->size));
		json_object *labels = NULL, *doc = NULL;
		cell_error *x = NULL;
		if (cell_image_inspect_json(s, id, &doc, &x) == 0)
			labels = get(get(doc, "Config"), "Labels");
		else
			cell_error_free(&x);
		json_object_object_add(o, "Labels", labels && json_object_is_type(labels, json_type_object) ?
							    json_object_get(labels) : json_object_new_object());
		json_object_put(doc);
		json_object_object_add(o, "Containers", json_object_new_int(-1));
		json_object_array_add(out, o);
	}
	api_unlock();
	cell_image_summary_free(v, n);
	cell_store_free(s);
	json_object_put(f);
	if (rc < 0) {
		json_object_put(out);
		api_error_from(r, &err, 500);
		return;
	}
	api_reply_json(r, 200, out);
}

static void inspect(struct api_req *r)
{
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	json_object *doc = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_image_inspect_json(s, api_param(r, "name"), &doc, &err);
	api_unlock();
	cell_store_free(s);
	if (rc < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such image: %s", api_param(r, "name"));
		return;
	}
	api_reply_json(r, 200, doc);
}

static void tag(struct api_req *r)
{
	const char *repo = api_query(r, "repo"), *t = api_query(r, "tag");
	if (!repo || !*repo) {
		api_error(r, 400, "tag: the repository (query parameter `repo`) is missing");
		return;
	}
	_cleanup_free_ char *name = t && *t ? xasprintf("%s:%s", repo, t) : xstrdup(repo);
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_image_tag(s, api_param(r, "name"), name, &err);
	api_unlock();
	cell_store_free(s);
	if (rc < 0) {
		api_error_from(r, &err, 400);
		return;
	}
	api_reply_empty(r, 201);
}

static void remove_(struct api_req *r)
{
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	_cleanup_strv_ char **untagged = NULL, **deleted = NULL;
	cell_error *err = NULL;
	api_lock();
	int rc = cell_image_remove(s, api_param(r, "name"), api_query_bool(r, "force", false), &untagged, &deleted,
				   &err);
	api_unlock();
	cell_store_free(s);
	if (rc < 0) {
		api_error_from(r, &err, 409);
		return;
	}
	json_object *out = json_object_new_array();
	for (size_t i = 0; untagged && untagged[i]; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Untagged", json_object_new_string(untagged[i]));
		json_object_array_add(out, o);
	}
	for (size_t i = 0; deleted && deleted[i]; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "Deleted", json_object_new_string(deleted[i]));
		json_object_array_add(out, o);
	}
	api_reply_json(r, 200, out);
}

/* POST /images/create?fromImage=NAME&tag=TAG: a pull. Docker answers 200
 * and a stream of JSON progress lines, an error being the last line. */
static void line(char **buf, json_object *o)
{
	char *t = xasprintf("%s%s\r\n", *buf, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	free(*buf);
	*buf = t;
	json_object_put(o);
}

static json_object *status_line(const char *status, const char *id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(status));
	if (id)
		json_object_object_add(o, "id", json_object_new_string(id));
	return o;
}

static void pull(struct api_req *r)
{
	const char *from = api_query(r, "fromImage"), *t = api_query(r, "tag");
	if (!from || !*from) {
		api_error(r, 400, "image create: only pulls are served (query parameter `fromImage`); importing "
			  "(`fromSrc`) is `cell import`");
		return;
	}
	_cleanup_free_ char *ref = NULL;
	if (t && *t)
		ref = xasprintf(strncmp(t, "sha256:", 7) == 0 ? "%s@%s" : "%s:%s", from, t);
	else
		ref = xstrdup(from);
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	struct cell_registry_opts o = { 0 };
	_cleanup_free_ char *creds = NULL;
	cell_error *aerr = NULL;
	if (cell_auth_from_header(api_header(r, "X-Registry-Auth"), &creds, &aerr) < 0) {
		cell_store_free(s);
		api_error_from(r, &aerr, 400);
		return;
	}
	o.creds = creds;	/* none: the login store (cell login), as a pull from the CLI */
	_cleanup_free_ char *id = NULL, *digest = NULL;
	cell_error *err = NULL;
	/* not under the API lock: a pull takes long, the store has its own */
	int rc = cell_image_pull(s, ref, &o, &id, &digest, &err);
	cell_store_free(s);
	if (creds)
		explicit_bzero(creds, strlen(creds));
	_cleanup_free_ char *buf = xstrdup("");
	_cleanup_free_ char *pulling = xasprintf("Pulling from %s", from);
	line(&buf, status_line(pulling, t && *t ? t : "latest"));
	if (rc < 0) {
		json_object *e = json_object_new_object(), *d = json_object_new_object();
		json_object_object_add(d, "message", json_object_new_string(err->msg));
		json_object_object_add(e, "errorDetail", d);
		json_object_object_add(e, "error", json_object_new_string(err->msg));
		cell_error_free(&err);
		line(&buf, e);
	} else {
		_cleanup_free_ char *dg = xasprintf("Digest: %s", digest ? digest : "");
		line(&buf, status_line(dg, NULL));
		_cleanup_free_ char *st = xasprintf("Status: Downloaded newer image for %s", ref);
		line(&buf, status_line(st, NULL));
	}
	api_reply_text(r, 200, "application/json", buf);
}

/* POST /images/{name}/push?tag=T: the image pushed to the registry its name
 * names; progress lines as dockerd's, an error being the last line. */
static void push(struct api_req *r)
{
	const char *name = api_param(r, "name"), *t = api_query(r, "tag");
	_cleanup_free_ char *ref = t && *t ? xasprintf("%s:%s", name, t) : xstrdup(name);
	struct cell_store *s = NULL;
	if (!open_store(r, &s))
		return;
	struct cell_image *img = NULL;
	cell_error *err = NULL;
	if (cell_image_resolve(s, ref, &img, &err) < 0) {
		cell_store_free(s);
		api_error_from(r, &err, 404);
		return;
	}
	cell_image_free(img);
	struct cell_registry_opts o = { 0 };
	_cleanup_free_ char *creds = NULL, *digest = NULL;
	if (cell_auth_from_header(api_header(r, "X-Registry-Auth"), &creds, &err) < 0) {
		cell_store_free(s);
		api_error_from(r, &err, 400);
		return;
	}
	o.creds = creds;
	int rc = cell_image_push(s, ref, NULL, &o, &digest, &err);
	cell_store_free(s);
	if (creds)
		explicit_bzero(creds, strlen(creds));
	_cleanup_free_ char *buf = xstrdup("");
	_cleanup_free_ char *pushing = xasprintf("The push refers to repository [%s]", name);
	line(&buf, status_line(pushing, NULL));
	if (rc < 0) {
		json_object *e = json_object_new_object(), *d = json_object_new_object();
		json_object_object_add(d, "message", json_object_new_string(err->msg));
		json_object_object_add(e, "errorDetail", d);
		json_object_object_add(e, "error", json_object_new_string(err->msg));
		cell_error_free(&err);
		line(&buf, e);
	} else {
		_cleanup_free_ char *st = xasprintf("%s: digest: %s", t && *t ? t : "latest", digest ? digest : "");
		line(&buf, status_line(st, NULL));
		json_object *aux = json_object_new_object(), *a = json_object_new_object();
		json_object_object_add(a, "Tag", json_object_new_string(t && *t ? t : "latest"));
		json_object_object_add(a, "Digest", json_object_new_string(digest ? digest : ""));
		json_object_object_add(aux, "aux", a);
		line(&buf, aux);
	}
	api_reply_text(r, 200, "application/json", buf);
}

/* POST /auth: docker login asks the engine to check the credentials (the
 * CLI keeps them itself and sends them with each pull and push). */
static void auth(struct api_req *r)
{
	json_object *b = NULL;
	if (!api_body_json(r, &b))
		return;
	const char *user = json_object_get_string(get(b, "username"));
	const char *pass = json_object_get_string(get(b, "password"));
	const char *server = json_object_get_string(get(b, "serveraddress"));
	if (!user || !*user || !pass || strchr(user, ':')) {
		json_object_put(b);
		api_error(r, 400, "login: a user name (without `:`) and a password are needed");
		return;
	}
	_cleanup_free_ char *creds = xasprintf("%s:%s", user, pass);
	json_object_put(b);
	struct cell_registry_opts o = { .creds = creds };
	cell_error *err = NULL;
	int rc = cell_registry_login(server, &o, &err);
	explicit_bzero(creds, strlen(creds));
	if (rc < 0) {
		api_error(r, strstr(err->msg, "unauthorized") ? 401 : 500, "%s", err->msg);
		cell_error_free(&err);
		return;
	}
	json_object *out = json_object_new_object();
	json_object_object_add(out, "Status", json_object_new_string("Login Succeeded"));
	json_object_object_add(out, "IdentityToken", json_object_new_string(""));
	api_reply_json(r, 200, out);
}

const struct api_route api_routes_images[] = {
	{ "POST", "/auth", auth },
	{ "POST", "/images/{name*}/push", push },
	{ "GET", "/images/json", list },
	{ "POST", "/images/create", pull },
	{ "GET", "/images/{name*}/json", inspect },
	{ "POST", "/images/{name*}/tag", tag },
	{ "DELETE", "/images/{name*}", remove_ },
	{ NULL, NULL, NULL },
};
