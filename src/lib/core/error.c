#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ret_of(int errnum)
{
	return errnum > 0 ? -errnum : -1;
}

static void replace(cell_error **err, int errnum, char *msg)
{
	if (!msg)
		msg = strdup("out of memory while formatting an error");
	if (*err) {
		free((*err)->msg);
	} else {
		*err = calloc(1, sizeof(**err));
		if (!*err) {
			free(msg);
			return;
		}
	}
	(*err)->errnum = errnum;
	(*err)->msg = msg;
}

int cell_error_set(cell_error **err, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	replace(err, 0, msg);
	return -1;
}

const char *cell_errno_hint(int errnum)
{
	switch (errnum) {
	case EPERM:
	case EACCES:
		return "not root, or refused by a security module, a read-only mount or a user namespace";
	case ENOSPC:
		return "no space left, or a kernel limit reached (e.g. user.max_*_namespaces, inotify or keyring quotas)";
	case EROFS:
		return "the file system is mounted read-only";
	case EBUSY:
		return "still in use by a process or a mount";
	case ENODEV:
		return "no such device or interface, or the kernel lacks this feature or file system (module not loaded?)";
	case EMFILE:
	case ENFILE:
		return "too many open files (check `ulimit -n`)";
	default:
		return NULL;
	}
}

int cell_error_errno(cell_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *head = NULL, *msg = NULL;
	const char *hint = cell_errno_hint(errnum);

	va_start(ap, fmt);
	if (vasprintf(&head, fmt, ap) < 0)
		head = NULL;
	va_end(ap);
	if (head) {
		int r;
		if (hint)
			r = asprintf(&msg, "%s: %s (%s)", head, strerror(errnum), hint);
		else
			r = asprintf(&msg, "%s: %s", head, strerror(errnum));
		if (r < 0)
			msg = NULL;
		free(head);
	}
	replace(err, errnum, msg);
	return ret_of(errnum);
}

int cell_error_wrap(cell_error **err, const char *fmt, ...)
{
	va_list ap;
	char *head = NULL, *msg = NULL;

	if (!*err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&head, fmt, ap) < 0)
		head = NULL;
	va_end(ap);
	if (!head)
		return ret_of((*err)->errnum);
	if (asprintf(&msg, "%s: %s", head, (*err)->msg ? (*err)->msg : "unknown error") >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(head);
	return ret_of((*err)->errnum);
}

int cell_error_from_text(cell_error **err, int errnum, const char *msg)
{
	replace(err, errnum, strdup(msg ? msg : "unknown error"));
	return ret_of(errnum);
}

void cell_error_free(cell_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}

void cell_error_freep(cell_error **err)
{
	cell_error_free(err);
}
