/* The events journal (events.c): Docker's `/events` stream with no daemon.
 * Whoever does the work (a `cell` command, a monitor step) appends one JSON
 * line per event to <root>/events.log with a single O_APPEND write(), so
 * concurrent writers never interleave; past EVENTS_MAX bytes the file is
 * renamed to events.log.1 (one generation kept: the journal is bounded).
 * `cell events` reads both and follows the live one with inotify.
 *
 * A line is Docker's JSON message: {"status","id","from" (containers only,
 * Docker's legacy keys), "Type","Action","Actor":{"ID","Attributes"},
 * "scope":"local","time","timeNano"}. */
#ifndef CELL_ENGINE_EVENTS_H
#define CELL_ENGINE_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define EVENTS_FILE "events.log"
#define EVENTS_OLD "events.log.1"
#define EVENTS_MAX (4 * 1024 * 1024)

/* Append one event; best effort (an event lost never fails the operation).
 * attrs (taken, may be NULL): Actor.Attributes. */
void cell_event(struct cell_engine *e, const char *type, const char *action, const char *actor_id,
		json_object *attrs);
/* The same for a command without an engine (image commands): root is the
 * engine root. */
void cell_event_at(const char *root, const char *type, const char *action, const char *actor_id,
		   json_object *attrs);
/* A container's event: Attributes image, name and its labels, plus extra
 * (taken, may be NULL: e.g. exitCode for die). rec: its record. */
void cell_event_ctr(struct cell_engine *e, const char *action, const char *id, json_object *rec,
		    json_object *extra);
/* The same, reading the record (nothing is written when it is gone). */
void cell_event_ctr_id(struct cell_engine *e, const char *action, const char *id, json_object *extra);

/* ---- reading: `cell events`, the API's /events ---- */
struct cell_events_opts {
	int64_t since, until;	/* ns since the epoch; 0: none */
	char **filters;		/* KEY=VALUE, borrowed: type, event, container, image, label, network,
				 * volume; one key given twice: either, two keys: both (Docker's rule) */
};
/* The filters' keys known; else an error naming the bad one (what: how
 * the caller calls a filter: "--filter"). */
int cell_events_filters_check(char **filters, const char *what, cell_error **err);
bool cell_events_match(json_object *ev, char **filters);

/* A reader of the journal (filters checked first): the past (with since or until, as Docker: the
 * rotated generation, then the live one), then what is appended, followed
 * with inotify until `until` (for ever without it). */
struct cell_events_reader;
#define CELL_EVENTS_END 2
int cell_events_open(struct cell_engine *e, const struct cell_events_opts *o, struct cell_events_reader **ret,
		     cell_error **err);
/* The next matching event (1, *ret the caller's to put), waiting at most
 * timeout_ms (-1: no bound) for it: 0 when that passed, CELL_EVENTS_END
 * once past until, -1 on an error. */
int cell_events_next(struct cell_events_reader *r, int timeout_ms, json_object **ret, cell_error **err);
void cell_events_close(struct cell_events_reader *r);

#endif
