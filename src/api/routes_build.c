/* The API's archive routes: POST /build (docker build's classic builder
 * protocol), POST /build/prune, POST /images/load, GET /images/get and
 * /images/{name}/get (docker save).
 *
 * Their bodies come spooled to an unlinked file (API_BODY_FILE: server.c).
 * A build runs cell_build() in a forked child, as `cell build -` would with
 * the context on its standard input: its progress text comes back on a
 * pipe and goes out as {"stream": ...} lines, its result (the image id or
 * the error) on a second pipe as one JSON line. A hang-up of the client
 * stops the build (SIGTERM: the builder removes its step container, as on
 * Ctrl-C). A save is cell_image_save() writing to a pipe in a child, sent
 * as it comes (as dockerd: an error half-way truncates the tar); so is a
 * GET of /containers/{id}/archive (docker cp out), whose PUT (docker cp in)
 * extracts the spooled tar through cell_ctr_cp (src/lib/engine/cp.c). */
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

#include <nettle/base64.h>
#include <sys/stat.h>

#include "api.h"
#include "build/build.h"
#include "image/image.h"
#include "image/registry.h"
#include "util.h"

static void child_reset(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static int client_fd(struct api_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

static void reap(pid_t *pid, int grace_ms)
{
	if (*pid <= 0)
		return;
	int st;
	if (waitpid(*pid, &st, WNOHANG) == 0) {
		kill(*pid, SIGTERM);
		for (int i = 0; i < grace_ms / 50; i++) {
			if (waitpid(*pid, &st, WNOHANG) != 0)
				goto done;
			nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
		}
		kill(*pid, SIGKILL);
		while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
			;
	}
done:
	*pid = 0;
}

static json_object *error_line(const char *msg)
{
	json_object *e = json_object_new_object(), *d = json_object_new_object();
	json_object_object_add(d, "message", json_object_new_string(msg));
	json_object_object_add(e, "errorDetail", d);
	json_object_object_add(e, "error", json_object_new_string(msg));
	return e;
}

static json_object *stream_line(const char *text)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "stream", json_object_new_string(text));
	return o;
}

/* ---- POST /build ---- */

struct build_job {
	pid_t child;
	int prog, res, client;
	bool quiet, finished;
	char *out;			/* the lines not sent yet */
	size_t len, off;
	char rbuf[4096];
	size_t rlen;
};

static void job_add(struct build_job *j, json_object *o)
{
	const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(t);
	char *b = xmalloc(j->len - j->off + n + 2);
	memcpy(b, j->out + j->off, j->len - j->off);
	memcpy(b + j->len - j->off, t, n);
	b[j->len - j->off + n] = '\n';
	j->len = j->len - j->off + n + 1;
	j->off = 0;
	free(j->out);
	j->out = b;
	json_object_put(o);
}

static void job_finish(struct build_job *j)
{
	j->finished = true;
	/* the result: one JSON line, read whole (the child wrote it before exiting) */
	for (;;) {
		if (j->res < 0 || j->rlen >= sizeof(j->rbuf) - 1)
			break;
		ssize_t k = read(j->res, j->rbuf + j->rlen, sizeof(j->rbuf) - 1 - j->rlen);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		j->rlen += (size_t)k;
	}
	j->rbuf[j->rlen] = 0;
	j->res = safe_close(j->res);
	int st = 0;
	if (j->child > 0) {
		while (waitpid(j->child, &st, 0) < 0 && errno == EINTR)
			;
		j->child = 0;
	}
	json_object *res = json_tokener_parse(j->rbuf);
	json_object *v = NULL;
	if (res && json_object_object_get_ex(res, "ID", &v)) {
		const char *id = json_object_get_string(v);
		json_object *aux = json_object_new_object(), *a = json_object_new_object();
		json_object_object_add(a, "ID", json_object_new_string(id));
		json_object_object_add(aux, "aux", a);
		job_add(j, aux);
		if (j->quiet) {
			_cleanup_free_ char *l = xasprintf("%s\n", id);
			job_add(j, stream_line(l));
		} else {
			_cleanup_free_ char *l = xasprintf("Successfully built %.12s\n",
							   strncmp(id, "sha256:", 7) == 0 ? id + 7 : id);
			job_add(j, stream_line(l));
			/* "Successfully tagged" lines: the builder's own output said them */
		}
	} else if (res && json_object_object_get_ex(res, "error", &v)) {
		job_add(j, error_line(json_object_get_string(v)));
	} else {
		_cleanup_free_ char *m = WIFSIGNALED(st)
						 ? xasprintf("the build process was killed (signal %d): out of memory?",
							     WTERMSIG(st))
						 : xasprintf("the build process ended (status %d) without a result",
							     WEXITSTATUS(st));
		job_add(j, error_line(m));
	}
	json_object_put(res);
}

