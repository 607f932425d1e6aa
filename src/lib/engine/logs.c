/* `cell logs`: the monitor's JSON lines back to stdout and stderr, with
 * --tail, --since, --timestamps and --follow (which polls the file until
 * the container is no longer running and everything is read). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "json.h"
#include "util.h"

/* Written through stdio's buffers, flushed when the stream changes (the
 * order of stdout and stderr lines kept) and after each read: a flush per
 * line made a follower slower than a fast writer's rotation. */
static FILE *last_out;

static void emit_flush(void)
{
	if (last_out)
		fflush(last_out);
	last_out = NULL;
}

static void emit(const char *line, const struct cell_logs_opts *o)
{
	json_object *doc = json_tokener_parse(line);
	if (!doc)
		return;
	const char *log = json_object_get_string(json_object_object_get(doc, "log"));
	const char *stream = json_object_get_string(json_object_object_get(doc, "stream"));
	const char *time = json_object_get_string(json_object_object_get(doc, "time"));
	if (log && (!o->since || (time && strcmp(time, o->since) >= 0))) {
		FILE *f = stream && streq(stream, "stderr") ? stderr : stdout;
		if (last_out && last_out != f)
			fflush(last_out);
		last_out = f;
		if (o->timestamps && time)
			fprintf(f, "%s ", time);
		fwrite(log, 1, (size_t)json_object_get_string_len(json_object_object_get(doc, "log")), f);
	}
	json_object_put(doc);
}

/* A log file read through one open fd: a rotation (ctr.log renamed to
 * ctr.log.1, a new ctr.log) never loses what the fd's file still holds,
 * and the last incomplete line waits in buf for the rest. */
struct tailf {
	int fd;
	ino_t ino;
	char *buf;
	size_t len, cap;
};

/* Followers hold a shared flock on the file they read: the monitor does
 * not rotate ctr.log.1 away while one still reads it (see cell-monitor's
 * follower_wait). */
static bool follow_lock;

static void tailf_open(struct tailf *t, const char *path)
{
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	t->ino = t->fd >= 0 && fstat(t->fd, &st) == 0 ? st.st_ino : 0;
	t->len = 0;
	if (t->fd >= 0 && follow_lock)
		flock(t->fd, LOCK_SH | LOCK_NB);	/* a writer never holds it: best effort */
}

static void tailf_close(struct tailf *t)
{
	t->fd = safe_close(t->fd);
	t->len = 0;
}

/* Everything up to the end: complete lines to emit() (or, with lines, kept
 * in *lines for --tail). Returns the bytes read. */
