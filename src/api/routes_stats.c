/* The API's GET /containers/{id}/top and /containers/{id}/stats.
 *
 * top runs the host's `ps` with ps_args (default -ef) and keeps the rows of
 * the container's processes (the runtime's pid list), as dockerd does, so
 * any ps_args the client knows work. stats turns the runtime's cgroup
 * sample (cell_rt_stats) and the container's /proc/<pid>/net/dev into
 * dockerd's StatsJSON: with stream=false one reading with its previous
 * one (half a second before, so that the CPU rate can be worked out; with
 * one-shot none), else one a second until the client goes. */
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
#include "engine/stats.h"
#include "runtime/runtime.h"
#include "util.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* The container by the path's id, running; false after a reply. */
static bool running(struct api_req *r, char **ret_id, json_object **ret_rec)
{
	const char *ref = api_param(r, "id");
	cell_error *err = NULL;
	if (cell_ctr_lookup(r->engine, ref, ret_id, &err) < 0) {
		cell_error_free(&err);
		api_error(r, 404, "No such container: %s", ref);
		return false;
	}
	json_object *rec = NULL;
	api_lock();
	int rc = cell_ctr_load(r->engine, *ret_id, &rec, &err);
	api_unlock();
	if (rc < 0) {
		api_error_from(r, &err, 404);
		return false;
	}
	const char *s = cell_ctr_status(rec);
	if (!streq(s, "running") && !streq(s, "paused") && !streq(s, "restarting")) {
		json_object_put(rec);
		api_error(r, 409, "Container %s is not running", *ret_id);
		return false;
	}
	if (ret_rec)
		*ret_rec = rec;
	else
		json_object_put(rec);
	return true;
}

/* ---- top ---- */

/* `ps ARGS`'s output, run without a shell; NULL with *err. */
static char *run_ps(const char *ps_args, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(ps_args);
	char *argv[64] = { "ps" };
	size_t n = 1;
	for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= ARRAY_SIZE(argv)) {
			cell_error_set(err, "ps_args: too many arguments (at most %zu)", ARRAY_SIZE(argv) - 2);
			return NULL;
		}
		argv[n++] = w;
	}
	argv[n] = NULL;
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		cell_error_errno(err, errno, "top: make a pipe");
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		cell_error_errno(err, errno, "top: fork");
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 || devnull < 0 || dup2(devnull, 0) < 0)
			_exit(127);
		execvp("ps", argv);
		dprintf(1, "cannot run ps: %s (is procps installed?)", strerror(errno));
		_exit(127);
	}
	close(out[1]);
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			char *b = realloc(buf, cap + 1);
			if (!b)
				abort();
			buf = b;
		}
		ssize_t k = read(out[0], buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(out[0]);
	buf[len] = 0;
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		while (len && buf[len - 1] == '\n')
			buf[--len] = 0;
		cell_error_set(err, "ps %s: %s", ps_args, *buf ? buf : "failed");
		free(buf);
		return NULL;
	}
	return buf;
}

static json_object *fields(char *line, size_t max)
{
	json_object *a = json_object_new_array();
	char *p = line;
	for (size_t i = 0; *p; i++) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		if (max && i + 1 == max) {
			/* the last column (the command) keeps its spaces */
			size_t n = strlen(p);
			while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			json_object_array_add(a, json_object_new_string_len(p, (int)n));
			break;
		}
		size_t n = strcspn(p, " \t");
		json_object_array_add(a, json_object_new_string_len(p, (int)n));
		p += n;
	}
	return a;
}

