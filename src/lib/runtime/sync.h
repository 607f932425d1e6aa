/* The runtime ↔ container init protocol over one SOCK_SEQPACKET socketpair.
 *
 *   runtime (create)                          init (cloned into the namespaces)
 *   ─────────────────                         ─────────────────────────────────
 *   clone3 ─────────────────────────────────► waits for SYNC_GO
 *   uid/gid maps
 *   SYNC_GO (+ state JSON) ─────────────────► joins namespaces, hostname,
 *   cgroup (v1: ~15 ms of RCU wait), net        mounts (rootfs not yet pivoted);
 *   devices, oom_score_adj                     (first, with a new cgroup ns:
 *   SYNC_JOINED ────────────────────────────►   waits, then unshares it)
 *           ◄──────────────────────────────── SYNC_HOOKS      } only when there
 *   prestart + createRuntime hooks                             } are prestart or
 *   SYNC_HOOKS_DONE ────────────────────────► } createRuntime hooks
 *                                             createContainer hooks, pivot_root,
 *                                             masked/readonly paths, sysctl,
 *           ◄──────────────────────────────── SYNC_PTY (pty master, SCM_RIGHTS)
 *   master → --console-socket                 rlimits, user, caps, cwd, nnp
 *           ◄──────────────────────────────── SYNC_SECCOMP (notify fd, SCM_RIGHTS)
 *   fd → listenerPath
 *           ◄──────────────────────────────── SYNC_READY
 *   state.json "created", pid file; exit      accept() on exec.sock (bound by the runtime)
 *   ...
 *   `start` connects to exec.sock ─────────► startContainer hooks, seccomp, execve
 *
 * Any step may instead send SYNC_ERROR (errno + message) and exit; the
 * runtime prints that message, so the user sees the real cause from inside
 * the container, and removes everything it made.
 */
#ifndef CELL_SYNC_H
#define CELL_SYNC_H

#include <stddef.h>

#include "error.h"

enum sync_msg {
	SYNC_GO = 1,		/* runtime → init: maps written: go on */
	SYNC_JOINED,		/* runtime → init: in its cgroup, devices moved, oom score set */
	SYNC_HOOKS,		/* init → runtime: run prestart and createRuntime hooks now */
	SYNC_HOOKS_DONE,	/* runtime → init: hooks succeeded */
	SYNC_PTY,		/* init → runtime: pty master attached */
	SYNC_SECCOMP,		/* init → runtime: seccomp notify fd attached */
	SYNC_FD_DONE,		/* runtime → init: the attached fd has been handed on */
	SYNC_READY,		/* init → runtime: set up, parked on the exec socket */
	SYNC_ERROR,		/* either way: errno + message follow, then the sender gives up */
};

const char *sync_msg_name(int type);

/* Send a message with an optional payload and an optional fd (-1 for none). */
int sync_send(int sock, int type, int errnum, const char *payload, int fd);
/* Send a cell_error as SYNC_ERROR. */
int sync_send_error(int sock, const cell_error *e);
/* Receive the message `want`. A SYNC_ERROR from the peer becomes *err with
 * its text; EOF becomes "the container init exited during <stage>". */
int sync_expect(int sock, int want, const char *stage, int *ret_fd, char **ret_payload,
		cell_error **err);

#endif
