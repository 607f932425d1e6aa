/* The builder: stages, ARG/ENV scoping, one image per step, the cache.
 * See build.h for the model. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build-internal.h"
#include "dockerfile.h"
#include "engine/engine.h"
#include "image/image-internal.h"
#include "json.h"
#include "root.h"
#include "util.h"

struct arg {
	char *name;
	char *value;	/* NULL: declared without a value */
};

struct stage {
	const struct cell_df_stage *df;
	int state;	/* 0 not built, 1 building, 2 built */
	char *image;
};

struct builder {
	struct cell_engine *e;
	struct cell_store *s;
	const struct cell_build_opts *o;
	struct cell_dockerfile *df;
	struct bcontext ctx;
	FILE *out;
	struct stage *stages;
	struct arg *bargs;	/* --build-arg */
	bool *barg_used;
	size_t n_bargs;
	struct arg *meta;	/* ARGs before the first FROM */
	size_t n_meta;
	size_t n_needed, stage_no;
};

struct sstate {
	struct builder *b;
	const struct cell_df_stage *st;
	char *image;
	struct cell_image *img;
	struct arg *args;
	size_t n_args;
	bool cmd_set;
	size_t step;
};

static const char *const proxy_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL,
};

static void say(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct builder *b, const char *fmt, ...)
{
	if (!b->out)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(b->out, fmt, ap);
	va_end(ap);
	fflush(b->out);
}

static const char *short_id(const char *id)
{
	static char buf[16];
	snprintf(buf, sizeof(buf), "%.12s", strncmp(id, "sha256:", 7) == 0 ? id + 7 : id);
	return buf;
}

/* ---- variables ---- */

static struct arg *arg_find(struct arg *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].name, name))
			return &v[i];
	return NULL;
}

static void arg_set(struct arg **v, size_t *n, const char *name, const char *value)
{
	struct arg *a = arg_find(*v, *n, name);
	if (!a) {
		*v = realloc(*v, (*n + 1) * sizeof(**v));
		if (!*v)
			abort();
		a = &(*v)[(*n)++];
		a->name = xstrdup(name);
	} else {
		free(a->value);
	}
	a->value = value ? xstrdup(value) : NULL;
}

static void args_free(struct arg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* The value of a --build-arg, marking it used. */
static struct arg *barg(struct builder *b, const char *name)
{
	for (size_t i = 0; i < b->n_bargs; i++)
		if (streq(b->bargs[i].name, name)) {
			b->barg_used[i] = true;
			return &b->bargs[i];
		}
	return NULL;
}

static const char *env_get(char **env, const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, l) == 0 && env[i][l] == '=')
			return env[i] + l + 1;
	return NULL;
}

static const char *stage_lookup(const char *name, void *data)
{
	struct sstate *ss = data;
	const char *v = ss->img ? env_get(ss->img->config.env, name) : NULL;
	if (v)
		return v;
	struct arg *a = arg_find(ss->args, ss->n_args, name);
	if (a)
		return a->value;
	for (size_t i = 0; proxy_args[i]; i++)
		if (streq(proxy_args[i], name)) {
			struct arg *ba = barg(ss->b, name);
			return ba ? ba->value : NULL;
		}
	return NULL;
}

static const char *meta_lookup(const char *name, void *data)
{
	struct builder *b = data;
	struct arg *a = arg_find(b->meta, b->n_meta, name);
	return a ? a->value : NULL;
}

static int expand(struct sstate *ss, const char *word, char **ret, cell_error **err)
{
	return cell_df_expand(word, ss->b->df->escape, stage_lookup, ss, ret, err);
}

/* An error at an instruction: "Dockerfile:LINE: KIND: ...". */
static int at(struct builder *b, const struct cell_df_instr *in, cell_error **err)
{
	return cell_error_wrap(err, "%s:%u: %s", b->df->filename ? b->df->filename : "Dockerfile", in->line,
			       cell_df_kind_name(in->kind));
}

/* ---- state ---- */

static int load_image(struct sstate *ss, const char *id, cell_error **err)
{
	struct cell_image *img = NULL;
	if (cell_image_resolve(ss->b->s, id, &img, err) < 0)
		return -1;
	cell_image_free(ss->img);
	ss->img = img;
	if (ss->image != id) {
		free(ss->image);
		ss->image = xstrdup(img->id);
	}
	return 0;
}

static json_object *cur_config(struct sstate *ss)
{
	json_object *c = ss->img ? json_object_object_get(ss->img->config_json, "config") : NULL;
	return json_object_is_type(c, json_type_object) ? c : NULL;
}

static char **cur_shell(struct sstate *ss)
{
	json_object *sh = cur_config(ss) ? json_object_object_get(cur_config(ss), "Shell") : NULL;
	size_t n = json_object_is_type(sh, json_type_array) ? json_object_array_length(sh) : 0;
	char **v = xcalloc(n + 4, sizeof(char *));	/* room for the command and NULL */
	if (n == 0) {
		v[0] = xstrdup("/bin/sh");
		v[1] = xstrdup("-c");
		return v;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(sh, i)));
	return v;
}

/* The cache key of a step. */
static void step_key(struct sstate *ss, const struct cell_df_instr *in, const char *extra, char key[CELL_DIGEST_LEN + 1])
{
	struct cell_sha256 *h = cell_sha256_new();
	const char *parts[] = { "cell-build-2", ss->image, cell_df_kind_name(in->kind), in->original };
	for (size_t i = 0; i < 4; i++)
		cell_sha256_update(h, parts[i], strlen(parts[i]) + 1);
	for (size_t i = 0; i < in->n_heredocs; i++)
		cell_sha256_update(h, in->heredocs[i].body, strlen(in->heredocs[i].body) + 1);
	for (size_t i = 0; i < ss->n_args; i++) {
		cell_sha256_update(h, ss->args[i].name, strlen(ss->args[i].name) + 1);
		const char *v = ss->args[i].value ? ss->args[i].value : "\x01unset";
		cell_sha256_update(h, v, strlen(v) + 1);
	}
	if (extra)
		cell_sha256_update(h, extra, strlen(extra) + 1);
	cell_sha256_final(h, key);
}

/* A cached result for key, printed as podman does; NULL on a miss. */
static char *cache_lookup(struct sstate *ss, const char *key)
{
	if (ss->b->o->no_cache)
		return NULL;
	char *id = bcache_get(ss->b->s, key);
	if (id)
		say(ss->b, "--> Using cache %s\n", id + 7);
	return id;
}

/* The step made (or found) image id: it becomes the stage's state. */
static int step_done(struct sstate *ss, const char *key, char *id, bool cached, cell_error **err)
{
	if (!cached && key && bcache_put(ss->b->s, key, id, err) < 0) {
		free(id);
		return -1;
	}
	free(ss->image);
	ss->image = id;
	if (load_image(ss, id, err) < 0)
		return -1;
	say(ss->b, "--> %s\n", short_id(id));
	return 0;
}

/* ---- metadata steps: a patch of the config object ---- */

/* patch: keys of the config object to set (a NULL value deletes); a key
 * "/author" sets the document's own author (MAINTAINER). */
static int apply_patch(json_object *doc, json_object *cfg, void *data, cell_error **err)
{
	json_object *patch = data;
	json_object_object_foreach(patch, k, v) {
		if (k[0] == '/') {
			json_object_object_add(doc, k + 1, json_object_get(v));
			continue;
		}
		if (!v)
			json_object_object_del(cfg, k);
		else
			json_object_object_add(cfg, k, json_object_get(v));
	}
	return 0;
}