static size_t tailf_drain(struct tailf *t, const struct cell_logs_opts *o, char ***lines, size_t *n)
{
	size_t total = 0;
	if (t->fd < 0)
		return 0;
	for (;;) {
		if (t->cap - t->len < 65536) {
			t->cap = t->cap ? t->cap * 2 : 131072;
			t->buf = realloc(t->buf, t->cap);
			if (!t->buf)
				abort();
		}
		ssize_t k = read(t->fd, t->buf + t->len, t->cap - t->len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		total += (size_t)k;
		t->len += (size_t)k;
		size_t start = 0;
		for (char *nl; (nl = memchr(t->buf + start, '\n', t->len - start));) {
			*nl = '\0';
			if (lines) {
				*lines = realloc(*lines, (*n + 1) * sizeof(char *));
				(*lines)[(*n)++] = xstrdup(t->buf + start);
			} else {
				emit(t->buf + start, o);
			}
			start = (size_t)(nl - t->buf) + 1;
		}
		memmove(t->buf, t->buf + start, t->len - start);
		t->len -= start;
	}
	emit_flush();
	return total;
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* ctr.log is no longer the file we read: finish ours (complete: the
 * monitor closes it before the rename), then the file rotated after it
 * if ctr.log.1 is not ours, then the new ctr.log. True when rotated. */
static bool tailf_rotate(struct tailf *t, const char *path, const char *old, const struct cell_logs_opts *o)
{
	ino_t now = ino_of(path);
	if (!now || now == t->ino)
		return false;
	tailf_drain(t, o, NULL, NULL);
	/* the new file opened (and locked) before ours is let go: the writer
	 * waits on ours, so nothing is rotated past us in between */
	struct tailf next = { .fd = -1 };
	tailf_open(&next, path);
	struct tailf mid = { .fd = -1 };
	tailf_open(&mid, old);
	if (mid.fd >= 0 && mid.ino != t->ino && mid.ino != next.ino)
		tailf_drain(&mid, o, NULL, NULL);	/* rotated past us anyway (a writer's timeout) */
	tailf_close(&mid);
	free(mid.buf);
	tailf_close(t);
	t->fd = next.fd;
	t->ino = next.ino;
	free(next.buf);
	return true;
}

/* Is output still to come? While the record says running (or paused,
 * restarting) and its watcher lives: after the init's exit the monitor
 * still drains the pipes before it records the exit. A dead watcher:
 * cell_ctr_load's view. */
static bool running(struct cell_engine *e, const char *id)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (engine_record_read(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return false;
	}
	const char *s = cell_ctr_status(rec);
	bool r = streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
	json_object *st = json_object_object_get(rec, "State");
	bool watched = proc_alive(json_object_get_int(json_object_object_get(st, "MonitorPid")),
				  (uint64_t)json_object_get_int64(json_object_object_get(st, "MonitorStart")));
	json_object_put(rec);
	if (!r || watched)
		return r;
	if (cell_ctr_load(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return false;
	}
	s = cell_ctr_status(rec);
	r = streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
	json_object_put(rec);
	return r;
}

int cell_ctr_logs(struct cell_engine *e, const char *id, const struct cell_logs_opts *o, cell_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/ctr.log", e->ctr_root, id);
	_cleanup_free_ char *old = xasprintf("%s.1", path);
	char **lines = NULL;
	size_t n = 0;
	_cleanup_free_ char *cdir = cell_ctr_dir(e, id);
	if (access(cdir, F_OK) < 0)
		return cell_error_set(err, "no such container: `%s`", id);
	/* ctr.log opened first: what is rotated meanwhile stays readable */
	follow_lock = o->follow;
	struct tailf t = { .fd = -1 };
	tailf_open(&t, path);
	struct tailf prev = { .fd = -1 };
	tailf_open(&prev, old);
	if (prev.fd >= 0 && prev.ino != t.ino)
		tailf_drain(&prev, o, &lines, &n);
	tailf_close(&prev);
	free(prev.buf);
	tailf_drain(&t, o, &lines, &n);
	size_t first = o->tail >= 0 && (size_t)o->tail < n ? n - (size_t)o->tail : 0;
	for (size_t i = 0; i < n; i++) {
		if (i >= first)
			emit(lines[i], o);
		free(lines[i]);
	}
	free(lines);
	emit_flush();
	if (!o->follow) {
		tailf_close(&t);
		free(t.buf);
		return 0;
	}
	if (t.fd < 0)
		tailf_open(&t, path);
	int idle = 0;
	for (;;) {
		size_t got = tailf_drain(&t, o, NULL, NULL);
		if (tailf_rotate(&t, path, old, o) || got) {
			idle = 0;
			continue;	/* more may be there: no sleep while it flows */
		}
		if (t.fd < 0)
			tailf_open(&t, path);
		if (!running(e, id)) {
			/* the monitor wrote its last lines before it recorded the exit */
			do
				tailf_drain(&t, o, NULL, NULL);
			while (tailf_rotate(&t, path, old, o));
			break;
		}
		struct timespec ts = { 0, (idle < 50 ? 10 : 100) * 1000 * 1000L };
		idle++;
		nanosleep(&ts, NULL);
	}
	tailf_close(&t);
	free(t.buf);
	return 0;
}
