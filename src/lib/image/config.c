/* The image config document (OCI image-spec config, Docker's container
 * config): its runtime part for the engine, and Dockerfile-style --change
 * lines applied to it at import. */
#define _GNU_SOURCE
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "image-internal.h"
#include "json.h"
#include "util.h"

/* Keys of an object as "k" or, with values, "k=v". */
static int keys_of(json_object *o, const char *key, const char *ctx, bool values, char ***ret, cell_error **err)
{
	json_object *m = NULL;
	int r = cj_object(o, key, ctx, &m, err);
	if (r <= 0)
		return r;
	size_t n = 0;
	char **v = xcalloc((size_t)json_object_object_length(m) + 1, sizeof(char *));
	json_object_object_foreach(m, k, val) {
		if (values)
			v[n++] = xasprintf("%s=%s", k, json_object_is_type(val, json_type_string)
								? json_object_get_string(val) : "");
		else
			v[n++] = xstrdup(k);
	}
	*ret = v;
	return 1;
}

static int dup_string(json_object *o, const char *key, const char *ctx, char **ret, cell_error **err)
{
	const char *s = NULL;
	int r = cj_string(o, key, ctx, &s, err);
	if (r > 0)
		*ret = xstrdup(s);
	return r;
}

int cell_image_config_parse(json_object *doc, struct cell_image_config *c, cell_error **err)
{
	json_object *cfg = NULL;
	const char *ctx = "config";

	memset(c, 0, sizeof(*c));
	if (cj_expect_object(doc, "image config", err) < 0 || cj_object(doc, "config", "image config", &cfg, err) < 0)
		return -1;
	if (!cfg)
		return 0;
	if (cj_strv(cfg, "Entrypoint", ctx, &c->entrypoint, err) < 0 || cj_strv(cfg, "Cmd", ctx, &c->cmd, err) < 0 ||
	    cj_strv(cfg, "Env", ctx, &c->env, err) < 0 ||
	    dup_string(cfg, "WorkingDir", ctx, &c->working_dir, err) < 0 ||
	    dup_string(cfg, "User", ctx, &c->user, err) < 0 ||
	    dup_string(cfg, "StopSignal", ctx, &c->stop_signal, err) < 0 ||
	    keys_of(cfg, "ExposedPorts", ctx, false, &c->exposed_ports, err) < 0 ||
	    keys_of(cfg, "Volumes", ctx, false, &c->volumes, err) < 0 ||
	    keys_of(cfg, "Labels", ctx, true, &c->labels, err) < 0)
		return -1;
	return 0;
}

void cell_image_config_clear(struct cell_image_config *c)
{
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	strv_free(c->exposed_ports);
	strv_free(c->volumes);
	strv_free(c->labels);
	free(c->stop_signal);
	memset(c, 0, sizeof(*c));
}

/* ---- --change ---- */

static const char *skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* JSON array form, or shell form run by /bin/sh -c. */
static json_object *exec_form(const char *arg, const char *line, cell_error **err)
{
	if (*arg == '[') {
		json_object *a = NULL;
		if (cj_parse_string(line, arg, &a, err) < 0)
			return NULL;
		bool ok = json_object_is_type(a, json_type_array);
		for (size_t i = 0; ok && i < json_object_array_length(a); i++)
			ok = json_object_is_type(json_object_array_get_idx(a, i), json_type_string);
		if (!ok) {
			json_object_put(a);
			cell_error_set(err, "change `%s`: expected a JSON array of strings", line);
			return NULL;
		}
		return a;
	}
	json_object *a = json_object_new_array();
	json_object_array_add(a, json_object_new_string("/bin/sh"));
	json_object_array_add(a, json_object_new_string("-c"));
	json_object_array_add(a, json_object_new_string(arg));
	return a;
}

static json_object *sub_object(json_object *cfg, const char *key)
{
	json_object *o;
	if (!json_object_object_get_ex(cfg, key, &o) || !json_object_is_type(o, json_type_object)) {
		o = json_object_new_object();
		json_object_object_add(cfg, key, o);
	}
	return o;
}

/* Split "a=1 b=\"x y\"" into words, dropping double quotes. */
static char **words(const char *s)
{
	size_t n = 0;
	char **v = xcalloc(strlen(s) + 2, sizeof(char *));
	while (*(s = skip_ws(s))) {
		char *w = xmalloc(strlen(s) + 1), *o = w;
		bool q = false;
		for (; *s && (q || !isspace((unsigned char)*s)); s++) {
			if (*s == '"')
				q = !q;
			else
				*o++ = *s;
		}
		*o = '\0';
		v[n++] = w;
	}
	return v;
}