static int meta_step(struct sstate *ss, const struct cell_df_instr *in, json_object *patch, cell_error **err)
{
	char key[CELL_DIGEST_LEN + 1];
	step_key(ss, in, patch ? cj_to_string(patch, false) : NULL, key);
	char *id = cache_lookup(ss, key);
	if (id)
		return step_done(ss, key, id, true, err);
	if (bimg_meta(ss->b->s, ss->image, patch ? apply_patch : NULL, patch, in->original, true, &id, err) < 0)
		return -1;
	return step_done(ss, key, id, false, err);
}

static json_object *copy_of(json_object *cfg, const char *key, json_type t)
{
	json_object *v = cfg ? json_object_object_get(cfg, key) : NULL, *c = NULL;
	if (json_object_is_type(v, t) && json_object_deep_copy(v, &c, NULL) == 0)
		return c;
	return t == json_type_array ? json_object_new_array() : json_object_new_object();
}

static json_object *strv_json(char **v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* CMD, ENTRYPOINT, HEALTHCHECK CMD: exec form as is, shell form through SHELL. */
static json_object *command_json(struct sstate *ss, const struct cell_df_instr *in)
{
	if (in->json)
		return strv_json(in->args);
	_cleanup_strv_ char **sh = cur_shell(ss);
	json_object *a = strv_json(sh);
	json_object_array_add(a, json_object_new_string(in->args && in->args[0] ? in->args[0] : ""));
	return a;
}

/* Go's time.ParseDuration for HEALTHCHECK: "30s", "1m30s", "500ms" → ns. */
static int parse_duration(const char *s, int64_t *ret, cell_error **err)
{
	const char *p = s;
	double total = 0;
	if (!*p)
		return cell_error_set(err, "empty duration");
	if (streq(p, "0")) {
		*ret = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return cell_error_set(err, "bad duration `%s` (expected such as 30s, 1m30s, 500ms)", s);
		p = end;
		double mul;
		if (strncmp(p, "ns", 2) == 0) mul = 1, p += 2;
		else if (strncmp(p, "us", 2) == 0) mul = 1e3, p += 2;
		else if (strncmp(p, "ms", 2) == 0) mul = 1e6, p += 2;
		else if (*p == 's') mul = 1e9, p++;
		else if (*p == 'm') mul = 60e9, p++;
		else if (*p == 'h') mul = 3600e9, p++;
		else
			return cell_error_set(err, "bad duration `%s`: missing unit (ns, us, ms, s, m, h)", s);
		total += v * mul;
	}
	if (total < 0 || total > 9.2e18)
		return cell_error_set(err, "duration `%s` out of range", s);
	*ret = (int64_t)total;
	return 0;
}

static int healthcheck_patch(struct sstate *ss, const struct cell_df_instr *in, json_object *patch, cell_error **err)
{
	json_object *hc = json_object_new_object();
	json_object_object_add(patch, "Healthcheck", hc);
	if (in->healthcheck_none) {
		json_object *t = json_object_new_array();
		json_object_array_add(t, json_object_new_string("NONE"));
		json_object_object_add(hc, "Test", t);
		return 0;
	}
	json_object *t = json_object_new_array();
	if (in->json) {
		json_object_array_add(t, json_object_new_string("CMD"));
		for (size_t i = 0; i < in->n_args; i++)
			json_object_array_add(t, json_object_new_string(in->args[i]));
	} else {
		json_object_array_add(t, json_object_new_string("CMD-SHELL"));
		json_object_array_add(t, json_object_new_string(in->args && in->args[0] ? in->args[0] : ""));
	}
	json_object_object_add(hc, "Test", t);
	static const struct {
		const char *flag, *key;
	} durs[] = { { "interval", "Interval" }, { "timeout", "Timeout" }, { "start-period", "StartPeriod" },
		     { "start-interval", "StartInterval" } };
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		const struct cell_df_flag *f = cell_df_flag_get(in, durs[i].flag);
		int64_t ns = 0;
		if (!f)
			continue;
		if (!f->value || parse_duration(f->value, &ns, err) < 0)
			return f->value ? cell_error_wrap(err, "--%s", durs[i].flag) : cell_error_set(err, "--%s needs a value", durs[i].flag);
		json_object_object_add(hc, durs[i].key, json_object_new_int64(ns));
	}
	const struct cell_df_flag *f = cell_df_flag_get(in, "retries");
	if (f) {
		int64_t n;
		if (!f->value || parse_int64(f->value, &n) < 0 || n < 0 || n > 1000000)
			return cell_error_set(err, "--retries `%s`: expected a number", f->value ? f->value : "");
		json_object_object_add(hc, "Retries", json_object_new_int64(n));
	}
	(void)ss;
	return 0;
}

/* The patch of a metadata instruction (NULL patch: history only). */
static int meta_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	json_object *cfg = cur_config(ss);
	json_object *patch = json_object_new_object();
	int r = 0;

	switch (in->kind) {
	case CELL_DF_ENV: {
		json_object *env = copy_of(cfg, "Env", json_type_array);
		json_object_object_add(patch, "Env", env);
		for (size_t i = 0; i < in->n_kvs && r == 0; i++) {
			_cleanup_free_ char *k = NULL, *v = NULL;
			if (expand(ss, in->kvs[i].key, &k, err) < 0 ||
			    expand(ss, in->kvs[i].value ? in->kvs[i].value : "", &v, err) < 0) {
				r = -1;
				break;
			}
			if (!*k || strchr(k, '=')) {
				r = cell_error_set(err, "bad variable name `%s`", k);
				break;
			}
			/* replace, keeping the order */
			size_t kl = strlen(k);
			bool done = false;
			_cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
			for (size_t j = 0; j < json_object_array_length(env) && !done; j++) {
				const char *ev = json_object_get_string(json_object_array_get_idx(env, j));
				if (ev && strncmp(ev, k, kl) == 0 && ev[kl] == '=') {
					json_object_array_put_idx(env, j, json_object_new_string(kv));
					done = true;
				}
			}
			if (!done)
				json_object_array_add(env, json_object_new_string(kv));
			/* later pairs of the same line see this value */
			if (ss->img) {
				size_t ne = json_object_array_length(env);
				char **ev = xcalloc(ne + 1, sizeof(char *));
				for (size_t j = 0; j < ne; j++)
					ev[j] = xstrdup(json_object_get_string(json_object_array_get_idx(env, j)));
				strv_free(ss->img->config.env);
				ss->img->config.env = ev;
			}
		}
		break;
	}
	case CELL_DF_LABEL: {
		json_object *l = copy_of(cfg, "Labels", json_type_object);
		for (size_t i = 0; i < in->n_kvs && r == 0; i++) {
			_cleanup_free_ char *k = NULL, *v = NULL;
			if (expand(ss, in->kvs[i].key, &k, err) < 0 || expand(ss, in->kvs[i].value ? in->kvs[i].value : "", &v, err) < 0)
				r = -1;
			else
				json_object_object_add(l, k, json_object_new_string(v));
		}
		json_object_object_add(patch, "Labels", l);
		break;
	}
	case CELL_DF_CMD:
		json_object_object_add(patch, "Cmd", command_json(ss, in));
		ss->cmd_set = true;
		break;
	case CELL_DF_ENTRYPOINT:
		json_object_object_add(patch, "Entrypoint", command_json(ss, in));
		if (!ss->cmd_set)
			json_object_object_add(patch, "Cmd", NULL);
		break;
	case CELL_DF_USER: {
		char *u = NULL;
		if (expand(ss, in->args[0] ? in->args[0] : "", &u, err) < 0)
			r = -1;
		else
			json_object_object_add(patch, "User", json_object_new_string(u));
		free(u);
		break;
	}
	case CELL_DF_STOPSIGNAL: {
		char *v = NULL;
		if (expand(ss, in->args[0] ? in->args[0] : "", &v, err) < 0)
			r = -1;
		else if (signal_parse(v) <= 0)
			r = cell_error_set(err, "unknown signal `%s`", v);
		else
			json_object_object_add(patch, "StopSignal", json_object_new_string(v));
		free(v);
		break;
	}
	case CELL_DF_EXPOSE:
	case CELL_DF_VOLUME: {
		bool vol = in->kind == CELL_DF_VOLUME;
		json_object *o = copy_of(cfg, vol ? "Volumes" : "ExposedPorts", json_type_object);
		for (size_t i = 0; i < in->n_args && r == 0; i++) {
			_cleanup_strv_ char **words = NULL;
			if (in->json) {
				words = xcalloc(2, sizeof(char *));
				if (expand(ss, in->args[i], &words[0], err) < 0) {
					r = -1;
					break;
				}
			} else if (cell_df_expand_words(in->args[i], ss->b->df->escape, stage_lookup, ss, &words, NULL, err) < 0) {
				r = -1;
				break;
			}
			for (size_t j = 0; words[j]; j++) {
				_cleanup_free_ char *k = NULL;
				if (vol)
					k = xstrdup(words[j]);
				else
					k = strchr(words[j], '/') ? xstrdup(words[j]) : xasprintf("%s/tcp", words[j]);
				if (!*k)
					continue;
				json_object_object_add(o, k, json_object_new_object());
			}
		}
		json_object_object_add(patch, vol ? "Volumes" : "ExposedPorts", o);
		break;
	}
	case CELL_DF_SHELL:
		if (!in->json || in->n_args == 0)
			r = cell_error_set(err, "SHELL takes a JSON array such as [\"/bin/sh\", \"-c\"]");
		else
			json_object_object_add(patch, "Shell", strv_json(in->args));
		break;
	case CELL_DF_HEALTHCHECK:
		r = healthcheck_patch(ss, in, patch, err);
		break;
	case CELL_DF_ONBUILD: {
		json_object *o = copy_of(cfg, "OnBuild", json_type_array);
		json_object_array_add(o, json_object_new_string(in->args && in->args[0] ? in->args[0] : ""));
		json_object_object_add(patch, "OnBuild", o);
		break;
	}
	case CELL_DF_MAINTAINER: {
		/* not a place the reference expands variables in */
		json_object_object_add(patch, "/author", json_object_new_string(in->args && in->args[0] ? in->args[0] : ""));
		break;
	}
	default:
		r = cell_error_set(err, "not a metadata instruction");
	}
	if (r == 0)
		r = meta_step(ss, in, patch, err);
	json_object_put(patch);
	return r;
}

