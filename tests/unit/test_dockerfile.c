/* Unit tests of the Dockerfile parser (src/lib/build/dockerfile*.c), layer by
 * layer: the line layer (directives, comments, continuations, heredocs,
 * CRLF), the typed layer (every instruction, both forms, flags, stages, bad
 * input) and the expansion (the reference's substitution cases). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"
#include "build/dockerfile-internal.h"
#include "tap.h"
#include "util.h"

static struct cell_dockerfile *parse(const char *text)
{
	struct cell_dockerfile *df = NULL;
	cell_error *err = NULL;

	if (cell_dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) < 0) {
		printf("# parse failed: %s\n", err->msg);
		cell_error_free(&err);
		return NULL;
	}
	return df;
}

/* The error message of a parse that must fail, "" when it did not fail. */
static char *parse_err(const char *text, size_t len)
{
	struct cell_dockerfile *df = NULL;
	cell_error *err = NULL;

	if (cell_dockerfile_parse(text, len, "Dockerfile", &df, &err) == 0) {
		cell_dockerfile_free(df);
		return xstrdup("");
	}
	char *m = xstrdup(err->msg);
	cell_error_free(&err);
	return m;
}

static void bad(const char *text, const char *want, const char *what)
{
	char *m = parse_err(text, strlen(text));
	OK(*m && strstr(m, want), "refused: %s (`%s`)", what, want);
	if (!*m || !strstr(m, want))
		printf("#   got \"%s\"\n", m);
	free(m);
}

/* The instruction i of stage s (0: the FROM). */
static const struct cell_df_instr *I(const struct cell_dockerfile *df, size_t s, size_t i)
{
	static const struct cell_df_instr none;
	if (!df || s >= df->n_stages || i >= df->stages[s].n_instrs)
		return &none;
	return &df->stages[s].instrs[i];
}

/* A heredoc body (with newlines) compared without printing it in the TAP line. */
#define BODY_IS(in, i, want, what) do {                                        \
		const struct cell_df_instr *_in = (in);                        \
		const char *_b = _in->n_heredocs > (i) ? _in->heredocs[i].body : NULL; \
		OK(_b && strcmp(_b, want) == 0, "%s", what);                   \
	} while (0)

static void test_lines(void)
{
	struct df_lexer lx;
	cell_error *err = NULL;
	char *line;
	unsigned start;
	const char *t = "# escape=`\n# syntax=docker/dockerfile:1\n\nFROM a\nRUN a `\n  b `\n# comment\n\n  c\n"
			"  # not a directive=1\nRUN x\\\n";

	df_lex_init(&lx, t, strlen(t), "Dockerfile");
	OK(df_lex_next(&lx, &line, &start, &err) == 1, "line layer: first logical line");
	IS_STR(line, "FROM a", "line 4 text");
	IS_INT(start, 4, "line 4 number");
	IS_INT(lx.escape, '`', "escape directive read");
	IS_STR(lx.syntax, "docker/dockerfile:1", "syntax directive read");
	free(line);
	OK(df_lex_next(&lx, &line, &start, &err) == 1, "continued line");
	IS_STR(line, "RUN a   b   c", "continuations joined, comment and empty line skipped, leading blanks kept");
	IS_INT(start, 5, "continued line starts on 5");
	OK(lx.empty_continuation, "empty continuation line noticed");
	free(line);
	OK(df_lex_next(&lx, &line, &start, &err) == 1, "line after a comment");
	IS_STR(line, "RUN x\\", "a backslash is no continuation with escape=`");
	free(line);
	OK(df_lex_next(&lx, &line, &start, &err) == 0, "end of input");
	df_lex_done(&lx);

	/* directives: only at the top, each once, escape \ or ` only */
	bad("# escape=x\nFROM a\n", "invalid escape character", "escape=x");
	bad("# escape=`\n# escape=\\\nFROM a\n", "given twice", "two escape directives");
	struct cell_dockerfile *df = parse("FROM a\n# escape=`\nRUN a `\n");
	OK(df && df->escape == '\\', "a directive after an instruction is a comment");
	OK(df && strcmp(I(df, 0, 1)->original, "RUN a `") == 0, "...so ` is no continuation");
	cell_dockerfile_free(df);
	df = parse("# unknown=1\n# escape=`\nFROM a\n");
	OK(df && df->escape == '\\', "an unknown directive ends the directives");
	cell_dockerfile_free(df);
	df = parse("\xef\xbb\xbf# ESCAPE = `\r\nFROM a\r\nRUN echo `\r\n  hi\r\n");
	OK(df && df->escape == '`', "BOM, CRLF, directive name case and blanks");
	IS_STR(I(df, 0, 1)->original, "RUN echo   hi", "CRLF continuation joined");
	IS_INT(I(df, 0, 1)->line, 3, "CRLF line numbers");
	cell_dockerfile_free(df);
	df = parse("#check=skip=all\nFROM a\nRUN a \\\\\nRUN b \\\t \n  c\n");
	IS_STR(df ? df->check : NULL, "skip=all", "check directive kept");
	IS_STR(I(df, 0, 1)->original, "RUN a \\\\", "an escaped escape character is no continuation");
	IS_STR(I(df, 0, 2)->original, "RUN b   c", "blanks after the continuation character");
	cell_dockerfile_free(df);
}

