#define _GNU_SOURCE
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

int cj_parse_string(const char *what, const char *text, json_object **ret, cell_error **err)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t len = strlen(text);

	if (!tok)
		return cell_error_errno(err, ENOMEM, "parse `%s`", what);
	o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (!o || jerr != json_tokener_success) {
		size_t off = json_tokener_get_parse_end(tok);
		int line = 1;
		for (size_t i = 0; i < off && i < len; i++)
			if (text[i] == '\n')
				line++;
		if (jerr == json_tokener_success || jerr == json_tokener_continue)
			cell_error_set(err, "parse `%s`: line %d: unexpected end of JSON", what, line);
		else
			cell_error_set(err, "parse `%s`: line %d: %s", what, line,
				       json_tokener_error_desc(jerr));
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	/* trailing garbage after the document */
	size_t end = json_tokener_get_parse_end(tok);
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	json_tokener_free(tok);
	if (end < len) {
		json_object_put(o);
		return cell_error_set(err, "parse `%s`: trailing data after the JSON document", what);
	}
	*ret = o;
	return 0;
}

int cj_parse_file(const char *path, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, &text, NULL, err) < 0)
		return -1;
	return cj_parse_string(path, text, ret, err);
}

static int get(json_object *o, const char *key, const char *ctx, json_type want,
	       json_object **ret, cell_error **err)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (json_object_get_type(v) != want) {
		/* integers are acceptable where doubles are asked and vice versa
		 * only when the value is integral */
		if (want == json_type_int && json_object_get_type(v) == json_type_double) {
			double d = json_object_get_double(v);
			if (d == (double)(int64_t)d) {
				*ret = v;
				return 1;
			}
		}
		return cell_error_set(err, "`%s%s%s`: expected %s, got %s", ctx ? ctx : "",
				      ctx ? "." : "", key, json_type_to_name(want), type_name(v));
	}
	*ret = v;
	return 1;
}

int cj_string(json_object *o, const char *key, const char *ctx, const char **ret, cell_error **err)
{
	json_object *v;
	int r = get(o, key, ctx, json_type_string, &v, err);
	if (r > 0)
		*ret = json_object_get_string(v);
	return r;
}

int cj_int64(json_object *o, const char *key, const char *ctx, int64_t *ret, cell_error **err)
{
	json_object *v;
	int r = get(o, key, ctx, json_type_int, &v, err);
	if (r > 0) {
		errno = 0;
		int64_t x = json_object_get_int64(v);
		if (errno == EINVAL || errno == ERANGE)
			return cell_error_set(err, "`%s.%s`: integer out of range", ctx ? ctx : "", key);
		*ret = x;
	}
	return r;
}

int cj_uint64(json_object *o, const char *key, const char *ctx, uint64_t *ret, cell_error **err)
{
	json_object *v;
	int r = get(o, key, ctx, json_type_int, &v, err);
	if (r > 0) {
		if (json_object_get_int64(v) < 0)
			return cell_error_set(err, "`%s.%s`: expected a non-negative integer, got %s",
					      ctx ? ctx : "", key, json_object_get_string(v));
		*ret = json_object_get_uint64(v);
	}
	return r;
}

int cj_bool(json_object *o, const char *key, const char *ctx, bool *ret, cell_error **err)
{
	json_object *v;
	int r = get(o, key, ctx, json_type_boolean, &v, err);
	if (r > 0)
		*ret = json_object_get_boolean(v);
	return r;
}

int cj_object(json_object *o, const char *key, const char *ctx, json_object **ret, cell_error **err)
{
	return get(o, key, ctx, json_type_object, ret, err);
}

int cj_array(json_object *o, const char *key, const char *ctx, json_object **ret, cell_error **err)
{
	return get(o, key, ctx, json_type_array, ret, err);
}

int cj_strv(json_object *o, const char *key, const char *ctx, char ***ret, cell_error **err)
{
	json_object *a;
	int r = get(o, key, ctx, json_type_array, &a, err);
	if (r <= 0)
		return r;
	size_t n = json_object_array_length(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!e || json_object_get_type(e) != json_type_string) {
			strv_free(v);
			return cell_error_set(err, "`%s%s%s[%zu]`: expected string, got %s",
					      ctx ? ctx : "", ctx ? "." : "", key, i, type_name(e));
		}
		v[i] = xstrdup(json_object_get_string(e));
	}
	*ret = v;
	return 1;
}

int cj_expect_object(json_object *o, const char *ctx, cell_error **err)
{
	if (!o || json_object_get_type(o) != json_type_object)
		return cell_error_set(err, "`%s`: expected object, got %s", ctx, type_name(o));
	return 0;
}

const char *cj_to_string(json_object *o, bool pretty)
{
	return json_object_to_json_string_ext(o, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
}
