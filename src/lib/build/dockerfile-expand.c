/* Variable substitution in Dockerfile words, as the reference describes it
 * and BuildKit's shell lexer implements it (a small subset of sh):
 *
 *   $name ${name}            the value, "" when unset
 *   ${name:-word} ${name-word}  word when name is unset or empty / unset
 *   ${name:+word} ${name+word}  word when name is set and not empty / set
 *   ${name:?word} ${name?word}  an error "name: word" when unset or empty / unset
 *   '...'                    literal; "..." literal but for $ and the escapes
 *                            of " $ and the escape character
 *   ESC c                    c (ESC the Dockerfile's escape character)
 *
 * word is itself expanded (nested substitutions, quotes). A '$' that starts
 * no name stays a '$'. Nothing here runs a command: $(...) and backquotes are
 * plain text, as in Docker.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile-internal.h"
#include "util.h"

#define MAX_DEPTH 64	/* ${a:-${b:-...}} nesting */

int df_buf_add(struct df_buf *b, const char *s, size_t n)
{
	if (n > b->cap || b->len > b->cap - n)
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t a = b->alloc ? b->alloc : 64;
		while (a < b->len + n + 1)
			a *= 2;
		b->s = realloc(b->s, a);
		if (!b->s)
			abort();
		b->alloc = a;
	}
	if (n)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int df_buf_addc(struct df_buf *b, char c)
{
	return df_buf_add(b, &c, 1);
}

char *df_buf_take(struct df_buf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	b->s = NULL;
	b->len = b->alloc = 0;
	return s;
}

void df_buf_done(struct df_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->alloc = 0;
}

/* The words being split, for cell_df_expand_words (ProcessWords). */
struct words {
	bool want;
	struct df_buf cur;
	bool in_word;
	char **v;
	size_t n;
};

struct lex {
	const char *p;
	char esc;
	cell_df_lookup_fn lookup;
	void *ud;
	int depth;
	cell_error **err;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int too_long(struct lex *lx)
{
	return cell_error_set(lx->err, "variable substitution: the result is longer than %u KiB",
			      CELL_DF_MAX_EXPAND >> 10);
}

static void words_push(struct words *w)
{
	if (!w->v || ((w->n + 1) & w->n) == 0) {	/* full: double it */
		w->v = realloc(w->v, 2 * (w->n + 1) * sizeof(*w->v));
		if (!w->v)
			abort();
	}
	w->v[w->n++] = df_buf_take(&w->cur);
	w->v[w->n] = NULL;
	w->in_word = false;
}

static int words_raw(struct words *w, const char *s, size_t n)
{
	if (!w->want)
		return 0;
	w->in_word = true;
	return df_buf_add(&w->cur, s, n);
}

/* An unquoted character: blanks separate words. */
static int words_char(struct words *w, char c)
{
	if (!w->want)
		return 0;
	if (is_space(c)) {
		if (w->in_word && w->cur.len > 0)
			words_push(w);
		return 0;
	}
	return words_raw(w, &c, 1);
}

static int words_split(struct words *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words_char(w, s[i]) < 0)
			return -1;
	return 0;
}

static int process(struct lex *lx, char stop, struct df_buf *out, struct words *w);

/* After '$': a name is letters, digits and '_' not starting with a digit; a
 * run of digits or one special parameter character also reads as one. */
