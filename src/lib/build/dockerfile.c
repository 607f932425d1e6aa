/* The Dockerfile parser (see dockerfile.h). First slice: API stubs. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile.h"
#include "util.h"

static const char *const kind_names[CELL_DF_KIND_COUNT] = {
	[CELL_DF_FROM] = "FROM", [CELL_DF_RUN] = "RUN", [CELL_DF_CMD] = "CMD",
	[CELL_DF_LABEL] = "LABEL", [CELL_DF_EXPOSE] = "EXPOSE", [CELL_DF_ENV] = "ENV",
	[CELL_DF_ADD] = "ADD", [CELL_DF_COPY] = "COPY", [CELL_DF_ENTRYPOINT] = "ENTRYPOINT",
	[CELL_DF_VOLUME] = "VOLUME", [CELL_DF_USER] = "USER", [CELL_DF_WORKDIR] = "WORKDIR",
	[CELL_DF_ARG] = "ARG", [CELL_DF_ONBUILD] = "ONBUILD", [CELL_DF_STOPSIGNAL] = "STOPSIGNAL",
	[CELL_DF_HEALTHCHECK] = "HEALTHCHECK", [CELL_DF_SHELL] = "SHELL",
	[CELL_DF_MAINTAINER] = "MAINTAINER",
};

const char *cell_df_kind_name(enum cell_df_kind kind)
{
	return (unsigned)kind < CELL_DF_KIND_COUNT ? kind_names[kind] : NULL;
}

int cell_dockerfile_parse(const char *text, size_t len, const char *filename,
			  struct cell_dockerfile **ret, cell_error **err)
{
	return cell_error_set(err, "%s: the Dockerfile parser is not written yet",
			      filename ? filename : "Dockerfile");
}

void cell_dockerfile_free(struct cell_dockerfile *df)
{
	(void)df;
}

void cell_dockerfile_freep(struct cell_dockerfile **df)
{
	cell_dockerfile_free(*df);
}

const struct cell_df_stage *cell_dockerfile_stage(const struct cell_dockerfile *df,
						  const char *name)
{
	return NULL;
}

const struct cell_df_flag *cell_df_flag_get(const struct cell_df_instr *in, const char *name)
{
	for (size_t i = 0; i < in->n_flags; i++)
		if (strcmp(in->flags[i].name, name) == 0)
			return &in->flags[i];
	return NULL;
}

int cell_df_flag_bool(const struct cell_df_instr *in, const char *name, cell_error **err)
{
	const struct cell_df_flag *f = cell_df_flag_get(in, name);

	if (!f)
		return 0;
	if (!f->value || strcasecmp(f->value, "true") == 0)
		return 1;
	if (strcasecmp(f->value, "false") == 0)
		return 0;
	return cell_error_set(err, "Dockerfile:%u: --%s=%s: expected true or false", in->line, name, f->value);
}

int cell_df_expand(const char *word, char escape, cell_df_lookup_fn lookup,
		   void *userdata, char **ret, cell_error **err)
{
	return cell_error_set(err, "variable expansion is not written yet");
}

int cell_df_expand_words(const char *text, char escape, cell_df_lookup_fn lookup,
			 void *userdata, char ***ret, size_t *ret_n, cell_error **err)
{
	return cell_error_set(err, "variable expansion is not written yet");
}

int cell_df_split_csv(const char *value, struct cell_df_kv **ret, size_t *ret_n,
		      cell_error **err)
{
	return cell_error_set(err, "csv splitting is not written yet");
}

void cell_df_kv_free(struct cell_df_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}
