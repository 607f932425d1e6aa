/* What the Dockerfile parser's files share, and the line layer exposed to
 * the unit tests. Not for the builder: it reads dockerfile.h. */
#ifndef CELL_BUILD_DOCKERFILE_INTERNAL_H
#define CELL_BUILD_DOCKERFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "build/dockerfile.h"

/* A growable string with a size cap: appending past cap fails, so that a
 * hostile input cannot make a parse or an expansion allocate without bound. */
struct df_buf {
	char *s;
	size_t len, alloc, cap;
};

int df_buf_add(struct df_buf *b, const char *s, size_t n);
int df_buf_addc(struct df_buf *b, char c);
/* The string (never NULL, "" when empty); ownership passes to the caller. */
char *df_buf_take(struct df_buf *b);
void df_buf_done(struct df_buf *b);

/* Blanks as Docker's line parsers count them (\t \v \f \r and space; \n
 * cannot occur inside a logical line). */
static inline bool df_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

/* The line layer. */
struct df_lexer {
	const char *p, *end;
	const char *filename;
	unsigned lineno;		/* physical lines consumed so far */
	char escape;
	bool directives_done;
	bool seen_escape, seen_syntax, seen_check;
	char *syntax, *check;
	/* set by df_lex_next when the logical line it returned skipped an
	 * empty continuation line (Docker warns about those) */
	bool empty_continuation;
};

void df_lex_init(struct df_lexer *lx, const char *text, size_t len, const char *filename);
void df_lex_done(struct df_lexer *lx);

/* The next logical line: comments dropped, continuations joined (the escape
 * character and the newline removed; continuation lines keep their leading
 * blanks as Docker keeps them), directives recorded while they may appear.
 * 1 with *ret_line (new string) and *ret_start (its first physical line),
 * 0 at the end of the input, -1 with err. */
int df_lex_next(struct df_lexer *lx, char **ret_line, unsigned *ret_start, cell_error **err);

/* Read the body of a heredoc named name from the lines after the current
 * logical line, up to a line equal to name (after leading tabs are removed
 * when chomp). *ret a new string, each line ending in '\n'. start_line is
 * the instruction's line, for the message when the delimiter never comes. */
int df_lex_heredoc(struct df_lexer *lx, const char *name, bool chomp, unsigned start_line,
		   char **ret, cell_error **err);

#endif
