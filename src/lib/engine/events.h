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

#endif
