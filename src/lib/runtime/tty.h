/* Relaying a container's pty to our own terminal when no --console-socket
 * is given (foreground `run -t` / `exec -t`): raw mode, window size, and
 * copying both ways until the process exits. */
#ifndef CELL_TTY_H
#define CELL_TTY_H

#include <sys/types.h>

/* Relay between stdin/stdout and master until pid exits; returns its wait
 * status. Restores the terminal on the way out. */
int cell_tty_relay(int master, pid_t pid);

#include "error.h"

/* Connect to a --console-socket path. */
int cell_console_connect(const char *path, cell_error **err);
/* Hand a pty master to a connected console socket (SCM_RIGHTS, with the
 * pty's name as the message, as runc does). */
int cell_console_send(int sock, int master, const char *name, cell_error **err);

#endif