static size_t name_len(const char *p)
{
	size_t n = 0;

	if (isdigit((unsigned char)p[0])) {
		while (isdigit((unsigned char)p[n]))
			n++;
		return n;
	}
	if (p[0] && strchr("@*#?-$!", p[0]))
		return 1;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

static const char *lookup(struct lex *lx, const char *name, size_t n)
{
	if (!lx->lookup)
		return NULL;
	char *s = strndup(name, n);
	if (!s)
		abort();
	const char *v = lx->lookup(s, lx->ud);
	free(s);
	return v;
}

/* At '$': the expansion goes to out. */
static int dollar(struct lex *lx, struct df_buf *out)
{
	const char *v;

	lx->p++;
	if (*lx->p != '{') {
		size_t n = name_len(lx->p);
		if (n == 0)
			return df_buf_addc(out, '$') < 0 ? too_long(lx) : 0;
		v = lookup(lx, lx->p, n);
		lx->p += n;
		if (v && df_buf_add(out, v, strlen(v)) < 0)
			return too_long(lx);
		return 0;
	}
	lx->p++;
	if (!*lx->p)
		return cell_error_set(lx->err, "variable substitution: missing `}`");
	if (*lx->p == '{' || *lx->p == '}' || *lx->p == ':')
		return cell_error_set(lx->err, "variable substitution: bad substitution `${%c` (expected a name after `${`)",
				      *lx->p);
	const char *name = lx->p;
	size_t n = name_len(lx->p);
	lx->p += n;
	if (n == 0)
		return cell_error_set(lx->err, "variable substitution: bad substitution (expected a name after `${`)");
	v = lookup(lx, name, n);
	if (*lx->p == '}') {
		lx->p++;
		if (v && df_buf_add(out, v, strlen(v)) < 0)
			return too_long(lx);
		return 0;
	}
	bool colon = *lx->p == ':';
	if (colon)
		lx->p++;
	char mod = *lx->p;
	if (mod != '-' && mod != '+' && mod != '?') {
		if (!mod)
			return cell_error_set(lx->err, "variable substitution: missing `}` after `${%.*s`", (int)n, name);
		return cell_error_set(lx->err, "variable substitution: unsupported modifier `%s%c` in `${%.*s...}` (supported: :- - :+ + :? ?)",
				      colon ? ":" : "", mod, (int)n, name);
	}
	lx->p++;
	if (++lx->depth > MAX_DEPTH)
		return cell_error_set(lx->err, "variable substitution: nested more than %d deep", MAX_DEPTH);
	struct df_buf word = { .cap = CELL_DF_MAX_EXPAND };
	int r = process(lx, '}', &word, NULL);
	lx->depth--;
	if (r < 0) {
		df_buf_done(&word);
		return -1;
	}
	bool set = v != NULL && (!colon || *v);
	const char *res = NULL;
	switch (mod) {
	case '-':
		res = set ? v : word.s;
		break;
	case '+':
		res = set ? word.s : NULL;
		break;
	case '?':
		if (!set) {
			r = cell_error_set(lx->err, "%.*s: %s", (int)n, name,
					   word.len ? word.s : colon ? "is not set or empty, which ${...:?} forbids"
								: "is not set, which ${...?} forbids");
			df_buf_done(&word);
			return r;
		}
		res = v;
		break;
	}
	r = res && df_buf_add(out, res, strlen(res)) < 0 ? too_long(lx) : 0;
	df_buf_done(&word);
	return r;
}

static int single_quote(struct lex *lx, struct df_buf *out)
{
	const char *e = strchr(++lx->p, '\'');

	if (!e)
		return cell_error_set(lx->err, "variable substitution: unterminated single quote (no closing `'`)");
	if (df_buf_add(out, lx->p, (size_t)(e - lx->p)) < 0)
		return too_long(lx);
	lx->p = e + 1;
	return 0;
}

static int double_quote(struct lex *lx, struct df_buf *out)
{
	lx->p++;
	for (;;) {
		char c = *lx->p;
		if (!c)
			return cell_error_set(lx->err, "variable substitution: unterminated double quote (no closing `\"`)");
		if (c == '"') {
			lx->p++;
			return 0;
		}
		if (c == '$') {
			if (dollar(lx, out) < 0)
				return -1;
			continue;
		}
		lx->p++;
		if (c == lx->esc) {
			char d = *lx->p;
			if (!d)
				continue;	/* an escape at the very end is dropped */
			if (d == '"' || d == '$' || d == lx->esc) {
				c = d;
				lx->p++;
			}
		}
		if (df_buf_addc(out, c) < 0)
			return too_long(lx);
	}
}

/* Process up to stop ('\0': the end). w, when not NULL, collects the words. */
static int process(struct lex *lx, char stop, struct df_buf *out, struct words *w)
{
	for (;;) {
		char c = *lx->p;
		if (!c)
			break;
		if (stop && c == stop) {
			lx->p++;
			return 0;
		}
		if (c == '\'' || c == '"' || c == '$') {
			size_t from = out->len;
			int r = c == '\'' ? single_quote(lx, out) : c == '"' ? double_quote(lx, out) : dollar(lx, out);
			if (r < 0)
				return -1;
			const char *got = out->s ? out->s + from : "";
			if (w && (c == '$' ? words_split(w, got, out->len - from)
					   : words_raw(w, got, out->len - from)) < 0)
				return too_long(lx);
			continue;
		}
		lx->p++;
		if (c == lx->esc) {
			if (!*lx->p)
				break;
			c = *lx->p++;
			if (w && words_raw(w, &c, 1) < 0)
				return too_long(lx);
		} else if (w && words_char(w, c) < 0) {
			return too_long(lx);
		}
		if (df_buf_addc(out, c) < 0)
			return too_long(lx);
	}
	if (stop)
		return cell_error_set(lx->err, "variable substitution: missing `%c`", stop);
	return 0;
}

/* Name the word in the error, bounded, its control characters as '?' (it
 * comes from the Dockerfile and the message goes to a terminal). */
static int fail(cell_error **err, const char *word)
{
	int r = cell_error_wrap(err, "`%.80s%s`", word, strlen(word) > 80 ? "..." : "");

	for (char *c = *err ? (*err)->msg : NULL; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return r;
}

int cell_df_expand(const char *word, char escape, cell_df_lookup_fn lookup_fn,
		   void *userdata, char **ret, cell_error **err)
{
	struct lex lx = { .p = word, .esc = escape ? escape : '\\', .lookup = lookup_fn,
			  .ud = userdata, .err = err };
	struct df_buf out = { .cap = CELL_DF_MAX_EXPAND };

	if (process(&lx, '\0', &out, NULL) < 0) {
		df_buf_done(&out);
		return fail(err, word);
	}
	*ret = df_buf_take(&out);
	return 0;
}

int cell_df_expand_words(const char *text, char escape, cell_df_lookup_fn lookup_fn,
			 void *userdata, char ***ret, size_t *ret_n, cell_error **err)
{
	struct lex lx = { .p = text, .esc = escape ? escape : '\\', .lookup = lookup_fn,
			  .ud = userdata, .err = err };
	struct df_buf out = { .cap = CELL_DF_MAX_EXPAND };
	struct words w = { .want = true, .cur = { .cap = CELL_DF_MAX_EXPAND } };
	int r = process(&lx, '\0', &out, &w);

	df_buf_done(&out);
	if (r < 0) {
		df_buf_done(&w.cur);
		strv_free(w.v);
		return fail(err, text);
	}
	if (w.cur.len > 0)
		words_push(&w);
	df_buf_done(&w.cur);
	if (!w.v)
		w.v = xcalloc(1, sizeof(char *));
	*ret = w.v;
	if (ret_n)
		*ret_n = w.n;
	return 0;
}

/* A --mount value as encoding/csv reads one record (BuildKit's parser): ','
 * separates fields, a field that starts with '"' is quoted and "" in it is
 * one '"'; a '"' inside an unquoted field is an error, as there. Each field is then key=value or a bare key; keys lower-cased. */
int cell_df_split_csv(const char *value, struct cell_df_kv **ret, size_t *ret_n,
		      cell_error **err)
{
	struct cell_df_kv *kv = NULL;
	size_t n = 0;
	const char *p = value;

	for (;;) {
		struct df_buf f = { .cap = CELL_DF_MAX_EXPAND };
		if (*p == '"') {
			for (p++;; p++) {
				if (!*p) {
					df_buf_done(&f);
					cell_df_kv_free(kv, n);
					return cell_error_set(err, "`%s`: unterminated quoted field", value);
				}
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				if (df_buf_addc(&f, *p) < 0)
					abort();	/* value is bounded by the line */
			}
			p++;
			if (*p && *p != ',') {
				df_buf_done(&f);
				cell_df_kv_free(kv, n);
				return cell_error_set(err, "`%s`: extraneous text after a quoted field", value);
			}
		} else {
			size_t m = strcspn(p, ",");
			if (memchr(p, '"', m)) {
				df_buf_done(&f);
				cell_df_kv_free(kv, n);
				return cell_error_set(err, "`%s`: a bare `\"` in a field (quote the whole field: \"key=value\")",
						      value);
			}
			if (df_buf_add(&f, p, m) < 0)
				abort();
			p += m;
		}
		char *field = df_buf_take(&f);
		kv = realloc(kv, (n + 1) * sizeof(*kv));
		if (!kv)
			abort();
		char *eq = strchr(field, '=');
		kv[n].value = eq ? xstrdup(eq + 1) : NULL;
		if (eq)
			*eq = '\0';
		for (char *c = field; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		kv[n++].key = field;
		if (!*p)
			break;
		p++;	/* the ',' */
	}
	*ret = kv;
	*ret_n = n;
	return 0;
}

void cell_df_kv_free(struct cell_df_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}
