/* Fuzz target: what an image archive or registry hands cell as text — image
 * references, config documents, --change lines. None may crash, leak or
 * read out of bounds, whatever the bytes. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image/image-internal.h"
#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	cell_error *err = NULL;
	struct cell_ref r;
	json_object *doc = NULL;

	if (!s)
		return 0;
	if (cell_ref_parse(s, &r, &err) == 0) {
		free(cell_ref_familiar(&r));
		cell_ref_clear(&r);
	}
	cell_error_free(&err);
	free(store_name_key(s));

	if (cj_parse_string("fuzz", s, &doc, &err) == 0) {
		struct cell_image_config c;
		cell_image_config_parse(doc, &c, &err);
		cell_image_config_clear(&c);
		json_object_put(doc);
	}
	cell_error_free(&err);

	json_object *cfg = json_object_new_object();
	cell_image_config_change(cfg, s, &err);
	cell_error_free(&err);
	json_object_put(cfg);
	free(s);
	return 0;
}