/* ---- WORKDIR ---- */

static char *join_path(const char *base, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	if (!base || !*base)
		return xasprintf("/%s", p);
	size_t l = strlen(base);
	return xasprintf("%s%s%s", base, base[l - 1] == '/' ? "" : "/", p);
}

static const char *cur_workdir(struct sstate *ss)
{
	return ss->img && ss->img->config.working_dir && *ss->img->config.working_dir ? ss->img->config.working_dir : "/";
}

static int workdir_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	_cleanup_free_ char *w = NULL, *path = NULL;
	if (expand(ss, in->args[0] ? in->args[0] : "", &w, err) < 0)
		return -1;
	if (!*w)
		return cell_error_set(err, "WORKDIR needs a path");
	path = join_path(cur_workdir(ss), w);
	char key[CELL_DIGEST_LEN + 1];
	step_key(ss, in, path, key);
	char *id = cache_lookup(ss, key);
	if (id)
		return step_done(ss, key, id, true, err);
	/* the directory is made (a layer) when missing, then the config set */
	struct bmount m;
	_cleanup_free_ char *layer_id = NULL;
	if (bmount_open(ss->b->s, ss->image, &m, err) < 0)
		return -1;
	/* as BuildKit: made owned by the stage's USER */
	int fd = bmkdir_in_root(m.root_fd, path, ss->img ? ss->img->config.user : NULL, err);
	int r = fd < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		r = bmount_unmount(&m, err);
	if (r == 0)
		r = bstep_commit_dir(ss->b->s, ss->image, m.upper, in->original, &layer_id, err);
	bmount_clear(&m);
	if (r < 0)
		return -1;
	json_object *patch = json_object_new_object();
	json_object_object_add(patch, "WorkingDir", json_object_new_string(path));
	/* an empty diff already added the history entry */
	r = bimg_meta(ss->b->s, layer_id, apply_patch, patch, in->original, false, &id, err);
	json_object_put(patch);
	if (r < 0)
		return -1;
	return step_done(ss, key, id, false, err);
}

/* ---- RUN ---- */

static int from_image(struct builder *b, const char *name, size_t before, char **ret, cell_error **err);

/* The engine --mount values of a RUN's --mount flags; bind mounts from= a
 * stage mount it in *fms (the caller clears them after the step). */
static void keyadd(char **k, const char *s)
{
	char *x = xasprintf("%s\n%s", *k ? *k : "", s);
	free(*k);
	*k = x;
}