static void test_from_stages(void)
{
	struct cell_dockerfile *df = parse("ARG V=1\nARG B\nFROM --platform=$P busybox:${V} AS Build\nRUN x\n"
					   "from build\nFROM scratch as final\n");
	OK(df != NULL, "stages parse");
	if (!df)
		return;
	IS_INT(df->n_meta_args, 2, "two ARGs before FROM");
	IS_STR(df->meta_args[0].kvs[0].key, "V", "meta arg name");
	IS_STR(df->meta_args[0].kvs[0].value, "1", "meta arg default");
	OK(df->meta_args[1].kvs[0].value == NULL, "meta arg without default");
	IS_INT(df->n_stages, 3, "three stages");
	IS_STR(df->stages[0].name, "build", "stage name lower cased");
	IS_STR(df->stages[0].base, "busybox:${V}", "base kept raw");
	IS_STR(df->stages[0].platform, "$P", "--platform");
	IS_INT(df->stages[0].n_instrs, 2, "FROM + RUN in stage 0");
	IS_INT(df->stages[0].instrs[0].kind, CELL_DF_FROM, "instrs[0] is the FROM");
	IS_STR(df->stages[1].base, "build", "an earlier stage as base");
	OK(df->stages[1].name == NULL, "stage without a name");
	IS_STR(df->stages[2].name, "final", "lower-case as");
	OK(cell_dockerfile_stage(df, "BUILD") == &df->stages[0], "stage by name");
	OK(cell_dockerfile_stage(df, "1") == &df->stages[1], "stage by index");
	OK(cell_dockerfile_stage(df, "7") == NULL, "no stage 7");
	OK(df->warnings && df->n_warnings == 0, "no warnings");
	cell_dockerfile_free(df);

	bad("FROM a AS x\nFROM b AS X\n", "duplicate stage name", "duplicate stage");
	bad("FROM a b\n", "one or three arguments", "FROM a b");
	bad("FROM a AS 1x\n", "invalid name for build stage", "stage name with a digit first");
	bad("FROM\n", "one or three arguments", "FROM alone");
	bad("RUN x\nFROM a\n", "Dockerfile:1: RUN before the first FROM", "RUN before FROM");
	bad("ARG x\n", "no FROM instruction", "ARG alone");
	bad("", "file with no instructions", "empty file");
	bad("# c\n\n   \n", "file with no instructions", "comments only");
	bad("FROM --platfrom=x a\n", "unknown flag --platfrom for FROM", "misspelt flag");
}

static void test_exec_shell(void)
{
	struct cell_dockerfile *df = parse("FROM a\n"
		"RUN [\"sh\", \"-c\", \"echo \\\"hi\\\"\"]\n"
		"RUN echo hi && \\\n    echo there\n"
		"CMD [\"a\" , 'b']\n"
		"ENTRYPOINT [ ]\n"
		"CMD [\"a\"] x\n"
		"SHELL [\"/bin/bash\", \"-c\"]\n"
		"RUN [\"a\",]\n");
	OK(df != NULL, "exec and shell forms parse");
	if (!df)
		return;
	const struct cell_df_instr *in = I(df, 0, 1);
	OK(in->json && in->n_args == 3, "RUN exec form: 3 args");
	IS_STR(in->args[2], "echo \"hi\"", "JSON escapes decoded");
	in = I(df, 0, 2);
	OK(!in->json && in->n_args == 1, "RUN shell form");
	IS_STR(in->args[0], "echo hi &&     echo there", "shell form text");
	IS_INT(in->line, 3, "RUN line");
	IS_INT(in->end_line, 4, "RUN end line");
	in = I(df, 0, 3);
	OK(!in->json, "single quotes are not JSON: shell form");
	IS_STR(in->args[0], "[\"a\" , 'b']", "fallback keeps the text");
	in = I(df, 0, 4);
	OK(in->json && in->n_args == 0 && in->args && !in->args[0], "ENTRYPOINT [] is an empty exec form");
	OK(!I(df, 0, 5)->json, "JSON with trailing text: shell form");
	in = I(df, 0, 6);
	OK(in->kind == CELL_DF_SHELL && in->json && in->n_args == 2, "SHELL");
	OK(!I(df, 0, 7)->json, "JSON with a trailing comma (strict): shell form");
	cell_dockerfile_free(df);

	bad("FROM a\nSHELL /bin/sh -c\n", "SHELL requires the arguments to be in JSON form", "SHELL shell form");
	bad("FROM a\nCMD [\"a\", 1]\n", "arrays must be comprised of strings only", "JSON non-string");
	bad("FROM a\nRUN\n", "RUN requires at least one argument", "empty RUN");
	bad("FROM a\nRUN [\"a\\u0000b\"]\n", "NUL", "JSON string with NUL");
	bad("FROM a\nCMD --x\n", "unknown flag --x: CMD takes no flags", "CMD with a flag");
}

