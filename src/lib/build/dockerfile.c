/* The Dockerfile's typed layer (see dockerfile.h): each logical line of the
 * line layer (dockerfile-lex.c) becomes an instruction with its flags checked
 * and its arguments in the form the instruction takes, and FROMs cut the file
 * into stages. The argument forms follow BuildKit's line parsers, which the
 * reference describes instruction by instruction:
 *   exec or shell form (RUN CMD ENTRYPOINT SHELL HEALTHCHECK CMD): a JSON
 *     array of strings, else the text;
 *   JSON or whitespace words (COPY ADD VOLUME), whitespace words (FROM EXPOSE);
 *   one string (USER WORKDIR STOPSIGNAL MAINTAINER);
 *   key=value words with quotes (ENV LABEL, with the legacy `ENV k v`), and
 *   name[=value] words (ARG);
 *   an instruction (ONBUILD).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "build/dockerfile-internal.h"
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

bool cell_df_kind_expands(enum cell_df_kind kind)
{
	switch (kind) {
	case CELL_DF_ADD:
	case CELL_DF_COPY:
	case CELL_DF_ENV:
	case CELL_DF_EXPOSE:
	case CELL_DF_FROM:
	case CELL_DF_LABEL:
	case CELL_DF_STOPSIGNAL:
	case CELL_DF_USER:
	case CELL_DF_VOLUME:
	case CELL_DF_WORKDIR:
	case CELL_DF_ARG:
		return true;
	default:
		return false;
	}
}

/* The flags each instruction takes (dockerfile.h lists them). */
struct flagdef {
	enum cell_df_kind kind;
	const char *name;
	bool boolean;
	bool repeat;
};

static const struct flagdef flagdefs[] = {
	{ CELL_DF_FROM, "platform", false, false },
	{ CELL_DF_RUN, "mount", false, true },
	{ CELL_DF_RUN, "network", false, false },
	{ CELL_DF_RUN, "security", false, false },
	{ CELL_DF_COPY, "from", false, false },
	{ CELL_DF_COPY, "chown", false, false },
	{ CELL_DF_COPY, "chmod", false, false },
	{ CELL_DF_COPY, "link", true, false },
	{ CELL_DF_COPY, "parents", true, false },
	{ CELL_DF_COPY, "exclude", false, true },
	{ CELL_DF_ADD, "chown", false, false },
	{ CELL_DF_ADD, "chmod", false, false },
	{ CELL_DF_ADD, "link", true, false },
	{ CELL_DF_ADD, "keep-git-dir", true, false },
	{ CELL_DF_ADD, "checksum", false, false },
	{ CELL_DF_ADD, "exclude", false, true },
	{ CELL_DF_HEALTHCHECK, "interval", false, false },
	{ CELL_DF_HEALTHCHECK, "timeout", false, false },
	{ CELL_DF_HEALTHCHECK, "start-period", false, false },
	{ CELL_DF_HEALTHCHECK, "start-interval", false, false },
	{ CELL_DF_HEALTHCHECK, "retries", false, false },
};

struct parser {
	struct df_lexer lx;
	const char *file;
	struct cell_dockerfile *df;
	size_t n_instrs;
	cell_error **err;
};

/* Text of a hostile file put in a message: at most max bytes, control
 * characters as '?', so a message cannot drive the user's terminal. */