static int run_mounts(struct sstate *ss, const struct cell_df_instr *in, char ***ret, struct bmount **fms,
		      size_t *n_fms, char **keytext, cell_error **err)
{
	const struct cell_build_opts *o = ss->b->o;
	char **v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < in->n_flags; i++) {
		if (!streq(in->flags[i].name, "mount"))
			continue;
		struct cell_df_kv *kv = NULL;
		size_t nkv = 0;
		_cleanup_free_ char *value = NULL;
		/* build args and ENV apply in --mount values, as BuildKit's */
		if (expand(ss, in->flags[i].value ? in->flags[i].value : "", &value, err) < 0 ||
		    cell_df_split_csv(value, &kv, &nkv, err) < 0)
			goto fail;
		const char *type = "bind", *target = NULL, *id = NULL, *source = NULL;
		bool required = false;
		for (size_t k = 0; k < nkv; k++) {
			const char *key = kv[k].key, *val = kv[k].value;
			if (streq(key, "type") && val) type = val;
			else if ((streq(key, "target") || streq(key, "dst") || streq(key, "destination")) && val) target = val;
			else if (streq(key, "id") && val) id = val;
			else if ((streq(key, "source") || streq(key, "src")) && val) source = val;
			else if (streq(key, "required")) required = !val || streq(val, "true");
		}
		char *m = NULL;
		if (streq(type, "secret")) {
			const char *src = NULL;
			const char *sid = id ? id : (target ? strrchr(target, '/') + 1 : NULL);
			for (size_t s = 0; sid && o->secrets && o->secrets[s]; s++) {
				_cleanup_free_ char *copy = xstrdup(o->secrets[s]), *sec_id = NULL, *sec_src = NULL;
				for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
					if (strncmp(t, "id=", 3) == 0) { free(sec_id); sec_id = xstrdup(t + 3); }
					else if (strncmp(t, "src=", 4) == 0 || strncmp(t, "source=", 7) == 0) {
						free(sec_src);
						sec_src = xstrdup(strchr(t, '=') + 1);
					}
				}
				if (sec_id && streq(sec_id, sid) && sec_src) {
					src = o->secrets[s];
					m = xasprintf("type=bind,source=%s,target=%s,readonly", sec_src,
						      target ? target : "");
					if (!target) {
						free(m);
						m = xasprintf("type=bind,source=%s,target=/run/secrets/%s,readonly", sec_src, sid);
					}
				}
			}
			if (!src) {
				if (required) {
					cell_error_set(err, "secret `%s` is required: give it with --secret id=%s,src=FILE",
						       sid ? sid : "", sid ? sid : "ID");
					cell_df_kv_free(kv, nkv);
					goto fail;
				}
			}
		} else if (streq(type, "tmpfs")) {
			if (target)
				m = xasprintf("type=tmpfs,target=%s", target);
		} else if (streq(type, "cache")) {
			_cleanup_free_ char *cid = NULL;
			char d[CELL_DIGEST_LEN + 1];
			cell_sha256_data(id ? id : (target ? target : ""), strlen(id ? id : (target ? target : "")), d);
			_cleanup_free_ char *dir = xasprintf("%s/build-cache-mounts/%.32s", cell_store_root(ss->b->s), d + 7);
			if (mkdir_p(dir, 0755, err) < 0) {
				cell_df_kv_free(kv, nkv);
				goto fail;
			}
			if (target)
				m = xasprintf("type=bind,source=%s,target=%s", dir, target);
		} else if (streq(type, "bind")) {
			/* from the context, or from= a stage or image mounted for the
			 * step; the source resolved inside that root */
			const char *from = NULL;
			bool rw = false;
			for (size_t k = 0; k < nkv; k++) {
				if (streq(kv[k].key, "from") && kv[k].value)
					from = kv[k].value;
				if ((streq(kv[k].key, "rw") || streq(kv[k].key, "readwrite")) &&
				    (!kv[k].value || streq(kv[k].value, "true")))
					rw = true;
			}
			int root = ss->b->ctx.fd;
			if (from) {
				_cleanup_free_ char *fid = NULL;
				*fms = realloc(*fms, (*n_fms + 1) * sizeof(**fms));
				if (!*fms)
					abort();
				struct bmount *fm = &(*fms)[*n_fms];
				*fm = (struct bmount){ .root_fd = -1, .lock_fd = -1 };
				if (from_image(ss->b, from, SIZE_MAX, &fid, err) < 0 ||
				    bmount_open(ss->b->s, fid, fm, err) < 0) {
					cell_df_kv_free(kv, nkv);
					cell_error_wrap(err, "--mount from=%s", from);
					goto fail;
				}
				(*n_fms)++;
				root = fm->root_fd;
			}
			_cleanup_free_ char *src = bpath_in_root(root, source ? source : ".", err);
			if (!src) {
				cell_df_kv_free(kv, nkv);
				cell_error_wrap(err, "--mount source in the %s", from ? "stage" : "build context");
				goto fail;
			}
			/* rw: writes land in our scratch mount (from=) and are dropped;
			 * the context itself is never written */
			if (target)
				m = xasprintf("type=bind,source=%s,target=%s%s", src, target,
					      rw && from ? "" : ",readonly");
			/* the cache key: what is mounted, not where it is mounted from */
			char digest[CELL_DIGEST_LEN + 1];
			char *srcs[] = { (char *)(source ? source : "."), NULL };
			struct bcopy bc = { .srcs = srcs, .dest = "/" };
			if (bcopy_digest(&ss->b->ctx, from ? (*fms)[*n_fms - 1].root_fd : -1, &bc, digest, err) < 0) {
				free(m);
				cell_df_kv_free(kv, nkv);
				goto fail;
			}
			_cleanup_free_ char *kt = xasprintf("bind %s %s %s", digest, target ? target : "", rw ? "rw" : "ro");
			keyadd(keytext, kt);
		} else {
			cell_df_kv_free(kv, nkv);
			cell_error_set(err, "--mount type `%s`: expected bind, cache, tmpfs or secret", type);
			goto fail;
		}
		if (!m && !streq(type, "secret")) {
			cell_df_kv_free(kv, nkv);
			cell_error_set(err, "--mount `%s`: no target", in->flags[i].value ? in->flags[i].value : "");
			goto fail;
		}
		if (m) {
			if (!streq(type, "bind"))
				keyadd(keytext, m);
			v = realloc(v, (n + 2) * sizeof(char *));
			v[n++] = m;
			v[n] = NULL;
		}
		cell_df_kv_free(kv, nkv);
	}
	*ret = v;
	return 0;
fail:
	strv_free(v);
	return -1;
}

/* Remove from an upper dir what the mounts' targets left: empty files or
 * dirs made as mount points (and their empty parents). */
static void drop_mountpoints(const char *upper, char **mounts)
{
	for (size_t i = 0; mounts && mounts[i]; i++) {
		const char *t = strstr(mounts[i], "target=");
		if (!t)
			continue;
		t += 7;
		_cleanup_free_ char *path = xasprintf("%s/%.*s", upper, (int)strcspn(t, ","), t);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
			unlink(path);
		else
			rmdir(path);
		for (char *s = strrchr(path, '/'); s && s > path + strlen(upper); s = strrchr(path, '/')) {
			*s = 0;
			if (rmdir(path) < 0)
				break;
		}
	}
}

static int run_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	struct builder *b = ss->b;
	_cleanup_strv_ char **argv = NULL, **env = NULL, **mounts = NULL;
	_cleanup_free_ char *created = NULL, *command = NULL, *mkey = NULL, *extra = NULL;
	struct bmount *fms = NULL;
	size_t n_fms = 0;
	int ret = -1;

	if (in->json) {
		argv = xcalloc(in->n_args + 1, sizeof(char *));
		for (size_t i = 0; i < in->n_args; i++)
			argv[i] = xstrdup(in->args[i]);
	} else {
		const char *text = in->args && in->args[0] ? in->args[0] : "";
		argv = cur_shell(ss);
		size_t n = strv_len(argv);
		const char *t = text;
		while (*t == ' ' || *t == '\t')
			t++;
		size_t tl = strlen(t);
		while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			tl--;
		if (in->n_heredocs == 1 && !memchr(t, ' ', tl) && !memchr(t, '\t', tl) &&
		    (t[0] == '<' || (t[0] >= '0' && t[0] <= '9'))) {
			/* `RUN <<EOF` alone: the body is the script */
			argv[n] = xstrdup(in->heredocs[0].body);
		} else if (in->n_heredocs) {
			/* `RUN cat <<EOF > /x`: the shell reads the heredocs itself */
			size_t len = strlen(text) + 2;
			for (size_t i = 0; i < in->n_heredocs; i++)
				len += strlen(in->heredocs[i].body) + strlen(in->heredocs[i].name) + 2;
			char *script = xmalloc(len);
			strcpy(script, text);
			strcat(script, "\n");
			for (size_t i = 0; i < in->n_heredocs; i++) {
				strcat(script, in->heredocs[i].body);
				strcat(script, in->heredocs[i].name);
				strcat(script, "\n");
			}
			argv[n] = script;
		} else {
			argv[n] = xstrdup(text);
		}
	}
	if (!argv[0])
		return cell_error_set(err, "RUN needs a command");
	/* build args reach the process as variables, under ENV */
	size_t ne = 0;
	env = xcalloc(ss->n_args + 1, sizeof(char *));
	for (size_t i = 0; i < ss->n_args; i++)
		if (ss->args[i].value && !(ss->img && env_get(ss->img->config.env, ss->args[i].name)))
			env[ne++] = xasprintf("%s=%s", ss->args[i].name, ss->args[i].value);
	const char *network = b->o->network;
	const struct cell_df_flag *nf = cell_df_flag_get(in, "network");
	if (nf && nf->value) {
		if (streq(nf->value, "none") || streq(nf->value, "host"))
			network = nf->value;
		else if (!streq(nf->value, "default"))
			return cell_error_set(err, "--network=%s: expected default, none or host", nf->value);
	}
	if (run_mounts(ss, in, &mounts, &fms, &n_fms, &mkey, err) < 0)
		goto out;
	{
		size_t len = 0;
		for (size_t i = 0; argv[i]; i++)
			len += strlen(argv[i]) + 1;
		command = xmalloc(len + 1);
		command[0] = 0;
		for (size_t i = 0; argv[i]; i++) {
			strcat(command, argv[i]);
			if (argv[i + 1])
				strcat(command, " ");
		}
		created = xasprintf("RUN %s # buildkit", command);
	}
	char key[CELL_DIGEST_LEN + 1];
	extra = xasprintf("%s\n%s\n%s", created, network ? network : "", mkey ? mkey : "");
	step_key(ss, in, extra, key);
	char *id = cache_lookup(ss, key);
	if (id) {
		ret = step_done(ss, key, id, true, err);
		goto out;
	}

	struct bstep_run r = {
		.image = ss->image, .argv = argv, .env = env, .network = network, .mounts = mounts,
		.created_by = created, .command = command, .out = b->out,
		.before_commit = mounts ? drop_mountpoints : NULL,
	};
	int status = 0;
	fflush(stdout);
	int saved = -1;
	if (b->o->quiet) {
		/* -q: RUN output is not shown */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		saved = dup(1);
		if (null >= 0) {
			dup2(null, 1);
			close(null);
		}
	}
	int rc = bstep_run(b->e, b->s, &r, &status, &id, err);
	if (saved >= 0) {
		dup2(saved, 1);
		close(saved);
	}
	if (rc == 0)
		ret = step_done(ss, key, id, false, err);
