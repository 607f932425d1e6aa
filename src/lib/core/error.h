/* One error object for the whole library, one place that prints it.
 *
 * Library code never prints. A failing function fills *err with the errno
 * and a message saying what failed, on what, and the likely cause, and
 * returns a negative value. Callers add context on the way up with
 * cell_error_wrap(); the command-line front end prints the result once.
 *
 *     if (mount(...) < 0)
 *             return cell_error_errno(err, errno, "mount `%s` on `%s`", src, dst);
 *     ...
 *     if (setup_rootfs(spec, err) < 0)
 *             return cell_error_wrap(err, "rootfs `%s`", spec->root.path);
 *
 * The message then reads "rootfs `/b/rootfs`: mount `proc` on `/proc`:
 * Operation not permitted".
 */
#ifndef CELL_ERROR_H
#define CELL_ERROR_H

#include <stdarg.h>

typedef struct cell_error {
	int errnum;	/* errno of the root cause, 0 if none */
	char *msg;	/* full message, context first */
} cell_error;

/* Every function that can fail takes `cell_error **err` last. *err must be
 * NULL on entry; on failure it holds a new error the caller owns. */

/* Set an error with no errno. Returns -1. */
int cell_error_set(cell_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Set an error caused by errnum: the message is "<fmt>: <strerror>" followed
 * by a hint when the errno has a common likely cause. Returns -errnum (or -1). */
int cell_error_errno(cell_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing error's message with "<fmt>: ". Returns -errnum or -1. */
int cell_error_wrap(cell_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Build an error from an already formatted message and errno, as received
 * across the clone boundary. Returns -errnum or -1. */
int cell_error_from_text(cell_error **err, int errnum, const char *msg);

void cell_error_free(cell_error **err);
void cell_error_freep(cell_error **err);
#define _cleanup_error_ __attribute__((cleanup(cell_error_freep)))

/* Return (and drop) the errno recorded in an error, 0 if none. */
static inline int cell_error_code(const cell_error *e) { return e ? e->errnum : 0; }

/* A short hint for errno values whose cause users usually miss, or NULL. */
const char *cell_errno_hint(int errnum);

#endif
