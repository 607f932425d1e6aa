/* Typed access to json-c objects with errors that name the field.
 *
 * Getters return 1 when the key is present with the right type, 0 when it is
 * absent or null (ret untouched), and a negative value with *err set to
 * "`<ctx>.<key>`: expected <type>, got <type>" otherwise. */
#ifndef CELL_JSON_H
#define CELL_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Parse a file; errors name the file and the position of a syntax error. */
int cj_parse_file(const char *path, json_object **ret, cell_error **err);
int cj_parse_string(const char *what, const char *text, json_object **ret, cell_error **err);

int cj_string(json_object *o, const char *key, const char *ctx, const char **ret, cell_error **err);
int cj_int64(json_object *o, const char *key, const char *ctx, int64_t *ret, cell_error **err);
int cj_uint64(json_object *o, const char *key, const char *ctx, uint64_t *ret, cell_error **err);
int cj_bool(json_object *o, const char *key, const char *ctx, bool *ret, cell_error **err);
int cj_object(json_object *o, const char *key, const char *ctx, json_object **ret, cell_error **err);
int cj_array(json_object *o, const char *key, const char *ctx, json_object **ret, cell_error **err);
/* An array of strings as a NULL-terminated vector the caller frees with strv_free. */
int cj_strv(json_object *o, const char *key, const char *ctx, char ***ret, cell_error **err);

/* Check that o is an object (ctx names it in the error). */
int cj_expect_object(json_object *o, const char *ctx, cell_error **err);

/* Serialize compactly (no spaces) or pretty; the string lives as long as o. */
const char *cj_to_string(json_object *o, bool pretty);

#endif