out:
	for (size_t i = 0; i < n_fms; i++)
		bmount_clear(&fms[i]);
	free(fms);
	return ret;
}

/* ---- COPY / ADD ---- */

static int copy_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err);

/* The image a COPY --from names: a stage (built on demand) or an image. */
static int build_stage(struct builder *b, size_t i, cell_error **err);

/* before: only stages of a lower index count (FROM); SIZE_MAX: any. */
static int from_image(struct builder *b, const char *name, size_t before, char **ret, cell_error **err)
{
	const struct cell_df_stage *st = cell_dockerfile_stage(b->df, name);
	if (st && st->index < before) {
		size_t i = st->index;
		if (b->stages[i].state == 1)
			return cell_error_set(err, "stage `%s` refers to itself", name);
		if (b->stages[i].state == 0 && build_stage(b, i, err) < 0)
			return -1;
		*ret = xstrdup(b->stages[i].image);
		return 0;
	}
	struct cell_image *img = NULL;
	if (b->o->pull_fn && b->o->pull && streq(b->o->pull, "always") &&
	    b->o->pull_fn(b->e, name, "always", err) < 0)
		return cell_error_wrap(err, "--pull=always: image `%s`", name);
	if (cell_image_resolve(b->s, name, &img, err) < 0) {
		if (b->o->pull_fn && (!b->o->pull || streq(b->o->pull, "missing"))) {
			cell_error_free(err);
			if (b->o->pull_fn(b->e, name, "missing", err) < 0 ||
			    cell_image_resolve(b->s, name, &img, err) < 0)
				return cell_error_wrap(err, "image `%s`", name);
		} else {
			return -1;
		}
	}
	*ret = xstrdup(img->id);
	cell_image_free(img);
	return 0;
}

static int copy_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	struct builder *b = ss->b;
	bool add = in->kind == CELL_DF_ADD;
	_cleanup_strv_ char **words = NULL;
	_cleanup_free_ char *chown = NULL, *chmod = NULL, *from = NULL, *from_id = NULL, *dest = NULL, *created = NULL;
	size_t n = 0;

	if (in->n_args < 2)
		return cell_error_set(err, "%s needs at least one source and a destination", add ? "ADD" : "COPY");
	words = xcalloc(in->n_args + 1, sizeof(char *));
	for (size_t i = 0; i < in->n_args; i++) {
		if (expand(ss, in->args[i], &words[n], err) < 0)
			return -1;
		n++;
	}
	const struct cell_df_flag *f;
	if ((f = cell_df_flag_get(in, "chown")) && f->value && expand(ss, f->value, &chown, err) < 0)
		return -1;
	if ((f = cell_df_flag_get(in, "chmod")) && f->value && expand(ss, f->value, &chmod, err) < 0)
		return -1;
	if ((f = cell_df_flag_get(in, "from")) && f->value && expand(ss, f->value, &from, err) < 0)
		return -1;
	if (cell_df_flag_get(in, "checksum"))
		return cell_error_set(err, "ADD --checksum applies to URLs, which this build cannot fetch");
	int parents = cell_df_flag_bool(in, "parents", err);
	if (parents < 0 || cell_df_flag_bool(in, "link", err) < 0)
		return -1;
	dest = join_path(cur_workdir(ss), words[n - 1]);
	bool dest_dir = words[n - 1][strlen(words[n - 1]) - 1] == '/' || streq(words[n - 1], ".");
	free(words[n - 1]);
	words[n - 1] = NULL;
	struct bcopy c = { .srcs = words, .dest = dest, .chown = chown, .chmod = chmod, .add = add,
			   .parents = parents > 0, .dest_is_dir = dest_dir };

	struct bmount fm = { .root_fd = -1, .lock_fd = -1 };
	int r = -1;
	if (in->n_heredocs) {
		/* `COPY <<EOF /file`: every source must be a heredoc; their bodies
		 * become files of a temp dir that is the source root */
		if (from)
			return cell_error_set(err, "--from with heredoc sources");
		size_t k = 0;
		for (size_t i = 0; words[i]; i++) {
			const char *w = in->args[i];
			while (*w >= '0' && *w <= '9')
				w++;
			if (strncmp(w, "<<", 2) != 0 || k >= in->n_heredocs)
				return cell_error_set(err, "sources mixing heredocs and context files are not supported yet");
			const char *name = in->heredocs[k].name;
			if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
				return cell_error_set(err, "heredoc name `%s` cannot be a file name", name);
			free(words[i]);
			words[i] = xstrdup(name);
			k++;
		}
		_cleanup_free_ char *base = xasprintf("%s/build-tmp", cell_store_root(b->s));
		if (mkdir_p(base, 0700, err) < 0)
			return -1;
		fm.dir = xasprintf("%s/hd-XXXXXX", base);
		if (!mkdtemp(fm.dir)) {
			cell_error_errno(err, errno, "make a temp dir for heredocs");
			free(fm.dir);
			fm.dir = NULL;
			return -1;
		}
		fm.lock_fd = lock_dir(fm.dir, true, err);
		fm.root_fd = fm.lock_fd < 0 ? -1 : open(fm.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (size_t i = 0; i < in->n_heredocs && fm.root_fd >= 0; i++) {
			_cleanup_free_ char *p = xasprintf("%s/%s", fm.dir, in->heredocs[i].name);
			if (write_file_atomic(p, in->heredocs[i].body, strlen(in->heredocs[i].body), 0644, err) < 0) {
				bmount_clear(&fm);
				return -1;
			}
		}
		if (fm.root_fd < 0) {
			if (!*err)
				cell_error_errno(err, errno, "open `%s`", fm.dir);
			bmount_clear(&fm);
			return -1;
		}
	}
	if (from) {
		if (from_image(b, from, SIZE_MAX, &from_id, err) < 0)
			return cell_error_wrap(err, "--from=%s", from);
		if (bmount_open(b->s, from_id, &fm, err) < 0)
			return -1;
	}
	char digest[CELL_DIGEST_LEN + 1], key[CELL_DIGEST_LEN + 1];
	_cleanup_free_ char *extra = NULL;
	if (bcopy_digest(&b->ctx, fm.root_fd, &c, digest, err) < 0)
		goto out;
	extra = xasprintf("%s\n%s\n%s\n%s\n%s", digest, dest, chown ? chown : "", chmod ? chmod : "",
			  from_id ? from_id : "");
	step_key(ss, in, extra, key);
	char *id = cache_lookup(ss, key);
	if (id) {
		r = step_done(ss, key, id, true, err);
		goto out;
	}
	struct bmount m;
	if (bmount_open(b->s, ss->image, &m, err) < 0)
		goto out;
	created = xasprintf("%s # buildkit", in->original);
	r = bcopy_run(&b->ctx, fm.root_fd, &c, &m, err);
	if (r == 0)
		r = bmount_unmount(&m, err);
	if (r == 0)
		r = bstep_commit_dir(b->s, ss->image, m.upper, created, &id, err);
	bmount_clear(&m);
	if (r == 0)
		r = step_done(ss, key, id, false, err);
out:
	if (from || in->n_heredocs)
		bmount_clear(&fm);
	return r;
}