static char *printable(const char *s, size_t n, size_t max)
{
	bool cut = n > max;
	char *r = xmalloc((cut ? max : n) + 4);
	size_t i;

	for (i = 0; i < n && i < max; i++)
		r[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (cut) {
		memcpy(r + i, "...", 3);
		i += 3;
	}
	r[i] = '\0';
	return r;
}

static int perr(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct parser *ps, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	cell_error_set(ps->err, "%s:%u: %s", ps->file, line, msg);
	free(msg);
	return -1;
}

static void warn(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warn(struct parser *ps, unsigned line, const char *fmt, ...)
{
	struct cell_dockerfile *df = ps->df;
	va_list ap;
	char *msg = NULL, *full;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = line ? xasprintf("%s:%u: %s", ps->file, line, msg) : xasprintf("%s: %s", ps->file, msg);
	free(msg);
	for (char *c = full; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	df->warnings = realloc(df->warnings, (df->n_warnings + 2) * sizeof(char *));
	if (!df->warnings)
		abort();
	df->warnings[df->n_warnings++] = full;
	df->warnings[df->n_warnings] = NULL;
}

/* Append s to a NULL-terminated vector, doubling it as it fills (a 1 MiB
 * line may hold half a million words). */
static void strv_push(char ***v, size_t *n, char *s)
{
	if (!*v || ((*n + 1) & *n) == 0) {
		*v = realloc(*v, 2 * (*n + 1) * sizeof(char *));
		if (!*v)
			abort();
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n > 0 && df_blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && df_blank(s[n - 1]))
		n--;
	return strndup(s, n);
}

/* Words separated by blanks, no quoting (Docker's reWhitespace split). */
static void blank_words(const char *s, char ***v, size_t *n)
{
	while (*s) {
		while (df_blank(*s))
			s++;
		if (!*s)
			break;
		const char *e = s;
		while (*e && !df_blank(*e))
			e++;
		strv_push(v, n, strndup(s, (size_t)(e - s)));
		s = e;
	}
}

/* Words separated by blanks outside quotes, quotes and escapes kept (for
 * ENV, LABEL, ARG: BuildKit's parseWords); the expansion removes them. */
static void quoted_words(const char *s, char esc, char ***v, size_t *n)
{
	struct df_buf w = { .cap = CELL_DF_MAX_LOGICAL };
	char quote = 0;
	bool in_word = false, blank_ok = false;

	for (;; s++) {
		char c = *s;
		if (!c) {
			if (in_word && (blank_ok || w.len))
				strv_push(v, n, df_buf_take(&w));
			break;
		}
		if (!in_word) {
			if (df_blank(c))
				continue;
			in_word = true;
		}
		if (!quote) {
			if (df_blank(c)) {
				if (blank_ok || w.len)
					strv_push(v, n, df_buf_take(&w));
				df_buf_done(&w);
				in_word = blank_ok = false;
				continue;
			}
			if (c == '\'' || c == '"') {
				quote = c;
				blank_ok = true;
			} else if (c == esc) {
				if (!s[1])
					continue;
				df_buf_addc(&w, c);
				c = *++s;
			}
			df_buf_addc(&w, c);
			continue;
		}
		if (c == quote) {
			quote = 0;
		} else if (c == esc && quote != '\'') {
			if (!s[1]) {
				quote = 0;
				continue;
			}
			df_buf_addc(&w, c);
			c = *++s;
		}
		df_buf_addc(&w, c);
	}
	df_buf_done(&w);
}

static const struct flagdef *flagdef_find(enum cell_df_kind kind, const char *name)
{
	for (size_t i = 0; i < sizeof(flagdefs) / sizeof(flagdefs[0]); i++)
		if (flagdefs[i].kind == kind && strcmp(flagdefs[i].name, name) == 0)
			return &flagdefs[i];
	return NULL;
}

static char *flags_taken(enum cell_df_kind kind)
{
	struct df_buf b = { .cap = 4096 };

	for (size_t i = 0; i < sizeof(flagdefs) / sizeof(flagdefs[0]); i++) {
		if (flagdefs[i].kind != kind)
			continue;
		if (b.len)
			df_buf_add(&b, " ", 1);
		df_buf_add(&b, "--", 2);
		df_buf_add(&b, flagdefs[i].name, strlen(flagdefs[i].name));
	}
	return df_buf_take(&b);
}

static int check_flag(struct parser *ps, struct cell_df_instr *in, const struct cell_df_flag *f)
{
	const char *kw = kind_names[in->kind];
	const struct flagdef *d = flagdef_find(in->kind, f->name);

	if (!d) {
		_cleanup_free_ char *taken = flags_taken(in->kind);
		_cleanup_free_ char *name = printable(f->name, strlen(f->name), 60);
		if (!*taken)
			return perr(ps, in->line, "unknown flag --%s: %s takes no flags", name, kw);
		return perr(ps, in->line, "unknown flag --%s for %s (it takes %s)", name, kw, taken);
	}
	if (!d->boolean && !f->value)
		return perr(ps, in->line, "flag --%s of %s needs a value (--%s=VALUE)", f->name, kw, f->name);
	if (d->boolean && f->value && strcasecmp(f->value, "true") && strcasecmp(f->value, "false"))
		return perr(ps, in->line, "flag --%s of %s takes true or false, not a value", f->name, kw);
	if (!d->repeat)
		for (size_t i = 0; i < in->n_flags; i++)
			if (&in->flags[i] != f && strcmp(in->flags[i].name, f->name) == 0)
				return perr(ps, in->line, "flag --%s given twice to %s", f->name, kw);
	return 0;
}

/* The leading --flag[=value] words of s (quotes removed, '\\' escapes the
 * next character, `--` ends them); *rest is what follows. */
static int extract_flags(struct parser *ps, struct cell_df_instr *in, const char *s, const char **rest)
{
	for (;;) {
		while (df_blank(*s))
			s++;
		if (s[0] != '-' || s[1] != '-')
			break;
		struct df_buf w = { .cap = CELL_DF_MAX_LOGICAL };
		char quote = 0;
		for (; *s && (quote || !df_blank(*s)); s++) {
			char c = *s;
			if (!quote && (c == '\'' || c == '"')) {
				quote = c;
				continue;
			}
			if (quote && c == quote) {
				quote = 0;
				continue;
			}
			if (c == '\\' && s[1]) 
				c = *++s;
			df_buf_addc(&w, c);
		}
		char *word = df_buf_take(&w);
		if (strcmp(word, "--") == 0) {
			free(word);
			break;
		}
		char *eq = strchr(word, '=');
		struct cell_df_flag f = {
			.name = eq ? strndup(word + 2, (size_t)(eq - word - 2)) : xstrdup(word + 2),
			.value = eq ? xstrdup(eq + 1) : NULL,
		};
		free(word);
		in->flags = realloc(in->flags, (in->n_flags + 1) * sizeof(*in->flags));
		if (!in->flags)
			abort();
		in->flags[in->n_flags++] = f;
		if (!*f.name)
			return perr(ps, in->line, "a flag with no name (`--=...`) on %s", kind_names[in->kind]);
	}
	for (size_t i = 0; i < in->n_flags; i++)
		if (check_flag(ps, in, &in->flags[i]) < 0)
			return -1;
	*rest = s;
	return 0;
}

/* A JSON array of strings: 1 with in->args set, 0 when s is not a JSON
 * array (the shell form then), -1 with err for an array of non-strings. */
static int parse_json(struct parser *ps, struct cell_df_instr *in, const char *s)
{
	if (*s != '[')
		return 0;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	size_t len = strlen(s);
	json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o)
		return 0;
	while (end < len && df_blank(s[end]))
		end++;
	if (end != len || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return 0;
	}
	size_t n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i);
		if (!json_object_is_type(e, json_type_string)) {
			json_object_put(o);
			return perr(ps, in->line, "%s: when using JSON array syntax, arrays must be comprised of strings only",
				    kind_names[in->kind]);
		}
		const char *str = json_object_get_string(e);
		if ((size_t)json_object_get_string_len(e) != strlen(str)) {
			json_object_put(o);
			return perr(ps, in->line, "%s: a JSON string holds a NUL character (\\u0000)", kind_names[in->kind]);
		}
		strv_push(&in->args, &in->n_args, xstrdup(str));
	}
	json_object_put(o);
	if (!in->args)
		in->args = xcalloc(1, sizeof(char *));
	in->json = true;
	return 1;
}

