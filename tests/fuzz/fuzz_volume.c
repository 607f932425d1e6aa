/* Fuzz target: the volume flags users type (`-v`, `--mount`), each through
 * its parser; what parses must be a mount create.c can use: an absolute
 * destination, a known type, and for a volume a valid name or "" (anonymous). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/volume.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(json_object *m)
{
	const char *dst = json_object_get_string(json_object_object_get(m, "destination"));
	const char *type = json_object_get_string(json_object_object_get(m, "type"));
	const char *src = json_object_get_string(json_object_object_get(m, "source"));
	if (!dst || dst[0] != '/' || !type || !src)
		abort();
	if (streq(type, "volume") && *src && !cell_volume_name_valid(src))
		abort();
	if (streq(type, "bind") && src[0] != '/')
		abort();
	if (!streq(type, "volume") && !streq(type, "bind") && !streq(type, "tmpfs"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	cell_error *err = NULL;
	json_object *m = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (cell_volume_parse(text, &m, &err) == 0) {
		check(m);
		json_object_put(m);
	}
	cell_error_free(&err);
	if (cell_mount_flag_parse(text, &m, &err) == 0) {
		check(m);
		json_object_put(m);
	}
	cell_error_free(&err);
	(void)cell_volume_name_valid(text);
	free(text);
	return 0;
}