/* ---- ARG ---- */

static int arg_instr(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	for (size_t i = 0; i < in->n_kvs; i++) {
		_cleanup_free_ char *name = NULL, *def = NULL;
		if (expand(ss, in->kvs[i].key, &name, err) < 0)
			return -1;
		if (in->kvs[i].value && expand(ss, in->kvs[i].value, &def, err) < 0)
			return -1;
		struct arg *ba = barg(ss->b, name);
		struct arg *meta = arg_find(ss->b->meta, ss->b->n_meta, name);
		const char *v = ba && ba->value ? ba->value : def ? def : meta ? meta->value : NULL;
		arg_set(&ss->args, &ss->n_args, name, v);
	}
	return 0;
}

/* ---- stages ---- */

static int run_instr_any(struct sstate *ss, const struct cell_df_instr *in, cell_error **err);

/* ONBUILD triggers of the base image, run right after FROM. */
static int onbuild_triggers(struct sstate *ss, cell_error **err)
{
	json_object *cfg = cur_config(ss), *ob = cfg ? json_object_object_get(cfg, "OnBuild") : NULL;
	size_t n = json_object_is_type(ob, json_type_array) ? json_object_array_length(ob) : 0;
	if (!n)
		return 0;
	size_t len = 16;
	for (size_t i = 0; i < n; i++)
		len += strlen(json_object_get_string(json_object_array_get_idx(ob, i))) + 1;
	_cleanup_free_ char *text = xmalloc(len);
	strcpy(text, "FROM scratch\n");
	for (size_t i = 0; i < n; i++) {
		strcat(text, json_object_get_string(json_object_array_get_idx(ob, i)));
		strcat(text, "\n");
	}
	struct cell_dockerfile *df = NULL;
	if (cell_dockerfile_parse(text, strlen(text), "ONBUILD", &df, err) < 0)
		return cell_error_wrap(err, "the base image's ONBUILD triggers");
	int r = 0;
	for (size_t i = 1; i < df->stages[0].n_instrs && r == 0; i++) {
		say(ss->b, "--> ONBUILD %s\n", df->stages[0].instrs[i].original);
		r = run_instr_any(ss, &df->stages[0].instrs[i], err);
	}
	cell_dockerfile_free(df);
	if (r < 0)
		return cell_error_wrap(err, "the base image's ONBUILD triggers");
	/* triggers are not passed on to the next image */
	json_object *patch = json_object_new_object();
	json_object_object_add(patch, "OnBuild", NULL);
	char *id = NULL;
	r = bimg_meta(ss->b->s, ss->image, apply_patch, patch, "", false, &id, err);
	json_object_put(patch);
	if (r < 0)
		return -1;
	free(ss->image);
	ss->image = id;
	return load_image(ss, id, err);
}

static int run_instr_any(struct sstate *ss, const struct cell_df_instr *in, cell_error **err)
{
	int r;
	switch (in->kind) {
	case CELL_DF_RUN:
		r = run_instr(ss, in, err);
		break;
	case CELL_DF_COPY:
	case CELL_DF_ADD:
		r = copy_instr(ss, in, err);
		break;
	case CELL_DF_WORKDIR:
		r = workdir_instr(ss, in, err);
		break;
	case CELL_DF_ARG:
		r = arg_instr(ss, in, err);
		break;
	case CELL_DF_FROM:
		r = cell_error_set(err, "FROM inside a stage");
		break;
	default:
		r = meta_instr(ss, in, err);
	}
	return r < 0 ? at(ss->b, in, err) : 0;
}

/* As BuildKit: an image without PATH gets the default one in its config. */
static int default_path(struct sstate *ss, cell_error **err)
{
	static const char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (env_get(ss->img->config.env, "PATH"))
		return 0;
	char key[CELL_DIGEST_LEN + 1];
	_cleanup_free_ char *kt = xasprintf("cell-build-path\n%s", ss->image);
	cell_sha256_data(kt, strlen(kt), key);
	char *id = ss->b->o->no_cache ? NULL : bcache_get(ss->b->s, key);
	if (!id) {
		json_object *patch = json_object_new_object();
		json_object *env = copy_of(cur_config(ss), "Env", json_type_array);
		json_object_array_add(env, json_object_new_string(path));
		json_object_object_add(patch, "Env", env);
		int r = bimg_meta(ss->b->s, ss->image, apply_patch, patch, "", false, &id, err);
		json_object_put(patch);
		if (r < 0 || bcache_put(ss->b->s, key, id, err) < 0) {
			free(id);
			return -1;
		}
	}
	free(ss->image);
	ss->image = id;
	return load_image(ss, id, err);
}

static int build_stage(struct builder *b, size_t idx, cell_error **err)
{
	const struct cell_df_stage *st = &b->df->stages[idx];
	struct sstate ss = { .b = b, .st = st };
	_cleanup_free_ char *base = NULL;
	int r = -1;

	b->stages[idx].state = 1;
	if (cell_df_expand(st->base, b->df->escape, meta_lookup, b, &base, err) < 0) {
		at(b, &st->instrs[0], err);
		goto out;
	}
	if (st->platform) {
		_cleanup_free_ char *p = NULL;
		if (cell_df_expand(st->platform, b->df->escape, meta_lookup, b, &p, err) < 0)
			goto out;
		if (!streq(p, "linux/amd64") && !streq(p, "linux/x86_64") && !streq(p, "$BUILDPLATFORM") &&
		    !streq(p, "$TARGETPLATFORM")) {
			cell_error_set(err, "--platform=%s: only linux/amd64 (this host) can be built", p);
			at(b, &st->instrs[0], err);
			goto out;
		}
	}
	b->stage_no++;
	size_t total = st->n_instrs;
	if (b->n_needed > 1)
		say(b, "[%zu/%zu] STEP 1/%zu: %s\n", b->stage_no, b->n_needed, total, st->instrs[0].original);
	else
		say(b, "STEP 1/%zu: %s\n", total, st->instrs[0].original);
	if (strcasecmp(base, "scratch") == 0) {
		char *id = NULL;
		if (bimg_scratch(b->s, &id, err) < 0)
			goto fail_from;
		ss.image = id;
	} else if (from_image(b, base, idx, &ss.image, err) < 0) {
		goto fail_from;
	}
	if (load_image(&ss, ss.image, err) < 0 || onbuild_triggers(&ss, err) < 0 || default_path(&ss, err) < 0)
		goto fail_from;
	size_t my_no = b->stage_no;
	for (size_t i = 1; i < st->n_instrs; i++) {
		const struct cell_df_instr *in = &st->instrs[i];
		if (b->n_needed > 1)
			say(b, "[%zu/%zu] STEP %zu/%zu: %s\n", my_no, b->n_needed, i + 1, total, in->original);
		else
			say(b, "STEP %zu/%zu: %s\n", i + 1, total, in->original);
		if (run_instr_any(&ss, in, err) < 0)
			goto out;
	}
	b->stages[idx].image = TAKE_PTR(ss.image);
	b->stages[idx].state = 2;
	r = 0;
	goto out;
fail_from:
	at(b, &st->instrs[0], err);
out:
	free(ss.image);
	cell_image_free(ss.img);
	args_free(ss.args, ss.n_args);
	return r;
}

