/* The events journal: see events.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
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

/* ---- filters ---- */

static const char *attr(json_object *ev, const char *key)
{
	json_object *a = json_object_object_get(json_object_object_get(ev, "Actor"), "Attributes");
	return json_object_get_string(json_object_object_get(a, key));
}

static bool filter_one(json_object *ev, const char *key, const char *val)
{
	const char *type = json_object_get_string(json_object_object_get(ev, "Type"));
	const char *action = json_object_get_string(json_object_object_get(ev, "Action"));
	const char *id = json_object_get_string(json_object_object_get(json_object_object_get(ev, "Actor"), "ID"));
	type = type ? type : "";
	action = action ? action : "";
	id = id ? id : "";
	if (streq(key, "type"))
		return streq(type, val);
	if (streq(key, "event")) {
		/* "health_status: healthy" is matched by health_status too */
		size_t n = strcspn(action, ":");
		return streq(action, val) || (strlen(val) == n && strncmp(action, val, n) == 0);
	}
	if (streq(key, "container")) {
		const char *name = attr(ev, "name");
		return streq(type, "container") &&
		       ((*val && strncmp(id, val, strlen(val)) == 0) || (name && streq(name, val)));
	}
	if (streq(key, "image")) {
		const char *img = streq(type, "image") ? id : attr(ev, "image");
		const char *name = attr(ev, "name");
		return (img && streq(img, val)) || (streq(type, "image") && name && streq(name, val));
	}
	if (streq(key, "network") || streq(key, "volume"))
		return streq(type, key) && (streq(id, val) || (attr(ev, "name") && streq(attr(ev, "name"), val)));
	if (streq(key, "label")) {
		const char *eq = strchr(val, '=');
		_cleanup_free_ char *k = eq ? strndup(val, (size_t)(eq - val)) : xstrdup(val);
		const char *v = attr(ev, k);
		return v && (!eq || streq(v, eq + 1));
	}
	return false;
}

static const char *const filter_keys[] = { "type", "event", "container", "image", "label", "network", "volume" };

int cell_events_filters_check(char **filters, const char *what, cell_error **err)
{
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *eq = strchr(filters[i], '=');
		bool known = false;
		for (size_t k = 0; eq && k < ARRAY_SIZE(filter_keys); k++)
			known |= strlen(filter_keys[k]) == (size_t)(eq - filters[i]) &&
				 strncmp(filters[i], filter_keys[k], (size_t)(eq - filters[i])) == 0;
		if (!known)
			return cell_error_set(err, "invalid %s `%s`: expected KEY=VALUE with KEY one of type, "
						   "event, container, image, label, network, volume", what, filters[i]);
	}
	return 0;
}

/* Docker's rule: filters of one key are or'ed, different keys and'ed. */
bool cell_events_match(json_object *ev, char **filters)
{
	for (size_t k = 0; k < ARRAY_SIZE(filter_keys); k++) {
		bool seen = false, ok = false;
		size_t kl = strlen(filter_keys[k]);
		for (size_t i = 0; filters && filters[i]; i++) {
			if (strncmp(filters[i], filter_keys[k], kl) != 0 || filters[i][kl] != '=')
				continue;
			seen = true;
			ok |= filter_one(ev, filter_keys[k], filters[i] + kl + 1);
		}
		if (seen && !ok)
			return false;
	}
	return true;
}

/* ---- reading ---- */

#define LINE_MAX_EV (64 * 1024)	/* a longer line is not one we wrote */