static void test_flags(void)
{
	struct cell_dockerfile *df = parse("FROM a\n"
		"RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=s --network=none \\\n  make\n"
		"COPY --from=build --chown=1:2 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /dst/\n"
		"ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y /y\n"
		"COPY --chown=\"a b\" -- --x /y\n"
		"HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --start-interval=1s --retries=3 CMD [\"true\"]\n");
	OK(df != NULL, "flags parse");
	if (!df)
		return;
	const struct cell_df_instr *in = I(df, 0, 1);
	IS_INT(in->n_flags, 3, "RUN: 3 flags");
	IS_STR(in->flags[0].name, "mount", "first --mount");
	IS_STR(in->flags[1].value, "type=secret,id=s", "second --mount");
	IS_STR(cell_df_flag_get(in, "network")->value, "none", "--network");
	IS_STR(in->args[0], "make", "command after the flags");
	in = I(df, 0, 2);
	IS_INT(in->n_flags, 7, "COPY: 7 flags");
	OK(cell_df_flag_get(in, "link")->value == NULL, "--link bare");
	cell_error *e = NULL;
	IS_INT(cell_df_flag_bool(in, "link", &e), 1, "--link true");
	IS_INT(cell_df_flag_bool(in, "keep-git-dir", &e), 0, "absent flag false");
	IS_INT(in->n_args, 3, "COPY a b /dst/");
	IS_STR(in->args[2], "/dst/", "COPY destination");
	in = I(df, 0, 3);
	IS_INT(cell_df_flag_bool(in, "keep-git-dir", &e), 1, "--keep-git-dir=true");
	IS_INT(cell_df_flag_bool(in, "link", &e), 0, "--link=false");
	IS_STR(cell_df_flag_get(in, "checksum")->value, "sha256:abc", "--checksum");
	in = I(df, 0, 4);
	IS_STR(cell_df_flag_get(in, "chown")->value, "a b", "quoted flag value");
	IS_STR(in->args[0], "--x", "`--` ends the flags");
	in = I(df, 0, 5);
	IS_INT(in->n_flags, 5, "HEALTHCHECK: 5 flags");
	OK(in->json && in->n_args == 1 && !in->healthcheck_none, "HEALTHCHECK CMD exec form");
	cell_dockerfile_free(df);

	struct cell_df_kv *kv = NULL;
	size_t n = 0;
	OK(cell_df_split_csv("type=cache,\"target=/a,b\",ro,\"id=x\"\"y\"", &kv, &n, &e) == 0 && n == 4,
	   "--mount value split as CSV");
	if (n == 4) {
		IS_STR(kv[1].value, "/a,b", "quoted CSV field");
		OK(kv[2].value == NULL && strcmp(kv[2].key, "ro") == 0, "bare CSV field");
		IS_STR(kv[3].value, "x\"y", "doubled quote");
	}
	cell_df_kv_free(kv, n);
	OK(cell_df_split_csv("\"a=x", &kv, &n, &e) < 0, "unterminated CSV quote refused");
	cell_error_free(&e);
	OK(cell_df_split_csv("a=\"x\"", &kv, &n, &e) < 0, "bare quote in an unquoted CSV field refused");
	cell_error_free(&e);

	bad("FROM a\nCOPY --from a b\n", "flag --from of COPY needs a value", "flag with no value");
	bad("FROM a\nCOPY --from=a --from=b x y\n", "given twice", "flag twice");
	bad("FROM a\nADD --from=a x y\n", "unknown flag --from for ADD", "ADD --from");
	bad("FROM a\nCOPY --link=maybe x y\n", "true or false", "boolean with a bad value");
	bad("FROM a\nRUN --=x y\n", "a flag with no name", "--=x");
	bad("FROM a\nHEALTHCHECK --retries=3 NOPE x\n", "unknown type \"NOPE\" in HEALTHCHECK", "HEALTHCHECK NOPE");
	bad("FROM a\nHEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments", "HEALTHCHECK NONE x");
	bad("FROM a\nHEALTHCHECK CMD\n", "missing command after HEALTHCHECK CMD", "HEALTHCHECK CMD alone");
}

