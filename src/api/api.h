/* The Docker Engine API, served by `cell system service` (service.c).
 *
 *   client ──HTTP/1.1 over unix:// or tcp://127.0.0.1──► libmicrohttpd (dlopen()ed,
 *   one thread per connection) ──► server.c: body read (bounded), /v1.NN/ prefix
 *   stripped and checked, route matched ──► a route's handler (routes_*.c) calls
 *   the engine library directly, as the `cell` commands do, and replies once.
 *
 * Conventions for route files:
 * - A file defines `const struct api_route api_routes_X[]`, ended by an entry
 *   with a NULL method, and adds it to the `tables` list in server.c.
 * - Patterns are paths with `{name}` for one segment and `{name*}` for one or
 *   more (an image name with slashes); api_param(r, "name") gives the text.
 * - A handler replies exactly once: api_reply_json() (takes the object),
 *   api_reply_empty(), api_error() / api_error_from(), api_reply_stream()
 *   (a body produced by a callback: logs, events, pull progress) or
 *   api_hijack() (101 Upgrade: tcp, then the raw socket: attach, exec).
 *   A handler that does not reply gets a 500.
 * - Engine calls that change state take the engine lock (api_lock()) so that
 *   two requests never interleave inside one engine operation; calls that
 *   block (wait, follow, attach) must not hold it.
 * - Errors are `{"message": "..."}` with dockerd's codes: 400 bad parameter,
 *   404 no such object, 409 conflict, 304 not modified, 500 otherwise. */
#ifndef CELL_API_H
#define CELL_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "dl-mhd.h"
#include "engine/engine.h"
#include "error.h"

#define API_VERSION_MIN "1.24"
#define API_VERSION_MAX "1.43"
#define API_BODY_MAX (16u << 20)	/* a JSON body, at most */

#define API_PARAMS_MAX 4

struct api_req {
	struct MHD_Connection *conn;
	const char *method;		/* "GET", "POST" ... */
	const char *path;		/* without the /v1.NN prefix */
	unsigned version;		/* 1.NN as 100 + NN (1.41 → 141); the newest when the path has none */
	const char *param_name[API_PARAMS_MAX];
	char *param[API_PARAMS_MAX];
	size_t n_params;
	const char *body;		/* NUL-terminated; "" when there is none */
	size_t body_len;
	int body_fd;			/* API_BODY_FILE routes: the body, at offset 0 (-1: none sent) */
	unsigned long long body_file_len;
	struct cell_engine *engine;
	const char *reply_header[2];	/* one more header for the reply: name, value (borrowed) */
	bool replied;
};

struct api_route {
	const char *method;
	const char *pattern;
	void (*fn)(struct api_req *r);
	unsigned flags;			/* API_BODY_FILE */
};
/* The body (an archive: a build context, images to load) is spooled to an
 * unlinked file under <root>/tmp, up to API_UPLOAD_MAX and the free space,
 * and given as r->body_fd; never held in memory. */
#define API_BODY_FILE 1u
#define API_UPLOAD_MAX (8ull << 30)

extern const struct api_route api_routes_system[];
extern const struct api_route api_routes_containers[];
extern const struct api_route api_routes_images[];
extern const struct api_route api_routes_attach[];
extern const struct api_route api_routes_exec[];
extern const struct api_route api_routes_build[];
extern const struct api_route api_routes_misc[];
extern const struct api_route api_routes_networks[];
extern const struct api_route api_routes_volumes[];
extern const struct api_route api_routes_events[];
extern const struct api_route api_routes_df[];
extern const struct api_route api_routes_stats[];

/* routes_attach.c: an attach made before the start (docker run's order)
 * waits with one end of a socket pair; the start route takes it for the
 * monitor (-1: none waits), then says how the start went (error NULL: ok). */
int api_attach_take(const char *id);
void api_attach_started(const char *id, int fd, const char *error);

/* ---- requests ---- */
const char *api_param(const struct api_req *r, const char *name);
/* A query parameter, NULL when absent. */
const char *api_query(const struct api_req *r, const char *key);
/* Every value of a repeated query parameter (?t=a&t=b), NULL-terminated
 * (NULL when none); the strings are borrowed, the array is the caller's. */