struct cell_events_reader {
	struct cell_events_opts o;
	char *path, *old;
	int in;			/* inotify on the root, -1 when not following */
	int fd;			/* the file being read */
	bool in_old;		/* the rotated generation first */
	bool done;
	size_t len, start;
	char buf[LINE_MAX_EV];
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cell_events_open(struct cell_engine *e, const struct cell_events_opts *o, struct cell_events_reader **ret,
		     cell_error **err)
{
	struct cell_events_reader *r = xcalloc(1, sizeof(*r));
	r->o = *o;
	r->path = xasprintf("%s/" EVENTS_FILE, e->root);
	r->old = xasprintf("%s/" EVENTS_OLD, e->root);
	r->in = -1;
	/* watch first, so that nothing written between the reads and the
	 * watch is missed */
	if (!o->until || o->until > now_ns()) {
		r->in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (r->in < 0 || inotify_add_watch(r->in, e->root, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
			cell_error_errno(err, errno, "events: watch `%s` with inotify (fs.inotify.max_user_watches "
					 "reached?)", e->root);
			cell_events_close(r);
			return -1;
		}
	}
	/* the past: only with since or until, as Docker */
	if (o->since || o->until) {
		r->fd = open(r->old, O_RDONLY | O_CLOEXEC);
		r->in_old = r->fd >= 0;
	}
	if (!r->in_old) {
		r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
		if (r->fd >= 0 && !o->since && !o->until)
			lseek(r->fd, 0, SEEK_END);
	}
	*ret = r;
	return 0;
}

void cell_events_close(struct cell_events_reader *r)
{
	if (!r)
		return;
	safe_close(r->in);
	safe_close(r->fd);
	free(r->path);
	free(r->old);
	free(r);
}

/* The next whole line in the buffer, NUL-terminated; NULL when there is none. */
static char *take_line(struct cell_events_reader *r)
{
	char *nl = memchr(r->buf + r->start, '\n', r->len - r->start);
	if (!nl)
		return NULL;
	*nl = 0;
	char *line = r->buf + r->start;
	r->start = (size_t)(nl - r->buf) + 1;
	return line;
}

/* More of the current file into the buffer: false at its end. */
static bool read_more(struct cell_events_reader *r)
{
	if (r->fd < 0)
		return false;
	memmove(r->buf, r->buf + r->start, r->len - r->start);
	r->len -= r->start;
	r->start = 0;
	if (r->len == sizeof(r->buf) - 1)
		r->len = 0;	/* a line this long is not ours: dropped */
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		r->len += (size_t)n;
		return true;
	}
}

/* At the end of the current file: on to the live one if it was the old
 * generation or the live one was rotated (or first made). */
static bool switch_file(struct cell_events_reader *r)
{
	struct stat a, b;
	if (r->in_old) {
		r->in_old = false;
	} else if (stat(r->path, &a) < 0 || (r->fd >= 0 && fstat(r->fd, &b) == 0 && a.st_ino == b.st_ino)) {
		return false;
	}
	safe_close(r->fd);
	r->len = r->start = 0;
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	return r->fd >= 0;
}

int cell_events_next(struct cell_events_reader *r, int timeout_ms, json_object **ret, cell_error **err)
{
	int64_t deadline = timeout_ms >= 0 ? now_ns() + (int64_t)timeout_ms * 1000000 : 0;
	while (!r->done) {
		char *line = take_line(r);
		if (line) {
			json_object *ev = json_tokener_parse(line);
			if (!json_object_is_type(ev, json_type_object)) {
				json_object_put(ev);
				continue;
			}
			int64_t t = json_object_get_int64(json_object_object_get(ev, "timeNano"));
			if (r->o.until && t > r->o.until) {
				json_object_put(ev);
				r->done = true;
				break;
			}
			if ((r->o.since && t < r->o.since) || !cell_events_match(ev, r->o.filters)) {
				json_object_put(ev);
				continue;
			}
			*ret = ev;
			return 1;
		}
		if (read_more(r) || switch_file(r))
			continue;
		/* at the end of what is written: wait for more, until `until` */
		int64_t now = now_ns();
		if (r->in < 0 || (r->o.until && now >= r->o.until)) {
			r->done = true;
			break;
		}
		int64_t wait = -1;
		if (r->o.until)
			wait = (r->o.until - now) / 1000000 + 1;
		if (deadline) {
			if (now >= deadline)
				return 0;
			int64_t d = (deadline - now) / 1000000 + 1;
			wait = wait < 0 || d < wait ? d : wait;
		}
		struct pollfd p = { .fd = r->in, .events = POLLIN };
		if (poll(&p, 1, wait < 0 || wait > 1000000 ? (wait < 0 ? -1 : 1000000) : (int)wait) < 0 && errno != EINTR)
			return cell_error_errno(err, errno, "events: wait for new events");
		char ibuf[4096];
		while (read(r->in, ibuf, sizeof(ibuf)) > 0)
			;
	}
	return CELL_EVENTS_END;
}
