/* Fuzz target: a config.json (or a bare linux.seccomp object) through the
 * seccomp compiler, and its process.capabilities through the caps parser.
 * Whatever the input, the result is an error or a filter, never a crash or
 * a leak. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "linux/caps.h"
#include "linux/seccomp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool many_conditions(json_object *seccomp)
{
	json_object *rules, *args;
	size_t n = 0;
	if (!json_object_is_type(seccomp, json_type_object) ||
	    !json_object_object_get_ex(seccomp, "syscalls", &rules) || !json_object_is_type(rules, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		json_object *r = json_object_array_get_idx(rules, i);
		if (json_object_is_type(r, json_type_object) && json_object_object_get_ex(r, "args", &args) &&
		    json_object_is_type(args, json_type_array))
			n += json_object_array_length(args);
	}
	return n > 12;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	json_object *doc = NULL, *seccomp = NULL, *caps = NULL, *o = NULL;
	cell_error *err = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (cj_parse_string("fuzz", text, &doc, &err) < 0)
		goto out;
	/* a config.json has linux.seccomp; anything else is taken as the
	 * seccomp object itself */
	if (json_object_is_type(doc, json_type_object) && json_object_object_get_ex(doc, "linux", &o)) {
		if (json_object_is_type(o, json_type_object))
			json_object_object_get_ex(o, "seccomp", &seccomp);
	} else {
		seccomp = doc;
	}
	if (seccomp) {
		struct cell_seccomp *s = NULL;
		/* in this process so that the fuzzer sees the coverage, except
		 * for rule sets with many conditions, where libseccomp itself can
		 * take forever: those get the runtime's compile with a deadline */
		int r = many_conditions(seccomp) ? cell_seccomp_compile(seccomp, &s, &err)
						 : cell_seccomp_compile_inprocess(seccomp, &s, &err);
		if (r == 0) {
			(void)cell_seccomp_needs_notify(s);
			cell_seccomp_free(s);
		}
		cell_error_free(&err);
	}
	if (json_object_is_type(doc, json_type_object) && json_object_object_get_ex(doc, "process", &o) &&
	    json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "capabilities", &caps)) {
		struct cell_caps c;
		(void)cell_caps_parse(caps, &c, &err);
	}
out:
	cell_error_free(&err);
	json_object_put(doc);
	free(text);
	return 0;
}