static void set_env(json_object *cfg, const char *k, const char *v)
{
	json_object *env;
	if (!json_object_object_get_ex(cfg, "Env", &env) || !json_object_is_type(env, json_type_array)) {
		env = json_object_new_array();
		json_object_object_add(cfg, "Env", env);
	}
	size_t kl = strlen(k);
	for (size_t i = 0; i < json_object_array_length(env); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(env, i));
		if (e && strncmp(e, k, kl) == 0 && e[kl] == '=') {
			json_object_array_del_idx(env, i, 1);
			break;
		}
	}
	_cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
	json_object_array_add(env, json_object_new_string(kv));
}

static int apply_pairs(json_object *cfg, const char *what, const char *arg, const char *line, cell_error **err)
{
	_cleanup_strv_ char **w = words(arg);
	if (!w[0])
		return cell_error_set(err, "change `%s`: %s needs at least one key=value", line, what);
	if (!strchr(w[0], '=')) {	/* "ENV KEY value with spaces" */
		const char *rest = skip_ws(arg + strlen(w[0]));
		if (streq(what, "ENV"))
			set_env(cfg, w[0], rest);
		else
			json_object_object_add(sub_object(cfg, "Labels"), w[0], json_object_new_string(rest));
		return 0;
	}
	for (size_t i = 0; w[i]; i++) {
		char *eq = strchr(w[i], '=');
		if (!eq)
			return cell_error_set(err, "change `%s`: `%s` is not key=value", line, w[i]);
		*eq = '\0';
		if (streq(what, "ENV"))
			set_env(cfg, w[i], eq + 1);
		else
			json_object_object_add(sub_object(cfg, "Labels"), w[i], json_object_new_string(eq + 1));
	}
	return 0;
}

/* Apply one Dockerfile-style line to the "config" object of an image config. */
int cell_image_config_change(json_object *cfg, const char *line, cell_error **err)
{
	const char *p = skip_ws(line);
	size_t kl = 0;
	while (p[kl] && !isspace((unsigned char)p[kl]))
		kl++;
	_cleanup_free_ char *kw = strndup(p, kl);
	const char *arg = skip_ws(p + kl);
	if (!*arg)
		return cell_error_set(err, "change `%s`: missing argument", line);

	if (!strcasecmp(kw, "CMD") || !strcasecmp(kw, "ENTRYPOINT")) {
		json_object *a = exec_form(arg, line, err);
		if (!a)
			return -1;
		json_object_object_add(cfg, !strcasecmp(kw, "CMD") ? "Cmd" : "Entrypoint", a);
		if (!strcasecmp(kw, "ENTRYPOINT"))
			json_object_object_del(cfg, "Cmd");	/* as Docker: ENTRYPOINT resets CMD */
	} else if (!strcasecmp(kw, "ENV") || !strcasecmp(kw, "LABEL")) {
		return apply_pairs(cfg, !strcasecmp(kw, "ENV") ? "ENV" : "LABEL", arg, line, err);
	} else if (!strcasecmp(kw, "WORKDIR") || !strcasecmp(kw, "USER") || !strcasecmp(kw, "STOPSIGNAL")) {
		const char *key = !strcasecmp(kw, "WORKDIR") ? "WorkingDir" : !strcasecmp(kw, "USER") ? "User" : "StopSignal";
		json_object_object_add(cfg, key, json_object_new_string(arg));
	} else if (!strcasecmp(kw, "EXPOSE")) {
		_cleanup_strv_ char **w = words(arg);
		for (size_t i = 0; w[i]; i++) {
			_cleanup_free_ char *port = strchr(w[i], '/') ? xstrdup(w[i]) : xasprintf("%s/tcp", w[i]);
			char *slash = strchr(port, '/');
			int64_t num;
			*slash = '\0';
			if (parse_int64(port, &num) < 0 || num < 1 || num > 65535 ||
			    !(streq(slash + 1, "tcp") || streq(slash + 1, "udp") || streq(slash + 1, "sctp")))
				return cell_error_set(err, "change `%s`: invalid port `%s`", line, w[i]);
			*slash = '/';
			json_object_object_add(sub_object(cfg, "ExposedPorts"), port, json_object_new_object());
		}
	} else if (!strcasecmp(kw, "VOLUME")) {
		json_object *vols = sub_object(cfg, "Volumes");
		if (*arg == '[') {
			json_object *a = exec_form(arg, line, err);
			if (!a)
				return -1;
			for (size_t i = 0; i < json_object_array_length(a); i++)
				json_object_object_add(vols, json_object_get_string(json_object_array_get_idx(a, i)),
						       json_object_new_object());
			json_object_put(a);
		} else {
			_cleanup_strv_ char **w = words(arg);
			for (size_t i = 0; w[i]; i++)
				json_object_object_add(vols, w[i], json_object_new_object());
		}
	} else {
		return cell_error_set(err, "change `%s`: unsupported instruction `%s` (CMD, ENTRYPOINT, ENV, EXPOSE, "
				      "LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)", line, kw);
	}
	return 0;
}