static void top(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	if (!running(r, &id, NULL))
		return;
	const char *ps_args = api_query(r, "ps_args");
	if (!ps_args || !*ps_args)
		ps_args = "-ef";
	pid_t *pids = NULL;
	size_t np = 0;
	cell_error *err = NULL;
	if (cell_rt_pids(r->engine->rt_root, id, &pids, &np, &err) < 0) {
		api_error_from(r, &err, 500);
		return;
	}
	_cleanup_free_ char *out = run_ps(ps_args, &err);
	if (!out) {
		free(pids);
		api_error(r, 500, "%s", err->msg);
		cell_error_free(&err);
		return;
	}
	char *save = NULL, *line = strtok_r(out, "\n", &save);
	json_object *titles = line ? fields(line, 0) : json_object_new_array();
	size_t nt = json_object_array_length(titles);
	ssize_t pid_col = -1;
	for (size_t i = 0; i < nt; i++)
		if (streq(json_object_get_string(json_object_array_get_idx(titles, i)), "PID"))
			pid_col = (ssize_t)i;
	if (pid_col < 0) {
		free(pids);
		json_object_put(titles);
		api_error(r, 500, "Couldn't find PID field in ps output (ps_args `%s`)", ps_args);
		return;
	}
	json_object *procs = json_object_new_array();
	while ((line = strtok_r(NULL, "\n", &save))) {
		json_object *row = fields(line, nt);
		const char *p = json_object_get_string(json_object_array_get_idx(row, (size_t)pid_col));
		long pid = p ? strtol(p, NULL, 10) : -1;
		bool ours = false;
		for (size_t i = 0; i < np && !ours; i++)
			ours = pids[i] == pid;
		if (ours)
			json_object_array_add(procs, row);
		else
			json_object_put(row);
	}
	free(pids);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Titles", titles);
	json_object_object_add(o, "Processes", procs);
	api_reply_json(r, 200, o);
}

/* ---- stats ---- */

static json_object *u64(json_object *o, const char *a, const char *b)
{
	json_object *v = get(o, a);
	if (b)
		v = get(v, b);
	return json_object_new_uint64(v ? (uint64_t)json_object_get_int64(v) : 0);
}

/* All the host's CPUs' time in ns (/proc/stat's first line), as dockerd's
 * system_cpu_usage: the docker CLI's CPU % is the container's share of it. */
static uint64_t system_cpu_ns(void)
{
	char *text = NULL;
	cell_error *x = NULL;
	if (read_file("/proc/stat", &text, NULL, &x) < 0) {
		cell_error_free(&x);
		return 0;
	}
	uint64_t sum = 0;
	char *p = text + strcspn(text, " ");
	for (int i = 0; i < 8; i++) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		sum += v;
		p = end;
	}
	free(text);
	long hz = sysconf(_SC_CLK_TCK);
	return sum * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

static json_object *cpu_stats(json_object *st)
{
	json_object *c = json_object_new_object(), *u = json_object_new_object();
	json_object *usage = get(get(st, "cpu"), "usage");
	json_object_object_add(u, "total_usage", u64(usage, "total", NULL));
	json_object_object_add(u, "usage_in_kernelmode", u64(usage, "kernel", NULL));
	json_object_object_add(u, "usage_in_usermode", u64(usage, "user", NULL));
	json_object *per = get(usage, "percpu");
	if (json_object_is_type(per, json_type_array))
		json_object_object_add(u, "percpu_usage", json_object_get(per));
	json_object_object_add(c, "cpu_usage", u);
	json_object_object_add(c, "system_cpu_usage", u64(st, "x_system", NULL));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	json_object_object_add(c, "online_cpus", json_object_new_int(cpus > 0 ? (int)cpus : 1));
	json_object *th = get(get(st, "cpu"), "throttling"), *t = json_object_new_object();
	json_object_object_add(t, "periods", u64(th, "periods", NULL));
	json_object_object_add(t, "throttled_periods", u64(th, "throttledPeriods", NULL));
	json_object_object_add(t, "throttled_time", u64(th, "throttledTime", NULL));
	json_object_object_add(c, "throttling_data", t);
	return c;
}

