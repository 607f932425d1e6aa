/* What `cell stats` and the API's /containers/{id}/stats read besides the
 * runtime's cgroup sample (stats.c). */
#ifndef CELL_ENGINE_STATS_H
#define CELL_ENGINE_STATS_H

#include <json-c/json.h>
#include <sys/types.h>

/* The interfaces of pid's network namespace but lo, from /proc/PID/net/dev,
 * as dockerd's "networks": {"eth0": {"rx_bytes", "rx_packets", "rx_errors",
 * "rx_dropped", "tx_bytes", ...}}. An empty object when pid is gone. */
void cell_ctr_netdev(pid_t pid, json_object **ret);

#endif