static bool heredoc_kind(enum cell_df_kind k)
{
	return k == CELL_DF_RUN || k == CELL_DF_COPY || k == CELL_DF_ADD;
}

/* [digits]<<[-]NAME, NAME not empty and without '<' */
static bool is_heredoc_word(const char *w)
{
	while (isdigit((unsigned char)*w))
		w++;
	if (w[0] != '<' || w[1] != '<')
		return false;
	w += 2;
	if (*w == '-')
		w++;
	return *w && !strchr(w, '<');
}

/* The heredocs named on the line: words (quotes and escapes kept) reading
 * [digits]<<[-]NAME, NAME without '<'. A quote in NAME turns expansion off. */
static int read_heredocs(struct parser *ps, struct cell_df_instr *in, const char *line)
{
	char **words = NULL;
	size_t n = 0;
	int r = 0;

	quoted_words(line, ps->lx.escape, &words, &n);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *w = words[i];
		int fd = -1;
		if (isdigit((unsigned char)*w)) {
			fd = 0;
			for (; isdigit((unsigned char)*w); w++)
				fd = fd > 100000 ? fd : fd * 10 + (*w - '0');
		}
		if (w[0] != '<' || w[1] != '<')
			continue;
		w += 2;
		bool chomp = *w == '-';
		if (chomp)
			w++;
		if (!*w || strchr(w, '<'))
			continue;
		_cleanup_free_ char *name = NULL;
		cell_error *e = NULL;
		if (cell_df_expand(w, '\\', NULL, NULL, &name, &e) < 0) {
			r = perr(ps, in->line, "heredoc delimiter %s", e->msg);
			cell_error_free(&e);
			break;
		}
		if (!*name)
			continue;
		struct cell_df_heredoc h = {
			.name = name, .chomp = chomp, .fd = fd,
			.expand = !strchr(w, '"') && !strchr(w, '\''),
		};
		if (df_lex_heredoc(&ps->lx, name, chomp, in->line, &h.body, ps->err) < 0) {
			r = -1;
			break;
		}
		name = NULL;
		in->heredocs = realloc(in->heredocs, (in->n_heredocs + 1) * sizeof(*in->heredocs));
		if (!in->heredocs)
			abort();
		in->heredocs[in->n_heredocs++] = h;
	}
	strv_free(words);
	return r;
}