static json_object *mem_stats(json_object *st)
{
	json_object *m = json_object_new_object(), *mem = get(st, "memory");
	json_object_object_add(m, "usage", u64(mem, "usage", "usage"));
	json_object_object_add(m, "max_usage", u64(mem, "usage", "max"));
	json_object_object_add(m, "failcnt", u64(mem, "usage", "failcnt"));
	uint64_t lim = (uint64_t)json_object_get_int64(get(get(mem, "usage"), "limit"));
	if (!lim || lim > (1ULL << 60)) {
		/* no limit: the host's memory, as dockerd reports it */
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		lim = (uint64_t)pages * (uint64_t)psz;
	}
	json_object_object_add(m, "limit", json_object_new_uint64(lim));
	json_object *raw = get(mem, "raw");
	json_object_object_add(m, "stats", raw ? json_object_get(raw) : json_object_new_object());
	return m;
}

static json_object *blkio_stats(json_object *st)
{
	json_object *b = json_object_new_object(), *a = json_object_new_array();
	json_object *in = get(get(st, "blkio"), "ioServiceBytesRecursive");
	for (size_t i = 0; in && i < json_object_array_length(in); i++) {
		json_object *e = json_object_array_get_idx(in, i), *o = json_object_new_object();
		json_object_object_add(o, "major", u64(e, "major", NULL));
		json_object_object_add(o, "minor", u64(e, "minor", NULL));
		const char *op = json_object_get_string(get(e, "op"));
		/* dockerd's ops are capitalized: Read, Write */
		_cleanup_free_ char *cap = xstrdup(op ? op : "");
		if (*cap >= 'a' && *cap <= 'z')
			*cap = (char)(*cap - 32);
		json_object_object_add(o, "op", json_object_new_string(cap));
		json_object_object_add(o, "value", u64(e, "value", NULL));
		json_object_array_add(a, o);
	}
	json_object_object_add(b, "io_service_bytes_recursive", a);
	return b;
}

struct reading {
	json_object *st;	/* the runtime's */
	json_object *net;
	char when[64];
};

static void reading_clear(struct reading *x)
{
	json_object_put(x->st);
	json_object_put(x->net);
	*x = (struct reading){ 0 };
}

/* One reading; the host's CPU time is kept with it (precpu needs the
 * host's time of the earlier reading, not of now). */
static int sample(struct cell_engine *e, const char *id, pid_t pid, struct reading *x, cell_error **err)
{
	reading_clear(x);
	if (cell_rt_stats(e->rt_root, id, &x->st, err) < 0)
		return -1;
	json_object_object_add(x->st, "x_system", json_object_new_uint64(system_cpu_ns()));
	cell_ctr_netdev(pid, &x->net);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char b[32];
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(x->when, sizeof(x->when), "%s.%09ldZ", b, ts.tv_nsec);
	return 0;
}

static json_object *stats_json(const char *id, const char *name, const struct reading *now, const struct reading *pre)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "read", json_object_new_string(now->when));
	json_object_object_add(o, "preread", json_object_new_string(pre && pre->st ? pre->when : "0001-01-01T00:00:00Z"));
	json_object *p = json_object_new_object();
	json_object_object_add(p, "current", u64(get(now->st, "pids"), "current", NULL));
	json_object_object_add(p, "limit", u64(get(now->st, "pids"), "limit", NULL));
	json_object_object_add(o, "pids_stats", p);
	json_object_object_add(o, "num_procs", json_object_new_int(0));
	json_object_object_add(o, "cpu_stats", cpu_stats(now->st));
	json_object *pc;
	if (pre && pre->st) {
		pc = cpu_stats(pre->st);
	} else {
		pc = json_object_new_object();
		json_object_object_add(pc, "cpu_usage", json_object_new_object());
		json_object_object_add(pc, "throttling_data", json_object_new_object());
	}
	json_object_object_add(o, "precpu_stats", pc);
	json_object_object_add(o, "memory_stats", mem_stats(now->st));
	json_object_object_add(o, "blkio_stats", blkio_stats(now->st));
	json_object_object_add(o, "storage_stats", json_object_new_object());
	json_object_object_add(o, "networks", now->net ? json_object_get(now->net) : json_object_new_object());
	_cleanup_free_ char *n = name && *name == '/' ? xstrdup(name) : xasprintf("/%s", name ? name : "");
	json_object_object_add(o, "name", json_object_new_string(n));
	json_object_object_add(o, "id", json_object_new_string(id));
	return o;
}

