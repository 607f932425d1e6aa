/* Network counters of a container: see stats.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "util.h"

void cell_ctr_netdev(pid_t pid, json_object **ret)
{
	*ret = json_object_new_object();
	if (pid <= 0)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;	/* the two header lines */
		*colon = 0;
		const char *name = line + strspn(line, " ");
		if (streq(name, "lo"))
			continue;
		/* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ... */
		unsigned long long v[12] = { 0 }, skip;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &skip, &skip, &skip, &skip, &v[8], &v[9], &v[10], &v[11]) != 12)
			continue;
		static const char *const keys[] = { "rx_bytes", "rx_packets", "rx_errors", "rx_dropped" };
		static const char *const tkeys[] = { "tx_bytes", "tx_packets", "tx_errors", "tx_dropped" };
		json_object *o = json_object_new_object();
		for (int i = 0; i < 4; i++)
			json_object_object_add(o, keys[i], json_object_new_uint64(v[i]));
		for (int i = 0; i < 4; i++)
			json_object_object_add(o, tkeys[i], json_object_new_uint64(v[8 + i]));
		json_object_object_add(*ret, name, o);
	}
}
