/* The API's GET /events: the engine's events journal (engine/events.h) as
 * dockerd streams it, one JSON message per line, with since, until and
 * filters (type, event, container, image, label, network, volume). Without
 * until the stream follows new events until the client hangs up; with it,
 * it ends there (`docker events --since X --until Y` returns). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine/events.h"
#include "util.h"

struct stream {
	struct cell_events_reader *r;
	int client;
	char *line;		/* the event being sent */
	size_t len, off;
	char **filters;
};

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t events_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	while (s->off >= s->len) {
		free(s->line);
		s->line = NULL;
		s->len = s->off = 0;
		json_object *ev = NULL;
		cell_error *err = NULL;
		/* a second at a time, to see a client that went away */
		int rc = cell_events_next(s->r, 1000, &ev, &err);
		if (rc == 1) {
			s->line = xasprintf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
											   JSON_C_TO_STRING_NOSLASHESCAPE));
			s->len = strlen(s->line);
			json_object_put(ev);
			continue;
		}
		cell_error_free(&err);
		if (rc != 0 || client_gone(s->client))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	size_t n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->line + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void events_free(void *cls)
{
	struct stream *s = cls;
	cell_events_close(s->r);
	free(s->line);
	strv_free(s->filters);
	free(s);
}

/* dockerd's since/until: Unix seconds with an optional fraction ("1700000000.5") */
static bool time_param(struct api_req *r, const char *key, int64_t *ret)
{
	const char *v = api_query(r, key);
	*ret = 0;
	if (!v || !*v)
		return true;
	char *end;
	errno = 0;
	double t = strtod(v, &end);
	if (errno || *end || !isfinite(t) || t < 0 || t > 1e11) {
		api_error(r, 400, "invalid %s `%s`: expected a Unix time in seconds (with a fraction: 1700000000.5)",
			  key, v);
		return false;
	}
	/* 0 is "none" to the reader: the epoch itself is near enough */
	*ret = t > 0 ? (int64_t)(t * 1e9) : 1;
	return true;
}

static void strv_add(char ***v, size_t *n, char *s)
{
	*v = realloc(*v, (*n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* filters={"type":["container"],"label":["a=b"]} (or the old
 * {"type":{"container":true}}) as the reader's KEY=VALUE list */
static bool filters_param(struct api_req *r, char ***ret)
{
	const char *v = api_query(r, "filters");
	*ret = NULL;
	if (!v || !*v)
		return true;
	json_object *f = json_tokener_parse(v);
	if (!json_object_is_type(f, json_type_object)) {
		json_object_put(f);
		api_error(r, 400, "invalid filters `%s`: expected a JSON object of arrays ({\"type\":[\"container\"]})", v);
		return false;
	}
	char **out = NULL;
	size_t n = 0;
	bool ok = true;
	json_object_object_foreach(f, key, vals) {
		if (json_object_is_type(vals, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(vals); i++) {
				json_object *x = json_object_array_get_idx(vals, i);
				if (!json_object_is_type(x, json_type_string)) {
					ok = false;
					break;
				}
				strv_add(&out, &n, xasprintf("%s=%s", key, json_object_get_string(x)));
			}
		} else if (json_object_is_type(vals, json_type_object)) {
			json_object_object_foreach(vals, val, on)
				if (json_object_get_boolean(on))
					strv_add(&out, &n, xasprintf("%s=%s", key, val));
		} else {
			ok = false;
		}
		if (!ok)
			break;
	}
	json_object_put(f);
	if (!ok) {
		strv_free(out);
		api_error(r, 400, "invalid filters `%s`: each key takes an array of strings", v);
		return false;
	}
	cell_error *err = NULL;
	if (cell_events_filters_check(out, "filter", &err) < 0) {
		strv_free(out);
		api_error(r, 400, "%s", err->msg);
		cell_error_free(&err);
		return false;
	}
	*ret = out;
	return true;
}

static void events(struct api_req *r)
{
	struct cell_events_opts o = { 0 };
	char **filters = NULL;
	if (!time_param(r, "since", &o.since) || !time_param(r, "until", &o.until) || !filters_param(r, &filters))
		return;
	if (o.since && o.until && o.until < o.since) {
		strv_free(filters);
		api_error(r, 400, "`since` must be before `until`");
		return;
	}
	o.filters = filters;
	struct stream *s = xcalloc(1, sizeof(*s));
	s->filters = filters;
	cell_error *err = NULL;
	if (cell_events_open(r->engine, &o, &s->r, &err) < 0) {
		events_free(s);
		api_error(r, 500, "%s", err->msg);
		cell_error_free(&err);
		return;
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->client = ci ? ci->connect_fd : -1;
	api_reply_stream(r, 200, "application/json", events_body, s, events_free);
}

const struct api_route api_routes_events[] = {
	{ "GET", "/events", events },
	{ NULL, NULL, NULL },
};
