/* The Dockerfile's line layer: physical lines in, logical lines out.
 *
 * Per the Dockerfile reference (and BuildKit's parser, which defines the
 * corner cases the reference leaves open):
 *  - a UTF-8 BOM is dropped from the first line; "\r\n" ends a line as "\n";
 *  - parser directives (`# name=value`, name `escape`, `syntax` or `check`,
 *    case-insensitive) count only before the first line that is not one: an
 *    empty line, another comment or an instruction ends them; each may be
 *    given once;
 *  - a line whose first non-blank character is '#' is a comment, also in the
 *    middle of a continued instruction; '#' elsewhere is not special;
 *  - a line ends in a continuation when its last non-blank (space, tab)
 *    character is the escape character not itself preceded by one; the
 *    escape character and what follows it are removed and the next line is
 *    appended as it is (its leading blanks kept);
 *  - empty lines inside a continuation are skipped (with a warning, Docker's).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile-internal.h"
#include "util.h"

void df_lex_init(struct df_lexer *lx, const char *text, size_t len, const char *filename)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = text;
	lx->end = text + len;
	lx->filename = filename;
	lx->escape = '\\';
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		lx->p += 3;
}

void df_lex_done(struct df_lexer *lx)
{
	free(lx->syntax);
	free(lx->check);
	lx->syntax = lx->check = NULL;
}

/* One physical line, its "\r\n" or "\n" (and any run of '\r' before it, as
 * Docker trims them) not included. 1, 0 at the end, -1 with err. */
static int next_physical(struct df_lexer *lx, const char **ret, size_t *ret_len, cell_error **err)
{
	if (lx->p >= lx->end)
		return 0;
	const char *s = lx->p;
	const char *nl = memchr(s, '\n', (size_t)(lx->end - s));
	const char *e = nl ? nl : lx->end;

	lx->p = nl ? nl + 1 : lx->end;
	lx->lineno++;
	if ((size_t)(e - s) > CELL_DF_MAX_LINE)
		return cell_error_set(err, "%s:%u: line longer than %u KiB (is this a Dockerfile?)",
				      lx->filename, lx->lineno, CELL_DF_MAX_LINE >> 10);
	if (memchr(s, '\0', (size_t)(e - s)))
		return cell_error_set(err, "%s:%u: NUL byte in line (a binary file, or UTF-16 text?)",
				      lx->filename, lx->lineno);
	while (e > s && e[-1] == '\r')
		e--;
	*ret = s;
	*ret_len = (size_t)(e - s);
	return 1;
}

static size_t skip_blanks(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && df_blank(s[i]))
		i++;
	return i;
}

/* `# name = value`: 1 with the name and value spans when line (left-trimmed)
 * reads as a directive, else 0. */
static int directive_match(const char *s, size_t n, const char **name, size_t *name_len,
			   const char **val, size_t *val_len)
{
	size_t i = 0;

	if (n == 0 || s[0] != '#')
		return 0;
	i = 1 + skip_blanks(s + 1, n - 1);
	if (i >= n || !isalpha((unsigned char)s[i]))
		return 0;
	*name = s + i;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	*name_len = (size_t)(s + i - *name);
	i += skip_blanks(s + i, n - i);
	if (i >= n || s[i] != '=')
		return 0;
	i++;
	i += skip_blanks(s + i, n - i);
	size_t e = n;
	while (e > i && df_blank(s[e - 1]))
		e--;
	if (e == i)
		return 0;
	*val = s + i;
	*val_len = e - i;
	return 1;
}