static void test_kv(void)
{
	struct cell_dockerfile *df = parse("FROM a\n"
		"ENV A=1 B=\"two words\" C=three\\ words D= E=''\n"
		"ENV LEGACY some value  here\n"
		"LABEL \"com.x\"=\"y\" multi.label=\"a \\\"q\\\"\"\n"
		"LABEL old style\n"
		"ARG X Y=2 Z=\"a b\"\n"
		"MAINTAINER Jane <j@x>\n"
		"EXPOSE 80/tcp  443\n"
		"VOLUME /a /b\n"
		"VOLUME [\"/c\"]\n"
		"USER app:grp\n"
		"WORKDIR /src dir\n"
		"STOPSIGNAL SIGTERM\n");
	OK(df != NULL, "ENV LABEL ARG ... parse");
	if (!df)
		return;
	const struct cell_df_instr *in = I(df, 0, 1);
	IS_INT(in->n_kvs, 5, "ENV: 5 pairs");
	IS_STR(in->kvs[1].value, "\"two words\"", "ENV value raw with quotes");
	IS_STR(in->kvs[2].value, "three\\ words", "escaped blank kept in one word");
	IS_STR(in->kvs[3].value, "", "ENV D=");
	IS_STR(in->kvs[4].value, "''", "ENV E=''");
	in = I(df, 0, 2);
	OK(in->n_kvs == 1 && strcmp(in->kvs[0].key, "LEGACY") == 0, "legacy ENV key");
	IS_STR(in->kvs[0].value, "some value  here", "legacy ENV value is the rest");
	in = I(df, 0, 3);
	IS_STR(in->kvs[0].key, "\"com.x\"", "LABEL quoted key raw");
	IS_STR(in->kvs[1].value, "\"a \\\"q\\\"\"", "LABEL value with escaped quotes");
	IS_STR(I(df, 0, 4)->kvs[0].value, "style", "legacy LABEL");
	in = I(df, 0, 5);
	IS_INT(in->n_kvs, 3, "ARG: 3 names");
	OK(in->kvs[0].value == NULL, "ARG X: no default");
	IS_STR(in->kvs[2].value, "\"a b\"", "ARG quoted default");
	IS_STR(I(df, 0, 6)->args[0], "Jane <j@x>", "MAINTAINER");
	in = I(df, 0, 7);
	OK(in->n_args == 2 && strcmp(in->args[1], "443") == 0, "EXPOSE words");
	OK(I(df, 0, 8)->n_args == 2 && !I(df, 0, 8)->json, "VOLUME words");
	OK(I(df, 0, 9)->json && I(df, 0, 9)->n_args == 1, "VOLUME JSON");
	IS_STR(I(df, 0, 10)->args[0], "app:grp", "USER");
	IS_STR(I(df, 0, 11)->args[0], "/src dir", "WORKDIR one string");
	IS_STR(I(df, 0, 12)->args[0], "SIGTERM", "STOPSIGNAL");
	for (int k = 0; k < CELL_DF_KIND_COUNT; k++)
		OK(cell_df_kind_name((enum cell_df_kind)k) != NULL, "kind %d has a name", k);
	OK(cell_df_kind_name(CELL_DF_KIND_COUNT) == NULL, "kind out of range");
	OK(cell_df_kind_expands(CELL_DF_COPY) && cell_df_kind_expands(CELL_DF_WORKDIR) &&
	   !cell_df_kind_expands(CELL_DF_RUN) && !cell_df_kind_expands(CELL_DF_CMD), "where substitution applies");
	cell_dockerfile_free(df);

	bad("FROM a\nENV A=1 B\n", "can't find = in \"B\"", "ENV mixed forms");
	bad("FROM a\nENV ONLY\n", "needs a value", "ENV key without value");
	bad("FROM a\nENV =x\n", "names can not be blank", "ENV blank name");
	bad("FROM a\nARG\n", "ARG requires at least one argument", "ARG alone");
	bad("FROM a\nLABEL\n", "LABEL requires at least one argument", "LABEL alone");
	bad("FROM a\nEXPOSE\n", "EXPOSE requires at least one argument", "EXPOSE alone");
	bad("FROM a\nUSER\n", "USER requires exactly one argument", "USER alone");
	bad("FROM a\nCOPY x\n", "COPY requires at least two arguments", "COPY one arg");
	bad("FROM a\nVOLUME []\n", "VOLUME requires at least one argument", "VOLUME []");
	bad("FROM a\nVOLUME [\"/a\", \" \"]\n", "can not be an empty string", "VOLUME with an empty string");
	bad("FROM a\nCOPY x <<EOF\nhi\nEOF\n", "COPY cannot accept a heredoc as a destination", "heredoc as COPY destination");
	bad("FROM a\nHEALTHCHECK --retries=0 CMD x\n", "--retries must be", "HEALTHCHECK --retries=0");
	bad("FROM a\nHEALTHCHECK --retries=x CMD x\n", "--retries must be", "HEALTHCHECK --retries=x");
}

