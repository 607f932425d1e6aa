/* The events journal: see events.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "events.h"
#include "json.h"
#include "util.h"

void cell_event(struct cell_engine *e, const char *type, const char *action, const char *actor_id,
		json_object *attrs)
{
	cell_event_at(e->root, type, action, actor_id, attrs);
}

void cell_event_at(const char *root, const char *type, const char *action, const char *actor_id,
		   json_object *attrs)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object *ev = json_object_new_object();
	if (streq(type, "container")) {
		json_object *img = attrs ? json_object_object_get(attrs, "image") : NULL;
		json_object_object_add(ev, "status", json_object_new_string(action));
		json_object_object_add(ev, "id", json_object_new_string(actor_id));
		if (img)
			json_object_object_add(ev, "from", json_object_get(img));
	}
	json_object_object_add(ev, "Type", json_object_new_string(type));
	json_object_object_add(ev, "Action", json_object_new_string(action));
	json_object *actor = json_object_new_object();
	json_object_object_add(actor, "ID", json_object_new_string(actor_id ? actor_id : ""));
	json_object_object_add(actor, "Attributes", attrs ? attrs : json_object_new_object());
	json_object_object_add(ev, "Actor", actor);
	json_object_object_add(ev, "scope", json_object_new_string("local"));
	json_object_object_add(ev, "time", json_object_new_int64((int64_t)ts.tv_sec));
	json_object_object_add(ev, "timeNano", json_object_new_int64((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
	_cleanup_free_ char *line = xasprintf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(ev);

	_cleanup_free_ char *path = xasprintf("%s/" EVENTS_FILE, root);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size + (off_t)strlen(line) > EVENTS_MAX) {
		/* rotate: one old generation; a writer racing us appends to
		 * whichever file its open found, both are read */
		_cleanup_free_ char *old = xasprintf("%s/" EVENTS_OLD, root);
		close(fd);
		rename(path, old);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return;
	}
	/* one write: O_APPEND writes of a regular file do not interleave */
	if (write(fd, line, strlen(line)) < 0) {
		/* best effort */
	}
	close(fd);
}

void cell_event_ctr(struct cell_engine *e, const char *action, const char *id, json_object *rec,
		    json_object *extra)
{
	json_object *attrs = json_object_new_object();
	json_object *cfg = json_object_object_get(rec, "Config");
	json_object *labels = json_object_object_get(cfg, "Labels");
	if (json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, v)
			json_object_object_add(attrs, k, json_object_get(v));
	}
	const char *image = json_object_get_string(json_object_object_get(cfg, "Image"));
	const char *name = json_object_get_string(json_object_object_get(rec, "Name"));
	json_object_object_add(attrs, "image", json_object_new_string(image ? image : ""));
	json_object_object_add(attrs, "name", json_object_new_string(name ? (name[0] == '/' ? name + 1 : name) : ""));
	if (extra) {
		json_object_object_foreach(extra, xk, xv)
			json_object_object_add(attrs, xk, json_object_get(xv));
		json_object_put(extra);
	}
	cell_event(e, "container", action, id, attrs);
}

void cell_event_ctr_id(struct cell_engine *e, const char *action, const char *id, json_object *extra)
{
	json_object *rec = NULL;
	cell_error *x = NULL;
	if (engine_record_read(e, id, &rec, &x) < 0) {
		cell_error_free(&x);
		json_object_put(extra);
		return;
	}
	cell_event_ctr(e, action, id, rec, extra);
	json_object_put(rec);
}
