/* `cell port CONTAINER [PORT[/PROTO]]`: the published ports. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine/engine.h"
#include "json.h"
#include "util.h"

int cmd_port(int argc, char **argv, cell_error **err)
{
	if (argc < 2 || argc > 3)
		return cell_error_set(err, "usage: cell port CONTAINER [PORT[/PROTO]]"), EXIT_CELL;
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	json_object *rec = NULL;
	int status = EXIT_CELL, shown = 0;
	if (cli_engine_open(&e, err) < 0 || cli_lookup(e, argv[1], &id, err) < 0 || cell_ctr_load(e, id, &rec, err) < 0)
		goto out;
	json_object *a = json_object_object_get(json_object_object_get(rec, "NetworkSettings"), "Ports");
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *p = json_object_array_get_idx(a, i);
		int cport = json_object_get_int(json_object_object_get(p, "ContainerPort"));
		const char *type = json_object_get_string(json_object_object_get(p, "Type"));
		char want[64];
		snprintf(want, sizeof(want), "%d/%s", cport, type);
		if (argc == 3 && !streq(argv[2], want) && !(atoi(argv[2]) == cport && !strchr(argv[2], '/')))
			continue;
		const char *hip = json_object_get_string(json_object_object_get(p, "HostIp"));
		int hport = json_object_get_int(json_object_object_get(p, "HostPort"));
		if (argc == 3)
			printf("%s:%d\n", hip, hport);
		else
			printf("%s -> %s:%d\n", want, hip, hport);
		shown++;
	}
	if (argc == 3 && !shown) {
		cell_error_set(err, "no public port `%s` published for `%s`", argv[2], argv[1]);
		goto out;
	}
	status = 0;
out:
	json_object_put(rec);
	cell_engine_free(e);
	return status;
}