static void test_onbuild_health(void)
{
	struct cell_dockerfile *df = parse("FROM a\n"
		"ONBUILD RUN echo hi\n"
		"onbuild copy --chown=1 . /app\n"
		"ONBUILD RUN <<EOF\necho in\nEOF\n"
		"HEALTHCHECK NONE\n"
		"healthcheck cmd curl -f http://localhost/ || exit 1\n");
	OK(df != NULL, "ONBUILD and HEALTHCHECK parse");
	if (!df)
		return;
	const struct cell_df_instr *in = I(df, 0, 1);
	OK(in->onbuild && in->onbuild->kind == CELL_DF_RUN, "ONBUILD RUN inner");
	IS_STR(in->args[0], "RUN echo hi", "ONBUILD trigger text");
	IS_STR(in->onbuild ? in->onbuild->args[0] : NULL, "echo hi", "inner RUN command");
	in = I(df, 0, 2);
	OK(in->onbuild && in->onbuild->kind == CELL_DF_COPY && in->onbuild->n_flags == 1, "ONBUILD COPY with a flag");
	in = I(df, 0, 3);
	OK(in->onbuild && in->onbuild->n_heredocs == 1, "ONBUILD RUN heredoc");
	if (in->onbuild)
		BODY_IS(in->onbuild, 0, "echo in\n", "ONBUILD heredoc body");
	in = I(df, 0, 4);
	OK(in->kind == CELL_DF_HEALTHCHECK && in->healthcheck_none && in->n_args == 0, "HEALTHCHECK NONE");
	in = I(df, 0, 5);
	OK(!in->healthcheck_none && !in->json, "HEALTHCHECK CMD shell form");
	IS_STR(in->args[0], "curl -f http://localhost/ || exit 1", "HEALTHCHECK command");
	IS_STR(in->original, "healthcheck cmd curl -f http://localhost/ || exit 1", "keyword kept as written in original");
	cell_dockerfile_free(df);

	bad("FROM a\nONBUILD ONBUILD RUN x\n", "ONBUILD ONBUILD isn't allowed", "ONBUILD ONBUILD");
	bad("FROM a\nONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger", "ONBUILD FROM");
	bad("FROM a\nONBUILD MAINTAINER x\n", "MAINTAINER isn't allowed", "ONBUILD MAINTAINER");
	bad("FROM a\nONBUILD\n", "ONBUILD requires at least one argument", "ONBUILD alone");
	bad("FROM a\nONBUILD RUNN x\n", "unknown instruction \"RUNN\"", "ONBUILD unknown");
}