static void kv_push(struct cell_df_instr *in, char *key, char *value)
{
	in->kvs = realloc(in->kvs, (in->n_kvs + 1) * sizeof(*in->kvs));
	if (!in->kvs)
		abort();
	in->kvs[in->n_kvs].key = key;
	in->kvs[in->n_kvs++].value = value;
}

/* ENV and LABEL: `k=v k2="v 2"`, or the legacy `k the rest`. */
static int parse_keyvalues(struct parser *ps, struct cell_df_instr *in)
{
	const char *kw = kind_names[in->kind];
	char **w = NULL;
	size_t n = 0;
	int r = 0;

	quoted_words(in->text, ps->lx.escape, &w, &n);
	if (n == 0)
		return perr(ps, in->line, "%s requires at least one argument", kw);
	if (!strchr(w[0], '=')) {
		const char *s = in->text, *e = s;
		while (*e && !df_blank(*e))
			e++;
		const char *v = e;
		while (df_blank(*v))
			v++;
		if (!*v)
			r = perr(ps, in->line, "%s %s needs a value (%s key value, or %s key=value)", kw, w[0], kw, kw);
		else
			kv_push(in, strndup(s, (size_t)(e - s)), xstrdup(v));
	} else {
		for (size_t i = 0; i < n && r == 0; i++) {
			char *eq = strchr(w[i], '=');
			if (!eq) {
				_cleanup_free_ char *p = printable(w[i], strlen(w[i]), 60);
				r = perr(ps, in->line, "syntax error - can't find = in \"%s\": %s takes name=value", p, kw);
			} else if (eq == w[i]) {
				r = perr(ps, in->line, "%s names can not be blank (`%s` has nothing before `=`)",
					 kw, in->kind == CELL_DF_ENV ? "ENV =..." : "LABEL =...");
			} else {
				kv_push(in, strndup(w[i], (size_t)(eq - w[i])), xstrdup(eq + 1));
			}
		}
	}
	strv_free(w);
	return r;
}

static int parse_arg(struct parser *ps, struct cell_df_instr *in)
{
	char **w = NULL;
	size_t n = 0;
	int r = 0;

	quoted_words(in->text, ps->lx.escape, &w, &n);
	if (n == 0)
		return perr(ps, in->line, "ARG requires at least one argument (ARG name[=default])");
	for (size_t i = 0; i < n && r == 0; i++) {
		char *eq = strchr(w[i], '=');
		if (eq == w[i])
			r = perr(ps, in->line, "ARG names can not be blank (`=` with nothing before it)");
		else
			kv_push(in, eq ? strndup(w[i], (size_t)(eq - w[i])) : xstrdup(w[i]),
				eq ? xstrdup(eq + 1) : NULL);
	}
	strv_free(w);
	return r;
}

