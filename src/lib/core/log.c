#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "error.h"
#include "util.h"

static struct {
	const char *prog;
	int fd;
	bool json;
	bool debug;
} L = { "cell", -1, false, false };

int cell_log_init(const char *progname, const char *path, bool json, bool debug, cell_error **err)
{
	L.prog = progname;
	L.json = json;
	L.debug = debug;
	if (path && *path) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			return cell_error_errno(err, errno, "open log file `%s`", path);
		L.fd = fd;
	}
	return 0;
}

bool cell_log_debug_enabled(void)
{
	return L.debug;
}

int cell_log_fd(void)
{
	return L.fd;
}

static const char *level_name(enum cell_log_level l)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	return names[l];
}

static void vlog(enum cell_log_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (level == CELL_LOG_DEBUG && !L.debug)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	if (L.fd >= 0) {
		char ts[48];
		char *line = NULL;
		rfc3339_now(ts, sizeof(ts));
		if (L.json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "level", json_object_new_string(level_name(level)));
			json_object_object_add(o, "msg", json_object_new_string(msg));
			json_object_object_add(o, "time", json_object_new_string(ts));
			line = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
									   JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			line = xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", ts, level_name(level), msg);
		}
		if (write(L.fd, line, strlen(line)) < 0) {
			/* nowhere left to report it */
		}
		free(line);
	}
	/* stderr always gets errors; other levels only without a log file */
	if (level == CELL_LOG_ERROR || L.fd < 0) {
		if (level == CELL_LOG_ERROR) {
			fprintf(stderr, "%s: %s\n", L.prog, msg);
		} else if (level == CELL_LOG_DEBUG) {
			/* runc's --debug shape on stderr, which tools grep for */
			char ts[48];
			rfc3339_now(ts, sizeof(ts));
			fprintf(stderr, "time=\"%s\" level=debug msg=\"%s\"\n", ts, msg);
		} else
			fprintf(stderr, "%s: %s: %s\n", L.prog, level_name(level), msg);
	}
	free(msg);
}

void cell_log(enum cell_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void cell_log_error(cell_error **err)
{
	if (!err || !*err)
		return;
	cell_log(CELL_LOG_ERROR, "%s", (*err)->msg ? (*err)->msg : "unknown error");
	cell_error_free(err);
}
