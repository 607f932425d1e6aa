/* `cell logs`: the monitor's JSON lines back to stdout and stderr, with
 * --tail, --since, --timestamps and --follow (which polls the file until
 * the container is no longer running and everything is read). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "json.h"
#include "util.h"

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
		if (o->timestamps && time)
			fprintf(f, "%s ", time);
		fwrite(log, 1, (size_t)json_object_get_string_len(json_object_object_get(doc, "log")), f);
		fflush(f);
	}
	json_object_put(doc);
}

/* Lines of a file from offset; the last incomplete line is left for later. */
static size_t read_lines(const char *path, size_t off, char ***lines, size_t *n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return off;
	if (fseeko(f, (off_t)off, SEEK_SET) < 0) {
		fclose(f);
		return off;
	}
	char *buf = NULL;
	size_t cap = 0;
	ssize_t k;
	while ((k = getline(&buf, &cap, f)) > 0) {
		if (buf[k - 1] != '\n')
			break;
		*lines = realloc(*lines, (*n + 1) * sizeof(char *));
		(*lines)[(*n)++] = xstrdup(buf);
		off += (size_t)k;
	}
	free(buf);
	fclose(f);
	return off;
}

static bool running(struct cell_engine *e, const char *id)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (cell_ctr_load(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		return false;
	}
	const char *s = cell_ctr_status(rec);
	bool r = streq(s, "running") || streq(s, "paused") || streq(s, "restarting");
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
	read_lines(old, 0, &lines, &n);
	size_t off = read_lines(path, 0, &lines, &n);
	size_t first = o->tail >= 0 && (size_t)o->tail < n ? n - (size_t)o->tail : 0;
	for (size_t i = 0; i < n; i++) {
		if (i >= first)
			emit(lines[i], o);
		free(lines[i]);
	}
	free(lines);
	if (!o->follow)
		return 0;
	struct stat st0;
	ino_t ino = stat(path, &st0) == 0 ? st0.st_ino : 0;
	for (;;) {
		bool live = running(e, id);
		struct stat st;
		if (stat(path, &st) == 0 && st.st_ino != ino) {
			/* rotated: finish the old file, start the new one */
			lines = NULL;
			n = 0;
			read_lines(old, off, &lines, &n);
			off = 0;
			ino = st.st_ino;
		} else {
			lines = NULL;
			n = 0;
		}
		off = read_lines(path, off, &lines, &n);
		for (size_t i = 0; i < n; i++) {
			emit(lines[i], o);
			free(lines[i]);
		}
		free(lines);
		if (!live && access(cdir, F_OK) == 0) {
			/* one more pass: the monitor writes the last lines before recording the exit */
			lines = NULL;
			n = 0;
			off = read_lines(path, off, &lines, &n);
			for (size_t i = 0; i < n; i++) {
				emit(lines[i], o);
				free(lines[i]);
			}
			free(lines);
			return 0;
		}
		if (!live)
			return 0;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}