static void one_arg(struct cell_df_instr *in, const char *s)
{
	strv_push(&in->args, &in->n_args, xstrdup(s));
}

/* RUN CMD ENTRYPOINT SHELL and HEALTHCHECK CMD: exec form or shell form. */
static int parse_maybe_json(struct parser *ps, struct cell_df_instr *in, const char *s)
{
	int r = parse_json(ps, in, s);

	if (r < 0)
		return -1;
	if (r == 0)
		one_arg(in, s);
	return 0;
}

static int parse_json_or_words(struct parser *ps, struct cell_df_instr *in)
{
	int r = parse_json(ps, in, in->text);

	if (r < 0)
		return -1;
	if (r == 0)
		blank_words(in->text, &in->args, &in->n_args);
	return 0;
}

static bool valid_stage_name(const char *s)
{
	if (!islower((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

static int parse_from(struct parser *ps, struct cell_df_instr *in)
{
	blank_words(in->text, &in->args, &in->n_args);
	if (in->n_args != 1 && !(in->n_args == 3 && strcasecmp(in->args[1], "as") == 0))
		return perr(ps, in->line, "FROM requires either one or three arguments (FROM image [AS name])");
	if (in->n_args == 3) {
		for (char *c = in->args[2]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!valid_stage_name(in->args[2])) {
			_cleanup_free_ char *p = printable(in->args[2], strlen(in->args[2]), 60);
			return perr(ps, in->line, "invalid name for build stage: \"%s\" (a stage name starts with a letter and holds letters, digits, -, _ and .)", p);
		}
	}
	return 0;
}

static int parse_healthcheck(struct parser *ps, struct cell_df_instr *in)
{
	const char *s = in->text, *e = s;

	while (*e && !df_blank(*e))
		e++;
	const char *rest = e;
	while (df_blank(*rest))
		rest++;
	if (e == s)
		return perr(ps, in->line, "HEALTHCHECK requires an argument (HEALTHCHECK [options] CMD command, or HEALTHCHECK NONE)");
	if ((size_t)(e - s) == 4 && strncasecmp(s, "none", 4) == 0) {
		if (*rest)
			return perr(ps, in->line, "HEALTHCHECK NONE takes no arguments");
		in->healthcheck_none = true;
		in->args = xcalloc(1, sizeof(char *));
		return 0;
	}
	if ((size_t)(e - s) != 3 || strncasecmp(s, "cmd", 3) != 0) {
		_cleanup_free_ char *p = printable(s, (size_t)(e - s), 40);
		return perr(ps, in->line, "unknown type \"%s\" in HEALTHCHECK (try CMD)", p);
	}
	if (!*rest)
		return perr(ps, in->line, "missing command after HEALTHCHECK CMD");
	const struct cell_df_flag *f = cell_df_flag_get(in, "retries");
	int64_t retries;
	if (f && (parse_int64(f->value, &retries) < 0 || retries < 1 || retries > INT32_MAX))
		return perr(ps, in->line, "HEALTHCHECK --retries must be a whole number of at least 1 (not `%.20s`)", f->value);
	return parse_maybe_json(ps, in, rest);
}

static unsigned edit_distance(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b);
	unsigned d[24], prev;

	if (na > 20 || nb > 20)
		return 99;
	for (size_t j = 0; j <= nb; j++)
		d[j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++) {
		prev = d[0];
		d[0] = (unsigned)i;
		for (size_t j = 1; j <= nb; j++) {
			unsigned t = d[j];
			unsigned sub = prev + (toupper((unsigned char)a[i - 1]) != b[j - 1]);
			unsigned best = d[j] + 1 < d[j - 1] + 1 ? d[j] + 1 : d[j - 1] + 1;
			d[j] = sub < best ? sub : best;
			prev = t;
		}
	}
	return d[nb];
}

static int unknown_instruction(struct parser *ps, unsigned line, const char *kw, size_t n)
{
	_cleanup_free_ char *p = printable(kw, n, 40);
	const char *best = NULL;
	unsigned bestd = 3;

	for (int k = 0; k < CELL_DF_KIND_COUNT; k++) {
		unsigned dist = edit_distance(kw, n, kind_names[k]);
		if (dist < bestd) {
			bestd = dist;
			best = kind_names[k];
		}
	}
	if (best)
		return perr(ps, line, "unknown instruction \"%s\" (did you mean %s?)", p, best);
	return perr(ps, line, "unknown instruction \"%s\" (not a Dockerfile instruction; a line that goes on from the one before needs a \\ or the escape character at its end)", p);
}

static int parse_instr(struct parser *ps, const char *line, unsigned start, struct cell_df_instr *in);

/* ONBUILD INSTRUCTION: the trigger parsed as an instruction of its own. */
static int parse_onbuild(struct parser *ps, struct cell_df_instr *in)
{
	unsigned start = in->line;

	if (!*in->text)
		return perr(ps, start, "ONBUILD requires at least one argument (ONBUILD INSTRUCTION)");
	one_arg(in, in->text);
	in->onbuild = xcalloc(1, sizeof(*in->onbuild));
	if (parse_instr(ps, in->text, start, in->onbuild) < 0)
		return -1;
	switch (in->onbuild->kind) {
	case CELL_DF_ONBUILD:
		return perr(ps, start, "ONBUILD ONBUILD isn't allowed");
	case CELL_DF_FROM:
	case CELL_DF_MAINTAINER:
		return perr(ps, start, "%s isn't allowed as an ONBUILD trigger", kind_names[in->onbuild->kind]);
	default:
		return 0;
	}
}

/* The arguments of in (kind, line and text set), in its instruction's form. */
static int parse_args(struct parser *ps, struct cell_df_instr *in)
{
	const char *kw = kind_names[in->kind];
	unsigned start = in->line;
	int r = 0;
	switch (in->kind) {
	case CELL_DF_FROM:
		r = parse_from(ps, in);
		break;
	case CELL_DF_RUN:
	case CELL_DF_CMD:
	case CELL_DF_ENTRYPOINT:
		if (!*in->text)
			return perr(ps, start, "%s requires at least one argument", kw);
		r = parse_maybe_json(ps, in, in->text);
		break;
	case CELL_DF_SHELL:
		if (parse_json(ps, in, in->text) <= 0)
			return ps->err && *ps->err ? -1
			       : perr(ps, start, "SHELL requires the arguments to be in JSON form (SHELL [\"executable\", \"parameters\"])");
		if (in->n_args == 0)
			return perr(ps, start, "SHELL requires at least one argument");
		break;
	case CELL_DF_COPY:
	case CELL_DF_ADD:
		r = parse_json_or_words(ps, in);
		if (r == 0 && in->n_args < 2)
			return perr(ps, start, "%s requires at least two arguments, but %s provided (%s source... destination)",
				    kw, in->n_args ? "only one was" : "none were", kw);
		break;
	case CELL_DF_VOLUME:
		r = parse_json_or_words(ps, in);
		if (r == 0 && in->n_args == 0)
			return perr(ps, start, "VOLUME requires at least one argument");
		for (size_t i = 0; r == 0 && i < in->n_args; i++) {
			const char *v = in->args[i];
			while (df_blank(*v))
				v++;
			if (!*v)
				return perr(ps, start, "VOLUME specified can not be an empty string");
		}
		break;
	case CELL_DF_EXPOSE:
		blank_words(in->text, &in->args, &in->n_args);
		if (in->n_args == 0)
			return perr(ps, start, "EXPOSE requires at least one argument");
		break;
	case CELL_DF_USER:
	case CELL_DF_WORKDIR:
	case CELL_DF_STOPSIGNAL:
	case CELL_DF_MAINTAINER:
		if (!*in->text)
			return perr(ps, start, "%s requires exactly one argument", kw);
		one_arg(in, in->text);
		break;
	case CELL_DF_ENV:
	case CELL_DF_LABEL:
		r = parse_keyvalues(ps, in);
		break;
	case CELL_DF_ARG:
		r = parse_arg(ps, in);
		break;
	case CELL_DF_HEALTHCHECK:
		r = parse_healthcheck(ps, in);
		break;
	case CELL_DF_ONBUILD:
		r = parse_onbuild(ps, in);
		break;
	case CELL_DF_KIND_COUNT:
		abort();
	}
	return r;
}

static int parse_instr(struct parser *ps, const char *line, unsigned start, struct cell_df_instr *in)
{
	const char *s = line, *e, *rest = "";
	int kind = -1;

	in->line = start;
	in->original = trim_dup(line, strlen(line));
	while (df_blank(*s))
		s++;
	for (e = s; *e && !df_blank(*e); e++)
		;
	for (int k = 0; k < CELL_DF_KIND_COUNT; k++)
		if (strlen(kind_names[k]) == (size_t)(e - s) && strncasecmp(s, kind_names[k], (size_t)(e - s)) == 0)
			kind = k;
	if (kind < 0)
		return unknown_instruction(ps, start, s, (size_t)(e - s));
	in->kind = (enum cell_df_kind)kind;
	if (extract_flags(ps, in, e, &rest) < 0)
		return -1;
	in->text = trim_dup(rest, strlen(rest));

	if (parse_args(ps, in) < 0)
		return -1;
	if (!in->args)
		in->args = xcalloc(1, sizeof(char *));
	if (heredoc_kind(in->kind) && !in->json && strstr(line, "<<") && read_heredocs(ps, in, line) < 0)
		return -1;
	if ((in->kind == CELL_DF_COPY || in->kind == CELL_DF_ADD) && in->n_heredocs &&
	    is_heredoc_word(in->args[in->n_args - 1]))
		return perr(ps, start, "%s cannot accept a heredoc as a destination", kind_names[in->kind]);
	in->end_line = ps->lx.lineno;
	return 0;
}

static void instr_clear(struct cell_df_instr *in)
{
	free(in->original);
	for (size_t i = 0; i < in->n_flags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	strv_free(in->args);
	free(in->text);
	for (size_t i = 0; i < in->n_heredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].body);
	}
	free(in->heredocs);
	cell_df_kv_free(in->kvs, in->n_kvs);
	if (in->onbuild) {
		instr_clear(in->onbuild);
		free(in->onbuild);
	}
	memset(in, 0, sizeof(*in));
}

static void instrs_push(struct cell_df_instr **v, size_t *n, struct cell_df_instr *in)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[(*n)++] = *in;
	memset(in, 0, sizeof(*in));
}

static int new_stage(struct parser *ps, struct cell_df_instr *in)
{
	struct cell_dockerfile *df = ps->df;
	const struct cell_df_flag *pf = cell_df_flag_get(in, "platform");
	const char *name = in->n_args == 3 ? in->args[2] : NULL;

	for (size_t i = 0; name && i < df->n_stages; i++)
		if (df->stages[i].name && strcmp(df->stages[i].name, name) == 0)
			return perr(ps, in->line, "duplicate stage name \"%s\" (line %u names a stage so too)",
				    name, df->stages[i].line);
	df->stages = realloc(df->stages, (df->n_stages + 1) * sizeof(*df->stages));
	if (!df->stages)
		abort();
	struct cell_df_stage *st = &df->stages[df->n_stages];
	*st = (struct cell_df_stage){
		.index = df->n_stages,
		.name = name ? xstrdup(name) : NULL,
		.base = xstrdup(in->args[0]),
		.platform = pf ? xstrdup(pf->value) : NULL,
		.line = in->line,
	};
	df->n_stages++;
	instrs_push(&st->instrs, &st->n_instrs, in);
	return 0;
}

static int parse_all(struct parser *ps)
{
	struct cell_dockerfile *df = ps->df;
	char *line;
	unsigned start;
	int r;

	while ((r = df_lex_next(&ps->lx, &line, &start, ps->err)) > 0) {
		struct cell_df_instr in = { 0 };
		if (ps->lx.empty_continuation)
			warn(ps, start, "empty continuation line in this instruction (Docker warns about those; a future Docker refuses them)");
		if (++ps->n_instrs > CELL_DF_MAX_INSTRS) {
			free(line);
			return perr(ps, start, "more than %u instructions", CELL_DF_MAX_INSTRS);
		}
		r = parse_instr(ps, line, start, &in);
		free(line);
		if (r < 0) {
			instr_clear(&in);
			return -1;
		}
		if (in.kind == CELL_DF_FROM) {
			r = new_stage(ps, &in);
		} else if (df->n_stages) {
			struct cell_df_stage *st = &df->stages[df->n_stages - 1];
			instrs_push(&st->instrs, &st->n_instrs, &in);
		} else if (in.kind == CELL_DF_ARG) {
			instrs_push(&df->meta_args, &df->n_meta_args, &in);
		} else {
			r = perr(ps, start, "%s before the first FROM (only ARG may come before it: every other instruction belongs to a build stage)",
				 kind_names[in.kind]);
		}
		instr_clear(&in);
		if (r < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	if (ps->n_instrs == 0)
		return cell_error_set(ps->err, "%s: file with no instructions (the Dockerfile is empty or holds only comments)", ps->file);
	if (df->n_stages == 0)
		return cell_error_set(ps->err, "%s: no FROM instruction (a Dockerfile needs at least one build stage)", ps->file);
	return 0;
}

int cell_dockerfile_parse(const char *text, size_t len, const char *filename,
			  struct cell_dockerfile **ret, cell_error **err)
{
	struct parser ps = { .file = filename ? filename : "Dockerfile", .err = err };
	struct cell_dockerfile *df;

	if (len > CELL_DF_MAX_SIZE)
		return cell_error_set(err, "%s: %zu bytes, more than the %u MiB a Dockerfile may have",
				      ps.file, len, CELL_DF_MAX_SIZE >> 20);
	df = xcalloc(1, sizeof(*df));
	df->filename = xstrdup(ps.file);
	df->escape = '\\';
	ps.df = df;
	df_lex_init(&ps.lx, text, len, ps.file);
	int r = parse_all(&ps);
	df->escape = ps.lx.escape;
	df->syntax = ps.lx.syntax;
	df->check = ps.lx.check;
	ps.lx.syntax = ps.lx.check = NULL;
	df_lex_done(&ps.lx);
	if (r < 0) {
		/* the message quotes the file: no byte of it may drive a terminal */
		for (char *c = *err ? (*err)->msg : NULL; c && *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		cell_dockerfile_free(df);
		return -1;
	}
	if (df->syntax)
		warn(&ps, 0, "the syntax directive (`%.80s`) is ignored: cell parses the Dockerfile itself", df->syntax);
	if (!df->warnings)
		df->warnings = xcalloc(1, sizeof(char *));
	*ret = df;
	return 0;
}

void cell_dockerfile_free(struct cell_dockerfile *df)
{
	if (!df)
		return;
	free(df->filename);
	free(df->syntax);
	free(df->check);
	for (size_t i = 0; i < df->n_meta_args; i++)
		instr_clear(&df->meta_args[i]);
	free(df->meta_args);
	for (size_t s = 0; s < df->n_stages; s++) {
		struct cell_df_stage *st = &df->stages[s];
		free(st->name);
		free(st->base);
		free(st->platform);
		for (size_t i = 0; i < st->n_instrs; i++)
			instr_clear(&st->instrs[i]);
		free(st->instrs);
	}
	free(df->stages);
	strv_free(df->warnings);
	free(df);
}

void cell_dockerfile_freep(struct cell_dockerfile **df)
{
	cell_dockerfile_free(*df);
	*df = NULL;
}

const struct cell_df_stage *cell_dockerfile_stage(const struct cell_dockerfile *df,
						  const char *name)
{
	char *end;

	if (!df || !name || !*name)
		return NULL;
	for (size_t i = 0; i < df->n_stages; i++)
		if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
			return &df->stages[i];
	if (isdigit((unsigned char)*name)) {
		unsigned long long idx = strtoull(name, &end, 10);
		if (!*end && idx < df->n_stages)
			return &df->stages[idx];
	}
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
