/* Docker's `run`/`create` flags that only change the runtime config
 * (flags.c): --device, --sysctl, --shm-size, --group-add, --oom-kill-disable,
 * --oom-score-adj, --ipc, --uts, --pid, --cgroupns, --cgroup-parent,
 * --annotation, --memory-reservation, --cpu-period, --cpu-quota,
 * --cpuset-mems, --blkio-weight, --device-{read,write}-{bps,iops}. Each is
 * checked with Docker's message before anything is created. */
#ifndef CELL_ENGINE_FLAGS_H
#define CELL_ENGINE_FLAGS_H

#include <json-c/json.h>

#include "engine.h"

/* Check and apply to config.json (doc from engine_spec_build). */
int engine_flags_apply(const struct cell_run_request *req, json_object *doc, const char *id, cell_error **err);
/* --group-add, once process.user is known (names from the rootfs's /etc/group). */
int engine_flags_groups(const struct cell_run_request *req, json_object *doc, const char *rootfs, cell_error **err);
/* What inspect's HostConfig shows of them. */
void engine_flags_record(const struct cell_run_request *req, json_object *doc, json_object *hc);

#endif