/* Count the stages the target needs (FROM an earlier stage, COPY --from):
 * for the [n/N] numbering only. */
static void mark_needed(struct builder *b, size_t idx, bool *need)
{
	if (need[idx])
		return;
	need[idx] = true;
	const struct cell_df_stage *st = &b->df->stages[idx];
	const struct cell_df_stage *dep = cell_dockerfile_stage(b->df, st->base);
	if (dep && dep->index < idx)
		mark_needed(b, dep->index, need);
	for (size_t i = 1; i < st->n_instrs; i++) {
		const struct cell_df_flag *f = cell_df_flag_get(&st->instrs[i], "from");
		if ((st->instrs[i].kind == CELL_DF_COPY) && f && f->value) {
			dep = cell_dockerfile_stage(b->df, f->value);
			if (dep && dep->index != idx)
				mark_needed(b, dep->index, need);
		}
		/* RUN --mount=...,from=STAGE */
		for (size_t k = 0; st->instrs[i].kind == CELL_DF_RUN && k < st->instrs[i].n_flags; k++) {
			const struct cell_df_flag *mf = &st->instrs[i].flags[k];
			struct cell_df_kv *kv = NULL;
			size_t nkv = 0;
			_cleanup_error_ cell_error *e = NULL;
			if (!streq(mf->name, "mount") || !mf->value || cell_df_split_csv(mf->value, &kv, &nkv, &e) < 0)
				continue;
			for (size_t j = 0; j < nkv; j++)
				if (streq(kv[j].key, "from") && kv[j].value &&
				    (dep = cell_dockerfile_stage(b->df, kv[j].value)) && dep->index != idx)
					mark_needed(b, dep->index, need);
			cell_df_kv_free(kv, nkv);
		}
	}
}

/* ---- the whole build ---- */

