/* The Dockerfile (Containerfile) parser, written from Docker's Dockerfile
 * reference and laid out as BuildKit's frontend is:
 *
 *   1. a line layer: BOM, CRLF, parser directives, comments, line
 *      continuations with the escape character, empty continuation lines,
 *      heredoc bodies; it yields one logical line per instruction with the
 *      number of its first physical line;
 *   2. a typed layer: the instruction keyword, its leading --flags (checked
 *      against the ones the instruction takes), its arguments in the form the
 *      instruction uses (exec form JSON, shell form text, whitespace words,
 *      key=value pairs, ...), stages split at each FROM;
 *   3. expansion, which is the builder's: cell_df_expand() and
 *      cell_df_expand_words() below, called with the builder's ARG/ENV scope
 *      where the reference says substitution applies.
 *
 * Nothing here is expanded: every string is the Dockerfile's text as written
 * (quotes kept; flag values aside, see struct cell_df_flag), so the builder
 * decides where variables apply. docs/dockerfile.md has the details. The input is
 * hostile: sizes are bounded (CELL_DF_MAX_*), NUL bytes refused, and every
 * error reads "Dockerfile:12: unknown instruction \"RUNN\" (...)" with the
 * file name given to the parser and the line the instruction starts on.
 */
#ifndef CELL_BUILD_DOCKERFILE_H
#define CELL_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Bounds on hostile input. */
#define CELL_DF_MAX_SIZE	(4u << 20)	/* whole file */
#define CELL_DF_MAX_LINE	(256u << 10)	/* one physical line */
#define CELL_DF_MAX_LOGICAL	(1u << 20)	/* one instruction, continuations joined */
#define CELL_DF_MAX_INSTRS	10000		/* instructions in the file */
#define CELL_DF_MAX_HEREDOC	(4u << 20)	/* one heredoc body */
#define CELL_DF_MAX_EXPAND	(1u << 20)	/* result of one expansion */

enum cell_df_kind {
	CELL_DF_FROM,
	CELL_DF_RUN,
	CELL_DF_CMD,
	CELL_DF_LABEL,
	CELL_DF_EXPOSE,
	CELL_DF_ENV,
	CELL_DF_ADD,
	CELL_DF_COPY,
	CELL_DF_ENTRYPOINT,
	CELL_DF_VOLUME,
	CELL_DF_USER,
	CELL_DF_WORKDIR,
	CELL_DF_ARG,
	CELL_DF_ONBUILD,
	CELL_DF_STOPSIGNAL,
	CELL_DF_HEALTHCHECK,
	CELL_DF_SHELL,
	CELL_DF_MAINTAINER,
	CELL_DF_KIND_COUNT
};

/* "RUN", "COPY", ... (upper case, as Docker prints them); NULL when out of range. */
const char *cell_df_kind_name(enum cell_df_kind kind);

/* Whether the builder substitutes variables in the arguments of kind, per
 * the reference: ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME
 * WORKDIR, and ARG (its defaults, as BuildKit does); ONBUILD's trigger is
 * expanded when it runs, as its own kind. RUN CMD ENTRYPOINT leave it to
 * the shell (exec form: nowhere). */
bool cell_df_kind_expands(enum cell_df_kind kind);

/* A leading --name[=value] of an instruction. name without the dashes, lower
 * case ("from", "mount", "start-period"); value NULL for a bare boolean flag
 * (`--link`), else the text after '=' with quotes removed and '\' escapes
 * undone as Docker reads flags (`--chown="a b"` gives "a b"); variables in it
 * are not expanded. A word `--` ends the flags. Flags that may
 * repeat (--mount, --exclude) appear once per occurrence, in order. Which
 * flags each instruction accepts:
 *   FROM         --platform
 *   RUN          --mount (repeatable) --network --security
 *   COPY         --from --chown --chmod --link --parents --exclude (repeatable)
 *   ADD          --chown --chmod --link --keep-git-dir --checksum --exclude (repeatable)
 *   HEALTHCHECK  --interval --timeout --start-period --start-interval --retries
 * Any other flag, a value missing on a flag that takes one, or a second
 * occurrence of a flag that does not repeat, a boolean flag with a value
 * other than true/false, a HEALTHCHECK --retries below 1, is a parse error.
 * Durations (--interval ...) and the flags' other values are the builder's
 * to check: the parser does not know them. */
