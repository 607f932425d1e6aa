/* Healthchecks (health.c), with no daemon and no systemd timer: the
 * container's own cell-monitor keeps the timer and runs
 * `cell monitor-step health ID` at each tick; that step execs the check into
 * the container with its timeout, keeps the result in
 * containers/<id>/health.json (State.Health of inspect), writes the
 * health_status event on a change and applies --health-on-failure.
 * The monitor itself holds nothing per check: its memory does not grow. */
#ifndef CELL_ENGINE_HEALTH_H
#define CELL_ENGINE_HEALTH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define HEALTH_FILE "health.json"
#define HEALTH_RESTART_FILE "health-restart"	/* --health-on-failure restart asked for it */
#define HEALTH_LOG_MAX 5			/* State.Health.Log keeps the last 5, as Docker */
#define HEALTH_OUTPUT_MAX 4096			/* bytes of a check's output kept (its tail) */

/* Docker's defaults, in ns. */
#define HEALTH_INTERVAL_DEFAULT (30LL * 1000000000)
#define HEALTH_TIMEOUT_DEFAULT (30LL * 1000000000)
#define HEALTH_START_INTERVAL_DEFAULT (5LL * 1000000000)
#define HEALTH_RETRIES_DEFAULT 3

/* A Go duration as Docker's flags take it ("30s", "1m30s", "500ms", "0") in ns. */
int cell_duration_parse(const char *s, int64_t *ret_ns);

/* Config.Healthcheck from the --health-* flags over the image's HEALTHCHECK
 * (image_cfg: the image config's "config" object, may be NULL), checked with
 * Docker's messages. *ret NULL when there is none (or --no-healthcheck, or
 * Test ["NONE"]). *ret_action: --health-on-failure (none|kill|restart|stop). */
int engine_health_config(const struct cell_run_request *req, json_object *image_cfg, json_object **ret,
			 const char **ret_action, cell_error **err);

/* The monitor's timing from a record, in ms; interval 0: no healthcheck. */
void engine_health_timing(json_object *rec, int64_t *ret_interval, int64_t *ret_start_period,
			  int64_t *ret_start_interval);

/* State.Health into a loaded record (from health.json), when it has a
 * healthcheck: "starting" for a run that has not been checked yet. */
void engine_health_merge(struct cell_engine *e, const char *id, json_object *rec);

/* Run one check now (the monitor's step, `cell healthcheck run`): record the
 * result, write health_status on a change, apply the on-failure action.
 * *ret_status: "healthy", "unhealthy" or "starting" (static); *ret_passed:
 * this check passed. */
int cell_health_run(struct cell_engine *e, const char *id, const char **ret_status, bool *ret_passed,
		    cell_error **err);

/* Did --health-on-failure restart kill this run? (the flag is consumed) */
bool engine_health_take_restart(struct cell_engine *e, const char *id);

#endif