const char **api_query_all(const struct api_req *r, const char *key);
/* Docker's booleans: 1/true/True (and an empty value) are true. */
bool api_query_bool(const struct api_req *r, const char *key, bool def);
/* An integer parameter; false (and a 400 sent) when it is not one. */
bool api_query_int(struct api_req *r, const char *key, long long def, long long *ret);
const char *api_header(const struct api_req *r, const char *name);
/* The body as a JSON object (an empty body is NULL with true); false when
 * it is not JSON or not an object: a 400 has been sent. Caller puts. */
bool api_body_json(struct api_req *r, json_object **ret);

/* ---- replies ---- */
void api_reply_json(struct api_req *r, unsigned status, json_object *o);
void api_reply_text(struct api_req *r, unsigned status, const char *content_type, const char *text);
void api_reply_empty(struct api_req *r, unsigned status);
void api_error(struct api_req *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An engine error as dockerd would answer it: 404 for no such container or
 * image, 409 for a conflict, else `fallback`. Frees *e. */
void api_error_from(struct api_req *r, cell_error **e, unsigned fallback);
/* A body produced by fn (MHD's content reader: may block, one thread per
 * connection; MHD_CONTENT_READER_END_OF_STREAM ends it). done(cls) frees. */
void api_reply_stream(struct api_req *r, unsigned status, const char *content_type,
		      MHD_ContentReaderCallback fn, void *cls, MHD_ContentReaderFreeCallback done);
/* A body that fn(cls, fd) writes to fd in a forked child (signals reset,
 * SIGPIPE default), sent as it comes; the child exits 0 when fn returns 0,
 * else the body ends in error (the client sees it cut short, as dockerd's
 * errors half-way). A client hanging up kills the child. For archives:
 * save, export, docker cp out. */
void api_reply_child(struct api_req *r, unsigned status, const char *content_type, int (*fn)(void *cls, int fd),
		     void *cls);
/* 101 Switching Protocols (Upgrade: tcp), then fn(sock, extra, n, cls) with
 * the raw connection (extra: bytes the client sent already); the socket is
 * closed when fn returns. done(cls) frees, called once either way. */
typedef void (*api_hijack_fn)(int sock, const char *extra, size_t n_extra, void *cls);
void api_hijack(struct api_req *r, const char *content_type, api_hijack_fn fn, void *cls, void (*done)(void *cls));

/* ---- hijacked sockets (non-blocking, libmicrohttpd's) ---- */
/* All of p, waiting for room (a slow client is slow, not gone); false when
 * the client is gone. */
bool api_send_all(int fd, const void *p, size_t n);
/* Docker's frame: stream (1 stdout, 2 stderr), three zero bytes, the size
 * big-endian, then the bytes. */
bool api_send_frame(int fd, int stream, const char *p, size_t n);

/* ---- the engine ---- */
void api_lock(void);
void api_unlock(void);

/* ---- helpers for routes ---- */
/* RFC 3339 (the records' times) → Unix seconds; 0 when unparsable. */
long long api_time_unix(const char *rfc3339);
/* A Docker-style "Up 2 minutes" / "Exited (0) 3 seconds ago" for a record. */
char *api_status_text(json_object *rec);
/* routes_containers.c: a container as GET /containers/json lists it. */
json_object *api_ctr_summary(json_object *rec, const char *id);
/* routes_networks.c: the `filters` parameter as {"key": ["value", ...]}
 * (both of Docker's encodings), NULL with *ok false and a 400 sent when it is
 * not JSON or names a key not in known (NULL-ended). Caller puts. */
json_object *api_filters(struct api_req *r, const char *const *known, bool *ok);
/* Labels {"k": "v"} having each of wants ("k" or "k=v"; an array, may be NULL). */
bool api_labels_match(json_object *labels, json_object *wants);
/* {"k": "v", ...} as "k=v" strings (*ret always set, strv_free); false when
 * o is not an object of strings. */
bool api_kv_strings(json_object *o, char ***ret);

/* ---- the server (server.c) ---- */
struct api_server_opts {
	const char *uri;		/* unix://PATH or tcp://HOST:PORT */
	bool allow_remote;
	long idle_seconds;		/* exit after this long without a request; 0: never */
	int listen_fd;			/* socket activation: the listening socket, else -1 */
	const char *group;		/* the unix socket's group, NULL: root's */
	bool quiet;			/* no "listening" line (cell compose's own service) */
};
int api_serve(struct cell_engine *e, const struct api_server_opts *o, cell_error **err);

#endif