struct cell_df_flag {
	char *name;
	char *value;
};

/* A heredoc of RUN, COPY or ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`),
 * in the order the delimiters appear on the instruction line. */
struct cell_df_heredoc {
	char *name;	/* the delimiter, quotes removed: "EOF" */
	char *body;	/* the lines up to the delimiter line, each ending in '\n'
			 * (CRLF as LF); leading tabs removed when chomp */
	bool expand;	/* unquoted delimiter: variables in body are expanded */
	bool chomp;	/* `<<-`: leading tabs stripped from body and delimiter */
	int fd;		/* the number before `<<`, -1 when none */
};

/* A key=value pair of ENV or LABEL, or one name[=default] of ARG. Both raw:
 * quotes kept, to be run through cell_df_expand() (Docker expands both key
 * and value). value NULL for an ARG without default; for ENV/LABEL in the
 * legacy `ENV key the rest of the line` form, value is the rest of the line. */
struct cell_df_kv {
	char *key;
	char *value;
};

struct cell_df_instr {
	enum cell_df_kind kind;
	unsigned line;		/* first physical line, 1-based */
	unsigned end_line;	/* last physical line, heredoc bodies included */
	/* The instruction as written, continuations joined (escape char and
	 * newline removed, as Docker joins them), leading/trailing blanks
	 * trimmed, heredoc bodies not included; keyword as written. For history
	 * (`created_by`) and cache keys. */
	char *original;

	struct cell_df_flag *flags;
	size_t n_flags;

	/* The arguments after the flags, raw. For RUN, CMD, ENTRYPOINT, SHELL,
	 * HEALTHCHECK CMD, COPY, ADD and VOLUME, json says whether they were
	 * given in exec/JSON form: then args are the array's strings (JSON
	 * escapes decoded). A malformed JSON array falls back to shell form as
	 * in Docker (SHELL alone requires JSON). Otherwise:
	 *   RUN CMD ENTRYPOINT HEALTHCHECK-CMD  args = { text }, one element
	 *   COPY ADD VOLUME EXPOSE              args = the whitespace-separated
	 *                                       words (no quote handling: Docker's)
	 *   USER WORKDIR STOPSIGNAL MAINTAINER  args = { text }, one element
	 *   FROM        { image } or { image, "AS", name } (name lower cased)
	 *   ENV LABEL ARG  args empty; see kvs
	 *   ONBUILD     args = { text of the inner instruction }
	 *   HEALTHCHECK NONE: args empty, healthcheck_none
	 * args is NULL-terminated (args[n_args] == NULL). text is everything
	 * after the flags, as written (for JSON form the JSON text; for
	 * HEALTHCHECK it starts with CMD or NONE). RUN, CMD and ENTRYPOINT with
	 * nothing after them are errors; `CMD []` is an empty exec form.
	 * Heredoc words stay in args as written ("<<EOF", "<<-'EOF'"): COPY
	 * <<EOF /dst has args { "<<EOF", "/dst" } and heredocs[0].name "EOF";
	 * RUN <<EOF has args { "<<EOF" } (BuildKit runs the body as the script
	 * when the command is one heredoc alone; otherwise it hands the shell
	 * the line followed by each body and its delimiter line, and the shell
	 * reads the heredocs itself). */
	bool json;
	char **args;
	size_t n_args;
	char *text;

	struct cell_df_heredoc *heredocs;	/* RUN, COPY, ADD */
	size_t n_heredocs;

	struct cell_df_kv *kvs;		/* ENV, LABEL, ARG */
	size_t n_kvs;

	bool healthcheck_none;		/* HEALTHCHECK NONE (args empty) */
	struct cell_df_instr *onbuild;	/* ONBUILD: the inner instruction,
					 * parsed (not FROM, ONBUILD, MAINTAINER) */
};

/* One build stage: a FROM and the instructions up to the next FROM. */
struct cell_df_stage {
	size_t index;		/* 0-based, for `--from=0` and `--target` */
	char *name;		/* `AS name`, lower cased as Docker does; NULL if none */
	char *base;		/* the image text after FROM, raw (may hold ${ARG}s
				 * from the ARGs before the first FROM) */
	char *platform;		/* --platform value, raw; NULL if none */
	unsigned line;		/* the FROM's line */
	/* instrs[0] is the FROM itself, so that step numbers read as
	 * BuildKit's; then the stage's instructions in order. */
	struct cell_df_instr *instrs;
	size_t n_instrs;
};