static void test_heredocs(void)
{
	struct cell_dockerfile *df = parse("FROM a\n"
		"RUN <<EOF\necho $HOME\n  indented\nEOF\n"
		"RUN <<-EOT bash\n\tone\n\t\ttwo\n\tEOT\n"
		"COPY <<\"A\" <<'B' /dst/\n$x\nA\n$y\nB\n"
		"RUN 3<<IN cat <&3 && echo done\ndata\nIN\n"
		"RUN [\"echo\", \"<<NOTHD\"]\n"
		"RUN echo $((1<<2)) \"<<X\"\n"
		"RUN cat <<EOF\r\nwin\r\nEOF\r\n"
		"CMD <<EOF\n");
	OK(df != NULL, "heredocs parse");
	if (!df)
		return;
	const struct cell_df_instr *in = I(df, 0, 1);
	OK(in->n_heredocs == 1 && in->heredocs[0].expand && !in->heredocs[0].chomp, "RUN <<EOF");
	BODY_IS(in, 0, "echo $HOME\n  indented\n", "heredoc body raw");
	IS_STR(in->args[0], "<<EOF", "RUN text keeps <<EOF");
	IS_INT(in->end_line, 5, "end line after the delimiter");
	in = I(df, 0, 2);
	OK(in->n_heredocs == 1 && in->heredocs[0].chomp, "<<- chomps");
	BODY_IS(in, 0, "one\ntwo\n", "leading tabs removed");
	in = I(df, 0, 3);
	OK(in->n_heredocs == 2, "two heredocs on COPY");
	if (in->n_heredocs == 2) {
		IS_STR(in->heredocs[0].name, "A", "quoted delimiter name");
		OK(!in->heredocs[0].expand && !in->heredocs[1].expand, "quoted: no expansion");
		BODY_IS(in, 1, "$y\n", "second body");
	}
	IS_INT(in->n_args, 3, "COPY <<A <<B /dst/ args");
	in = I(df, 0, 4);
	OK(in->n_heredocs == 1 && in->heredocs[0].fd == 3, "3<<IN: fd 3");
	OK(I(df, 0, 1)->heredocs[0].fd == -1, "no fd: -1");
	OK(I(df, 0, 5)->n_heredocs == 0, "no heredoc in exec form");
	OK(I(df, 0, 6)->n_heredocs == 0, "$((1<<2)) and a quoted << are no heredocs");
	in = I(df, 0, 7);
	BODY_IS(in, 0, "win\n", "CRLF heredoc");
	OK(I(df, 0, 8)->kind == CELL_DF_CMD && I(df, 0, 8)->n_heredocs == 0, "no heredoc on CMD");
	cell_dockerfile_free(df);

	bad("FROM a\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc `EOF`", "unterminated heredoc");
	bad("FROM a\nRUN <<A <<B\na\nA\nb\n", "unterminated heredoc `B`", "second heredoc unterminated");
}

static void test_bad_input(void)
{
	bad("FROM a\n\nRUNN x\n", "Dockerfile:3: unknown instruction \"RUNN\" (did you mean RUN?)", "RUNN");
	bad("FROM a\nFOO x\n", "unknown instruction \"FOO\"", "FOO");
	bad("FROM a\nR\x1b[31m x\n", "unknown instruction \"R?[31m\"", "control characters made printable");
	bad("FROM a\nRUN <<E\x1b[2J\n", "unterminated heredoc `E?[2J`", "control characters in a heredoc name made printable");
	bad("FROM a\nHEALTHCHECK --retries=\x1b CMD x\n", "(not `?`)", "control characters in a flag value made printable");
	char nul[] = "FROM a\nRUN a\0b\n";
	char *m = parse_err(nul, sizeof(nul) - 1);
	OK(strstr(m, "Dockerfile:2: NUL byte"), "NUL byte refused with its line");
	free(m);

	size_t n = CELL_DF_MAX_LINE + 100;
	char *big = xmalloc(n + 16);
	memcpy(big, "FROM a\nRUN ", 11);
	memset(big + 11, 'x', n);
	big[11 + n] = '\0';
	m = parse_err(big, strlen(big));
	OK(strstr(m, "Dockerfile:2: line longer than"), "huge line refused");
	free(m);
	/* many short continued lines over the logical bound */
	size_t per = 1000, lines = CELL_DF_MAX_LOGICAL / per + 2;
	free(big);
	big = xmalloc(16 + lines * (per + 2));
	char *p = big + sprintf(big, "FROM a\nRUN ");
	for (size_t i = 0; i < lines; i++) {
		memset(p, 'y', per);
		p += per;
		*p++ = '\\';
		*p++ = '\n';
	}
	*p = '\0';
	m = parse_err(big, strlen(big));
	OK(strstr(m, "Dockerfile:2: instruction longer than"), "huge continued instruction refused");
	free(m);
	free(big);

	size_t count = CELL_DF_MAX_INSTRS + 2;
	big = xmalloc(count * 8 + 16);
	p = big + sprintf(big, "FROM a\n");
	for (size_t i = 0; i < count; i++)
		p += sprintf(p, "USER x\n");
	m = parse_err(big, strlen(big));
	OK(strstr(m, "more than"), "too many instructions refused");
	free(m);
	free(big);
	m = parse_err("FROM a\n", CELL_DF_MAX_SIZE + 1);
	OK(strstr(m, "more than the 4 MiB"), "file over 4 MiB refused before reading it");
	free(m);

	struct cell_dockerfile *df = parse("# syntax=docker/dockerfile:1.7\nFROM a\nRUN a \\\n\n  b\n");
	OK(df && df->n_warnings == 2, "warnings: empty continuation line, syntax ignored");
	if (df && df->n_warnings == 2) {
		OK(strstr(df->warnings[0], "Dockerfile:3: empty continuation line") != NULL, "warning names the line");
		OK(strstr(df->warnings[1], "syntax directive") != NULL, "syntax note");
	}
	cell_dockerfile_free(df);
}

