/* Fuzz target: a whole config.json through the spec parser, then the parts
 * handed on whole (linux.seccomp, process.capabilities) through theirs, as
 * `cell-runtime create` does before it creates anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "linux/caps.h"
#include "linux/seccomp.h"
#include "spec/spec.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	json_object *doc = NULL;
	struct cell_spec *s = NULL;
	cell_error *err = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (cj_parse_string("config.json", text, &doc, &err) < 0)
		goto out;
	if (cell_spec_parse(doc, "/fuzz-bundle", &s, &err) < 0)
		goto out;
	if (s->seccomp) {
		struct cell_seccomp *sc = NULL;
		if (cell_seccomp_compile(s->seccomp, &sc, &err) == 0)
			cell_seccomp_free(sc);
		cell_error_free(&err);
	}
	if (s->process.capabilities) {
		struct cell_caps c;
		(void)cell_caps_parse(s->process.capabilities, &c, &err);
	}
out:
	cell_error_free(&err);
	cell_spec_free(s);
	json_object_put(doc);
	free(text);
	return 0;
}