struct cell_dockerfile {
	char *filename;		/* as given to the parser, for messages */
	/* Parser directives (only at the very top; NULL when absent). */
	char *syntax;		/* `# syntax=` accepted, not acted upon */
	char *check;		/* `# check=` raw */
	char escape;		/* '\\' (default) or '`' from `# escape=` */
	/* The ARG instructions before the first FROM (global scope, usable in
	 * FROM lines only unless redeclared in a stage). */
	struct cell_df_instr *meta_args;
	size_t n_meta_args;
	struct cell_df_stage *stages;	/* at least one */
	size_t n_stages;
	/* Notes for the user (empty continuation lines, ignored `syntax`),
	 * "Dockerfile:7: ..." lines; NULL-terminated, may be empty. */
	char **warnings;
	size_t n_warnings;
};

/* Parse a Dockerfile of len bytes (need not be NUL-terminated). filename is
 * used in messages only ("Dockerfile" when NULL). On success *ret is a new
 * parse the caller frees with cell_dockerfile_free(); on failure -1, *ret
 * untouched, *err "FILE:LINE: what (likely cause)". */
int cell_dockerfile_parse(const char *text, size_t len, const char *filename,
			  struct cell_dockerfile **ret, cell_error **err);
void cell_dockerfile_free(struct cell_dockerfile *df);
void cell_dockerfile_freep(struct cell_dockerfile **df);
#define _cleanup_dockerfile_ __attribute__((cleanup(cell_dockerfile_freep)))

/* The stage named name (case-insensitively) or, when name is a number, the
 * stage of that index; NULL when there is none. */
const struct cell_df_stage *cell_dockerfile_stage(const struct cell_dockerfile *df,
						  const char *name);

/* The first flag called name of an instruction, NULL if absent; for a bare
 * boolean flag the returned flag's value is NULL. */
const struct cell_df_flag *cell_df_flag_get(const struct cell_df_instr *in, const char *name);

/* A boolean flag (--link, --parents, --keep-git-dir): 1 when given bare or
 * "=true", 0 when absent or "=false", -1 with err for another value. */
int cell_df_flag_bool(const struct cell_df_instr *in, const char *name, cell_error **err);

/* Variable lookup for expansion: the value of name, or NULL when the
 * variable is not set (an empty string is "set", which matters to
 * ${v-word} against ${v:-word}). */
typedef const char *(*cell_df_lookup_fn)(const char *name, void *userdata);

/* Expand one word as Docker's shell lexer (ProcessWord) does: $VAR,
 * ${VAR}, ${VAR:-word} ${VAR-word} ${VAR:+word} ${VAR+word} ${VAR:?msg}
 * ${VAR?msg} (word expanded in turn, nested words), quotes removed ('...'
 * literal, "..." with $ expanded), escape+char gives char (escape is '\\' or
 * '`': the Dockerfile's escape), a '$' not followed by a name stays. An
 * unset variable expands to "". lookup NULL: no variable is set. *ret is a
 * new string; -1 with err on an unterminated quote or ${, a bad modifier, a
 * ${VAR:?msg} whose VAR is unset/empty ("VAR: msg"), or a result over
 * CELL_DF_MAX_EXPAND. */
int cell_df_expand(const char *word, char escape, cell_df_lookup_fn lookup,
		   void *userdata, char **ret, cell_error **err);

/* Expand and split into words as Docker's ProcessWords does (EXPOSE,
 * VOLUME, ... where one line holds several words): whitespace outside quotes
 * separates words, and so does whitespace in an unquoted variable's value;
 * quotes are removed. *ret is a new NULL-terminated vector (strv_free),
 * *ret_n its length (ret_n may be NULL). */
int cell_df_expand_words(const char *text, char escape, cell_df_lookup_fn lookup,
			 void *userdata, char ***ret, size_t *ret_n, cell_error **err);

/* Split the value of a RUN --mount flag ("type=cache,target=/x,id=y",
 * CSV-quoted fields) into key=value pairs; a bare field ("ro") has value
 * NULL. Returns a new array of *ret_n pairs, to free with cell_df_kv_free(). */
int cell_df_split_csv(const char *value, struct cell_df_kv **ret, size_t *ret_n,
		      cell_error **err);
void cell_df_kv_free(struct cell_df_kv *kv, size_t n);

#endif
