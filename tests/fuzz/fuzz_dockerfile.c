/* Fuzz target: a Dockerfile (or Containerfile), the build context's most
 * hostile file. Parsing must not crash or leak; a failure always says why and
 * names the file; a parse holds what dockerfile.h promises (stages start with
 * their FROM, argument vectors are NULL-terminated, lines are ordered); and
 * every raw string the builder would expand or split goes through
 * cell_df_expand, cell_df_expand_words and (flags) cell_df_split_csv. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"
#include "util.h"

/* Messages and warnings quote the file: none may hold a control character. */
static void no_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static const char *lookup(const char *name, void *ud)
{
	(void)ud;
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (name[0] >= 'A' && name[0] <= 'M')
		return "v a l";
	return NULL;
}

static void expand(const char *s, char esc)
{
	cell_error *e = NULL;
	char *out = NULL;
	char **w = NULL;
	size_t n = 0;

	if (!s)
		return;
	if (cell_df_expand(s, esc, lookup, NULL, &out, &e) == 0) {
		if (!out || strlen(out) > CELL_DF_MAX_EXPAND)
			abort();
		free(out);
	} else if (!e || !e->msg) {
		abort();
	} else {
		no_ctl(e->msg);
	}
	cell_error_free(&e);
	if (cell_df_expand_words(s, esc, lookup, NULL, &w, &n, &e) == 0) {
		if (!w || w[n] != NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!*w[i])
				abort();	/* no empty words */
		strv_free(w);
	} else if (!e) {
		abort();
	}
	cell_error_free(&e);
}

static void check_instr(const struct cell_df_instr *in, char esc, int depth)
{
	if (!cell_df_kind_name(in->kind) || !in->original || !in->text || !in->args)
		abort();
	if (in->args[in->n_args] != NULL || in->line == 0 || in->end_line < in->line)
		abort();
	for (size_t i = 0; i < in->n_args; i++)
		expand(in->args[i], esc);
	for (size_t i = 0; i < in->n_flags; i++) {
		if (!in->flags[i].name || !*in->flags[i].name)
			abort();
		expand(in->flags[i].value, esc);
		if (in->flags[i].value) {
			struct cell_df_kv *kv = NULL;
			size_t n = 0;
			cell_error *e = NULL;
			if (cell_df_split_csv(in->flags[i].value, &kv, &n, &e) == 0)
				cell_df_kv_free(kv, n);
			else if (!e)
				abort();
			cell_error_free(&e);
		}
	}
	for (size_t i = 0; i < in->n_kvs; i++) {
		if (!in->kvs[i].key || !*in->kvs[i].key)
			abort();
		expand(in->kvs[i].key, esc);
		expand(in->kvs[i].value, esc);
	}
	for (size_t i = 0; i < in->n_heredocs; i++) {
		const struct cell_df_heredoc *h = &in->heredocs[i];
		if (!h->name || !*h->name || !h->body)
			abort();
		if (*h->body && h->body[strlen(h->body) - 1] != '\n')
			abort();
	}
	if ((in->kind == CELL_DF_ONBUILD) != (in->onbuild != NULL) || depth > 1)
		abort();
	if (in->onbuild) {
		if (in->onbuild->kind == CELL_DF_ONBUILD || in->onbuild->kind == CELL_DF_FROM)
			abort();
		check_instr(in->onbuild, esc, depth + 1);
	}
	if (in->json && in->kind != CELL_DF_RUN && in->kind != CELL_DF_CMD && in->kind != CELL_DF_ENTRYPOINT &&
	    in->kind != CELL_DF_SHELL && in->kind != CELL_DF_HEALTHCHECK && in->kind != CELL_DF_COPY &&
	    in->kind != CELL_DF_ADD && in->kind != CELL_DF_VOLUME)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cell_dockerfile *df = NULL;
	cell_error *e = NULL;

	if (cell_dockerfile_parse((const char *)data, size, "Dockerfile", &df, &e) < 0) {
		if (!e || strncmp(e->msg, "Dockerfile", 10) != 0 || df)
			abort();
		no_ctl(e->msg);
		cell_error_free(&e);
		return 0;
	}
	if (!df || df->n_stages == 0 || (df->escape != '\\' && df->escape != '`') || !df->warnings ||
	    df->warnings[df->n_warnings])
		abort();
	for (size_t i = 0; i < df->n_warnings; i++)
		no_ctl(df->warnings[i]);
	for (size_t i = 0; i < df->n_meta_args; i++) {
		if (df->meta_args[i].kind != CELL_DF_ARG)
			abort();
		check_instr(&df->meta_args[i], df->escape, 0);
	}
	unsigned last = 0;
	for (size_t s = 0; s < df->n_stages; s++) {
		const struct cell_df_stage *st = &df->stages[s];
		if (st->index != s || st->n_instrs == 0 || st->instrs[0].kind != CELL_DF_FROM || !st->base)
			abort();
		if (cell_dockerfile_stage(df, st->name ? st->name : "") != (st->name ? st : NULL))
			abort();
		for (size_t i = 0; i < st->n_instrs; i++) {
			const struct cell_df_instr *in = &st->instrs[i];
			if ((i == 0) != (in->kind == CELL_DF_FROM) || in->line <= last)
				abort();
			last = in->end_line;
			check_instr(in, df->escape, 0);
		}
	}
	cell_dockerfile_free(df);
	return 0;
}