/* Variables for the expansion tests. */
static const char *vars(const char *name, void *ud)
{
	static const char *const tab[][2] = {
		{ "A", "a" }, { "EMPTY", "" }, { "SP", "x  y" }, { "HOME", "/root" }, { "B_2", "b2" },
		{ "PWD", "/home" }, { "SHELL", "bash" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strcmp(tab[i][0], name) == 0)
			return tab[i][1];
	return NULL;
}

static void expand_is(const char *in, char esc, const char *want)
{
	char *out = NULL;
	cell_error *e = NULL;

	if (cell_df_expand(in, esc, vars, NULL, &out, &e) < 0) {
		OK(0, "expand `%s`", in);
		printf("#   error %s\n", e->msg);
		cell_error_free(&e);
		return;
	}
	OK(strcmp(out, want) == 0, "expand `%s` -> `%s`", in, want);
	if (strcmp(out, want))
		printf("#   got `%s`\n", out);
	free(out);
}

static void expand_bad(const char *in, const char *want)
{
	char *out = NULL;
	cell_error *e = NULL;
	int r = cell_df_expand(in, '\\', vars, NULL, &out, &e);

	OK(r < 0 && strstr(e->msg, want), "expand `%s` refused: %s", in, want);
	if (r == 0)
		free(out);
	else if (!strstr(e->msg, want))
		printf("#   got %s\n", e->msg);
	cell_error_free(&e);
}

static void words_is(const char *in, const char *want)
{
	char **w = NULL;
	size_t n = 0;
	cell_error *e = NULL;

	if (cell_df_expand_words(in, '\\', vars, NULL, &w, &n, &e) < 0) {
		OK(0, "words `%s`: %s", in, e->msg);
		cell_error_free(&e);
		return;
	}
	struct df_buf b = { .cap = 1 << 20 };
	for (size_t i = 0; i < n; i++) {
		df_buf_add(&b, "[", 1);
		df_buf_add(&b, w[i], strlen(w[i]));
		df_buf_add(&b, "]", 1);
	}
	char *got = df_buf_take(&b);
	OK(strcmp(got, want) == 0 && w[n] == NULL, "words `%s` -> %s", in, want);
	if (strcmp(got, want))
		printf("#   got %s\n", got);
	free(got);
	strv_free(w);
}

static void test_expand(void)
{
	/* the reference's cases, and BuildKit's lexer tests */
	expand_is("$A", '\\', "a");
	expand_is("${A}", '\\', "a");
	expand_is("x${A}y$A.z", '\\', "xaya.z");
	expand_is("$UNSET", '\\', "");
	expand_is("${UNSET:-def}", '\\', "def");
	expand_is("${EMPTY:-def}", '\\', "def");
	expand_is("${EMPTY-def}", '\\', "");
	expand_is("${UNSET-def}", '\\', "def");
	expand_is("${A:-def}", '\\', "a");
	expand_is("${A:+alt}", '\\', "alt");
	expand_is("${EMPTY:+alt}", '\\', "");
	expand_is("${EMPTY+alt}", '\\', "alt");
	expand_is("${UNSET+alt}", '\\', "");
	expand_is("${A:?must}", '\\', "a");
	expand_is("${EMPTY?must}", '\\', "");
	expand_is("${UNSET:-${A:+nested $HOME}}", '\\', "nested /root");
	expand_is("${UNSET:-'$A' \"$A\"}", '\\', "$A a");
	expand_is("\\$A", '\\', "$A");
	expand_is("\\${A}", '\\', "${A}");
	expand_is("'$A'", '\\', "$A");
	expand_is("\"$A\"", '\\', "a");
	expand_is("\"a\\\"b\\$c\\\\d\\e\"", '\\', "a\"b$c\\d\\e");
	expand_is("`$A", '`', "$A");
	expand_is("a\\ b", '\\', "a b");
	expand_is("$", '\\', "$");
	expand_is("a$", '\\', "a$");
	expand_is("$ x", '\\', "$ x");
	expand_is("$B_2/x", '\\', "b2/x");
	expand_is("$(echo x)", '\\', "$(echo x)");
	expand_is("end\\", '\\', "end");
	expand_is("${SP}", '\\', "x  y");
	expand_is("$1", '\\', "");
	/* shell-lexer cases in the style of BuildKit's envVarTest */
	static const char *const cases[][2] = {
		{ "hello", "hello" }, { "he'll'", "hell" }, { "he\\'llo", "he'llo" },
		{ "abc\\tdef", "abctdef" }, { "\"abc\\tdef\"", "abc\\tdef" }, { "'abc\\tdef'", "abc\\tdef" },
		{ "hello\\", "hello" }, { "hello\\\\", "hello\\" }, { "\"''\"", "''" }, { "$.", "$." },
		{ "he$1x", "hex" }, { "he$.x", "he$.x" }, { "he$pwd.", "he." }, { "he$PWD", "he/home" },
		{ "he\\$PWD", "he$PWD" }, { "he\\\\$PWD", "he\\/home" }, { "\"he\\$PWD\"", "he$PWD" },
		{ "\"he\\\\$PWD\"", "he\\/home" }, { "he\\${}", "he${}" }, { "he\\${}xx", "he${}xx" },
		{ "he${hi}", "he" }, { "he${PWD}", "he/home" }, { "he${XXX:-000}xx", "he000xx" },
		{ "he${PWD:-000}xx", "he/homexx" }, { "he${XXX:-$PWD}xx", "he/homexx" },
		{ "he${XXX:-${PWD:-yyy}}xx", "he/homexx" }, { "he${XXX:-${YYY:-yyy}}xx", "heyyyxx" },
		{ "he${PWD?}", "he/home" }, { "he${PWD:?}", "he/home" }, { "he${XXX:+${PWD}}xx", "hexx" },
		{ "he${PWD:+${XXX}}xx", "hexx" }, { "he${PWD:+${SHELL}}xx", "hebashxx" }, { "he${XXX:+000}xx", "hexx" },
		{ "he${PWD:+000}xx", "he000xx" }, { "'he${XX}'", "he${XX}" }, { "\"he${PWD}\"", "he/home" },
		{ "\"he'$PWD'\"", "he'/home'" }, { "'$PWD'", "$PWD" }, { "'\\$PWD'", "\\$PWD" },
		{ "'\"hello\"'", "\"hello\"" }, { "he${PWD:+${PWD}:}xx", "he/home:xx" },
		{ "he${XXX:-\\$PWD:}xx", "he$PWD:xx" }, { "he${XXX:-\\${PWD}z}xx", "he${PWDz}xx" },
		{ "\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expand_is(cases[i][0], '\\', cases[i][1]);
	static const char *const errs[] = {
		"he'llo", "he\\\\'llo", "he${}", "he${}xx", "he${.}", "he${XXX:YYY}", "he${XXX?}", "he${XXX:?}",
		"he${PWD", "he${PWD:=000}xx",
	};
	for (size_t i = 0; i < ARRAY_SIZE(errs); i++)
		expand_bad(errs[i], "");
	expand_bad("${A", "missing `}`");
	expand_bad("${A:-x", "missing `}`");
	expand_bad("${}", "bad substitution");
	expand_bad("${:a}", "bad substitution");
	expand_bad("${A%x}", "unsupported modifier");
	expand_bad("${A/x/y}", "unsupported modifier");
	expand_bad("${UNSET:?it is needed}", "UNSET: it is needed");
	expand_bad("${EMPTY:?}", "EMPTY: is not set or empty");
	expand_bad("${UNSET?}", "UNSET: is not set");
	expand_bad("'abc", "unterminated single quote");
	expand_bad("\"abc", "unterminated double quote");
	struct df_buf deep = { .cap = 1 << 20 };
	for (int i = 0; i < 100; i++)
		df_buf_add(&deep, "${U:-", 5);
	expand_bad(deep.s, "nested more than");
	df_buf_done(&deep);

	char *out = NULL;
	cell_error *e = NULL;
	OK(cell_df_expand("$A ${B:-b}", '\\', NULL, NULL, &out, &e) == 0 && strcmp(out, " b") == 0,
	   "no lookup: nothing is set");
	free(out);

	words_is("a b  c", "[a][b][c]");
	words_is("\"a b\" 'c d' e\\ f", "[a b][c d][e f]");
	words_is("$SP z", "[x][y][z]");
	words_is("\"$SP\" z", "[x  y][z]");
	words_is("'' a \"\"", "[a]");
	words_is("  80/tcp   ${UNSET:-443}  ", "[80/tcp][443]");
	words_is("", "");
}

int main(void)
{
	test_lines();
	test_from_stages();
	test_exec_shell();
	test_flags();
	test_kv();
	test_onbuild_health();
	test_heredocs();
	test_bad_input();
	test_expand();
	return TAP_DONE();
}
