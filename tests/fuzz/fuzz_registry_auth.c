/* Fuzz target: what a registry says about authentication — the input as a
 * WWW-Authenticate challenge and as a token response. Nothing may crash or
 * leak, and what the parsers accept must be safe to put into a request: no
 * control character in a parameter, a token of printable ASCII only. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry.h"
#include "util.h"

static void no_ctl(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	struct cell_auth_challenge ch;
	cell_error *e = NULL;

	if (cell_auth_challenge_parse(text, &ch, &e) == 0) {
		if (!ch.scheme || !*ch.scheme)
			abort();
		no_ctl(ch.realm);
		no_ctl(ch.service);
		no_ctl(ch.scope);
		cell_auth_challenge_clear(&ch);
	} else if (!e) {
		abort();	/* a failure always says why */
	}
	cell_error_free(&e);

	char *tok = NULL;
	if (cell_auth_token_parse((const char *)data, size, &tok, &e) == 0) {
		if (!tok || !*tok || strlen(tok) > (64u << 10))
			abort();
		for (const char *p = tok; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				abort();
		free(tok);
	} else if (!e || tok) {
		abort();
	}
	cell_error_free(&e);
	free(text);
	return 0;
}