/* the next lines; false at the end */
static bool job_next(struct build_job *j)
{
	while (j->off >= j->len) {
		if (j->finished)
			return false;
		struct pollfd p[2] = { { .fd = j->prog, .events = POLLIN }, { .fd = j->client, .events = POLLRDHUP } };
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return false;
		if (j->client >= 0 && (p[1].revents & (POLLHUP | POLLERR | POLLRDHUP)))
			return false;	/* the client went: job_free() stops the build */
		if (!p[0].revents)
			continue;
		char buf[16384];
		ssize_t n = read(j->prog, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			j->prog = safe_close(j->prog);
			job_finish(j);
			continue;
		}
		buf[n] = 0;
		job_add(j, stream_line(buf));
	}
	return true;
}

static ssize_t job_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct build_job *j = cls;
	if (!job_next(j))
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = j->len - j->off < max ? j->len - j->off : max;
	memcpy(buf, j->out + j->off, n);
	j->off += n;
	return (ssize_t)n;
}

static void job_free(void *cls)
{
	struct build_job *j = cls;
	safe_close(j->prog);
	safe_close(j->res);
	reap(&j->child, 10000);	/* SIGTERM first: the builder cleans up as on Ctrl-C */
	free(j->out);
	free(j);
}

/* a base image missing from the store, pulled with the registry's progress */
static void pull_progress(void *data, const char *digest, const char *status)
{
	fprintf(data, "%.19s: %s\n", digest && strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest, status);
}

static int pull_base(struct cell_engine *e, const char *image, const char *policy, cell_error **err)
{
	struct cell_store *s = NULL;
	if (cell_store_open(e->root, &s, err) < 0)
		return -1;
	if (streq(policy, "missing")) {
		struct cell_image *img = NULL;
		cell_error *x = NULL;
		bool have = cell_image_resolve(s, image, &img, &x) == 0;
		cell_error_free(&x);
		cell_image_free(img);
		if (have) {
			cell_store_free(s);
			return 0;
		}
	}
	struct cell_registry_opts o = { .progress = pull_progress, .progress_data = stdout };
	_cleanup_free_ char *id = NULL, *digest = NULL;
	printf("Pulling %s\n", image);
	fflush(stdout);
	int rc = cell_image_pull(s, image, &o, &id, &digest, err);
	cell_store_free(s);
	fflush(stdout);
	return rc;
}

static void build_child(struct api_req *r, const struct cell_build_opts *o0, int body, int prog, int res)
{
	child_reset();
	struct cell_build_opts o = *o0;
	if (dup2(body, 0) < 0 || dup2(prog, 1) < 0 || dup2(prog, 2) < 0)
		_exit(1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	o.out = stdout;
	o.pull_fn = pull_base;
	struct cell_store *s = NULL;
	_cleanup_free_ char *id = NULL;
	cell_error *err = NULL;
	json_object *result = json_object_new_object();
	if (cell_store_open(r->engine->root, &s, &err) < 0 || cell_build(r->engine, s, &o, &id, &err) < 0)
		json_object_object_add(result, "error", json_object_new_string(err ? err->msg : "build failed"));
	else
		json_object_object_add(result, "ID", json_object_new_string(id));
	fflush(stdout);
	const char *t = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	write_all(res, t, strlen(t));
	_exit(0);
}

/* Docker's JSON maps in a query parameter (buildargs, labels): K=V strings */
static bool kv_param(struct api_req *r, const char *key, char ***ret)
{
	const char *v = api_query(r, key);
	*ret = NULL;
	if (!v || !*v)
		return true;
	json_object *o = json_tokener_parse(v);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		api_error(r, 400, "build: `%s` must be a JSON object of strings: %s", key, v);
		return false;
	}
	size_t n = 0;
	char **out = xcalloc((size_t)json_object_object_length(o) + 1, sizeof(char *));
	json_object_object_foreach(o, k, val) {
		if (!val)	/* buildargs {"K": null}: unset, as dockerd */
			continue;
		out[n++] = xasprintf("%s=%s", k, json_object_get_string(val));
	}
	json_object_put(o);
	*ret = out;
	return true;
}