static int possible_directive(struct df_lexer *lx, const char *s, size_t n, cell_error **err)
{
	const char *name, *val;
	size_t nl, vl;
	bool *seen;
	char **slot = NULL;

	if (lx->directives_done)
		return 0;
	if (!directive_match(s, n, &name, &nl, &val, &vl)) {
		lx->directives_done = true;
		return 0;
	}
	if (nl == 6 && strncasecmp(name, "escape", 6) == 0) {
		seen = &lx->seen_escape;
	} else if (nl == 6 && strncasecmp(name, "syntax", 6) == 0) {
		seen = &lx->seen_syntax;
		slot = &lx->syntax;
	} else if (nl == 5 && strncasecmp(name, "check", 5) == 0) {
		seen = &lx->seen_check;
		slot = &lx->check;
	} else {
		/* an unknown directive is a comment, and ends the directives */
		lx->directives_done = true;
		return 0;
	}
	if (*seen)
		return cell_error_set(err, "%s:%u: the %.*s parser directive is given twice (only one may be used)",
				      lx->filename, lx->lineno, (int)nl, name);
	*seen = true;
	if (slot) {
		*slot = strndup(val, vl);
		return 0;
	}
	if (vl != 1 || (val[0] != '\\' && val[0] != '`'))
		return cell_error_set(err, "%s:%u: invalid escape character `%.*s` in the escape directive (it must be \\ or `)",
				      lx->filename, lx->lineno, vl > 40 ? 40 : (int)vl, val);
	lx->escape = val[0];
	return 0;
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = skip_blanks(s, n);

	return i < n && s[i] == '#';
}

/* Strip a continuation from the end of s[0..*n): true when there was one. */
static bool trim_continuation(const struct df_lexer *lx, const char *s, size_t *n)
{
	size_t e = *n;

	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e == 0 || s[e - 1] != lx->escape)
		return false;
	/* "\\\\" at the end is an escaped escape character, not a continuation */
	if (e >= 2 && s[e - 2] == lx->escape)
		return false;
	*n = e - 1;
	return true;
}

int df_lex_next(struct df_lexer *lx, char **ret_line, unsigned *ret_start, cell_error **err)
{
	const char *s;
	size_t n;
	int r;

	lx->empty_continuation = false;
	for (;;) {
		r = next_physical(lx, &s, &n, err);
		if (r <= 0)
			return r;
		size_t i = skip_blanks(s, n);
		s += i;
		n -= i;
		if (possible_directive(lx, s, n, err) < 0)
			return -1;
		if (n > 0 && s[0] == '#')
			n = 0;
		bool cont = trim_continuation(lx, s, &n);
		if (!cont && n == 0)
			continue;

		struct df_buf b = { .cap = CELL_DF_MAX_LOGICAL };
		unsigned start = lx->lineno;
		if (df_buf_add(&b, s, n) < 0)
			goto too_long;
		while (cont) {
			r = next_physical(lx, &s, &n, err);
			if (r < 0) {
				df_buf_done(&b);
				return -1;
			}
			if (r == 0)
				break;
			if (is_comment(s, n))
				continue;
			if (skip_blanks(s, n) == n) {
				lx->empty_continuation = true;
				continue;
			}
			cont = trim_continuation(lx, s, &n);
			if (df_buf_add(&b, s, n) < 0)
				goto too_long;
		}
		*ret_line = df_buf_take(&b);
		*ret_start = start;
		return 1;
too_long:
		df_buf_done(&b);
		return cell_error_set(err, "%s:%u: instruction longer than %u KiB with its continuation lines",
				      lx->filename, start, CELL_DF_MAX_LOGICAL >> 10);
	}
}

int df_lex_heredoc(struct df_lexer *lx, const char *name, bool chomp, unsigned start_line,
		   char **ret, cell_error **err)
{
	struct df_buf b = { .cap = CELL_DF_MAX_HEREDOC };
	size_t name_len = strlen(name);
	const char *s;
	size_t n;
	int r;

	while ((r = next_physical(lx, &s, &n, err)) > 0) {
		if (chomp) {
			while (n > 0 && *s == '\t') {
				s++;
				n--;
			}
		}
		if (n == name_len && memcmp(s, name, n) == 0) {
			*ret = df_buf_take(&b);
			return 0;
		}
		if (df_buf_add(&b, s, n) < 0 || df_buf_addc(&b, '\n') < 0) {
			df_buf_done(&b);
			return cell_error_set(err, "%s:%u: heredoc `%.60s` longer than %u MiB",
					      lx->filename, start_line, name, CELL_DF_MAX_HEREDOC >> 20);
		}
	}
	df_buf_done(&b);
	if (r < 0)
		return -1;
	return cell_error_set(err, "%s:%u: unterminated heredoc `%.60s` (no line reading `%.60s` before the end of the file)",
			      lx->filename, start_line, name, name);
}