struct stream {
	struct cell_engine *engine;
	char id[65];
	char *name;
	pid_t pid;
	int client;
	struct reading pre, now;
	char *line;
	size_t len, off;
	bool first;
};

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t stats_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	if (s->off >= s->len) {
		free(s->line);
		s->line = NULL;
		s->len = s->off = 0;
		bool first = s->first;
		s->first = false;
		if (!first) {
			/* a second between readings; a client gone ends it */
			for (int i = 0; i < 10; i++) {
				struct timespec ts = { 0, 100 * 1000 * 1000 };
				nanosleep(&ts, NULL);
				if (client_gone(s->client))
					return MHD_CONTENT_READER_END_OF_STREAM;
			}
			reading_clear(&s->pre);
			s->pre = s->now;
			s->now = (struct reading){ 0 };
			cell_error *err = NULL;
			if (sample(s->engine, s->id, s->pid, &s->now, &err) < 0) {
				/* stopped: the stream ends, as dockerd's */
				cell_error_free(&err);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
		}
		json_object *o = stats_json(s->id, s->name, &s->now, first ? NULL : &s->pre);
		s->line = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		s->len = strlen(s->line);
		json_object_put(o);
	}
	size_t n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->line + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void stats_free(void *cls)
{
	struct stream *s = cls;
	reading_clear(&s->pre);
	reading_clear(&s->now);
	free(s->line);
	free(s->name);
	free(s);
}

static void stats(struct api_req *r)
{
	_cleanup_free_ char *id = NULL;
	json_object *rec = NULL;
	if (!running(r, &id, &rec))
		return;
	bool stream = api_query_bool(r, "stream", true);
	bool one_shot = api_query_bool(r, "one-shot", false);
	pid_t pid = cell_ctr_pid(rec);
	const char *name = json_object_get_string(get(rec, "Name"));
	if (stream) {
		struct stream *s = xcalloc(1, sizeof(*s));
		s->engine = r->engine;
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->name = xstrdup(name ? name : "");
		s->pid = pid;
		s->first = true;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		s->client = ci ? ci->connect_fd : -1;
		json_object_put(rec);
		/* the first reading now: a container that stopped is a 409, not an empty stream */
		cell_error *err = NULL;
		if (sample(r->engine, id, pid, &s->now, &err) < 0) {
			stats_free(s);
			api_error_from(r, &err, 500);
			return;
		}
		api_reply_stream(r, 200, "application/json", stats_body, s, stats_free);
		return;
	}
	struct reading pre = { 0 }, now = { 0 };
	cell_error *err = NULL;
	int rc = 0;
	if (!one_shot) {
		rc = sample(r->engine, id, pid, &pre, &err);
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		if (rc == 0)
			nanosleep(&ts, NULL);
	}
	if (rc == 0)
		rc = sample(r->engine, id, pid, &now, &err);
	if (rc < 0) {
		json_object_put(rec);
		reading_clear(&pre);
		api_error_from(r, &err, 500);
		return;
	}
	json_object *o = stats_json(id, name, &now, one_shot ? NULL : &pre);
	json_object_put(rec);
	reading_clear(&pre);
	reading_clear(&now);
	api_reply_json(r, 200, o);
}

const struct api_route api_routes_stats[] = {
	{ "GET", "/containers/{id}/top", top },
	{ "GET", "/containers/{id}/stats", stats },
	{ NULL, NULL, NULL },
};