static void build(struct api_req *r)
{
	const char *remote = api_query(r, "remote");
	if (remote && *remote) {
		api_error(r, 400, "build: remote contexts (remote=%s) are not fetched: send the context as a tar", remote);
		return;
	}
	if (r->body_fd < 0) {
		api_error(r, 400, "build: no context: the body must be a tar of it (or a Dockerfile alone)");
		return;
	}
	const char *platform = api_query(r, "platform");
	if (platform && *platform && !streq(platform, "linux/amd64") && !streq(platform, "linux/x86_64") &&
	    !streq(platform, "linux")) {
		api_error(r, 400, "build: platform %s: only linux/amd64 (this host) can be built (no emulation)",
			  platform);
		return;
	}
	_cleanup_free_ const char **tags = api_query_all(r, "t");
	for (size_t i = 0; tags && tags[i]; i++) {
		struct cell_ref ref;
		cell_error *err = NULL;
		if (cell_ref_parse(tags[i], &ref, &err) < 0) {
			api_error(r, 400, "invalid tag %s: %s", tags[i], err->msg);
			cell_error_free(&err);
			return;
		}
		cell_ref_clear(&ref);
	}
	char **bargs = NULL, **labels = NULL;
	if (!kv_param(r, "buildargs", &bargs))
		return;
	if (!kv_param(r, "labels", &labels)) {
		strv_free(bargs);
		return;
	}
	struct cell_build_opts o = { .context = "-", .dockerfile_in_context = true };
	const char *df = api_query(r, "dockerfile");
	o.dockerfile = df && *df ? df : NULL;
	o.tags = (char **)tags;
	o.build_args = bargs;
	o.labels = labels;
	const char *target = api_query(r, "target");
	o.target = target && *target ? target : NULL;
	const char *net = api_query(r, "networkmode");
	o.network = !net || !*net || streq(net, "default") || streq(net, "bridge") ? NULL : net;
	const char *pull = api_query(r, "pull");
	o.pull = pull && *pull && !streq(pull, "0") && strcasecmp(pull, "false") != 0 ? "always" : "missing";
	o.no_cache = api_query_bool(r, "nocache", false);
	o.quiet = api_query_bool(r, "q", false);

	int prog[2], res[2];
	if (pipe2(prog, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		strv_free(bargs);
		strv_free(labels);
		api_error(r, 500, "build: cannot make a pipe: %s", strerror(errno));
		return;
	}
	struct build_job *j = xcalloc(1, sizeof(*j));
	j->quiet = o.quiet;
	j->client = client_fd(r);
	fflush(stdout);
	fflush(stderr);
	j->child = fork();
	if (j->child == 0)
		build_child(r, &o, r->body_fd, prog[1], res[1]);
	strv_free(bargs);
	strv_free(labels);
	close(prog[1]);
	close(res[1]);
	j->prog = prog[0];
	j->res = res[0];
	if (j->child < 0) {
		j->child = 0;
		job_free(j);
		api_error(r, 500, "build: cannot fork: %s", strerror(errno));
		return;
	}
	api_reply_stream(r, 200, "application/json", job_body, j, job_free);
}

/* POST /build/prune?all=1: the build cache (docker builder prune) */
static void build_prune(struct api_req *r)
{
	struct cell_store *s = NULL;
	cell_error *err = NULL;
	if (cell_store_open(r->engine->root, &s, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	size_t n = 0;
	uint64_t bytes = 0;
	api_lock();
	int rc = cell_build_cache_prune(r->engine, s, api_query_bool(r, "all", false), &n, &bytes, &err);
	api_unlock();
	cell_store_free(s);
	if (rc < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "CachesDeleted", json_object_new_array());
	json_object_object_add(o, "SpaceReclaimed", json_object_new_int64((int64_t)bytes));
	api_reply_json(r, 200, o);
}

/* ---- POST /images/load ---- */

static void load(struct api_req *r)
{
	if (r->body_fd < 0) {
		api_error(r, 400, "load: no archive: the body must be a tar made by docker save or cell save");
		return;
	}
	struct cell_store *s = NULL;
	cell_error *err = NULL;
	if (cell_store_open(r->engine->root, &s, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	_cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", r->body_fd);
	struct cell_import_opts io = { .images_only = true };
	char **ids = NULL;
	int rc = cell_image_import(s, path, &io, &ids, &err);
	cell_store_free(s);
	if (rc < 0) {
		/* the message names the spool file: say "the archive sent" instead */
		_cleanup_free_ char *msg = xstrdup("");
		for (const char *m = err->msg, *hit; *m; m = hit + strlen(path)) {
			hit = strstr(m, path);
			char *t = xasprintf("%s%.*s%s", msg, hit ? (int)(hit - m) : (int)strlen(m), m,
					    hit ? "the archive sent" : "");
			free(msg);
			msg = t;
			if (!hit)
				break;
		}
		unsigned status = cell_error_code(err) == ENOSPC ? 507 : 400;
		cell_error_free(&err);
		api_error(r, status, "load: %s", msg);
		return;
	}
	bool quiet = api_query_bool(r, "quiet", false);
	_cleanup_free_ char *buf = xstrdup("");
	for (size_t i = 0; ids && ids[i]; i++) {
		const char *sp = strchr(ids[i], ' ');
		_cleanup_free_ char *t = sp ? xasprintf("Loaded image: %s\n", sp + 1)
					    : xasprintf("Loaded image ID: %s\n", ids[i]);
		json_object *l = stream_line(t);
		char *nb = xasprintf("%s%s\n", buf, json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(l);
		free(buf);
		buf = nb;
	}
	strv_free(ids);
	(void)quiet;	/* no progress bars either way: the lines are the result */
	api_reply_text(r, 200, "application/json", buf);
}

/* ---- GET /images/get, /images/{name}/get ---- */

struct save_args {
	struct cell_store *s;
	char **refs;
};

static int save_child(void *cls, int fd)
{
	struct save_args *a = cls;
	cell_error *err = NULL;
	if (dup2(fd, 1) < 0)
		return -1;
	return cell_image_save(a->s, a->refs, "-", CELL_SAVE_DOCKER_ARCHIVE, &err);
}

static void save_refs(struct api_req *r, char **refs)
{
	if (!refs || !refs[0]) {
		api_error(r, 400, "save: no image named (query parameter `names`)");
		return;
	}
	struct cell_store *s = NULL;
	cell_error *err = NULL;
	if (cell_store_open(r->engine->root, &s, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	for (size_t i = 0; refs[i]; i++) {
		struct cell_image *img = NULL;
		if (cell_image_resolve(s, refs[i], &img, &err) < 0) {
			cell_store_free(s);
			api_error_from(r, &err, 404);
			return;
		}
		cell_image_free(img);
	}
	struct save_args sa = { .s = s, .refs = refs };
	api_reply_child(r, 200, "application/x-tar", save_child, &sa);
	cell_store_free(s);
}

static void get_many(struct api_req *r)
{
	_cleanup_free_ const char **names = api_query_all(r, "names");
	save_refs(r, (char **)names);
}

static void get_one(struct api_req *r)
{
	char *refs[] = { (char *)api_param(r, "name"), NULL };
	save_refs(r, refs);
}

/* ---- /containers/{id}/archive: docker cp ---- */

static bool ctr_lookup(struct api_req *r, char **ret)
{
	cell_error *err = NULL;
	const char *ref = api_param(r, "id");
	if (cell_ctr_lookup(r->engine, ref, ret, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref);
		return false;
	}
	return true;
}

/* a copy's error with dockerd's code */
static void cp_error(struct api_req *r, cell_error **err)
{
	const char *m = (*err)->msg;
	unsigned status = cell_error_code(*err) == ENOENT || strstr(m, "could not find") || strstr(m, "does not exist")
				  ? 404
			  : strstr(m, "read-only") || strstr(m, "read only") ? 403
			  : strstr(m, "must be a directory") || strstr(m, "not a directory") || strstr(m, "leaves the "
												     "destination")
				  ? 400
				  : 500;
	api_error(r, status, "%s", m);
	cell_error_free(err);
}

/* Go's os.FileMode of a stat: permissions and its own type bits */
static uint32_t go_mode(mode_t m)
{
	uint32_t g = m & 0777;
	if (S_ISDIR(m)) g |= 1u << 31;
	if (S_ISLNK(m)) g |= 1u << 27;
	if (S_ISFIFO(m)) g |= 1u << 25;
	if (S_ISSOCK(m)) g |= 1u << 24;
	if (S_ISBLK(m)) g |= 1u << 26;
	if (S_ISCHR(m)) g |= (1u << 26) | (1u << 21);
	if (m & S_ISUID) g |= 1u << 23;
	if (m & S_ISGID) g |= 1u << 22;
	if (m & S_ISVTX) g |= 1u << 20;
	return g;
}

/* X-Docker-Container-Path-Stat: base64 of {"name","size","mode","mtime","linkTarget"} */
static char *path_stat_header(const char *path, const struct stat *st, const char *link)
{
	_cleanup_free_ char *c = xstrdup(path);
	size_t n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = 0;
	const char *base = strrchr(c, '/') ? strrchr(c, '/') + 1 : c;
	if (!*base)
		base = "/";
	struct tm tm;
	time_t t = st->st_mtim.tv_sec;
	gmtime_r(&t, &tm);
	char when[64], buf[40];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof(when), "%s.%09ldZ", buf, st->st_mtim.tv_nsec);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(base));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)st->st_size));
	json_object_object_add(o, "mode", json_object_new_int64(go_mode(st->st_mode)));
	json_object_object_add(o, "mtime", json_object_new_string(when));
	json_object_object_add(o, "linkTarget", json_object_new_string(link ? link : ""));
	const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t jl = strlen(j);
	char *out = xcalloc(1, BASE64_ENCODE_RAW_LENGTH(jl) + 1);
	base64_encode_raw((char *)out, jl, (const uint8_t *)j);
	json_object_put(o);
	return out;
}

static bool archive_stat(struct api_req *r, const char *id, const char *path, char **ret_hdr)
{
	struct stat st;
	_cleanup_free_ char *link = NULL;
	cell_error *err = NULL;
	if (cell_ctr_cp_stat(r->engine, id, api_param(r, "id"), path, &st, &link, &err) < 0) {
		cp_error(r, &err);
		return false;
	}
	*ret_hdr = path_stat_header(path, &st, link);
	return true;
}

struct cp_args {
	struct cell_engine *engine;
	struct cell_cp_req *q;
};

static int cp_child(void *cls, int fd)
{
	struct cp_args *a = cls;
	cell_error *err = NULL;
	a->q->tar_fd = fd;
	return cell_ctr_cp(a->engine, a->q, &err);
}

static void archive_get(struct api_req *r)
{
	_cleanup_free_ char *id = NULL, *hdr = NULL;
	const char *path = api_query(r, "path");
	if (!path || !*path) {
		api_error(r, 400, "archive: the query parameter `path` is needed");
		return;
	}
	if (!ctr_lookup(r, &id) || !archive_stat(r, id, path, &hdr))
		return;
	r->reply_header[0] = "X-Docker-Container-Path-Stat";
	r->reply_header[1] = hdr;
	if (streq(r->method, "HEAD")) {	/* docker cp's stat of a path */
		api_reply_empty(r, 200);
		return;
	}
	struct cell_cp_req q = { .id = id, .ref = api_param(r, "id"), .ctr_path = path };
	api_reply_child(r, 200, "application/x-tar", cp_child, &(struct cp_args){ .engine = r->engine, .q = &q });
}

static void archive_put(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	const char *path = api_query(r, "path");
	if (!path || !*path) {
		api_error(r, 400, "archive: the query parameter `path` is needed");
		return;
	}
	if (r->body_fd < 0) {
		api_error(r, 400, "archive: no tar in the body");
		return;
	}
	if (!ctr_lookup(r, &id))
		return;
	struct cell_cp_req q = { .id = id, .ref = api_param(r, "id"), .ctr_path = path, .into = true,
				 .tar_fd = r->body_fd, .archive = api_query_bool(r, "copyUIDGID", false) };
	cell_error *err = NULL;
	if (cell_ctr_cp(r->engine, &q, &err) < 0) {
		cp_error(r, &err);
		return;
	}
	api_reply_empty(r, 200);
}

const struct api_route api_routes_build[] = {
	{ "HEAD", "/containers/{id}/archive", archive_get, 0 },
	{ "GET", "/containers/{id}/archive", archive_get, 0 },
	{ "PUT", "/containers/{id}/archive", archive_put, API_BODY_FILE },
	{ "POST", "/build", build, API_BODY_FILE },
	{ "POST", "/build/prune", build_prune, 0 },
	{ "POST", "/images/load", load, API_BODY_FILE },
	{ "GET", "/images/get", get_many, 0 },
	{ "GET", "/images/{name*}/get", get_one, 0 },
	{ NULL, NULL, NULL, 0 },
};