static int read_stdin_all(char **ret, size_t *ret_len, size_t max, cell_error **err)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				free(buf);
				return cell_error_set(err, "standard input is over %zu bytes", max);
			}
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		ssize_t k = read(0, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return cell_error_errno(err, errno, "read standard input");
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

int cell_build(struct cell_engine *e, struct cell_store *s, const struct cell_build_opts *o, char **ret_id,
	       cell_error **err)
{
	struct builder b = { .e = e, .s = s, .o = o, .out = o->quiet ? NULL : o->out };
	_cleanup_free_ char *text = NULL, *df_path = NULL, *tmp_ctx = NULL, *df_name = NULL, *id = NULL;
	size_t len = 0;
	int r = -1, ctx_lock = -1;

	b.ctx.fd = -1;
	/* the context and the Dockerfile */
	const char *ctx_dir = o->context;
	if (streq(o->context, "-")) {
		_cleanup_free_ char *in = NULL;
		size_t inlen = 0;
		if (read_stdin_all(&in, &inlen, 1u << 30, err) < 0)
			return -1;
		_cleanup_free_ char *base = xasprintf("%s/build-tmp", cell_store_root(s));
		if (mkdir_p(base, 0700, err) < 0)
			return -1;
		tmp_ctx = xasprintf("%s/ctx-XXXXXX", base);
		if (!mkdtemp(tmp_ctx)) {
			free(tmp_ctx);
			tmp_ctx = NULL;
			return cell_error_errno(err, errno, "make a temp dir for the context");
		}
		ctx_lock = lock_dir(tmp_ctx, true, err);
		if (ctx_lock < 0)
			goto out;
		bool tar = inlen >= 512 && !memcmp(in + 257, "ustar", 5);
		bool compressed = inlen >= 4 && ((unsigned char)in[0] == 0x1f && (unsigned char)in[1] == 0x8b);
		if (tar || compressed) {
			char diff[CELL_DIGEST_LEN + 1];
			uint64_t size;
			int fd = -1;
			/* cell_layer_unpack reads a file descriptor: a pipe fed from memory */
			int p[2];
			if (pipe(p) < 0) {
				cell_error_errno(err, errno, "pipe");
				goto out;
			}
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				size_t off = 0;
				while (off < inlen) {
					ssize_t k = write(p[1], in + off, inlen - off);
					if (k <= 0)
						_exit(1);
					off += (size_t)k;
				}
				_exit(0);
			}
			close(p[1]);
			fd = p[0];
			int ur = cell_layer_unpack(fd, tmp_ctx, "the context on standard input", diff, &size, err);
			close(fd);
			int st;
			waitpid(pid, &st, 0);
			if (ur < 0)
				goto out;
		} else {
			text = TAKE_PTR(in);
			len = inlen;
			df_path = xstrdup("-");
		}
		ctx_dir = tmp_ctx;
	}
	if (!text) {
		if (o->dockerfile && streq(o->dockerfile, "-")) {
			if (read_stdin_all(&text, &len, CELL_DF_MAX_SIZE + 1, err) < 0)
				goto out;
			df_path = xstrdup("-");
		} else if (tmp_ctx || o->dockerfile_in_context) {
			/* a context from a tar (stdin, the API) is hostile: its
			 * Dockerfile is a regular file inside it, never a link out */
			const char *name = o->dockerfile ? o->dockerfile : "Dockerfile";
			int rr = read_in_root_path(ctx_dir, name, CELL_DF_MAX_SIZE, &text, &len, err);
			if (rr == -ENOENT && !o->dockerfile) {
				cell_error_free(err);
				name = "Containerfile";
				rr = read_in_root_path(ctx_dir, name, CELL_DF_MAX_SIZE, &text, &len, err);
			}
			if (rr < 0) {
				if (rr == -ENOENT) {
					cell_error_free(err);
					cell_error_set(err, "Cannot locate specified Dockerfile: %s (not in the context%s)", name,
						       o->dockerfile ? "" : "; nor a Containerfile");
				} else {
					cell_error_wrap(err, "read the Dockerfile `%s` in the context", name);
				}
				goto out;
			}
			df_path = xstrdup(name);
		} else {
			if (o->dockerfile) {
				df_path = access(o->dockerfile, F_OK) == 0 || o->dockerfile[0] == '/'
						  ? xstrdup(o->dockerfile)
						  : xasprintf("%s/%s", ctx_dir, o->dockerfile);
			} else {
				df_path = xasprintf("%s/Dockerfile", ctx_dir);
				if (access(df_path, F_OK) < 0) {
					free(df_path);
					df_path = xasprintf("%s/Containerfile", ctx_dir);
				}
				if (access(df_path, F_OK) < 0) {
					cell_error_set(err, "no Dockerfile or Containerfile in `%s` (give one with -f)", ctx_dir);
					goto out;
				}
			}
			if (read_file(df_path, &text, &len, err) < 0) {
				cell_error_wrap(err, "read the Dockerfile");
				goto out;
			}
		}
	}
	df_name = xstrdup(streq(df_path, "-") ? "Dockerfile" : (strrchr(df_path, '/') ? strrchr(df_path, '/') + 1 : df_path));
	if (cell_dockerfile_parse(text, len, df_name, &b.df, err) < 0)
		goto out;
	for (size_t i = 0; b.df->warnings && b.df->warnings[i]; i++)
		say(&b, "[Warning] %s\n", b.df->warnings[i]);
	if (bcontext_open(&b.ctx, ctx_dir, df_name, err) < 0)
		goto out;

	/* --build-arg K=V, K (from our environment) */
	b.n_bargs = strv_len(o->build_args);
	b.bargs = xcalloc(b.n_bargs + 1, sizeof(*b.bargs));
	b.barg_used = xcalloc(b.n_bargs + 1, sizeof(bool));
	for (size_t i = 0; i < b.n_bargs; i++) {
		const char *a = o->build_args[i], *eq = strchr(a, '=');
		b.bargs[i].name = eq ? strndup(a, (size_t)(eq - a)) : xstrdup(a);
		b.bargs[i].value = eq ? xstrdup(eq + 1) : (getenv(a) ? xstrdup(getenv(a)) : NULL);
		if (!*b.bargs[i].name) {
			cell_error_set(err, "--build-arg `%s`: expected NAME=VALUE", a);
			goto out;
		}
	}
	/* the ARGs before FROM */
	for (size_t i = 0; i < b.df->n_meta_args; i++) {
		const struct cell_df_instr *in = &b.df->meta_args[i];
		for (size_t k = 0; k < in->n_kvs; k++) {
			_cleanup_free_ char *name = NULL, *def = NULL;
			if (cell_df_expand(in->kvs[k].key, b.df->escape, meta_lookup, &b, &name, err) < 0 ||
			    (in->kvs[k].value &&
			     cell_df_expand(in->kvs[k].value, b.df->escape, meta_lookup, &b, &def, err) < 0)) {
				at(&b, in, err);
				goto out;
			}
			struct arg *ba = barg(&b, name);
			arg_set(&b.meta, &b.n_meta, name, ba && ba->value ? ba->value : def);
		}
	}

	size_t target = b.df->n_stages - 1;
	if (o->target) {
		const struct cell_df_stage *t = cell_dockerfile_stage(b.df, o->target);
		if (!t) {
			cell_error_set(err, "--target `%s`: no such stage in %s", o->target, df_name);
			goto out;
		}
		target = t->index;
	}
	b.stages = xcalloc(b.df->n_stages, sizeof(*b.stages));
	bool *need = xcalloc(b.df->n_stages, sizeof(bool));
	for (size_t i = 0; i < b.df->n_stages; i++)
		b.stages[i].df = &b.df->stages[i];
	mark_needed(&b, target, need);
	for (size_t i = 0; i < b.df->n_stages; i++)
		b.n_needed += need[i];
	/* the stages the target needs, in order, then the target; a stage no
	 * one needs is skipped (a failing one does not fail the build) */
	for (size_t i = 0; i < b.df->n_stages; i++)
		if (need[i] && b.stages[i].state == 0 && build_stage(&b, i, err) < 0) {
			free(need);
			goto out;
		}
	free(need);
	id = xstrdup(b.stages[target].image);

	/* --label on the final image */
	if (o->labels && o->labels[0]) {
		json_object *cfg = NULL, *patch = json_object_new_object();
		struct cell_image *img = NULL;
		if (cell_image_resolve(s, id, &img, err) < 0) {
			json_object_put(patch);
			goto out;
		}
		cfg = json_object_object_get(img->config_json, "config");
		json_object *l = copy_of(json_object_is_type(cfg, json_type_object) ? cfg : NULL, "Labels", json_type_object);
		cell_image_free(img);
		for (size_t i = 0; o->labels[i]; i++) {
			const char *eq = strchr(o->labels[i], '=');
			_cleanup_free_ char *k = eq ? strndup(o->labels[i], (size_t)(eq - o->labels[i])) : xstrdup(o->labels[i]);
			json_object_object_add(l, k, json_object_new_string(eq ? eq + 1 : ""));
		}
		json_object_object_add(patch, "Labels", l);
		/* cached as a step is, so that a rebuild gives the same id */
		char key[CELL_DIGEST_LEN + 1];
		_cleanup_free_ char *kt = xasprintf("cell-build-label\n%s\n%s", id, cj_to_string(patch, false));
		cell_sha256_data(kt, strlen(kt), key);
		char *nid = o->no_cache ? NULL : bcache_get(s, key);
		int mr = nid ? 0 : bimg_meta(s, id, apply_patch, patch, "", false, &nid, err);
		json_object_put(patch);
		if (mr < 0 || bcache_put(s, key, nid, err) < 0) {
			free(nid);
			goto out;
		}
		free(id);
		id = nid;
	}
	/* --format oci: the fields the OCI config cannot hold go, as podman's */
	if (o->format && streq(o->format, "oci")) {
		struct cell_image *img = NULL;
		if (cell_image_resolve(s, id, &img, err) < 0)
			goto out;
		json_object *cfg = json_object_object_get(img->config_json, "config"), *patch = json_object_new_object();
		static const char *const drop[] = { "Healthcheck", "Shell", "OnBuild" };
		for (size_t i = 0; i < 3; i++)
			if (json_object_is_type(cfg, json_type_object) && json_object_object_get(cfg, drop[i])) {
				say(&b, "[Warning] %s is not supported by the OCI image format and was dropped (use --format docker)\n",
				    streq(drop[i], "Healthcheck") ? "HEALTHCHECK" : streq(drop[i], "Shell") ? "SHELL" : "ONBUILD");
				json_object_object_add(patch, drop[i], NULL);
			}
		cell_image_free(img);
		if (json_object_object_length(patch)) {
			char key[CELL_DIGEST_LEN + 1];
			_cleanup_free_ char *kt = xasprintf("cell-build-oci\n%s", id);
			cell_sha256_data(kt, strlen(kt), key);
			char *nid = o->no_cache ? NULL : bcache_get(s, key);
			int mr = nid ? 0 : bimg_meta(s, id, apply_patch, patch, "", false, &nid, err);
			if (mr < 0 || bcache_put(s, key, nid, err) < 0) {
				free(nid);
				json_object_put(patch);
				goto out;
			}
			free(id);
			id = nid;
		}
		json_object_put(patch);
	}
	for (size_t i = 0; i < b.n_bargs; i++)
		if (!b.barg_used[i])
			say(&b, "[Warning] one or more build-args [%s] were not consumed\n", b.bargs[i].name);
	for (size_t i = 0; o->tags && o->tags[i]; i++) {
		if (cell_image_tag(s, id, o->tags[i], err) < 0)
			goto out;
	}
	if (o->tags && o->tags[0])
		say(&b, "COMMIT %s\n", o->tags[0]);
	say(&b, "--> %s\n", short_id(id));
	for (size_t i = 0; o->tags && o->tags[i]; i++) {
		struct cell_ref ref;
		_cleanup_error_ cell_error *e2 = NULL;
		if (cell_ref_parse(o->tags[i], &ref, &e2) == 0) {
			_cleanup_free_ char *fam = cell_ref_familiar(&ref);
			say(&b, "Successfully tagged %s\n", fam);
			cell_ref_clear(&ref);
		}
	}
	if (o->iidfile && write_file_atomic(o->iidfile, id, strlen(id), 0644, err) < 0) {
		cell_error_wrap(err, "--iidfile");
		goto out;
	}
	*ret_id = TAKE_PTR(id);
	r = 0;
out:
	if (b.stages) {
		for (size_t i = 0; i < b.df->n_stages; i++)
			free(b.stages[i].image);
		free(b.stages);
	}
	args_free(b.bargs, b.n_bargs);
	free(b.barg_used);
	args_free(b.meta, b.n_meta);
	bcontext_clear(&b.ctx);
	cell_dockerfile_free(b.df);
	if (tmp_ctx) {
		_cleanup_error_ cell_error *e2 = NULL;
		rm_rf(tmp_ctx, &e2);
	}
	safe_close(ctx_lock);
	return r;
}
